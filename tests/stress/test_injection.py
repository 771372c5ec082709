"""Injection: SQL, template and header injection, and stored HTML and script.

Hostile text goes in through the admin's own forms (so the audit log records it
too) and through search, filters, sort and redirects; then every place that shows
it is read back: lists, detail pages, the dashboard, the audit log, the emails and
the exports. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import io

import openpyxl
import pytest

from admin_app.email.rendering import render
from admin_app.email.samples import SAMPLES
from tests.admin.test_export import export, read_csv
from tests.helpers import PASSWORD, csrf_token, fetch, post_form, table_counts

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
TEMPLATE = "{{7*7}}{% if 1 %}X{% endif %}"
FORMULA = '=HYPERLINK("http://evil.example")'
STORED = f"{SCRIPT}{ATTRIBUTE}{TEMPLATE}"
SQL = [
    "' OR '1'='1",
    "x'; DROP TABLE product; --",
    "1) UNION SELECT password_hash FROM admin_user --",
    "%' AND 1=CAST((SELECT version()) AS int) --",
]


def unescaped(page: str) -> list[str]:
    """Hostile markup that reached the page as markup."""
    return [raw for raw in (SCRIPT, "<img src=x onerror") if raw in page]


@pytest.fixture
def hostile(seeded, admin_client):
    """A category and a customer whose names are hostile, created through the forms."""
    created = post_form(
        admin_client,
        "/admin/category/create",
        {"name": STORED[:100], "slug": "hostile"},
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text[:300]
    customer = fetch(seeded, "SELECT min(id) FROM customer")[0][0]
    page = admin_client.get(f"/admin/customer/edit?pk={customer}").text
    assert "_version" in page
    fetch(
        seeded,
        "UPDATE customer SET first_name = :f, last_name = :l WHERE id = :c",
        f=FORMULA,
        l=STORED[:100],
        c=customer,
    )
    return seeded, customer


def test_stored_html_and_script_render_escaped_everywhere(hostile, admin_client, backend, report):
    settings, customer = hostile
    category = fetch(settings, "SELECT id FROM category WHERE slug = 'hostile'")[0][0]
    entry = fetch(settings, "SELECT max(id) FROM audit_entry WHERE model = 'category'")[0][0]
    pages = {
        "category list": "/admin/category/list",
        "category detail (with its history)": f"/admin/category/detail?pk={category}",
        "category edit form": f"/admin/category/edit?pk={category}",
        "product form (category picker)": "/admin/product/create",
        "customer list": "/admin/customer/list",
        "customer detail": f"/admin/customer/detail?pk={customer}",
        "dashboard": "/admin/",
        "audit log": "/admin/audit-entry/list",
        "audit entry": f"/admin/audit-entry/detail?pk={entry}",
        "relation look-up (JSON)": "/admin/_api/product/relation-lookup?field=category",
    }
    leaks = {}
    for name, url in pages.items():
        response = admin_client.get(url)
        assert response.status_code == 200, (name, response.status_code)
        if unescaped(response.text):
            leaks[name] = unescaped(response.text)
        assert ">49<" not in response.text and "49X" not in response.text, name
    shown = admin_client.get(f"/admin/category/detail?pk={category}").text
    assert "&lt;script&gt;" in shown, "the name is shown, escaped"

    sample = SAMPLES["order_shipped"]
    mail = render(
        "order_shipped",
        {
            **sample,
            "app_name": SCRIPT,
            "name": STORED,
            "lines": [{"quantity": 1, "product": SCRIPT}],
        },
    )
    mail_leaks = unescaped(mail.html)

    rows = read_csv(export(admin_client, {}, "", **{}))
    cells = {cell for row in rows for cell in row}
    formula_ok = FORMULA not in cells and f"'{FORMULA}" in cells
    as_xlsx = export(admin_client, {"format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(as_xlsx.content)).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    json_ok = STORED[:100] in {c.value for c in cells} and not any(
        c.data_type == "f" for c in cells
    )
    report.add(
        "Injection",
        "stored <script>, attribute-breaking HTML and {{ }} / {% %} in names, "
        f"read back from {len(pages)} pages, the order-shipped email and CSV and XLSX exports "
        f"({backend})",
        len(pages) + 3,
        f"unescaped on: {sorted(leaks) or 'no page'}; email: "
        f"{'unescaped' if mail_leaks else 'escaped'}; template syntax shown as text; "
        f"CSV formula escaped with a leading apostrophe: {'yes' if formula_ok else 'no'}; "
        f"XLSX holds it as text, no formula cells: {'yes' if json_ok else 'no'}",
        not leaks and not mail_leaks and formula_ok and json_ok,
    )
    assert not leaks, leaks
    assert not mail_leaks
    assert formula_ok and json_ok


def test_sql_in_search_filter_and_sort_has_no_effect(seeded, admin_client, backend, report):
    before = table_counts(seeded)
    keys = [r[0] for r in fetch(seeded, "SELECT sku FROM product UNION SELECT email FROM customer")]
    outcomes: dict[int, int] = {}
    tried = 0
    for payload in SQL:
        for params in (
            {"q": payload},
            {"filter": f"name__contains={payload}"},
            {"filter": f"{payload}__eq=1"},
            {"order_by": payload},
            {"sort": payload},
            {"pk": payload},
        ):
            for url in ("/admin/product/list", "/admin/customer/list", "/admin/product/detail"):
                response = admin_client.get(url, params=params)
                tried += 1
                outcomes[response.status_code] = outcomes.get(response.status_code, 0) + 1
                assert response.status_code < 500, (url, params)
                assert "argon2" not in response.text, "a hash leaked"
                if "q" in params and url.endswith("list"):
                    assert response.status_code == 200
                    shown = [k for k in keys if k in response.text]
                    assert not shown, f"{payload!r} matched rows: {shown[:3]}"
    after = table_counts(seeded)
    report.add(
        "Injection",
        f"SQL in search, filters, sort and ids of two lists and a detail page ({backend})",
        tried,
        f"answers {dict(sorted(outcomes.items()))}; no 5xx; no hash in any page; "
        f"row counts {'unchanged' if after == before else 'CHANGED'}",
        after == before,
    )
    assert after == before


def test_header_injection_in_redirects_and_downloads(
    seeded, admin_client, superuser, backend, report
):
    evil = "x\r\nSet-Cookie: pwned=1"
    response = export(admin_client, {"filename": evil})
    disposition = response.headers.get("content-disposition", "")
    download_ok = response.status_code in (200, 400) and "\n" not in disposition
    download_ok = download_ok and "pwned" not in response.headers.get("set-cookie", "")
    redirects = []
    client = admin_client
    for target in ("https://evil.example/", "//evil.example", "/admin/\r\nSet-Cookie: pwned=1"):
        client.cookies.clear()  # signed out, then signed in with a hostile `next`
        client.get("/admin/login", params={"next": target})
        answer = client.post(
            "/admin/login",
            params={"next": target},
            data={"username": superuser, "password": PASSWORD, "csrftoken": csrf_token(client)},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text[:300]
        redirects.append(answer.headers["location"])
    offsite = [r for r in redirects if "evil" in r or "\n" in r or "\r" in r]
    report.add(
        "Injection",
        f"CR/LF in an export's file name; off-site and CR/LF `next=` targets at login ({backend})",
        1 + len(redirects),
        f"download header {'clean' if download_ok else 'INJECTED'}; "
        f"off-site or injected redirects: {len(offsite)} (went to {sorted(set(redirects))})",
        download_ok and not offsite,
    )
    assert download_ok, disposition
    assert not offsite, offsite
