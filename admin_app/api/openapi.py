"""The OpenAPI 3.1 description of the API, built from the same views the API serves.

It describes the most a token can reach (a superuser's): a token with fewer
permissions gets 403 for models it may not use and sees fewer fields of the others.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette_admin import BaseField
from starlette_admin.fields import FileField

from admin_app.admin.base import AppModelView
from admin_app.api import listing, schemas
from admin_app.api.listing import MAX_LIMIT
from admin_app.api.records import shown_to_programs
from admin_app.api.schemas import Schema

ERRORS = {
    "400": "The query or body could not be understood.",
    "401": "No valid API token.",
    "403": "The token may not do this.",
    "404": "No such model or record (or it is outside the token's scope).",
    "409": "The database or a rule of the model refused the change.",
    "412": "If-Match names an older version of the record.",
    "415": "The body is not JSON.",
    "422": "Some values are not valid; `fields` says which and why.",
    "429": "Too many calls; wait Retry-After seconds.",
}
ERROR_SCHEMA: Schema = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def readable(view: AppModelView) -> list[BaseField]:
    """The fields a record reads with, at most."""
    return [f for f in view.fields if not f.exclude_from_detail and shown_to_programs(view, f)]


def writable(view: AppModelView, creating: bool) -> list[BaseField]:
    """The fields a create (or an update) may set, at most."""
    return [
        f
        for f in view.fields
        if not (f.exclude_from_create if creating else f.exclude_from_edit)
        and not f.read_only
        and not isinstance(f, FileField)
    ]


def document(views: Iterable[AppModelView], version: str) -> dict[str, Any]:
    """The whole OpenAPI document."""
    paths: dict[str, Any] = {}
    components: dict[str, Schema] = {"Error": ERROR_SCHEMA}
    for view in views:
        name = _schema_name(view)
        components[name] = _record_schema(view)
        if not view.read_only:
            components[f"{name}Create"] = _input_schema(view, creating=True)
            components[f"{name}Update"] = _input_schema(view, creating=False)
        paths[f"/api/v1/{view.key}"] = _collection(view, name)
        paths[f"/api/v1/{view.key}/{{pk}}"] = _item(view, name)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Store Admin API",
            "version": version,
            "description": "Every model of the admin, with the admin's permissions and row scopes.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"token": []}],
    }


def _schema_name(view: AppModelView) -> str:
    return "".join(part.capitalize() for part in str(view.key).replace("_", "-").split("-"))


def _record_schema(view: AppModelView) -> Schema:
    pk = view.pk_attr or "id"
    properties: dict[str, Schema] = {pk: schemas.pk_schema(view.model)}
    for field in readable(view):
        if field.name != pk:
            properties[field.name] = schemas.nullable(schemas.field_schema(field))
    return {"type": "object", "required": [pk], "properties": properties}


def _input_schema(view: AppModelView, creating: bool) -> Schema:
    properties = {
        f.name: schemas.nullable(schemas.write_schema(f)) for f in writable(view, creating)
    }
    return {"type": "object", "properties": properties, "additionalProperties": False}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _responses(*codes: str, ok: dict[str, Any]) -> dict[str, Any]:
    errors = {c: {"description": ERRORS[c], "content": _json(_ref("Error"))} for c in codes}
    return {**ok, **errors}


def _json(schema: Schema) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _collection(view: AppModelView, name: str) -> dict[str, Any]:
    page = {
        "type": "object",
        "required": ["data", "next_cursor"],
        "properties": {
            "data": {"type": "array", "items": _ref(name)},
            "next_cursor": {"type": ["string", "null"]},
        },
    }
    operations: dict[str, Any] = {
        "get": {
            "operationId": f"list_{_ident(view)}",
            "summary": f"List {view.key} records",
            "parameters": _list_parameters(view),
            "responses": _responses(
                "400",
                "401",
                "403",
                "404",
                "429",
                ok={"200": {"description": "A page.", "content": _json(page)}},
            ),
        }
    }
    if not view.read_only:
        operations["post"] = {
            "operationId": f"create_{_ident(view)}",
            "summary": f"Create a {view.key} record",
            "requestBody": {"required": True, "content": _json(_ref(f"{name}Create"))},
            "responses": _responses(
                "400",
                "401",
                "403",
                "404",
                "409",
                "415",
                "422",
                "429",
                ok={
                    "201": {
                        "description": "Created.",
                        "content": _json(_ref(name)),
                        "headers": _etag_location(),
                    }
                },
            ),
        }
    return operations


def _item(view: AppModelView, name: str) -> dict[str, Any]:
    pk = {"name": "pk", "in": "path", "required": True, "schema": schemas.pk_schema(view.model)}
    if_match = {"name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"}}
    fields = {"name": "fields", "in": "query", "required": False, "schema": {"type": "string"}}
    record = {"description": "The record.", "content": _json(_ref(name))}
    operations: dict[str, Any] = {
        "parameters": [pk],
        "get": {
            "operationId": f"get_{_ident(view)}",
            "summary": f"Read a {view.key} record",
            "parameters": [fields],
            "responses": _responses("400", "401", "403", "404", "429", ok={"200": record}),
        },
    }
    if not view.read_only:
        operations["patch"] = {
            "operationId": f"update_{_ident(view)}",
            "summary": f"Change a {view.key} record",
            "parameters": [if_match],
            "requestBody": {"required": True, "content": _json(_ref(f"{name}Update"))},
            "responses": _responses(
                "400", "401", "403", "404", "409", "412", "415", "422", "429", ok={"200": record}
            ),
        }
        operations["delete"] = {
            "operationId": f"delete_{_ident(view)}",
            "summary": f"Delete a {view.key} record",
            "parameters": [if_match],
            "responses": _responses(
                "401", "403", "404", "409", "412", "429", ok={"204": {"description": "Deleted."}}
            ),
        }
    return operations


def _etag_location() -> dict[str, Any]:
    text = {"schema": {"type": "string"}}
    return {"Location": text, "ETag": text}


def _list_parameters(view: AppModelView) -> list[dict[str, Any]]:
    def query(name: str, schema: Schema, description: str) -> dict[str, Any]:
        return {
            "name": name,
            "in": "query",
            "required": False,
            "schema": schema,
            "description": description,
        }

    fields = readable(view)
    params = [
        query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}, "Rows per page."),
        query("cursor", {"type": "string"}, "The next_cursor of the previous page."),
        query("search", {"type": "string"}, "Text to look for, as the admin's search box."),
        query("fields", {"type": "string"}, "Comma-separated fields to return."),
    ]
    sortable = listing.sort_fields(view, fields)
    if sortable:
        orders = [*sortable, *(f"-{s}" for s in sortable)]
        params.append(query("sort", {"type": "string", "enum": orders}, "Order; - for descending."))
    for name in listing.filter_fields(view, fields):
        if name not in listing.RESERVED:
            params.append(query(name, {"type": "string"}, f"Only rows whose {name} equals this."))
    return params


def _ident(view: AppModelView) -> str:
    return str(view.key).replace("-", "_")
