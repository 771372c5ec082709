"""`/api/v1/<model>` and `/api/v1/<model>/<pk>`: list, create, retrieve, update, delete.

Each call asks the view what the admin's page would: `is_accessible`, `can_create`,
`can_edit`, `can_delete`, `change_refusal`, and reads rows through its scoped
queries, so a row outside the caller's scope is a 404 as it is in the admin. Writes go
through the view's `validate_fields`, `create`, `edit` and `delete`, which also write
the audit log and publish the live events once the transaction commits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import wraps
from typing import Any

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette_admin import RequestAction
from starlette_admin.exceptions import ActionFailed, FormValidationError

from admin_app.admin.base import AppModelView
from admin_app.admin.deletion import DeleteBlocked
from admin_app.admin.versioning import EditConflict
from admin_app.api import listing, records
from admin_app.api.auth import authorize
from admin_app.api.errors import ApiError, error_json, field_errors

Endpoint = Callable[[Request], Awaitable[Response]]


class ModelEndpoints:
    """The API's handlers over a set of views, looked up by key."""

    def __init__(self, views: Mapping[str, AppModelView]) -> None:
        self.views = dict(views)

    def view_for(self, request: Request, action: RequestAction) -> AppModelView:
        """The view the path names, if the caller may see it at all."""
        view = self.views.get(str(request.path_params.get("model", "")))
        if view is None:
            raise ApiError(404, "There is no model by this name; see /api/openapi.json.")
        request.state.action = action
        if not view.is_accessible(request):
            raise ApiError(403, "Your token may not read this model.")
        return view

    async def find(self, view: AppModelView, request: Request) -> Any:
        """The row the path names, within the caller's scope, or a 404."""
        pk = request.path_params.get("pk", "")
        obj = await view.find_by_pk(request, pk) if view.coerce_pk(pk) is not None else None
        if obj is None:
            raise ApiError(404, "There is no such record, or it is outside what you may see.")
        return obj

    async def list(self, request: Request) -> Response:
        view = self.view_for(request, RequestAction.LIST)
        readable = records.readable_fields(view, request)
        filterable = listing.filter_fields(view, readable)
        asked = listing.parse_list_query(
            request.query_params, list(filterable), listing.sort_fields(view, readable)
        )
        shown = _selected(readable, request.query_params.get("fields"))
        rows, after = await listing.page(view, request, asked, shown)
        data = await records.to_records(view, request, rows, shown)
        return JSONResponse({"data": data, "next_cursor": after})

    async def retrieve(self, request: Request) -> Response:
        view = self.view_for(request, RequestAction.DETAIL)
        if not view.can_view_detail(request):
            raise ApiError(403, "Your token may not read this model's records.")
        obj = await self.find(view, request)
        shown = _selected(
            records.readable_fields(view, request), request.query_params.get("fields")
        )
        return _record_response(await records.to_record(view, request, obj, shown), obj)

    async def create(self, request: Request) -> Response:
        view = self.view_for(request, RequestAction.CREATE)
        if not view.can_create(request):
            raise ApiError(403, "Your token may not create records of this model.")
        body = await _body(request)
        data = await records.form_data(view, request, RequestAction.CREATE, body)
        obj = await _saving(view.validate_fields(request, data), lambda: view.create(request, data))
        return await self._written(view, request, obj, status_code=201)

    async def update(self, request: Request) -> Response:
        view = self.view_for(request, RequestAction.EDIT)
        if not view.can_edit(request):
            raise ApiError(403, "Your token may not change records of this model.")
        obj = await self.find(view, request)
        await _refuse_change(view, request, obj)
        _check_version(request, obj)
        body = await _body(request)
        data = await records.form_data(view, request, RequestAction.EDIT, body, current=obj)
        editing = _as_form_of(request, records.key_of(obj))
        obj = await _saving(
            view.validate_fields(editing, data),
            lambda: view.edit(editing, request.path_params["pk"], data),
        )
        return await self._written(view, request, obj)

    async def delete(self, request: Request) -> Response:
        view = self.view_for(request, RequestAction.DETAIL)
        if not view.can_delete(request):
            raise ApiError(403, "Your token may not delete records of this model.")
        obj = await self.find(view, request)
        await _refuse_change(view, request, obj)
        _check_version(request, obj)
        try:
            await view.delete(request, [request.path_params["pk"]])
        except ActionFailed as refused:
            raise ApiError(409, refused.msg) from None
        except (IntegrityError, DeleteBlocked):
            raise ApiError(409, "Other records depend on this one; nothing was deleted.") from None
        return Response(status_code=204)

    async def _written(
        self, view: AppModelView, request: Request, obj: Any, status_code: int = 200
    ) -> Response:
        request.state.action = RequestAction.DETAIL
        record = await records.to_record(view, request, obj, records.readable_fields(view, request))
        response = _record_response(record, obj, status_code)
        if status_code == 201:
            response.headers["Location"] = str(
                request.url_for("api:record", model=str(view.key), pk=str(records.key_of(obj)))
            )
        return response


