"""Bulk edit never fails, whatever is chosen: the registry walked as the "every page whole" tests do.

For every registered view, as a superuser and as a limited role (every base permission
but delete, so no protected field), the bulk edit of a few rows is opened, and for every
field it offers, every option the field's control offers (blank included) is previewed
and applied, and hypothesis draws what a person could type or tick into it
(`tests.values`), previewed and sometimes applied. The properties: no 5xx anywhere; a
refused value is refused at its field, with a message; a view that offers no bulk
edit refuses it with a 403, and its list's action with a message.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from admin_app.admin.registry import REGISTRY
from admin_app.db import table_of
from admin_app.main import create_app
from tests.bulk_edit.helpers import open_form, post_pairs, the_form
from tests.conftest import seed_small
from tests.forms import Control, Form, fill_lazy_choices
from tests.helpers import create_admin, csrf_token, fetch, give_role, login, make_role
from tests.stress.test_every_value import LIMITED, limited_codes
from tests.values import bundle, pick


@pytest.fixture(params=["superuser", "limited"])
def signed_in(request: pytest.FixtureRequest, settings: Any) -> Iterator[TestClient]:
    seed_small(settings)
    create_admin(settings, "root@example.com", superuser=True)
    email = "root@example.com"
    if request.param == "limited":
        make_role(settings, LIMITED, limited_codes())
        create_admin(settings, "limited@example.com", superuser=False)
        give_role(settings, "limited@example.com", LIMITED)
        email = "limited@example.com"
    with TestClient(create_app(settings)) as client:
        assert login(client, email).status_code == 303
        yield client


@pytest.mark.parametrize("view", REGISTRY, ids=lambda v: str(v.key))
def test_bulk_edit_of_every_field_and_value_answers_without_failing(
    signed_in: TestClient, settings: Any, view: Any
) -> None:
    client, key = signed_in, str(view.key)
    rows = fetch(settings, f"SELECT id FROM {table_of(view.model).name} ORDER BY id LIMIT 3")
    pks = [r[0] for r in rows] or [1]
    page = open_form(client, key, pks=pks)
    if page.status_code != 200:  # no bulk edit here: refused by the action, and by the page
        assert page.status_code == 400 and page.json()["msg"], f"{key}: {page.text[:200]}"
        assert client.get(f"/admin/{key}/bulk-edit?pks={pks[0]}").status_code == 403
        return
    form = fill_lazy_choices(the_form(page), client)
    offered = [c.value for c in form.controls if c.name == "fields"]
    assert offered, f"{key}: a bulk edit form with no field"
    walk = Walk(client, key, str(page.url).split("?")[0], form)
    for name in offered:
        control = next(c for c in form.controls if c.name == name)
        for value in _options(control):  # the options a choice offers, blank too
            walk.attempt(name, [value], apply=True)
        walk.typed(name, control)


EXAMPLES = hypothesis_settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _options(control: Control) -> list[str]:
    """Every option of a short choice; of a long one (countries), the blank one and the
    first and last few (hypothesis draws among the rest)."""
    values = [value for value, _label in control.options]
    if len(values) <= 12:
        return values
    return list(dict.fromkeys(["", *values[:5], *values[-5:]]))


def _value(control: Control, drawn: dict[str, Any]) -> list[str]:
    """What a person could put into the control (nothing: an unticked box)."""
    if control.type == "checkbox":
        return [control.value or "on"] if drawn["bool"] else []
    picked = pick(control, drawn)
    return [str(v) for v in picked] if isinstance(picked, list) else [str(picked)]


class Walk:
    """Bulk edits of one view's rows, checked as they are answered."""

    def __init__(self, client: TestClient, key: str, url: str, form: Form) -> None:
        self.client, self.key, self.url, self.form = client, key, url, form

    def typed(self, name: str, control: Control) -> None:
        """What hypothesis draws for a person to type or tick into `control`."""

        @EXAMPLES
        @given(drawn=bundle(), apply=st.booleans())
        def one(drawn: dict[str, Any], apply: bool) -> None:
            self.attempt(name, _value(control, drawn), apply)

        one()

    def attempt(self, name: str, values: list[str], apply: bool) -> None:
        kept = [(n, v) for n, v in self.form.submission() if n not in ("fields", name)]
        posted = [*kept, ("fields", name), *((name, value) for value in values)]
        answer = post_pairs(self.client, self.url, posted)
        where = f"{self.key}.{name}={values!r}"
        assert answer.status_code < 500, f"{where}: {answer.status_code} {answer.text[:300]}"
        if answer.status_code == 400:
            assert re.search(r'class="invalid-feedback[^"]*"[^>]*>\s*\S', answer.text) or (
                "alert-danger" in answer.text
            ), f"{where}: refused without a message at the field"
            return
        assert answer.status_code == 200 and 'data-bulk-edit="preview"' in answer.text, (
            f"{where}: {answer.status_code} {answer.text[:300]}"
        )
        if not apply:
            return
        token = re.search(r"/bulk-edit/([0-9a-f]{32})", str(answer.url))
        assert token, where
        done = self.client.post(
            f"/admin/{self.key}/bulk-edit/{token.group(1)}",
            data={"csrftoken": csrf_token(self.client)},
        )
        assert done.status_code == 200 and 'data-bulk-edit="result"' in done.text, (
            f"{where}: the apply answered {done.status_code}: {done.text[:300]}"
        )
        assert 'data-status="failed"' not in done.text, f"{where}: {done.text[-800:]}"
