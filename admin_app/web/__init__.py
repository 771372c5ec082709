"""The app's own routes, outside the admin: health, errors and the like."""
