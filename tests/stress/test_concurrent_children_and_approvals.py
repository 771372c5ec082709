"""Concurrent saves of one order's lines, and concurrent decisions on one change request.

Lines: several administrators open the same order's form (the same versions), each adds
a line, and all save at once. Exactly one save may win each round; the others get the 409
page. Nothing may be lost: the order ends with exactly the winners' lines, its total is
the sum of its lines, and the audit log has one change set per winning save.

Approvals: a pricing clerk proposes a price for many products; for each request, three
pricing leads approve (or reject) at the same moment. Exactly one decision may count: the
price is applied once (the product's version moves on by exactly one), and the audit log
holds one decision per request.
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from urllib.parse import urlencode

import httpx2

from tests.conftest import seed_small
from tests.forms import read_form
from tests.helpers import create_admin, fetch, give_role
from tests.stress.serving import csrf, serving, signed_in

PREFIX = "inlines.order-line"
EDITORS = 3
ORDERS_AT_ONCE = 4
LEADS = 3
VERSION = re.compile(r'name="_version" value="(\d+)"')


def test_concurrent_saves_of_one_orders_lines_lose_no_line(pg_settings, scale, report):
    settings = seed_small(pg_settings)
    rounds = max(scale.edit_pairs // 5, 4)
    orders = [
        r[0]
        for r in fetch(settings, "SELECT id FROM orders ORDER BY id LIMIT :n", n=ORDERS_AT_ONCE)
    ]
    product = fetch(settings, "SELECT id FROM product ORDER BY id LIMIT 1")[0][0]
    before = {o: _line_count(settings, o) for o in orders}
    with serving(settings) as server:
        emails = [f"lines{i}@example.com" for i in range(EDITORS)]
        for email in emails:
            create_admin(settings, email)
        groups = [[signed_in(server.base, e) for e in emails] for _ in orders]

        def one_order(k: int) -> list[list[int]]:
            return [_race(groups[k], orders[k], product, f"{k}.{n}") for n in range(rounds)]

        with ThreadPoolExecutor(max_workers=len(orders)) as pool:
            outcomes = [
                o for per_order in pool.map(one_order, range(len(orders))) for o in per_order
            ]

    clean = sum(1 for codes in outcomes if codes == [303] + [409] * (EDITORS - 1))
    wins = {o: 0 for o in orders}
    for k, order in enumerate(orders):
        wins[order] = sum(1 for codes in outcomes[k * rounds : (k + 1) * rounds] if 303 in codes)
    lines_ok = all(_line_count(settings, o) == before[o] + wins[o] for o in orders)
    totals_ok = all(_total_is_sum(settings, o) for o in orders)
    markers = fetch(
        settings,
        "SELECT count(*) FROM order_line WHERE order_id = ANY(:o) AND unit_price >= 1000",
        o=orders,
    )[0][0]
    report.add(
        "Concurrent edits",
        f"{EDITORS} administrators adding a line to the same order at once, from forms of the "
        f"same version ({ORDERS_AT_ONCE} orders at a time, {rounds} rounds each)",
        len(outcomes),
        f"{clean} rounds ended with one save and {EDITORS - 1} conflict pages; other outcomes: "
        f"{sorted({str(c) for c in outcomes} - {str([303] + [409] * (EDITORS - 1))}) or 'none'}; "
        f"every order holds exactly its winners' lines: {'yes' if lines_ok else 'no'}; "
        f"every order's total is the sum of its lines: {'yes' if totals_ok else 'no'}",
        clean == len(outcomes) and lines_ok and totals_ok,
    )
    assert clean == len(outcomes), [c for c in outcomes if c.count(303) != 1][:5]
    assert lines_ok and markers == sum(wins.values()), "no line lost, none written twice"
    assert totals_ok, "an order's total is the sum of its lines"


def _race(clients: list[httpx2.Client], order: int, product: int, tag: str) -> list[int]:
    """Every client opens the order's form, adds one line and saves, all at once."""
    forms = [read_form(c.get(f"/admin/order/edit?pk={order}").text) for c in clients]
    start = threading.Barrier(len(clients))
    codes: list[int] = []

    def save(i: int) -> None:
        pairs = _with_new_line(forms[i].submission(), product, price=f"{1000 + i}.{tag[-1]}0")
        pairs.append(("csrftoken", csrf(clients[i])))
        start.wait()
        response = clients[i].post(
            f"/admin/order/edit?pk={order}",
            content=urlencode(pairs),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        codes.append(response.status_code)

    threads = [threading.Thread(target=save, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(codes)


def _with_new_line(pairs: list[tuple[str, str]], product: int, price: str) -> list[tuple[str, str]]:
    """The form as submitted, with its blank line filled in."""
    rows: dict[str, set[str]] = {}
    for name, _ in pairs:
        found = re.fullmatch(rf"{re.escape(PREFIX)}\.(\d+)\.(\w+)", name)
        if found:
            rows.setdefault(found.group(1), set()).add(found.group(2))
    blank = next(i for i, fields in rows.items() if "pk" not in fields)
    fill = {"product": str(product), "quantity": "1", "unit_price": price}
    kept = [(n, v) for n, v in pairs if n not in {f"{PREFIX}.{blank}.{f}" for f in fill}]
    return kept + [(f"{PREFIX}.{blank}.{f}", v) for f, v in fill.items()]


def _line_count(settings, order: int) -> int:
    return int(
        fetch(settings, "SELECT count(*) FROM order_line WHERE order_id = :o", o=order)[0][0]
    )


def _total_is_sum(settings, order: int) -> bool:
    total, lines = fetch(
        settings,
        "SELECT o.total, (SELECT coalesce(sum(quantity * unit_price), 0) FROM order_line "
        "WHERE order_id = o.id) FROM orders o WHERE o.id = :o",
        o=order,
    )[0]
    return Decimal(str(total)).quantize(Decimal("0.01")) == Decimal(str(lines)).quantize(
        Decimal("0.01")
    )


def test_concurrent_decisions_apply_each_change_request_once(pg_settings, scale, report):
    settings = seed_small(pg_settings)
    count = max(scale.edit_pairs // 5, 4)
    products = [
        r[0] for r in fetch(settings, "SELECT id FROM product ORDER BY id LIMIT :n", n=count)
    ]
    leads = [f"lead{i}@example.com" for i in range(LEADS)]
    for email, role in [("clerk@example.com", "Pricing clerk")] + [
        (e, "Pricing lead") for e in leads
    ]:
        create_admin(settings, email, superuser=False)
        give_role(settings, email, role)
    with serving(settings) as server:
        clerk = signed_in(server.base, "clerk@example.com")
        for n, pk in enumerate(products):
            _propose(clerk, pk, f"{500 + n}.00")
        requests = [
            (rid, int(pk), version)
            for rid, pk, version in fetch(
                settings, "SELECT id, record_pk, record_version FROM change_request ORDER BY id"
            )
        ]
        deciders = [signed_in(server.base, e) for e in leads]
        outcomes = [_decide_at_once(deciders, request_id) for request_id, _, _ in requests]

    applied = dict(
        fetch(settings, "SELECT id, version FROM product WHERE id = ANY(:p)", p=products)
    )
    statuses = dict(fetch(settings, "SELECT id, status FROM change_request"))
    decisions = fetch(
        settings,
        "SELECT count(*) FROM audit_entry WHERE model = 'change_request' "
        "AND action IN ('approve', 'reject')",
    )[0][0]
    once = sum(1 for codes in outcomes if codes.count(200) == 1 and max(codes) < 500)
    approved = [r for r in requests if statuses[r[0]] == "approved"]
    versions_ok = all(applied[pk] == version + 1 for _, pk, version in approved)
    rejected_untouched = all(
        applied[pk] == version for rid, pk, version in requests if statuses[rid] == "rejected"
    )
    report.add(
        "Concurrent edits",
        f"{LEADS} pricing leads approving or rejecting the same change request at once "
        f"({len(requests)} requests of a pricing clerk)",
        len(outcomes),
        f"{once} requests were decided exactly once, the other decisions refused without a "
        f"5xx; {decisions} decisions logged for {len(requests)} requests; every approved price "
        f"applied exactly once: {'yes' if versions_ok else 'no'}; rejected ones left alone: "
        f"{'yes' if rejected_untouched else 'no'}",
        once == len(requests) and decisions == len(requests) and versions_ok and rejected_untouched,
    )
    assert len(requests) == len(products), "every proposal became a request"
    assert once == len(requests), [c for c in outcomes if c.count(200) != 1 or max(c) >= 500][:5]
    assert decisions == len(requests), "one decision logged per request"
    assert versions_ok and rejected_untouched, "applied once, or not at all"


def _propose(clerk: httpx2.Client, pk: int, price: str) -> None:
    page = clerk.get(f"/admin/product/edit?pk={pk}")
    version = VERSION.search(page.text)
    assert version, (page.status_code, page.text[:300])
    data = {"price": price, "_version": version.group(1), "csrftoken": csrf(clerk)}
    response = clerk.post(f"/admin/product/edit?pk={pk}", data=data)
    assert response.status_code == 303, response.text[:300]


def _decide_at_once(deciders: list[httpx2.Client], request_id: int) -> list[int]:
    """Each lead decides at the same moment: the first approves, the others approve or
    reject alternately."""
    start = threading.Barrier(len(deciders))
    codes: list[int] = []

    def decide(i: int) -> None:
        name = "approve" if i % 2 == 0 else "reject"
        client = deciders[i]
        start.wait()
        response = client.post(
            f"/admin/_api/change-request/row-action?name={name}&pk={request_id}",
            data={"comment": f"decided by lead {i}"},
            headers={"X-CSRFToken": csrf(client)},
        )
        codes.append(response.status_code)

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(len(deciders))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(codes)
