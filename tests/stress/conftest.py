"""The stress suite: attacks and failures at two scales, with a written report.

`make stress` runs this folder with `STRESS_SCALE=full` (and `tests/stress/report.py` as a
plugin) and writes what was tried, how
many times and what happened to `docs/reliability.md` (`STRESS_REPORT`). The normal
suite runs the same tests at `smoke` scale, so every scenario is exercised on every CI
run and a finding's regression cannot slip back in.

A scenario test asserts its pass criteria (so a failure fails the run) and records
its figures with `report.add(...)`; the report also lists every test's outcome, so a
failed or errored scenario is in the document, not only in the terminal.
"""

from __future__ import annotations

import pytest

from tests.stress.report import REPORT, Report, Scale


@pytest.fixture(scope="session")
def scale() -> Scale:
    return REPORT.scale


@pytest.fixture(scope="session")
def report() -> Report:
    return REPORT
