"""Applying a validated file writes every row or none, in each mode, with one audit
entry and one live message for the whole import."""

from __future__ import annotations

import asyncio

import pytest

from admin_app.auth.identity import Identity
from admin_app.db import create_engine, create_sessionmaker
from admin_app.imports.jobs import Cancelled, JobError, cancel
from admin_app.imports.writing import ApplyConflict
from admin_app.models import ImportMode
from tests.helpers import fetch, run
from tests.imports.helpers import HEADER, run_job, write

ANN = Identity(1, "ann@example.com", "Ann", True, False)


def job(settings, path, **kwargs):
    return asyncio.run(run_job(settings, path, **kwargs))


def customers(sql, emails):
    rows = sql("SELECT email, first_name, country, is_active, version FROM customer ORDER BY email")
    wanted = {e.lower() for e in emails}
    return [tuple(r) for r in rows if r[0].lower() in wanted]


def status(sql, job_id):
    return tuple(sql("SELECT status, error FROM import_job WHERE id = :id", id=job_id)[0])


def test_create_writes_every_row_with_its_values_and_one_audit_entry(settings, tmp_path, sql):
    path = write(tmp_path, HEADER + "Bea,Ray,bea@example.com,DE,yes\nCal,Orr,cal@example.com,,0\n")
    job_id, _, report = job(settings, path)
    assert (report.new, report.errors) == (2, 0)
    assert customers(sql, ["bea@example.com", "cal@example.com"]) == [
        ("bea@example.com", "Bea", "DE", True, 1),
        ("cal@example.com", "Cal", None, False, 1),
    ]
    created = sql("SELECT created_at, phone FROM customer WHERE email = 'bea@example.com'")[0]
    assert created[0] is not None and created[1] == "", "unmapped columns take their defaults"
    assert status(sql, job_id) == ("done", "")
    entries = sql(
        "SELECT action, model, object_repr, note FROM audit_entry WHERE action = 'import'"
    )
    assert [tuple(e) for e in entries] == [
        ("import", "customer", "2 rows imported from people.csv", f"import #{job_id}")
    ], "one audit entry for the whole import, none per row"
    per_row = sql("SELECT count(*) FROM audit_entry WHERE model = 'customer' AND action = 'create'")
    assert per_row[0][0] == 0


def test_upsert_by_email_updates_existing_rows_and_creates_new_ones(seeded, tmp_path, sql):
    (email, version) = sql("SELECT email, version FROM customer ORDER BY id LIMIT 1")[0]
    text = f"first_name,last_name,email\nRenamed,X,{email.upper()}\nNew,Person,new@example.com\n"
    job_id, _, report = job(seeded, write(tmp_path, text), mode=ImportMode.UPSERT, key="email")
    assert (report.new, report.updated) == (1, 1)
    assert sql(
        "SELECT first_name, version FROM customer WHERE id = (SELECT min(id) FROM customer)"
    )[0] == ("Renamed", version + 1), "the update bumps the row's version"
    assert sql("SELECT count(*) FROM customer WHERE email = 'new@example.com'")[0][0] == 1
    assert status(sql, job_id)[0] == "done"


def test_upsert_leaves_a_trashed_record_alone_and_creates_a_live_one(seeded, tmp_path, sql):
    (pk, email) = sql("SELECT id, email FROM customer ORDER BY id LIMIT 1")[0]
    sql("UPDATE customer SET deleted_at = CURRENT_TIMESTAMP WHERE id = :i", i=pk)
    text = f"first_name,last_name,email\nAgain,Here,{email}\n"
    job_id, _, report = job(seeded, write(tmp_path, text), mode=ImportMode.UPSERT, key="email")
    assert (report.new, report.updated) == (1, 0), "a trashed record is not matched by its key"
    rows = sql(
        "SELECT first_name, deleted_at IS NULL FROM customer WHERE email = :e ORDER BY id", e=email
    )
    assert [tuple(r)[1] for r in rows] == [False, True], "the trashed one stays, a live one is new"
    assert rows[1][0] == "Again"
    assert status(sql, job_id)[0] == "done"


def test_update_changes_only_the_mapped_columns(seeded, tmp_path, sql):
    (email, last, city) = sql("SELECT email, last_name, city FROM customer ORDER BY id LIMIT 1")[0]
    path = write(tmp_path, f"email,first_name\n{email},Changed\n")
    job(seeded, path, mode=ImportMode.UPDATE, key="email")
    row = sql("SELECT first_name, last_name, city FROM customer WHERE email = :e", e=email)[0]
    assert tuple(row) == ("Changed", last, city)


def test_a_file_with_errors_writes_nothing(settings, tmp_path, sql):
    path = write(tmp_path, HEADER + "Bea,Ray,bea@example.com,DE,yes\nCal,Orr,cal@x.io,ZZ,0\n")
    with pytest.raises(JobError, match="1 row"):
        job(settings, path)
    assert sql("SELECT count(*) FROM customer")[0][0] == 0, "all rows or none"


