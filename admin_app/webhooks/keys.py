"""Endpoint secrets at rest: encrypted like two-factor secrets (`admin_app.crypto`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from admin_app.crypto import UndecryptableError, keyring
from admin_app.models import WebhookEndpoint
from admin_app.settings import Settings

PURPOSE = "webhook-secret"


def seal(settings: Settings, secret: str) -> str:
    """`secret` as stored: encrypted under the current key."""
    return keyring(settings, PURPOSE).encrypt(secret)


def unseal(settings: Settings, stored: str) -> str:
    """The secret `stored` holds, or `UndecryptableError` (under no configured key)."""
    return keyring(settings, PURPOSE).decrypt(stored)


@dataclass
class Resealed:
    """What `reseal_all` did."""

    rotated: int = 0
    current: int = 0
    unreadable: list[int] = field(default_factory=list)
    """Endpoints whose secret is under no configured key: they need a new secret."""


async def reseal_all(db: AsyncSession, settings: Settings) -> Resealed:
    """Encrypt every endpoint's secret under the current key; idempotent. Each row is
    written only if it still holds what was read, so a concurrent "New secret" wins."""
    done = Resealed()
    ring = keyring(settings, PURPOSE)
    rows = await db.execute(select(WebhookEndpoint.id, WebhookEndpoint.secret))
    for endpoint_id, stored in rows.all():
        if ring.is_current(stored):
            done.current += 1
            continue
        try:
            sealed = ring.encrypt(ring.decrypt(stored))
        except UndecryptableError:
            done.unreadable.append(endpoint_id)
            continue
        done.rotated += 1
        await db.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.secret == stored)
            .values(secret=sealed)
        )
    return done
