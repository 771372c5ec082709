"""File imports write all rows or none.

Each cell is read as the form would read it, refusals being messages at the column
(`admin_app.admin.parsing`), and the preview runs the view's own checks
(`AppModelView.validate_fields`); an import with any refused row writes nothing.
"""

from __future__ import annotations

import json

from starlette.responses import JSONResponse, Response


def all_or_nothing(response: Response) -> Response:
    """An import (not its preview) that refused any row writes nothing: a 422, so the
    request's transaction is rolled back, with a message the import dialog shows."""
    body = json.loads(bytes(response.body)) if response.status_code == 200 else {}
    if not body.get("has_errors"):
        return response
    rows = len({error.get("row") for error in body.get("errors", [])}) or 1
    body.update(
        rows_created=0,
        rows_updated=0,
        rows_skipped=0,
        error=f"Nothing was imported: {rows} row(s) have errors. Fix them and import again.",
    )
    return JSONResponse(body, status_code=422)
