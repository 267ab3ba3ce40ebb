"""app/store/kept_read.py's own checks (the end-to-end ones are in tests/e2e/test_status_kept.py):
its signature check accepts exactly what the installation's signer and `ssh-keygen -Y sign` make for
Signoff, and the constants it keeps to stay light are the ones of the modules it does not import."""

from __future__ import annotations

import base64
import subprocess

import pytest

from signoff.core import signing
from signoff.core.model import IDENTITY_UNCHECKED
from signoff.store import kept_read, schema
from tests.support.keys import key_file, signer
from tests.support.postgres import postgres_server  # noqa: F401  (session fixture)

DATA = b'{"type":"signoff/verdict/v1","request":1}'


def blob(user: str, gen: int = 0) -> bytes:
    return base64.b64decode(signer(user, gen).public_key.split()[1])


def test_the_constants_it_keeps_are_the_real_ones():
    import signoff
    from signoff.store.locate import installed_version

    assert installed_version() == signoff.__version__      # the .dist-info name, as importlib.metadata reads it
    assert kept_read.HEAD_ID == schema.HEAD_ID
    assert kept_read.IDENTITY_UNCHECKED == IDENTITY_UNCHECKED
    assert kept_read.NAMESPACE == signing.NAMESPACE.encode()


def test_a_signature_of_the_installation_signer_verifies_as_core_signing_says():
    s = signer("ci@example.com")
    sig = s.sign(DATA)
    assert signing.verify_bytes(DATA, sig, [s.public_key])     # the reference
    assert kept_read.signed_by(blob("ci@example.com"), DATA, sig)
    assert not kept_read.signed_by(blob("ci@example.com"), DATA + b" ", sig)          # other data
    assert not kept_read.signed_by(blob("ci@example.com", gen=1), DATA, sig)          # other key
    body = sig.splitlines()
    body[2] = body[2][:10] + ("A" if body[2][10] != "A" else "B") + body[2][11:]
    assert not kept_read.signed_by(blob("ci@example.com"), DATA, "\n".join(body))   # altered
    assert not kept_read.signed_by(blob("ci@example.com"), DATA, "not a signature")
    assert not kept_read.signed_by(blob("ci@example.com"), DATA, "")


@pytest.mark.parametrize("namespace, ok", [("signoff", True), ("git", False)])
def test_ssh_keygen_signatures_verify_only_in_signoffs_namespace(tmp_path, namespace, ok):
    message = tmp_path / "message"
    message.write_bytes(DATA)
    subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-n", namespace, "-f", str(key_file("ci@example.com")),
                    str(message)], check=True, capture_output=True)
    sig = (tmp_path / "message.sig").read_text()
    assert kept_read.signed_by(blob("ci@example.com"), DATA, sig) is ok


def test_which_entries_after_the_kept_head_can_change_a_verdict():
    from signoff.core.kept_verdict import concerns

    change = {4, 7}   # the requests of the kept request's change
    assert not concerns("status.posted", 4, change)           # posting what the verdict said
    assert not concerns("status.change", 4, change)
    assert concerns("label.set", 7, change) and concerns("decision", 4, change)
    assert not concerns("label.set", 5, change) and not concerns("decision", 5, change)   # another change
    assert concerns("label.import", None, change)             # a batch over several requests: can't tell
    assert concerns("request.create", 9, {4, 7, 9})           # a new request of the change
    assert concerns("audit.repair", None, change)
    assert concerns("something.new", 5, change)               # a kind it does not know: it can


@pytest.mark.postgres
def test_libpq_reads_what_psycopg_reads_and_fails_closed(postgres_server):
    """kept_read on PostgreSQL calls libpq directly (app/store/libpq.py): the same rows, types
    and NULLs as psycopg; a refused connection is an error kept_read turns into "evaluate"."""
    import psycopg

    from signoff.store import libpq

    url = postgres_server.create_database("kept_libpq")
    try:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute("CREATE TABLE t (i bigint, s smallint, b boolean, x bytea, txt text)")
            admin.execute("INSERT INTO t VALUES (1, 2, true, '\\x00ff'::bytea, 'é ''q'' ?'), "
                          "(NULL, NULL, false, NULL, NULL)")
        sql = "SELECT i, s, b, x, txt FROM t WHERE txt = ? OR i IS NULL ORDER BY i NULLS LAST"
        ours = kept_read._Db(kept_read._postgres(url))
        theirs = kept_read._Db(kept_read._psycopg(url))
        assert ours._libpq and not theirs._libpq
        assert ours.rows(sql, ("é 'q' ?",)) == theirs.rows(sql, ("é 'q' ?",)) == [
            (1, 2, True, b"\x00\xff", "é 'q' ?"), (None, None, False, None, None)]
        with pytest.raises(libpq.LibpqError):   # read-only snapshot: no writes through it
            ours.rows("INSERT INTO t VALUES (3, 3, true, NULL, 'x')")
        ours._conn.close()
        theirs._conn.close()
    finally:
        postgres_server.drop_database(url)
    with pytest.raises(libpq.LibpqError, match="(?i)connect|refused"):
        libpq.Connection("postgresql://nobody@127.0.0.1:1/none", connect_timeout=2)
