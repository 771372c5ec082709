"""The one password hasher (argon2id), and the password policy.

Hashing costs about 60 ms of CPU and 32 MiB of memory, on purpose, so the async
helpers run it in worker threads, at most a few at a time: 200 simultaneous logins
queue up instead of exhausting memory or stalling the event loop. The threads run at
a lower CPU priority (nice 10) than the event loop: a login storm then takes the
cores the loop leaves over, instead of making every other page wait its turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import os
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from starlette_admin.i18n import gettext

MIN_LENGTH = 12
MAX_LENGTH = 1024

# Above the OWASP Password Storage Cheat Sheet's argon2id minimum (m=19 MiB, t=2, p=1).
HASHER = PasswordHasher(time_cost=2, memory_cost=32 * 1024, parallelism=1, type=Type.ID)

CONCURRENCY = max(1, min(4, os.cpu_count() or 1))
"""Hashes computed at once per process; the rest wait their turn."""

HASH_THREAD_NICENESS = 10
"""How much lower than the event loop's the hash threads' CPU priority is."""

T = TypeVar("T")

_COMMON_PASSWORDS = Path(__file__).with_name("common-passwords.txt.gz")


class PasswordPolicyError(ValueError):
    """The password is not acceptable; the message says why, for the user."""


def hash_password(password: str) -> str:
    """The argon2id hash of `password` (blocking)."""
    return HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches `password_hash` (blocking, constant-time)."""
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    try:
        return HASHER.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


@cache
def dummy_hash() -> str:
    """A hash to verify against when the account does not exist, so timing reveals nothing."""
    return hash_password("no account has this password, it only burns time")


def _dummy_hash() -> str:
    return dummy_hash()


def _lower_priority() -> None:
    """Run this worker thread at a lower CPU priority than the event loop's thread."""
    # On Linux, PRIO_PROCESS with a thread id applies to that thread alone; elsewhere,
    # or where it is not allowed, the thread keeps the normal priority.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_THREAD_NICENESS)


@cache
def _hash_threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(CONCURRENCY, "argon2", initializer=_lower_priority)


async def _off_loop(function: Callable[..., T], *args: str) -> T:
    return await asyncio.get_running_loop().run_in_executor(_hash_threads(), function, *args)


async def hash_password_async(password: str) -> str:
    """`hash_password` in a hash thread, under the process-wide concurrency cap."""
    return await _off_loop(hash_password, password)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    """`verify_password` off the event loop; with no hash, verifies a dummy and fails."""
    target = password_hash if password_hash is not None else await _off_loop(_dummy_hash)
    ok = await _off_loop(verify_password, target, password)
    return ok and password_hash is not None


@cache
def common_passwords() -> frozenset[str]:
    """About 20,000 passwords people actually use (from Django, BSD licence)."""
    with gzip.open(_COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip().lower() for line in lines if line.strip())


def check_password_policy(password: str, *, email: str = "") -> None:
    """Raise `PasswordPolicyError` unless `password` is long, not a well-known one, and
    does not contain the account's email address or the name before its @."""
    if len(password) < MIN_LENGTH:
        raise PasswordPolicyError(
            gettext("Use at least %(count)s characters.") % {"count": MIN_LENGTH}
        )
    if len(password) > MAX_LENGTH:
        raise PasswordPolicyError(
            gettext("Use at most %(count)s characters.") % {"count": MAX_LENGTH}
        )
    lowered = password.lower()
    # "Password2024!" is "password" with decorations; strip them before looking it up.
    core = re.sub(r"[\W\d_]+$", "", re.sub(r"^[\W\d_]+", "", lowered))
    if lowered in common_passwords() or (core and core in common_passwords()):
        raise PasswordPolicyError(
            gettext("This password is too common; choose a less guessable one.")
        )
    if len(set(password)) < 4:
        raise PasswordPolicyError(gettext("This password repeats too few characters."))
    _check_email_in(lowered, email.lower())


LOCAL_PART_MIN = 4
"""The part of an email address before the @ is refused inside a password from this length:
"margaret" is among the first guesses against margaret@example.com, "al" is no clue."""


def _check_email_in(password: str, email: str) -> None:
    """Refuse the email address, or its part before the @ when guessable; say which."""
    local_part = email.partition("@")[0]
    if "@" in email and email in password:
        raise PasswordPolicyError(gettext("The password must not contain your email address."))
    if len(local_part) >= LOCAL_PART_MIN and local_part in password:
        said = gettext(
            'The password must not contain "%(part)s", the part of your email address before the @.'
        )
        raise PasswordPolicyError(said % {"part": local_part})
