"""Every list page renders the markup starlette-admin's own templates would.

The list rows are built in Python (`admin_app.admin.cells`) for speed; these tests hold
that fast path to the reference, for every registered view, so a new view or field
type is covered without new test code.
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from admin_app.admin.registry import REGISTRY


@pytest.mark.parametrize("view", REGISTRY, ids=lambda v: str(v.key))
def test_no_list_page_shows_markup_as_text(admin_client: TestClient, seeded, view):
    response = admin_client.get(f"/admin/{view.key}/list")
    assert response.status_code == 200, response.text[:500]
    assert "&lt;td" not in response.text, (
        f"the {view.key} list prints escaped <td> markup as text above its table"
    )
