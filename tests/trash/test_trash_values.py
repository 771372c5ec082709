"""Every trash page and form of every trashable model in the registry, with any value a
hand-made request could send: never a 5xx, and a refused POST changes nothing.

For each trashable view, as a superuser and as a role that may delete but not purge,
hypothesis draws the list's position and search parameters, selections (keys in the
trash, live keys, keys that cannot be keys, odd text), batches and new unique values,
and sends them to the trash page, both confirmation pages and both POSTs. A model made
trashable later is walked with no new test code.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import inspect, select, update
from starlette.testclient import TestClient

from admin_app.admin.lists import keyset
from admin_app.admin.registry import REGISTRY
from admin_app.db import table_of, utcnow
from admin_app.main import create_app
from admin_app.settings import Settings
from admin_app.trash.service import is_trashable
from tests.conftest import seed_small
from tests.helpers import create_admin, csrf_token, fetch, give_role, login, make_role, run
from tests.values import ODD_TEXT

TRASHABLE = [view for view in REGISTRY if is_trashable(view.model)]
POOL = 4
"""Records of the model put in the trash before each example."""


@pytest.fixture(params=["superuser", "deleter"])
def signed_in(request: pytest.FixtureRequest, settings: Settings) -> Iterator[TestClient]:
    """A small store, and a client signed in as a superuser or as a role holding view and
    delete (not purge) on every trashable model."""
    seed_small(settings)
    email = "root@example.com"
    create_admin(settings, email, superuser=True)
    if request.param == "deleter":
        codes = [f"{v.key}:{a}" for v in TRASHABLE for a in ("view", "delete")]
        make_role(settings, "Deleter", codes)
        email = "deleter@example.com"
        create_admin(settings, email, superuser=False)
        give_role(settings, email, "Deleter")
    with TestClient(create_app(settings)) as client:
        assert login(client, email).status_code == 303
        yield client


def _to_trash(settings: Settings, model: Any) -> list[str]:
    """Put the first `POOL` records of `model` in the trash (again); their keys."""

    async def work(db: Any) -> list[str]:
        pk = inspect(model).primary_key[0]
        rows = select(pk).order_by(pk).limit(POOL).execution_options(include_trashed=True)
        pks = list((await db.scalars(rows)).all())
        values = {"deleted_at": utcnow(), "trash_batch": "fuzzbatch"}
        await db.execute(update(model).where(pk.in_(pks)).values(**values))
        return [str(key) for key in pks]

    return list(run(settings, work))


def _to_trash_keys(settings: Settings, table: str) -> set[str]:
    return {
        str(r[0]) for r in fetch(settings, f"SELECT id FROM {table} WHERE deleted_at IS NOT NULL")
    }


def _state(settings: Settings, table: str) -> list[Any]:
    return fetch(settings, f"SELECT id, deleted_at IS NULL, version FROM {table} ORDER BY id")


def _values(pks: list[str]) -> st.SearchStrategy[str]:
    tokens = [keyset.encode(["2026-01-01T00:00:00+00:00", 1]), keyset.encode([1, "x"])]
    odd = ["x", "-1", "0", "1.5", "99999999999", "2147483648", "\x00", *ODD_TEXT]
    text = st.text(max_size=30)
    return st.one_of(st.sampled_from(pks or ["1"]), st.sampled_from(odd + tokens), text)


def _params(data: st.DataObject, pks: list[str], names: list[str]) -> list[tuple[str, str]]:
    chosen = data.draw(st.lists(st.sampled_from(names), max_size=5), label="names")
    return [(name, data.draw(_values(pks), label=name)) for name in chosen]


FORM = {"content-type": "application/x-www-form-urlencoded"}
SELECTION = ["pks", "pks", "page_pks", "all_on_page", "batch"]
PAGE = ["q", "after", "before", "last", "page", "page_size", "sort"]


@pytest.mark.parametrize("view", TRASHABLE, ids=lambda v: str(v.key))
def test_no_value_makes_a_trash_page_fail(signed_in: TestClient, settings: Settings, view: Any):
    client, key, table = signed_in, str(view.key), table_of(view.model).name
    unique = [*getattr(view, "unique_fields", ()), *getattr(view, "case_insensitive_unique", ())]

    @hypothesis_settings(
        max_examples=20,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def one_visit(data: st.DataObject) -> None:
        pks = _to_trash(settings, view.model)
        page = client.get(f"/admin/{key}/trash", params=_params(data, pks, PAGE))
        assert page.status_code < 500, f"the trash page answered {page.status_code}"
        route = data.draw(st.sampled_from(["restore", "purge"]), label="route")
        chosen = _params(data, pks, SELECTION)
        confirm = client.get(f"/admin/{key}/trash/{route}", params=chosen)
        assert confirm.status_code < 500, f"{route} page {chosen!r}: {confirm.status_code}"
        fields = [(f"{name}-{pk}", data.draw(_values(pks))) for name in unique for pk in pks[:2]]
        before = _state(settings, table)
        form = urlencode([*chosen, *fields, ("csrftoken", csrf_token(client))])
        done = client.post(f"/admin/{key}/trash/{route}", content=form, headers=FORM)
        assert done.status_code < 500, f"{route} of {form!r} answered {done.status_code}"
        if done.status_code >= 400:
            assert _state(settings, table) == before, f"a refused {route} changed {table}"

    one_visit()
    # Not a walk of refusals only: most drawn selections are refused (a forged key, no
    # purge permission), and which few succeed depends on the draws; a plain restore of
    # one trashed record must.
    pks = _to_trash(settings, view.model)
    form = urlencode([("pks", pks[0]), ("csrftoken", csrf_token(client))])
    done = client.post(f"/admin/{key}/trash/restore", content=form, headers=FORM)
    assert done.status_code == 200, f"restoring {key} {pks[0]} answered {done.status_code}"
    assert pks[0] not in _to_trash_keys(settings, table), f"{key} {pks[0]} is still in the trash"
