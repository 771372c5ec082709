"""What `make bench` asks of both apps: the pages people open, as they open them.

Most scenarios draw a new URL for every request (bench/requests.lua): a person rarely
asks for the same URL twice, so a page kept from the request before is the exception.
The repeated pages are kept for reference, and for the goals about deep pages.
"""

from __future__ import annotations

import random
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from bench.traffic import Traffic

LIST = "list page, a new URL each time"
LIST_GZIP = "list page, a new URL each time, gzip"
SEARCH = "search, a new 5-6 digit term each time"
DETAIL = "detail page, a random record"
EDIT = "edit form, a random record"
FIRST = "first page, repeated"
DEEP_PAGE = 10_000
DEEP = f"page {DEEP_PAGE:,}, repeated"
LAST = "last page, repeated"
AUTOCOMPLETE = "autocomplete, repeated"
GLOBAL_SEARCH = "global search (every model), a new 5-6 digit term each time"
EXPORT = "export (CSV, all rows)"
REPLICA_LIST = "list page, a new URL each time, read from a replica"
API_LIST = "API list (JSON), a new cursor or search each time"
API_LIST_GZIP = "API list (JSON), a new cursor or search each time, gzip"
RELATION_FILTER = "orders by customer country (a relation filter), a new page and sort each time"

ADMIN_LIST, FLOOR_LIST = "/admin/customer/list", "/customers"
ADMIN_API_LIST, FLOOR_API_LIST = "/api/v1/customer", "/api/customers"
ADMIN_ORDERS, FLOOR_ORDERS = "/admin/order/list", "/orders"
FLOOR_DETAIL = "/customers/detail"
LOOKUP_TERM = "smit"
ONE_USER = (AUTOCOMPLETE, GLOBAL_SEARCH)
"""Scenarios also driven by one user alone: how long one person typing waits."""
LIST_WEIGHT = "list page (first page, 25 rows)"


@dataclass(frozen=True)
class Scenario:
    name: str
    admin_path: str
    floor_path: str
    traffic: Traffic
    sample: str = ""
    """A query string `traffic` could draw, checked on both apps before the run."""


@dataclass(frozen=True)
class Table:
    """What the scenarios need to know of the bench database and the admin's view."""

    cookies: list[str]
    ids: tuple[int, int]
    sorts: list[str]
    max_page: int
    deep_after: tuple[str, int]
    """The admin's and the floor's `after=` value for page `DEEP_PAGE`."""
    api_headers: list[str]
    """An `Authorization: Bearer` header per user, for the API."""
    api_urls: str
    """The file of API list URLs (bench/api.py)."""


def scenarios(table: Table) -> list[Scenario]:
    """Every scenario driven with wrk, in the order they run."""
    everyone = Traffic(cookies=table.cookies)
    lists = Traffic("list", table.cookies, sorts=table.sorts, max_page=table.max_page)
    # Opened from a row of the list, as people open records: with the list page as `_origin`.
    record = replace(lists, kind="record", ids=table.ids, origin=ADMIN_LIST)
    sort = f"{table.sorts[-1]}__desc"
    token, after_id = table.deep_after
    lookup = f"relation-lookup?q={LOOKUP_TERM}&skip=0&limit=20"
    api = Traffic("urls", headers=table.api_headers, urls=table.api_urls)
    return [
        Scenario(LIST, ADMIN_LIST, FLOOR_LIST, lists, f"?page={table.max_page}&sort={sort}"),
        Scenario(LIST_GZIP, ADMIN_LIST, FLOOR_LIST, replace(lists, gzip=True), "?q=99999"),
        Scenario(SEARCH, ADMIN_LIST, FLOOR_LIST, Traffic("search", table.cookies), "?q=12345"),
        Scenario(DETAIL, "/admin/customer/detail", FLOOR_DETAIL, record, f"?pk={table.ids[1]}"),
        Scenario(EDIT, "/admin/customer/edit", FLOOR_DETAIL, record, f"?pk={table.ids[0]}"),
        Scenario(FIRST, ADMIN_LIST, FLOOR_LIST, everyone),
        Scenario(DEEP, f"{ADMIN_LIST}?after={token}", f"{FLOOR_LIST}?after={after_id}", everyone),
        Scenario(LAST, f"{ADMIN_LIST}?last=1", f"{FLOOR_LIST}?last=1", everyone),
        Scenario(
            GLOBAL_SEARCH,
            "/admin/_api/search",
            FLOOR_LIST,  # for reference: the floor searches customers alone
            Traffic("search", table.cookies),
            "?q=12345",
        ),
        Scenario(
            AUTOCOMPLETE,
            f"/admin/_api/customer/{lookup}",
            f"/customers/lookup?q={LOOKUP_TERM}",
            everyone,
        ),
        Scenario(API_LIST, ADMIN_API_LIST, FLOOR_API_LIST, api, "?search=12345&sort=-email"),
        Scenario(API_LIST_GZIP, ADMIN_API_LIST, FLOOR_API_LIST, replace(api, gzip=True)),
        Scenario(
            RELATION_FILTER,
            ADMIN_ORDERS,
            FLOOR_ORDERS,
            Traffic("urls", table.cookies, urls=str(relation_filter_urls())),
            "?filter=customer.country__eq=FR&sort=total__desc&page=3",
        ),
    ]


ORDER_SORTS = ("placed_at", "total", "status", "id")
"""The order list's sorts (`OrderView.sortable_fields`), which the floor's `/orders` knows."""


def relation_filter_urls(count: int = 20_000) -> Path:
    """A file of order-list query strings, each filtered by one customer country (the
    demo's countries) with its own sort and one of the first 20 pages (as people page
    through a filtered list; a deep `?page=N` skips its rows on both apps alike): the
    same file every run, overwritten."""
    from admin_app.demo.data import CITIES

    rng = random.Random(21)  # noqa: S311 (traffic, not secrets)
    lines = []
    for _ in range(count):
        country, sort = rng.choice(list(CITIES)), rng.choice(ORDER_SORTS)
        direction, page = rng.choice(("asc", "desc")), rng.randint(1, 20)
        filtered = f"filter=customer.country__eq={country}&sort={sort}__{direction}"
        lines.append(f"?{filtered}&page={page}")
    path = Path(tempfile.gettempdir()) / "bench-relation-filter-urls.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def weighed(ids: tuple[int, int]) -> dict[str, tuple[str, str]]:
    """The pages whose weight is reported: admin path and floor path."""
    pk = f"?pk={(ids[0] + ids[1]) // 2}"
    return {
        LIST_WEIGHT: (ADMIN_LIST, FLOOR_LIST),
        "detail page": ("/admin/customer/detail" + pk, FLOOR_DETAIL + pk),
        "edit form": ("/admin/customer/edit" + pk, FLOOR_DETAIL + pk),
    }
