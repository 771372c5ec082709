"""Endpoint secrets at rest: encrypted like two-factor secrets (`admin_app.crypto`)."""

from __future__ import annotations

from admin_app.crypto import keyring
from admin_app.settings import Settings

PURPOSE = "webhook-secret"


def seal(settings: Settings, secret: str) -> str:
    """`secret` as stored: encrypted under the current key."""
    return keyring(settings, PURPOSE).encrypt(secret)


def unseal(settings: Settings, stored: str) -> str:
    """The secret `stored` holds, or `UndecryptableError` (under no configured key)."""
    return keyring(settings, PURPOSE).decrypt(stored)
