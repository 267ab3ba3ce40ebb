"""The review store: requests, comparisons, labels, decisions, the outbox and
the hash-chained audit log, in SQLite (default) or PostgreSQL.

Public surface: store.Store and the plain records in records.py.
"""
