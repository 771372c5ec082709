"""The audit log: every change to a record, and every security event, with who, when and where."""
