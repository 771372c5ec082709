"""Example contexts for every email, so each can be previewed without a real event."""

from __future__ import annotations

from typing import Any

_LINK = "https://admin.example.com/admin/password-reset/EXAMPLE-TOKEN"

SAMPLES: dict[str, dict[str, Any]] = {
    "password_reset": {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "link": _LINK,
        "valid_minutes": 30,
    },
    "invitation": {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "inviter": "Grace Hopper",
        "link": "https://admin.example.com/admin/invitation/EXAMPLE-TOKEN",
        "valid_days": 3,
    },
    "email_change_confirm": {
        "name": "Ada Lovelace",
        "old": "ada@example.com",
        "new": "ada@newmail.example",
        "by": "Grace Hopper",
        "link": "https://admin.example.com/admin/email-change/EXAMPLE-TOKEN",
    },
    "email_change_notice": {
        "name": "Ada Lovelace",
        "old": "ada@example.com",
        "new": "ada@newmail.example",
        "by": "Grace Hopper",
    },
    "password_changed": {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "when": "2026-11-30 14:05 UTC",
        "reset_link": "https://admin.example.com/admin/password-reset",
    },
    "new_login": {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "when": "2026-11-30 14:05 UTC",
        "ip": "203.0.113.7",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
        "reset_link": "https://admin.example.com/admin/password-reset",
    },
    "order_shipped": {
        "name": "Ada Lovelace",
        "order_id": 1042,
        "placed_on": "2026-11-28",
        "lines": [
            {"quantity": 2, "product": "Espresso cups (set of 4)"},
            {"quantity": 1, "product": "Burr grinder <Pro>"},
        ],
        "total": "189.90",
    },
    "change_proposed": {
        "name": "Ada Lovelace",
        "request_id": 12,
        "record": "Burr grinder <Pro> (GR-100)",
        "proposer": "Grace Hopper",
        "changes": [{"field": "price", "before": "189.90", "after": "179.90"}],
        "link": "https://admin.example.com/admin/change-request/detail?pk=12",
    },
    "change_decided": {
        "name": "Grace Hopper",
        "request_id": 12,
        "record": "Burr grinder <Pro> (GR-100)",
        "proposer": "Grace Hopper",
        "changes": [{"field": "price", "before": "189.90", "after": "179.90"}],
        "status": "approved",
        "decider": "Ada Lovelace",
        "comment": "Matches the spring promotion.",
        "link": "https://admin.example.com/admin/change-request/detail?pk=12",
    },
    "test": {},
}
