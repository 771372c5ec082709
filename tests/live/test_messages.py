"""Messages: batching many changes into few, and payloads PostgreSQL accepts."""

from __future__ import annotations

import json

import pytest

from admin_app.live.messages import (
    MAX_PAYLOAD,
    Actor,
    Change,
    coalesce,
    pack,
    parse_viewers,
    unpack,
)

ANN = Actor(1, "Ann")


def deleted(*pks: str, user: Actor = ANN, model: str = "product") -> Change:
    return Change(model, pks, "deleted", user, "2026-01-01T00:00:00+00:00")


def test_a_batch_becomes_one_change_per_model_action_and_user():
    changes = [deleted(str(n)) for n in range(100)] + [deleted("1", user=Actor(2, "Bob"))]
    merged = coalesce(changes)
    assert [len(c.pks) for c in merged] == [100, 1]


def test_repeated_keys_are_listed_once():
    assert coalesce([deleted("1"), deleted("1"), deleted("2")])[0].pks == ("1", "2")


def test_a_huge_batch_is_split_into_messages_that_fit_a_notify():
    merged = coalesce(deleted(f"{n:012d}") for n in range(5000))
    assert sum(len(c.pks) for c in merged) == 5000
    payloads = list(pack("node-a", [c.to_json() for c in merged]))
    assert all(len(p.encode()) < MAX_PAYLOAD for p in payloads)
    received = [m for p in payloads for m in unpack(p)[1]]  # type: ignore[index]
    assert sum(len(m["pks"]) for m in received) == 5000, "nothing lost in packing"


def test_non_ascii_names_are_measured_in_bytes():
    name = "Zoë Ångström 😀" * 6
    messages = [
        Change("product", (str(n),), "updated", Actor(n, name), "t").to_json() for n in range(200)
    ]
    assert all(len(p.encode()) < MAX_PAYLOAD for p in pack("n", messages))


@pytest.mark.parametrize("payload", ["", "not json", "[]", '{"node": 1, "m": []}', '{"node": "a"}'])
def test_foreign_payloads_are_ignored(payload):
    assert unpack(payload) is None


@pytest.mark.parametrize(
    "data",
    [
        {"model": "p", "pks": [1], "action": "deleted", "user": {"id": 1, "name": "A"}, "at": "t"},
        {
            "model": "p",
            "pks": ["1"],
            "action": "dropped",
            "user": {"id": 1, "name": "A"},
            "at": "t",
        },
        {"model": "p", "pks": ["1"], "action": "deleted", "user": {"id": "1"}, "at": "t"},
    ],
)
def test_malformed_changes_from_other_processes_are_refused(data):
    with pytest.raises(ValueError, match="not a change"):
        Change.from_json(data)


def test_changes_survive_the_round_trip():
    change = deleted("1", "2")
    assert Change.from_json(json.loads(json.dumps(change.to_json()))) == change


def test_viewers_are_checked():
    assert parse_viewers([[1, "Ann", "editing"]])[0].mode == "editing"
    with pytest.raises(ValueError, match="not a viewer"):
        parse_viewers([[1, "Ann", "owning"]])
