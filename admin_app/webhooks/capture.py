"""Turning each logged change into deliveries, in the same transaction (a transactional outbox).

The audit recorder sees every ORM insert, update and delete as it is flushed
(`admin_app.audit.recorder`); it hands each flush's entries here, on the flush's
connection. For every enabled endpoint that follows the model and the event, one
`webhook_delivery` row is written with its signed-later body fixed: a change that is
rolled back leaves no delivery, and a committed one cannot miss its deliveries.

Only fields in the topic's whitelist are carried (`Topic.fields`), so secrets and
whatever a superuser does not see on the record's page never leave.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import Connection, insert, select

from admin_app.audit.recorder import Recorded, subscribe
from admin_app.audit.values import REDACTED
from admin_app.db import table_of, utcnow
from admin_app.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from admin_app.webhooks.topics import Topic, Topics

DELIVERIES = table_of(WebhookDelivery)
_ENDPOINTS = select(WebhookEndpoint.id, WebhookEndpoint.models, WebhookEndpoint.events).where(
    WebhookEndpoint.enabled.is_(True)
)


def start_capture(topics: Topics) -> None:
    """Write deliveries for what this process changes from now on (the recorder must run:
    `start_recording`). Calling it again replaces the topics."""
    subscribe("webhooks", lambda connection, logged: _capture(topics, connection, logged))


def _capture(topics: Topics, connection: Connection, logged: Recorded) -> None:
    followed = [(action, row) for action, row in logged if row["model"] in topics]
    if not followed:
        return
    endpoints = connection.execute(_ENDPOINTS).all()
    if not endpoints:
        return
    events = [(topics[row["model"]], action, row) for action, row in followed]
    bodies = [(topic, action, row, _body(topic, action, row)) for topic, action, row in events]
    rows = [
        delivery(endpoint_id, topic, action, row, body)
        for endpoint_id, models, wanted in endpoints
        for topic, action, row, body in bodies
        if topic.key in (models or []) and action in (wanted or [])
    ]
    if rows:
        connection.execute(insert(DELIVERIES), rows)


def payload(topic: Topic, action: str, row: dict[str, Any], event_id: str) -> dict[str, Any]:
    """The JSON an endpoint receives for one logged change."""
    changes = {
        name: values
        for name, values in row["changes"].items()
        if name in topic.fields and REDACTED not in values
    }
    return {
        "id": event_id,
        "type": f"{topic.key}.{action}",
        "model": topic.key,
        "record_id": row["object_pk"],
        "changes": changes,
        "actor": {"id": row["user_id"], "name": row["actor"]},
        "occurred_at": row["at"].isoformat(),
    }


def _body(topic: Topic, action: str, row: dict[str, Any]) -> str:
    """One event's JSON, the same for every endpoint that gets it (and its `id`)."""
    event = payload(topic, action, row, f"evt_{uuid.uuid4().hex}")
    return json.dumps(event, separators=(",", ":"))


def delivery(
    endpoint_id: int, topic: Topic, action: str, row: dict[str, Any], body: str
) -> dict[str, Any]:
    """A `webhook_delivery` row, due now."""
    now = utcnow()
    return {
        "endpoint_id": endpoint_id,
        "event_id": json.loads(body)["id"],
        "event_type": f"{topic.key}.{action}",
        "record_id": row["object_pk"][:100],
        "body": body,
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": "",
        "created_at": now,
    }
