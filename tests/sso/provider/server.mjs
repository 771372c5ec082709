// A real OpenID Connect provider (the npm package oidc-provider) for the SSO tests.
//
//   node server.mjs PORT
//
// Environment:
//   OIDC_CLIENTS   JSON list of clients: [{"client_id", "client_secret", "redirect_uris"}]
//   OIDC_ACCOUNTS  path of a JSON file {"<sub>": {"password", "email", "name", "groups",
//                  "amr"}}, read at every sign-in, so a test changes someone's groups
//                  by rewriting it
//   CLOCK_OFFSET   seconds added to this process's clock (negative: tokens are issued
//                  already in the past, to test expiry)
//   IDTOKEN_TTL    seconds an ID token is valid (default 600)
//
// The login and consent pages are this file's own small forms (below), driven by the
// tests through real HTTP requests and a real browser. Prints "listening <issuer>" once
// it accepts connections.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { generateKeyPair, exportJWK } from 'jose';
import Provider from 'oidc-provider';

const offset = Number(process.env.CLOCK_OFFSET || 0) * 1000;
if (offset) {
  const realNow = Date.now;
  Date.now = () => realNow() + offset;
}

const port = Number(process.argv[2] || process.env.PORT || 0);
const issuer = `http://127.0.0.1:${port}`;
const clients = JSON.parse(process.env.OIDC_CLIENTS || '[]').map((client) => ({
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: client.client_secret ? 'client_secret_basic' : 'none',
  ...client,
}));

function accounts() {
  return JSON.parse(readFileSync(process.env.OIDC_ACCOUNTS, 'utf8'));
}

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), kid: 'test-key', use: 'sig', alg: 'RS256' };

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: [signingKey] },
  cookies: { keys: ['test-provider-cookie-key'] },
  claims: {
    openid: ['sub', 'amr'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  // The tests read groups and email off the ID token, as most providers can be set to send.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false } },
  pkce: { required: () => true },
  ttl: { IdToken: Number(process.env.IDTOKEN_TTL || 600) },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(_ctx, sub) {
    const account = accounts()[sub];
    if (!account) return undefined;
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          email: account.email,
          email_verified: account.email_verified ?? true,
          name: account.name,
          groups: account.groups || [],
        };
      },
    };
  },
});

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res, title, body, status = 200) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<meta name="viewport" content="width=device-width"></head><body><main><h1>${escape(title)}</h1>${body}</main></body></html>`);
}

async function formBody(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  return Object.fromEntries(new URLSearchParams(text));
}

function loginForm(res, uid, error = '') {
  page(res, 'Test provider: sign in', `${error ? `<p role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
<label for="login">Username</label> <input id="login" name="login" autocomplete="username">
<label for="password">Password</label> <input id="password" name="password" type="password">
<button type="submit">Sign in</button></form>`, error ? 400 : 200);
}

async function login(req, res, details) {
  const { login: sub, password } = await formBody(req);
  const account = accounts()[sub];
  if (!account || account.password !== password) return loginForm(res, details.uid, 'Wrong username or password.');
  const result = { login: { accountId: sub, amr: account.amr || ['pwd'] } };
  return provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false });
}

async function consent(req, res, details) {
  const { prompt: { details: missing }, params, session } = details;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  const grantId = await grant.save();
  return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  if (req.method === 'POST' && req.url.endsWith('/login')) return login(req, res, details);
  if (req.method === 'POST' && req.url.endsWith('/confirm')) return consent(req, res, details);
  if (details.prompt.name === 'login') return loginForm(res, details.uid);
  return page(res, 'Test provider: allow access', `<p>Allow ${escape(details.params.client_id)} to know who you are?</p>
<form method="post" action="/interaction/${details.uid}/confirm"><button type="submit">Allow</button></form>`);
}

const callback = provider.callback();
const server = http.createServer((req, res) => {
  if (req.url === '/favicon.ico') return res.writeHead(204).end();
  if (!req.url.startsWith('/interaction/')) return callback(req, res);
  return interaction(req, res).catch((error) => page(res, 'Test provider: error', `<p>${escape(error.message)}</p>`, 400));
});
server.listen(port, '127.0.0.1', () => console.log(`listening ${issuer}`));
// A test provider keeps nothing: stop at once, whatever keep-alive connections are open.
process.on('SIGTERM', () => process.exit(0));
