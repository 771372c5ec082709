"""Route URLs are remembered (admin_app/web/url_paths.py) and stay what the routes say."""

from __future__ import annotations

import pytest
from starlette.routing import Mount, NoMatchFound, Route, Router

from admin_app.web.url_paths import remember_url_paths


def _endpoint() -> None: ...


def test_remembered_paths_are_the_routes_own_and_unknown_names_still_fail() -> None:
    inner = Router([Route("/{key}/detail", _endpoint, name="detail")])
    router = Router(
        [Route("/health", _endpoint, name="health"), Mount("/admin", inner, name="admin")]
    )
    remember_url_paths(router, limit=2)
    for _ in range(2):
        assert router.url_path_for("health") == "/health"
        assert router.url_path_for("admin:detail", key="customer") == "/admin/customer/detail"
        assert router.url_path_for("admin:detail", key="order") == "/admin/order/detail"
        with pytest.raises(NoMatchFound):
            router.url_path_for("nowhere")
