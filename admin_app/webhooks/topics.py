"""What endpoints may follow: one `Topic` per model in the admin, and the fields it may carry.

The admin builds the topics from its registry (`admin_app.admin.webhook_topics`) and hands
them to `admin_app.webhooks.capture`; this module knows no view, so nothing here imports
the admin.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

EVENTS = ("create", "update", "delete")
"""The events an endpoint can ask for, in the words of the audit log."""


@dataclass(frozen=True)
class Topic:
    """A model endpoints may follow."""

    key: str
    """The admin key, which payloads call `model`, e.g. `product`."""
    label: str
    fields: frozenset[str]
    """The audit-log names (columns, foreign keys, collections) a payload may carry:
    those a superuser sees on the record's page; never a secret."""


Topics = Mapping[str, Topic]
"""Topics by table name (the audit log's `model`)."""


def choices(topics: Topics) -> list[tuple[str, str]]:
    """(key, label) of every topic, for the endpoint form."""
    return sorted(((t.key, t.label) for t in topics.values()), key=lambda c: c[1])
