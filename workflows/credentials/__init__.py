"""A team's named credentials (issue 20): encrypted at rest, read by steps as `{{ secrets.NAME }}`, never shown.

types.py (the kinds of credential and their fields), crypto.py (the keys,
Fernet), models.py (Credential), actions.py (create, rotate, delete, each
audited), resolution.py (what a step attempt reads, and what is recorded
instead: `•••`), pages.py (the Credentials page). docs/credentials.md.
"""
