"""What a list says in words, in the viewer's language: a total ("about 1,000,000",
"environ 1 000 000") and the line under the table ("Showing 26 to 50 of 1,234 entries").

Kept out of the list engine (`admin_app.admin.lists`), which fetches and draws rows: the
wording and its translations change for other reasons. It reads the engine's values by
their shape (`Counted`, `Paged`), so it imports nothing of the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from starlette_admin.i18n import gettext

from admin_app.languages import format_number


class Counted(Protocol):
    """A number of rows and how sure it is (`admin_app.admin.lists.counting.RowCount`)."""

    @property
    def value(self) -> int: ...
    @property
    def estimated(self) -> bool: ...
    @property
    def at_least(self) -> bool: ...


class Paged(Protocol):
    """A page of a list (`admin_app.admin.lists.query.ListPage`)."""

    @property
    def items(self) -> Sequence[Any]: ...
    @property
    def total(self) -> Counted: ...
    @property
    def start(self) -> int | None: ...


def total_text(total: Counted) -> str:
    """ "1,234", "about 1,000,000" or "more than 10,000", as the language writes it."""
    number = format_number(total.value)
    if total.at_least:
        return gettext("more than %(count)s") % {"count": number}
    return gettext("about %(count)s") % {"count": number} if total.estimated else number


def summary_text(page: Paged) -> str:
    """ "Showing 26 to 50 of 1,234 entries", or as much of it as is known."""
    total = total_text(page.total)
    if not page.items:
        if not (page.total.estimated or page.total.at_least):
            return gettext("No entries")
        return gettext("No entries here (%(total)s in all)") % {"total": total}
    if page.start is None:
        shown = {"count": format_number(len(page.items)), "total": total}
        return gettext("Showing %(count)s of %(total)s entries") % shown
    end = page.start + len(page.items) - 1
    numbers = {"start": format_number(page.start), "end": format_number(end), "total": total}
    return gettext("Showing %(start)s to %(end)s of %(total)s entries") % numbers
