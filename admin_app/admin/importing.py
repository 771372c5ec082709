"""File imports write all rows or none.

Each cell is read as the form would read it, refusals being messages at the column
(`admin_app.admin.parsing`), and the preview runs the view's own checks
(`AppModelView.validate_fields`); an import with any refused row writes nothing.
"""

from __future__ import annotations

import json

from starlette.responses import JSONResponse, Response
from starlette_admin.i18n import ngettext


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
        error=ngettext(
            "Nothing was imported: %(rows)s row has errors. Fix it and import again.",
            "Nothing was imported: %(rows)s rows have errors. Fix them and import again.",
            rows,
        )
        % {"rows": rows},
    )
    return JSONResponse(body, status_code=422)
