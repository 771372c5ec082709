"""What a limited role sees on pages that show more than one model: the dashboard, relations
named on another model's page, and the page that refuses them."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from tests.helpers import create_admin, fetch, give_role, login, make_role


def _as(client: TestClient, settings, email: str, *codes: str, role: str | None = None) -> None:
    create_admin(settings, email, superuser=False)
    if codes:
        make_role(settings, f"role of {email}", list(codes))
        give_role(settings, email, f"role of {email}")
    if role:
        give_role(settings, email, role)
    assert login(client, email).status_code == 303


def test_a_user_without_roles_sees_no_counts_and_no_chart(seeded, client):
    _as(client, seeded, "nobody@example.com")
    page = client.get("/admin/").text
    assert "Orders per day" not in page, (
        "the order chart is shown to someone who may not see orders"
    )
    assert "holds no permissions yet" in page, "the dashboard says why it is empty"


def test_a_scoped_role_counts_and_charts_only_its_own_orders(seeded, client):
    _as(client, seeded, "fr@example.com", role="Sales France")
    french = fetch(
        seeded,
        "SELECT count(*) FROM orders o JOIN customer c ON c.id = o.customer_id WHERE c.country = 'FR'",
    )[0][0]
    everyone = fetch(seeded, "SELECT count(*) FROM orders")[0][0]
    assert french < everyone, "the demo data has orders outside France"
    page = client.get("/admin/").text
    stat = re.search(r'href="[^"]*/admin/order/list"\s*class="card[^>]*>.*?</a>', page, re.S)
    assert stat is not None, "the order count links to the order list"
    numbers = [int(n.replace(",", "")) for n in re.findall(r">\s*([\d,]+)\s*<", stat.group(0))]
    assert french in numbers and everyone not in numbers, (
        f"the order count shows {numbers}, not the {french} French orders"
    )
    assert "Orders per day" in page


def test_relations_the_viewer_may_not_open_are_named_not_linked(seeded, client):
    _as(client, seeded, "orders@example.com", "order:view")
    order_id, customer_id = fetch(seeded, "SELECT id, customer_id FROM orders ORDER BY id LIMIT 1")[
        0
    ]
    for url in ("/admin/order/list", f"/admin/order/detail?pk={order_id}"):
        page = client.get(url).text
        assert "/admin/customer/detail" not in page, (
            f"{url} links to customers the user may not open"
        )
    detail = client.get(f"/admin/order/detail?pk={order_id}").text
    name = fetch(seeded, "SELECT first_name FROM customer WHERE id = :i", i=customer_id)[0][0]
    assert name in detail, "the customer is still named"


def test_relations_the_viewer_may_open_stay_links(seeded, client):
    _as(client, seeded, "support@example.com", role="Support")
    order_id = fetch(seeded, "SELECT id FROM orders ORDER BY id LIMIT 1")[0][0]
    assert "/admin/customer/detail" in client.get(f"/admin/order/detail?pk={order_id}").text
    assert "/admin/customer/detail" in client.get("/admin/order/list").text


def test_a_refused_page_keeps_the_menu_and_watches_nothing(seeded, client):
    _as(client, seeded, "support@example.com", role="Support")
    response = client.get("/admin/tag/list")
    assert response.status_code == 403
    assert "/admin/order/list" in response.text, "the 403 page shows the user's menu"
    assert "live.js" not in response.text, "the 403 page tries to watch a model it refused"
