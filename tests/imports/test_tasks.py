"""Import jobs in the web process: they run as tasks, and a restart finds them again."""

from __future__ import annotations

from starlette.testclient import TestClient

from admin_app.main import create_app
from tests.helpers import create_admin, run, wait_until
from tests.imports.helpers import HEADER, write


def add_job(settings, path, status, user_id):
    from admin_app.imports.jobs import create_job
    from admin_app.models import ImportMode

    async def work(session):
        columns = {c: c for c in HEADER.strip().split(",")}
        job = await create_job(
            session,
            model="customer",
            user_id=user_id,
            file_path=str(path),
            original_name=path.name,
            mode=ImportMode.CREATE,
            mapping=columns,
            status=status,
        )
        return job.id

    return run(settings, work)


def job_state(sql, job_id):
    return tuple(sql("SELECT status, rows_new, error FROM import_job WHERE id = :i", i=job_id)[0])


def test_a_restart_fails_the_job_being_applied_and_checks_again_the_one_being_checked(
    settings, tmp_path, sql
):
    user = create_admin(settings, "ops@example.com", superuser=True)
    path = write(tmp_path, HEADER + "Bea,Ray,bea@example.com,DE,yes\n")
    applying = add_job(settings, path, "applying", user)
    validating = add_job(settings, path, "validating", user)
    with TestClient(create_app(settings)):
        state = wait_until(
            lambda: job_state(sql, validating)[0] == "validated" and job_state(sql, validating),
            timeout=30,
            what="the interrupted validation to run again",
        )
        assert state[:2] == ("validated", 1), state
    status, _, error = job_state(sql, applying)
    assert status == "failed" and "nothing was written" in error, (status, error)
    assert sql("SELECT count(*) FROM customer")[0][0] == 0


def test_a_started_job_runs_as_its_user_and_is_applied(settings, tmp_path, sql):
    user = create_admin(settings, "ops@example.com", superuser=True)
    path = write(tmp_path, HEADER + "Bea,Ray,bea@example.com,DE,yes\n")
    with TestClient(create_app(settings)) as client:
        job_id = add_job(settings, path, "pending", user)

        async def start() -> None:
            client.app_state["imports"].start(job_id, apply=True)

        client.portal.call(start)
        wait_until(lambda: job_state(sql, job_id)[0] == "done", 30, "the import to finish")
    assert sql("SELECT email FROM customer")[0][0] == "bea@example.com"
    actor = sql("SELECT actor, user_id FROM audit_entry WHERE action = 'import'")[0]
    assert tuple(actor) == ("ops@example.com", user), "audited as the user who started it"
