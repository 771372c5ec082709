"""Login sessions name their device in words; the User-Agent string stays at hand."""

from __future__ import annotations

import html
import re

import pytest

from admin_app.admin.devices import UNKNOWN, device_name
from tests.helpers import fetch, login

CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


@pytest.mark.parametrize(
    ("user_agent", "name"),
    [
        (CHROME, "Chrome 131 on Linux"),
        (FIREFOX, "Firefox 133 on Windows"),
        (IPHONE, "Mobile Safari 17 on iOS"),
        ("curl/8.5.0", "curl 8"),
        ("inventory-sync/2.1", "inventory-sync/2.1"),
        ("x" * 300, "x" * 59 + "…"),
        ("", UNKNOWN),
        (None, UNKNOWN),
    ],
)
def test_device_names(user_agent, name):
    assert device_name(user_agent) == name


def signed_in_with(client, superuser, user_agent: str) -> None:
    assert login(client, superuser, **{"User-Agent": user_agent}).status_code == 303


def test_the_sessions_list_names_devices_and_keeps_the_string_in_the_tooltip(client, superuser):
    signed_in_with(client, superuser, CHROME)
    page = client.get("/admin/admin-session/list", headers={"User-Agent": CHROME}).text
    cell = re.search(r"<span[^>]*title=\"([^\"]*)\"[^>]*>Chrome 131 on Linux</span>", page)
    assert cell, "the list shows the device in words"
    assert html.unescape(cell.group(1)) == CHROME, "the whole string is in the tooltip"


def test_a_session_detail_shows_the_device_and_the_string(client, superuser, settings):
    signed_in_with(client, superuser, FIREFOX)
    (sid,) = fetch(settings, "SELECT id FROM admin_session")[0]
    page = client.get(f"/admin/admin-session/detail?pk={sid}", headers={"User-Agent": FIREFOX})
    assert page.status_code == 200
    assert "Firefox 133 on Windows" in page.text
    raw = re.search(r"<div[^>]*data-raw-user-agent>([^<]*)</div>", page.text)
    assert raw and html.unescape(raw.group(1)) == FIREFOX


def test_my_account_names_the_devices_i_am_signed_in_on(client, superuser):
    signed_in_with(client, superuser, IPHONE)
    page = client.get("/admin/account", headers={"User-Agent": IPHONE}).text
    cell = re.search(r'<td[^>]*title="([^"]*)"[^>]*data-device>([^<]*)</td>', page)
    assert cell, "the sessions table has a device cell"
    assert cell.group(2) == "Mobile Safari 17 on iOS"
    assert html.unescape(cell.group(1)) == IPHONE
