"""The JSON API: `/api/v1/<model>` for every registered view, behind personal tokens.

Generated from the admin's own registry and views: the same fields, permission checks,
row scopes, validation and save functions as the admin's pages (`records`, `endpoints`),
so the API can never allow what the admin refuses. `openapi` describes it.
"""
