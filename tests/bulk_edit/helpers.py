"""Driving a bulk edit as a browser does: the list's action, the form, the preview, the apply."""

from __future__ import annotations

import re
from html import unescape
from typing import Any
from urllib.parse import urlencode

from starlette.testclient import TestClient

from tests.forms import Form, read_form
from tests.helpers import csrf_token, fetch, post_form

TOKEN = re.compile(r"/bulk-edit/([0-9a-f]{32})")


def open_form(
    client: TestClient, key: str, pks: list[int] | None = None, list_query: str = ""
) -> Any:
    """The list's "With selected → Bulk edit" (checked rows, or with `pks` None every row
    matching `list_query`), followed to the form page."""
    params: list[tuple[str, str]] = [("name", "bulk_edit"), ("_list_query", list_query)]
    if pks is None:
        params.append(("all", "1"))
    else:
        params += [("pks", str(pk)) for pk in pks]
    return client.post(
        f"/admin/_api/{key}/action?{urlencode(params)}",
        headers={"X-CSRFToken": csrf_token(client), "Accept": "text/html"},
    )


def post_pairs(client: TestClient, url: str, pairs: list[tuple[str, str]]) -> Any:
    """Post form fields as a browser does (names may repeat), with the CSRF token."""
    body = urlencode([*pairs, ("csrftoken", csrf_token(client))])
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return client.post(url, content=body, headers=headers)


def the_form(page: Any) -> Form:
    return read_form(page.text, having="fields")


def preview(client: TestClient, key: str, values: dict[str, str], **selection: Any) -> Any:
    """Choose `values` on the form for the selection and ask for the preview."""
    page = open_form(client, key, **selection)
    assert page.status_code == 200, f"the bulk edit form did not open: {page.status_code}"
    form = the_form(page)
    pairs = [(n, v) for n, v in form.submission() if n != "fields" and n not in values]
    pairs += [("fields", name) for name in values] + list(values.items())
    return post_pairs(client, str(page.url), pairs)


def token_of(page: Any) -> str:
    found = TOKEN.search(str(page.url))
    assert found, f"not a bulk edit's page: {page.url}"
    return found.group(1)


def apply(client: TestClient, key: str, token: str) -> Any:
    return post_form(client, f"/admin/{key}/bulk-edit/{token}", {})


def count_shown(page: Any) -> int:
    found = re.search(r'data-bulk-count="(\d+)"', page.text)
    assert found, "the preview shows no count"
    return int(found.group(1))


def sample_rows(page: Any) -> list[list[str]]:
    """The preview's before/after table, as text cells per row."""
    table = re.search(r"<table[^>]*data-bulk-sample.*?</table>", page.text, re.S)
    if not table:
        return []
    body = table.group(0).split("<tbody>")[1]
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)
    return [
        [
            unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)
        ]
        for r in rows
    ]


def skipped(page: Any) -> dict[str, str]:
    """The result page's skipped rows: key -> reason."""
    return {
        pk: unescape(re.sub(r"<[^>]+>", "", text)).split(": ", 1)[-1]
        for pk, text in re.findall(r'<li data-bulk-skip="([^"]+)">(.*?)</li>', page.text, re.S)
    }


def change_set_entries(settings: Any, model: str) -> dict[str, list[Any]]:
    """Audit entries of bulk edits of `model`, by change set."""
    rows = fetch(
        settings,
        "SELECT change_set, id, object_pk, action FROM audit_entry "
        "WHERE model = :m AND note LIKE 'bulk edit%' ORDER BY id",
        m=model,
    )
    sets: dict[str, list[Any]] = {}
    for row in rows:
        sets.setdefault(row[0], []).append(row)
    return sets


def revert(client: TestClient, entry: int) -> Any:
    return client.post(
        f"/admin/_api/audit-entry/row-action?name=revert&pk={entry}",
        headers={"X-CSRFToken": csrf_token(client)},
    )
