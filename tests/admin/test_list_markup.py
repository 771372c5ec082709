"""Every list page renders the markup starlette-admin's own templates would.

The list rows are built in Python (`admin_app.admin.lists.rows`) for speed. These tests hold
that fast path to the reference, for every registered view, on rows that hold every
field type with and without a value: each view's first page is rendered both ways (the
reference through starlette-admin's own list route and row templates) and the table
bodies are compared element by element. A new view or field type is covered with no
new test code.
"""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from starlette.testclient import TestClient

from admin_app.admin.compat import AdminPages
from admin_app.admin.lists.routes import ListRoutes
from admin_app.admin.registry import REGISTRY
from admin_app.main import create_app
from tests.admin.test_uploads import create_with_image, png_bytes
from tests.helpers import csrf_token, fetch, login, post_form, wait_until


@pytest.mark.parametrize("view", REGISTRY, ids=lambda v: str(v.key))
def test_no_list_page_shows_markup_as_text(admin_client: TestClient, seeded, view):
    response = admin_client.get(f"/admin/{view.key}/list")
    assert response.status_code == 200, response.text[:500]
    assert "&lt;td" not in response.text, (
        f"the {view.key} list prints escaped <td> markup as text above its table"
    )


@pytest.fixture
def every_kind_of_row(admin_client: TestClient, seeded: Any) -> Any:
    """The demo store, plus rows with values missing and present where the demo has
    only one kind: a product with an image and one without category or tags, a customer
    without a country, an account with roles, an email in the outbox, audit entries."""
    assert create_with_image(admin_client, "beans.png", png_bytes(), "image/png").status_code == 303
    bare = {"name": "Bare", "sku": "BARE-1", "price": "1.00", "stock": "0", "attributes": "{}"}
    assert post_form(admin_client, "/admin/product/create", bare).status_code in (200, 303)
    fetch(
        seeded,
        "UPDATE customer SET country = NULL, city = '' WHERE id = (SELECT min(id) FROM customer)",
    )
    fetch(
        seeded,
        "INSERT INTO admin_user_role (user_id, role_id) SELECT u.id, r.id FROM admin_user u, role r "
        "WHERE u.email = 'root@example.com' AND r.name = 'Support'",
    )
    admin_client.post(
        "/admin/password-reset",
        data={"email": "root@example.com", "csrftoken": csrf_token(admin_client)},
    )
    # The email worker changes the message's row when it sends it: wait, so that both
    # renderings see the same row.
    wait_until(
        lambda: not fetch(seeded, "SELECT 1 FROM email_outbox WHERE status = 'pending'"),
        10,
        "the reset email to be sent",
    )
    return seeded


@pytest.fixture
def reference_client(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """A client of the same database whose list pages starlette-admin renders itself."""
    monkeypatch.setattr(ListRoutes, "list_page", AdminPages.list_page)
    with TestClient(create_app(settings)) as client:
        assert login(client, "root@example.com").status_code == 303
        yield client


@pytest.mark.parametrize("view", REGISTRY, ids=lambda v: str(v.key))
def test_every_list_renders_the_reference_markup(
    admin_client: TestClient, reference_client: TestClient, every_kind_of_row: Any, view: Any
):
    url = f"/admin/{view.key}/list?page_size=100"
    fast = table_rows(admin_client.get(url).text)
    reference = table_rows(reference_client.get(url).text)
    assert fast, f"the {view.key} list shows no rows to compare"
    assert [pk for pk, _ in fast] == [pk for pk, _ in reference], "the same rows, in order"
    for (pk, mine), (_, theirs) in zip(fast, reference, strict=True):
        assert mine == theirs, f"{view.key} row {pk} differs from starlette-admin's markup:\n" + (
            "\n".join(_diff(theirs, mine))
        )


def _diff(reference: list[Any], fast: list[Any]) -> list[str]:
    import difflib

    lines = difflib.unified_diff(
        [repr(t) for t in reference], [repr(t) for t in fast], "reference", "fast", n=1
    )
    return [line[:240] for line in lines][:30]


def table_rows(html: str) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """Each `<tbody>` row: its key and its cells as a canonical token list."""
    parser = _Rows()
    parser.feed(html)
    return parser.rows


class _Rows(HTMLParser):
    """Tokens of the table body: tags with their attributes sorted, text with runs of white
    space folded (templates indent, Python does not)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[tuple[str, list[tuple[Any, ...]]]] = []
        self.in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tbody":
            self.in_body = True
        elif self.in_body and tag == "tr":
            self.rows.append((dict(attrs).get("data-sa-pk") or "", []))
        elif self.in_body and self.rows:
            kept = tuple(sorted((k, " ".join((v or "").split())) for k, v in attrs))
            self.rows[-1][1].append(("<", tag, kept))

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self.in_body = False
        elif self.in_body and self.rows and tag != "tr":
            self.rows[-1][1].append(("/", tag))

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if self.in_body and self.rows and text:
            cells = self.rows[-1][1]
            if cells and cells[-1][0] == "text":  # adjacent text: one token
                cells[-1] = ("text", f"{cells[-1][1]} {text}")
            else:
                cells.append(("text", text))
