"""The app's own static files, cached for a year when the URL carries their fingerprint."""

from __future__ import annotations

import os

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from admin_app.templating import fingerprint

LONG_CACHE = "public, max-age=31536000, immutable"


class FingerprintedStaticFiles(StaticFiles):
    """`/static/app.css?v=<hash>` is immutable; without a matching hash, revalidate each time."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        path = scope["path"].removeprefix(scope.get("root_path", "")).lstrip("/")
        version = dict(_query(scope)).get("v")
        fresh = version is not None and version == fingerprint(path)
        response.headers["Cache-Control"] = LONG_CACHE if fresh else "no-cache"
        return response


def _query(scope: Scope) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(scope.get("query_string", b"").decode("latin-1"))
