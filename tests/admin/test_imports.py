"""File imports take exactly what the forms take, say what is wrong at the column, and
write all rows or none."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.helpers import csrf_token, fetch

HEADER = "first_name,last_name,email,country,is_active\n"


def _import(client: TestClient, key: str, csv: str, *, preview: bool):
    return client.post(
        f"/admin/_api/{key}/import" + ("?preview=1" if preview else ""),
        files={"file": (f"{key}.csv", csv.encode(), "text/csv")},
        data={"csrftoken": csrf_token(client), "format": "csv"},
    )


def _count(settings) -> int:
    return int(fetch(settings, "SELECT count(*) FROM customer")[0][0])


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ("Ann,Lee,ann@example.com,FR,maybe", "is_active"),
        ("Ann,Lee,ann@example.com,ZZ,true", "country"),
        ("Ann," + "x" * 101 + ",ann@example.com,FR,true", "last_name"),
    ],
    ids=["not-a-boolean", "not-a-country", "too-long"],
)
def test_a_value_the_form_would_refuse_is_an_error_at_its_column(
    admin_client: TestClient, seeded, row: str, field: str
):
    csv = HEADER + "Bea,Ray,bea@example.com,DE,yes\n" + row + "\n"
    preview = _import(admin_client, "customer", csv, preview=True)
    assert preview.status_code == 200, preview.text[:300]
    errors = preview.json()["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [(2, field)], errors
    before = _count(seeded)
    done = _import(admin_client, "customer", csv, preview=False)
    assert done.status_code == 422, done.text[:300]
    assert "Nothing was imported" in done.json()["error"]
    assert _count(seeded) == before, "the valid row was not written either: all rows or none"


def test_a_clean_file_imports_every_row_with_its_values(admin_client: TestClient, seeded):
    csv = HEADER + "Bea,Ray,bea@example.com,DE,yes\nCal,Orr,cal@example.com,,0\n"
    assert _import(admin_client, "customer", csv, preview=True).json()["errors"] == []
    assert _import(admin_client, "customer", csv, preview=False).status_code == 200
    rows = fetch(
        seeded,
        "SELECT email, country, is_active FROM customer WHERE email IN "
        "('bea@example.com', 'cal@example.com') ORDER BY email",
    )
    assert [tuple(r) for r in rows] == [
        ("bea@example.com", "DE", True),
        ("cal@example.com", None, False),
    ]
