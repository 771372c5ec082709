"""Choice fields (selects) take only the options they offer, and no stored value breaks a page."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.forms import read_form
from tests.helpers import fetch, post_form


def _edit(client: TestClient, key: str, pk: int, **changes: object):
    form = read_form(client.get(f"/admin/{key}/edit?pk={pk}").text)
    return post_form(
        client,
        f"/admin/{key}/edit?pk={pk}",
        dict(form.with_values(changes)),
        follow_redirects=False,
    )


def _pages_of(key: str, pk: int, q: str) -> list[str]:
    return [
        f"/admin/{key}/detail?pk={pk}",
        f"/admin/{key}/edit?pk={pk}",
        f"/admin/{key}/list",
        f"/admin/{key}/list?q={q}",
    ]


def test_the_blank_country_option_saves_no_country_and_every_page_still_opens(
    admin_client: TestClient, seeded
):
    customer_id, email = fetch(seeded, "SELECT id, email FROM customer ORDER BY id LIMIT 1")[0]
    form = read_form(admin_client.get(f"/admin/customer/edit?pk={customer_id}").text)
    assert form.control("country").options[0] == ("", ""), "the country list offers a blank"

    response = _edit(admin_client, "customer", customer_id, country="")
    assert response.status_code == 303, response.text[:2000]
    assert fetch(seeded, "SELECT country FROM customer WHERE id = :i", i=customer_id) == [(None,)]
    for url in _pages_of("customer", customer_id, email.split("@")[0]):
        assert admin_client.get(url).status_code == 200, f"{url} fails after a blank country"
    again = _edit(admin_client, "customer", customer_id, city="Lyon")
    assert again.status_code == 303, "a customer without a country can be saved again"


def test_a_stored_value_outside_the_options_is_shown_not_a_500(admin_client: TestClient, seeded):
    customer_id, email = fetch(seeded, "SELECT id, email FROM customer ORDER BY id LIMIT 1")[0]
    fetch(seeded, "UPDATE customer SET country = 'ZZ' WHERE id = :i", i=customer_id)
    for url in _pages_of("customer", customer_id, email.split("@")[0]):
        response = admin_client.get(url)
        assert response.status_code == 200, f"{url}: a country code outside the list broke it"
    assert "ZZ" in admin_client.get(f"/admin/customer/detail?pk={customer_id}").text


def test_a_value_no_option_offers_is_refused_at_the_field(admin_client: TestClient, seeded):
    customer_id = fetch(seeded, "SELECT id FROM customer ORDER BY id LIMIT 1")[0][0]
    response = _edit(admin_client, "customer", customer_id, country="ZZ")
    assert response.status_code == 422, response.status_code
    assert "Choose one of the options offered." in response.text
    order_id = fetch(seeded, "SELECT id FROM orders ORDER BY id LIMIT 1")[0][0]
    before = fetch(seeded, "SELECT status FROM orders WHERE id = :i", i=order_id)
    assert _edit(admin_client, "order", order_id, status="").status_code == 422
    assert fetch(seeded, "SELECT status FROM orders WHERE id = :i", i=order_id) == before
