"""Changes made in the admin reach a real receiver as signed POSTs; failures are retried,
given up on, and redelivered; a slow or failing endpoint never holds up a healthy one."""

from __future__ import annotations

import json
import time

from starlette.testclient import TestClient

from admin_app.main import create_app
from admin_app.webhooks.queue import backoff
from tests.helpers import fetch, login, post_form, wait_until
from tests.webhooks.conftest import new_endpoint
from tests.webhooks.receiver import Receiver, verifier

VERIFY = verifier()


def events(receiver: Receiver, path: str) -> list[dict]:
    return [json.loads(r.body) for r in receiver.at(path)]


def test_create_update_delete_in_the_admin_arrive_signed(hooks, receiver):
    _pk, secret = new_endpoint(hooks, receiver.url("/hook"))
    created = post_form(hooks, "/admin/category/create", {"name": "Teapots", "slug": "teapots"})
    assert created.status_code == 200, created.text[:500]
    settings = hooks.app_state["settings"]
    category = fetch(settings, "SELECT id FROM category WHERE slug = 'teapots'")[0][0]
    edited = post_form(
        hooks, f"/admin/category/edit?pk={category}", {"name": "Tea pots", "slug": "teapots"}
    )
    assert edited.status_code == 200, edited.text[:500]
    deleted = post_form(hooks, "/admin/category/delete", {"pks": category})
    assert deleted.status_code == 200, deleted.text[:500]

    wait_until(lambda: len(receiver.at("/hook")) >= 3, 10, "three deliveries")
    for request in receiver.at("/hook"):
        assert VERIFY(secret, request.headers, request.body), "the docs' check must accept it"
        assert request.headers["webhook-id"] == json.loads(request.body)["id"]
    got = events(receiver, "/hook")
    assert [e["type"] for e in got] == ["category.create", "category.update", "category.delete"]
    assert {e["record_id"] for e in got} == {str(category)}
    assert got[0]["changes"] == {"name": [None, "Teapots"], "slug": [None, "teapots"]}
    assert got[1]["changes"] == {"name": ["Teapots", "Tea pots"]}
    assert got[2]["changes"]["name"] == ["Tea pots", None]
    assert all(e["actor"]["name"] == "root@example.com" and e["actor"]["id"] for e in got)
    assert all(e["model"] == "category" and e["occurred_at"].endswith("+00:00") for e in got)
    # The receiver counts a post when it arrives; the worker records it once answered.
    query = "SELECT status, attempts, last_status FROM webhook_delivery"
    wait_until(lambda: all(r[0] == "delivered" for r in fetch(settings, query)), 10, "recorded")
    assert [tuple(row) for row in fetch(settings, query)] == [("delivered", 1, 200)] * 3
    assert len(receiver.at("/hook")) == 3, "each event is posted once"


def test_only_chosen_models_and_events_are_sent(hooks, receiver):
    new_endpoint(hooks, receiver.url("/deletes"), models=["category"], events=["delete"])
    new_endpoint(hooks, receiver.url("/tags"), models=["tag"], events=["create"])
    post_form(hooks, "/admin/category/create", {"name": "Cups", "slug": "cups"})
    post_form(hooks, "/admin/tag/create", {"name": "blue"})
    settings = hooks.app_state["settings"]
    category = fetch(settings, "SELECT id FROM category WHERE slug = 'cups'")[0][0]
    post_form(hooks, "/admin/category/delete", {"pks": category})
    wait_until(lambda: receiver.at("/deletes") and receiver.at("/tags"), 10, "both deliveries")
    time.sleep(0.3)  # a wrong extra delivery would come within the poll interval
    assert [e["type"] for e in events(receiver, "/deletes")] == ["category.delete"]
    assert [e["type"] for e in events(receiver, "/tags")] == ["tag.create"]


def test_a_refused_change_sends_nothing(hooks, receiver):
    new_endpoint(hooks, receiver.url("/hook"))
    post_form(hooks, "/admin/category/create", {"name": "Jugs", "slug": "jugs"})
    clash = post_form(hooks, "/admin/category/create", {"name": "Jugs 2", "slug": "jugs"})
    assert clash.status_code == 422 and "already has this slug" in clash.text
    wait_until(lambda: receiver.at("/hook"), 10, "the first delivery")
    time.sleep(0.3)
    assert len(receiver.at("/hook")) == 1, "a rolled-back change must send nothing"


def test_slow_and_failing_endpoints_never_delay_a_healthy_one(hook_settings, receiver, superuser):
    # Were lanes run one after another, the healthy endpoint would wait out the slow
    # one's timeout: every delivery to it must come sooner than that. (A fixed 2.5 s
    # bound failed on a slow, busy machine, at 3.1 s: still no wait behind the others.)
    timeout = 6.0
    settings = hook_settings.model_copy(update={"webhook_timeout": timeout})
    receiver.behave("/slow", delay=timeout + 2)
    receiver.behave("/down", status=500)
    with TestClient(create_app(settings)) as hooks:
        assert login(hooks, superuser).status_code == 303
        for path in ("/slow", "/down", "/healthy"):
            new_endpoint(hooks, receiver.url(path))
        for n in range(5):
            started = time.monotonic()
            post_form(hooks, "/admin/category/create", {"name": f"C{n}", "slug": f"c{n}"})
            wait_until(lambda n=n: len(receiver.at("/healthy")) > n, timeout, f"healthy {n}")
            took = receiver.at("/healthy")[n].at - started
            assert took < timeout, f"the healthy endpoint waited {took:.2f}s behind the others"
        timed_out = "SELECT count(*) FROM webhook_delivery WHERE last_error = 'no answer within 6s'"
        wait_until(lambda: fetch(settings, timed_out)[0][0], 10, "a timeout recorded for /slow")
        _breaker_opens_for_the_failing_endpoint(hooks, settings, receiver)


