"""A webhook endpoint's signing secret is shown to a person on its page, never to a token.

A superuser's token can make and read webhook endpoints; what signs their deliveries
stays on the endpoint's page in the admin, so a leaked token cannot forge deliveries.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.testclient import TestClient

from admin_app.models import WebhookEndpoint
from admin_app.settings import Settings
from admin_app.webhooks.keys import unseal
from tests.api.helpers import bearer, make_token
from tests.helpers import create_admin, login, run


def _stored(settings: Settings, pk: int) -> tuple[str, str]:
    """The endpoint's signing secret as stored (sealed) and as it signs (unsealed)."""

    async def work(session: Any) -> str:
        return str(await session.scalar(select(WebhookEndpoint.secret).filter_by(id=pk)))

    sealed = str(run(settings, work))
    return sealed, unseal(settings, sealed)


def test_no_api_answer_carries_the_signing_secret(client: TestClient, settings: Settings) -> None:
    token = bearer(make_token(settings, create_admin(settings)))
    endpoint = {"url": "https://example.com/hook", "models": ["product"], "events": ["create"]}
    made = client.post("/api/v1/webhook-endpoint", json=endpoint, headers=token)
    assert made.status_code == 201, made.text
    pk = made.json()["id"]
    sealed, secret = _stored(settings, pk)
    answers = {
        "the create": made,
        "the record": client.get(f"/api/v1/webhook-endpoint/{pk}", headers=token),
        "the list": client.get("/api/v1/webhook-endpoint", headers=token),
        "an update": client.patch(
            f"/api/v1/webhook-endpoint/{pk}", json={"enabled": False}, headers=token
        ),
    }
    for what, answer in answers.items():
        assert answer.status_code == 200 or what == "the create", f"{what}: {answer.text}"
        for needle in (secret, sealed):
            assert needle not in answer.text, f"{what} gave the signing secret away"
        assert "signing_secret" not in answer.text, f"{what} names the signing secret"
    described = client.get("/api/openapi.json").json()["components"]["schemas"]
    assert not any("signing_secret" in str(schema) for schema in described.values()), (
        "the API's description offers the signing secret"
    )
    login(client, "root@example.com")
    page = client.get(f"/admin/webhook-endpoint/detail?pk={pk}")
    assert page.status_code == 200 and secret in page.text, (
        "the endpoint's page no longer shows its owner the secret to verify deliveries with"
    )


def test_the_secret_cannot_be_set_through_the_api(client: TestClient, settings: Settings) -> None:
    token = bearer(make_token(settings, create_admin(settings)))
    endpoint = {"url": "https://example.com/hook", "models": ["product"], "events": ["create"]}
    chosen = client.post(
        "/api/v1/webhook-endpoint", json={**endpoint, "signing_secret": "mine"}, headers=token
    )
    assert chosen.status_code == 422, chosen.text
    assert "signing_secret" in chosen.json()["fields"], chosen.text
