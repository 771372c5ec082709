"""The API's description: valid OpenAPI 3.1, covering every registered model and field."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate
from starlette.testclient import TestClient

from admin_app.admin.registry import REGISTRY
from admin_app.api import schemas
from admin_app.api.openapi import readable, writable


def test_the_description_is_valid_openapi_3_1(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    assert spec["openapi"] == "3.1.0"
    validate(spec)  # raises, naming the part, when the document is not valid


def test_every_registered_model_has_its_paths(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    for view_class in REGISTRY:
        key = view_class.key
        assert f"/api/v1/{key}" in paths, f"{key} is in the admin but not in the API"
        item = paths[f"/api/v1/{key}/{{pk}}"]
        writes = {"patch", "delete"} <= set(item)
        assert writes != view_class.read_only, f"{key}: writes offered must follow read_only"


@pytest.mark.parametrize("view_class", REGISTRY, ids=lambda v: str(v.key))
def test_every_field_has_a_schema_of_its_own_kind(view_class: type) -> None:
    view = view_class()
    for field in [*readable(view), *writable(view, True), *writable(view, False)]:
        assert schemas.field_schema(field) != schemas.FALLBACK or type(field).__name__ in {
            "ChangesField"
        }, f"{view.key}.{field.name} ({type(field).__name__}) needs an entry in FIELD_SCHEMAS"


def test_the_reference_page_is_served_without_any_other_site(client: TestClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200 and "/api/openapi.json" in page.text
    assert "https://" not in page.text and "http://" not in page.text
    assert client.get("/static/api-docs.js").status_code == 200
