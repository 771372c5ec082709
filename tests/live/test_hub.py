"""The hub: fan-out to the connections that want a change, bounded queues, presence."""

from __future__ import annotations

import asyncio

from admin_app.live.hub import RESYNC, Closing, Hub, Page, Subscriber
from admin_app.live.messages import Actor, Change
from admin_app.live.presence import Presence

ANN, BOB = Actor(1, "Ann"), Actor(2, "Bob")
ALL = frozenset({"product", "category", "admin-user"})


def change(model: str = "product", *pks: str, action: str = "updated") -> Change:
    return Change(model, pks or ("1",), action, ANN, "2026-01-01T00:00:00+00:00")  # type: ignore[arg-type]


def drain(subscriber: Subscriber) -> list[str | Closing]:
    return subscriber.pending()


def make(hub: Hub, user: Actor = ANN, page: Page | None = None, **kwargs) -> Subscriber:
    subscriber = Subscriber(user, f"session-{user.id}", kwargs.pop("models", ALL), 5, **kwargs)
    hub.add(subscriber)
    hub.watch(subscriber, page)
    drain(subscriber)  # presence on arrival
    return subscriber


def test_a_change_reaches_its_list_and_record_pages_only():
    hub = Hub(Presence(ttl=60))
    products = make(hub, page=Page("product"))
    record_1 = make(hub, page=Page("product", "1"))
    record_2 = make(hub, page=Page("product", "2"))
    categories = make(hub, page=Page("category"))
    idle = make(hub)
    assert hub.deliver(change("product", "1")) == 2
    assert [len(drain(s)) for s in (products, record_1, record_2, categories, idle)] == [
        1,
        1,
        0,
        0,
        0,
    ]


def test_each_message_is_encoded_once_for_all_recipients():
    hub = Hub(Presence(ttl=60))
    many = [make(hub, page=Page("product")) for _ in range(50)]
    hub.deliver(change())
    texts = [drain(s)[0] for s in many]
    assert all(text is texts[0] for text in texts), "one string object shared by every queue"


def test_feeds_get_what_their_user_may_see_narrowed_by_their_filter():
    hub = Hub(Presence(ttl=60))
    everything = make(hub, feed=True)
    narrow = make(hub, feed=True, page=Page("product", "7"))
    no_accounts = make(hub, feed=True, models=frozenset({"product"}))
    hub.deliver(change("admin-user", "1"))
    hub.deliver(change("product", "7", "8"))
    assert len(drain(everything)) == 2
    assert len(drain(narrow)) == 1
    assert len(drain(no_accounts)) == 1, "admin accounts must not reach a user who cannot see them"


def test_a_slow_client_gets_one_resync_and_does_not_hold_up_the_others():
    hub = Hub(Presence(ttl=60))
    slow = make(hub, page=Page("product"))
    fast = make(hub, page=Page("product"))
    for n in range(12):
        hub.deliver(change("product", str(n)))
        drain(fast)  # the fast client keeps up
    queued = drain(slow)
    assert RESYNC in queued, "the slow client must be told it missed changes"
    assert len(queued) <= 5, "its queue must stay bounded"
    assert slow.resyncs >= 1


def test_close_drops_what_was_queued_and_ends_with_the_reason():
    hub = Hub(Presence(ttl=60))
    subscriber = make(hub, page=Page("product"))
    hub.deliver(change())
    subscriber.close(4401, "Your session has ended.")
    hub.deliver(change())
    assert drain(subscriber) == [Closing(4401, "Your session has ended.")]


def test_presence_is_pushed_to_the_record_and_cleared_on_leave():
    hub = Hub(Presence(ttl=60))
    ann = make(hub, ANN, Page("product", "1", "editing"))
    bob = Subscriber(BOB, "s2", ALL, 5)
    hub.add(bob)
    assert hub.watch(bob, Page("product", "1")) == [("product", "1")]
    pushed = drain(bob)
    assert '"name":"Ann","mode":"editing"' in str(pushed[-1])
    assert '"name":"Bob"' in str(drain(ann)[-1]), "Ann is told Bob arrived"
    assert hub.remove(bob) == [("product", "1")]
    assert '"Bob"' not in str(drain(ann)[-1]), "Ann is told Bob left"


def test_a_second_tab_gets_the_list_without_disturbing_the_others():
    hub = Hub(Presence(ttl=60))
    ann = make(hub, ANN, Page("product", "1"))
    bob = make(hub, BOB, Page("product", "1"))
    drain(ann)
    bob_again = Subscriber(BOB, "s2", ALL, 5)
    hub.add(bob_again)
    assert hub.watch(bob_again, Page("product", "1")) == [], "nothing changed for anyone"
    assert len(drain(bob_again)) == 1, "the new tab learns who is there"
    assert drain(ann) == [] and drain(bob) == []


def test_queue_waits_for_the_next_message():
    async def scenario() -> str | Closing:
        hub = Hub(Presence(ttl=60))
        subscriber = make(hub, page=Page("product"))
        waiter = asyncio.create_task(subscriber.next())
        await asyncio.sleep(0)  # let the waiter start waiting
        hub.deliver(change())
        return await asyncio.wait_for(waiter, 1)

    assert '"type":"change"' in str(asyncio.run(scenario()))
