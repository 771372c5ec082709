"""What the API scenario needs: a token per bench user, and URLs as API clients send them.

A script walking a list through the API asks for the page after the one it has, so most
URLs carry a `cursor`: the position of a real customer in a random sort order, written
as the API writes it (`keyset.encode`). One in four is instead a new search's first
page. The URLs are drawn before the run and written to a file, one a line, that
bench/requests.lua walks (`kind=urls`): no URL is asked twice while the file lasts.
Both apps get the same URLs: the floor's `/api/customers` reads the API's query language.
"""

from __future__ import annotations

import asyncio
import os
import random
import tempfile
from pathlib import Path

from bench.database import USERS, app_environment, dsn, user_email

TOKEN_NAME = "make bench"  # noqa: S105 (a token's name, not a secret)
URLS = 40_000
"""More than a scenario's rounds ask for at a few hundred requests per second."""


def api_tokens() -> list[str]:
    """A fresh API token for each bench user (earlier bench tokens revoked), made by the
    app's own service; secrets are shown once, so every run makes its own."""
    return asyncio.run(_api_tokens())


async def _api_tokens() -> list[str]:
    os.environ.update(app_environment())
    from admin_app.auth.api_tokens import create_token, live_tokens, revoke_token
    from admin_app.auth.users import get_user_by_email
    from admin_app.db import create_engine, create_sessionmaker
    from admin_app.settings import load_settings

    engine = create_engine(load_settings())
    secrets = []
    try:
        async with create_sessionmaker(engine).begin() as session:
            for n in range(1, USERS + 1):
                user = await get_user_by_email(session, user_email(n))
                if user is None:
                    raise SystemExit(f"error: bench user {user_email(n)} is missing")
                for old in await live_tokens(session, user.id):
                    if old.name == TOKEN_NAME:
                        await revoke_token(session, old)
                made = await create_token(session, user, name=TOKEN_NAME, days=1, permissions=None)
                secrets.append(made.secret)
    finally:
        await engine.dispose()
    return secrets


def sorts() -> list[str]:
    """The customer sorts the API offers on columns that are never NULL (the floor's
    cursor is a plain row comparison)."""
    from admin_app.admin.views.customer import CustomerView
    from admin_app.models import Customer

    columns = Customer.__table__.c
    return [name for name in CustomerView.sortable_fields if not columns[name].nullable]


def url_file(ids: tuple[int, int], count: int = URLS) -> Path:
    """A temporary file of `count` list URLs' query strings (see the module docstring)."""
    from admin_app.admin.lists import keyset
    from admin_app.models import Customer

    rng = random.Random()  # noqa: S311 (traffic, not secrets)
    names = sorts()
    picked = rng.sample(range(ids[0], ids[1] + 1), count)
    rows = {r["id"]: r for r in asyncio.run(_rows(picked))}
    lines = []
    for pk in picked:
        name = rng.choice(names)
        sort = rng.choice(("", "-")) + name
        if rng.randrange(4) == 0:
            digits = rng.choice((5, 6))  # as requests.lua's search terms
            term = str(rng.randrange(10 ** (digits - 1), 10**digits))
            lines.append(f"?search={term}&sort={sort}")
            continue
        # As the API's order: the column, then the id unless the column alone decides.
        alone = keyset.is_unique_not_null(getattr(Customer, name))
        position = [rows[pk][key] for key in ([name] if alone else [name, "id"])]
        lines.append(f"?sort={sort}&cursor={keyset.encode(position)}")
    handle, path = tempfile.mkstemp(prefix="bench-api-", suffix=".txt")
    with os.fdopen(handle, "w") as out:
        out.write("\n".join(lines) + "\n")
    return Path(path)


async def _rows(ids: list[int]) -> list[object]:
    import asyncpg

    conn = await asyncpg.connect(dsn())
    try:
        return list(await conn.fetch("SELECT * FROM customer WHERE id = ANY($1)", ids))
    finally:
        await conn.close()
