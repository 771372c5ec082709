"""The quick email check accepts only what `email-validator` accepts, so forms and
imports keep the library's rule exactly (`admin_app.admin.email_rule`)."""

from __future__ import annotations

import email_validator
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from starlette_admin.fields import EmailField

from admin_app.admin.email_rule import PLAIN, plainly_valid
from admin_app.admin.registry import REGISTRY
from tests import values


def library_accepts(value: str) -> bool:
    try:
        email_validator.validate_email(value, check_deliverability=False)
    except email_validator.EmailNotValidError:
        return False
    return True


NEAR_MISSES = [
    "ann@example.com",
    "Ann.Lee+shop@Mail.Example.COM",
    "a..b@example.com",
    ".a@example.com",
    "a.@example.com",
    "a@-example.com",
    "a@example-.com",
    "a@ex--ample.com",
    "a@ab--cd.com",
    "a@xn--bcher-kva.com",
    "a@xn--zzzz.com",
    "a@example.c",
    "a@example.123",
    "a@localhost",
    "a@mail.localhost",
    "a@example.invalid",
    "a@x.test",
    "a@x.onion",
    "a@x.local",
    "a@1.2.3.arpa",
    "a@b",
    "x" * 64 + "@example.com",
    "x" * 65 + "@example.com",
    "a@" + "b" * 63 + ".com",
    "a@" + "b" * 64 + ".com",
    "a@" + ".".join(["b" * 60] * 4) + ".com",
    "a@" + ".".join(["b" * 50] * 4) + ".com",
    "x" * 64 + "@" + ".".join(["b" * 60] * 3) + ".com",
    "_@example.com",
    "-@example.com",
    "+@example.com",
]

# Text near the quick path's edges: its own characters plus dots, dashes and digits.
EDGY = st.text(alphabet="ab1-._+@xnXN", min_size=1, max_size=40)
TLDS = ["com", "c", "test", "invalid", "localhost", "arpa", "onion", "local", "123", "xn--p1ai"]
SHAPED = st.builds(
    "{}@{}.{}".format,
    st.text(alphabet="aZ09_+-.", min_size=0, max_size=70),
    st.text(alphabet="aZ09-.", min_size=0, max_size=70),
    st.sampled_from(TLDS),
)


@pytest.mark.parametrize("value", NEAR_MISSES + list(values.ODD_TEXT))
def test_the_quick_check_agrees_with_the_library_on_near_misses(value):
    if plainly_valid(value):
        assert library_accepts(value), (
            f"{value!r}: the quick check accepts what the library refuses"
        )


@settings(max_examples=600, deadline=None)
@given(st.one_of(values.email(), st.from_regex(PLAIN, fullmatch=True), EDGY, SHAPED))
@example("bench.user12@example.com")
def test_the_quick_check_only_accepts_what_the_library_accepts(value):
    if plainly_valid(value):
        assert library_accepts(value), (
            f"{value!r}: the quick check accepts what the library refuses"
        )


def test_the_quick_check_answers_most_plain_addresses():
    """Otherwise it would be no quicker: the addresses the form tests draw are answered."""
    drawn = ["ann@example.com", "bench.user12@example.com", "A.Lee+x@mail.example.co.uk"]
    assert all(plainly_valid(v) for v in drawn)


def test_every_email_field_of_the_registry_uses_the_quick_check():
    """A view's EmailField left with starlette-admin's default rule would import slowly."""
    slow = [
        f"{view.key}.{field.name}"
        for view in REGISTRY
        for field in view.fields
        if isinstance(field, EmailField)
        and not any("email_address" in v.__qualname__ for v in field.validators)
    ]
    assert not slow, f"use validators=[email_address()] on {slow}"
