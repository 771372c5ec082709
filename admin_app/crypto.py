"""Authenticated encryption of values the database keeps secret, keyed from `SECRET_KEY`.

Each kind of value has its own key, derived from `SECRET_KEY` with HKDF-SHA256 and a
purpose label, so a value encrypted for one purpose never decrypts as another, and
`SECRET_KEY` itself is never used as a cipher key. The cipher is Fernet (AES-128-CBC
with HMAC-SHA256, from `cryptography`): a tampered value fails to decrypt instead of
decrypting to garbage.

Key rotation works as for signed cookies: new values are encrypted under the current
key; values encrypted under a key listed in `SECRET_KEY_FALLBACKS` still decrypt
(`MultiFernet`), and `admin-app rotate-secrets` re-encrypts them under the current one.
"""

from __future__ import annotations

import base64
from functools import lru_cache
from typing import TYPE_CHECKING

from admin_app.settings import Settings

if TYPE_CHECKING:
    from cryptography.fernet import Fernet, MultiFernet

# `cryptography` is imported where a key is first made, not with this module: only the
# pages and jobs that touch an encrypted value (two-factor login, webhooks) need it, and
# loading it is 7 MB of every server process's memory.

FERNET_PREFIX = "gAAAAA"
"""How every Fernet token starts (version byte 0x80, then a timestamp's high bytes)."""


class UndecryptableError(ValueError):
    """The value was encrypted under none of the configured keys, or was altered."""


def derive_key(secret: str, purpose: str) -> bytes:
    """The Fernet key for `purpose` under `secret` (HKDF-SHA256, 32 bytes, base64)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=f"admin-app encryption: {purpose}".encode(),
    )
    return base64.urlsafe_b64encode(hkdf.derive(secret.encode()))


class Keyring:
    """Encrypts under the current key; decrypts under it or any fallback key."""

    def __init__(self, keys: tuple[str, ...], purpose: str) -> None:
        """`keys`: every accepted key, the current one last (as `Settings.secret_keys`)."""
        from cryptography.fernet import Fernet, MultiFernet

        ciphers = [Fernet(derive_key(key, purpose)) for key in reversed(keys)]
        self.current: Fernet = ciphers[0]
        self.all: MultiFernet = MultiFernet(ciphers)

    def encrypt(self, plaintext: str) -> str:
        """`plaintext`, encrypted and authenticated under the current key."""
        return self.current.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        """The plaintext of `token`, or `UndecryptableError`."""
        from cryptography.fernet import InvalidToken

        try:
            return self.all.decrypt(token.encode()).decode()
        except (InvalidToken, UnicodeError) as error:
            raise UndecryptableError("encrypted under a key that is not configured") from error

    def is_current(self, token: str) -> bool:
        """Whether `token` is encrypted under the current key (and intact)."""
        from cryptography.fernet import InvalidToken

        try:
            self.current.decrypt(token.encode())
        except InvalidToken:
            return False
        return True


def is_encrypted(value: str) -> bool:
    """Whether a stored value is a Fernet token, rather than a legacy plain-text value."""
    return value.startswith(FERNET_PREFIX)


def keyring(settings: Settings, purpose: str) -> Keyring:
    """The keyring for `purpose` under the settings' keys (built once per set of keys)."""
    return _keyring(tuple(settings.secret_keys), purpose)


@lru_cache(maxsize=32)
def _keyring(keys: tuple[str, ...], purpose: str) -> Keyring:
    return Keyring(keys, purpose)
