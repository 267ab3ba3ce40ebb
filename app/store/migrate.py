"""Run the alembic migrations from code: no alembic.ini at runtime, the
scripts ship inside the package (app/store/migrations).

Opening a store whose schema is at head (every open but the first after an
upgrade of Signoff) imports no alembic: the head is read from the migration
scripts' `revision` / `down_revision` lines and compared with the store's
alembic_version row in one read-only query. Only a store behind (or one the
scan cannot place) takes the migration lock and runs alembic.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DatabaseError, OperationalError

from signoff.core.errors import SignoffError

from .db import READ_ONLY
from .locate import MIGRATIONS, scanned_head  # noqa: F401  (scanned_head: read here and by tests)

# Any fixed number: PostgreSQL advisory lock that keeps two processes from migrating at once.
_PG_MIGRATION_LOCK = 0x516E_0FF


def alembic_config(connection: Connection | None = None):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def _stored_revision(engine: Engine) -> str | None:
    """The store's alembic_version, read-only and without alembic; None if there is none (yet)."""
    with engine.execution_options(**{READ_ONLY: True}).connect() as conn:   # unreachable: raises, as before
        try:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
        except (OperationalError, DatabaseError):
            return None   # no table yet (a new store), or a problem the full path reports
    return rows[0][0] if len(rows) == 1 else None


def at_head(engine: Engine) -> bool:
    head = scanned_head()
    return head is not None and _stored_revision(engine) == head


def upgrade(engine: Engine, where: str) -> None:
    """Bring the schema to head in one transaction (SQLite's DDL is transactional too)."""
    if at_head(engine):
        return
    from alembic import command
    from alembic.util import CommandError

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
