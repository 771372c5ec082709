"""The admin site (starlette-admin), built from the registry of model views."""
