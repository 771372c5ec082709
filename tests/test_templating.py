"""The amendments made to starlette-admin's templates as they load still find their text."""

from __future__ import annotations

import pytest
from jinja2 import Environment, FileSystemLoader

from admin_app.templating import STOCK_FIXES, STOCK_TEMPLATES, TEMPLATES_DIR, NonceLoader

FIXES = [(name, text) for name, fixes in STOCK_FIXES.items() for text in fixes]


@pytest.mark.parametrize(("name", "text"), FIXES)
def test_each_amended_text_is_still_in_the_installed_template(name: str, text: str) -> None:
    source = (STOCK_TEMPLATES / name).read_text()
    assert text in source, (
        f"starlette-admin's {name} no longer contains {text!r}: the amendment in "
        "admin_app/templating.py STOCK_FIXES does nothing; find the new text and update it"
    )


@pytest.mark.parametrize("name", list(STOCK_FIXES))
def test_a_loaded_stock_template_carries_the_amendments(name: str) -> None:
    env = Environment(loader=NonceLoader(FileSystemLoader(str(STOCK_TEMPLATES))))
    assert env.loader is not None
    source, _, _ = env.loader.get_source(env, name)
    for text, written in STOCK_FIXES[name].items():
        # A script tag in an amendment gets its nonce like any other.
        replacement = written.replace("<script", '<script nonce="{{ csp_nonce() }}"')
        assert replacement in source, f"{name} was loaded without {replacement!r}"
        assert text not in source.replace(replacement, ""), f"{name} still has {text!r}"


def test_templates_of_the_app_are_left_as_written() -> None:
    env = Environment(loader=NonceLoader(FileSystemLoader(str(TEMPLATES_DIR / "admin"))))
    assert env.loader is not None
    source, _, _ = env.loader.get_source(env, "layout.html")
    assert 'class="page-wrapper"' not in source
    assert "Skip to content" in source
