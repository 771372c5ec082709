"""HEAD answers every admin page as GET does, without a body and without side effects."""

from __future__ import annotations

import httpx2
import pytest
from sqlalchemy import select

from admin_app.admin.registry import REGISTRY
from admin_app.auth.tokens import make_token
from admin_app.models import AdminUser
from tests.auth.test_two_factor import enroll
from tests.helpers import fetch, login, run, table_counts
from tests.server import running_server

ANONYMOUS_PAGES = ["/admin/login", "/admin/password-reset", "/admin/login/2fa"]


def token(settings, email: str, purpose: str) -> str:
    async def work(session):
        user = await session.scalar(select(AdminUser).where(AdminUser.email == email))
        return make_token(settings, user, purpose)

    return run(settings, work)


def assert_head_like_get(client, url: str) -> None:
    got = client.get(url, follow_redirects=False)
    head = client.head(url, follow_redirects=False)
    assert head.status_code == got.status_code, (
        f"HEAD {url} answered {head.status_code}, GET {got.status_code}"
    )
    assert head.headers.get("content-type") == got.headers.get("content-type"), url
    assert head.headers.get("location") == got.headers.get("location"), url


def test_head_of_the_pages_before_login_answers_as_get(client, superuser, settings):
    pages = [
        *ANONYMOUS_PAGES,
        f"/admin/password-reset/{token(settings, superuser, 'password-reset')}",
        f"/admin/invitation/{token(settings, superuser, 'invitation')}",
    ]
    for url in pages:
        assert_head_like_get(client, url)
    assert fetch(settings, "SELECT count(*) FROM login_failure")[0][0] == 0, (
        "a HEAD is no failed login"
    )
    assert fetch(settings, "SELECT count(*) FROM rate_limit_counter")[0][0] == 0, (
        "a HEAD is no reset request"
    )


@pytest.mark.parametrize("view", REGISTRY, ids=lambda view: str(view.key))
def test_head_of_every_view_page_answers_as_get_and_changes_nothing(seeded, admin_client, view):
    before = table_counts(seeded)
    log = fetch(seeded, "SELECT count(*) FROM audit_entry")[0][0]
    for page in ("list", "create", "detail?pk=1", "edit?pk=1"):
        assert_head_like_get(admin_client, f"/admin/{view.key}/{page}")
    assert table_counts(seeded) == before, "a HEAD of a form is no submission"
    assert fetch(seeded, "SELECT count(*) FROM audit_entry")[0][0] == log


def test_head_of_the_dashboard_and_my_account_answers_as_get(admin_client):
    for url in ("/admin/", "/admin/account", "/admin/account/2fa/setup"):
        assert_head_like_get(admin_client, url)


def test_a_real_server_answers_head_without_a_body(settings):
    with running_server(settings) as base:
        for url in ANONYMOUS_PAGES:
            got = httpx2.get(f"{base}{url}", follow_redirects=False)
            head = httpx2.head(f"{base}{url}", follow_redirects=False)
            assert head.status_code == got.status_code, f"HEAD {url}: {head.status_code}"
            assert head.content == b"", f"HEAD {url} sent a body"


def test_head_of_the_code_step_of_a_two_factor_login_is_no_wrong_code(admin_client, settings):
    enroll(admin_client)
    admin_client.cookies.clear()
    assert login(admin_client, "root@example.com").headers["location"].endswith("/login/2fa")
    assert_head_like_get(admin_client, "/admin/login/2fa")
    failed = fetch(settings, "SELECT count(*) FROM audit_entry WHERE action = 'login_failed'")
    assert failed[0][0] == 0, "a HEAD of the code form is not a wrong code"
