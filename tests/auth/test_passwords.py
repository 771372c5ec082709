"""Passwords: argon2id at or above OWASP's parameters, a policy, and hashing off the event loop."""

from __future__ import annotations

import asyncio
import os
import re
import threading

import pytest

from admin_app.auth import passwords
from admin_app.auth.passwords import (
    PasswordPolicyError,
    check_password_policy,
    hash_password,
    verify_password,
    verify_password_async,
)


def test_hashes_are_argon2id_at_or_above_owasp_minimum():
    encoded = hash_password("a perfectly fine passphrase")
    match = re.match(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$", encoded)
    assert match, encoded
    memory_kib, time_cost, parallelism = map(int, match.groups())
    assert memory_kib >= 19 * 1024 and time_cost >= 2 and parallelism >= 1
    assert verify_password(encoded, "a perfectly fine passphrase")
    assert not verify_password(encoded, "a perfectly fine passphrasE")
    assert not verify_password("not-a-hash", "anything")


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "at least 12"),
        ("qwerty123456", "too common"),
        ("Password2024!", "too common"),
        ("aaaaaaaaaaaaaaaa", "too few characters"),
    ],
)
def test_policy_refuses_weak_passwords(password, reason):
    with pytest.raises(PasswordPolicyError, match=reason):
        check_password_policy(password, email="margaret@example.com")


@pytest.mark.parametrize(
    ("password", "email", "message"),
    [
        (
            "margaret-hamilton-rules",
            "margaret@example.com",
            'The password must not contain "margaret", the part of your email address before '
            "the @.",
        ),
        (
            "Margaret@Example.com rules",
            "margaret@example.com",
            "The password must not contain your email address.",
        ),
        (
            "call ada@example.com now",
            "ada@example.com",
            "The password must not contain your email address.",
        ),
    ],
)
def test_the_message_says_which_part_of_the_email_is_refused(password, email, message):
    with pytest.raises(PasswordPolicyError) as refused:
        check_password_policy(password, email=email)
    assert str(refused.value) == message


def test_a_short_name_before_the_at_is_no_clue():
    check_password_policy("ada lovelace counted 1843", email="ada@example.com")


def test_policy_accepts_a_long_uncommon_passphrase():
    check_password_policy("tangerine orbit velvet 42", email="ada@example.com")


async def test_hashing_runs_in_worker_threads_under_a_concurrency_cap(monkeypatch):
    loop_thread = threading.get_ident()
    running = 0
    peak = 0
    threads: set[int] = set()
    lock = threading.Lock()
    real_verify = passwords.verify_password

    def counting_verify(encoded: str, password: str) -> bool:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
            threads.add(threading.get_ident())
        try:
            return real_verify(encoded, password)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(passwords, "verify_password", counting_verify)
    encoded = hash_password("a perfectly fine passphrase")
    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    beat = asyncio.create_task(heartbeat())
    results = await asyncio.gather(
        *(verify_password_async(encoded, f"wrong guess number {i}") for i in range(40))
    )
    beat.cancel()
    assert not any(results)
    assert loop_thread not in threads, "hashing must never run on the event loop's thread"
    assert peak <= passwords.CONCURRENCY, (
        f"{peak} hashes ran at once; the cap is {passwords.CONCURRENCY}"
    )
    assert ticks > 40, "the event loop must keep running other tasks while hashes are computed"


async def test_hash_threads_yield_the_cpu_to_the_event_loop(monkeypatch):
    priorities: list[int] = []
    real_verify = passwords.verify_password

    def noting_verify(encoded: str, password: str) -> bool:
        priorities.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        return real_verify(encoded, password)

    monkeypatch.setattr(passwords, "verify_password", noting_verify)
    await verify_password_async(hash_password("a perfectly fine passphrase"), "a wrong one")
    loop_priority = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert priorities == [loop_priority + passwords.HASH_THREAD_NICENESS], (
        f"a hash ran at nice {priorities}, the event loop at {loop_priority}: a login storm "
        "would compete with every other request for the CPU"
    )


async def test_unknown_accounts_still_cost_one_verification(monkeypatch):
    calls = []
    real_verify = passwords.verify_password
    monkeypatch.setattr(
        passwords, "verify_password", lambda h, p: calls.append(h) or real_verify(h, p)
    )
    assert await verify_password_async(None, "whatever it is") is False
    assert len(calls) == 1, "a missing account must still take one hash verification"
