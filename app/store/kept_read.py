"""Read a request's kept verdict (app/core/kept_verdict.py) without SQLAlchemy, pandas or alembic:
the standard library's sqlite3 for a SQLite store, libpq through ctypes for PostgreSQL (app/store/libpq.py;
psycopg only where no libpq loads: importing it alone takes longer than the answer may). What
`signoff status --sha` and each poll of `wait` try first (issue 16 item 3).

`read_kept(sha)` answers only when everything checks, all in one read snapshot:
- the store's schema is the one this code expects (alembic_version = the scripts' head);
- the commit's latest request (as Store.requests_for_sha picks it) has no decision whose forge
  identity check waits (`status` makes those checks first);
- the request has a kept verdict signed by THIS installation's key (SIGNOFF_HOME's
  installation_ed25519.pub), about that request and commit, computed by this version of Signoff;
- the audit log still holds the head the verdict names, the head row follows on from it, and no
  entry after it can change the verdict (app/core/kept_verdict.py `concerns`);
- a request about no commit (a kind other than "review": a local review or another comparison
  whose rows kept an old `sha` text) is answered only with the refusal its statement signed.
Anything else, or any error: None, and the caller evaluates the policy as always (fail closed).
A commit with no request in a store at head: Kept(None, None) (`status` exits 2 as before).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from pathlib import Path

from signoff.core import kept_verdict as kv

from .locate import DB_FILE, INSTALLATION_KEY_FILE, data_dir, installed_version, scanned_head, store_url_text

# Kept in step with schema.HEAD_ID and core.model.IDENTITY_UNCHECKED (tests/store/test_kept_read.py):
# importing those modules costs more than this whole read.
HEAD_ID = 1
IDENTITY_UNCHECKED = "unchecked"
NAMESPACE = b"signoff"   # core.signing.NAMESPACE
_SQLITE_SCHEMES = ("sqlite", "sqlite+pysqlite")
_POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


class Kept:
    """What `status` says from a kept verdict. request_id None: the store holds no request for the commit."""

    __slots__ = ("request_id", "document", "refusal")

    def __init__(self, request_id: int | None, document: dict | None = None, refusal: str = ""):
        self.request_id = request_id
        self.document = document    # what `status --json` prints (kept_verdict.status_document)
        self.refusal = refusal      # why `status` refuses to gate on the request (a local review)


def read_kept(sha: str) -> Kept | None:
    """The commit's kept verdict if it verifies and still holds, else None (evaluate instead)."""
    sha = (sha or "").strip()
    if not sha:
        return None
    conn = _connect()
    if conn is None:
        return None
    try:
        return _read(_Db(conn), sha)
    finally:
        conn.close()


def _connect():
    """A read-only connection to the configured store, or None when this reader does not handle it
    (an in-memory or unusual URL, a store not made yet, the server unreachable: the full path says)."""
    try:
        text = store_url_text()
        if not text:
            return _sqlite(data_dir() / DB_FILE)
        scheme, sep, rest = text.partition("://")
        if not sep:
            return None
        if scheme in _SQLITE_SCHEMES and rest.startswith("/") and len(rest) > 1 and "?" not in rest:
            return _sqlite(Path(rest[1:]))   # sqlite:///relative, sqlite:////absolute (as SQLAlchemy reads them)
        if scheme in _POSTGRES_SCHEMES:
            return _postgres("postgresql://" + rest)
    except Exception:   # noqa: BLE001 - whatever went wrong, the full path reports it properly
        return None
    return None


def _sqlite(path: Path):
    import sqlite3

    if not path.is_file():
        return None
    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=10, isolation_level=None)
    conn.execute("BEGIN")   # one read snapshot for every statement below
    return conn


def _postgres(url: str):
    from . import libpq

    try:
        libpq.load()
    except libpq.LibpqError:   # no libpq to call directly: psycopg, slower to import, same answer
        return _psycopg(url)
    return libpq.Connection(url, connect_timeout=10)


def _psycopg(url: str):
    import psycopg

    conn = psycopg.connect(url, connect_timeout=10)
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ   # one snapshot for every statement
    conn.read_only = True
    return conn


class _Db:
    """The few statements below on any of the three connections ("?" placeholders; psycopg takes "%s")."""

    def __init__(self, conn):
        self._conn = conn
        self._pg = type(conn).__module__.startswith("psycopg")
        self._libpq = type(conn).__module__.endswith(".libpq")

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self._libpq:
            return self._conn.execute(sql, params)
        cur = self._conn.execute(sql.replace("?", "%s") if self._pg else sql, params)
        return list(cur.fetchall())

    def row(self, sql: str, params: tuple = ()) -> tuple | None:
        found = self.rows(sql, params)
        return found[0] if found else None


