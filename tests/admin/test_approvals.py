"""Four-eyes approval: a pricing clerk's price change waits; someone else approves it once."""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.helpers import (
    CSRF_COOKIE,
    PASSWORD,
    create_admin,
    csrf_token,
    fetch,
    give_role,
    login,
    make_role,
    post_form,
)
from tests.server import running_server

CLERK, LEAD, OTHER_LEAD = "clerk@example.com", "lead@example.com", "lead2@example.com"


@pytest.fixture
def people(seeded):
    """A pricing clerk and two pricing leads, from the demo roles."""
    for email, role in (
        (CLERK, "Pricing clerk"),
        (LEAD, "Pricing lead"),
        (OTHER_LEAD, "Pricing lead"),
    ):
        create_admin(seeded, email, superuser=False)
        give_role(seeded, email, role)
    return seeded


_OPENED: list[TestClient] = []
"""The clients `as_user` opened in this test; each runs the app's lifespan (its pool and
workers), so they are closed when the test ends rather than left holding connections."""


@pytest.fixture(autouse=True)
def _close_opened_clients():
    yield
    while _OPENED:
        _OPENED.pop().__exit__(None, None, None)


def as_user(client: TestClient, email: str) -> TestClient:
    other = TestClient(client.app)
    other.__enter__()
    _OPENED.append(other)
    assert login(other, email).status_code == 303, f"{email} logs in"
    return other


def a_product(settings) -> tuple[int, Decimal, int]:
    pk, price, version = fetch(
        settings, "SELECT id, price, version FROM product ORDER BY id LIMIT 1"
    )[0]
    return pk, Decimal(str(price)), version


def propose_price(client: TestClient, pk: int, price: str):
    page = client.get(f"/admin/product/edit?pk={pk}")
    assert page.status_code == 200, "a clerk may open the form to propose a price"
    version = re.search(r'name="_version" value="(\d+)"', page.text)
    assert version
    return post_form(
        client,
        f"/admin/product/edit?pk={pk}",
        {"price": price, "_version": version.group(1)},
        follow_redirects=False,
    )


def requests_of(settings) -> list[tuple]:
    return fetch(
        settings,
        "SELECT r.id, r.status, r.changes, r.record_version, p.email, d.email, r.comment "
        "FROM change_request r JOIN admin_user p ON p.id = r.proposer_id "
        "LEFT JOIN admin_user d ON d.id = r.decider_id ORDER BY r.id",
    )


def decide(client: TestClient, request_id: int, name: str, comment: str = ""):
    return client.post(
        f"/admin/_api/change-request/row-action?name={name}&pk={request_id}",
        data={"comment": comment},
        headers={"X-CSRFToken": csrf_token(client)},
    )


def audit_actions(settings) -> list[str]:
    rows = fetch(
        settings, "SELECT action FROM audit_entry WHERE model = 'change_request' ORDER BY id"
    )
    return [row[0] for row in rows]


def outbox(settings, kind: str) -> list[str]:
    return [
        r[0] for r in fetch(settings, "SELECT recipient FROM email_outbox WHERE kind = :k", k=kind)
    ]


def test_a_clerk_s_price_change_waits_for_approval(people, client):
    clerk = as_user(client, CLERK)
    pk, price, version = a_product(people)
    form = clerk.get(f"/admin/product/edit?pk={pk}").text
    assert "sent for approval" in form, "the form says a price change waits for approval"
    assert re.search(r'<input[^>]*name="name"[^>]*readonly', form), "other fields are locked"
    response = propose_price(clerk, pk, "123.45")
    assert response.status_code == 303, response.text[:300]
    assert a_product(people) == (pk, price, version), "the price is unchanged until approved"
    [(_id, status, changes, at_version, proposer, _d, _c)] = requests_of(people)
    assert status == "pending" and at_version == version and proposer == CLERK
    assert "123.45" in str(changes) and str(price) in str(changes)
    assert audit_actions(people) == ["propose"]
    assert set(outbox(people, "change_proposed")) == {LEAD, OTHER_LEAD}, "every approver is told"
    page = clerk.get(response.headers["location"]).text
    assert "awaits approval" in page, "the clerk is told the change waits"


