"""The audit log (issue 20): who did what and when, one append-only table.

models.py (AuditEvent and `record`, which the actions call), context.py (the
request being served: who acts when a caller doesn't say), pages.py (the
staff page). The API is workflows/api/audit_views.py.
"""
