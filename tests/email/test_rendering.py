"""Email templates: every kind renders both parts, HTML is autoescaped, gaps are errors."""

from __future__ import annotations

import pytest
from jinja2 import UndefinedError

from admin_app.email.outbox import APP_NAME
from admin_app.email.rendering import UnknownEmailError, kinds, render
from admin_app.email.samples import SAMPLES


def test_every_email_has_a_sample_and_both_parts():
    assert set(kinds()) == set(SAMPLES), "each email needs an example context for its preview"
    for kind in kinds():
        rendered = render(kind, {"app_name": APP_NAME, **SAMPLES[kind]})
        assert rendered.subject and "\n" not in rendered.subject, kind
        assert rendered.text.strip() and "<" not in rendered.text.replace("<Pro>", ""), kind
        assert rendered.html.lstrip().startswith("<!doctype html>"), kind
        assert "{{" not in rendered.text + rendered.html, kind


def test_html_is_autoescaped_and_text_is_not():
    context = {**SAMPLES["order_shipped"], "app_name": APP_NAME, "name": "<b>Eve</b> & co"}
    rendered = render("order_shipped", context)
    assert "&lt;b&gt;Eve&lt;/b&gt; &amp; co" in rendered.html and "<b>Eve</b>" not in rendered.html
    assert "Hello <b>Eve</b> & co," in rendered.text


def test_a_missing_value_is_an_error_not_a_blank():
    with pytest.raises(UndefinedError):
        render("password_reset", {"app_name": APP_NAME})


def test_unknown_email_names_the_known_ones():
    with pytest.raises(
        UnknownEmailError,
        match="known: change_decided, change_proposed, email_change_confirm, email_change_notice, invitation",
    ):
        render("nope", {})
