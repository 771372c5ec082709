"""The endpoint pages for a superuser: what a form refuses and why, what the pages show,
the secret kept encrypted and shown on request, a new secret on demand."""

from __future__ import annotations

import json

from admin_app.webhooks.keys import unseal
from tests.helpers import fetch, post_form, wait_until
from tests.webhooks.conftest import new_endpoint, secret_of

BAD_URLS = {
    "ftp://example.com/hook": "http:// or https://",
    "javascript:alert(1)": "http:// or https://",
    "https://": "http:// or https://",
    "https://user:pw@example.com/hook": "user name and password",
    "not a url": "http:// or https://",
}


def test_a_bad_url_is_refused_at_the_field(hooks):
    for url, message in BAD_URLS.items():
        form = {"url": url, "models": ["category"], "events": ["create"], "enabled": "on"}
        answer = post_form(hooks, "/admin/webhook-endpoint/create", form, follow_redirects=False)
        assert answer.status_code == 422, (url, answer.status_code)
        assert message in answer.text or "valid URL" in answer.text, url
    assert fetch(hooks.app_state["settings"], "SELECT count(*) FROM webhook_endpoint")[0][0] == 0


REFUSED_CHOICES = [
    ([], ["create"], "This field is required."),
    (["category"], [], "This field is required."),
    (["email-outbox"], ["create"], "Choose one of the options offered."),
    (["category"], ["truncate"], "Choose one of the options offered."),
]


def test_models_and_events_must_be_chosen_from_what_is_offered(hooks, receiver):
    for models, events, message in REFUSED_CHOICES:
        form = {"url": receiver.url("/x"), "models": models, "events": events}
        answer = post_form(hooks, "/admin/webhook-endpoint/create", form, follow_redirects=False)
        assert answer.status_code == 422, (models, events, answer.status_code)
        assert message in answer.text, (models, events)
    assert fetch(hooks.app_state["settings"], "SELECT count(*) FROM webhook_endpoint")[0][0] == 0


def test_pages_show_choices_by_name_and_the_secret_only_on_request(hooks, receiver):
    pk, secret = new_endpoint(hooks, receiver.url("/hook"), models=["category", "product"])
    settings = hooks.app_state["settings"]
    stored = fetch(settings, "SELECT secret FROM webhook_endpoint")[0][0]
    assert secret not in stored and unseal(settings, stored) == secret, "stored encrypted"
    listing = hooks.get("/admin/webhook-endpoint/list").text
    assert "Categories, Products" in listing or "Products, Categories" in listing
    assert "Create, Update, Delete" in listing and "[" not in listing.split("<tbody")[1][:3000]
    assert secret not in listing, "the list never shows the secret"
    export = post_form(
        hooks, "/admin/_api/webhook-endpoint/action?name=export", {"scope": "all", "format": "csv"}
    )
    assert export.status_code == 200 and secret not in export.text and stored not in export.text
    audit = fetch(settings, "SELECT changes FROM audit_entry WHERE model = 'webhook_endpoint'")
    assert audit and all(secret not in str(row[0]) and stored not in str(row[0]) for row in audit)

    rotated = post_form(hooks, f"/admin/_api/webhook-endpoint/row-action?name=rotate&pk={pk}", {})
    assert rotated.status_code == 200, rotated.text[:300]
    assert secret_of(hooks, pk) != secret, "a new secret is made"


def test_a_switched_off_endpoint_gets_nothing_and_a_deleted_one_leaves_nothing(hooks, receiver):
    pk, _secret = new_endpoint(hooks, receiver.url("/hook"))
    settings = hooks.app_state["settings"]
    form = {"url": receiver.url("/hook"), "models": ["category"], "events": ["create"]}
    off = post_form(hooks, f"/admin/webhook-endpoint/edit?pk={pk}", form, follow_redirects=False)
    assert off.status_code == 303, off.text[:500]
    post_form(hooks, "/admin/category/create", {"name": "Off", "slug": "off"})
    assert fetch(settings, "SELECT count(*) FROM webhook_delivery")[0][0] == 0, "queued while off"

    on = post_form(hooks, f"/admin/webhook-endpoint/edit?pk={pk}", {**form, "enabled": "on"})
    assert on.status_code == 200, on.text[:500]
    post_form(hooks, "/admin/category/create", {"name": "On", "slug": "on"})
    wait_until(lambda: receiver.at("/hook"), 10, "a delivery once switched on")
    assert [json.loads(r.body)["changes"]["slug"][1] for r in receiver.at("/hook")] == ["on"]

    gone = post_form(hooks, "/admin/webhook-endpoint/delete", {"pks": pk}, follow_redirects=False)
    assert gone.status_code in (200, 303), gone.text[:500]
    assert fetch(settings, "SELECT count(*) FROM webhook_delivery")[0][0] == 0, "log left behind"
