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

from starlette.datastructures import URLPath
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
