"""starlette-admin's private names are used in one place, and the installed release still
has each of them as `admin_app.admin.compat` pins it.

An upgrade that renames a private method, changes its parameters, drops an attribute, a
template partial or a key fails here, naming it, instead of on some page at run time. The
tests walk compat's tables, so a pin added there is checked with no new test code; and
they walk `admin_app` and `templates`, so a private name used elsewhere fails too.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import io
import pkgutil
import re
import textwrap
import tokenize
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import starlette_admin
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from starlette_admin.auth import login_not_required
from starlette_admin.base import BaseAdmin
from starlette_admin.contrib.sqla import Admin, ModelView
from starlette_admin.fields import BaseField, StringField
from starlette_admin.routing import route
from starlette_admin.views import BaseModelView, BaseView

import admin_app
from admin_app.admin import compat
from admin_app.admin.compat import CALLED, KEYS, OVERRIDDEN, READ, TEMPLATES, Pin

ROOT = Path(admin_app.__file__).parent.parent
COMPAT = "admin_app/admin/compat.py"
SEE = "see admin_app/admin/compat.py"
STOCK_TEMPLATES = Path(starlette_admin.__file__).parent / "templates"
OWN_TEMPLATES = ROOT / "templates" / "admin"

ALLOWED_ELSEWHERE: frozenset[str] = frozenset()
"""Files still allowed to use private names directly, until they route them through compat."""


class _Base(DeclarativeBase):
    pass


class _Thing(_Base):
    __tablename__ = "compat_probe_thing"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


def _probes() -> dict[Any, Any]:
    """An instance of each `READ` owner, built by stock starlette-admin alone."""
    admin = Admin(async_sessionmaker(), secret_key="compat-probe-" + "x" * 32)
    view = ModelView(_Thing)
    admin.add_view(view)
    return {
        BaseAdmin: admin,
        BaseView: view,
        BaseModelView: view,
        ModelView: view,
        BaseField: StringField("probe"),
        login_not_required: login_not_required(lambda request: None),
        route: route("/probe", methods=["GET"], name="probe")(lambda request: None),
    }


def _label(pin: Pin) -> str:
    return f"{compat.owner_name(pin.owner)}.{pin.name}"


def _changed(what: str, expected: str, found: str) -> str:
    return (
        f"starlette-admin {compat.VERSION} changed {what}: "
        f"expected {expected}, found {found}; {SEE}"
    )


def _gone(what: str) -> str:
    return f"starlette-admin {compat.VERSION} has no {what} any more; {SEE}"


@pytest.mark.parametrize("pin", CALLED, ids=_label)
def test_called_private_methods_keep_their_parameters(pin: Pin):
    function = getattr(pin.owner, pin.name, None)
    assert callable(function), _gone(_label(pin))
    found = compat.signature_shape(function)
    assert found == pin.shape, _changed(_label(pin), str(pin.shape), found)


@pytest.mark.parametrize("pin", READ, ids=_label)
def test_read_private_attributes_are_still_set(pin: Pin):
    probe = _probes()[pin.owner]
    assert hasattr(probe, pin.name), _gone(_label(pin))
    if pin.shape is not None:
        found = compat.signature_shape(getattr(probe, pin.name))
        assert found == pin.shape, _changed(_label(pin), pin.shape, found)


@pytest.mark.parametrize("entry", OVERRIDDEN.items(), ids=lambda e: e[0][1])
def test_overridden_private_methods_keep_their_parameters_and_routes(
    entry: tuple[tuple[type[Any], str], str],
):
    (owner, name), shape = entry
    what = f"{owner.__qualname__}.{name}"
    stock = getattr(owner, name, None)
    assert callable(stock), _gone(what)
    found = compat.signature_shape(stock)
    assert found == shape, _changed(what, shape, found)
    bridges = [
        vars(cls)[name]
        for cls in vars(compat).values()
        if isinstance(cls, type) and issubclass(cls, owner) and name in vars(cls)
    ]
    assert bridges, f"no class of compat overrides {what}; {SEE}"
    for bridge in bridges:
        assert compat.signature_shape(bridge) == shape, (
            f"{what} is overridden with other parameters"
        )
    stock_route, bridge_route = compat.route_of(stock), compat.route_of(bridge)
    assert stock_route == bridge_route, _changed(f"the route of {what}", bridge_route, stock_route)


def test_only_compat_overrides_private_methods():
    """Every project class overriding a private method of starlette-admin is compat's
    bridge, and the method is in `OVERRIDDEN`."""
    stray = []
    for cls in _project_classes():
        stock = [k for k in cls.__mro__ if k.__module__.startswith("starlette_admin")]
        for name in vars(cls):
            if not _is_private(name) or name.startswith("_abc_"):
                continue
            owners = [k for k in stock if name in vars(k)]
            if not owners:
                continue
            listed = any((k, name) in OVERRIDDEN for k in owners)
            where = _relative(inspect.getfile(cls))
            in_compat = cls.__module__ == compat.__name__
            if not listed or (not in_compat and where not in ALLOWED_ELSEWHERE):
                stray.append(f"{where}: {cls.__qualname__}.{name}")
    assert not stray, (
        "private methods of starlette-admin overridden outside compat.AdminPages (bridge "
        f"each there, list it in OVERRIDDEN, override the public hook instead): {stray}"
    )


@pytest.mark.parametrize("pin", KEYS, ids=lambda p: f"{compat.owner_name(p.owner)}:{p.name}")
def test_private_keys_are_still_used_by_starlette_admin(pin: Pin):
    owner = pin.owner
    if isinstance(owner, str):  # a stock template, which names the key bare
        used = re.search(rf"(?<![\w]){pin.name}(?![\w])", (STOCK_TEMPLATES / owner).read_text())
    else:
        source = inspect.getsource(owner)
        used = f'"{pin.name}"' in source or f"'{pin.name}'" in source
    assert used, (
        f"starlette-admin {compat.VERSION} no longer uses the key {pin.name!r} in "
        f"{compat.owner_name(owner)}; {SEE}"
    )


def test_detail_context_has_the_keys_of_the_stock_detail_page():
    stock = _dict_keys(BaseAdmin._render_detail, "raw_obj")
    ours = _dict_keys(compat.detail_context, "raw_obj")
    assert ours == stock, _changed("the detail page's context", sorted(ours), sorted(stock))


@pytest.mark.parametrize("name", TEMPLATES)
def test_private_template_partials_are_still_shipped(name: str):
    assert (STOCK_TEMPLATES / name).is_file(), _gone(f"the template {name}")


def test_templates_include_only_listed_private_partials():
    included = re.compile(r"{%-?\s*(?:include|import|from|extends)\s+[\"']([^\"']+)[\"']")
    stray = []
    for path in OWN_TEMPLATES.rglob("*.html"):
        for name in included.findall(path.read_text()):
            private = Path(name).name.startswith("_") and (STOCK_TEMPLATES / name).is_file()
            if private and not (OWN_TEMPLATES / name).is_file() and name not in TEMPLATES:
                stray.append(f"{_relative(path)}: {name}")
    assert not stray, f"private starlette-admin partials not in compat.TEMPLATES: {stray}"


def test_no_private_name_is_used_outside_compat():
    attributes = {p.name for p in (*CALLED, *READ)} | {name for _, name in OVERRIDDEN}
    keys = {p.name for p in KEYS}
    found = [
        hit
        for path in sorted((ROOT / "admin_app").rglob("*.py"))
        if _relative(path) not in ALLOWED_ELSEWHERE | {COMPAT}
        for hit in _private_uses(path, attributes, keys)
    ]
    words = re.compile(r"(?<![\w])(" + "|".join(sorted(attributes | keys)) + r")(?![\w])")
    for path in sorted((ROOT / "templates").rglob("*.html")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            found += [f"{_relative(path)}:{number}: {m}" for m in words.findall(line)]
    assert not found, (
        "starlette-admin's private names used outside admin_app/admin/compat.py; use (or "
        f"add) a public wrapper there: {found}"
    )


def test_allowed_files_still_need_their_exception():
    """An allowed file that no longer uses a private name leaves `ALLOWED_ELSEWHERE`."""
    attributes = {p.name for p in (*CALLED, *READ)} | {name for _, name in OVERRIDDEN}
    keys = {p.name for p in KEYS}
    clean = [f for f in ALLOWED_ELSEWHERE if not list(_private_uses(ROOT / f, attributes, keys))]
    assert not clean, (
        f"these files use no private name now; drop them from ALLOWED_ELSEWHERE: {clean}"
    )


def _private_uses(path: Path, attributes: set[str], keys: set[str]) -> Iterator[str]:
    """`.name` (in f-strings too) and `"name"` for private attributes, `def name` for
    overridden methods, string literals and keyword arguments for private keys. Comments
    and docstrings do not count."""
    overridden = {name for _, name in OVERRIDDEN}
    dotted = re.compile(r"\.(" + "|".join(sorted(attributes)) + r")\b")
    tokens = [
        t
        for t in tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
        if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT)
    ]
    relative = _relative(path)
    for before, token, after in zip(tokens, tokens[1:], tokens[2:], strict=False):
        where = f"{relative}:{token.start[0]}"
        named = token.type == tokenize.NAME and token.string in attributes
        if named and (
            before.string == "." or (before.string == "def" and token.string in overridden)
        ):
            yield f"{where}: {before.string} {token.string}"
        if token.type == tokenize.NAME and token.string in keys and after.string == "=":
            yield f"{where}: {token.string}="
        if token.type == tokenize.STRING and _literal(token.string) in keys | attributes:
            yield f"{where}: {token.string}"
        if token.type == tokenize.STRING and "f" in token.string.split("'")[0].split('"')[0]:
            yield from (f"{where}: .{m} in an f-string" for m in dotted.findall(token.string))


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None


def _dict_keys(function: Any, marker: str) -> set[str]:
    """The keys of the dict literal in `function` that has the key `marker`."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    module = inspect.getmodule(function)
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            keys = {_key(k, module) for k in node.keys if k is not None}
            if marker in keys:
                return keys
    raise AssertionError(_gone(f"the {marker!r} context of {function.__qualname__}"))


def _key(node: ast.expr, module: Any) -> str:
    if isinstance(node, ast.Constant):
        return str(node.value)
    assert isinstance(node, ast.Name), ast.dump(node)
    return str(getattr(module, node.id))


def _project_classes() -> Iterator[type[Any]]:
    for info in pkgutil.walk_packages(admin_app.__path__, "admin_app."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and value.__module__ == module.__name__:
                yield value


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _relative(path: str | Path) -> str:
    return Path(path).resolve().relative_to(ROOT).as_posix()
