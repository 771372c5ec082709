"""What `make stress` tried and what happened, written to docs/reliability.md.

Loaded as a plugin (`pytest -p tests.stress.report`, as `make stress` does), so that
the outcomes of the existing tests it also runs (the database restart, the email
worker's SIGKILL) are in the report beside the stress scenarios'.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from admin_app.settings import PROJECT_ROOT


@dataclass(frozen=True)
class Scale:
    """How hard each scenario pushes. `full` meets the issue's numbers; `smoke` is for CI."""

    name: str
    fuzz_requests: int  # hypothesis examples, spread over every route
    concurrent_logins: int
    wrong_passwords: int
    client_ips: int
    edit_pairs: int
    crash_rounds: int


SCALES = {
    "full": Scale("full", 20_000, 200, 1_000, 50, 1_000, 3),
    "smoke": Scale("smoke", 600, 20, 100, 10, 50, 1),
}


def current_scale() -> Scale:
    name = os.environ.get("STRESS_SCALE", "smoke")
    if name not in SCALES:
        raise pytest.UsageError(f"STRESS_SCALE must be one of {', '.join(SCALES)}, not {name!r}")
    return SCALES[name]


@dataclass
class Finding:
    section: str
    tried: str
    count: int
    outcome: str
    passed: bool


# The report's sections, in order, with what each covers.
SECTIONS: dict[str, str] = {
    "Fuzzing": "Hypothesis-generated requests against every route the app serves, "
    "signed in and signed out.",
    "Injection": "SQL, template and header injection, and stored HTML and script.",
    "Brute force and load": "Concurrent logins and password guessing from many clients.",
    "Crashes": "The web process and the email worker killed with SIGKILL mid-work.",
    "Concurrent edits": "Pairs of administrators saving the same record at once.",
    "Database restart": "PostgreSQL stopped and started while requests are in flight.",
}


@dataclass
class Report:
    scale: Scale
    findings: list[Finding] = field(default_factory=list)
    outcomes: list[tuple[str, str, float]] = field(default_factory=list)

    def add(self, section: str, tried: str, count: int, outcome: str, passed: bool) -> None:
        if section not in SECTIONS:
            raise ValueError(f"unknown report section {section!r}")
        self.findings.append(Finding(section, tried, count, outcome, passed))

    def markdown(self, started: datetime, seconds: float) -> str:
        failed = [o for o in self.outcomes if o[1] != "passed"]
        verdict = "every scenario passed" if not failed else f"{len(failed)} test(s) did not pass"
        lines = [
            "# Reliability",
            "",
            "Written by `make stress` (the tests in `tests/stress/` at full scale); do not edit",
            "by hand. Run it again to check these figures on your machine. CI runs the same",
            "tests at smoke scale on every change.",
            "",
            f"- Run: {started:%Y-%m-%d %H:%M} UTC, {seconds / 60:.1f} minutes, scale `{self.scale.name}`",
            f"- Machine: {os.cpu_count()} CPU cores, Python {platform.python_version()}, "
            f"{platform.system()} {platform.machine()}",
            f"- Result: {verdict}",
            "",
        ]
        for section, intro in SECTIONS.items():
            rows = [f for f in self.findings if f.section == section]
            lines += [f"## {section}", "", intro, ""]
            if not rows:
                lines += ["Nothing was recorded for this section in this run.", ""]
                continue
            lines += [
                "| What was tried | Times | What happened | Pass |",
                "| --- | ---: | --- | --- |",
            ]
            lines += [
                f"| {f.tried} | {f.count:,} | {f.outcome} | {'yes' if f.passed else '**no**'} |"
                for f in rows
            ]
            lines.append("")
        lines += [
            "## Every test of the run",
            "",
            "| Test | Outcome | Seconds |",
            "| --- | --- | ---: |",
        ]
        lines += [f"| `{name}` | {outcome} | {took:.1f} |" for name, outcome, took in self.outcomes]
        return "\n".join(lines) + "\n"


REPORT = Report(current_scale())
STARTED = datetime.now(UTC)

REUSED = {
    "tests/test_db_restart.py": "Database restart",
    "tests/email/test_worker_process.py::test_sigkill_mid_batch_loses_no_message": "Crashes",
}
"""Tests of the normal suite that `make stress` runs too, and their report section."""

_DOCS: dict[str, str] = {}


def _reused_section(nodeid: str) -> str | None:
    return next((s for prefix, s in REUSED.items() if nodeid.startswith(prefix)), None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        function = getattr(item, "function", None)
        doc = (function.__doc__ or "").strip().splitlines() if function else []
        _DOCS[item.nodeid] = doc[0] if doc else item.name


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    reused = _reused_section(report.nodeid)
    if "tests/stress/" not in report.nodeid and reused is None:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        name = report.nodeid.split("tests/", 1)[1]
        outcome = "error in setup" if report.when == "setup" else report.outcome
        REPORT.outcomes.append((name, outcome, report.duration))
        if reused is not None:
            figures = ", ".join(f"{k} {v}" for k, v in report.user_properties)
            REPORT.add(
                reused,
                f"`{name}` (normal suite): {_DOCS.get(report.nodeid, name)}",
                1,
                f"{outcome} in {report.duration:.1f} s" + (f"; {figures}" if figures else ""),
                outcome == "passed",
            )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    target = os.environ.get("STRESS_REPORT")
    if not target or not REPORT.outcomes:
        return
    path = Path(target) if Path(target).is_absolute() else PROJECT_ROOT / target
    seconds = (datetime.now(UTC) - STARTED).total_seconds()
    path.write_text(REPORT.markdown(STARTED, seconds))
