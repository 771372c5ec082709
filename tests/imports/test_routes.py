"""Following an import from the admin: its status, its error report, cancelling it;
only for the account that started it (or a superuser)."""

from __future__ import annotations

from starlette.testclient import TestClient

from admin_app.main import create_app
from tests.helpers import create_admin, csrf_token, login
from tests.imports.helpers import HEADER, write
from tests.imports.test_tasks import add_job, job_state


def test_the_owner_follows_the_job_downloads_its_errors_and_cancels_it(settings, tmp_path, sql):
    owner = create_admin(settings, "ops@example.com", superuser=False)
    create_admin(settings, "other@example.com", superuser=False)
    path = write(tmp_path, HEADER + "Bea,Ray,bea@example.com,ZZ,yes\n")
    job_id = add_job(settings, path, "validated", owner)
    report = tmp_path / "errors.csv"
    report.write_text(HEADER.strip() + ",error_row,error_reason\nBea,Ray,b@x.io,ZZ,yes,1,country\n")
    sql("UPDATE import_job SET error_report_path = :p, rows_error = 1", p=str(report))
    with TestClient(create_app(settings)) as client:
        login(client, "other@example.com")
        assert client.get(f"/admin/_api/imports/{job_id}").status_code == 404, "not theirs"
        client.post("/admin/logout", data={"csrftoken": csrf_token(client)})
        login(client, "ops@example.com")
        status = client.get(f"/admin/_api/imports/{job_id}")
        assert status.status_code == 200, status.text
        assert (status.json()["status"], status.json()["errors"]) == ("validated", 1)
        errors = client.get(f"/admin/_api/imports/{job_id}/errors.csv")
        assert errors.status_code == 200 and "error_reason" in errors.text
        assert "attachment" in errors.headers["content-disposition"]
        token = {"X-CSRFToken": csrf_token(client)}
        cancelled = client.post(f"/admin/_api/imports/{job_id}/cancel", headers=token)
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        again = client.post(f"/admin/_api/imports/{job_id}/cancel", headers=token)
        assert again.status_code == 409, "a finished job cannot be cancelled"
        assert client.get("/admin/_api/imports/nope").status_code == 404
    assert job_state(sql, job_id)[0] == "cancelled"
