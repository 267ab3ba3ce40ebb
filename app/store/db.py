"""Where the store lives and how to connect to it.

The default is a SQLite file in the user data dir, so Signoff works with no
server; teams point SIGNOFF_DATABASE_URL at PostgreSQL to share reviews.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from signoff.core.errors import InputError, Unreachable

from .locate import DB_FILE, ENV_HOME, ENV_URL, data_dir  # noqa: F401  (re-exported: where the store is)

BUSY_TIMEOUT_MS = 10_000

# Read-only transactions ask for this execution option so that SQLite opens
# them DEFERRED; writes open IMMEDIATE (see _sqlite_events).
READ_ONLY = "signoff_read_only"


class StoreUnavailable(Unreachable):
    """The database could not be reached or used (server down, file locked too long, not a database): CLI exit 6."""


def resolve_url(url: str | None = None) -> URL:
    """The URL to open: `url`, else SIGNOFF_DATABASE_URL, else the settings' store.url, else the default SQLite file."""
    text = url or os.environ.get(ENV_URL) or ""
    source = "the database URL" if url else ENV_URL
    if not text:
        from signoff.settings import configured_store_url, settings_path  # the Settings dialog's store

        text, source = configured_store_url(), f"store.url in {settings_path()}"
    if not text:
        return make_url(f"sqlite:///{data_dir() / DB_FILE}")
    try:
        parsed = make_url(text)
    except ArgumentError:
        where = source
        raise InputError(f"{where} is not a database URL: {text!r} "
                         "(expected e.g. sqlite:///path/signoff.db or postgresql://user@host/db)") from None
    # Plain postgresql:// (and Heroku-style postgres://) use psycopg 3, the driver we ship.
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise InputError(f"unsupported database {parsed.get_backend_name()!r} in {mask(parsed)}: "
                         "use sqlite:///PATH or postgresql://USER@HOST/DB")
    return parsed


def mask(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL; None for an in-memory database."""
    db = url.database or ""
    if url.get_backend_name() != "sqlite" or db in ("", ":memory:") or db.startswith("file:"):
        return None
    return Path(db)


def describe(url: URL) -> str:
    if url.get_backend_name() == "sqlite":
        path = sqlite_path(url)
        return f"local ({path.resolve()})" if path else "local (in memory)"
    return URL.create("postgresql", username=url.username, host=url.host, port=url.port,
                      database=url.database).render_as_string(hide_password=True)


def _json_safe(value):
    """JSON has no NaN/Infinity (PostgreSQL rejects them): store them as null on every backend."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def json_dumps(value) -> str:
    return json.dumps(_json_safe(value), ensure_ascii=False, default=str)


def make_engine(url: URL) -> Engine:
    try:
        if url.get_backend_name() == "sqlite":
            path = sqlite_path(url)
            if path is not None:
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreUnavailable(f"cannot create the folder of the review store {path.parent}: "
                                           f"{exc.strerror or exc}") from None
            engine = create_engine(url, json_serializer=json_dumps)
            _sqlite_events(engine)
        else:
            engine = create_engine(url, json_serializer=json_dumps, pool_pre_ping=True)
    except NoSuchModuleError:
        raise InputError(f"no database driver for {mask(url)}") from None
    return engine


def _sqlite_events(engine: Engine) -> None:
    """Pragmas on every connection, and explicit BEGIN so writers queue up.

    pysqlite's own transaction handling issues a DEFERRED BEGIN lazily; we
    take over (the recipe in SQLAlchemy's SQLite dialect docs) so that a write
    transaction holds the write lock from its first statement. Two processes
    can then never read the same audit head and both append after it.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = "DEFERRED" if conn.get_execution_options().get(READ_ONLY) else "IMMEDIATE"
        conn.exec_driver_sql(f"BEGIN {mode}")
