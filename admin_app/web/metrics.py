"""`GET /metrics`: the Prometheus exposition, for scrapers only.

It is never open. With neither `METRICS_TOKEN` nor `METRICS_ALLOW_IPS` set it does
not exist (404). Each one that is set must be satisfied: the bearer token (401
otherwise) and the client address (403 otherwise; behind a proxy, the address that
`FORWARDED_ALLOW_IPS` lets the proxy vouch for). It answers whatever the Host and over
plain http, as the health probes do, because scrapers address pods by IP.
"""

from __future__ import annotations

import hmac
import ipaddress
from functools import cache

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from admin_app.auth.identity import client_ip
from admin_app.observability.metrics import get_metrics
from admin_app.settings import Settings
from admin_app.state import get_settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


async def metrics(request: Request) -> Response:
    """The metrics of this process (or of all workers, in multiprocess mode)."""
    settings = get_settings(request)
    check_access(request, settings)
    collected = get_metrics(request)
    await collected.refresh(request.state.engine)
    body, content_type = collected.render()
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})


def check_access(request: Request, settings: Settings) -> None:
    """Raise 404, 401 or 403 unless this request may read the metrics."""
    if settings.metrics_token is None and not settings.metrics_allow_ips:
        raise HTTPException(404)
    if settings.metrics_token is not None:
        expected = settings.metrics_token.get_secret_value()
        if not hmac.compare_digest(_bearer(request).encode(), expected.encode()):
            raise HTTPException(
                401, "A valid bearer token is required.", {"WWW-Authenticate": "Bearer"}
            )
    if settings.metrics_allow_ips and not _allowed(
        client_ip(request), tuple(settings.metrics_allow_ips)
    ):
        raise HTTPException(403, "Your address may not read the metrics.")


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _allowed(address: str, allowed: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(allowed))


@cache
def _networks(allowed: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in allowed)


routes = [Route("/metrics", metrics, methods=["GET"], name="metrics")]
