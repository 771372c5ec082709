"""Every state-changing route refuses a cross-site POST without a valid token, and changes nothing."""

from __future__ import annotations

import pytest
from starlette.routing import Mount, Route

from admin_app.admin.registry import REGISTRY
from tests.helpers import login, table_counts


def admin_post_routes(app) -> list[str]:
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.name == "admin")
    paths = []
    for route in mount.routes:
        if isinstance(route, Route) and "POST" in (route.methods or set()):
            if "{key}" in route.path:
                paths += [route.path.replace("{key}", view.key) for view in REGISTRY]
            else:
                paths.append(route.path)
    return ["/admin" + path for path in paths]


def test_the_route_list_covers_forms_actions_login_and_logout(client):
    paths = admin_post_routes(client.app)
    for expected in [
        "/admin/login",
        "/admin/logout",
        "/admin/product/create",
        "/admin/product/edit",
        "/admin/_api/product/action",
        "/admin/_api/product/row-action",
    ]:
        assert expected in paths


@pytest.mark.parametrize("token", [None, "forged-token", "wrong-signature.abc"])
def test_cross_site_posts_get_403_and_change_no_row(seeded, client, superuser, token):
    login(client, superuser)
    before = table_counts(seeded)
    failures = []
    for path in admin_post_routes(client.app):
        data = {"name": "x", "sku": "X", "price": "1", "username": superuser, "password": "x"}
        if token:
            data["csrftoken"] = token
        response = client.post(
            f"{path}?pk=1&pks=1&pks=2&name=delete",
            data=data,
            headers={"origin": "https://evil.example", "referer": "https://evil.example/"},
            follow_redirects=False,
        )
        if response.status_code != 403:
            failures.append(f"{path}: {response.status_code}")
    assert failures == [], f"accepted without a valid token: {failures}"
    assert table_counts(seeded) == before, "a refused request must change nothing"
    assert client.get("/admin/", follow_redirects=False).status_code == 200, "still logged in"
