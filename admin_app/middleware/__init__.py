"""ASGI middleware of the app; `admin_app.main` documents their order."""
