"""`/admin/sso/login` and `/admin/sso/callback`: sign-in through the OpenID Connect provider.

Between leaving for the provider and coming back, the browser holds a signed cookie
(ten minutes, this path only) with the state, nonce and PKCE verifier of its own sign-in:
no server-side state, and a callback that is not for this browser is refused. A refused
sign-in gets one page saying why and is logged like a failed password login; nothing it
wrote is kept (the request's transaction is rolled back on the 4xx).
"""

from __future__ import annotations

import hmac

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates
from starlette_admin.auth import login_not_required

from admin_app.audit.context import Actor, set_actor
from admin_app.audit.events import record_event_now
from admin_app.auth import second_factor
from admin_app.auth.identity import client_ip
from admin_app.auth.oidc import Claims, Flow, OidcClient, OidcError
from admin_app.auth.sso import SignInRefused, account_for
from admin_app.settings import Settings
from admin_app.state import get_session, get_sessionmaker

FLOW_COOKIE = "admin_sso"
FLOW_SECONDS = 600
FLOW_PATH = "/admin/sso"


class SsoPages:
    """The two endpoints of single sign-on, for one provider."""

    def __init__(
        self, templates: Jinja2Templates, login: second_factor.Login, settings: Settings
    ) -> None:
        self.templates = templates
        self.login = login
        self.settings = settings
        self.client = OidcClient(settings)
        self._signer = URLSafeTimedSerializer(settings.secret_keys, salt="admin-sso-flow")

    def routes(self) -> list[Route]:
        return [
            Route("/sso/login", self.start, name="sso-login"),
            Route("/sso/callback", self.callback, name="sso-callback"),
        ]

    def _redirect_uri(self, request: Request) -> str:
        if self.settings.public_url:
            return f"{self.settings.public_url}/admin/sso/callback"
        return str(request.url_for("admin:sso-callback"))

    @login_not_required
    async def start(self, request: Request) -> Response:
        """Send the browser to the provider, remembering this sign-in in a cookie."""
        flow = Flow.start(request.query_params.get("next", ""))
        try:
            url = await self.client.authorization_url(self._redirect_uri(request), flow)
        except OidcError as error:
            return await self._refuse(request, str(error), 503)
        response = RedirectResponse(url, status_code=303)
        response.set_cookie(
            FLOW_COOKIE,
            self._signer.dumps([flow.state, flow.nonce, flow.verifier, flow.next]),
            max_age=FLOW_SECONDS,
            path=FLOW_PATH,
            httponly=True,
            samesite="lax",  # the provider sends the browser back with a top-level GET
            secure=self.settings.https_only,
        )
        return response

    @login_not_required
    async def callback(self, request: Request) -> Response:
        """Check the provider's answer and sign the account in, or say why not."""
        flow = self._flow(request)
        try:
            claims = await self._claims(request, flow)
        except OidcError as error:
            return await self._refuse(request, str(error), 400)
        # An account made or changed below is logged as done by this sign-in.
        set_actor(Actor(None, f"sso:{claims.email or claims.subject}", client_ip(request)))
        try:
            user = await account_for(get_session(request), claims, self.settings)
        except SignInRefused as error:
            return await self._refuse(request, str(error), 403)
        set_actor(Actor(user.id, user.email, client_ip(request)))
        request.state.login_next = flow.next if flow and flow.next else None
        provider_mfa = bool(claims.amr & set(self.settings.oidc_mfa_amr))
        if user.has_2fa and not provider_mfa:
            response = second_factor.ask_for_code(request, user, self.settings, method="sso")
        else:
            response = await self.login.complete_login(
                request, get_session(request), user, method="sso"
            )
            if provider_mfa:
                request.session[second_factor.PROVIDER_MFA_KEY] = True
        response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH)
        return response

    def _flow(self, request: Request) -> Flow | None:
        try:
            state, nonce, verifier, next_url = self._signer.loads(
                request.cookies.get(FLOW_COOKIE, ""), max_age=FLOW_SECONDS
            )
        except (BadSignature, ValueError):
            return None
        return Flow(str(state), str(nonce), str(verifier), str(next_url))

    async def _claims(self, request: Request, flow: Flow | None) -> Claims:
        """The checked claims of the ID token this callback leads to."""
        params = request.query_params
        if flow is None:
            raise OidcError(
                "This sign-in was not started in this browser, or took more than ten "
                "minutes. Start again."
            )
        if "error" in params:
            reason = params.get("error_description") or params["error"]
            raise OidcError(f"The provider did not sign you in: {reason[:200]}.")
        if not hmac.compare_digest(params.get("state", ""), flow.state):
            raise OidcError(
                "This answer from the provider is not for the sign-in started in this "
                "browser (its state does not match). Start again."
            )
        if params.get("iss", self.settings.oidc_issuer) != self.settings.oidc_issuer:
            # RFC 9207: the answer names its issuer, which must be ours (no mix-up).
            raise OidcError("This answer comes from another provider. Start again.")
        code = params.get("code", "")
        if not code:
            raise OidcError("The provider's answer has no authorization code. Start again.")
        redirect_uri = self._redirect_uri(request)
        id_token = await self.client.exchange_code(code, flow.verifier, redirect_uri)
        return await self.client.validate(id_token, flow.nonce)

    async def _refuse(self, request: Request, message: str, status: int) -> Response:
        # Nothing of a refused sign-in is kept (an account it made, roles it changed),
        # and SQLite's write lock is let go before the failure is logged apart.
        await get_session(request).rollback()
        await record_event_now(
            get_sessionmaker(request),
            "login_failed",
            user=None,
            ip=client_ip(request),
            note=f"single sign-on: {message}",
        )
        response = self.templates.TemplateResponse(
            request, "sso/refused.html", {"message": message}, status_code=status
        )
        response.delete_cookie(FLOW_COOKIE, path=FLOW_PATH)
        return response
