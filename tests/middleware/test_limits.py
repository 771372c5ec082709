"""Request bodies are read in full before the app: a half-sent body holds nothing shared."""

from __future__ import annotations

from tests.helpers import create_admin
from tests.server import running_server
from tests.stress.serving import half_requests, held_open, signed_in


def test_half_sent_signed_in_posts_hold_no_database_connection(settings):
    """Before: each waited for its body with the session's connection checked out."""
    create_admin(settings, "root@example.com")
    with running_server(settings, DB_POOL_SIZE="2", DB_POOL_TIMEOUT="3") as base:
        me = signed_in(base, "root@example.com")
        stalled = [b for b in half_requests(me, 60) if b"category/create" in b]
        with held_open(base, stalled):
            me.get("/admin/category/list")  # the server has read what they sent by now
            page = me.get("/admin/category/list")
            assert page.status_code == 200, (
                f"with {len(stalled)} signed-in POSTs waiting for their bodies, a page got "
                f"{page.status_code}: the half-sent requests hold the database pool"
            )
