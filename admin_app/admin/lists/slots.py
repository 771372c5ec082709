"""The parts of a list page made from its rows, written in Python: the rows, the
select-all banner, the "Showing 1 to 25 of …" line and the First / Previous / Next /
Last links. `templates/admin/list.html` shows them as `list_*`; as Jinja templates they
were four template renders a request, a tenth of a customer list page's time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette_admin.i18n import gettext

from admin_app.admin.field_markup import esc
from admin_app.admin.list_words import summary_text, total_text
from admin_app.admin.lists.query import ListPage


def rows_html(rows: Sequence[str], columns: int) -> str:
    """The table body: the rendered rows, or one "No data" row spanning `columns`."""
    if rows:
        return "\n".join(rows)
    nothing = esc(gettext("No data"))
    return f'<tr><td colspan="{columns}" class="text-center text-muted py-4">{nothing}</td></tr>'


def banner_html(page: ListPage, shown: int, alert_class: str) -> str:
    """The select-all banner, offered when more rows match than the page shows."""
    if not page.total.value > shown:
        return ""
    total = {"total": total_text(page.total)}
    on_page = esc(gettext("All %(count)s rows on this page are selected.") % {"count": shown})
    select_all = esc(gettext("Select all %(total)s rows matching the current filter.") % total)
    clear = esc(gettext("Clear selection"))
    all_selected = esc(
        gettext("All %(total)s rows matching the current filter are selected.") % total
    )
    return (
        '<div id="select-all-banner" data-sa-hook="select-all-banner" '
        f'class="alert {esc(alert_class)} py-2 mb-0 d-none d-flex align-items-center '
        'justify-content-between" role="alert">'
        '<span id="select-all-banner-page" data-sa-hook="select-all-banner-page">'
        f"{on_page} "
        '<a href="#" id="select-all-matching-link" data-sa-hook="select-all-matching-link">'
        f"{select_all}</a></span>"
        '<span id="select-all-banner-all" data-sa-hook="select-all-banner-all" class="d-none">'
        f"{all_selected} "
        '<a href="#" id="clear-select-all-link" data-sa-hook="clear-select-all-link">'
        f"{clear}</a></span></div>"
    )


def summary_html(page: ListPage) -> str:
    """ "Showing 1 to 25 of about 1,000,000 entries"."""
    return f'<p class="m-0 text-muted" data-app-hook="list-summary">{esc(summary_text(page))}</p>'


def pagination_html(page: ListPage, icon: Any) -> str:
    """First, Previous, Next and Last: plain links whose URLs carry the position (keyset
    pages, `admin_app.admin.lists.query`), so they can be shared; disabled where there is
    no such page. `icon(name)` resolves an icon name to its classes."""
    links = [
        _page_link(page.first_url, gettext("First"), "first"),
        _page_link(page.prev_url, gettext("Previous page"), "prev", icon("pagination.prev")),
        _page_link(page.next_url, gettext("Next page"), "next", icon("pagination.next")),
        _page_link(page.last_url, gettext("Last"), "last"),
    ]
    return '<ul class="pagination mb-0" data-app-hook="pagination">' + "".join(links) + "</ul>"


def _page_link(url: str | None, label: str, rel: str, icon_class: str | None = None) -> str:
    item = "page-item" if url else "page-item disabled"
    attributes = f'href="{esc(url)}" rel="{rel}"' if url else f'href="#" rel="{rel}"'
    if icon_class is not None:
        attributes += f' aria-label="{esc(label)}"'
        content = f'<i class="{esc(icon_class)}" aria-hidden="true"></i>'
    else:
        content = esc(label)
    if not url:
        attributes += ' tabindex="-1" aria-disabled="true"'
    return f'<li class="{item}"><a class="page-link" {attributes}>{content}</a></li>'
