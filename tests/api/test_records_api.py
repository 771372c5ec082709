"""The JSON API on the catalogue: list, read, create, change, delete, as a client sees them."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from admin_app.admin.base import AppModelView
from admin_app.admin.registry import REGISTRY
from admin_app.settings import Settings
from tests.api.helpers import bearer, make_token
from tests.helpers import create_admin


def test_a_superuser_token_walks_a_product_through_its_life(
    client: TestClient, settings: Settings
) -> None:
    token = bearer(make_token(settings, create_admin(settings)))
    made = client.post(
        "/api/v1/product", json={"name": "Lamp", "sku": "L-1", "price": "12.50"}, headers=token
    )
    assert made.status_code == 201, made.text
    pk = made.json()["id"]
    assert made.headers["location"].endswith(f"/api/v1/product/{pk}")
    etag = made.headers["etag"]
    got = client.get(f"/api/v1/product/{pk}", headers=token)
    assert got.status_code == 200 and got.json()["name"] == "Lamp", got.text
    changed = client.patch(
        f"/api/v1/product/{pk}", json={"stock": 4}, headers={**token, "If-Match": etag}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["stock"] == 4 and changed.json()["name"] == "Lamp"
    stale = client.patch(
        f"/api/v1/product/{pk}", json={"stock": 5}, headers={**token, "If-Match": etag}
    )
    assert stale.status_code == 412, stale.text
    listed = client.get("/api/v1/product?sku=L-1", headers=token)
    assert [r["id"] for r in listed.json()["data"]] == [pk], listed.text
    gone = client.delete(f"/api/v1/product/{pk}", headers=token)
    assert gone.status_code == 204, gone.text
    assert client.get(f"/api/v1/product/{pk}", headers=token).status_code == 404


@pytest.mark.parametrize("view", REGISTRY, ids=lambda view: str(view.key))
def test_a_list_writes_each_record_as_the_records_own_call_does(
    seeded: Settings, client: TestClient, view: type[AppModelView]
) -> None:
    token = bearer(make_token(seeded, create_admin(seeded, "lister@example.com")))
    listed = client.get(f"/api/v1/{view.key}?limit=20", headers=token)
    assert listed.status_code == 200, listed.text
    for record in listed.json()["data"]:
        key = next(iter(record.values()))  # the key comes first
        alone = client.get(f"/api/v1/{view.key}/{key}", headers=token)
        assert alone.status_code == 200, alone.text
        assert record == alone.json(), f"{view.key} {key}: the list and the record differ"
