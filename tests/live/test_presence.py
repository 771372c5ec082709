"""Presence merged across processes, forgotten when a process goes quiet."""

from __future__ import annotations

from admin_app.live.messages import Viewer
from admin_app.live.presence import MAX_VIEWERS, Presence, summarize

RECORD = ("product", "1")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_one_entry_per_person_editing_wins():
    people = summarize(
        [Viewer(1, "Ann", "viewing"), Viewer(1, "Ann", "editing"), Viewer(2, "Bob", "viewing")]
    )
    assert people == (Viewer(1, "Ann", "editing"), Viewer(2, "Bob", "viewing"))
    assert len(summarize(Viewer(n, f"U{n}", "viewing") for n in range(500))) == MAX_VIEWERS


def test_local_and_remote_viewers_merge_and_remote_ones_expire():
    clock = Clock()
    presence = Presence(ttl=60, clock=clock)
    assert presence.enter("socket-1", RECORD, Viewer(1, "Ann", "viewing"))
    assert presence.announce("node-b", RECORD, (Viewer(2, "Bob", "editing"),))
    assert [v.name for v in presence.merged(RECORD)] == ["Ann", "Bob"]
    assert [v.name for v in presence.local(RECORD)] == ["Ann"], "only ours are announced"
    clock.now += 59
    assert presence.expire() == []
    clock.now += 2
    assert presence.expire() == [RECORD], "a process that stopped repeating itself is forgotten"
    assert [v.name for v in presence.merged(RECORD)] == ["Ann"]


def test_an_empty_announcement_removes_that_process():
    presence = Presence(ttl=60)
    presence.announce("node-b", RECORD, (Viewer(2, "Bob", "viewing"),))
    assert presence.announce("node-b", RECORD, ())
    assert presence.merged(RECORD) == ()


def test_a_second_tab_of_the_same_person_changes_nothing_visible():
    presence = Presence(ttl=60)
    assert presence.enter("tab-1", RECORD, Viewer(1, "Ann", "viewing"))
    assert not presence.enter("tab-2", RECORD, Viewer(1, "Ann", "viewing"))
    assert not presence.leave("tab-1", RECORD), "Ann is still there in her other tab"
    assert presence.leave("tab-2", RECORD)
    assert presence.local_records() == []
