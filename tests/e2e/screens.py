"""Every screen of the admin, listed from the registry, and what each must show a person.

The list, detail, create, edit and delete-confirmation pages of every view in
`REGISTRY` are listed for a role from the permissions it holds, so a model added later
is walked with no new test code. `check_*` functions return problems as sentences (empty when all is well).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from PIL import Image
from playwright.sync_api import Page

from admin_app.admin.base import AppModelView
from admin_app.admin.registry import REGISTRY
from admin_app.auth.permissions import BASE_ACTIONS
from admin_app.demo.seed import DEMO_ROLES
from tests.e2e.browser import settle

PAGE_ACTIONS = {
    "list": "view",
    "detail": "view",
    "create": "create",
    "edit": "edit",
    "delete": "delete",  # the confirmation page; opening it deletes nothing
    "trash": "delete",  # the trash page of a trashable model (admin_app/admin/trash_pages.py)
    "trash/restore": "delete",  # the confirmation page of a restore from the trash
    "trash/purge": "purge",  # the confirmation page of a delete for good
}
"""The permission each page of a model needs."""

NAME_RECORDS = ("delete", "trash/restore", "trash/purge")
"""Pages that name their records as `?pks=`; the trash's name a record in the trash."""

ACCOUNT_PAGES = {
    "dashboard": "/admin/",
    "my account": "/admin/account",
    "two-factor setup": "/admin/account/2fa/setup",
}
"""Pages every signed-in account may open."""

ANONYMOUS_PAGES = {"login": "/admin/login", "password reset": "/admin/password-reset"}


@dataclass(frozen=True)
class Role:
    """Who walks the admin: an account, and the permissions it holds (None: all of them)."""

    name: str
    email: str
    codes: frozenset[str] | None

    def may(self, view: AppModelView, action: str) -> bool:
        """Whether this role may use `action` on `view` (and the view offers it at all)."""
        if view.superuser_only:  # no role can hold it; a superuser has every page there is
            offered = ("view", "export") if view.read_only else BASE_ACTIONS
            return self.codes is None and action in offered
        if action not in view.permission_actions():
            return False
        return self.codes is None or f"{view.key}:{action}" in self.codes


def demo_role(name: str, email: str) -> Role:
    """A role of the demo data (admin_app/demo/seed.py), held by the account `email`."""
    return Role(name.lower(), email, frozenset(DEMO_ROLES[name][2]))


@dataclass(frozen=True)
class ModelPage:
    """One page of one registered model: `kind` is list, detail, create or edit."""

    view: AppModelView
    kind: str

    @property
    def name(self) -> str:
        return f"{self.view.key} {self.kind}"

    def path(self, pk: str | None) -> str:
        """The page's address; detail, edit, delete and the trash's confirmation pages name
        a record."""
        base = f"/admin/{self.view.key}/{self.kind}"
        if self.kind in NAME_RECORDS:
            return f"{base}?pks={pk or 1}"
        return f"{base}?pk={pk or 1}" if self.kind in ("detail", "edit") else base


def model_pages() -> Iterator[ModelPage]:
    """Every page of every registered model, lists first (they tell the others a record)."""
    views = [view_class() for view_class in REGISTRY]
    for kind in PAGE_ACTIONS:
        for view in views:
            if not kind.startswith("trash") or getattr(view, "trashable", False):
                yield ModelPage(view, kind)


# --- what a page must show -------------------------------------------------------------

# Cells of a history's change tables are left out: they show recorded values as they
# were, and a value may be markup (an email's HTML body).
ESCAPED_MARKUP_JS = """() => [...document.querySelectorAll("td, th")]
    .filter(cell => !cell.closest("[data-changes]"))
    .map(cell => cell.textContent)
    .filter(text => /(<|&lt;)\\/?(td|tr|th|tbody|table)\\b/i.test(text))
    .map(text => text.trim().slice(0, 80))"""

LIST_LAYOUT_JS = """() => {
    const problems = [];
    const search = document.querySelector('input[type="search"][name="q"]');
    if (search && search.getBoundingClientRect().width < 160)
        problems.push(`the search box is ${Math.round(search.getBoundingClientRect().width)} px wide`);
    for (const box of document.querySelectorAll(".card .table-responsive")) {
        const hidden = box.scrollWidth - box.clientWidth;
        if (hidden <= 1) continue;
        const style = getComputedStyle(box);
        if (style.maskImage === "none" || style.overflowX !== "auto")
            problems.push(`the table is ${hidden} px wider than its box and nothing shows it`);
        if (box.tabIndex !== 0 || !box.getAttribute("aria-label"))
            problems.push("the table scrolls sideways but a keyboard cannot reach it to scroll");
    }
    const headers = document.querySelectorAll("table thead th").length;
    for (const row of document.querySelectorAll("table tbody tr[data-sa-pk]")) {
        const pk = row.getAttribute("data-sa-pk");
        if (row.children.length !== headers)
            problems.push(`row ${pk} has ${row.children.length} cells under ${headers} headers`);
        const href = row.getAttribute("data-sa-href");
        if (href && new URL(href, location.href).searchParams.get("pk") !== pk)
            problems.push(`a click on row ${pk} opens ${href}`);
        const box = row.querySelector('[data-sa-hook="row-checkbox"]');
        if (box && box.value !== pk) problems.push(`row ${pk}'s checkbox selects ${box.value}`);
        for (const link of row.querySelectorAll("a[data-sa-is-row-action]")) {
            const key = new URL(link.href).searchParams.get(link.dataset.saName === "delete" ? "pks" : "pk");
            if (key !== null && key !== pk)
                problems.push(`row ${pk}'s ${link.dataset.saName} action opens record ${key}`);
        }
    }
    return problems;
}"""

