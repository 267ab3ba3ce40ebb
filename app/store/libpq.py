"""A read-only PostgreSQL connection through libpq itself, for `status --sha`'s kept verdict
(app/store/kept_read.py) on a team's store.

Why not psycopg here: importing psycopg takes ~230 ms (its Python layer: adapters, asyncio,
errors), more than the whole 0.2 s budget of a cold `status` (issue 16 item 3). What it wraps
is libpq, and this module calls the same libpq (the one psycopg-binary bundles, else the
system's libpq.so.5) through ctypes: nine functions, ~20 ms. Connection semantics are libpq's
and so the same as the full store's: the URL, PG* environment variables, ~/.pgpass, service
files, SSL and Kerberos.

Every value arrives as text and is converted by its column type: integers, booleans, bytea;
anything else stays text. Anything unexpected raises `LibpqError`, and kept_read answers None
(the caller then evaluates the policy through the full store: fail closed).
"""

from __future__ import annotations

import ctypes
import os
import sys

_CONNECTION_OK = 0
_PGRES_COMMAND_OK = 1
_PGRES_TUPLES_OK = 2
_INT_OIDS = {20, 21, 23, 26}    # int8, int2, int4, oid
_BOOL_OID = 16
_BYTEA_OID = 17

_lib = None


class LibpqError(Exception):
    """libpq is missing, or a connection or statement failed."""


def _candidates() -> list[str]:
    """The libpq psycopg-binary bundles (what the full store uses), then the system's."""
    found = []
    for entry in sys.path:
        libs = os.path.join(entry or ".", "psycopg_binary.libs")
        if os.path.isdir(libs):
            found += sorted(os.path.join(libs, n) for n in os.listdir(libs) if n.startswith("libpq"))
    return found + ["libpq.so.5", "libpq.5.dylib", "libpq.dll"]


def load():
    """The libpq library with the functions below typed, loaded once; LibpqError if none loads."""
    global _lib
    if _lib is not None:
        return _lib
    for path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        P, S = ctypes.c_void_p, ctypes.c_char_p
        for name, res, args in (("PQconnectdb", P, [S]), ("PQstatus", ctypes.c_int, [P]),
                                ("PQerrorMessage", S, [P]), ("PQfinish", None, [P]),
                                ("PQexecParams", P, [P, S, ctypes.c_int, P, ctypes.POINTER(S), P, P, ctypes.c_int]),
                                ("PQresultStatus", ctypes.c_int, [P]), ("PQresultErrorMessage", S, [P]),
                                ("PQntuples", ctypes.c_int, [P]), ("PQnfields", ctypes.c_int, [P]),
                                ("PQftype", ctypes.c_uint, [P, ctypes.c_int]),
                                ("PQgetvalue", S, [P, ctypes.c_int, ctypes.c_int]),
                                ("PQgetisnull", ctypes.c_int, [P, ctypes.c_int, ctypes.c_int]),
                                ("PQclear", None, [P])):
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        _lib = lib
        return lib
    raise LibpqError("no libpq found")


def _value(raw: bytes, oid: int):
    if oid in _INT_OIDS:
        return int(raw)
    if oid == _BOOL_OID:
        return raw == b"t"
    if oid == _BYTEA_OID:
        if not raw.startswith(b"\\x"):
            raise LibpqError("bytea not in hex output")
        return bytes.fromhex(raw[2:].decode("ascii"))
    return raw.decode("utf-8")


class Connection:
    """One connection, one REPEATABLE READ READ ONLY transaction (one snapshot for every statement),
    rolled back on close. `execute(sql, params)` takes "?" placeholders, as sqlite3 does."""

    def __init__(self, url: str, *, connect_timeout: int = 10):
        lib = load()
        conninfo = url + ("&" if "?" in url else "?") + f"connect_timeout={int(connect_timeout)}"
        self._lib, self._conn = lib, lib.PQconnectdb(conninfo.encode("utf-8"))
        if not self._conn or lib.PQstatus(self._conn) != _CONNECTION_OK:
            message = self._error()
            self.close()
            raise LibpqError(message or "connection failed")
        self.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def _error(self) -> str:
        return (self._lib.PQerrorMessage(self._conn) or b"").decode("utf-8", "replace").strip() if self._conn else ""

    def execute(self, sql: str, params: tuple = ()) -> list[tuple]:
        lib = self._lib
        parts = sql.split("?")
        numbered = "".join(p + (f"${i + 1}" if i < len(parts) - 1 else "") for i, p in enumerate(parts))
        values = (ctypes.c_char_p * max(len(params), 1))(*[None if v is None else str(v).encode("utf-8")
                                                            for v in params])
        res = lib.PQexecParams(self._conn, numbered.encode("utf-8"), len(params), None, values, None, None, 0)
        if not res:
            raise LibpqError(self._error() or "no result")
        try:
            status = lib.PQresultStatus(res)
            if status == _PGRES_COMMAND_OK:
                return []
            if status != _PGRES_TUPLES_OK:
                raise LibpqError((lib.PQresultErrorMessage(res) or b"").decode("utf-8", "replace").strip())
            cols = range(lib.PQnfields(res))
            oids = [lib.PQftype(res, c) for c in cols]
            return [tuple(None if lib.PQgetisnull(res, r, c) else _value(lib.PQgetvalue(res, r, c), oids[c])
                          for c in cols) for r in range(lib.PQntuples(res))]
        finally:
            lib.PQclear(res)

    def close(self) -> None:
        if self._conn:
            self._lib.PQfinish(self._conn)   # an open read-only transaction ends with the connection
            self._conn = None
