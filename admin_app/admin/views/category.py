"""Categories of the catalogue."""

from starlette_admin import IntegerField, SlugField, StringField

from admin_app.admin.base import AppModelView
from admin_app.models import Category


class CategoryView(AppModelView):
    model = Category
    key = "category"
    icon = "fa fa-folder"
    menu_label = "Categories"
    menu_group = "Catalogue"
    fields = [
        IntegerField("id", label="ID"),
        StringField("name", required=True, maxlength=120),
        SlugField("slug", populate_from="name", required=True, maxlength=120),
    ]
    unique_fields = ("slug",)
    relation_managers = ("products",)
    searchable_fields = ["name", "slug"]
    sortable_fields = ["id", "name", "slug"]
    fields_default_sort = ["name"]
