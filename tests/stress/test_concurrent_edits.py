"""Concurrent edits: two administrators save the same record at the same moment.

Each pair opens the edit form of one category (both forms carry the same row
version), then both submit at once. Exactly one save may win; the other must get
the 409 conflict page, and nothing may be lost: the row holds the winner's values
and the audit log one update per winning save.
"""

from __future__ import annotations

import queue
import re
import threading
from concurrent.futures import ThreadPoolExecutor

from tests.helpers import create_admin, fetch
from tests.stress.serving import csrf, serving, signed_in

RECORDS = 40
PAIRS_AT_ONCE = 8
VERSION = re.compile(r'name="_version" value="(\d+)"')


def test_concurrent_edit_pairs_lose_no_update(pg_settings, scale, report):
    settings = pg_settings
    fetch(
        settings,
        "INSERT INTO category (name, slug, version) "
        "SELECT 'Shelf ' || g, 'shelf-' || g, 1 FROM generate_series(1, :n) g",
        n=RECORDS,
    )
    ids = [r[0] for r in fetch(settings, "SELECT id FROM category ORDER BY id")]
    with serving(settings) as server:
        create_admin(settings, "editor@example.com")
        # One pair of sessions per worker thread, signed in one after another: logins
        # racing for one account would be counted against it by the login throttle.
        idle: queue.Queue = queue.Queue()
        for _ in range(PAIRS_AT_ONCE):
            idle.put((signed_in(server.base), signed_in(server.base, "editor@example.com")))

        def one_pair(i: int) -> tuple[int, str, list[int], str]:
            pk = ids[i % len(ids)]
            a, b = idle.get()
            try:
                return pk, *race(pk, a, b, i)
            finally:
                idle.put((a, b))

        def race(pk: int, a, b, i: int) -> tuple[str, list[int], str]:
            forms = []
            for client in (a, b):
                page = client.get(f"/admin/category/edit?pk={pk}")
                forms.append(VERSION.search(page.text).group(1))
            start = threading.Barrier(2)
            answers: dict[str, int] = {}

            def save(client, name: str, version: str) -> None:
                data = {"name": name, "slug": f"shelf-{pk}", "_version": version}
                start.wait()
                response = client.post(
                    f"/admin/category/edit?pk={pk}", data={**data, "csrftoken": csrf(client)}
                )
                answers[name] = response.status_code

            names = (f"pair {i} by Alice", f"pair {i} by Bob")
            savers = [
                threading.Thread(target=save, args=(c, n, v))
                for c, n, v in zip((a, b), names, forms, strict=True)
            ]
            for t in savers:
                t.start()
            for t in savers:
                t.join()
            winners = [n for n, status in answers.items() if status == 303]
            return winners[0] if len(winners) == 1 else "", sorted(answers.values()), names[0]

        with ThreadPoolExecutor(max_workers=PAIRS_AT_ONCE) as pool:
            results = list(pool.map(one_pair, range(scale.edit_pairs)))

    clean = [r for r in results if r[2] == [303, 409]]
    last_winner: dict[int, str] = {}
    for pk, winner, _, _ in results:  # a record's pairs run one after another, in order
        if winner:
            last_winner[pk] = winner
    rows = dict(fetch(settings, "SELECT id, name FROM category WHERE name LIKE 'pair %'"))
    updates = fetch(
        settings, "SELECT count(*) FROM audit_entry WHERE action = 'update' AND model = 'category'"
    )[0][0]
    winners = sum(1 for r in results if r[1])
    finals_ok = all(rows.get(pk) == winner for pk, winner in last_winner.items())
    report.add(
        "Concurrent edits",
        f"pairs of saves of the same category from forms of the same version "
        f"({PAIRS_AT_ONCE} pairs at a time over {RECORDS} records)",
        len(results),
        f"{len(clean)} pairs ended with one 303 and one 409 conflict page; "
        f"other outcomes: {sorted({str(r[2]) for r in results} - {'[303, 409]'}) or 'none'}; "
        f"{updates} audit updates for {winners} winning saves; every record holds a "
        f"winner's values: {'yes' if finals_ok else 'no'}",
        len(clean) == len(results) and updates == winners and finals_ok,
    )
    assert len(clean) == len(results), [r for r in results if r[2] != [303, 409]][:5]
    assert updates == winners
    assert finals_ok
