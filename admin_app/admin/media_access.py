"""Uploaded files are served only to users who may open a record that holds them.

A stored file (`products/ab12.png`) is found through the registered views' file fields:
the request may have it when one of those views lets the user open detail pages and its
own list query (row scope included) holds a row whose column names the file. Anyone
else, and a file no record holds any more, gets a 404, so a guessed name tells nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette_admin.fields import FileField

from admin_app.media import MediaStore
from admin_app.state import get_session


async def may_see_file(request: Request, views: Sequence[Any], name: str) -> bool:
    """Whether the user may open some record that holds the stored file `name`."""
    if "\x00" in name or len(name) > 1000:  # no column holds it (PostgreSQL refuses NUL)
        return False
    for view in views:
        columns = [f.name for f in view.fields if isinstance(f, FileField)]
        if not columns or not (view.is_accessible(request) and view.can_view_detail(request)):
            continue
        for column in columns:
            query = view.get_list_query(request).where(getattr(view.model, column) == name)
            if (await get_session(request).execute(query.limit(1))).first() is not None:
                return True
    return False


def media_endpoint(views: Sequence[Any]) -> Any:
    """`GET .../media/{name:path}` for the admin's routes."""

    async def serve(request: Request) -> Response:
        name = request.path_params["name"]
        if not await may_see_file(request, views, name):
            raise HTTPException(404)
        store: MediaStore = request.state.media
        return store.response(name)

    return serve
