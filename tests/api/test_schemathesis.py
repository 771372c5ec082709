"""schemathesis against the served description: a few generated calls per operation, as a
superuser's token, on a small demo store. No server error, and every answer matches the
description (status, content type, body)."""

from __future__ import annotations

import os

import httpx2
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from admin_app.settings import Settings
from tests.api.helpers import bearer, make_token
from tests.helpers import create_admin
from tests.server import running_server

EXAMPLES_PER_OPERATION = 5
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def test_generated_calls_get_no_server_error_and_match_the_description(seeded: Settings) -> None:
    token = bearer(make_token(seeded, create_admin(seeded)))
    with running_server(seeded, **_this_checkout()) as base:
        spec = httpx2.get(f"{base}/api/openapi.json").json()
        schema = schemathesis.openapi.from_dict(spec)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) > 40, "every model's operations are described"
        statuses: list[int] = []
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                derandomize=True,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def call(case: schemathesis.Case) -> None:
                answer = case.call_and_validate(base_url=base, headers=token, checks=CHECKS)
                statuses.append(answer.status_code)

            call()
    assert statuses.count(200) > 10, f"generated calls mostly failed: {sorted(statuses)}"


def _this_checkout() -> dict[str, str]:
    """The server imports the code under test, where a checkout is put first on the path."""
    path = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": path} if path else {}
