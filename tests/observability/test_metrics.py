"""The metrics objects themselves: pool sampling, scrape-time sources, multiprocess guard."""

from __future__ import annotations

from contextlib import AsyncExitStack

import pytest
from sqlalchemy import text

from admin_app.db import create_engine, table_of
from admin_app.models import Order
from admin_app.observability.metrics import GaugeSource, Metrics
from admin_app.observability.sources import rows_by_column
from admin_app.settings import ConfigError
from tests.conftest import make_settings
from tests.helpers import metric


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metric(metrics.render()[0].decode(), name, **labels)


async def test_pool_gauges_follow_connections_checked_out_and_returned(settings):
    # The app's pool does not overflow; one that may does.
    engine = create_engine(
        make_settings(database_url=settings.database_url, db_pool_size=2), max_overflow=2
    )
    metrics = Metrics()
    metrics.watch_pool(engine)
    size = value(metrics, "admin_app_db_pool_size")
    assert size is not None and size >= 2
    try:
        async with AsyncExitStack() as stack:
            for _ in range(3):
                connection = await stack.enter_async_context(engine.connect())
                await connection.execute(text("SELECT 1"))
            assert value(metrics, "admin_app_db_pool_checked_out") == 3.0
            assert value(metrics, "admin_app_db_pool_overflow") == max(0.0, 3.0 - size)
        assert value(metrics, "admin_app_db_pool_checked_out") == 0.0, "all returned"
        assert value(metrics, "admin_app_db_pool_overflow") == 0.0
    finally:
        await engine.dispose()


async def test_rows_by_column_counts_each_value_and_zeroes_values_that_vanish(seeded):
    engine = create_engine(seeded)
    metrics = Metrics()
    metrics.add_source(
        rows_by_column("shop_orders", "Orders by status.", table_of(Order), "status")
    )
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT status, count(*) FROM orders GROUP BY 1"))
            expected = {status: count for status, count in rows}
        await metrics.refresh(engine)
        for status, count in expected.items():
            assert value(metrics, "shop_orders", status=status) == float(count), status
        gone = next(iter(expected))
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM order_line"))
            await connection.execute(text("DELETE FROM orders WHERE status = :s"), {"s": gone})
        await metrics.refresh(engine)
        assert value(metrics, "shop_orders", status=gone) == 0.0, "a vanished status reads 0"
    finally:
        await engine.dispose()


async def test_a_failing_source_is_counted_and_keeps_its_last_value(settings):
    engine = create_engine(settings)
    calls = []

    async def read(connection):
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("database went away")
        return {(): 7.0}

    metrics = Metrics()
    metrics.add_source(GaugeSource("flaky", "A source that fails the second time.", read))
    try:
        await metrics.refresh(engine)
        await metrics.refresh(engine)
    finally:
        await engine.dispose()
    assert value(metrics, "flaky") == 7.0
    assert value(metrics, "admin_app_metrics_source_errors_total", source="flaky") == 1.0


def test_a_multiprocess_dir_only_in_dot_env_is_refused(tmp_path):
    """prometheus-client reads the variable at import; a .env value would be ignored."""
    with pytest.raises(ConfigError, match="PROMETHEUS_MULTIPROC_DIR"):
        Metrics.for_settings(make_settings(prometheus_multiproc_dir=tmp_path))
