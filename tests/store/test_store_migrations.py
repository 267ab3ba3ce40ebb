"""The hand-written migration builds exactly the schema the ORM describes."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.core.errors import SignoffError
from app.store import migrate
from app.store.db import make_engine, resolve_url
from app.store.schema import Base
from app.store.store import Store


def test_migrated_schema_matches_the_orm(empty_db_url):
    Store(empty_db_url).close()
    engine = make_engine(resolve_url(empty_db_url))
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(ctx, Base.metadata) == []
            assert migrate.current_revision(conn) == migrate.head_revision()
            assert conn.exec_driver_sql("SELECT count, last_hash FROM audit_head").all() == [(0, "0" * 64)]
    finally:
        engine.dispose()


def test_opening_again_is_a_no_op(empty_db_url):
    with Store(empty_db_url) as first:
        first.append_audit(actor="a", action="x", request_id=None, payload={})
    with Store(empty_db_url) as again:
        assert [e.seq for e in again.audit_entries()] == [1] and again.verify_audit().ok


def test_a_store_from_a_newer_signoff_is_refused_clearly(store_url):
    engine = make_engine(resolve_url(store_url))
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_future'")
    finally:
        engine.dispose()
    with pytest.raises(SignoffError, match="created by a newer version of Signoff"):
        Store(store_url)


def test_without_migrate_the_schema_is_left_alone(empty_db_url):
    Store(empty_db_url, migrate=False).close()
    engine = make_engine(resolve_url(empty_db_url))
    try:
        with engine.connect() as conn:
            assert migrate.current_revision(conn) is None
    finally:
        engine.dispose()


def test_migration_scripts_ship_inside_the_package():
    folder = migrate.MIGRATIONS
    assert (folder / "env.py").is_file() and (folder / "__init__.py").is_file()
    assert (folder / "versions" / "__init__.py").is_file()
    assert migrate.head_revision() == "0003_signatures"
