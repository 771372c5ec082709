"""`admin-app import`, run as a user runs it: checked first, then all rows or none."""

from __future__ import annotations

import pytest

from tests.cli.test_cli import admin_app, assert_one_line_error
from tests.helpers import fetch
from tests.imports.helpers import HEADER

GOOD = HEADER + "Bea,Ray,bea@example.com,DE,yes\nCal,Orr,cal@example.com,,0\n"


@pytest.fixture
def migrated(database_url, tmp_path) -> dict[str, str]:
    """The command's environment, on a test database the migrations made."""
    return {
        "DATABASE_URL": database_url,
        "DATA_DIR": str(tmp_path),
        "ENVIRONMENT": "test",
        "SECRET_KEY": "cli-test-" + "k" * 40,
    }


def customers(settings_env) -> list[tuple]:
    from tests.conftest import make_settings

    settings = make_settings(database_url=settings_env["DATABASE_URL"])
    return [tuple(r) for r in fetch(settings, "SELECT email, country FROM customer ORDER BY email")]


def test_a_clean_file_is_imported_and_summarised(migrated, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(GOOD)
    result = admin_app("import", "customer", str(path), env=migrated)
    assert result.returncode == 0, result.stderr
    assert "checked 2 rows: 2 new, 0 updated, 0 unchanged, 0 with errors" in result.stdout
    assert "imported 2 rows into customer" in result.stdout and "rows/s" in result.stdout
    assert customers(migrated) == [("bea@example.com", "DE"), ("cal@example.com", None)]


def test_a_dry_run_reports_and_writes_nothing(migrated, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(GOOD)
    result = admin_app("import", "customer", str(path), "--dry-run", env=migrated)
    assert result.returncode == 0, result.stderr
    assert "2 new" in result.stdout and "dry run: nothing was written" in result.stdout
    assert customers(migrated) == []


def test_errors_are_listed_with_the_error_csv_and_nothing_is_written(migrated, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(GOOD + "Dee,Fox,dee@example.com,ZZ,maybe\n")
    result = admin_app("import", "customer", str(path), env=migrated)
    assert_one_line_error(result, "error: 1 row(s) have errors; nothing was imported", "errors.csv")
    assert "row 3, country:" in result.stdout and "row 3, is_active:" in result.stdout
    assert customers(migrated) == []


def test_upsert_by_key_with_a_saved_mapping(migrated, tmp_path):
    first = tmp_path / "first.csv"
    first.write_text("Given,Family,Mail\nBea,Ray,bea@example.com\n")
    maps = ["--map", "Given=first_name", "--map", "Family=last_name", "--map", "Mail=email"]
    saved = admin_app(
        "import", "customer", str(first), *maps, "--save-mapping", "crm", env=migrated
    )
    assert saved.returncode == 0, saved.stderr
    second = tmp_path / "second.csv"
    second.write_text("Given,Family,Mail\nBeatrice,Ray,BEA@example.com\nCal,Orr,cal@example.com\n")
    args = ["--mapping", "crm", "--mode", "upsert", "--key", "email"]
    result = admin_app("import", "customer", str(second), *args, env=migrated)
    assert result.returncode == 0, result.stderr
    assert "1 new, 1 updated" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nothing", "people.csv"], "error: no model 'nothing'; one of:"),
        (["customer", "missing.csv"], "error: there is no file"),
        (["customer", "people.json"], "error: Import a .csv or .xlsx file"),
        (["customer", "people.csv", "--mode", "update"], "error: Updating needs a key field"),
        (["customer", "people.csv", "--mapping", "nope"], "no saved mapping 'nope'"),
        (["customer", "people.csv", "--map", "oops"], "--map takes COLUMN=FIELD"),
    ],
    ids=["model", "missing", "format", "key", "mapping", "map"],
)
def test_bad_input_is_one_line(migrated, tmp_path, args, message):
    (tmp_path / "people.csv").write_text(GOOD)
    (tmp_path / "people.json").write_text("{}")
    args = [str(tmp_path / a) if a.startswith(("people", "missing")) else a for a in args]
    result = admin_app("import", *args, env=migrated)
    assert_one_line_error(result, message)
