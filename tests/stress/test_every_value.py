"""Every model, every value, every page: the registry walked the way administrators use it.

For each registered view, as a superuser and as a limited role, hypothesis fills in the
create and edit forms with what each control offers or accepts (`tests.values`), saves,
and then opens every page that shows the record: the list (plain, searched, sorted,
saved as a view named by a drawn value and opened), the detail page, the edit form, the conflict page, the CSV and Excel exports, and the
audit entry with its revert. The properties:

- nothing answers 5xx (a column header's filter, filled in with drawn values, included),
  and a form post is never a bare 400;
- a refused value is refused at a field, with a message;
- what was accepted reads back the same in the edit form;
- saving an edit form nobody touched changes nothing and writes no audit entry.

A model added to the registry is covered with no new test code. CI runs this at smoke
scale; `make stress` at full scale, with its figures in docs/reliability.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from admin_app.admin.registry import REGISTRY
from admin_app.auth.permissions import BASE_ACTIONS
from admin_app.db import table_of
from admin_app.main import create_app
from tests.conftest import seed_small
from tests.forms import Control, Form, fill_lazy_choices, header_filter_forms, read_form
from tests.helpers import create_admin, csrf_token, fetch, give_role, login, make_role
from tests.stress.report import Report, Scale
from tests.values import bundle, fillable, is_json_editor, password_pair, pick

LIMITED = "Limited editor"


def limited_codes() -> list[str]:
    """Every base permission but delete, on every registered view: no protected fields
    (product prices stay read-only), no custom actions, no superuser."""
    return [f"{view.key}:{a}" for view in REGISTRY for a in BASE_ACTIONS if a != "delete"]


@dataclass
class Tally:
    """What one view's run tried and saw."""

    posts: int = 0
    accepted: int = 0
    refused: int = 0
    pages: int = 0
    problems: list[str] = field(default_factory=list)


@pytest.fixture(params=["superuser", "limited"])
def who(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def browser_like(settings: Any, who: str) -> Iterator[TestClient]:
    """A signed-in client on a small demo store."""
    seed_small(settings)
    create_admin(settings, "root@example.com", superuser=True)
    email = "root@example.com"
    if who == "limited":
        make_role(settings, LIMITED, limited_codes())
        create_admin(settings, "limited@example.com", superuser=False)
        give_role(settings, "limited@example.com", LIMITED)
        email = "limited@example.com"
    with TestClient(create_app(settings)) as client:
        assert login(client, email).status_code == 303
        yield client


@pytest.mark.parametrize("view", REGISTRY, ids=lambda v: str(v.key))
def test_every_value_reads_back_or_is_refused_at_its_field(
    browser_like: TestClient, settings: Any, view: Any, who: str, scale: Scale, report: Report
) -> None:
    walker = Walker(browser_like, settings, str(view.key), table_of(view.model).name)
    tally = Tally()

    @settings_for(scale)
    @given(data=st.data())
    def one_user_session(data: st.DataObject) -> None:
        walker.visit(data, tally)

    one_user_session()
    walker.read_only_pages(tally)
    report.add(
        "Every model, every value",
        f"`{view.key}` as {who}: forms filled with drawn values, every page that shows them",
        tally.posts + tally.pages,
        f"{tally.accepted} saves accepted, {tally.refused} refused at a field, "
        f"{tally.pages} pages opened, {len(tally.problems)} problems",
        not tally.problems,
    )
    assert not tally.problems, "\n".join(tally.problems[:10])


def settings_for(scale: Scale) -> Any:
    return hypothesis_settings(
        max_examples=scale.value_examples,
        deadline=None,
        derandomize=scale.name == "smoke",
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.large_base_example,
            HealthCheck.data_too_large,
        ],
    )


