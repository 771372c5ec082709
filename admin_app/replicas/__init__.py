"""Read replicas: which PostgreSQL streaming replica a read-only request reads from.

- `health`: the replicas of one app and a background check of each (up, lag);
- `routing`: the one choice of where a request reads (`read_engine`), and the session
  class that sends a request's SELECTs there and everything else to the primary;
- `sticky`: read-your-writes, the signed cookie a successful write leaves behind.

See docs/deploy.md, "Read replicas".
"""