def test_another_lead_approves_and_the_price_applies(people, client):
    clerk, lead = as_user(client, CLERK), as_user(client, LEAD)
    pk, _price, version = a_product(people)
    propose_price(clerk, pk, "99.90")
    [(request_id, *_rest)] = requests_of(people)
    detail = lead.get(f"/admin/change-request/detail?pk={request_id}")
    assert detail.status_code == 200 and "99.90" in detail.text, "the request shows its diff"
    response = decide(lead, request_id, "approve", "Spring promotion")
    assert response.status_code == 200, response.text[:300]
    assert a_product(people) == (pk, Decimal("99.90"), version + 1), "the price is applied"
    [(_id, status, _ch, _v, _p, decider, comment)] = requests_of(people)
    assert (status, decider, comment) == ("approved", LEAD, "Spring promotion")
    assert audit_actions(people) == ["propose", "approve"]
    assert outbox(people, "change_decided") == [CLERK], "the proposer is told"
    again = decide(as_user(client, OTHER_LEAD), request_id, "approve")
    assert again.status_code >= 400, "a decided request cannot be decided again"
    assert a_product(people)[2] == version + 1, "it was applied once"


def test_the_proposer_cannot_approve_their_own_request(people, client):
    make_role(
        people,
        "Clerk and lead",
        ["product:view", "product:propose_price", "product:approve", "change-request:view"],
    )
    create_admin(people, "both@example.com", superuser=False)
    give_role(people, "both@example.com", "Clerk and lead")
    both = as_user(client, "both@example.com")
    pk, price, _version = a_product(people)
    propose_price(both, pk, "1.00")
    [(request_id, *_rest)] = requests_of(people)
    detail = both.get(f"/admin/change-request/detail?pk={request_id}").text
    assert "name=approve" not in detail and "Approve" not in detail, "no approve button for own"
    response = decide(both, request_id, "approve")
    assert response.status_code >= 400
    assert requests_of(people)[0][1] == "pending"
    assert a_product(people)[1] == price


def test_a_request_for_a_record_changed_since_is_stale_and_not_applied(
    people, client, admin_client
):
    clerk, lead = as_user(client, CLERK), as_user(client, LEAD)
    pk, price, version = a_product(people)
    propose_price(clerk, pk, "5.00")
    fetch(people, "UPDATE product SET stock = stock + 1, version = version + 1 WHERE id = :p", p=pk)
    [(request_id, *_rest)] = requests_of(people)
    response = decide(lead, request_id, "approve")
    assert response.status_code == 200, response.text[:300]
    assert "changed since this was proposed" in lead.get("/admin/change-request/list").text
    assert a_product(people) == (pk, price, version + 1), "nothing was applied"
    assert requests_of(people)[0][1] == "stale"
    assert audit_actions(people) == ["propose", "stale"]


def test_rejecting_needs_a_reason_and_changes_nothing(people, client):
    clerk, lead = as_user(client, CLERK), as_user(client, LEAD)
    pk, price, version = a_product(people)
    propose_price(clerk, pk, "7.00")
    [(request_id, *_rest)] = requests_of(people)
    assert decide(lead, request_id, "reject").status_code == 400, "a rejection says why"
    assert requests_of(people)[0][1] == "pending"
    assert decide(lead, request_id, "reject", "Too low").status_code == 200
    assert requests_of(people)[0][1:2] == ("rejected",)
    assert a_product(people) == (pk, price, version)
    assert audit_actions(people) == ["propose", "reject"]


def test_who_sees_and_decides_requests(people, client):
    clerk = as_user(client, CLERK)
    pk, _price, _version = a_product(people)
    propose_price(clerk, pk, "8.00")
    [(request_id, *_rest)] = requests_of(people)
    create_admin(people, "support@example.com", superuser=False)
    give_role(people, "support@example.com", "Support")
    support = as_user(client, "support@example.com")
    assert support.get("/admin/change-request/list").status_code == 403
    assert support.get(f"/admin/change-request/detail?pk={request_id}").status_code == 403
    assert clerk.get("/admin/change-request/list").status_code == 200, "the proposer sees them"
    assert decide(clerk, request_id, "approve").status_code >= 400, "a clerk may not approve"
    assert decide(support, request_id, "approve").status_code >= 400
    assert requests_of(people)[0][1] == "pending"


