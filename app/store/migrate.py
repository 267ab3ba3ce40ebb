"""Run the alembic migrations from code: no alembic.ini at runtime, the
scripts ship inside the package (app/store/migrations)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine

from app.core.errors import SignoffError

MIGRATIONS = Path(__file__).with_name("migrations")
# Any fixed number: PostgreSQL advisory lock that keeps two processes from migrating at once.
_PG_MIGRATION_LOCK = 0x516E_0FF


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, where: str) -> None:
    """Bring the schema to head in one transaction (SQLite's DDL is transactional too)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
        head = head_revision()
        if current_revision(conn) == head:
            return
        try:
            command.upgrade(alembic_config(conn), "head")
        except CommandError as exc:
            if "Can't locate revision" in str(exc):
                raise SignoffError(f"the review store {where} was created by a newer version of Signoff "
                                   f"(schema {current_revision(conn)}); upgrade Signoff to open it") from None
            raise
