"""Who reaches webhooks (superusers only, whatever a role holds) and what a payload may carry
(only what a superuser sees of a record; never a secret)."""

from __future__ import annotations

import json

from sqlalchemy import inspect
from starlette.testclient import TestClient

from admin_app.admin.registry import REGISTRY
from admin_app.admin.site import build_admin
from admin_app.admin.webhook_topics import webhook_topics
from admin_app.audit.values import SECRET_FIELDS
from admin_app.db import table_of
from admin_app.main import create_app
from admin_app.webhooks.capture import payload
from tests.helpers import (
    PASSWORD,
    create_admin,
    fetch,
    give_role,
    login,
    make_role,
    post_form,
    table_counts,
    wait_until,
)
from tests.webhooks.conftest import new_endpoint


def grantable(settings) -> list[str]:
    """Every permission code the role grid offers."""
    views = build_admin(settings).model_views
    return [f"{view.key}:{action}" for view in views for action in view.permission_actions()]


def test_a_role_holding_every_grantable_permission_cannot_reach_webhooks(
    hooks, hook_settings, receiver
):
    pk, secret = new_endpoint(hooks, receiver.url("/hook"))
    post_form(hooks, "/admin/category/create", {"name": "Trays", "slug": "trays"})
    wait_until(lambda: receiver.at("/hook"), 10, "a delivery to look at")
    delivery = fetch(hook_settings, "SELECT id FROM webhook_delivery")[0][0]
    codes = grantable(hook_settings)
    assert not [c for c in codes if c.startswith("webhook-")], "no role may be granted webhooks"
    make_role(hook_settings, "Everything", codes)
    create_admin(hook_settings, "clerk@example.com", superuser=False)
    give_role(hook_settings, "clerk@example.com", "Everything")

    with TestClient(create_app(hook_settings)) as clerk:
        assert login(clerk, "clerk@example.com").status_code == 303
        before = table_counts(hook_settings)
        pages = [
            "/admin/webhook-endpoint/list",
            f"/admin/webhook-endpoint/detail?pk={pk}",
            "/admin/webhook-endpoint/create",
            f"/admin/webhook-endpoint/edit?pk={pk}",
            "/admin/webhook-delivery/list",
            f"/admin/webhook-delivery/detail?pk={delivery}",
            "/admin/api/webhook-endpoint",
        ]
        for url in pages:
            answer = clerk.get(url)
            assert answer.status_code in (403, 404), f"{url}: {answer.status_code}"
            assert secret not in answer.text
        posts = [
            (
                "/admin/webhook-endpoint/create",
                {"url": receiver.url("/evil"), "models": ["admin-user"], "events": ["create"]},
            ),
            (f"/admin/webhook-endpoint/edit?pk={pk}", {"url": receiver.url("/evil")}),
            (f"/admin/_api/webhook-endpoint/row-action?name=rotate&pk={pk}", {}),
            (f"/admin/_api/webhook-delivery/row-action?name=redeliver&pk={delivery}", {}),
            ("/admin/_api/webhook-delivery/action?name=redeliver", {"pks": [delivery]}),
            ("/admin/_api/webhook-endpoint/action?name=export", {"scope": "all", "format": "csv"}),
            ("/admin/webhook-endpoint/delete", {"pks": [pk]}),
        ]
        for url, form in posts:
            answer = post_form(clerk, url, form, follow_redirects=False)
            assert answer.status_code in (400, 403, 404), f"POST {url}: {answer.status_code}"
            assert secret not in answer.text
        home = clerk.get("/admin/").text
        assert "webhook-endpoint" not in home and "webhook-delivery" not in home, "in the menu"
    assert table_counts(hook_settings) == before, "a refused request changed something"

    roles = post_form(
        hooks,
        "/admin/role/create",
        {"name": "Sneaky", "permission_codes": ["webhook-endpoint:view"], "scope": "{}"},
        follow_redirects=False,
    )
    assert roles.status_code == 303
    sneaky = "SELECT count(*) FROM role_permission WHERE code LIKE 'webhook-%'"
    assert fetch(hook_settings, sneaky)[0][0] == 0, "the grid must drop webhook codes"


def test_every_topic_carries_only_what_a_superuser_sees_and_no_secret():
    views = [view() for view in REGISTRY]
    topics = webhook_topics(views)
    assert {"product", "order", "customer", "admin-user"} <= {t.key for t in topics.values()}
    for view in views:
        table = table_of(view.model).name
        if table not in topics:
            assert view.read_only or view.superuser_only, f"{view.key} cannot be followed"
            continue
        topic = topics[table]
        assert not topic.fields & SECRET_FIELDS, f"{view.key} would send a secret"
        columns = [a.key for a in inspect(view.model).column_attrs]
        every_change = {name: [None, f"value of {name}"] for name in columns}
        body = payload(topic, "create", _row(table, every_change), "evt_x")
        shown = {f.name for f in view.fields if not getattr(f, "exclude_from_detail", False)}
        relations = inspect(view.model).relationships
        keys = {c.key for name in shown if name in relations for c in relations[name].local_columns}
        assert set(body["changes"]) <= shown | keys, f"{view.key}: more than its page shows"
        assert not set(body["changes"]) & SECRET_FIELDS


def _row(table: str, changes: dict) -> dict:
    from datetime import UTC, datetime

    return {
        "model": table,
        "object_pk": "1",
        "changes": changes,
        "user_id": 1,
        "actor": "root@example.com",
        "at": datetime.now(UTC),
    }


def test_an_account_created_in_the_admin_is_sent_without_its_password(hooks, receiver):
    new_endpoint(hooks, receiver.url("/people"), models=["admin-user"], events=["create"])
    form = {
        "email": "new@example.com",
        "full_name": "New Person",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
        "is_active": "on",
    }
    answer = post_form(hooks, "/admin/admin-user/create", form, follow_redirects=False)
    assert answer.status_code == 303, answer.text[:500]
    wait_until(lambda: receiver.at("/people"), 10, "the account's delivery")
    body = receiver.at("/people")[0].body.decode()
    event = json.loads(body)
    assert event["changes"]["email"] == [None, "new@example.com"]
    assert "password_hash" not in event["changes"] and "totp_secret" not in event["changes"]
    assert "$argon2" not in body, "the password's hash must never leave"