HISTORY_LAYOUT_JS = """() => {
    const history = document.querySelector("[data-history]");
    const record = document.querySelector(".page-body .card");
    if (!history || !record) return ["the page has no record card or no History card"];
    const a = record.getBoundingClientRect(), b = history.getBoundingClientRect();
    return Math.abs(a.left - b.left) > 1 || Math.abs(a.right - b.right) > 1
        ? [`the History card spans ${Math.round(b.left)}-${Math.round(b.right)} px, `
           + `the record's card ${Math.round(a.left)}-${Math.round(a.right)} px`]
        : [];
}"""


def check_markup(page: Page) -> list[str]:
    """Table cells whose text shows markup: a cell that escaped its row's HTML."""
    return [f"a table cell shows markup as text: {t!r}" for t in page.evaluate(ESCAPED_MARKUP_JS)]


PAGE_WIDTH_JS = """() => {
    const wider = document.documentElement.scrollWidth - document.documentElement.clientWidth;
    return wider > 1 ? [`the whole page is ${wider} px wider than the window`] : [];
}"""


def check_layout(page: Page, kind: str) -> list[str]:
    """What a person would see wrong in the layout of a page of this kind."""
    problems = list(page.evaluate(PAGE_WIDTH_JS))
    if kind == "list":
        problems += page.evaluate(LIST_LAYOUT_JS)
    if kind == "detail":
        problems += page.evaluate(HISTORY_LAYOUT_JS)
    return problems


def check_sidebar(png: bytes, width: int, sidebar: bool) -> list[str]:
    """On a wide screen, the dark sidebar column reaches the bottom of a full-page image;
    a page without the sidebar (signing in) has no dark column at all."""
    if width < 992:
        return []  # the sidebar is a bar at the top
    image = Image.open(io.BytesIO(png)).convert("L")
    brightness = image.getpixel((8, image.height - 8))
    assert isinstance(brightness, int)
    if sidebar and brightness > 100:
        return [f"the sidebar's dark column stops before the bottom of the {image.height} px page"]
    if not sidebar and brightness < 200:
        return ["a dark column runs down the left of a page that has no sidebar"]
    return []


THEME_JS = """() => [document.documentElement.getAttribute("data-bs-theme"),
    getComputedStyle(document.body).colorScheme]"""


def check_theme(page: Page, scheme: str) -> list[str]:
    """The page is drawn in the system's colour scheme (`light` or `dark`), as the
    default theme, Auto, asks: Tabler's switch is set, and its colours took effect."""
    switch, drawn = page.evaluate(THEME_JS)
    if switch != scheme or drawn != scheme:
        return [f"on a {scheme} system the page is data-bs-theme={switch!r}, drawn {drawn!r}"]
    return []


# --- accessibility ---------------------------------------------------------------------

BLOCKING = ("critical", "serious")


class Accessibility:
    """axe-core (bundled with axe-playwright-python, so no network), every rule on."""

    def __init__(self) -> None:
        self.axe = Axe()
        self.options: dict[str, Any] | None = None

    def violations(self, page: Page) -> list[str]:
        """The critical and serious violations on the page, one line per rule. Read once
        the page's transitions have ended: a colour halfway through a theme change (dark
        just switched on) is not a colour anyone reads, and axe measured one as too faint."""
        settle(page)
        results = self.axe.run(page, options=self._options(page)).response
        return [_describe(v) for v in results["violations"] if v["impact"] in BLOCKING]

    def _options(self, page: Page) -> dict[str, Any]:
        # The experimental rules too (visible label in the accessible name, headers of
        # every data cell): asked for once, from the axe that was just injected.
        if self.options is None:
            page.evaluate(self.axe.axe_script)
            experimental = page.evaluate("axe.getRules(['experimental']).map(r => r.ruleId)")
            rules = {rule: {"enabled": True} for rule in experimental}
            self.options = {"resultTypes": ["violations"], "rules": rules}
        return self.options


def _describe(violation: dict[str, Any]) -> str:
    nodes = violation["nodes"]
    where = "; ".join(" ".join(node["target"]) for node in nodes[:3])
    return f"{violation['impact']} {violation['id']} ({violation['help']}) at {where}" + (
        f" and {len(nodes) - 3} more" if len(nodes) > 3 else ""
    )
