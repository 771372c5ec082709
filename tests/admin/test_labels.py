"""The names the code gives (models, fields, fixed choices, menu groups) are shown in the
account's language (admin_app/admin/labels.py), and every one of them, for every view
registered now or later, has a translation in every language's catalogue."""

from __future__ import annotations

import json
import re

import pytest
from babel.messages.pofile import read_po
from jinja2 import Environment
from starlette_admin import i18n

from admin_app.admin.labels import Label, extract_labels, name_in_languages, names
from admin_app.admin.registry import REGISTRY
from admin_app.imports import mapping
from admin_app.languages import CAPITALISED, CATALOGUES, LANGUAGES, in_sentence, load_catalogues
from tests.admin.test_languages import set_language

SHOWN = sorted(set(names(view_class() for view_class in REGISTRY)))


@pytest.mark.parametrize("code", LANGUAGES[1:])
def test_every_name_the_registry_shows_is_translated(code):
    with (CATALOGUES / code / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalogue = read_po(handle, locale=code)
    missing = [name for name in SHOWN if not (found := catalogue.get(name)) or not found.string]
    assert not missing, (
        f"{len(missing)} names have no {code} translation (run `make translations`, then "
        f"translate them in admin_app/translations/{code}): {missing[:20]}"
    )


def test_make_translations_extracts_every_name_the_registry_shows():
    extracted = {message for _, _, message, _ in extract_labels(None, (), (), {})}
    assert extracted == set(SHOWN)
    assert {"Orders", "Placed at", "Shipped", "Sales"} <= extracted


def test_a_label_reads_translated_and_stays_what_was_written_as_a_value():
    load_catalogues()  # as the app does when it starts
    label = Label("Orders")
    i18n.set_locale("fr")
    try:
        page = Environment(autoescape=True).from_string("<h1>{{ label }}</h1>")
        assert page.render(label=label) == "<h1>Commandes</h1>"
        assert str(label) == f"{label}" == "Commandes"
        assert label == "Orders" and hash(label) == hash("Orders")
        assert json.dumps({"label": label}) == '{"label": "Orders"}'
        assert {"Orders": 1}[label] == 1, "a dict keyed by the name still finds it"
    finally:
        i18n.set_locale("en")
    assert str(label) == "Orders"


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("en", ["Orders", "Placed at", "Shipped", "Sales", "Dashboard"]),
        ("fr", ["Commandes", "Passée le", "Expédiée", "Ventes", "Tableau de bord"]),
        ("de", ["Bestellungen", "Aufgegeben am", "Versandt", "Vertrieb", "Übersicht"]),
        ("ar", ["الطلبات", "تاريخ الطلب", "تم الشحن", "المبيعات", "لوحة المعلومات"]),
    ],
)
def test_the_order_list_names_its_model_columns_and_choices_in_the_accounts_language(
    seeded, admin_client, code, words
):
    if code != "en":
        assert set_language(admin_client, code).status_code == 303
    page = admin_client.get("/admin/order/list").text
    missing = [word for word in words if word not in page]
    assert not missing, f"the {code} order list lacks {missing}"
    if code != "en":
        assert ">Orders<" not in page and ">Placed at<" not in page, "English left over"


@pytest.mark.parametrize(
    ("code", "headers", "expected"),
    [
        ("fr", ["Passée le", "Statut", "Remarque"], {"Passée le": "placed_at", "Statut": "status"}),
        ("ar", ["تاريخ الطلب", "عمود آخر"], {"تاريخ الطلب": "placed_at"}),
        ("ar", ["Placed at", "status"], {"Placed at": "placed_at", "status": "status"}),
    ],
)
def test_an_imports_columns_are_matched_by_the_names_the_user_reads(code, headers, expected):
    # A file exported in French comes back with French headings; one in English still
    # matches; a heading of another script never matches a field by accident.
    load_catalogues()
    (order_view,) = [v() for v in REGISTRY if v.__name__ == "OrderView"]
    name_in_languages([order_view])
    fields = {field.name: field for field in order_view.fields}
    i18n.set_locale(code)
    try:
        assert mapping.suggest(headers, fields) == expected
    finally:
        i18n.set_locale("en")


def test_every_registered_view_has_its_own_create_label_translated_everywhere():
    views = [view_class() for view_class in REGISTRY]
    labels = {type(v).__name__: str.__str__(v.create_label) for v in views}
    assert all(label and label in SHOWN for label in labels.values()), labels
    assert labels["OrderView"] == "New order"
    for code in LANGUAGES[1:]:
        with (CATALOGUES / code / "LC_MESSAGES" / "messages.po").open("rb") as handle:
            catalogue = read_po(handle, locale=code)
        said = {name: catalogue.get(label).string for name, label in labels.items()}
        assert all(said.values()), f"{code}: create labels without a translation: {said}"
        assert len(set(said.values())) == len(said), f"{code}: two models say the same: {said}"


@pytest.mark.parametrize(
    ("code", "order", "customer"),
    [
        ("en", "New order", "New customer"),
        ("fr", "Nouvelle commande", "Nouveau client"),
        ("de", "Neue Bestellung", "Neuer Kunde"),
        ("ar", "طلب جديد", "عميل جديد"),
    ],
)
def test_the_create_button_and_heading_agree_with_the_models_name(
    seeded, admin_client, code, order, customer
):
    if code != "en":
        assert set_language(admin_client, code).status_code == 303
    for key, said in (("order", order), ("customer", customer)):
        assert said in admin_client.get(f"/admin/{key}/list").text, f"{code} {key}: button"
        assert said in admin_client.get(f"/admin/{key}/create").text, f"{code} {key}: heading"
    assert "Nouveau Commande" not in admin_client.get("/admin/order/list").text


def test_a_related_records_name_keeps_its_own_direction_in_arabic(seeded, admin_client):
    assert set_language(admin_client, "ar").status_code == 303
    cells = admin_client.get("/admin/order/list").text
    assert re.search(r"<bdi>[^<]*&lt;[^<]*@[^<]*&gt;</bdi>", cells), "no <bdi> around a customer"
    detail = admin_client.get("/admin/order/detail?pk=1").text
    assert re.search(r"<bdi>[^<]*&lt;[^<]*@[^<]*&gt;</bdi>", detail), "detail: no <bdi>"


@pytest.mark.parametrize("code", LANGUAGES)
def test_every_views_name_inside_a_sentence_is_lowered_except_a_german_noun(code):
    """ "Back to %(things)s": French "Retour aux commandes", but German "Zurück zu
    Bestellungen", for every registered view's names (templates write `| lower`)."""
    load_catalogues()
    views = [view_class() for view_class in REGISTRY]
    name_in_languages(views)
    i18n.set_locale(code)
    try:
        for view in views:
            for label in (view.display_name, view.menu_label or view.display_name):
                assert isinstance(label, Label), (view, label)
                expected = str(label) if code in CAPITALISED else str(label).lower()
                assert label.lower() == expected, (code, view, label)
            assert in_sentence(view.records_label()) == expected, (code, view)
    finally:
        i18n.set_locale("en")


def test_a_german_page_keeps_its_nouns_capitalised_inside_a_sentence(seeded, admin_client):
    assert set_language(admin_client, "de").status_code == 303
    page = admin_client.get("/admin/customer/import").text
    assert "Importieren: Kunden" in page and "Zurück zu Kunden" in page
    assert "kunden" not in page
    assert set_language(admin_client, "fr").status_code == 303
    assert "Retour à clients" in admin_client.get("/admin/customer/import").text
