"""The import flow through the admin's JSON calls: upload (streamed to disk), mapping,
validation and apply as tasks, progress by polling."""

from __future__ import annotations

from starlette.testclient import TestClient

from admin_app.main import create_app
from tests.conftest import make_settings
from tests.helpers import csrf_token, login, wait_until
from tests.imports.helpers import HEADER

FILE = (HEADER.replace("is_active", "Active") + "Bea,Ray,bea@example.com,DE,yes\n").encode()


def poll(client, job_id, status):
    def reached():
        job = client.get(f"/admin/_api/imports/{job_id}").json()
        return job if job["status"] in (status, "failed") else None

    job = wait_until(reached, 30, f"the import to be {status}")
    assert job["status"] == status, job
    return job


def test_upload_map_validate_and_apply(admin_client: TestClient, settings, sql):
    token = {"X-CSRFToken": csrf_token(admin_client)}
    uploaded = admin_client.put(
        "/admin/_api/imports/upload/customer?name=people.csv", content=FILE, headers=token
    )
    assert uploaded.status_code == 201, uploaded.text
    job = uploaded.json()
    assert job["status"] == "uploaded" and job["columns"][-1] == "Active"
    assert job["suggested"]["Active"] == "is_active", "matching names are preselected"
    assert "email" in job["key_fields"]
    choice = {"mapping": job["suggested"], "mode": "upsert", "key": "email", "save_as": "crm"}
    started = admin_client.post(
        f"/admin/_api/imports/{job['id']}/validate", json=choice, headers=token
    )
    assert started.status_code == 202, started.text
    checked = poll(admin_client, job["id"], "validated")
    assert (checked["new"], checked["errors"]) == (1, 0)
    applied = admin_client.post(f"/admin/_api/imports/{job['id']}/apply", headers=token)
    assert applied.status_code == 202, applied.text
    assert poll(admin_client, job["id"], "done")["rows_done"] == 1
    assert sql("SELECT email, is_active FROM customer")[0] == ("bea@example.com", True)
    assert sql("SELECT name FROM import_mapping")[0][0] == "crm"


def test_a_file_over_the_limit_is_refused_and_nothing_is_kept(database_url, tmp_path):
    from tests.helpers import create_admin

    settings = make_settings(database_url=database_url, data_dir=tmp_path, max_import_size=1024)
    create_admin(settings, "root@example.com", superuser=True)
    with TestClient(create_app(settings)) as client:
        login(client, "root@example.com")
        token = {"X-CSRFToken": csrf_token(client)}
        big = FILE + b"Cal,Orr,cal@example.com,FR,no\n" * 100
        answer = client.put(
            "/admin/_api/imports/upload/customer?name=big.csv", content=big, headers=token
        )
        assert answer.status_code == 413, answer.text
    assert not list((tmp_path / "imports" / "uploads").glob("*")), "the partial file is removed"


def test_uploading_needs_the_import_permission(client, settings):
    from tests.helpers import create_admin

    create_admin(settings, "clerk@example.com", superuser=False)
    login(client, "clerk@example.com")
    token = {"X-CSRFToken": csrf_token(client)}
    answer = client.put(
        "/admin/_api/imports/upload/customer?name=p.csv", content=FILE, headers=token
    )
    assert answer.status_code == 400 and "may not import" in answer.json()["error"]
