"""Reverting an applied import from its audit entry: one action, all of it or nothing,
with the same permissions as any revert, one audit entry and one live message."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from admin_app.audit.revert import RevertError
from admin_app.imports.revert import revert_import
from admin_app.live.service import LiveService
from admin_app.models import AuditEntry, Customer, ImportMode
from tests.helpers import (
    create_admin,
    csrf_token,
    give_role,
    login,
    make_role,
    run,
    table_counts,
)
from tests.imports.helpers import HEADER, run_job, write


def job(settings, path, **kwargs):
    return asyncio.run(run_job(settings, path, **kwargs))[0]


def import_entry(sql, job_id) -> int:
    return sql("SELECT audit_entry_id FROM import_job WHERE id = :id", id=job_id)[0][0]


def revert(client: TestClient, entry_id: int):
    return client.post(
        f"/admin/_api/audit-entry/row-action?name=revert&pk={entry_id}",
        headers={"X-CSRFToken": csrf_token(client)},
    )


def flashed(client: TestClient, answer) -> str:
    """The page the admin goes to after a row action, with its flash message."""
    return client.get(answer.json()["redirect"]).text


def customer(sql, email):
    rows = sql(
        "SELECT first_name, country, is_active, version FROM customer WHERE email = :e", e=email
    )
    return tuple(rows[0]) if rows else None


@pytest.fixture
def published(monkeypatch):
    """The live changes the app publishes."""
    changes = []
    original = LiveService.publish

    def record(self, change):
        changes.append(change)
        original(self, change)

    monkeypatch.setattr(LiveService, "publish", record)
    return changes


def test_reverting_a_create_import_deletes_exactly_its_rows(
    seeded, admin_client, tmp_path, sql, published
):
    before = sql("SELECT id, first_name, version FROM customer ORDER BY id")
    rows = "".join(f"P{i},Q,p{i}@example.com,FR,1\n" for i in range(30))
    job_id = job(seeded, write(tmp_path, HEADER + rows))
    assert sql("SELECT count(*) FROM import_change WHERE job_id = :j", j=job_id)[0][0] == 30

    answer = revert(admin_client, import_entry(sql, job_id))

    assert answer.status_code == 200, answer.text
    assert "30 record(s) deleted, 0 restored" in flashed(admin_client, answer)
    after = sql("SELECT id, first_name, version FROM customer ORDER BY id")
    assert after == before, "the imported rows are gone and nothing else changed"
    (note, model, changes) = sql(
        "SELECT note, model, changes FROM audit_entry WHERE action = 'revert'"
    )[0]
    assert (note, model) == (f"revert of #{import_entry(sql, job_id)}", "customer")
    logged = json.loads(changes) if isinstance(changes, str) else changes
    assert logged == {"rows_deleted": [None, 30], "rows_restored": [None, 0]}
    assert sql("SELECT reverted_at IS NOT NULL FROM import_job WHERE id = :j", j=job_id)[0][0]
    assert sql("SELECT count(*) FROM import_change")[0][0] == 0, "the change set is used up"
    reverts = [c.to_json() for c in published if c.model == "customer"]
    assert len(reverts) == 1, f"one live message for the whole revert, got {reverts}"
    assert (reverts[0]["action"], reverts[0]["count"], reverts[0]["pks"]) == ("deleted", 30, [])


def test_reverting_an_upsert_restores_the_values_it_overwrote(seeded, admin_client, tmp_path, sql):
    (pk,) = sql("SELECT min(id) FROM customer")[0]
    sql("UPDATE customer SET country = 'FR', is_active = :t WHERE id = :p", t=True, p=pk)
    written = (
        "SELECT email, first_name, country, is_active, version, city FROM customer WHERE id = :p"
    )
    (email, first, country, active, version, city) = sql(written, p=pk)[0]
    text = HEADER + f"Renamed,X,{email.upper()},,no\nNew,Person,new@example.com,DE,yes\n"
    job_id = job(seeded, write(tmp_path, text), mode=ImportMode.UPSERT, key="email")
    assert tuple(sql(written, p=pk)[0]) == (
        email.upper(),
        "Renamed",
        None,
        False,
        version + 1,
        city,
    )

    answer = revert(admin_client, import_entry(sql, job_id))

    assert answer.status_code == 200, answer.text
    assert tuple(sql(written, p=pk)[0]) == (email, first, country, active, version + 2, city), (
        "every written column has its old value back, typed; the revert is a new version"
    )
    assert customer(sql, "new@example.com") is None, "the row the upsert created is gone"
    assert "1 record(s) deleted, 1 restored" in flashed(admin_client, answer)


def test_a_row_edited_since_the_import_refuses_the_whole_revert(
    seeded, admin_client, tmp_path, sql
):
    (email,) = sql("SELECT email FROM customer ORDER BY id LIMIT 1")[0]
    text = HEADER + f"Renamed,X,{email},FR,yes\nNew,Person,new@example.com,DE,yes\n"
    job_id = job(seeded, write(tmp_path, text), mode=ImportMode.UPSERT, key="email")
    sql("UPDATE customer SET first_name = 'Later', version = version + 1 WHERE email = :e", e=email)
    counts = table_counts(seeded)

    answer = revert(admin_client, import_entry(sql, job_id))

    assert answer.status_code == 400, answer.text
    message = answer.json()["msg"]
    assert "1 of the 2 record(s)" in message and "nothing was reverted" in message
    assert table_counts(seeded) == counts, "nothing was half-reverted"
    assert customer(sql, email)[0] == "Later"
    assert customer(sql, "new@example.com") is not None
    assert sql("SELECT reverted_at FROM import_job WHERE id = :j", j=job_id)[0][0] is None


def test_a_record_referring_to_an_imported_row_refuses_the_revert(
    seeded, admin_client, tmp_path, sql
):
    job_id = job(seeded, write(tmp_path, HEADER + "New,Person,new@example.com,DE,yes\n"))
    sql(
        "UPDATE orders SET customer_id = (SELECT id FROM customer WHERE email = :e) "
        "WHERE id = (SELECT min(id) FROM orders)",
        e="new@example.com",
    )
    answer = revert(admin_client, import_entry(sql, job_id))
    assert answer.status_code == 400, answer.text
    assert "1 record(s) in orders now refer to records this import created" in answer.json()["msg"]
    assert customer(sql, "new@example.com") is not None


def test_a_second_revert_is_refused(seeded, admin_client, tmp_path, sql):
    job_id = job(seeded, write(tmp_path, HEADER + "New,Person,new@example.com,DE,yes\n"))
    entry = import_entry(sql, job_id)
    assert revert(admin_client, entry).status_code == 200
    again = revert(admin_client, entry)
    assert again.status_code == 400, again.text
    assert f"Import #{job_id} was already reverted" in again.json()["msg"]
    assert sql("SELECT count(*) FROM audit_entry WHERE action = 'revert'")[0][0] == 1
    revert_entry = sql("SELECT id FROM audit_entry WHERE action = 'revert'")[0][0]
    assert revert(admin_client, revert_entry).status_code == 400, "a revert of an import is final"


def test_only_a_role_that_may_delete_what_it_created_can_revert(seeded, client, tmp_path, sql):
    base = ["audit-entry:view", "audit-entry:revert", "customer:view"]
    make_role(seeded, "Editors", [*base, "customer:edit"])
    create_admin(seeded, "ed@example.com", superuser=False)
    give_role(seeded, "ed@example.com", "Editors")
    created = job(seeded, write(tmp_path, HEADER + "New,Person,new@example.com,DE,yes\n"))
    (email,) = sql("SELECT email FROM customer ORDER BY id LIMIT 1")[0]
    path = write(tmp_path, f"email,first_name\n{email},Changed\n", "names.csv")
    updated = job(seeded, path, mode=ImportMode.UPDATE, key="email")
    login(client, "ed@example.com")

    page = client.get(f"/admin/audit-entry/detail?pk={import_entry(sql, created)}").text
    assert "fa-rotate-left" not in page, "no revert is offered without customer:delete"
    refused = revert(client, import_entry(sql, created))
    assert refused.status_code == 400 and refused.json()["msg"] == "Forbidden"
    assert customer(sql, "new@example.com") is not None

    allowed = revert(client, import_entry(sql, updated))
    assert allowed.status_code == 200, "editing is all that reverting an update needs"
    assert customer(sql, email)[0] != "Changed"


def test_rows_outside_the_users_row_scope_refuse_the_revert(seeded, tmp_path, sql):
    rows = "Bea,Ray,bea@example.com,DE,yes\nCal,Orr,cal@example.com,FR,yes\n"
    job_id = job(seeded, write(tmp_path, HEADER + rows))
    entry_id = import_entry(sql, job_id)

    async def as_french_only(session):
        entry = await session.get(AuditEntry, entry_id)
        reachable = select(Customer.id).where(Customer.country == "FR")
        await revert_import(session, entry, reachable)

    with pytest.raises(RevertError, match="1 record\\(s\\) this import wrote are outside"):
        run(seeded, as_french_only)
    assert customer(sql, "bea@example.com") is not None, "nothing was reverted"
    assert customer(sql, "cal@example.com") is not None
