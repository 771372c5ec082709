"""Debian's Chromium under Playwright, and a watch on everything a page reports as an error.

The browser is never downloaded: Playwright drives the system Chromium. A missing
browser fails the tests with a message saying how to install it; it never skips them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import ConsoleMessage, Error, Page

CHROMIUM = Path(os.environ.get("TEST_CHROMIUM", "/usr/bin/chromium"))
"""The browser binary; `TEST_CHROMIUM` names another (for example a snap's)."""

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

MISSING_CHROMIUM = (
    f"Chromium is needed for the browser tests and is not at {CHROMIUM}. "
    "Install it with `sudo apt-get install -y chromium` (`make test` does this when run "
    "as root), or point TEST_CHROMIUM at another Chromium binary."
)

_SLUG = re.compile(r"[^a-z0-9]+")


def chromium_available() -> bool:
    """True when the configured Chromium exists and may be run."""
    return CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)


@dataclass
class ConsoleWatch:
    """Collects console errors and uncaught page errors from every page it is attached to.

    CSP violations, failed resource loads and JavaScript exceptions all land here,
    so a test that ends with a non-empty `errors` list has found a broken page.
    """

    errors: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)
    _tolerated: list[str] = field(default_factory=list)

    @contextmanager
    def tolerating(self, text: str) -> Iterator[list[str]]:
        """Within the block, errors containing `text` are expected: kept apart, not failures.

        Yields the list they are kept in, so a test can assert that they happened.
        """
        self._tolerated.append(text)
        start = len(self.expected)
        seen: list[str] = []
        try:
            yield seen
        finally:
            self._tolerated.remove(text)
            seen.extend(self.expected[start:])

    def attach(self, page: Page) -> None:
        page.on("console", lambda message: self._on_console(page, message))
        page.on("pageerror", lambda error: self._on_page_error(page, error))

    def _on_console(self, page: Page, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        entry = f"console error on {page.url}: {message.text}"
        if any(text in message.text for text in self._tolerated):
            self.expected.append(entry)
        else:
            self.errors.append(entry)

    def _on_page_error(self, page: Page, error: Error) -> None:
        self.errors.append(f"uncaught exception on {page.url}: {error.message}")

    def report(self) -> str:
        return "\n".join(f"  - {error}" for error in self.errors)


class Screenshots:
    """Numbered full-page screenshots of one test, under `test-results/screenshots/`."""

    def __init__(self, root: Path, test_name: str) -> None:
        self.folder = root / _SLUG.sub("-", test_name.lower()).strip("-")
        self.count = 0
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()

    def take(self, page: Page, step: str, *, full_page: bool = True) -> Path:
        """Save the page as `<NN>-<step>.png` and return the path; `full_page=False` keeps
        to the window (what a person sees with a dialog open over a long page)."""
        self.count += 1
        settle(page)
        path = self.folder / f"{self.count:02d}-{_SLUG.sub('-', step.lower()).strip('-')}.png"
        page.screenshot(path=path, full_page=full_page)
        return path


SETTLED = """() => document.getAnimations().every(
    a => a.playState !== "running" || a.effect?.getComputedTiming().iterations === Infinity)"""
"""True once no finite transition or animation runs (a spinner's endless one may)."""


def settle(page: Page) -> None:
    """Wait until the page's transitions have ended: a colour halfway through a theme
    change is neither what a screenshot should show nor what axe should measure."""
    page.wait_for_function(SETTLED)
