"""My account: what a user sees after changing their password or two-factor login."""

from __future__ import annotations

import re
from datetime import datetime
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

from tests.helpers import PASSWORD, local, post_form

NEW_PASSWORD = "tangerine orbit velvet 42"


class _Alerts(HTMLParser):
    """Collects the text inside each element with `role="alert"`."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.depth = 0  # open elements inside the current alert

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth:
            self.depth += tag not in ("i", "br", "img", "input")
        elif ("role", "alert") in attrs:
            self.depth = 1
            self.texts.append("")

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag not in ("i", "br", "img", "input"):
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.texts[-1] = " ".join(f"{self.texts[-1]} {data}".split())


def alerts(page: str) -> list[str]:
    """The text of every alert the page shows (not those in `<template>`s for scripts)."""
    parser = _Alerts()
    parser.feed(re.sub(r"<template\b.*?</template>", "", page, flags=re.S))
    return parser.texts


def test_a_password_change_shows_its_message_once_and_nothing_else(admin_client):
    change = {"current_password": PASSWORD, "new_password": NEW_PASSWORD,
              "new_password_confirm": NEW_PASSWORD}  # fmt: skip
    page = post_form(admin_client, "/admin/account/password", change)
    assert page.status_code == 200 and "My account" in page.text
    shown = alerts(page.text)
    assert shown == ["Password changed. 0 other session(s) were logged out."], (
        f"one success message and no stray alert (such as 'category'): {shown}"
    )
    assert "alert-success" in page.text


def test_a_refused_change_shows_one_error(admin_client):
    wrong = {"current_password": "not my password", "new_password": NEW_PASSWORD,
             "new_password_confirm": NEW_PASSWORD}  # fmt: skip
    page = post_form(admin_client, "/admin/account/password", wrong)
    assert alerts(page.text) == ["Your current password is not right."]
    assert "alert-danger" in page.text


def test_turning_two_factor_off_when_it_is_off_says_so_once(admin_client):
    page = post_form(admin_client, "/admin/account/2fa/disable", {"password": PASSWORD})
    assert alerts(page.text) == ["Two-factor login is off."]


def test_my_account_shows_times_in_my_time_zone(admin_client):
    admin_client.cookies.set("timezone", "Asia/Tokyo")
    page = admin_client.get("/admin/account").text
    stamps = re.findall(r'<time datetime="([^"]+)">([^<]+)</time>', page)
    assert len(stamps) >= 3, "the password change and the session's times are marked up"
    tokyo = ZoneInfo("Asia/Tokyo")
    for moment, text in stamps:
        expected = local(datetime.fromisoformat(moment), tokyo)
        assert text == expected, f"{moment} is shown as {text!r}, not Tokyo's {expected!r}"
    assert " UTC" not in page