def test_two_approvals_at_once_apply_the_request_once(people):
    pk, _price, version = a_product(people)
    # This checkout's code, wherever the virtual environment's editable install points.
    here = str(Path(__file__).resolve().parents[2])
    with running_server(people, DB_POOL_SIZE="10", DB_POOL_TIMEOUT="60", PYTHONPATH=here) as base:
        asyncio.run(_propose(base, pk))
        [(request_id, *_rest)] = requests_of(people)
        codes = asyncio.run(_race(base, request_id))
    assert sorted(codes)[0] == 200 and sorted(codes)[1] >= 400, codes
    assert a_product(people) == (pk, Decimal("42.00"), version + 1)
    assert audit_actions(people) == ["propose", "approve"], "one decision, logged once"


async def _client(base: str, email: str) -> httpx2.AsyncClient:
    client = httpx2.AsyncClient(base_url=base, timeout=60)
    await client.get("/admin/login")
    data = {"username": email, "password": PASSWORD, "csrftoken": client.cookies[CSRF_COOKIE]}
    assert (await client.post("/admin/login", data=data)).status_code == 303
    await client.get("/admin/")  # a page after login sets the session's CSRF cookie
    return client


async def _propose(base: str, pk: int) -> None:
    clerk = await _client(base, CLERK)
    try:
        page = await clerk.get(f"/admin/product/edit?pk={pk}")
        version = re.search(r'name="_version" value="(\d+)"', page.text)
        assert version, (page.status_code, page.headers, page.text[:500])
        token = clerk.cookies[CSRF_COOKIE]
        data = {"price": "42.00", "_version": version.group(1), "csrftoken": token}
        assert (await clerk.post(f"/admin/product/edit?pk={pk}", data=data)).status_code == 303
    finally:
        await clerk.aclose()


async def _race(base: str, request_id: int) -> list[int]:
    leads = [await _client(base, LEAD), await _client(base, OTHER_LEAD)]

    async def approve(client: httpx2.AsyncClient) -> int:
        headers = {"X-CSRFToken": client.cookies[CSRF_COOKIE]}
        url = f"/admin/_api/change-request/row-action?name=approve&pk={request_id}"
        return (await client.post(url, data={"comment": ""}, headers=headers)).status_code

    try:
        return list(await asyncio.gather(*(approve(c) for c in leads)))
    finally:
        for c in leads:
            await c.aclose()


def orders_by_country(settings) -> dict[str, int]:
    """One order of a French customer and one of a customer elsewhere."""
    rows = fetch(
        settings,
        "SELECT o.id, c.country FROM orders o JOIN customer c ON c.id = o.customer_id "
        "ORDER BY o.id",
    )
    french = next(pk for pk, country in rows if country == "FR")
    other = next(pk for pk, country in rows if country not in ("FR", None))
    return {"FR": french, "other": other}


def refund(client: TestClient, pk: int):
    return client.post(
        f"/admin/_api/order/row-action?name=refund&pk={pk}",
        headers={"X-CSRFToken": csrf_token(client)},
    )


def refunded(settings, pk: int) -> Decimal:
    return Decimal(
        str(fetch(settings, "SELECT refunded_amount FROM orders WHERE id = :p", p=pk)[0][0])
    )


def test_a_refund_proposed_waits_and_scoped_approvers_see_only_their_orders(people, client):
    make_role(people, "Refund clerk", ["order:view", "order:propose_refund", "change-request:view"])
    make_role(
        people,
        "French refunds lead",
        ["order:view", "order:approve", "change-request:view"],
        {"countries": ["FR"]},
    )
    for email, role in (
        ("rc@example.com", "Refund clerk"),
        ("fr@example.com", "French refunds lead"),
    ):
        create_admin(people, email, superuser=False)
        give_role(people, email, role)
    clerk, french_lead = as_user(client, "rc@example.com"), as_user(client, "fr@example.com")
    orders = orders_by_country(people)
    for pk in orders.values():
        assert refund(clerk, pk).status_code == 200
        assert refunded(people, pk) == 0, "a proposed refund is not made"
    ids = {row[0] for row in requests_of(people)}
    assert len(ids) == 2
    asked = [
        tuple(r)
        for r in fetch(
            people,
            "SELECT recipient, text_body FROM email_outbox WHERE kind = 'change_proposed' "
            "AND recipient = 'fr@example.com'",
        )
    ]
    assert len(asked) == 1, "the French lead is asked about the French order's refund only"
    listed = french_lead.get("/admin/change-request/list").text
    by_order = dict(fetch(people, "SELECT record_pk, id FROM change_request WHERE model = 'order'"))
    french_request, other_request = by_order[str(orders["FR"])], by_order[str(orders["other"])]
    page = french_lead.get(f"/admin/change-request/detail?pk={other_request}")
    assert page.status_code == 404, "a request about an order outside the scope is not shown"
    assert decide(french_lead, other_request, "approve").status_code >= 400
    assert refunded(people, orders["other"]) == 0
    assert decide(french_lead, french_request, "approve").status_code == 200
    total = fetch(people, "SELECT total FROM orders WHERE id = :p", p=orders["FR"])[0][0]
    assert refunded(people, orders["FR"]) == Decimal(str(total)), "the approved refund is made"
    assert f'data-sa-pk="{french_request}"' in listed, "the French order's request is listed"
    assert f'data-sa-pk="{other_request}"' not in listed, "the other one is not"


