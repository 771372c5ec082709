"""In Chromium: "Sign in with Test ID", the provider's own pages, and the dashboard.

Also the login page with its single sign-on button and the refusal page, at a laptop's
and a phone's size, light and dark, each checked by axe-core (no critical or serious
violation) and kept as screenshots under test-results/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from admin_app.settings import PROJECT_ROOT
from tests.conftest import TEST_SECRET, DatabaseFactory, make_settings
from tests.e2e.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    MISSING_CHROMIUM,
    ConsoleWatch,
    Screenshots,
    chromium_available,
)
from tests.e2e.screens import Accessibility
from tests.e2e.server import LiveServer, ServerError, free_port, start_server
from tests.helpers import PASSWORD as HELPER_PASSWORD
from tests.helpers import create_admin, make_role
from tests.sso.provider import APP_CLIENT, PASSWORD, Provider, start_provider

SIZES = {"wide": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
SCHEMES = ("light", "dark")


def serve(
    databases: DatabaseFactory, workdir: Path, **extra_env: str
) -> tuple[LiveServer, Provider]:
    """Start a provider and the app (`admin-app serve`, SQLite) that trusts it."""
    port = free_port()
    provider = start_provider(workdir / "provider", [f"http://127.0.0.1:{port}/admin/sso/callback"])
    provider.accounts(
        root={"email": "root.sso@example.com", "name": "Rita Root", "groups": ["admins"]},
        support={"email": "sam.sso@example.com", "name": "Sam Support", "groups": ["support"]},
        intern={"email": "ian@example.com", "name": "Ian Intern", "groups": ["interns"]},
    )
    database_url = databases.new("sqlite", workdir)
    settings = make_settings(database_url=database_url, data_dir=workdir / "data")
    make_role(settings, "Support", ["customer:view", "order:view"])
    create_admin(settings, "break.glass@example.com", superuser=True)
    env = app_env(database_url, settings.data_dir, provider) | extra_env
    try:
        server = start_server(env, workdir, port=port)
    except ServerError as error:
        provider.stop()
        pytest.fail(str(error), pytrace=False)
    return server, provider


def app_env(database_url: str, data_dir: Path, provider: Provider) -> dict[str, str]:
    return {
        "ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "DATA_DIR": str(data_dir),
        "SECRET_KEY": TEST_SECRET,
        "ALLOWED_HOSTS": "127.0.0.1",
        "OIDC_ISSUER": provider.issuer,
        "OIDC_CLIENT_ID": APP_CLIENT["client_id"],
        "OIDC_CLIENT_SECRET": APP_CLIENT["client_secret"],
        "OIDC_SCOPES": "openid email profile groups",
        "OIDC_ROLE_MAP": "admins=Superuser,support=Support",
        "OIDC_PROVIDER_NAME": "Test ID",
    }


@pytest.fixture(scope="module")
def served(
    databases: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, Provider]]:
    """The app (`admin-app serve`, SQLite) and a provider that trust each other."""
    server, provider = serve(databases, tmp_path_factory.mktemp("sso-browser"))
    yield server, provider
    server.stop()
    provider.stop()


@pytest.fixture(scope="module")
def sso_only_served(
    databases: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, Provider]]:
    """The same, with `SSO_ONLY` and a break-glass account."""
    workdir = tmp_path_factory.mktemp("sso-only-browser")
    env = {"SSO_ONLY": "true", "SSO_BREAK_GLASS_EMAIL": "break.glass@example.com"}
    server, provider = serve(databases, workdir, **env)
    yield server, provider
    server.stop()
    provider.stop()


@pytest.fixture(scope="module")
def chromium_browser(
    served: tuple[LiveServer, Provider], sso_only_served: tuple[LiveServer, Provider]
) -> Iterator[object]:
    """Chromium, started after both servers: Playwright's sync API keeps an event loop
    running on this thread, so their set-up (which uses `asyncio.run`) goes first."""
    if not chromium_available():
        pytest.fail(MISSING_CHROMIUM, pytrace=False)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def through_provider(page: Page, login: str) -> None:
    """Click the button and get through the provider's login and consent pages."""
    page.get_by_role("link", name="Sign in with Test ID").click()
    expect(page.get_by_role("heading", name="Test provider: sign in")).to_be_visible()
    page.get_by_label("Username").fill(login)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Allow").click()


def test_sign_in_with_the_provider_in_a_browser(served, chromium_browser, request):
    server, _ = served
    shots = Screenshots(PROJECT_ROOT / "test-results" / "screenshots", request.node.name)
    axe, console, problems = Accessibility(), ConsoleWatch(), []
    for size, viewport in SIZES.items():
        for scheme in SCHEMES:
            context = chromium_browser.new_context(  # type: ignore[attr-defined]
                base_url=server.url, viewport=viewport, color_scheme=scheme
            )
            page = context.new_page()
            console.attach(page)
            page.goto("/admin/login")
            expect(page.get_by_role("link", name="Sign in with Test ID")).to_be_visible()
            shots.take(page, f"login-{size}-{scheme}")
            problems += [f"login {size} {scheme}: {v}" for v in axe.violations(page)]
            if size == "wide":
                who = "root" if scheme == "light" else "support"
                through_provider(page, who)
                expect(page).to_have_url(f"{server.url}/admin/")
                name = "Rita Root" if who == "root" else "Sam Support"
                expect(page.get_by_text(name, exact=True).first).to_be_attached()
                shots.take(page, f"dashboard-{who}-{scheme}")
                problems += [f"dashboard {scheme}: {v}" for v in axe.violations(page)]
                context.clear_cookies()
                page.goto("/admin/login")
                with console.tolerating("status of 403") as refusals:
                    through_provider(page, "intern")
                    expect(page.get_by_text("gives you no role")).to_be_visible()
                assert refusals, "the refusal is a 403"
                shots.take(page, f"refused-{scheme}")
                problems += [f"refused {scheme}: {v}" for v in axe.violations(page)]
            context.close()
    assert not problems, "axe-core found serious problems:\n" + "\n".join(problems)
    assert not console.errors, "the pages logged errors:\n" + console.report()


def test_under_sso_only_the_password_form_is_for_emergencies(
    sso_only_served, chromium_browser, request
):
    server, _ = sso_only_served
    shots = Screenshots(PROJECT_ROOT / "test-results" / "screenshots", request.node.name)
    axe, problems = Accessibility(), []
    for size, viewport in SIZES.items():
        for scheme in SCHEMES:
            context = chromium_browser.new_context(  # type: ignore[attr-defined]
                base_url=server.url, viewport=viewport, color_scheme=scheme
            )
            page = context.new_page()
            page.goto("/admin/login")
            expect(page.get_by_role("link", name="Sign in with Test ID")).to_be_visible()
            expect(page.get_by_label("Email address")).to_be_hidden()
            page.get_by_text("Emergency administrator sign-in").click()
            page.get_by_label("Email address").fill("break.glass@example.com")
            page.get_by_label("Password", exact=True).fill(HELPER_PASSWORD)
            shots.take(page, f"sso-only-{size}-{scheme}")
            problems += [f"{size} {scheme}: {v}" for v in axe.violations(page)]
            if size == "wide" and scheme == "light":
                page.get_by_role("button", name="Sign in", exact=True).click()
                expect(page).to_have_url(f"{server.url}/admin/")
            context.close()
    assert not problems, "axe-core found serious problems:\n" + "\n".join(problems)
