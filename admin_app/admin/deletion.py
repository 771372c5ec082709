"""What deleting some rows does to other rows, read from the mappings and foreign keys.

Django's admin shows, before a delete, what the delete would take with it and what
prevents it. Here that depends on two things, read for any mapped model:

- the deleted model's ORM relationships, which run first: a one-to-many with a
  `delete` cascade removes its children; one without sets their key to NULL (which
  a NOT NULL key refuses, so those children block), unless `passive_deletes` leaves
  them to the database; a many-to-many removes only the link rows;
- every other foreign key's `ON DELETE` rule: CASCADE removes, SET NULL detaches,
  RESTRICT and NO ACTION (the default) block.

A consequence is a WHERE clause over the affected table, nested as IN-subqueries from
the deleted rows, never a list of rows: counting or sampling it is one query whatever
the number of rows behind it.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import (
    Column,
    ColumnElement,
    ForeignKeyConstraint,
    FromClause,
    Table,
    or_,
    select,
    tuple_,
)
from sqlalchemy.orm import Mapper, RelationshipDirection, RelationshipProperty

from admin_app.db import Base

MAX_DEPTH = 6
"""Cascades followed this many steps from the deleted rows (a safeguard for cycles)."""


class Outcome(enum.StrEnum):
    """What a delete does to a related row."""

    DELETED = "deleted"
    """Removed with the deleted rows."""
    DETACHED = "detached"
    """Kept, but no longer linked to them (key set to NULL, or link rows removed)."""
    BLOCKING = "blocking"
    """Prevents the delete while it exists."""


class DeleteBlocked(Exception):
    """Rows that would block a hard delete exist: a delete that does not reach the
    database's constraints (a move to the trash) refuses as the database would."""


@dataclass(frozen=True)
class Consequence:
    """The rows of `table` (of `model`, if mapped) that a delete affects as `outcome`."""

    outcome: Outcome
    table: Table
    model: type[Base] | None
    where: ColumnElement[bool]


def consequences(table: Table, where: ColumnElement[bool]) -> list[Consequence]:
    """Every consequence of deleting the rows of `table` matching `where`, one per
    outcome and table, cascades followed through."""
    found: dict[tuple[Outcome, Table], list[ColumnElement[bool]]] = {}
    _follow(table, where, found, MAX_DEPTH)
    return [
        Consequence(outcome, target, model_of(target), or_(*conditions))
        for (outcome, target), conditions in found.items()
    ]


def model_of(table: Table) -> type[Base] | None:
    """The model mapped to `table`, or None for a plain table (such as a link table)."""
    return _models().get(table)


def _follow(
    table: Table,
    where: ColumnElement[bool],
    found: dict[tuple[Outcome, Table], list[ColumnElement[bool]]],
    depth: int,
) -> None:
    for child, fk in _references_to(table):
        outcome, target, condition = _effect(table, child, fk, where)
        found.setdefault((outcome, target), []).append(condition)
        if outcome is Outcome.DELETED and depth > 0:
            _follow(target, condition, found, depth - 1)


def _effect(
    parent: Table, child: Table, fk: ForeignKeyConstraint, where: ColumnElement[bool]
) -> tuple[Outcome, Table, ColumnElement[bool]]:
    """What deleting `parent`'s rows matching `where` does through `fk`, and to which rows."""
    outcome = _rule(parent, child, fk)
    referencing = _within(list(fk.columns), [e.column for e in fk.elements], where)
    other = _other_side(child, fk)
    if other is None:
        return outcome, child, referencing
    # A link table: the records on its other side are what people know and may see.
    on_other = _within([e.column for e in other.elements], list(other.columns), referencing)
    kept = Outcome.DETACHED if outcome is Outcome.DELETED else outcome
    return kept, other.referred_table, on_other


def _rule(parent: Table, child: Table, fk: ForeignKeyConstraint) -> Outcome:
    relationship = _relationship_for(parent, child, fk)
    if relationship is not None:
        if relationship.direction is RelationshipDirection.MANYTOMANY:
            return Outcome.DELETED  # the link rows; `_effect` says the records stay
        if relationship.cascade.delete:
            return Outcome.DELETED
        if relationship.passive_deletes is False:  # the ORM sets the key to NULL
            return _set_null(fk)
    rule = (fk.ondelete or "NO ACTION").upper()
    if rule == "CASCADE":
        return Outcome.DELETED
    if rule == "SET NULL":
        return _set_null(fk)
    return Outcome.DETACHED if rule == "SET DEFAULT" else Outcome.BLOCKING


def _set_null(fk: ForeignKeyConstraint) -> Outcome:
    nullable = all(column.nullable for column in fk.columns)
    return Outcome.DETACHED if nullable else Outcome.BLOCKING


def _relationship_for(
    parent: Table, child: Table, fk: ForeignKeyConstraint
) -> RelationshipProperty[object] | None:
    """The parent model's relationship that acts on `fk` when a parent row is deleted."""
    mapper = _mappers().get(parent)
    if mapper is None:
        return None
    keys = set(fk.columns)
    for relationship in mapper.relationships:
        if relationship.viewonly or relationship.direction is RelationshipDirection.MANYTOONE:
            continue
        secondary = relationship.secondary
        target = secondary if secondary is not None else relationship.mapper.local_table
        if target is child and {remote for _, remote in relationship.synchronize_pairs} == keys:
            return relationship
    return None


def _other_side(child: Table, fk: ForeignKeyConstraint) -> ForeignKeyConstraint | None:
    """For a plain two-key link table (such as `product_tag`), its other foreign key."""
    if model_of(child) is not None:
        return None
    others = [other for other in child.foreign_key_constraints if other is not fk]
    return others[0] if len(others) == 1 else None


def _within(
    columns: Sequence[Column[object]], keys: Sequence[Column[object]], where: ColumnElement[bool]
) -> ColumnElement[bool]:
    """`columns` IN (the `keys` of the rows matching `where`). Never correlated: a table
    that refers to itself nests inside its own query."""
    matching = select(*keys).where(where).correlate(None)
    if len(columns) == 1:
        return columns[0].in_(matching)
    return tuple_(*columns).in_(matching)


def _references_to(table: Table) -> list[tuple[Table, ForeignKeyConstraint]]:
    return [
        (child, fk)
        for child in table.metadata.sorted_tables
        for fk in sorted(child.foreign_key_constraints, key=lambda c: str(c.name))
        if fk.referred_table is table
    ]


def _mappers() -> dict[FromClause, Mapper[Base]]:
    # Looked up each time, not kept: fifteen mappers, and a model imported late still counts.
    return {mapper.local_table: mapper for mapper in Base.registry.mappers}


def _models() -> dict[FromClause, type[Base]]:
    return {table: mapper.class_ for table, mapper in _mappers().items()}