class Walker:
    """One user's visits to one model's pages."""

    def __init__(self, client: TestClient, settings: Any, key: str, table: str) -> None:
        self.client = client
        self.settings = settings
        self.key = key
        self.table = table
        self.related: dict[str, list[str]] = {}

    # -- one example: create or edit, then every page showing the record ------------

    def visit(self, data: st.DataObject, tally: Tally) -> None:
        # Drawn first, whatever happens next: hypothesis replays a run's draws and calls
        # the strategy flaky when the same draws stop at another point, which the
        # database's state (a name taken by an earlier example) would otherwise make.
        kind = data.draw(st.sampled_from(["create", "edit", "untouched"]), label="kind")
        nth = data.draw(st.integers(0, 99), label="record, search and sort")
        if kind == "create":
            saved = self.create(data, tally)
        else:
            saved = self.edit(data, nth, tally, untouched=kind == "untouched")
        if kind == "untouched":  # a third of the examples: the list's header filters
            self.header_filters(data, tally)
        if saved is not None:
            pk, drawn = saved
            self.pages_of(pk, drawn, nth, tally)

    def create(self, data: st.DataObject, tally: Tally) -> tuple[str, dict[int, Any]] | None:
        page = self.client.get(f"/admin/{self.key}/create")
        if self.check_page(page, "create form", tally) != 200:
            return None
        form = fill_lazy_choices(read_form(page.text), self.client)
        drawn = self.draw(form, data, every=True)
        response = self.post(f"/admin/{self.key}/create", form, drawn)
        return self.outcome(response, form, drawn, tally)

    def edit(
        self, data: st.DataObject, nth: int, tally: Tally, *, untouched: bool
    ) -> tuple[str, dict[int, Any]] | None:
        pks = self.editable_pks()
        if not pks:
            return None
        pk = pks[nth % len(pks)]
        page = self.client.get(f"/admin/{self.key}/edit?pk={pk}")
        if self.check_page(page, "edit form", tally) != 200:
            return None
        form = fill_lazy_choices(read_form(page.text), self.client)
        if untouched:
            self.save_untouched(pk, form, tally)
            return None
        drawn = self.draw(form, data, every=False)
        version = self.version(pk)
        response = self.post(f"/admin/{self.key}/edit?pk={pk}", form, drawn)
        saved = self.outcome(response, form, drawn, tally)
        if saved is not None and self.version(pk) != version:  # someone else's save now
            self.conflict(pk, form, drawn, tally)
        return saved

    def save_untouched(self, pk: str, form: Form, tally: Tally) -> None:
        """Saving a form nobody touched changes nothing and logs nothing."""
        before = self.audit_count(pk)
        version = self.version(pk)
        response = self.post(f"/admin/{self.key}/edit?pk={pk}", form, {})
        tally.posts += 1
        if response.status_code != 303:
            tally.problems.append(
                f"{self.key} {pk}: saving the untouched edit form answered "
                f"{response.status_code}: {form_errors(response.text)}"
            )
            return
        if self.audit_count(pk) != before or self.version(pk) != version:
            changes = fetch(
                self.settings,
                "SELECT changes FROM audit_entry WHERE model = :m AND object_pk = :p "
                "ORDER BY id DESC LIMIT 1",
                m=self.table,
                p=pk,
            )
            tally.problems.append(
                f"{self.key} {pk}: saving the untouched form changed the record: {changes}"
            )

    # -- drawing values ----------------------------------------------------------------

    def draw(self, form: Form, data: st.DataObject, *, every: bool) -> dict[int, Any]:
        """Values for the form's controls, by index: all of them for a new record, a
        drawn few for an edit. Every draw has a fixed shape (see `tests.values.bundle`)."""
        drawn: dict[int, Any] = {}
        slots = [i for i, c in enumerate(form.controls) if fillable(c)]
        if not every and slots:
            picks = data.draw(st.lists(st.integers(0, 99), min_size=1, max_size=3), label="changed")
            slots = [slots[n % len(slots)] for n in picks]  # as many as drawn: a fixed shape
        for i in slots:
            control = form.controls[i]
            url = control.attrs.get("data-url")
            bundle_ = data.draw(bundle(), label=control.name)
            drawn[i] = pick(control, bundle_, self.lookup(url) if url else [])
        passwords = [i for i, c in enumerate(form.controls) if c.type == "password"]
        pair = data.draw(password_pair(), label="password")
        for i, value in zip(passwords, pair, strict=False):
            drawn[i] = value
        return drawn

    def lookup(self, url: str) -> list[str]:
        """A few records a relation picker offers (its own JSON endpoint)."""
        if url not in self.related:
            found = self.client.get(url, params={"limit": 5})
            items = found.json().get("items", []) if found.status_code == 200 else []
            pk = next(iter(items[0]), "id") if items else "id"
            self.related[url] = [str(item.get("id", item.get(pk))) for item in items]
        return self.related[url]

    def post(self, url: str, form: Form, drawn: dict[int, Any]) -> Any:
        pairs: list[tuple[str, str]] = [("_continue_editing", "")]
        for i, control in enumerate(form.controls):
            if control.name == "csrftoken":
                continue
            value = drawn[i] if i in drawn else _untouched(control)
            pairs.extend((control.name, str(v)) for v in _as_list(control, value))
        pairs.append(("csrftoken", csrf_token(self.client)))
        return self.client.post(
            url,
            content=_multipart(pairs),
            headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"},
            follow_redirects=False,
        )

    # -- what came back ----------------------------------------------------------------

    def outcome(
        self, response: Any, form: Form, drawn: dict[int, Any], tally: Tally
    ) -> tuple[str, dict[int, Any]] | None:
        tally.posts += 1
        status = response.status_code
        if status == 303:
            tally.accepted += 1
            pk = re.search(r"[?&]pk=([^&]+)", response.headers["location"])
            if pk is None:
                tally.problems.append(f"{self.key}: a save redirected to {response.headers}")
                return None
            self.reads_back(pk.group(1), form, drawn, tally)
            return pk.group(1), drawn
        if status in (422, 200) and form_errors(response.text):
            tally.refused += 1
            return None
        tally.problems.append(
            f"{self.key}: a form post with {self.describe(form, drawn)} answered {status} "
            f"without a message at a field: {response.text[:300]!r}"
        )
        return None

    def reads_back(self, pk: str, form: Form, drawn: dict[int, Any], tally: Tally) -> None:
        page = self.client.get(f"/admin/{self.key}/edit?pk={pk}")
        if self.check_page(page, "edit form after saving", tally) != 200:
            return
        again = read_form(page.text)
        rearranged = _rearranged_rows(form, drawn)
        for i, value in drawn.items():
            control = form.controls[i]
            if control.type == "password" or control.name not in again.names():
                continue
            if control.name.startswith(rearranged):
                continue  # child rows moved or removed: compared by their place no more
            now = again.control(control.name)
            if now.type == "checkbox" and now.value not in ("", "on"):
                continue  # a group of boxes sharing a name: compared as a set below
            blank_took_default = value == "" and same(control, _untouched(control), _untouched(now))
            if _held_for_confirmation(control, value, again):
                continue  # a new email waits for its owner's confirmation (`pending_email`)
            if not same(control, value, _untouched(now)) and not blank_took_default:
                tally.problems.append(
                    f"{self.key} {pk}: {control.name} was saved as {value!r:.80} "
                    f"but reads back as {_untouched(now)!r:.80}"
                )
        self.group_reads_back(pk, form, drawn, again, tally)

    def group_reads_back(
        self, pk: str, form: Form, drawn: dict[int, Any], again: Form, tally: Tally
    ) -> None:
        groups: dict[str, set[str]] = {}
        rearranged = _rearranged_rows(form, drawn)
        for i, control in enumerate(form.controls):
            if control.name.startswith(rearranged):
                continue
            if control.type == "checkbox" and control.value not in ("", "on"):
                ticked = drawn.get(i, control.checked)
                if ticked:
                    groups.setdefault(control.name, set()).add(control.value)
                else:
                    groups.setdefault(control.name, set())
        for name, wanted in groups.items():
            have = {c.value for c in again.controls if c.name == name and c.checked}
            if have != wanted:
                tally.problems.append(f"{self.key} {pk}: {name} saved {wanted} read {have}")

    def conflict(self, pk: str, form: Form, drawn: dict[int, Any], tally: Tally) -> None:
        """The same stale form saved again: a 409 page, never an error."""
        if "_version" not in form.names():
            return
        response = self.post(f"/admin/{self.key}/edit?pk={pk}", form, drawn)
        tally.pages += 1
        if response.status_code != 409:
            tally.problems.append(
                f"{self.key} {pk}: a stale form answered {response.status_code}, not 409"
            )

    def pages_of(self, pk: str, drawn: dict[int, Any], nth: int, tally: Tally) -> None:
        """Every page that shows the record."""
        words = [v for v in drawn.values() if isinstance(v, str) and v.strip()]
        term = words[nth % len(words)] if words else ""
        sorts = self.sortable()
        sort = sorts[nth % len(sorts)] if sorts else None
        urls = [
            f"/admin/{self.key}/list",
            f"/admin/{self.key}/detail?pk={pk}",
            f"/admin/{self.key}/edit?pk={pk}",
        ]
        for url in urls:
            self.check_page(self.client.get(url), url, tally)
        self.check_page(
            self.client.get(f"/admin/{self.key}/list", params={"q": term[:30]}), "search", tally
        )
        if sort:
            for direction in ("asc", "desc"):
                params = {"sort": f"{sort}__{direction}"}
                listing = self.client.get(f"/admin/{self.key}/list", params=params)
                self.check_page(listing, f"list sorted by {sort}", tally)
        self.saved_view(term, sort, tally)
        self.exports(tally)
        self.audit(pk, tally)

    def header_filters(self, data: st.DataObject, tally: Tally) -> None:
        """Each column header's filter (admin_app/admin/header_filters.py) filled in with
        drawn values and applied, as its form sends them, then the list it leads to."""
        page = self.client.get(f"/admin/{self.key}/list")
        for form in header_filter_forms(page.text, self.client):
            name = form.control("hf").value
            drawn = data.draw(bundle(), label=f"header filter {name}")
            changes = {c.name: pick(c, drawn) for c in form.controls if fillable(c)}
            listing = self.client.get(form.action, params=form.with_values(changes))
            self.check_page(listing, f"list filtered by its {name} header", tally)

    def saved_view(self, term: str, sort: str | None, tally: Tally) -> None:
        """The searched and sorted list saved as a view named by the drawn value, opened,
        and the drawn value remembered as the list's columns and page size."""
        state = {"q": term[:30], **({"sort": f"{sort}__desc"} if sort else {})}
        made = self.client.post(
            f"/admin/_api/saved-views/{self.key}",
            data={
                "name": term[:120],
                "query": urlencode(state),
                "csrftoken": csrf_token(self.client),
            },
        )
        if self.check_page(made, "saved view", tally) == 200:
            self.check_page(self.client.get(made.json()["url"]), "saved view opened", tally)
        remembered = self.client.post(
            f"/admin/_api/saved-views/{self.key}/remember",
            data={"cols": term, "page_size": term, "csrftoken": csrf_token(self.client)},
        )
        self.check_page(remembered, "columns remembered", tally)
        self.check_page(self.client.get(f"/admin/{self.key}/list"), "list, remembered", tally)

    def read_only_pages(self, tally: Tally) -> None:
        """Views nobody edits (sessions, the audit log, the outbox): their pages for the
        rows the run produced."""
        self.check_page(self.client.get(f"/admin/{self.key}/list"), "list", tally)
        for pk in self.editable_pks(limit=10, any_row=True):
            self.check_page(
                self.client.get(f"/admin/{self.key}/detail?pk={pk}"), f"detail {pk}", tally
            )
        for sort in self.sortable():
            listing = self.client.get(f"/admin/{self.key}/list", params={"sort": f"{sort}__asc"})
            self.check_page(listing, f"list sorted by {sort}", tally)
        self.exports(tally)

    def exports(self, tally: Tally) -> None:
        for fmt in ("csv", "xlsx"):
            response = self.client.post(
                f"/admin/_api/{self.key}/action",
                params={"name": "export"},
                data={"scope": "all", "format": fmt, "csrftoken": csrf_token(self.client)},
            )
            self.check_page(response, f"{fmt} export", tally)

    def audit(self, pk: str, tally: Tally) -> None:
        entries = fetch(
            self.settings,
            "SELECT id, action FROM audit_entry WHERE model = :m AND object_pk = :p "
            "ORDER BY id DESC LIMIT 1",
            m=self.table,
            p=pk,
        )
        if not entries:
            return
        entry = entries[0][0]
        self.check_page(
            self.client.get(f"/admin/audit-entry/detail?pk={entry}"), "audit entry", tally
        )
        reverted = self.client.post(
            "/admin/_api/audit-entry/row-action",
            params={"name": "revert", "pk": entry},
            headers={"X-CSRFToken": csrf_token(self.client)},
        )
        self.check_page(reverted, "revert", tally)

    # -- helpers -----------------------------------------------------------------------

    def check_page(self, response: Any, what: str, tally: Tally) -> int:
        tally.pages += 1
        status = int(response.status_code)
        if status >= 500:
            tally.problems.append(f"{self.key}: {what} answered {status}")
        elif "&lt;td" in response.text:
            tally.problems.append(f"{self.key}: {what} shows escaped table markup")
        return status

    def editable_pks(self, limit: int = 8, any_row: bool = False) -> list[str]:
        """Some of the model's rows the user may open, from its own list page; never the
        signed-in account nor the role that lets the test in."""
        page = self.client.get(f"/admin/{self.key}/list")
        pks = re.findall(r'data-sa-pk="([^"]+)"', page.text)[:limit]
        if any_row:
            return pks
        mine = {
            str(r[0])
            for r in fetch(
                self.settings,
                "SELECT id FROM admin_user WHERE email = 'limited@example.com' "
                "UNION SELECT id FROM role WHERE name = :n",
                n=LIMITED,
            )
        }
        return [pk for pk in pks if not (self.key in ("admin-user", "role") and pk in mine)]

    def sortable(self) -> list[str]:
        page = self.client.get(f"/admin/{self.key}/list")
        return sorted(set(re.findall(r"[?&;]sort=([a-z_]+)__(?:asc|desc)", page.text)))

    def audit_count(self, pk: str) -> int:
        return int(
            fetch(
                self.settings,
                "SELECT count(*) FROM audit_entry WHERE model = :m AND object_pk = :p",
                m=self.table,
                p=pk,
            )[0][0]
        )

    def version(self, pk: str) -> Any:
        try:
            return fetch(self.settings, f"SELECT version FROM {self.table} WHERE id = :p", p=pk)
        except Exception:  # a table without a version column
            return None

    def describe(self, form: Form, drawn: dict[int, Any]) -> str:
        return ", ".join(f"{form.controls[i].name}={v!r:.40}" for i, v in drawn.items())


