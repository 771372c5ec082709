"""What a bulk edit will do: its rows, its values, and each row's version as the preview saw it.

The rows are the user's selection, or every row matching the list's search and
filters (`list_query`, the list page's own query string, so a saved view is covered
too), always through the view's scoped list query: rows outside the user's row scope
are simply not there. Rows that already hold the values are counted and left alone.

The plan is kept on disk (`data_dir/bulk_edits/<token>/`) between the preview and the
apply, so that any process can apply it and a 100,000-row selection costs no memory
between two requests; only its owner (or a superuser) may use it. Plans (and their
results) older than `KEPT_DAYS` are removed when a new one is saved.
"""

from __future__ import annotations

import pickle
import re
import secrets
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Select, inspect, select
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette_admin.i18n import gettext

from admin_app.admin import compat
from admin_app.admin.base import AppModelView
from admin_app.admin.saved_views.opening import PLAIN
from admin_app.admin.saved_views.state import has_state
from admin_app.auth.identity import current_identity
from admin_app.db import utcnow
from admin_app.languages import format_number
from admin_app.settings import Settings
from admin_app.state import get_session

SAMPLE = 10
"""Rows the preview shows before and after."""

_TOKEN = re.compile(r"[0-9a-f]{32}")


class PlanError(Exception):
    """The bulk edit cannot go on; the message says why, for the user."""


@dataclass(frozen=True)
class Selection:
    """Which rows: the keys checked on the list, or (`pks` None) every row the list's
    query string matches."""

    pks: tuple[str, ...] | None = None
    list_query: str = ""

    def describe(self) -> str:
        if self.pks is not None:
            return gettext("%(count)s selected row(s)") % {"count": format_number(len(self.pks))}
        if self.list_query.strip("?"):
            return gettext("every row matching the list")
        return gettext("every row")


@dataclass
class Plan:
    """A previewed bulk edit, as the apply needs it."""

    model: str
    user_id: int | None
    values: dict[str, Any]
    selection: Selection
    pks: list[Any] = field(default_factory=list)
    """The rows to change (those not already holding the values), in key order."""
    versions: list[int] | None = None
    """Each row's version at the preview, for versioned models."""
    matched: int = 0
    """Rows the selection matched within the user's scope, unchanged ones included."""
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    created_at: str = field(default_factory=lambda: utcnow().isoformat())

    @property
    def unchanged(self) -> int:
        return self.matched - len(self.pks)


def pk_column(view: AppModelView) -> Any:
    """The view's single-column key (bulk edit needs one)."""
    column = compat.pk_column(view)
    if isinstance(column, tuple):
        raise PlanError(gettext("Bulk edit needs a single-column primary key."))
    return column


def is_versioned(view: AppModelView) -> bool:
    return inspect(view.model).version_id_col is not None


async def matching(view: AppModelView, request: Request, selection: Selection) -> Select[Any]:
    """The scoped query of the selected rows (not ordered)."""
    if selection.pks is None:
        query = QueryParams(selection.list_query.lstrip("?"))
        if query.get("view") not in (None, "", PLAIN) and not has_state(query):
            # A saved view's bare link: its filters are in the URL it redirects to.
            raise PlanError(gettext("Open the saved view first, then choose its rows."))
        params = compat.parse_list_params(view, request, query)
        return await view.filtered_query(request, params.q, params.filters)
    keys = [view.coerce_pk(pk) for pk in selection.pks]
    if any(key is None for key in keys):
        raise PlanError(gettext("The selection names rows that cannot exist."))
    return view.get_list_query(request).where(pk_column(view).in_(keys))


async def make_plan(
    view: AppModelView, request: Request, selection: Selection, values: dict[str, Any]
) -> Plan:
    """Find the rows and their versions now; those already holding `values` are left out."""
    pk = pk_column(view)
    versioned = is_versioned(view)
    columns = [pk, *([view.model.version] if versioned else [])]  # type: ignore[attr-defined]
    columns += [getattr(view.model, name) for name in values]
    # The keys the list matches (a join of its search may repeat one), then each row once.
    keys = (await matching(view, request, selection)).with_only_columns(
        pk, maintain_column_froms=True
    )
    query = select(*columns).where(pk.in_(keys)).order_by(pk)
    rows = (await get_session(request).execute(query)).all()
    wanted = list(values.values())
    start = 2 if versioned else 1
    changing = [row for row in rows if list(row[start:]) != wanted]
    user = current_identity(request)
    return Plan(
        model=str(view.key),
        user_id=user.id if user is not None else None,
        values=values,
        selection=selection,
        pks=[row[0] for row in changing],
        versions=[int(row[1]) for row in changing] if versioned else None,
        matched=len(rows),
    )


def folder(settings: Settings, token: str) -> Path:
    """Where plan `token` is kept; a `PlanError` for a token that cannot be one."""
    if not _TOKEN.fullmatch(token):
        raise PlanError(gettext("There is no such bulk edit."))
    return settings.data_dir / "bulk_edits" / token


KEPT_DAYS = 7
"""Days a plan and its result are kept; older ones go when a new plan is saved."""


def save(settings: Settings, plan: Plan) -> None:
    """Keep the plan for its preview and apply (and forget plans past `KEPT_DAYS`)."""
    _prune(settings.data_dir / "bulk_edits")
    path = folder(settings, plan.token)
    path.mkdir(parents=True, exist_ok=True)
    temporary = path / "plan.pickle.tmp"
    temporary.write_bytes(pickle.dumps(plan, protocol=pickle.HIGHEST_PROTOCOL))
    temporary.replace(path / "plan.pickle")


def load(settings: Settings, token: str, user_id: int | None, superuser: bool) -> Plan:
    """The plan `token`, if this user made it (or is a superuser)."""
    path = folder(settings, token) / "plan.pickle"
    try:
        plan: Plan = pickle.loads(path.read_bytes())  # noqa: S301 - our own file, never an upload
    except (OSError, pickle.UnpicklingError, EOFError):
        raise PlanError(gettext("There is no such bulk edit.")) from None
    if plan.user_id != user_id and not superuser:
        raise PlanError(gettext("There is no such bulk edit."))
    return plan


def _prune(root: Path) -> None:
    if not root.is_dir():
        return
    oldest = time.time() - KEPT_DAYS * 86_400
    for path in root.iterdir():
        try:
            if path.is_dir() and path.stat().st_mtime < oldest:
                shutil.rmtree(path)
        except OSError:  # another process pruned it first
            continue
