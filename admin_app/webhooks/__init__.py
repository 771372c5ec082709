"""Signed webhooks: changes written to a delivery outbox with the change, POSTed by the worker."""
