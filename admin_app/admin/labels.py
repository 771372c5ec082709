"""The names the code gives (a model's, a field's, a choice's, a menu group's), shown in
the request's language.

A developer writes `label = "Orders"`, a field's `help_text` or an action's `text` and
`confirmation`, or lets starlette-admin name a field after its column ("Placed at");
nobody wraps those in `_()`. `name_in_languages` turns each into a
`Label` when the admin is built: a `str` that reads translated wherever a person sees it
(Jinja's escaping, `str()`, f-strings, `%s`), and stays what was written as a value, so it
compares, hashes, sorts and serialises (JSON, a CSV's keys) as before and nothing keyed
by it moves. `extract_labels` hands every such name to `make translations` (babel.cfg
maps this file to it), and tests/admin/test_labels.py fails on a name some catalogue
lacks: a model registered next year is translated, or the suite says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any, TypeGuard

from markupsafe import escape
from starlette_admin import i18n
from starlette_admin.fields import BaseField, EnumField
from starlette_admin.views import BaseModelView

from admin_app.admin import compat
from admin_app.languages import in_sentence

NAMED = (
    "menu_label",
    "display_name",
    "label",
    "name",
    "create_label",
    "rows_title",
    "row_noun",
    "total_label",
)
"""A model view's attributes that name it on the page."""

SAID = ("text", "header", "confirmation", "submit_btn_text")
"""What an action's declaration says to a person (its `form` is HTML, left as it is)."""


class Label(str):
    """A name from the code, read in the request's language wherever it is shown."""

    __slots__ = ()

    def __str__(self) -> str:
        return i18n.gettext(str.__str__(self))

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __html__(self) -> str:
        return str(escape(str(self)))

    def lower(self) -> str:
        """The translated name as written inside a sentence (`in_sentence`): Jinja's
        `| lower` in "Bulk edit %(things)s" calls this, and must neither bring the
        English back nor lower a German noun."""
        return in_sentence(str(self))

    def upper(self) -> str:
        return str(self).upper()


def _fields(view: Any) -> Iterator[BaseField]:
    """The view's fields, and those of its inlines (an order's lines)."""
    yield from getattr(view, "fields", ())
    if isinstance(view, BaseModelView):
        for inline in compat.inline_views(view):
            yield from inline.fields


def _actions(view: Any) -> Iterator[dict[str, Any]]:
    """The declarations of the view's batch and row actions."""
    if isinstance(view, BaseModelView):
        yield from compat.action_specs(view).values()
        yield from compat.row_action_specs(view).values()


Slot = tuple[str, Callable[[Label], None]]
"""A name as written, and how to put its `Label` in its place."""


def _said(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value)


def _put_choice(field: EnumField, index: int, label: Label) -> None:
    choices: list[tuple[Any, str]] = list(field.choices)  # type: ignore[arg-type]  # pairs: checked by _slots
    choices[index] = (choices[index][0], label)
    field.choices = tuple(choices)


def _slots(view: Any) -> Iterator[Slot]:
    """Every name `view` shows: its own and its inlines', its fields' (label and help),
    the labels of their fixed choices, and what its actions say."""
    inlines = compat.inline_views(view) if isinstance(view, BaseModelView) else []
    for named in (view, *inlines):
        for attribute in NAMED:
            if _said(value := getattr(named, attribute, None)):
                yield value, partial(setattr, named, attribute)
    for spec in _actions(view):
        for key in SAID:
            if _said(value := spec.get(key)):
                yield value, partial(spec.__setitem__, key)
    for field in _fields(view):
        for attribute in ("label", "help_text"):
            if _said(value := getattr(field, attribute)):
                yield value, partial(setattr, field, attribute)
        if isinstance(field, EnumField) and isinstance(field.choices, (list, tuple)):
            for index, (_, label) in enumerate(field.choices):
                if isinstance(label, str):
                    yield label, partial(_put_choice, field, index)


def names(views: Iterable[Any]) -> Iterator[str]:
    """Every name `views` show, as written, and their menu groups (which the menu
    translates where it is built)."""
    for view in views:
        if isinstance(group := getattr(view, "menu_group", None), str):
            yield group
        yield from (value for value, _ in _slots(view))


def name_in_languages(views: Iterable[Any]) -> None:
    """Make every name `views` show a `Label` (see the module's docstring)."""
    for view in views:
        for value, put in list(_slots(view)):
            put(Label(value))


def create_label(view: Any) -> str:
    """What `view`'s create button and page heading say, in the request's language: its
    `create_label` ("Nouvelle commande"), else starlette-admin's "New %(name)s"."""
    said = getattr(view, "create_label", None)
    if isinstance(said, str) and said:
        return str(said)
    return i18n.gettext("New %(name)s") % {"name": view.display_name}


def extract_labels(
    fileobj: Any, keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, None, str, list[str]]]:
    """Babel's extraction method for the registry's names (babel.cfg): the file it is
    mapped to is only where they are said to come from."""
    from admin_app.admin.registry import REGISTRY  # the whole admin: only when extracting

    for name in sorted(set(names(view_class() for view_class in REGISTRY))):
        yield (
            1,
            None,
            name,
            ["Said by the code: a model, field, choice, menu group or action (labels.py)."],
        )


def N_(text: str) -> Label:
    """`text`, a name given in code outside the registry (a page's menu entry), as a
    `Label` marked for translation."""
    return Label(text)
