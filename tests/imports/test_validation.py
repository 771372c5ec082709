"""The validation pass refuses what the forms refuse, counts what the file would do,
and lists every refused row in an error CSV."""

from __future__ import annotations

import asyncio
import csv

import pytest

from admin_app.admin.views.customer import CustomerView
from admin_app.admin.views.product import ProductView
from admin_app.auth.permissions import Grants
from admin_app.imports.mapping import ImportRefused, MappingError
from admin_app.models import Customer, ImportMode
from tests.imports.helpers import HEADER, validate, write


def run(coro):
    return asyncio.run(coro)


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ("Ann,Lee,ann@example.com,FR,maybe", "is_active"),
        ("Ann,Lee,ann@example.com,ZZ,true", "country"),
        ("Ann," + "x" * 101 + ",ann@example.com,FR,true", "last_name"),
        ("Ann,Lee,not-an-email,FR,true", "email"),
        (",Lee,ann@example.com,FR,true", "first_name"),
    ],
    ids=["not-a-boolean", "not-a-country", "too-long", "not-an-email", "required-blank"],
)
def test_a_value_the_form_would_refuse_is_an_error_at_its_column(settings, tmp_path, row, field):
    path = write(tmp_path, HEADER + "Bea,Ray,bea@example.com,DE,yes\n" + row + "\n")
    report = run(validate(settings, path))
    assert (report.new, report.errors) == (1, 1), report
    assert [(e.row, e.field) for e in report.first_errors] == [(2, field)], report.first_errors


@pytest.mark.parametrize(
    ("header", "row", "field"),
    [
        ("name,sku,price,stock", "Lamp,L-1,12.345,3", "price"),
        ("name,sku,price,stock", "Lamp,L-1,abc,3", "price"),
        ("name,sku,price,stock", "Lamp,L-1,12.50,3.5", "stock"),
        ("name,sku,price,stock", "Lamp,L-1,12.50,99999999999", "stock"),
    ],
    ids=["decimal-places", "not-a-number", "not-whole", "out-of-range"],
)
def test_numbers_are_read_as_the_product_form_reads_them(settings, tmp_path, header, row, field):
    path = write(tmp_path, f"{header}\n{row}\n", "products.csv")
    report = run(validate(settings, path, view=ProductView))
    assert [e.field for e in report.first_errors] == [field], report.first_errors


def test_the_error_csv_holds_every_refused_row_with_its_reasons(settings, tmp_path):
    rows = ["Ann,Lee,bad-email,FR,true", "Bea,Ray,bea@example.com,DE,yes", "Cal,Orr,c@x.io,ZZ,no"]
    report = run(validate(settings, write(tmp_path, HEADER + "\n".join(rows) + "\n")))
    assert report.error_report is not None, "a file with errors gets an error report"
    with report.error_report.open(newline="") as handle:
        lines = list(csv.reader(handle))
    assert lines[0] == [*HEADER.strip().split(","), "error_row", "error_reason"]
    assert [line[:5] for line in lines[1:]] == [rows[0].split(","), rows[2].split(",")]
    assert [line[5] for line in lines[1:]] == ["1", "3"]
    assert "email" in lines[1][6] and "country" in lines[2][6], lines


def test_a_clean_file_has_no_error_report_and_counts_new_rows(settings, tmp_path):
    path = write(tmp_path, HEADER + "Bea,Ray,bea@example.com,DE,yes\n\nCal,Orr,c@x.io,,0\n")
    report = run(validate(settings, path))
    assert (report.rows, report.new, report.errors, report.error_report) == (2, 2, 0, None)


def test_the_same_email_twice_in_a_file_is_refused_at_the_second_row(settings, tmp_path):
    path = write(tmp_path, HEADER + "A,B,ann@example.com,FR,1\nC,D,ANN@example.com,FR,1\n")
    report = run(validate(settings, path))
    assert [(e.row, e.field) for e in report.first_errors] == [(2, "email")]
    assert "Row 1" in report.first_errors[0].message


def test_creating_an_email_already_used_is_refused(seeded, tmp_path, sql):
    email = sql("SELECT email FROM customer ORDER BY id LIMIT 1")[0][0]
    path = write(tmp_path, HEADER + f"A,B,{email.upper()},FR,1\n")
    report = run(validate(seeded, path))
    assert [e.field for e in report.first_errors] == ["email"], report.first_errors


