"""The import pages: offered to those who may import, each job's page to its owner only,
and the list's toolbar links to them only with the permission."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from admin_app.main import create_app
from tests.helpers import create_admin, csrf_token, give_role, login, make_role
from tests.imports.helpers import HEADER, write
from tests.imports.test_tasks import add_job

IMPORTER = "importer@example.com"
VIEWER = "viewer@example.com"
LINK = re.compile(r'href="[^"]*/admin/customer/import"[^>]*data-import-link')


def people(settings):
    """An importer (view, create, import customers), a viewer (view only), and a superuser."""
    make_role(settings, "Importers", ["customer:view", "customer:create", "customer:import"])
    make_role(settings, "Viewers", ["customer:view"])
    create_admin(settings, IMPORTER, superuser=False)
    create_admin(settings, VIEWER, superuser=False)
    give_role(settings, IMPORTER, "Importers")
    give_role(settings, VIEWER, "Viewers")
    return create_admin(settings, "root@example.com", superuser=True)


def upload(client: TestClient, token: dict[str, str], content: bytes, name: str = "people.csv"):
    """The answer to uploading `content` as a customer import named `name`."""
    url = f"/admin/_api/imports/upload/customer?name={name}"
    return client.put(url, content=content, headers=token)


def switch(client: TestClient, email: str) -> None:
    client.post("/admin/logout", data={"csrftoken": csrf_token(client)})
    assert login(client, email).status_code == 303, f"{email} could not log in"


def test_the_pages_and_the_link_follow_the_import_permission(settings, tmp_path):
    people(settings)
    with TestClient(create_app(settings)) as client:
        login(client, IMPORTER)
        page = client.get("/admin/customer/import")
        assert page.status_code == 200, page.text
        assert 'type="file"' in page.text and "import.js" in page.text, "step 1 offers a file"
        listing = client.get("/admin/customer/list")
        assert LINK.search(listing.text), "the list's toolbar links to the import page"
        switch(client, VIEWER)
        assert client.get("/admin/customer/import").status_code == 403, "no import permission"
        assert not LINK.search(client.get("/admin/customer/list").text), "no link without it"
        assert client.get("/admin/nothing/import").status_code == 404


def test_a_jobs_page_is_its_owners_or_a_superusers(settings, tmp_path):
    root = people(settings)
    path = write(tmp_path, HEADER + "Bea,Ray,bea@example.com,DE,yes\n")
    with TestClient(create_app(settings)) as client:
        login(client, IMPORTER)
        token = {"X-CSRFToken": csrf_token(client)}
        uploaded = upload(client, token, path.read_bytes())
        assert uploaded.status_code == 201, uploaded.text
        mine = uploaded.json()["id"]
        page = client.get(f"/admin/customer/import/{mine}")
        assert page.status_code == 200, page.text
        assert 'data-import-column="email"' in page.text, "step 2 lists the file's columns"
        assert re.search(r'<option value="email" selected>', page.text), "names are matched"
        assert "Create new records only" in page.text
        assert "Update existing" not in page.text, "no update mode without customer:edit"
        theirs = add_job(settings, path, "validated", root)
        assert client.get(f"/admin/customer/import/{theirs}").status_code == 404, "not theirs"
        assert client.get(f"/admin/product/import/{mine}").status_code in (403, 404)
        assert client.get("/admin/customer/import/99999999999").status_code == 404
        switch(client, VIEWER)
        assert client.get(f"/admin/customer/import/{mine}").status_code == 403
        switch(client, "root@example.com")
        assert client.get(f"/admin/customer/import/{mine}").status_code == 200, "a superuser"


def test_a_mapping_that_cannot_work_is_refused_at_its_field(settings, tmp_path):
    people(settings)
    path = write(tmp_path, HEADER + "Bea,Ray,bea@example.com,DE,yes\n")
    with TestClient(create_app(settings)) as client:
        login(client, "root@example.com")
        token = {"X-CSRFToken": csrf_token(client)}
        job = upload(client, token, path.read_bytes()).json()
        url = f"/admin/_api/imports/{job['id']}/validate"
        no_key = {"mapping": {"first_name": "first_name"}, "mode": "update", "key": "email"}
        answer = client.post(url, json=no_key, headers=token)
        assert answer.status_code == 400, answer.text
        assert answer.json()["field"] == "key" and "key" in answer.json()["error"]
        missing = {"mapping": {"first_name": "first_name"}, "mode": "create"}
        answer = client.post(url, json=missing, headers=token)
        assert answer.status_code == 400 and answer.json()["field"] == "mapping", answer.text
        assert "New records need a value" in answer.json()["error"]
        page = client.get(f"/admin/customer/import/{job['id']}")
        assert 'data-import-status="uploaded"' in page.text, "a refused mapping starts nothing"


def test_a_failed_jobs_page_says_why_and_offers_a_retry(settings, tmp_path, sql):
    root = people(settings)
    path = write(tmp_path, HEADER + "Bea,Ray,bea@example.com,DE,yes\n")
    job_id = add_job(settings, path, "failed", root)
    sql("UPDATE import_job SET error = 'The server stopped during the import.'")
    with TestClient(create_app(settings)) as client:
        login(client, "root@example.com")
        page = client.get(f"/admin/customer/import/{job_id}")
        assert page.status_code == 200, page.text
        assert 'data-import-status="failed"' in page.text
        assert "The server stopped during the import." in page.text, "the reason is shown"
        assert 'data-import-action="retry"' in page.text
        token = {"X-CSRFToken": csrf_token(client)}
        retry = {"mapping": {c: c for c in HEADER.strip().split(",")}, "mode": "create"}
        again = client.post(f"/admin/_api/imports/{job_id}/validate", json=retry, headers=token)
        assert again.status_code == 202, f"a failed job can be checked again: {again.text}"


def test_an_upload_or_mapping_refused_is_told_in_the_accounts_language(settings, tmp_path):
    people(settings)
    path = write(tmp_path, HEADER + "Bea,Ray,bea@example.com,DE,yes\n")
    with TestClient(create_app(settings)) as client:
        login(client, "root@example.com")
        token = {"X-CSRFToken": csrf_token(client)}
        client.post("/admin/account/language", data={"locale": "fr"}, headers=token)
        wrong = upload(client, token, b"{}", "people.json")
        assert wrong.status_code == 400, wrong.text
        assert "Importez un fichier .csv ou .xlsx" in wrong.json()["error"]
        job = upload(client, token, path.read_bytes())
        url = f"/admin/_api/imports/{job.json()['id']}/validate"
        missing = {"mapping": {"first_name": "first_name"}, "mode": "create"}
        answer = client.post(url, json=missing, headers=token)
        assert "Les nouveaux enregistrements demandent une valeur" in answer.json()["error"]
