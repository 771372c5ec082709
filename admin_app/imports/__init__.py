"""Imports as jobs: a CSV or XLSX file read from disk row by row, mapped to a view's
fields, checked with the forms' own rules, then written in one transaction.

- `files`: the file's rows, streamed (never the whole file in memory);
- `mapping`: which file column feeds which field, suggested from names, saved per model;
- `requests`: the request a job runs under, outside HTTP (CLI, background task);
- `validation`: every row parsed and checked as the forms would, with counts and an
  error CSV, the clean rows spooled to disk;
- `writing`: the spooled rows written set-wise (COPY + INSERT on PostgreSQL);
- `changeset`: what an apply wrote, recorded set-wise for its revert;
- `jobs`: the job's life: validate, apply, audit, live event;
- `revert`: an applied import undone as a whole, from its audit entry.
"""