def _selected(fields: list[Any], asked: str | None) -> list[Any]:
    """`fields=a,b`: only those (the key is always there); a name not readable is a 400."""
    if not asked:
        return fields
    names = [n for n in (part.strip() for part in asked.split(",")) if n]
    known = {f.name: f for f in fields}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ApiError(400, f"fields names something you cannot read: {', '.join(unknown)[:100]}.")
    return [known[n] for n in names]


def _record_response(record: dict[str, Any], obj: Any, status_code: int = 200) -> Response:
    version = records.record_version(obj)
    headers = {"ETag": f'"{version}"'} if version is not None else None
    return JSONResponse(record, status_code=status_code, headers=headers)


def _check_version(request: Request, obj: Any) -> None:
    """`If-Match` against the record's version: a stale one is a 412."""
    wanted = request.headers.get("if-match")
    version = records.record_version(obj)
    if wanted is None or version is None or wanted.strip() == "*":
        return
    tags = {tag.strip().removeprefix("W/").strip('"') for tag in wanted.split(",")}
    if version not in tags:
        raise ApiError(412, f"The record changed: it is at version {version}. Read it again.")


async def _refuse_change(view: AppModelView, request: Request, obj: Any) -> None:
    refusal = await view.change_refusal(request, obj)
    if refusal:
        raise ApiError(403, refusal)


async def _body(request: Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise ApiError(415, "Send the record as JSON (Content-Type: application/json).")
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(400, "The body must be a JSON object.") from None
    if not isinstance(body, dict):
        raise ApiError(422, "The body must be a JSON object of field values.")
    return body


def _as_form_of(request: Request, pk: Any) -> Request:
    """The request as the admin's edit form for `pk` would arrive (the uniqueness checks
    read the record's key from the query string); same state, same session."""
    scope = dict(request.scope)
    scope["query_string"] = f"pk={pk}".encode()
    return Request(scope, request.receive)


async def _saving(checked: Awaitable[None], save: Callable[[], Awaitable[Any]]) -> Any:
    """Validate, then save; the admin's form errors become a 422 with a message per field."""
    try:
        await checked
        return await save()
    except FormValidationError as error:
        raise ApiError(422, "Some values are not valid.", field_errors(error.errors)) from None
    except EditConflict:
        raise ApiError(412, "The record changed while this was saved. Read it again.") from None
    except ActionFailed as refused:
        raise ApiError(409, refused.msg) from None
    except SQLAlchemyError:
        raise ApiError(409, "The database refused these values; nothing was saved.") from None


def json_errors(endpoint: Endpoint) -> Endpoint:
    """Authorize the call, then run it; any HTTP error becomes the API's JSON error."""

    @wraps(endpoint)
    async def run(request: Request) -> Response:
        try:
            await authorize(request)
            return await endpoint(request)
        except HTTPException as error:
            return error_json(error)

    return run
