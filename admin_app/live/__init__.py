"""Live activity: who changed what, and who is looking at which record, pushed to browsers.

- `messages`: the JSON that browsers receive, and what processes send one another.
- `hub`: this process's open connections, each with a bounded queue.
- `presence`: who views which record, merged across processes.
- `broker`: PostgreSQL `LISTEN/NOTIFY` between processes (none needed on SQLite).
- `watcher`: closes connections whose login session has ended.
- `service`: ties them together; lives in the app state as `live`.
- `publish`: turns starlette-admin's after-commit events into changes.

The endpoints themselves (`/admin/ws`, `/admin/events`) are in `admin_app.web.live`.
"""
