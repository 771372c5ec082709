"""One walk through every screen a role may open, at one window size and colour scheme, in
one browser context.

The walk signs in once, opens each page the role may open (a screenshot, the page's
problems and its accessibility violations are kept for each), then asks for each page
it may not open and expects a refusal (403 or 404), never a server error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import Browser, Page, Response

from tests.e2e.admin_ui import log_in
from tests.e2e.browser import ConsoleWatch, Screenshots
from tests.e2e.conftest import TIMEOUT_MS
from tests.e2e.screens import (
    ACCOUNT_PAGES,
    ANONYMOUS_PAGES,
    NAME_RECORDS,
    PAGE_ACTIONS,
    Accessibility,
    ModelPage,
    Role,
    check_layout,
    check_markup,
    check_sidebar,
    check_theme,
    model_pages,
)
from tests.helpers import PASSWORD

REFUSALS = (403, 404)

SETTLED_JS = """() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(
    () => done(document.readyState === "complete"))))"""
"""Resolves once the page has loaded, its ready handlers ran and two frames were drawn."""


@dataclass
class Visit:
    """One page as the walk found it."""

    name: str
    url: str
    problems: list[str]
    violations: list[str]


@dataclass
class Walk:
    """Everything one walk saw."""

    visits: list[Visit] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    """Pages the role may not open that did not answer 403 or 404."""

    def problems(self) -> str:
        """Each visited page's problems, and the wrong refusals, as a readable report."""
        lines = [f"{v.name} ({v.url}): {p}" for v in self.visits for p in v.problems]
        return "\n".join(f"  - {line}" for line in [*lines, *self.refusals])

    def violations(self) -> str:
        """Each visited page's critical and serious accessibility violations."""
        lines = [f"{v.name} ({v.url}): {x}" for v in self.visits for x in v.violations]
        return "\n".join(f"  - {line}" for line in lines)


class Walker:
    """Opens pages in one context and records what each showed."""

    def __init__(self, page: Page, shots: Screenshots, width: int, scheme: str = "light") -> None:
        self.page = page
        self.shots = shots
        self.width = width
        self.scheme = scheme
        self.watch = ConsoleWatch()
        self.watch.attach(page)
        self.server_errors: list[str] = []
        page.on("response", self._on_response)
        self.accessibility = Accessibility()
        self.walk = Walk()
        self.records: dict[str, str] = {}
        self.trashed: dict[str, str] = {}
        """A record in each model's trash, from its trash page."""

    def _on_response(self, response: Response) -> None:
        if response.status >= 500:
            self.server_errors.append(f"{response.url} answered {response.status}")

    def visit(self, name: str, path: str, kind: str = "page", signed_in: bool = True) -> None:
        """Open `path`, take its screenshot, and keep what is wrong with it."""
        console, server = len(self.watch.errors), len(self.server_errors)
        response = self.page.goto(path)
        status = response.status if response else None
        problems = [] if status == 200 else [f"answered {status}, not 200"]
        self.page.wait_for_function(SETTLED_JS, timeout=TIMEOUT_MS)
        problems += check_markup(self.page) + check_layout(self.page, kind)
        shot = self.shots.take(self.page, name).read_bytes()
        problems += check_theme(self.page, self.scheme)
        if self.scheme == "light":  # dark pages are dark beside the sidebar too
            problems += check_sidebar(shot, self.width, sidebar=signed_in)
        violations = self.accessibility.violations(self.page)
        problems += self.watch.errors[console:] + self.server_errors[server:]
        self.walk.visits.append(Visit(name, path, problems, violations))

    def model_page(self, role: Role, page: ModelPage) -> None:
        """Visit a model's page if the role may, otherwise check that it is refused."""
        key = str(page.view.key)
        if not role.may(page.view, PAGE_ACTIONS[page.kind]):
            self.refused(page.name, page.path(self.records.get(key)))
            return
        records = self.trashed if page.kind.startswith("trash/") else self.records
        if page.kind in (*NAME_RECORDS, "detail", "edit") and key not in records:
            self.walk.refusals.append(f"{page.name}: the list showed no record to open")
            return
        self.visit(page.name, page.path(records.get(key)), page.kind)
        if page.kind == "list":
            self._remember_a_record(key, self.records, "tbody tr[data-sa-pk]", "saPk")
        if page.kind == "trash":
            self._remember_a_record(key, self.trashed, "[data-trash-pk]", "trashPk")

    def _remember_a_record(
        self, key: str, records: dict[str, str], selector: str, attribute: str
    ) -> None:
        pk = self.page.evaluate(
            f"() => document.querySelector('{selector}')?.dataset.{attribute} ?? null"
        )
        if pk is not None:
            records[key] = str(pk)

    def refused(self, name: str, path: str) -> None:
        """A page the role may not open: it must answer 403 or 404, and nothing else."""
        status = self.page.request.get(path, max_redirects=0).status
        if status not in REFUSALS:
            self.walk.refusals.append(f"{name} ({path}) answered {status}, not 403 or 404")


def walk(
    browser: Browser,
    base_url: str,
    role: Role,
    viewport: dict[str, Any],
    shots: Screenshots,
    scheme: str = "light",
) -> Walk:
    """Walk every screen for `role` in a window of `viewport`'s size, on a system whose
    colour scheme is `scheme` (the accounts keep the default theme, Auto, which follows it)."""
    context = browser.new_context(
        base_url=base_url,
        viewport=viewport,  # type: ignore[arg-type]
        color_scheme=scheme,  # type: ignore[arg-type]
    )
    context.set_default_timeout(TIMEOUT_MS)
    try:
        walker = Walker(context.new_page(), shots, viewport["width"], scheme)
        if role.codes is None:  # the signed-out pages once, with the superuser's walk
            for name, path in ANONYMOUS_PAGES.items():
                walker.visit(name, path, signed_in=False)
        walker.page.goto("/admin/login")
        log_in(walker.page, role.email, PASSWORD)
        for name, path in ACCOUNT_PAGES.items():
            walker.visit(name, path)
        for page in model_pages():
            walker.model_page(role, page)
        return walker.walk
    finally:
        context.close()
