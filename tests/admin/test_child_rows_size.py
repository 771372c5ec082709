"""An order of 200 lines: its form and its save cost what the changed lines cost.

Server time is read from the app's own request histogram (`/metrics`) and printed
(`pytest -s`) with the statements each request ran; the goal (under 300 ms on the
server) is a figure to read, not an assertion: a loaded test machine would make it
flaky. What is asserted is what makes the time flat: the form reads the lines in a
constant number of statements, and a save writes only the lines that changed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient

from admin_app.main import create_app
from tests.admin.listing_helpers import WORKER_QUEUES
from tests.admin.test_child_rows import PREFIX, edit_form, row_names, submit, with_changes
from tests.conftest import make_settings
from tests.helpers import fetch, metric

LINES = 200
TOKEN = "metrics-token-0123456789abcdef"
EDIT = {"route": "/admin/{key}/edit"}


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements run inside the block, by any engine, but the background
    workers' polls, which may come at any moment."""
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not any(queue in statement for queue in WORKER_QUEUES):
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", count)


def big_order(settings: Any) -> int:
    order = int(fetch(settings, "SELECT min(id) FROM orders")[0][0])
    product = int(fetch(settings, "SELECT min(id) FROM product")[0][0])
    fetch(settings, "DELETE FROM order_line WHERE order_id = :o", o=order)
    for place in range(1, LINES + 1):
        fetch(
            settings,
            "INSERT INTO order_line (order_id, product_id, quantity, unit_price, position, "
            "version) VALUES (:o, :p, 1, 2.50, :n, 1)",
            o=order,
            p=product,
            n=place,
        )
    return order


def server_seconds(client: TestClient, method: str, status: str) -> float:
    text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    labels = {**EDIT, "method": method, "status": status}
    return metric(text, "admin_app_http_request_duration_seconds_sum", **labels) or 0.0


def timed(client: TestClient, method: str, status: str, send: Any) -> tuple[Any, str]:
    """The response, and the server's time for it: wall (the request histogram) and CPU
    (this process's; the client thread only waits), which a busy machine inflates less."""
    before, cpu = server_seconds(client, method, status), time.process_time()
    response = send()
    cpu = time.process_time() - cpu
    wall = server_seconds(client, method, status) - before
    return response, f"{wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU"


def test_an_order_of_200_lines_is_edited_and_saved_in_flat_time(seeded, admin_client, backend):
    order = big_order(seeded)
    app = create_app(
        make_settings(
            database_url=seeded.database_url, data_dir=seeded.data_dir, metrics_token=TOKEN
        )
    )
    with TestClient(app) as client:
        client.cookies.update(admin_client.cookies)
        edit_form(client, order)  # warm: templates compiled, pages kept
        with statements() as reads:
            page, page_s = timed(client, "GET", "200", lambda: edit_form(client, order))
        rows = row_names(page)
        assert sum("pk" in r for r in rows.values()) == LINES, "every line is in the form"
        assert len(reads) < 25, f"the form reads its lines at once, not one by one: {len(reads)}"
        one = with_changes(page, {f"{PREFIX}.{next(iter(rows))}.quantity": "3"})
        with statements() as writes:
            saved, one_s = timed(client, "POST", "303", lambda: submit(client, order, one))
        assert saved.status_code == 303, saved.text[:500]
        assert len(writes) < 40, f"a save writes the changed line only: {len(writes)}"
        every = with_changes(
            edit_form(client, order),
            {f"{PREFIX}.{i}.quantity": "2" for i, r in rows.items() if "pk" in r},
        )
        with statements() as all_writes:
            saved, all_s = timed(client, "POST", "303", lambda: submit(client, order, every))
        assert saved.status_code == 303
    total = fetch(seeded, "SELECT total FROM orders WHERE id = :o", o=order)[0][0]
    assert float(total) == LINES * 2 * 2.5
    # The figures this test exists to show (docs/reliability.md).
    print(
        f"\n[{backend}] {LINES} lines: form {page_s} ({len(reads)} statements); "
        f"save of 1 changed line {one_s} ({len(writes)}); "
        f"save of all {LINES} changed {all_s} ({len(all_writes)})"
    )
