"""Route URLs worked out once: `url_path_for` remembered per route name and parameters.

A page names some 30 to 90 routes (menu, assets, row actions, breadcrumbs), through
`request.url_for` in starlette-admin's helpers and templates; each lookup walks the
route table, mounts included, and was a tenth of a detail page's CPU. A route's path
depends only on its name and parameters once the routes are in place (`create_app`
adds them all before serving), so the answer is remembered. A name no route has is not
remembered: it raises each time, as before.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, pass_context
from starlette.datastructures import URL, URLPath
from starlette.requests import Request
from starlette.routing import Router

PATHS_KEPT = 4096
"""Distinct (name, parameters) remembered; all are dropped at once when full."""


def remember_url_paths(router: Router, limit: int = PATHS_KEPT) -> None:
    """Make `router.url_path_for` remember its answers."""
    find = router.url_path_for
    paths: dict[tuple[str, tuple[tuple[str, Any], ...]], URLPath] = {}

    def url_path_for(name: str, /, **params: Any) -> URLPath:
        key = (name, tuple(sorted(params.items())))
        try:
            path = paths.get(key)
        except TypeError:  # an unhashable parameter: nothing to remember
            return find(name, **params)
        if path is None:
            if len(paths) >= limit:
                paths.clear()
            path = paths[key] = find(name, **params)
        return path

    router.url_path_for = url_path_for  # type: ignore[method-assign]


def path_urls(env: Environment, static_route: str) -> None:
    """Make templates' `url_for` and `static_url` give paths, not absolute URLs: the page's
    own origin is implied, and a list page names some 130 URLs (21 bytes each shorter)."""
    env.globals["url_for"] = pass_context(
        lambda context, name, /, **params: _path(context["request"].url_for(name, **params))
    )

    def static_url(request: Request, path: str, v: Any = None) -> str:
        url = _path(request.url_for(static_route, path=path))
        return str(url if v is None else url.include_query_params(v=v))

    env.globals["static_url"] = static_url


def _path(url: URL) -> URL:
    return URL(url.path + (f"?{url.query}" if url.query else ""))