def pending_request(settings_, pk: int, proposer: str) -> int:
    fetch(
        settings_,
        "INSERT INTO change_request (model, record_pk, record_repr, action, changes, "
        "record_version, status, proposer_id, proposer, decider, comment, proposed_at) "
        "SELECT 'product', :key, 'P', 'edit', '{\"price\": [\"1.00\", \"2.00\"]}', "
        "p.version, 'pending', u.id, u.email, '', '', CURRENT_TIMESTAMP "
        "FROM product p, admin_user u WHERE p.id = :pk AND u.email = :e",
        pk=pk,
        key=str(pk),
        e=proposer,
    )
    return int(fetch(settings_, "SELECT max(id) FROM change_request")[0][0])


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(comment=st.text(max_size=2100), approve=st.booleans())
def test_any_comment_is_decided_or_refused_with_a_message(people, client, comment, approve):
    """Whatever is typed in the decision dialog: a decision, or a 400 that says why."""
    assert login(client, LEAD).status_code == 303  # the one app of the test, signed in again
    pk, _price, _version = a_product(people)
    request_id = pending_request(people, pk, CLERK)
    response = decide(client, request_id, "approve" if approve else "reject", comment)
    status = fetch(people, "SELECT status FROM change_request WHERE id = :i", i=request_id)[0][0]
    if response.status_code == 200:
        assert status in ("approved", "rejected", "stale")
    else:
        assert response.status_code == 400, response.text[:200]
        assert response.json()["msg"], "a refusal says why"
        assert status == "pending", "a refused decision changes nothing"


def test_the_api_files_a_proposed_price_as_a_request_too(people, client):
    from tests.api.helpers import bearer, make_token

    clerk_id = fetch(people, "SELECT id FROM admin_user WHERE email = :e", e=CLERK)[0][0]
    token = bearer(make_token(people, clerk_id))
    pk, price, version = a_product(people)
    answer = client.patch(f"/api/v1/product/{pk}", json={"price": "3.30"}, headers=token)
    assert answer.status_code == 200, answer.text
    assert a_product(people) == (pk, price, version), "the API changed nothing directly"
    [(_id, status, changes, *_rest)] = requests_of(people)
    assert status == "pending" and "3.30" in str(changes)
    refused = client.patch(f"/api/v1/product/{pk}", json={"name": "X"}, headers=token)
    assert refused.status_code == 422, "other fields stay closed to a clerk"


def test_proposals_and_decisions_reach_open_pages_live(people, client):
    from admin_app.live.hub import Page
    from admin_app.live.messages import Actor

    live = client.app_state["live"]
    models = frozenset({"change-request", "product"})

    async def open_list() -> Any:
        page = live.connect(Actor(99, "Approver"), "approver-session", models)
        live.watch(page, Page("change-request"))
        return page

    async def next_message(page: Any) -> str:
        return str(await asyncio.wait_for(page.next(), 10))

    watcher = client.portal.call(open_list)
    pk, _price, _version = a_product(people)
    assert login(client, CLERK).status_code == 303  # this app's own live feed
    propose_price(client, pk, "11.00")
    message = client.portal.call(next_message, watcher)
    assert '"change-request"' in message and "created" in message, message
    [(request_id, *_rest)] = requests_of(people)
    client.cookies.clear()  # a new browser, not a logout (which makes the feed recheck sessions)
    assert login(client, LEAD).status_code == 303
    assert decide(client, request_id, "approve").status_code == 200
    message = client.portal.call(next_message, watcher)
    assert '"change-request"' in message and "updated" in message, message
