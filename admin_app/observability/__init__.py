"""Logs and metrics: what ops see of the running app.

- `logs`: structured JSON log lines, configured once per process by the entry points.
- `metrics`: the Prometheus metrics of one app, and scrape-time sources (outbox depth).

The request middleware that feeds both is `admin_app.middleware.observability`;
the `/metrics` route is `admin_app.web.metrics`.
"""
