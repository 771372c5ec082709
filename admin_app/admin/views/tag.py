"""Tags that can be attached to products."""

from starlette_admin import IntegerField, StringField

from admin_app.admin.base import AppModelView
from admin_app.models import Tag


class TagView(AppModelView):
    model = Tag
    key = "tag"
    icon = "fa fa-tag"
    menu_group = "Catalogue"
    fields = [
        IntegerField("id", label="ID"),
        StringField("name", required=True, maxlength=60),
    ]
    unique_fields = ("name",)
    searchable_fields = ["name"]
    sortable_fields = ["id", "name"]
    fields_default_sort = ["name"]
