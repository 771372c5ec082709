"""A job's progress reaches its user through the live channel, and a cancel reaches an
apply in this process at once (on SQLite too, where the apply holds the write lock)."""

from __future__ import annotations

import asyncio
from typing import Any

from admin_app.admin.views.customer import CustomerView
from admin_app.db import create_engine, create_sessionmaker
from admin_app.imports.jobs import cancel
from admin_app.imports.tasks import ImportTasks
from tests.helpers import create_admin
from tests.imports.helpers import HEADER, write
from tests.imports.test_tasks import add_job

ROWS = 1_200
"""Three validation batches, so the check reports progress before it ends."""


def people(tmp_path, rows: int = ROWS):
    lines = "".join(f"Ann{n},Lee,ann{n}@example.com,FR,yes\n" for n in range(rows))
    return write(tmp_path, HEADER + lines)


async def run_job(settings, job_id: int, on_message: Any = None) -> list[dict[str, Any]]:
    """Run the job as the web process would; return what its user was told."""
    engine = create_engine(settings)
    told: list[dict[str, Any]] = []
    try:
        tasks: ImportTasks

        def tell(user_id: int, message: dict[str, Any]) -> None:
            told.append({"user": user_id, **message})
            if on_message is not None:
                on_message(tasks, message)

        maker = create_sessionmaker(engine)
        tasks = ImportTasks(settings, maker, {"customer": CustomerView()}, None, tell)
        tasks.start(job_id, apply=True)
        running = set(tasks.tasks.values())
        done, _ = await asyncio.wait(running, timeout=60)
        assert done == running, "the job did not end within a minute"
        return told
    finally:
        await engine.dispose()


def test_a_job_tells_its_user_how_the_check_and_the_apply_go_and_how_it_ended(
    settings, tmp_path, sql
):
    user = create_admin(settings, "ops@example.com", superuser=True)
    job_id = add_job(settings, people(tmp_path), "pending", user)
    told = asyncio.run(run_job(settings, job_id))
    assert {m["user"] for m in told} == {user}, "progress went to someone else"
    assert {m["type"] for m in told} == {"import"} and {m["job"]["id"] for m in told} == {job_id}
    statuses = [m["job"]["status"] for m in told]
    assert "validating" in statuses, f"no progress while checking: {statuses}"
    assert "applying" in statuses, f"no progress while applying: {statuses}"
    last = told[-1]["job"]
    assert (last["status"], last["rows_done"], last["new"]) == ("done", ROWS, ROWS), last
    checked = [m["job"]["rows_done"] for m in told if m["job"]["status"] == "validating"]
    assert checked == sorted(checked), f"the count went backwards: {checked}"


def test_a_cancel_stops_an_apply_at_once_and_nothing_is_written(settings, tmp_path, sql):
    user = create_admin(settings, "ops@example.com", superuser=True)
    job_id = add_job(settings, people(tmp_path), "pending", user)
    stopping: list[asyncio.Task[None]] = []

    def cancel_while_applying(tasks: ImportTasks, message: dict[str, Any]) -> None:
        if message["job"]["status"] == "applying" and not stopping:

            async def stop() -> None:  # what POST /admin/_api/imports/{id}/cancel does
                await tasks.stop_job(job_id)
                async with tasks.sessions.begin() as session:
                    assert await cancel(session, job_id), "the job had already ended"

            stopping.append(asyncio.get_running_loop().create_task(stop()))

    async def scenario() -> None:
        await run_job(settings, job_id, cancel_while_applying)
        await asyncio.wait_for(asyncio.gather(*stopping), 30)

    asyncio.run(scenario())
    assert stopping, "the apply never reported progress"
    assert sql("SELECT status FROM import_job WHERE id = :i", i=job_id)[0][0] == "cancelled"
    assert sql("SELECT count(*) FROM customer")[0][0] == 0, "a cancelled apply wrote rows"
    assert sql("SELECT count(*) FROM import_change")[0][0] == 0
