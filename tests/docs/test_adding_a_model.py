"""docs/adding-a-model.md, followed literally in a copy of the project, so the guide cannot rot.

The guide marks its steps (see the comment at its top): files to create, passages to
replace, text to append, a generated file's expected text, and ```sh blocks of
commands. This test copies the project, applies every step in order, runs every
command there with a fresh database, and then checks what a developer would check:
the migration creates the table, `admin-app db check` agrees, the linters pass, and
the app built from the copy lists suppliers and shows a product's supplier by name.

The copy runs only in subprocesses (`PYTHONPATH=<copy>`): the new model must never
reach this process's metadata, which other tests compare with the migrations.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest

from admin_app.db import Base
from admin_app.settings import PROJECT_ROOT
from tests.helpers import PASSWORD, copy_project, login, post_form

GUIDE = PROJECT_ROOT / "docs" / "adding-a-model.md"
VENV_BIN = Path(sys.executable).parent
MARKER = re.compile(r"^<!-- (file|replace|append|expect): (\S+) -->$")
FENCE = re.compile(r"^```(\w*)$")
FORMATTER_SWITCH = re.compile(r"^<!-- fmt:(off|on) -->$")  # keeps ruff off the fragments


@dataclass
class Step:
    kind: str  # file, replace, append, expect or sh
    line: int  # where the step starts in the guide, for failure messages
    path: str = ""
    text: str = ""
    new: str = ""


def _blocks(lines: list[str]) -> Iterator[tuple[int, str, str, str]]:
    """(line number, language, text, prose before it) for every fenced block."""
    prose: list[str] = []
    index = 0
    while index < len(lines):
        fence = FENCE.match(lines[index])
        if fence is None:
            prose.append(lines[index])
            index += 1
            continue
        end = lines.index("```", index + 1)
        yield (
            index + 1,
            fence.group(1),
            "".join(f"{t}\n" for t in lines[index + 1 : end]),
            ("\n".join(prose)),
        )
        prose = []
        index = end + 1


def parse_steps(markdown: str) -> list[Step]:
    """The guide's steps in order; an unmarked code block is an error, not a silent skip."""
    steps: list[Step] = []
    pending: Step | None = None
    for line, language, text, prose in _blocks(markdown.splitlines()):
        last = [p for p in prose.splitlines() if p.strip() and not FORMATTER_SWITCH.match(p)]
        marker = MARKER.match(last[-1]) if last else None
        if pending is not None:  # the second block of a replace
            pending.new = text
            steps.append(pending)
            pending = None
        elif marker is not None:
            kind, path = marker.groups()
            named = path.rsplit("*", 1)[-1]
            words = "\n".join(p for p in prose.splitlines() if not p.startswith("<!--"))
            assert named in words, f"line {line}: the text before the step must name {named}"
            step = Step(kind, line, path, text)
            if kind == "replace":
                pending = step
            else:
                steps.append(step)
        elif language == "sh":
            steps.append(Step("sh", line, text=text))
        else:
            assert language == "text", f"line {line}: a code block without a step marker"
    assert pending is None, f"line {pending.line}: a replace without its new text"
    return steps


def _only_match(project: Path, pattern: str, line: int) -> Path:
    matches = sorted(project.glob(pattern))
    assert len(matches) == 1, f"guide line {line}: {pattern} matches {matches}"
    return matches[0]


def apply(step: Step, project: Path, env: dict[str, str]) -> None:
    target = project / step.path
    where = f"guide line {step.line}"
    if step.kind == "file":
        assert not target.exists(), f"{where}: {step.path} exists already"
        target.write_text(step.text)
    elif step.kind == "append":
        target.write_text(target.read_text() + step.text)
    elif step.kind == "replace":
        content = "\n" + target.read_text()
        count = content.count("\n" + step.text)
        assert count == 1, f"{where}: the passage occurs {count} times in {step.path}"
        target.write_text(content.replace("\n" + step.text, "\n" + step.new, 1)[1:])
    elif step.kind == "expect":
        generated = _only_match(project, step.path, step.line).read_text()
        assert step.text in generated, f"{where}: the generated file differs:\n{generated}"
    else:
        result = shell(step.text, project, env)
        assert result.returncode == 0, f"{where}: {step.text}\n{result.stdout}\n{result.stderr}"