def _breaker_opens_for_the_failing_endpoint(hooks, settings, receiver) -> None:
    dispatcher = hooks.app_state["webhooks"]
    down = fetch(settings, "SELECT id FROM webhook_endpoint WHERE url LIKE '%/down'")[0][0]
    wait_until(lambda: dispatcher.breaker(down).state == "open", 5, "/down's breaker open")
    assert hooks.get("/readyz").json()["webhooks"]["open_breakers"] == [down]
    tries = len(receiver.at("/down"))
    time.sleep(0.5)
    assert len(receiver.at("/down")) == tries, "nothing is sent while its breaker is open"
    answers = fetch(
        settings,
        "SELECT DISTINCT last_status FROM webhook_delivery WHERE endpoint_id = :e AND attempts > 0",
        e=down,
    )
    assert [row[0] for row in answers] == [500], "the log shows the endpoint's answer"


def test_retries_back_off_then_deliver(hooks, receiver):
    receiver.behave("/flaky", fail_first=2)
    new_endpoint(hooks, receiver.url("/flaky"))
    post_form(hooks, "/admin/category/create", {"name": "Bowls", "slug": "bowls"})
    settings = hooks.app_state["settings"]
    wait_until(
        lambda: fetch(settings, "SELECT status FROM webhook_delivery")[0][0] == "delivered",
        10,
        "delivery after two failures",
    )
    tries = receiver.at("/flaky")
    assert len(tries) == 3 and len({t.headers["webhook-id"] for t in tries}) == 1
    # Backoff 0.05 s, doubling: each wait is at least its share (load only lengthens them).
    assert tries[1].at - tries[0].at >= 0.05 and tries[2].at - tries[1].at >= 0.1, "no backoff"
    waits = [backoff(settings, n).total_seconds() for n in range(1, 6)]
    assert waits == [0.05, 0.1, 0.2, 0.2, 0.2], "doubling from WEBHOOK_BACKOFF up to its cap"
    attempts, status = fetch(settings, "SELECT attempts, last_status FROM webhook_delivery")[0]
    assert (attempts, status) == (3, 200)


def test_dead_after_the_last_attempt_then_redelivered_from_the_admin(
    hook_settings, receiver, superuser
):
    settings = hook_settings.model_copy(update={"webhook_max_attempts": 2})
    receiver.behave("/hook", status=503)
    with TestClient(create_app(settings)) as client:
        assert login(client, superuser).status_code == 303
        new_endpoint(client, receiver.url("/hook"))
        post_form(client, "/admin/category/create", {"name": "Vases", "slug": "vases"})
        row = "SELECT id, status, attempts, last_status, last_error FROM webhook_delivery"
        wait_until(lambda: fetch(settings, row)[0][1] == "dead", 10, "the delivery dead")
        pk, _status, attempts, code, error = fetch(settings, row)[0]
        assert (attempts, code) == (2, 503) and error.startswith("HTTP 503")
        ready = client.get("/readyz").json()
        assert ready["status"] == "ok" and ready["webhooks"]["dead"] == 1, ready
        page = client.get("/admin/webhook-delivery/list").text
        assert "category.create" in page and "Dead" in page

        receiver.behave("/hook", status=200)
        failed = len(receiver.at("/hook"))  # both attempts, unless one was lost on the way
        answer = post_form(
            client, f"/admin/_api/webhook-delivery/action?name=redeliver&pks={pk}", {}
        )
        assert answer.status_code == 200, answer.text[:500]
        wait_until(lambda: fetch(settings, row)[0][1] == "delivered", 10, "redelivered")
        again = post_form(
            client, f"/admin/_api/webhook-delivery/row-action?name=redeliver&pk={pk}", {}
        )
        assert again.status_code == 400 and "not sent twice" in again.text
    assert len(receiver.at("/hook")) == failed + 1, "redelivered once, and only once"


def test_a_change_in_the_admin_wakes_the_worker_without_waiting_for_its_poll(
    hook_settings, receiver, superuser
):
    settings = hook_settings.model_copy(update={"webhook_poll_interval": 30.0})
    with TestClient(create_app(settings)) as client:
        assert login(client, superuser).status_code == 303
        new_endpoint(client, receiver.url("/hook"))
        started = time.monotonic()
        post_form(client, "/admin/category/create", {"name": "Now", "slug": "now"})
        wait_until(lambda: receiver.at("/hook"), 10, "the delivery, long before the next poll")
        assert receiver.at("/hook")[0].at - started < 10
