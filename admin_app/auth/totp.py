"""Two-factor login with TOTP (pyotp), QR codes drawn on the server (segno), recovery codes.

Recovery codes are stored as HMAC-SHA256 of the code under the app's secret key: they
are long random strings, so a keyed hash is enough and keeps a stolen table useless.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets

import pyotp
import segno
from markupsafe import Markup
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from admin_app.db import utcnow
from admin_app.models import AdminUser, RecoveryCode

ISSUER = "Store Admin"
RECOVERY_CODES = 10


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: AdminUser, secret: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> Markup:
    """The URI as an inline SVG QR code (no script, no external request)."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(buffer, kind="svg", scale=5, xmldecl=False, svgns=True)
    return Markup(buffer.getvalue().decode())  # noqa: S704 (segno output, not user input)


def accept_totp(user: AdminUser, code: str, secret: str | None = None) -> bool:
    """Check a 6-digit code; each time step is accepted once, so a code cannot be replayed."""
    key = secret or user.totp_secret
    code = "".join(code.split())
    if not key or not code.isdigit() or len(code) != 6:
        return False
    totp = pyotp.TOTP(key)
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


async def use_recovery_code(db: AsyncSession, user: AdminUser, code: str, key: str) -> bool:
    """Accept an unused recovery code once."""
    stmt = select(RecoveryCode).where(
        RecoveryCode.user_id == user.id,
        RecoveryCode.code_hash == _hash_code(code, key),
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


async def enable(db: AsyncSession, user: AdminUser, secret: str, key: str) -> list[str]:
    """Turn two-factor login on with a confirmed secret; return fresh recovery codes."""
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    return await issue_recovery_codes(db, user, key)


async def disable(db: AsyncSession, user: AdminUser) -> None:
    """Turn two-factor login off and forget the secret and the codes."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    await db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