def _read(db: _Db, sha: str) -> Kept | None:
    try:
        versions = db.rows("SELECT version_num FROM alembic_version")
    except Exception:   # noqa: BLE001 - no table: a store not made yet (the full path migrates)
        return None
    head_rev = scanned_head()
    if head_rev is None or versions != [(head_rev,)]:
        return None
    # The same request Store.requests_for_sha puts first: a prefix from 7 characters on.
    where, params = ("substr(sha, 1, ?) = ?", (len(sha), sha)) if len(sha) >= 7 else ("sha = ?", (sha,))
    req = db.row(f"SELECT id, sha, change_key, kind FROM requests WHERE {where} AND kind != 'inspection' "
                 f"ORDER BY id DESC LIMIT 1", params)
    if req is None:
        return Kept(None)
    request_id, full_sha, change_key, kind = int(req[0]), req[1], req[2], req[3]
    if db.row("SELECT id FROM decisions WHERE request_id = ? AND identity_check = ? LIMIT 1",
              (request_id, IDENTITY_UNCHECKED)) is not None:
        return None
    key_blob = _installation_key()
    if key_blob is None:
        return None
    fingerprint = "SHA256:" + base64.b64encode(hashlib.sha256(key_blob).digest()).decode().rstrip("=")
    kept = db.row("SELECT statement, signature, audit_count, audit_hash FROM kept_verdicts "
                  "WHERE request_id = ? AND key = ?", (request_id, fingerprint))
    if kept is None:
        return None
    text, signature, count, digest = kept[0], kept[1], int(kept[2]), kept[3]
    statement = _statement(text, request_id, full_sha, count, digest)
    if statement is None or not signed_by(key_blob, text.encode("utf-8"), signature):
        return None
    if not _still_holds(db, count, digest, change_key):
        return None
    refusal = str(statement.get("refusal") or "")
    if kind != "review" and not refusal:   # only a request for a commit gates one: evaluate (and refuse) instead
        return None
    return Kept(request_id, statement["document"], refusal)


def _installation_key() -> bytes | None:
    """The key blob of this installation's public key (SIGNOFF_HOME/installation_ed25519.pub)."""
    try:
        line = (data_dir() / f"{INSTALLATION_KEY_FILE}.pub").read_text(encoding="utf-8").split()
        return base64.b64decode(line[1], validate=True) if line[:1] == ["ssh-ed25519"] else None
    except (OSError, IndexError, ValueError, binascii.Error):
        return None


def signed_by(key_blob: bytes, data: bytes, armored: str) -> bool:
    """Whether `armored` is an SSHSIG signature (namespace signoff, SHA-512) of `data` made by the
    ed25519 key `key_blob`: exactly what the installation's KeyFileSigner makes, checked with
    cryptography's ed25519 alone (the sshsig package costs more to import than this whole read)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        raw = base64.b64decode("".join(line for line in str(armored).splitlines()
                                       if line and not line.startswith("-----")), validate=True)
        if raw[:6] != b"SSHSIG" or raw[6:10] != (1).to_bytes(4, "big"):
            return False
        key, namespace, _reserved, hash_algo, signature = _strings(raw[10:], 5)
        algo, ed_signature = _strings(signature, 2)
        key_algo, ed_key = _strings(key_blob, 2)
        if (key, namespace, hash_algo, algo, key_algo) != (key_blob, NAMESPACE, b"sha512", b"ssh-ed25519",
                                                           b"ssh-ed25519"):
            return False
        message = b"SSHSIG" + b"".join(_string(f) for f in (NAMESPACE, b"", b"sha512", hashlib.sha512(data).digest()))
        Ed25519PublicKey.from_public_bytes(ed_key).verify(ed_signature, message)
        return True
    except (ValueError, binascii.Error, InvalidSignature):
        return False


def _strings(buf: bytes, n: int) -> list[bytes]:
    """Exactly `n` SSH strings (uint32 length, bytes) filling `buf`; ValueError otherwise."""
    out, pos = [], 0
    for _ in range(n):
        size = int.from_bytes(buf[pos:pos + 4], "big")
        if pos + 4 > len(buf) or pos + 4 + size > len(buf):
            raise ValueError("truncated")
        out.append(buf[pos + 4:pos + 4 + size])
        pos += 4 + size
    if pos != len(buf):
        raise ValueError("trailing bytes")
    return out


def _string(b: bytes) -> bytes:
    return len(b).to_bytes(4, "big") + b


def _statement(text: str, request_id: int, sha: str, count: int, digest: str) -> dict | None:
    """The signed statement if it is a verdict statement about this request and commit, at the head
    its row names, made by this version of Signoff; else None."""
    try:
        statement = json.loads(text)
    except ValueError:
        return None
    if not isinstance(statement, dict) or statement.get("type") != kv.STATEMENT_TYPE:
        return None
    if (statement.get("request"), statement.get("sha"), statement.get("signoff")) != (request_id, sha, installed_version()):
        return None
    if statement.get("audit") != {"count": count, "hash": digest}:
        return None
    document = kv.document_of(statement)
    return None if document is None else {**statement, "document": document}


def _still_holds(db: _Db, count: int, digest: str, change_key: str) -> bool:
    """The log still holds entry `count` with hash `digest`, the head row follows on from the entries
    after it, and none of those can change a verdict of the change `change_key`."""
    if count < 1 or db.row("SELECT hash FROM audit_log WHERE seq = ?", (count,)) != (digest,):
        return False
    head = db.row("SELECT count, last_hash FROM audit_head WHERE id = ?", (HEAD_ID,))
    after = db.rows("SELECT seq, action, request_id, hash FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?",
                    (count, kv.MAX_ENTRIES_AFTER + 1))
    if head is None or len(after) > kv.MAX_ENTRIES_AFTER:
        return False
    last = (after[-1][0], after[-1][3]) if after else (count, digest)
    if (int(head[0]), head[1]) != (int(last[0]), last[1]) or [e[0] for e in after] != list(range(count + 1, last[0] + 1)):
        return False
    if not after:
        return True
    change_requests = {int(r[0]) for r in db.rows("SELECT id FROM requests WHERE change_key = ?", (change_key,))}
    return not any(kv.concerns(action, request_id, change_requests) for _seq, action, request_id, _h in after)
