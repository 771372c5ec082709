"""Browser fixtures: one real server and one Chromium for this folder, a fresh context per test.

Every test fails if any page it opened logged a console error or threw: that is how
a Content-Security-Policy violation shows up. A failing test's report carries the
server's log and the browser's console.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from admin_app.db import create_engine
from admin_app.demo.seed import SeedPlan, seed
from admin_app.email.outbox import enqueue
from admin_app.email.samples import SAMPLES
from admin_app.models import Product
from admin_app.settings import PROJECT_ROOT, Settings
from tests.conftest import TEST_SECRET, DatabaseFactory, make_settings
from tests.e2e.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    MISSING_CHROMIUM,
    ConsoleWatch,
    Screenshots,
    chromium_available,
)
from tests.e2e.server import LiveServer, ServerError, start_server
from tests.helpers import create_admin, give_role, run

ROOT_EMAIL = "root@example.com"
EDITOR_EMAIL = "editor@example.com"
SUPPORT_EMAIL = "support@example.com"
SUPPORT_ROLE = "Support"
CLERK_EMAIL = "clerk@example.com"
LEAD_EMAIL = "lead@example.com"
"""Accounts with the demo's "Pricing clerk" and "Pricing lead" roles (four-eyes approval)."""
"""A limited role of the demo data: views some models and edits orders (admin_app/demo/seed.py)."""
CATALOGUE_EMAIL = "catalogue@example.com"
"""Holds the demo's "Catalogue editor" role: deletes products, but may not purge the trash."""
TRASH_PRODUCT = "E2E trash lamp"
"""A product on no order, so it can be deleted (tests/e2e/test_trash.py)."""
SCREENSHOTS = PROJECT_ROOT / "test-results" / "screenshots"
TIMEOUT_MS = 10_000
"""Longest wait for any one browser step or expectation; a stuck page fails, never hangs.

Generous, because the machine may be shared: a wait ends as soon as its condition holds.
"""
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="package")
def live_server(
    databases: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """`admin-app serve` on a fresh migrated SQLite file with a small store, three accounts
    (a superuser, one without roles, one with the demo's Support role) and a queued email."""
    workdir = tmp_path_factory.mktemp("e2e-server")
    database_url = databases.new("sqlite", workdir)
    settings = make_settings(database_url=database_url, data_dir=workdir / "data")
    _seed_small_store(settings)
    create_admin(settings, ROOT_EMAIL, superuser=True, full_name="Root Admin")
    create_admin(settings, EDITOR_EMAIL, superuser=False, full_name="Eddie Editor")
    create_admin(settings, SUPPORT_EMAIL, superuser=False, full_name="Sam Support")
    give_role(settings, SUPPORT_EMAIL, SUPPORT_ROLE)
    create_admin(settings, CLERK_EMAIL, superuser=False, full_name="Cleo Clerk")
    give_role(settings, CLERK_EMAIL, "Pricing clerk")
    create_admin(settings, LEAD_EMAIL, superuser=False, full_name="Lee Lead")
    give_role(settings, LEAD_EMAIL, "Pricing lead")
    _propose_price(settings)
    create_admin(settings, CATALOGUE_EMAIL, superuser=False, full_name="Cat Catalogue")
    give_role(settings, CATALOGUE_EMAIL, "Catalogue editor")
    _add_lone_product(settings)
    _add_trashed_records(settings)
    _queue_email(settings)
    _add_webhook(settings)
    env = {
        "ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "DATA_DIR": str(settings.data_dir),
        "SECRET_KEY": TEST_SECRET,
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    try:
        server = start_server(env, workdir)
    except ServerError as error:
        pytest.fail(str(error), pytrace=False)
    yield server
    problem = server.stop()
    if problem:
        pytest.fail(f"{problem}:\n{server.log()[-20_000:]}", pytrace=False)


def _seed_small_store(settings: Settings) -> None:
    async def go() -> None:
        engine = create_engine(settings)
        try:
            async with engine.begin() as connection:
                await seed(connection, SeedPlan(customers=5, orders=10), progress=lambda *_: None)
        finally:
            await engine.dispose()

    asyncio.run(go())


def _propose_price(settings: Settings) -> None:
    """A pending change request by the clerk, so the change requests' pages have one."""
    from sqlalchemy import select

    from admin_app.models import AdminUser, ChangeRequest, Product

    async def work(session: Any) -> None:
        product = (await session.scalars(select(Product).order_by(Product.id).limit(1))).one()
        clerk = (
            await session.scalars(select(AdminUser).where(AdminUser.email == CLERK_EMAIL))
        ).one()
        session.add(
            ChangeRequest(
                model="product",
                record_pk=str(product.id),
                record_repr=str(product),
                changes={"price": [str(product.price), "1.99"]},
                record_version=product.version,
                proposer_id=clerk.id,
                proposer=clerk.display_name,
            )
        )

    run(settings, work)


def _add_lone_product(settings: Settings) -> None:
    async def work(session: Any) -> None:
        session.add(Product(name=TRASH_PRODUCT, sku="E2E-TRASH-1", price=Decimal("12.00")))

    run(settings, work)


def _add_trashed_records(settings: Settings) -> None:
    """A record of its own in each trash (a customer, a product, an order with its line),
    so the walk opens every trash page and its confirmation pages with one to show."""
    from admin_app.db import utcnow
    from admin_app.models import Customer, Order, OrderLine
    from admin_app.trash.service import trash

    async def work(session: Any) -> None:
        customer = Customer(first_name="Tess", last_name="Trashed", email="tess@example.com")
        product = Product(name="E2E trashed lamp", sku="E2E-TRASHED-1", price=Decimal("3.00"))
        order = Order(customer_id=1, total=Decimal("3.00"), placed_at=utcnow(), notes="E2E")
        order.lines = [OrderLine(product_id=1, quantity=1, unit_price=Decimal("3.00"))]
        session.add_all([customer, product, order])
        await session.flush()
        for model, row in ((Customer, customer), (Product, product), (Order, order)):
            await trash(session, model, [row])

    run(settings, work)


def _queue_email(settings: Settings) -> None:
    """One message in the outbox, so its pages have a record to show."""

    async def work(session: Any) -> None:
        sample = SAMPLES["order_shipped"]
        await enqueue(session, settings, to="ada@example.com", kind="order_shipped", context=sample)

    run(settings, work)


def _add_webhook(settings: Settings) -> None:
    """A webhook endpoint (switched off, so the server posts nothing) with a delivered and
    a dead delivery, so the webhook pages have records to show."""
    from datetime import timedelta

    from admin_app.db import utcnow
    from admin_app.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
    from admin_app.webhooks.keys import seal
    from admin_app.webhooks.signing import new_secret

    async def work(session: Any) -> None:
        endpoint = WebhookEndpoint(
            url="https://hooks.example.com/store/orders",
            description="Fulfilment service",
            models=["order", "customer"],
            events=["create", "update", "delete"],
            secret=seal(settings, new_secret()),
            enabled=False,
        )
        session.add(endpoint)
        await session.flush()
        now = utcnow()
        body = '{"id":"evt_1","type":"order.update","model":"order","record_id":"7"}'
        for n, (status, code, error) in enumerate(
            [
                (DeliveryStatus.DELIVERED, 200, ""),
                (DeliveryStatus.DEAD, 503, "HTTP 503: upstream unavailable"),
            ]
        ):
            session.add(
                WebhookDelivery(
                    endpoint_id=endpoint.id,
                    event_id=f"evt_{n}",
                    event_type="order.update",
                    record_id="7",
                    body=body,
                    status=status,
                    attempts=1 if n == 0 else 8,
                    last_status=code,
                    last_error=error,
                    last_duration_ms=42 + n,
                    last_attempt_at=now,
                    next_attempt_at=now + timedelta(minutes=n),
                    delivered_at=now if n == 0 else None,
                )
            )

    run(settings, work)


@pytest.fixture(scope="package")
def chromium() -> Path:
    """The browser binary; its absence fails every browser test (CI forbids skips anyway)."""
    if not chromium_available():
        pytest.fail(MISSING_CHROMIUM, pytrace=False)
    return CHROMIUM


@pytest.fixture(scope="package")
def browser(chromium: Path, live_server: LiveServer) -> Iterator[Browser]:
    """Debian's Chromium, headless, for this folder's tests.

    Playwright's sync API keeps an event loop running on this thread while it is open,
    so nothing may call `asyncio.run` meanwhile: the server (whose setup does) starts
    first, and the browser closes when this folder's tests are done.
    """
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def console() -> ConsoleWatch:
    """The console errors and page errors of this test's pages."""
    return ConsoleWatch()


@pytest.fixture
def new_context(
    browser: Browser, live_server: LiveServer, console: ConsoleWatch
) -> Iterator[Callable[..., BrowserContext]]:
    """Make browser contexts (separate cookie jars) on the live server; all are watched."""
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        context.on("page", console.attach)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context: Callable[..., BrowserContext]) -> Page:
    """A page in a fresh context: nobody is logged in."""
    return new_context().new_page()


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Screenshots:
    """Numbered screenshots of this test under test-results/screenshots/<test>/."""
    return Screenshots(SCREENSHOTS, request.node.name)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """After a passing test body, fail the test if any page logged an error."""
    result = yield
    watch = getattr(item, "funcargs", {}).get("console")
    if isinstance(watch, ConsoleWatch) and watch.errors:
        raise AssertionError(
            "the browser reported errors (CSP violations, failed loads or exceptions):\n"
            + watch.report()
        )
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Attach the server's log and the browser's console to a failing test's report."""
    report = yield
    if report.failed:
        funcargs = getattr(item, "funcargs", {})
        server = funcargs.get("live_server")
        if isinstance(server, LiveServer):
            report.sections.append(("server log", server.log()[-20_000:]))
        watch = funcargs.get("console")
        if isinstance(watch, ConsoleWatch) and watch.errors:
            report.sections.append(("browser console", watch.report()))
        page = funcargs.get("page")
        if isinstance(page, Page) and not page.is_closed():
            shots = funcargs.get("shots") or Screenshots(SCREENSHOTS, item.name)
            path = shots.take(page, f"failed at {report.when}")
            report.sections.append(("screenshot", f"{page.url}\n{path}"))
    return report
