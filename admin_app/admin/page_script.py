"""The script every admin page ran inline: starlette-admin's icon and class registries
(`window.StarletteAdmin`) and its jQuery set-up, about 6 kB of each page.

It depends only on the admin's configuration (its theme's icons and classes, its time
zone settings), so it is served once as `GET /admin/_api/page.js?v=<digest>`, kept by
the browser for good under that URL, and `base.html` loads it where the inline script
stood (`STOCK_FIXES` in `admin_app/templating.py`). Without the `page_script_url`
global (a template environment that is not the admin's) the inline script stays.
"""

from __future__ import annotations

import hashlib
from typing import Any

from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from admin_app.templating import STOCK_TEMPLATES

START, END = "{# djlint:off #}", "{# djlint:on #}"
"""What starlette-admin's `base.html` has around the script (checked by the tests)."""


def _stock_body() -> str:
    """The script's source in starlette-admin's `base.html`, without its `<script>` tags."""
    text = (STOCK_TEMPLATES / "base.html").read_text(encoding="utf-8")
    block = text[text.index(START) + len(START) : text.index(END)]
    return block[block.index("<script>") + len("<script>") : block.rindex("</script>")]


class PageScript:
    """The script rendered once for `env`, and its digest."""

    def __init__(self, env: Environment, route: str) -> None:
        self.text = env.from_string(_stock_body()).render()
        self.digest = hashlib.sha256(self.text.encode()).hexdigest()[:12]
        self.route = route

        @pass_context
        def page_script_url(context: Context) -> str:
            return f"{context['request'].url_for(self.route).path}?v={self.digest}"

        env.globals["page_script_url"] = page_script_url

    def headers(self, version: str | None) -> dict[str, Any]:
        """Kept for good under its current version; asked again under any other."""
        current = version == self.digest
        return {"Cache-Control": "public, max-age=31536000, immutable" if current else "no-cache"}
