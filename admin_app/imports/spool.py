"""The clean rows of a validated file, kept on disk between the validation and the apply.

Values are kept as the fields parsed them (dates, decimals, booleans), in batches, with
the standard library's pickle: the file is written by this app into its own data
directory and read back only by it, never taken from an upload. A new row carries a
value for every column it writes (the column's default where the file gave none), so
the apply can insert all rows with one statement.
"""

from __future__ import annotations

import enum
import pickle
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Table, inspect

from admin_app.db import Base, table_of

Record = tuple[Any, ...]


def _default(column: Any) -> Callable[[], Any] | None:
    default = column.default
    if default is None:
        return None
    if default.is_scalar:
        return lambda: default.arg
    if default.is_callable:
        return lambda: default.arg(None)
    return None


@dataclass(frozen=True)
class WritePlan:
    """The columns an import writes: for new rows, and for rows it updates."""

    table: Table
    pk: str
    insert_columns: tuple[str, ...]
    update_columns: tuple[str, ...]
    versioned: bool
    defaults: dict[str, Callable[[], Any]]

    @classmethod
    def of(cls, model: type[Base], fields: Sequence[str], key: str | None) -> WritePlan:
        """The plan for a mapping onto `fields` of `model` (attribute names)."""
        mapper = inspect(model)
        pk = mapper.primary_key[0]
        columns = {attr.key: attr.columns[0] for attr in mapper.column_attrs}
        defaults = {
            name: make
            for name, column in columns.items()
            if column is not pk and (make := _default(column)) is not None
        }
        mapped = tuple(name for name in fields if name in columns and columns[name] is not pk)
        inserted = (*mapped, *(name for name in defaults if name not in mapped))
        return cls(
            table=table_of(model),
            pk=pk.name,
            insert_columns=tuple(columns[n].name for n in inserted),
            update_columns=tuple(columns[n].name for n in mapped if n != "version"),
            versioned="version" in columns and mapper.version_id_col is not None,
            defaults=defaults,
        )

    def new_record(self, data: dict[str, Any]) -> Record:
        """The values of a new row, in `insert_columns` order; a blank takes the default."""
        values = []
        for name in self.insert_columns:
            value = data.get(name)
            if value is None and name in self.defaults:
                value = self.defaults[name]()
            values.append(plain(value))
        return tuple(values)

    def update_record(self, pk: Any, version: Any, data: dict[str, Any]) -> Record:
        """`(pk, version seen, *update_columns values)` of a row to update."""
        return (pk, version, *(plain(data.get(n)) for n in self.update_columns))


def plain(value: Any) -> Any:
    """A value as the database driver takes it (an enum member as its value)."""
    return value.value if isinstance(value, enum.Enum) else value


class SpoolWriter:
    """Writes clean rows to `path`, one pickled `(new, updated)` pair per batch."""

    def __init__(self, path: Path, plan: WritePlan, batch: int = 2000) -> None:
        self.path, self.plan, self.batch = path, plan, batch
        self.handle: IO[bytes] | None = None
        self.new_rows: list[Record] = []
        self.updated_rows: list[Record] = []

    def __enter__(self) -> SpoolWriter:
        self.handle = self.path.open("wb")
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: Any) -> None:
        if kind is None:
            self.flush()
        assert self.handle is not None
        self.handle.close()

    def new(self, data: dict[str, Any]) -> None:
        self.new_rows.append(self.plan.new_record(data))
        self._maybe_flush()

    def update(self, obj: Any, data: dict[str, Any]) -> None:
        pk = inspect(obj).identity[0]
        version = getattr(obj, "version", None)
        self.updated_rows.append(self.plan.update_record(pk, version, data))
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        if len(self.new_rows) + len(self.updated_rows) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if self.new_rows or self.updated_rows:
            assert self.handle is not None
            pickle.dump((self.new_rows, self.updated_rows), self.handle, pickle.HIGHEST_PROTOCOL)
            self.new_rows, self.updated_rows = [], []


def read_spool(path: Path) -> Iterator[tuple[list[Record], list[Record]]]:
    """The spooled batches, `(new rows, updated rows)`, as `SpoolWriter` wrote them."""
    with path.open("rb") as handle:
        while True:
            try:
                yield pickle.load(handle)  # noqa: S301 - our own file, see the module docstring
            except EOFError:
                return