def test_updates_by_email_count_changed_and_unchanged_rows(seeded, tmp_path, sql):
    first, second = sql("SELECT first_name, last_name, email FROM customer ORDER BY id LIMIT 2")
    text = (
        "first_name,last_name,email\n"
        f"{first[0]},{first[1]},{first[2]}\n"
        f"Renamed,{second[1]},{second[2].upper()}\n"
        "Nobody,Here,nobody@example.com\n"
    )
    path = write(tmp_path, text)
    update = run(validate(seeded, path, mode=ImportMode.UPDATE, key="email"))
    assert (update.unchanged, update.updated, update.new, update.errors) == (1, 1, 0, 1)
    assert update.first_errors[0].row == 3 and "No record" in update.first_errors[0].message
    upsert = run(validate(seeded, path, mode=ImportMode.UPSERT, key="email"))
    assert (upsert.unchanged, upsert.updated, upsert.new, upsert.errors) == (1, 1, 1, 0)


def test_mappings_that_cannot_work_are_refused_with_a_reason(settings, tmp_path):
    path = write(tmp_path, HEADER + "A,B,a@b.io,FR,1\n")
    with pytest.raises(MappingError, match="key field"):
        run(validate(settings, path, mode=ImportMode.UPDATE))
    with pytest.raises(MappingError, match="does not name one record"):
        run(validate(settings, path, mode=ImportMode.UPDATE, key="country"))
    with pytest.raises(MappingError, match="need a value for email"):
        run(
            validate(settings, path, columns={"first_name": "first_name", "last_name": "last_name"})
        )
    with pytest.raises(MappingError, match="no column 'mail'"):
        run(validate(settings, path, columns={"mail": "email"}))


def test_a_protected_field_the_user_may_not_edit_cannot_be_mapped(settings, tmp_path):
    path = write(tmp_path, "name,sku,price\nLamp,L-1,12.50\n", "products.csv")
    clerk = Grants(codes=frozenset({"product:view", "product:create", "product:import"}))
    with pytest.raises(MappingError, match="protected field"):
        run(validate(settings, path, view=ProductView, grants=clerk, columns={"price": "price"}))


@pytest.mark.parametrize(
    ("codes", "mode", "refusal"),
    [
        ({"customer:view", "customer:create"}, ImportMode.CREATE, "may not import"),
        ({"customer:view", "customer:import", "customer:edit"}, ImportMode.CREATE, "create"),
        ({"customer:view", "customer:import", "customer:create"}, ImportMode.UPSERT, "change"),
    ],
    ids=["no-import", "no-create", "no-edit"],
)
def test_an_import_the_role_does_not_allow_is_refused(settings, tmp_path, codes, mode, refusal):
    path = write(tmp_path, HEADER + "A,B,a@b.io,FR,1\n")
    grants = Grants(codes=frozenset(codes))
    with pytest.raises(ImportRefused, match=refusal):
        run(validate(settings, path, mode=mode, key="email", grants=grants))


class FrenchCustomers(CustomerView):
    """Customers as a role scoped to France reaches them."""

    def scope_query(self, request, stmt, grants_):
        return stmt.where(Customer.country == "FR")


def test_updating_a_record_outside_the_row_scope_is_refused(seeded, tmp_path, sql):
    (email,) = sql("SELECT email FROM customer WHERE country <> 'FR' ORDER BY id LIMIT 1")[0]
    path = write(tmp_path, f"email,city\n{email},Lyon\n")
    report = run(validate(seeded, path, mode=ImportMode.UPDATE, key="email", view=FrenchCustomers))
    assert [e.field for e in report.first_errors] == ["email"], report.first_errors
    assert "may not change" in report.first_errors[0].message


def test_an_xlsx_sheet_is_read_like_the_csv_with_cell_types_as_text(settings, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["First name", "Last name", "Email", "Active"])
    sheet.append(["Bea", "Ray", "bea@example.com", True])
    sheet.append(["Cal", "Orr", "cal@example.com", "maybe"])
    book.save(tmp_path / "people.xlsx")
    report = run(validate(settings, tmp_path / "people.xlsx"))
    assert (report.new, report.errors) == (1, 1), report
    assert [(e.row, e.field) for e in report.first_errors] == [(2, "is_active")]


def test_a_file_that_is_not_csv_or_xlsx_is_refused(settings, tmp_path):
    from admin_app.imports.files import FileError

    with pytest.raises(FileError, match=r"\.csv or \.xlsx"):
        run(validate(settings, write(tmp_path, "{}", "people.json")))


def test_a_value_repeated_within_the_file_is_refused_at_its_second_row(settings, tmp_path):
    """Within the file, as the unique index would see it: e-mail without letter case
    (text is remembered by its digest, `rows.seen_key`)."""
    people = HEADER + "".join(
        f"P{n},Q,{email},FR,yes\n"
        for n, email in enumerate(["a@example.com", "b@example.com", "A@Example.com"])
    )
    report = run(validate(settings, write(tmp_path, people)))
    assert [(e.row, e.field, e.message) for e in report.first_errors] == [
        (3, "email", "Row 1 of this file has the same email.")
    ]
    assert (report.new, report.errors) == (2, 1)
