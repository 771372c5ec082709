"""Customers of the store."""

from starlette_admin import (
    BooleanField,
    EmailField,
    IntegerField,
    PhoneField,
    StringField,
)

from admin_app.admin.base import AppModelView
from admin_app.admin.compat import CountryField
from admin_app.admin.email_rule import email_address
from admin_app.admin.fields import AwareDateTimeField
from admin_app.models import Customer


class CustomerView(AppModelView):
    model = Customer
    key = "customer"
    icon = "fa fa-user"
    menu_group = "Sales"
    fields = [
        IntegerField("id", label="ID"),
        StringField("first_name", required=True, maxlength=100),
        StringField("last_name", required=True, maxlength=100),
        EmailField("email", required=True, maxlength=254, validators=[email_address()]),
        PhoneField("phone", maxlength=32),
        StringField("city", maxlength=100),
        CountryField("country"),
        BooleanField("is_active", label="Active", default=True),
        AwareDateTimeField("created_at", read_only=True, exclude_from_create=True),
    ]
    exclude_fields_from_list = ["phone"]
    relation_managers = ("orders",)
    case_insensitive_unique = ("email",)
    searchable_fields = [
        "first_name",
        "last_name",
        "email",
        "city",
        "country",
        "is_active",
        "created_at",
    ]
    sortable_fields = ["id", "first_name", "last_name", "email", "city", "country", "created_at"]
    fields_default_sort = [("id", True)]
