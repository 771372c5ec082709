"""Saved views: saved, shared by role, opened by URL, defaults per role, remembered
columns, stale fields, and never a row or column beyond the viewer's own list."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from starlette.testclient import TestClient

from admin_app.admin.registry import REGISTRY
from admin_app.demo.seed import DEMO_ROLES
from admin_app.main import create_app
from tests.helpers import create_admin, csrf_token, fetch, give_role, login

API = "/admin/_api/saved-views"
ROWS = re.compile(r'<tr data-sa-pk="([^"]+)"')
COLUMNS = re.compile(r'<th scope="col" data-column="([^"]+)"')


def role_id(settings: Any, name: str) -> int:
    return int(fetch(settings, "SELECT id FROM role WHERE name = :n", n=name)[0][0])


def save(client: TestClient, key: str, **form: Any) -> Any:
    data = {"csrftoken": csrf_token(client), **form}
    return client.post(f"{API}/{key}", data=data)


def shown(page: Any) -> tuple[list[str], list[str]]:
    """The columns and row keys a list page shows."""
    assert page.status_code == 200, page.text[:300]
    return COLUMNS.findall(page.text), ROWS.findall(page.text)


def location(response: Any) -> dict[str, str]:
    assert response.status_code == 303, (response.status_code, response.text[:300])
    return dict(parse_qsl(urlsplit(response.headers["location"]).query))


@pytest.fixture
def people(seeded: Any) -> Iterator[Any]:
    """A signed-in client per demo role, and a superuser's, on one app."""
    app = create_app(seeded)
    clients: dict[str, TestClient] = {}
    for n, who in enumerate(["superuser", *DEMO_ROLES]):
        email = f"person{n}@example.com"
        create_admin(seeded, email, superuser=who == "superuser")
        if who != "superuser":
            give_role(seeded, email, who)
        client = TestClient(app)
        client.__enter__()
        assert login(client, email).status_code == 303
        clients[who] = client
    yield clients
    for client in clients.values():
        client.__exit__(None, None, None)


def test_save_share_and_open_by_role(seeded, people):
    boss, support, catalogue = people["superuser"], people["Support"], people["Catalogue editor"]
    query = "q=a&sort=last_name__asc&cols=first_name,last_name,email&page_size=50&view=9&after=3"
    made = save(boss, "customer", name="  A-names ", query=query, role=role_id(seeded, "Support"))
    assert made.status_code == 200, made.text
    view_id, url = made.json()["id"], made.json()["url"]
    assert url == f"/admin/customer/list?view={view_id}"
    stored = fetch(seeded, "SELECT name, query FROM saved_view WHERE id = :i", i=view_id)[0]
    assert stored == (
        "A-names",
        "q=a&sort=last_name__asc&cols=first_name%2Clast_name%2Cemail&page_size=50",
    ), "the name trimmed, the state normalised: no view, no position"

    names = [v["name"] for v in support.get(f"{API}/customer").json()["views"]]
    assert names == ["A-names"], "shared with Support"
    assert catalogue.get(f"{API}/customer").status_code == 403, "no customer list, no menu"
    assert people["Sales France"].get(f"{API}/customer").json()["views"] == []

    opened = support.get(url, follow_redirects=False)
    assert location(opened) == {
        "view": str(view_id),
        "q": "a",
        "sort": "last_name__asc",
        "cols": "first_name,last_name,email",
        "page_size": "50",
    }
    columns, _ = shown(support.get(opened.headers["location"]))
    assert columns == ["first_name", "last_name", "email"]

    # Someone it is not shared with gets a notice and the plain list, not the view.
    refused = people["Sales France"].get(url)
    assert refused.status_code == 200 and "not shared with you" in refused.text
    assert refused.url.params["view"] == "none"

    # Later edits to the URL win over the view's state.
    edited = support.get(f"{url}&q=b&cols=email", follow_redirects=False)
    assert edited.status_code == 200
    assert shown(edited)[0] == ["email"]


def test_role_default_view_and_plain_list(seeded, people):
    boss, support = people["superuser"], people["Support"]
    support_id = role_id(seeded, "Support")
    made = save(
        boss, "order", name="Newest", query="sort=id__desc", role=support_id, default=support_id
    ).json()
    opened = support.get("/admin/order/list", follow_redirects=False)
    assert location(opened) == {"view": str(made["id"]), "sort": "id__desc"}
    assert support.get("/admin/order/list?view=none", follow_redirects=False).status_code == 200
    # Not the default of a role it is no longer shared with.
    edit = boss.post(
        f"{API}/order/{made['id']}", data={"csrftoken": csrf_token(boss), "name": "Newest"}
    )
    assert edit.status_code == 200, edit.text
    assert support.get("/admin/order/list", follow_redirects=False).status_code == 200
    assert fetch(seeded, "SELECT count(*) FROM role_default_view")[0][0] == 0
    # Only whoever may edit roles sets defaults.
    mine = save(support, "order", name="Mine", query="", role=support_id, default=support_id)
    assert mine.status_code == 400 and "default" in mine.json()["errors"]