def test_a_failure_during_the_apply_writes_nothing_and_fails_the_job(settings, tmp_path, sql):
    path = write(tmp_path, HEADER + "Bea,Ray,bea@example.com,DE,yes\nCal,Orr,cal@x.io,,0\n")
    job_id, importer, _ = job(settings, path, apply=False)
    sql(  # someone creates the same customer between the validation and the apply
        "INSERT INTO customer (first_name, last_name, email, phone, city, is_active, created_at, "
        "version) VALUES ('C', 'O', 'CAL@x.io', '', '', true, CURRENT_TIMESTAMP, 1)"
    )
    with pytest.raises(JobError, match="database refused the import"):
        run(settings, lambda _session: importer.apply(job_id))
    assert sql("SELECT count(*) FROM customer")[0][0] == 1, "the valid row was not written either"
    assert status(sql, job_id)[0] == "failed"


def test_a_row_changed_since_the_validation_is_not_overwritten(seeded, tmp_path, sql):
    (email,) = sql("SELECT email FROM customer ORDER BY id LIMIT 1")[0]
    path = write(tmp_path, f"email,first_name,last_name\n{email},Mine,X\nnew@example.com,New,Y\n")
    job_id, importer, _ = job(
        seeded,
        path,
        mode=ImportMode.UPSERT,
        key="email",
        apply=False,
    )
    sql(
        "UPDATE customer SET first_name = 'Theirs', version = version + 1 WHERE email = :e", e=email
    )
    with pytest.raises(ApplyConflict, match="changed by someone else"):
        run(seeded, lambda _session: importer.apply(job_id))
    assert sql("SELECT first_name FROM customer WHERE email = :e", e=email)[0][0] == "Theirs"
    assert sql("SELECT count(*) FROM customer WHERE email = 'new@example.com'")[0][0] == 0


def test_listeners_get_one_message_for_the_whole_import(settings, tmp_path):
    rows = "".join(f"P{i},Q,p{i}@example.com,FR,1\n" for i in range(30))
    published = []
    job(settings, write(tmp_path, HEADER + rows), publish=published.append, identity=ANN)
    assert len(published) == 1, published
    message = published[0].to_json()
    assert (message["model"], message["count"], message["pks"]) == ("customer", 30, [])


def test_a_job_cancelled_while_it_is_checked_stops_and_writes_nothing(settings, tmp_path, sql):
    rows = "".join(f"P{i},Q,p{i}@example.com,FR,1\n" for i in range(1200))  # three batches

    async def cancel_it(current):
        await cancel_job(settings, current.id)

    with pytest.raises(Cancelled):
        job(settings, write(tmp_path, HEADER + rows), on_progress=cancel_it)
    assert sql("SELECT count(*) FROM customer")[0][0] == 0
    assert sql("SELECT status, rows_done FROM import_job")[0][0] == "cancelled"


def test_a_job_cancelled_while_it_is_applied_writes_nothing(pg_settings, tmp_path, sql):
    rows = "".join(f"P{i},Q,p{i}@example.com,FR,1\n" for i in range(2500))  # two spool batches

    async def cancel_it(current):
        if current.status == "applying":
            await cancel_job(pg_settings, current.id)

    with pytest.raises(Cancelled):
        job(pg_settings, write(tmp_path, HEADER + rows), on_progress=cancel_it)
    count = fetch(pg_settings, "SELECT count(*) FROM customer")[0][0]
    assert count == 0, "a cancel during the apply rolls it back"


async def cancel_job(settings, job_id):
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine).begin() as session:
            assert await cancel(session, job_id)
    finally:
        await engine.dispose()


def test_a_large_file_is_written_in_slices_every_row_once(seeded, tmp_path, sql, monkeypatch):
    """PostgreSQL writes the staged rows a slice at a time (each statement stays within
    the statement timeout); slices of 3 here, so both kinds of rows span several."""
    monkeypatch.setattr("admin_app.imports.writing.SLICE", 3)
    existing = [r[0] for r in sql("SELECT email FROM customer ORDER BY id LIMIT 4")]
    lines = [f"Renamed,X,{e}" for e in existing] + [
        f"New{n},Y,new{n}@example.com" for n in range(7)
    ]
    text = "first_name,last_name,email\n" + "\n".join(lines) + "\n"
    done: list[int] = []

    async def seen(job) -> None:
        done.append(job.rows_done)

    job_id, _, report = job(
        seeded, write(tmp_path, text), mode=ImportMode.UPSERT, key="email", on_progress=seen
    )
    assert (report.new, report.updated) == (7, 4)
    assert status(sql, job_id) == ("done", "")
    renamed = sql("SELECT count(*) FROM customer WHERE first_name = 'Renamed'")[0][0]
    created = sql("SELECT count(*) FROM customer WHERE email LIKE 'new%@example.com'")[0][0]
    assert (renamed, created) == (4, 7), "a slice was skipped or written twice"
    changes = sql("SELECT created, count(*) FROM import_change GROUP BY created ORDER BY created")
    assert [tuple(c) for c in changes] == [(False, 4), (True, 7)]
    assert done[-1] == 11, f"the progress did not reach every row: {done}"
