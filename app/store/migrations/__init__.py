"""Alembic migrations of the review store, run by Store() at open (see app/store/migrate.py)."""