def test_stale_fields_open_with_a_notice(seeded, people):
    boss = people["superuser"]
    owner = fetch(seeded, "SELECT id FROM admin_user WHERE email = 'person0@example.com'")[0][0]
    stale = "cols=first_name,nickname&sort=shoe_size__asc&filter=nickname__eq=Bo&page_size=70"
    fetch(
        seeded,
        "INSERT INTO saved_view (model, name, owner_id, query, created_at, version) "
        "VALUES ('customer', 'Old', :o, :q, CURRENT_TIMESTAMP, 1)",
        o=owner,
        q=stale,
    )
    view_id = fetch(seeded, "SELECT id FROM saved_view WHERE name = 'Old'")[0][0]
    opened = boss.get(f"/admin/customer/list?view={view_id}")
    assert opened.status_code == 200
    assert dict(opened.url.params) == {"view": str(view_id), "cols": "first_name"}
    notice = re.search(r"The view “Old” was opened without[^<]*", opened.text)
    assert notice, opened.text[:2000]
    for name in ("nickname", "shoe_size", "page_size"):
        assert name in notice.group(0), f"the notice names {name}: {notice.group(0)}"
    assert shown(opened)[0] == ["first_name"]


def remember(client: TestClient, key: str, **form: str) -> Any:
    return client.post(f"{API}/{key}/remember", data={"csrftoken": csrf_token(client), **form})


def test_columns_and_page_size_are_remembered(seeded, people):
    support = people["Support"]
    assert support.get("/admin/customer/list", follow_redirects=False).status_code == 200
    assert remember(support, "customer", cols="email,country", page_size="50").status_code == 200
    back = support.get("/admin/customer/list", follow_redirects=False)
    assert location(back) == {"cols": "email,country", "page_size": "50"}
    other = people["Sales France"].get("/admin/customer/list", follow_redirects=False)
    assert other.status_code == 200, "remembered per user"
    # A column that is gone is left out; none left: the list's own.
    assert remember(support, "customer", cols="email,gone").status_code == 200
    assert location(support.get("/admin/customer/list", follow_redirects=False)) == {
        "cols": "email"
    }
    assert remember(support, "customer", cols="gone").status_code == 200
    assert support.get("/admin/customer/list", follow_redirects=False).status_code == 200
    assert remember(support, "customer", page_size="7").status_code == 400
    assert remember(support, "product", cols="name").status_code == 200
    assert remember(people["Sales France"], "product", cols="name").status_code == 403
    assert remember(support, "customer").status_code == 200  # forget
    assert fetch(
        seeded, "SELECT cols, page_size FROM list_preference WHERE model = 'customer'"
    ) == [(None, None)]
    assert support.get("/admin/customer/list", follow_redirects=False).status_code == 200


def test_audited_create_edit_delete(seeded, people):
    boss = people["superuser"]
    made = save(boss, "tag", name="Tags", query="sort=name__asc").json()
    token = csrf_token(boss)
    assert (
        boss.post(f"{API}/tag/{made['id']}", data={"csrftoken": token, "name": "T"}).status_code
        == 200
    )
    assert boss.post(f"{API}/tag/{made['id']}/delete", data={"csrftoken": token}).status_code == 200
    entries = fetch(
        seeded,
        "SELECT id, action FROM audit_entry WHERE model = 'saved_view' AND object_pk = :p "
        "ORDER BY id",
        p=str(made["id"]),
    )
    assert [e[1] for e in entries] == ["create", "update", "delete"]
    for entry_id, _ in entries:  # the audit log shows them as it shows any record's
        page = boss.get(f"/admin/audit-entry/detail?pk={entry_id}")
        assert page.status_code == 200 and "saved_view" in page.text, page.text[:300]
    reverted = boss.post(
        "/admin/_api/audit-entry/row-action",
        params={"name": "revert", "pk": entries[1][0]},
        headers={"X-CSRFToken": token},
    )
    assert reverted.status_code < 500, reverted.text[:300]


def test_only_the_owner_changes_a_view(seeded, people):
    boss, support = people["superuser"], people["Support"]
    made = save(boss, "order", name="Boss", query="", role=role_id(seeded, "Support")).json()
    token = csrf_token(support)
    for path in (f"{API}/order/{made['id']}", f"{API}/order/{made['id']}/delete"):
        assert support.post(path, data={"csrftoken": token, "name": "Mine"}).status_code == 404
    assert boss.post(f"{API}/order", data={"name": "No CSRF"}).status_code == 403
    assert fetch(seeded, "SELECT name FROM saved_view")[0][0] == "Boss"