BOUNDARY = "----property-test-boundary"


def _multipart(pairs: list[tuple[str, str]]) -> bytes:
    """The body a browser sends for the form (every control a text part)."""
    parts = []
    for name, value in pairs:
        parts.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        )
    parts.append(f"--{BOUNDARY}--\r\n")
    return "".join(parts).encode()


def _held_for_confirmation(control: Control, value: Any, again: Form) -> bool:
    """Whether `value` was taken as a change that waits for confirmation: the form read
    back shows it in `pending_<name>` (an account's new email address)."""
    pending = f"pending_{control.name}"
    if pending not in again.names():
        return False
    return same(control, value, _untouched(again.control(pending)))


def _untouched(control: Control) -> Any:
    """What the control holds as the page was served (the value for `same`)."""
    if control.type == "checkbox":
        return control.checked
    if control.tag == "select":
        submitted = control.submitted() or []
        return submitted if control.multiple else (submitted[0] if submitted else "")
    return control.value


def _as_list(control: Control, value: Any) -> list[Any]:
    """The form entries a control sends for `value`."""
    if control.type == "checkbox":
        return [control.value or "on"] if value else []
    if isinstance(value, list):
        return value
    if control.type in ("file",):
        return []
    return [value]


def same(control: Control, sent: Any, read: Any) -> bool:
    """Whether a saved value reads back as what was sent, as the user would see it."""
    if control.type == "checkbox":
        return bool(sent) == bool(read)
    if isinstance(sent, list) or isinstance(read, list):
        return sorted(map(str, _as_seq(sent))) == sorted(map(str, _as_seq(read)))
    sent, read = str(sent), str(read)
    if is_json_editor(control):
        return _json(sent) == _json(read)
    if control.type == "number":
        return _number(sent) == _number(read)
    if control.type == "datetime-local":
        return _moment(sent) == _moment(read)
    if not sent.strip():  # only spaces: nothing
        return read == ""
    if control.tag == "textarea":  # kept as typed
        return sent.replace("\r\n", "\n") == read.replace("\r\n", "\n")
    return sent.strip() == read  # a single line loses surrounding spaces


