"""Two-factor login with TOTP (pyotp), QR codes drawn on the server (segno), recovery codes.

The TOTP secret is stored encrypted (`admin_app.crypto`, purpose `totp-secret`): a copy
of the table or a backup does not let anyone generate codes. A secret stored in plain
text before encryption came (migration 0007) is still accepted, and sealed at the
account's next two-factor login or by `admin-app rotate-secrets`.

Recovery codes are stored as HMAC-SHA256 of the code under the app's secret key: they
are long random strings, so a keyed hash is enough and keeps a stolen table useless.
Codes hashed under a key in `SECRET_KEY_FALLBACKS` are still accepted.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

import pyotp
from markupsafe import Markup
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from admin_app.crypto import UndecryptableError, is_encrypted, keyring
from admin_app.db import utcnow
from admin_app.models import AdminUser, RecoveryCode
from admin_app.settings import Settings

log = logging.getLogger(__name__)

ISSUER = "Store Admin"
RECOVERY_CODES = 10
PURPOSE = "totp-secret"


def new_secret() -> str:
    return pyotp.random_base32()


def seal(settings: Settings, secret: str) -> str:
    """`secret` as stored: encrypted under the current key."""
    return keyring(settings, PURPOSE).encrypt(secret)


def unseal(settings: Settings, stored: str) -> str:
    """The secret `stored` holds, or `UndecryptableError` (under no configured key)."""
    if not is_encrypted(stored):
        return stored  # plain text, from before secrets were encrypted
    return keyring(settings, PURPOSE).decrypt(stored)


def readable_secret(settings: Settings, user: AdminUser) -> str | None:
    """The account's secret (pending or confirmed); None if it has none, or if none of
    the configured keys can decrypt it (the key it was stored under was retired)."""
    if not user.totp_secret:
        return None
    try:
        return unseal(settings, user.totp_secret)
    except UndecryptableError:
        log.warning("2fa: the secret of account %s is under no configured key", user.id)
        return None


def needs_sealing(settings: Settings, stored: str) -> bool:
    """Whether `stored` is plain text, or encrypted under a key other than the current one."""
    return not is_encrypted(stored) or not keyring(settings, PURPOSE).is_current(stored)


def provisioning_uri(user: AdminUser, secret: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> Markup:
    """The URI as an inline SVG QR code (no script, no external request)."""
    buffer = io.BytesIO()
    import segno  # here: ~2 MB of memory, needed only while someone sets up 2FA

    segno.make(uri, error="m").save(buffer, kind="svg", scale=5, xmldecl=False, svgns=True)
    return Markup(buffer.getvalue().decode())  # noqa: S704 (segno output, not user input)


@dataclass
class Resealed:
    """What `reseal_all` did: secrets newly encrypted, moved to the current key, left."""

    plain: int = 0
    rotated: int = 0
    current: int = 0
    unreadable: list[int] = field(default_factory=list)
    """Accounts whose secret is under no configured key: their owners need a reset."""


async def reseal_all(db: AsyncSession, settings: Settings) -> Resealed:
    """Encrypt every stored secret under the current key; idempotent.

    Each row is written only if it still holds what was read, so a concurrent set-up or
    reset wins. Plain UPDATEs: no row version changes, so nobody's open form conflicts.
    """
    done = Resealed()
    rows = await db.execute(
        select(AdminUser.id, AdminUser.totp_secret)
        .where(AdminUser.totp_secret.is_not(None))
        .order_by(AdminUser.id)
    )
    for user_id, value in rows.all():
        stored = str(value)
        if not needs_sealing(settings, stored):
            done.current += 1
            continue
        try:
            sealed = seal(settings, unseal(settings, stored))
        except UndecryptableError:
            done.unreadable.append(user_id)
            continue
        if is_encrypted(stored):
            done.rotated += 1
        else:
            done.plain += 1
        await db.execute(
            update(AdminUser)
            .where(AdminUser.id == user_id, AdminUser.totp_secret == stored)
            .values(totp_secret=sealed)
        )
    return done


def accept_totp(user: AdminUser, code: str, secret: str) -> bool:
    """Check a 6-digit code against `secret` (the account's, unsealed); each time step is
    accepted once, so a code cannot be replayed."""
    code = "".join(code.split())
    if not secret or not code.isdigit() or len(code) != 6:
        return False
    totp = pyotp.TOTP(secret)
    now = utcnow()
    for offset in (0, -1, 1):
        step = totp.timecode(now) + offset
        if hmac.compare_digest(totp.generate_otp(step), code):
            if user.totp_last_step is not None and step <= user.totp_last_step:
                return False
            user.totp_last_step = step
            return True
    return False


def _hash_code(code: str, key: str) -> str:
    normalized = code.replace("-", "").replace(" ", "").lower()
    return hmac.new(key.encode(), normalized.encode(), hashlib.sha256).hexdigest()


async def issue_recovery_codes(db: AsyncSession, user: AdminUser, key: str) -> list[str]:
    """Replace the user's recovery codes with new ones; return them, to be shown once."""
    await db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
    db.add_all(RecoveryCode(user_id=user.id, code_hash=_hash_code(c, key)) for c in codes)
    await db.flush()
    return codes


async def use_recovery_code(
    db: AsyncSession, user: AdminUser, code: str, keys: Sequence[str]
) -> bool:
    """Accept an unused recovery code once (hashed under any of `keys`)."""
    stmt = select(RecoveryCode).where(
        RecoveryCode.user_id == user.id,
        RecoveryCode.code_hash.in_([_hash_code(code, key) for key in keys]),
        RecoveryCode.used_at.is_(None),
    )
    found = (await db.scalars(stmt)).first()
    if found is None:
        return False
    found.used_at = utcnow()
    return True


async def remaining_recovery_codes(db: AsyncSession, user: AdminUser) -> int:
    stmt = select(RecoveryCode.id).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
    )
    return len((await db.scalars(stmt)).all())


async def enable(db: AsyncSession, user: AdminUser, key: str) -> list[str]:
    """Turn two-factor login on with the pending secret, confirmed by a code; return fresh
    recovery codes."""
    user.totp_enabled_at = utcnow()
    return await issue_recovery_codes(db, user, key)


async def disable(db: AsyncSession, user: AdminUser) -> None:
    """Turn two-factor login off and forget the secret and the codes."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    await db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
