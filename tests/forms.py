"""Read an HTML form the way a browser does, so tests can submit it as a browser would.

`read_form(html)` finds the page's main form and returns each control with what it
currently holds and, for selects, every option it offers. `Form.submission()` gives the
fields a browser would post if nobody touched anything; tests change some of them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from typing import Any


@dataclass
class Control:
    """One named form control."""

    name: str
    tag: str
    """`input`, `select` or `textarea`."""
    type: str = "text"
    """The input's type (`text`, `checkbox`, `number`, `datetime-local`, …); `select`
    or `textarea` for those tags."""
    value: str = ""
    checked: bool = False
    multiple: bool = False
    required: bool = False
    disabled: bool = False
    readonly: bool = False
    attrs: dict[str, str] = field(default_factory=dict)
    options: list[tuple[str, str]] = field(default_factory=list)
    """A select's options as (value, label), in order; the blank one included."""
    selected: list[str] = field(default_factory=list)

    def submitted(self) -> list[str] | None:
        """What a browser posts for this control when nobody touches it (None: nothing)."""
        if self.disabled or self.type in ("submit", "button", "file", "reset", "image"):
            return None
        if self.type in ("checkbox", "radio"):
            return [self.value or "on"] if self.checked else None
        if self.tag == "select":
            if self.selected:
                return self.selected
            if "data-initial" in self.attrs:  # a relation picker: its script fills it in
                return [str(pk) for pk in json.loads(self.attrs["data-initial"] or "[]")]
            if self.multiple or not self.options:
                return []
            return [self.options[0][0]]
        return [self.value]


@dataclass
class Form:
    """A form's action, method and controls, in document order."""

    action: str = ""
    method: str = "get"
    enctype: str = ""
    controls: list[Control] = field(default_factory=list)

    def control(self, name: str) -> Control:
        for control in self.controls:
            if control.name == name:
                return control
        raise KeyError(f"the form has no control named {name!r}: {self.names()}")

    def names(self) -> list[str]:
        return [c.name for c in self.controls]

    def submission(self) -> list[tuple[str, str]]:
        """The (name, value) pairs a browser posts for the untouched form."""
        pairs: list[tuple[str, str]] = []
        for control in self.controls:
            for value in control.submitted() or []:
                pairs.append((control.name, value))
        return pairs

    def with_values(self, changes: dict[str, Any]) -> list[tuple[str, str]]:
        """The untouched submission with some controls set: a value, a list of values
        (a multiple select), or None (an unticked checkbox / nothing sent)."""
        pairs = [(n, v) for n, v in self.submission() if n not in changes]
        for name, value in changes.items():
            if value is None:
                continue
            for item in value if isinstance(value, list) else [value]:
                pairs.append((name, str(item)))
        return pairs


class _FormParser(HTMLParser):
    def __init__(self, form_id: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.forms: list[Form] = []
        self.current: Form | None = None
        self.select: Control | None = None
        self.option: tuple[str, bool] | None = None
        self.option_text = ""
        self.textarea: Control | None = None
        self.in_template = 0  # a <template>'s content is inert: no part of any form

    def handle_starttag(self, tag: str, attr_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: (v if v is not None else "") for k, v in attr_list}
        if tag == "template":
            self.in_template += 1
        if self.in_template:
            return
        if tag == "form":
            self.current = Form(
                action=attrs.get("action", ""),
                method=attrs.get("method", "get").lower(),
                enctype=attrs.get("enctype", ""),
            )
            self.current_id = attrs.get("id")
            self.forms.append(self.current)
            return
        if self.current is None:
            return
        if tag == "input" and "name" in attrs:
            self.current.controls.append(_control(tag, attrs, attrs.get("type", "text").lower()))
        elif tag == "select" and "name" in attrs:
            self.select = _control(tag, attrs, "select")
            self.current.controls.append(self.select)
        elif tag == "option" and self.select is not None:
            self.option = (attrs.get("value", "\0"), "selected" in attrs)
            self.option_text = ""
        elif tag == "textarea" and "name" in attrs:
            self.textarea = _control(tag, attrs, "textarea")
            self.current.controls.append(self.textarea)

    def handle_data(self, data: str) -> None:
        if self.in_template:
            return
        if self.option is not None:
            self.option_text += data
        elif self.textarea is not None:
            self.textarea.value += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "template":
            self.in_template = max(0, self.in_template - 1)
            return
        if self.in_template:
            return
        if tag == "option" and self.select is not None and self.option is not None:
            self._close_option()
        elif tag == "select":
            if self.option is not None and self.select is not None:
                self._close_option()
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            # A browser drops one leading newline of a textarea's content.
            self.textarea.value = self.textarea.value.removeprefix("\n")
            self.textarea = None
        elif tag == "form":
            self.current = None

    def _close_option(self) -> None:
        assert self.select is not None and self.option is not None
        value, selected = self.option
        label = " ".join(self.option_text.split())
        value = label if value == "\0" else value
        self.select.options.append((value, label))
        if selected:
            self.select.selected.append(value)
        self.option = None


def _control(tag: str, attrs: dict[str, str], kind: str) -> Control:
    return Control(
        name=attrs["name"],
        tag=tag,
        type=kind,
        value=attrs.get("value", ""),
        checked="checked" in attrs,
        multiple="multiple" in attrs,
        required="required" in attrs,
        disabled="disabled" in attrs,
        readonly="readonly" in attrs,
        attrs=attrs,
    )


def read_forms(html: str) -> list[Form]:
    """Every form on the page."""
    parser = _FormParser(None)
    parser.feed(html)
    return parser.forms


def fill_lazy_choices(form: Form, client: Any) -> Form:
    """Give each long choice list the options its script fetches when the list is used
    (static/choices.js): the blank one and a value the list does not offer stay."""
    for control in form.controls:
        url = control.attrs.get("data-app-choices")
        if not url:
            continue
        fetched = [(str(value), str(label)) for value, label in client.get(url).json()]
        offered = {value for value, _label in fetched}
        kept = [o for o in control.options if o[0] == "" or o[0] not in offered]
        control.options = kept + fetched
    return form


def header_filter_forms(page: str, client: Any) -> list[Form]:
    """The forms of a list page's header filters, fetched as static/header_filters.js
    fetches them: from the link each empty popover holds (`data-app-hf-load`)."""
    links = re.findall(r'<a href="([^"]+)" data-app-hf-load>', page)
    forms: list[Form] = []
    for link in links:
        response = client.get(unescape(link))
        assert response.status_code == 200, (link, response.status_code, response.text[:300])
        assert "no-cache" in response.headers["cache-control"], "forms must not go stale"
        forms += read_forms(response.text)
    return forms


def read_form(html: str, *, having: str = "_version") -> Form:
    """The page's main form: the first one with a control named `having`, else the
    form with the most controls (create forms carry no version)."""
    forms = read_forms(html)
    for form in forms:
        if having in form.names():
            return form
    if not forms:
        raise AssertionError("the page has no form")
    return max(forms, key=lambda f: len(f.controls))
