"""Running a bulk edit, inline or in the background, and its progress where every process sees it.

Why not the import jobs' machinery (`imports.tasks`): an import job is a row of
`import_job` shaped by its file (path, mapping, mode, key, validate then apply, all in
one transaction). A bulk edit has no file, is already previewed, and commits batch by
batch. What it shares with imports is reused: the request a job runs under
(`imports.requests`), the live service's `tell` for its user's progress bar (at most
every `TELL_EVERY` seconds, as imports do) and `publish` for everyone else, one
change per batch. Its progress is a small JSON file beside its plan, so whichever
process serves the page can answer a poll, with no table and no migration.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from starlette.requests import HTTPConnection

from admin_app.bulk_edit.apply import Applier, Outcome
from admin_app.bulk_edit.plan import Plan, folder
from admin_app.db import utcnow
from admin_app.imports.tasks import TELL_EVERY, Tell
from admin_app.live.messages import Actor, Change
from admin_app.settings import Settings

log = logging.getLogger(__name__)

INLINE_LIMIT = 1_000
"""Rows applied within the request; a larger edit runs in the background."""

STALE = 300
"""Seconds without progress after which a running edit is reported as stopped (its
process went away; the batches it committed stay, and can be undone)."""

STOPPED = (
    "The server stopped during the edit. The batches written before it stay: undo them "
    "from the audit log, or edit the rest again."
)

Publish = Callable[[Change], None]


def progress(plan: Plan, outcome: Outcome, status: str, error: str = "") -> dict[str, Any]:
    """What the result page and its progress bar show."""
    return {
        "token": plan.token,
        "model": plan.model,
        "status": status,
        "total": len(plan.pks),
        "matched": plan.matched,
        "unchanged": plan.unchanged,
        "done": outcome.done,
        "changed": outcome.changed,
        "skipped": outcome.skipped,
        "first_skips": [asdict(skip) for skip in outcome.first_skips],
        "change_set": outcome.change_set,
        "entry_id": outcome.entry_id,
        "error": error,
        "at": time.time(),
    }


def write_state(settings: Settings, state: dict[str, Any]) -> None:
    path = folder(settings, state["token"])
    temporary = path / "state.json.tmp"
    temporary.write_text(json.dumps(state), encoding="utf-8")
    temporary.replace(path / "state.json")


def claim(settings: Settings, plan: Plan) -> bool:
    """Mark the plan as being applied; False if it already was (a second click, another
    process): the state file is created only if it does not exist."""
    path = folder(settings, plan.token) / "state.json"
    try:
        with path.open("x", encoding="utf-8") as handle:
            handle.write(json.dumps(progress(plan, Outcome(), "running")))
    except FileExistsError:
        return False
    return True


def read_state(settings: Settings, token: str) -> dict[str, Any] | None:
    """The edit's progress, or None before it was applied."""
    try:
        state: dict[str, Any] = json.loads((folder(settings, token) / "state.json").read_text())
    except (OSError, ValueError):
        return None
    if state["status"] == "running" and time.time() - state["at"] > STALE:
        state["status"] = "stopped"
    return state


class BulkEditRuns:
    """The bulk edits of one process: each applied inline or as a task of its own."""

    def __init__(self) -> None:
        self.tasks: dict[str, asyncio.Task[None]] = {}

    async def run(
        self,
        applier: Applier,
        plan: Plan,
        actor: Actor,
        publish: Publish | None = None,
        tell: Tell | None = None,
    ) -> dict[str, Any]:
        """Apply the plan now (the caller has `claim`ed it); its final state."""
        settings = applier.settings
        last = 0.0

        async def step(outcome: Outcome, changed: list[str]) -> None:
            nonlocal last
            state = progress(plan, outcome, "running")
            write_state(settings, state)
            if publish is not None and changed:
                publish(Change(plan.model, tuple(changed), "updated", actor, utcnow().isoformat()))
            if tell is not None and time.monotonic() - last >= TELL_EVERY:
                last = time.monotonic()
                tell(actor.id, {"type": "bulk_edit", "edit": state})

        try:
            outcome = await applier.apply(plan, step)
        except asyncio.CancelledError:  # the server is stopping: say so at once
            state = read_state(settings, plan.token) or progress(plan, Outcome(), "stopped")
            state.update(status="stopped", error=STOPPED, at=time.time())
            write_state(settings, state)
            raise
        except Exception as error:
            log.exception("bulk edit %s failed", plan.token)
            state = read_state(settings, plan.token) or progress(plan, Outcome(), "failed")
            state.update(status="failed", error=_failure(error), at=time.time())
            write_state(settings, state)
            return state
        state = progress(plan, outcome, "done")
        write_state(settings, state)
        if tell is not None:
            tell(actor.id, {"type": "bulk_edit", "edit": state})
        return state

    def start(self, applier: Applier, plan: Plan, actor: Actor, **kwargs: Any) -> None:
        """Apply the plan in a task of this process (the caller has `claim`ed it)."""

        async def run() -> None:
            await self.run(applier, plan, actor, **kwargs)

        task = asyncio.create_task(run(), name=f"bulk-edit-{plan.token}")
        self.tasks[plan.token] = task
        task.add_done_callback(lambda _task: self.tasks.pop(plan.token, None))

    async def stop(self) -> None:
        """Cancel the running tasks (what a batch was writing is rolled back; each edit
        is marked stopped). The lifespan calls it at shutdown."""
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _failure(error: Exception) -> str:
    text = str(error).strip().splitlines()
    reason = text[0][:300] if text else type(error).__name__
    return (
        f"The edit stopped ({reason}). The batches written before it stay; "
        "undo them from the audit log."
    )


def get_bulk_edits(conn: HTTPConnection) -> BulkEditRuns:
    """The process's bulk edits (put on the app's state by the lifespan)."""
    runs: BulkEditRuns = conn.state.bulk_edits
    return runs
