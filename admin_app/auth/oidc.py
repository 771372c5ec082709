"""An OpenID Connect client: discovery, authorization code with PKCE, ID token checks.

Authlib's ready-made web clients wrap `httpx`, which this app does not ship (its HTTP
client is `httpx2`), and the relying party's part of the protocol is four steps, so the
steps are here: Authlib makes the PKCE challenge and random values, joserfc (Authlib's
JOSE library) checks the signature against the provider's JWKS and the claims.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx2
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import (
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

from admin_app.settings import Settings

DISCOVERY_TTL = 3600.0
"""Seconds the provider's discovery document and keys are kept before being read again."""

SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")
"""Asymmetric algorithms only: never `none`, never a key shared with the client."""

_CLAIM_PROBLEMS = {
    "iss": "it was issued by another provider",
    "aud": "it was issued for another application",
    "azp": "it was issued for another application",
    "nonce": "it does not belong to this sign-in",
    "sub": "it names nobody",
}


class OidcError(Exception):
    """A sign-in that cannot go on; the message is for the person signing in."""


@dataclass(frozen=True)
class Flow:
    """What the browser keeps (signed) between leaving for the provider and coming back."""

    state: str
    nonce: str
    verifier: str
    next: str = ""

    @classmethod
    def start(cls, next_url: str = "") -> Flow:
        return cls(generate_token(32), generate_token(32), generate_token(64), next_url)


@dataclass(frozen=True)
class Claims:
    """What a checked ID token says about the person."""

    issuer: str
    subject: str
    email: str
    email_verified: bool
    name: str
    role_values: frozenset[str]
    amr: frozenset[str]


class OidcClient:
    """One provider, as configured by the `OIDC_*` settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None
        self._fetched_at = 0.0

    async def _get(self, url: str) -> dict[str, Any]:
        try:
            async with httpx2.AsyncClient(timeout=10) as client:
                response = await client.get(url)
                response.raise_for_status()
                data: dict[str, Any] = response.json()
        except (httpx2.HTTPError, ValueError) as error:
            raise OidcError(f"The sign-in provider could not be reached ({error}).") from None
        return data

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document, read once an hour; its issuer must be ours."""
        if self._metadata is None or time.monotonic() - self._fetched_at > DISCOVERY_TTL:
            issuer = self.settings.oidc_issuer
            found = await self._get(f"{issuer}/.well-known/openid-configuration")
            if found.get("issuer") != issuer:
                raise OidcError(
                    f"The provider at {issuer} calls itself {found.get('issuer')!r}; "
                    "OIDC_ISSUER must be exactly its issuer."
                )
            self._metadata, self._keys, self._fetched_at = found, None, time.monotonic()
        return self._metadata

    async def authorization_url(self, redirect_uri: str, flow: Flow) -> str:
        """Where to send the browser: the provider's login, with state, nonce and PKCE."""
        endpoint = (await self.metadata())["authorization_endpoint"]
        query = {
            "response_type": "code",
            "client_id": self.settings.oidc_client_id,
            "redirect_uri": redirect_uri,
            "scope": self.settings.oidc_scopes,
            "state": flow.state,
            "nonce": flow.nonce,
            "code_challenge": create_s256_code_challenge(flow.verifier),
            "code_challenge_method": "S256",
        }
        return f"{endpoint}?{urlencode(query)}"

    async def exchange_code(self, code: str, verifier: str, redirect_uri: str) -> str:
        """Trade the authorization code for tokens at the token endpoint; the raw ID token."""
        endpoint = (await self.metadata())["token_endpoint"]
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
            "client_id": self.settings.oidc_client_id,
        }
        secret = self.settings.oidc_client_secret.get_secret_value()
        auth = httpx2.BasicAuth(self.settings.oidc_client_id, secret) if secret else None
        try:
            async with httpx2.AsyncClient(timeout=10, auth=auth) as client:
                response = await client.post(endpoint, data=form)
        except httpx2.HTTPError as error:
            raise OidcError(f"The sign-in provider could not be reached ({error}).") from None
        body = _json(response)
        if response.status_code != 200 or not isinstance(body.get("id_token"), str):
            reason = body.get("error_description") or body.get("error") or response.status_code
            raise OidcError(f"The provider refused to complete the sign-in ({reason}).")
        return str(body["id_token"])

    async def validate(self, id_token: str, nonce: str) -> Claims:
        """The claims of `id_token` once its signature, issuer, audience, expiry and nonce
        are right; otherwise `OidcError` saying which was not."""
        token = await self._decode(id_token)
        _check_claims(token.claims, self.settings, nonce)
        return _claims_of(token.claims, self.settings)

    async def _decode(self, id_token: str) -> jwt.Token:
        try:
            return self._verify(id_token, await self._key_set(refresh=False))
        except InvalidKeyIdError:
            pass  # a key the provider rotated in since the keys were read: read them again
        try:
            return self._verify(id_token, await self._key_set(refresh=True))
        except InvalidKeyIdError:
            raise OidcError(
                "The ID token is not valid: no key of the provider signed it."
            ) from None

    @staticmethod
    def _verify(id_token: str, keys: KeySet) -> jwt.Token:
        try:
            return jwt.decode(id_token, keys, algorithms=list(SIGNING_ALGORITHMS))
        except InvalidKeyIdError:
            raise
        except (JoseError, ValueError) as error:
            raise OidcError(
                f"The ID token is not valid: its signature is wrong ({error})."
            ) from None

    async def _key_set(self, *, refresh: bool) -> KeySet:
        metadata = await self.metadata()
        if self._keys is None or refresh:
            self._keys = KeySet.import_key_set(await self._get(metadata["jwks_uri"]))  # type: ignore[arg-type]
        return self._keys


def _json(response: httpx2.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _check_claims(claims: dict[str, Any], settings: Settings, nonce: str) -> None:
    registry = jwt.JWTClaimsRegistry(
        leeway=settings.oidc_clock_skew,
        iss={"essential": True, "value": settings.oidc_issuer},
        aud={"essential": True, "value": settings.oidc_client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except ExpiredTokenError:
        raise OidcError("The ID token is not valid: it has expired.") from None
    except (InvalidClaimError, MissingClaimError) as error:
        problem = _CLAIM_PROBLEMS.get(error.claim, f"its {error.claim!r} claim is wrong")
        raise OidcError(f"The ID token is not valid: {problem}.") from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != settings.oidc_client_id:
        raise OidcError(f"The ID token is not valid: {_CLAIM_PROBLEMS['azp']}.")


def _claims_of(claims: dict[str, Any], settings: Settings) -> Claims:
    return Claims(
        issuer=str(claims["iss"]),
        subject=str(claims["sub"]),
        email=str(claims.get("email") or ""),
        email_verified=claims.get("email_verified") is True,
        name=str(claims.get("name") or ""),
        role_values=_strings(claims.get(settings.oidc_role_claim)),
        amr=_strings(claims.get("amr")),
    )


def _strings(value: Any) -> frozenset[str]:
    """A claim that is one string or a list of them, as a set (anything else: empty)."""
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, list):
        return frozenset(item for item in value if isinstance(item, str))
    return frozenset()
