"""Email that is never quietly lost: a durable outbox, an SMTP sender, a worker, templates.

`outbox.enqueue` writes a rendered message in the caller's transaction; after the
commit it is delivered at once (`dispatch`), and the worker (`worker`) retries what
is still pending. See docs/email.md.
"""