def _as_seq(value: Any) -> list[Any]:
    return value if isinstance(value, list) else ([value] if value not in ("", None) else [])


def _json(text: str) -> Any:
    try:
        value = json.loads(text) if text.strip() else {}
    except ValueError:
        return text
    return {} if value is None else value


def _number(text: str) -> Any:
    try:
        return Decimal(text) if text.strip() else None
    except InvalidOperation:
        return text


def _moment(text: str) -> str:
    return text if len(text) != 16 else text + ":00"


def form_errors(html: str) -> list[str]:
    """The messages a refused form shows at its fields (and above it)."""
    messages = re.findall(r'class="invalid-feedback"[^>]*>\s*(.*?)\s*</div>', html, re.S)
    messages += re.findall(r'class="alert alert-danger" role="alert">\s*(.*?)\s*</div>', html, re.S)
    return [m for m in messages if m.strip()]


def _rearranged_rows(form: Form, drawn: dict[int, Any]) -> tuple[str, ...]:
    """The name prefixes (`inlines.order-line.`) of the child tables whose rows the
    example moved or removed: a row ticked for removal is gone, and a drawn place
    sorts the rows and is renumbered 1, 2, 3... on save, so the rows' names no longer
    pair with what was sent."""
    rearranged = set()
    for i, control in enumerate(form.controls):
        row, _, name = control.name.rpartition(".")
        moved = name == "position" and i in drawn
        removed = name == "DELETE" and bool(drawn.get(i, control.checked))
        if row.startswith("inlines.") and (moved or removed):
            rearranged.add(row.rpartition(".")[0] + ".")
    return tuple(rearranged)
