"""The script every admin page needs (starlette-admin's icon and class registries and its
jQuery set-up) comes from one versioned URL, not inline in every page."""

from __future__ import annotations

import json
import re

from starlette.testclient import TestClient

from admin_app.admin.site import AppAdmin, build_admin

SCRIPT = re.compile(r'<script[^>]* src="(/admin/_api/page\.js\?v=(\w+))"')


def _script_url(html: str) -> tuple[str, str]:
    found = SCRIPT.search(html)
    assert found, "the page does not load the admin's page script"
    assert "window.StarletteAdmin.icons =" not in html, "the registries are still inline"
    return found.group(1), found.group(2)


def test_every_kind_of_page_loads_the_one_script_instead_of_inlining_it(admin_client, settings):
    admin: AppAdmin = build_admin(settings)
    urls = {_script_url(admin_client.get(p).text) for p in ("/admin/", "/admin/customer/list")}
    urls.add(_script_url(admin_client.get("/admin/customer/create").text))
    assert len(urls) == 1, f"pages disagree on the script's version: {urls}"
    ((url, version),) = urls
    script = admin_client.get(url)
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "immutable" in script.headers["cache-control"]
    icons = re.search(r"window\.StarletteAdmin\.icons = (\{.*?\});", script.text)
    assert icons and json.loads(icons.group(1)) == dict(
        admin.templates.env.globals["icon_registry"]
    )
    assert "X-CSRFToken" in script.text, "the jQuery set-up that sends the CSRF token is missing"
    # Another version (a page from before a deploy) is answered, but not kept for good.
    stale = admin_client.get(f"/admin/_api/page.js?v={'0' * len(version)}")
    assert stale.status_code == 200 and "immutable" not in stale.headers["cache-control"]


def test_the_sign_in_page_gets_the_script_without_signing_in(client: TestClient):
    url, _ = _script_url(client.get("/admin/login").text)
    script = client.get(url, follow_redirects=False)
    assert script.status_code == 200, "a signed-out browser was sent to the login page instead"
    assert "window.StarletteAdmin" in script.text