def shell(
    script: str, project: Path, env: dict[str, str], **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        **kwargs,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copied = copy_project(tmp_path / "project")
    cache = PROJECT_ROOT / ".mypy_cache"
    if cache.is_dir():  # only a head start: mypy checks each cached module's hash
        shutil.copytree(cache, copied / ".mypy_cache")
    return copied


@pytest.fixture
def env(databases, backend: str, tmp_path: Path, project: Path) -> dict[str, str]:
    """A developer's shell: the venv on PATH, the copy importable, a database of its own."""
    values = {
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "PYTHONPATH": str(project),
        "DATABASE_URL": databases.empty(backend, tmp_path),
        "DATA_DIR": str(tmp_path / "data"),
    }
    if backend == "postgresql":  # the guide's own pytest step then covers PostgreSQL too
        values["TEST_DATABASE_URL"] = os.environ["TEST_DATABASE_URL"]
    return values


@pytest.fixture
def server(project: Path, env: dict[str, str]) -> Iterator[str]:
    """The app built from the copy, served by `admin-app serve`; yields its base URL."""
    port = free_port()
    process = subprocess.Popen(
        ["admin-app", "serve", "--port", str(port)],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(url, process)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)


def _wait_until_ready(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the server stopped: {process.communicate()[1]}"
        try:
            if httpx2.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.1)  # polling interval, not a wait for a condition
    pytest.fail("the app from the copy was not ready within 60 s")


def test_every_code_block_of_the_guide_is_a_step():
    steps = parse_steps(GUIDE.read_text())
    kinds = {step.kind for step in steps}
    assert kinds == {"file", "replace", "append", "expect", "sh"}, kinds
    shell_lines = "".join(step.text for step in steps if step.kind == "sh")
    assert "admin-app db revision --autogenerate" in shell_lines
    assert "admin-app db check" in shell_lines


def test_a_code_block_that_is_no_step_is_refused():
    with pytest.raises(AssertionError, match="without a step marker"):
        parse_steps("Then add:\n\n```python\nprint('hi')\n```\n")
    with pytest.raises(AssertionError, match=r"must name admin_app/x\.py"):
        parse_steps("Create it:\n\n<!-- file: admin_app/x.py -->\n```python\nx = 1\n```\n")


def test_the_readme_links_the_guide():
    assert "(docs/adding-a-model.md)" in (PROJECT_ROOT / "README.md").read_text()


def test_following_the_guide_adds_suppliers_to_the_admin(project, env, request):
    def run(script: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return shell(script, project, env, **kwargs)

    # The developer's database as `make run` leaves it: migrated, with the demo store.
    prepared = run("admin-app db upgrade && admin-app seed --customers 10 --orders 20")
    assert prepared.returncode == 0, prepared.stderr
    for step in parse_steps(GUIDE.read_text()):
        apply(step, project, env)

    migration = _only_match(project, "alembic/versions/*_add_suppliers.py", 0).read_text()
    assert 'op.create_table(\n        "supplier",' in migration
    revision = re.search(r'^revision: str = "(\w+)"$', migration, re.M)
    assert revision, migration
    current = run("admin-app db current")
    assert f"{revision.group(1)} (head)" in current.stdout, current.stdout + current.stderr
    checked = run("admin-app db check")
    assert checked.returncode == 0 and "agree" in checked.stdout, checked.stderr
    linted = run("ruff check --quiet . && ruff format --check --quiet . && mypy")
    assert linted.returncode == 0, f"make lint would fail:\n{linted.stdout}{linted.stderr}"

    server_url = request.getfixturevalue("server")
    created = run(
        "admin-app createsuperuser --email root@example.com --password-stdin", input=PASSWORD + "\n"
    )
    assert created.returncode == 0, created.stderr
    with httpx2.Client(base_url=server_url, timeout=30) as browser:
        check_the_admin(browser)
    assert "supplier" not in Base.metadata.tables, "the copy's model leaked into this process"


def check_the_admin(browser: httpx2.Client) -> None:
    """Menu, create form, list; then a product linked to the supplier shows its name."""
    assert login(browser, "root@example.com").status_code == 303
    home = browser.get("/admin/").text
    menu_entry = r'href="[^"]*/admin/supplier/list"\s+class="dropdown-item">Suppliers</a>'
    assert re.search(menu_entry, home), "Suppliers is not in the menu"

    supplier = {"name": "Harbour Tea Co", "email": "Buy@Harbour.example", "country": "NZ"}
    created = post_form(browser, "/admin/supplier/create", supplier, follow_redirects=False)
    assert created.status_code == 303, created.text[:2000]
    listing = browser.get("/admin/supplier/list", params={"q": "Harbour"}).text
    assert "Harbour Tea Co" in listing
    pks = set(re.findall(r'<tr data-sa-pk="(\d+)"', listing))
    assert len(pks) == 1, pks

    product = {
        "name": "Harbour Breakfast",
        "sku": "HBR-0001",
        "price": "8.50",
        "stock": "3",
        "is_active": "on",
        "supplier": pks.pop(),
        "attributes": "{}",
    }
    linked = post_form(browser, "/admin/product/create", product, follow_redirects=False)
    assert linked.status_code == 303, linked.text[:2000]
    products = browser.get("/admin/product/list", params={"q": "HBR-0001"}).text
    cell = re.search(r'<td data-column="supplier".*?</td>', products, re.S)
    assert cell and "Harbour Tea Co" in cell.group(0), "the product list must name the supplier"
