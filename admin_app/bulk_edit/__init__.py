"""Bulk edit: set fields on many rows at once, previewed, applied in batches, undone as one.

`fields` decides what may be set and reads the values as the edit form would;
`plan` finds the rows (the selection, or every row matching the list's filters, within
the user's row scope) and keeps what the preview saw; `apply` writes them in short
batches under one audit change set; `runs` runs a large edit in the background and
keeps its progress where every process can read it.
"""
