"""Products: the catalogue, with images, prices, stock, category and tags."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette_admin import (
    BooleanField,
    HasMany,
    HasOne,
    IntegerField,
    StringField,
    TextAreaField,
)
from starlette_admin.exceptions import FormValidationError
from starlette_admin.helpers import on_commit

from admin_app.admin.base import AppModelView
from admin_app.admin.fields import AwareDateTimeField, JSONObjectField, MediaImageField, MoneyField
from admin_app.media import MediaStore, UploadRejectedError
from admin_app.models import Product
from admin_app.state import get_settings


class ProductView(AppModelView):
    model = Product
    key = "product"
    icon = "fa fa-box"
    menu_group = "Catalogue"
    fields = [
        IntegerField("id", label="ID"),
        MediaImageField("image", exclude_from_list=False),
        StringField("name", required=True, maxlength=200),
        StringField("sku", label="SKU", required=True, maxlength=64),
        MoneyField("price", required=True, min=0, step="0.01"),
        IntegerField("stock", min=0),
        BooleanField("is_active", label="Active", default=True),
        HasOne("category", key="category"),
        HasMany("tags", key="tag"),
        JSONObjectField("attributes"),
        TextAreaField("description", exclude_from_list=True),
        AwareDateTimeField("created_at", read_only=True, exclude_from_create=True),
        AwareDateTimeField(
            "updated_at", read_only=True, exclude_from_create=True, exclude_from_list=True
        ),
    ]
    exclude_fields_from_list = ["attributes", "description", "updated_at"]
    unique_fields = ("sku",)
    protected_fields = ("price",)
    # Text fields answer the search box; the others are offered as filters.
    searchable_fields = ["name", "sku", "price", "stock", "is_active", "category", "created_at"]
    sortable_fields = ["id", "name", "sku", "price", "stock", "is_active", "created_at"]
    relation_filters = ("category.name",)
    fields_default_sort = [("id", True)]

    async def before_create(self, request: Request, data: dict[str, Any], obj: Any) -> None:
        await super().before_create(request, data, obj)
        await self._store_image(request, obj, previous=None)

    async def before_edit(self, request: Request, data: dict[str, Any], obj: Any) -> None:
        await super().before_edit(request, data, obj)
        history = inspect(obj).attrs.image.history
        previous = history.deleted[0] if history.deleted else None
        await self._store_image(request, obj, previous=previous)

    async def _store_image(self, request: Request, obj: Product, previous: Any) -> None:
        """Save a new upload to the media store; drop the replaced file once committed."""
        store: MediaStore = request.state.media
        upload: Any = obj.image
        if isinstance(upload, UploadFile):
            try:
                obj.image = await store.save_image(
                    upload, "products", get_settings(request).max_image_size
                )
            except UploadRejectedError as error:
                raise FormValidationError({"image": str(error)}) from None
        if isinstance(previous, str) and previous != obj.image:
            on_commit(request, lambda: store.delete(previous))
