"""Crashes: the web process killed with SIGKILL while imports and batch deletes run.

Each round starts imports of many tags and batch deletes of earlier ones from
several clients at once, kills the server at a random moment, starts it again on
the same database and reads what is there: every request must have happened
entirely or not at all, and its audit entries with it. (The email worker's
SIGKILL test is `tests/email/test_worker_process.py`, in the normal suite.)
"""

from __future__ import annotations

import contextlib
import random
import threading
import time

import httpx2

from tests.helpers import fetch
from tests.servers import Server
from tests.stress.serving import csrf, server_env, serving, signed_in

ROWS = 400
"""Tags per import request, and per batch delete."""
CLIENTS = 4


def import_tags(client: httpx2.Client, prefix: str, answers: list[str] | None = None) -> None:
    body = "name\n" + "".join(f"{prefix}-{i}\n" for i in range(ROWS))
    try:  # the server may die under it: what counts is what the database holds
        response = client.post(
            "/admin/_api/tag/import",
            files={"file": ("tags.csv", body.encode(), "text/csv")},
            data={"csrftoken": csrf(client), "format": "csv"},
        )
        status = str(response.status_code)
    except httpx2.HTTPError as error:
        status = type(error).__name__
    if answers is not None:
        answers.append(status)


def delete_tags(client: httpx2.Client, ids: list[int]) -> None:
    """Confirm a batch delete, as the button of the page that previews it does."""
    with contextlib.suppress(httpx2.HTTPError):
        client.post(
            "/admin/tag/delete", data={"pks": [str(i) for i in ids], "csrftoken": csrf(client)}
        )


def counts(settings, prefix: str) -> tuple[int, int]:
    """Tags named `prefix-*`, and audit entries about them."""
    tags = fetch(settings, "SELECT count(*) FROM tag WHERE name LIKE :p", p=f"{prefix}-%")[0][0]
    logged = fetch(
        settings,
        "SELECT count(*) FROM audit_entry WHERE model = 'tag' AND action = 'create' "
        "AND object_repr LIKE :p",
        p=f"{prefix}-%",
    )[0][0]
    return tags, logged


def test_sigkill_mid_imports_and_batch_deletes_is_all_or_nothing(pg_settings, scale, report):
    settings = pg_settings
    rng = random.Random(42)
    results: list[str] = []
    with serving(settings) as first:
        first_env = server_env(settings)
        setup = signed_in(first.base)
        import_tags(setup, "seed")  # rows for the batch deletes to remove
        assert counts(settings, "seed") == (ROWS, ROWS)
        # How long CLIENTS imports at once take, undisturbed: kills land anywhere in that.
        warm = [signed_in(first.base) for _ in range(CLIENTS)]
        started = time.monotonic()
        timing = [
            threading.Thread(target=import_tags, args=(c, f"timing{n}")) for n, c in enumerate(warm)
        ]
        for thread in timing:
            thread.start()
        for thread in timing:
            thread.join()
        together = time.monotonic() - started
        first.process.kill()
        first.process.wait(30)

    server: Server | None = None
    broken: list[str] = []
    answers: list[str] = []
    rounds = scale.crash_rounds * 2
    for round_ in range(rounds):
        server = Server(first_env, log_file=settings.data_dir / f"crash-{round_}.log")
        server.wait_ready()
        clients = [signed_in(server.base) for _ in range(CLIENTS)]
        seed_ids = [r[0] for r in fetch(settings, "SELECT id FROM tag WHERE name LIKE 'seed-%'")]
        groups = [seed_ids[i::CLIENTS] for i in range(CLIENTS)]
        prefixes = [f"r{round_}c{n}" for n in range(CLIENTS)]
        work = [
            threading.Thread(target=import_tags, args=(c, p, answers), daemon=True)
            for c, p in zip(clients, prefixes, strict=True)
        ]
        if round_ % 2 and seed_ids:
            work += [
                threading.Thread(target=delete_tags, args=(c, g), daemon=True)
                for c, g in zip(clients, groups, strict=True)
            ]
        for thread in work:
            thread.start()
        threading.Event().wait(0.1)  # the requests reach the server
        # From early (nothing committed) to late (most committed), a little at random.
        share = 0.2 + 1.1 * round_ / max(1, rounds - 1) + rng.uniform(-0.1, 0.1)
        threading.Event().wait(together * share)
        server.process.kill()
        server.process.wait(30)
        for thread in work:
            thread.join(30)
        for prefix in prefixes:
            tags, logged = counts(settings, prefix)
            results.append(f"{tags}/{ROWS}")
            if (tags, logged) not in ((0, 0), (ROWS, ROWS)):
                broken.append(f"import {prefix}: {tags} tags, {logged} audit entries")
        for n, group in enumerate(groups if round_ % 2 else []):
            left = fetch(settings, "SELECT count(*) FROM tag WHERE id = ANY(:ids)", ids=group)[0][0]
            results.append(f"delete {len(group) - left}/{len(group)}")
            if left not in (0, len(group)):
                broken.append(f"batch delete {n}: {left} of {len(group)} rows left")
        for client in clients:
            client.close()

    with serving(settings) as after:
        alive = signed_in(after.base).get("/admin/tag/list").status_code
    whole = sum(1 for r in results if r.split()[-1].split("/")[0] in ("0", r.split("/")[-1]))
    report.add(
        "Crashes",
        f"SIGKILL of the web process, early to late, while {CLIENTS} clients import "
        f"{ROWS} tags each (and, every other round, batch-delete {ROWS // CLIENTS} each), "
        "on PostgreSQL",
        len(results),
        f"{whole} of {len(results)} requests all-or-nothing (rows and their audit "
        f"entries); done/total per request: {', '.join(results)}; "
        f"the imports' answers {sorted(set(answers))}; "
        f"the restarted server answers {alive}; {CLIENTS} imports at once take {together:.1f} s",
        not broken and alive == 200,
    )
    assert not broken, broken
    assert alive == 200