def test_export_and_bulk_actions_follow_the_view(seeded, people):
    boss = people["superuser"]
    made = save(boss, "customer", name="FR", query="filter=country__eq=FR").json()
    opened = boss.get(made["url"], follow_redirects=False)
    list_query = urlsplit(opened.headers["location"]).query
    french = {str(r[0]) for r in fetch(seeded, "SELECT id FROM customer WHERE country = 'FR'")}
    assert french, "the demo has French customers"
    _, rows = shown(boss.get(opened.headers["location"] + "&page_size=100"))
    assert set(rows) == french
    export = boss.post(
        "/admin/_api/customer/action",
        params={"name": "export", "_list_query": list_query},
        data={"scope": "all", "format": "csv", "csrftoken": csrf_token(boss)},
    )
    assert export.status_code == 200, export.text[:300]
    ids = {line.split(",")[0] for line in export.text.lstrip("\ufeff").splitlines()[1:]}
    assert ids == french, "export writes this view's rows"


def _everything(key: str, client: TestClient) -> str:
    """A state showing every column the superuser sees, sorted by the first sortable."""
    columns, _ = shown(client.get(f"/admin/{key}/list?view=none&page_size=100"))
    return f"cols={','.join(columns)}&page_size=100"


def test_no_role_sees_more_through_a_shared_view(seeded, people):
    boss = people["superuser"]
    every_role = [role_id(seeded, name) for name in DEMO_ROLES]
    for view_class in REGISTRY:
        key = str(view_class.key)
        made = save(boss, key, name=f"All {key}", query=_everything(key, boss), role=every_role)
        assert made.status_code == 200, (key, made.text)
        for who, client in people.items():
            if who == "superuser":
                continue
            through_view = client.get(made.json()["url"])
            own = client.get(f"/admin/{key}/list?view=none&page_size=100")
            assert through_view.status_code == own.status_code, (who, key)
            if own.status_code != 200:
                assert through_view.status_code in (403, 404), (who, key)
                continue
            columns, rows = shown(through_view)
            own_columns, own_rows = shown(own)
            assert set(columns) <= set(own_columns), (
                f"{who} sees {set(columns) - set(own_columns)} of {key}"
            )
            assert set(rows) <= set(own_rows), (
                f"{who} sees rows {set(rows) - set(own_rows)} of {key}"
            )


ODD = ["", " ", "x" * 101, "a\x00b", "😀", "<script>", "'; drop table saved_view; --", "\u202e"]


def test_odd_values_never_fail(seeded, people):
    boss = people["superuser"]
    token = csrf_token(boss)
    for value in ODD:
        response = remember(boss, "customer", cols=value, page_size=value)
        assert response.status_code in (200, 400), (value, response.text[:200])
        for field in ("name", "query", "role", "default"):
            form = {"name": "ok", "query": "", "csrftoken": token, field: value}
            response = boss.post(f"{API}/customer", data=form)
            assert response.status_code in (200, 400), (field, value, response.text[:200])
        opened = boss.get("/admin/customer/list", params={"view": value})
        assert opened.status_code == 200, (value, opened.text[:200])
        assert boss.get(f"{API}/{value.strip() or 'x'}".replace("\x00", "")).status_code < 500


def test_the_palette_offers_the_views_each_user_may_open(seeded, people):
    boss = people["superuser"]
    made = save(
        boss, "order", name="Open orders", query="sort=id__desc", role=role_id(seeded, "Support")
    )
    assert made.status_code == 200, made.text
    for who, client in people.items():
        commands = client.get("/admin/_api/palette").json()["commands"]
        offered = [c for c in commands if c["group"] == "Saved views"]
        if who in ("superuser", "Support"):
            assert [c["label"] for c in offered] == ["Open orders (orders)"], (who, offered)
            assert client.get(offered[0]["url"]).status_code == 200
        else:
            assert offered == [], f"{who} is offered {offered}"


def test_the_save_dialog_is_fetched_not_carried_by_every_list(seeded, people):
    """The list page has the Views menu but not its Save dialog, which comes from its own
    call when the menu is first opened, for whoever may see the list."""
    boss, catalogue = people["superuser"], people["Catalogue editor"]
    page = boss.get("/admin/customer/list").text
    assert "data-app-saved-views" in page and "<dialog" not in page
    dialog = boss.get(f"{API}/customer/dialog")
    assert dialog.status_code == 200, dialog.text[:300]
    assert "data-app-saved-view-dialog" in dialog.text
    assert 'name="name"' in dialog.text and "Share with roles" in dialog.text
    assert catalogue.get(f"{API}/customer/dialog").status_code == 403, "no customer list"
