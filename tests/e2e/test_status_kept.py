"""Issue 16 item 3: `signoff status --sha` (and each poll of `wait`) answers from the verdict the
service keeps signed in the store (app/core/kept_verdict.py, app/store/kept_read.py) when it still
holds, and evaluates the policy when it does not. On SQLite and PostgreSQL:

- the kept answer is the live one, byte for byte (text, --json, exit code, stderr) for approved,
  pending, rejected and refused (a local review);
- a kept row tampered in the database (its verdict changed to approved, its signature altered, another
  request's row copied over it) is not trusted: the true verdict, evaluated;
- an audit entry after the kept head that may change the verdict (a label saved without a refresh)
  makes `status` evaluate; one that cannot (another change's label) does not;
- answering from the kept verdict imports none of the heavy packages (-X importtime, not timed).

The live answer is `signoff.cli.main.main` in this process (the full CLI, which never reads the kept
verdict); the kept one is `python -m signoff` in a new process (app/__main__.py tries it first)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from signoff.cli.main import main
from signoff.store.store import Store
from tests.e2e.test_cli_review import POLICY, files
from tests.support import subprocess_pythonpath
from tests.support.keys import key_file, with_signers
from tests.support.postgres import postgres_server  # noqa: F401  (session fixture, postgres half only)

HEAVY = {"sqlalchemy", "pandas", "pyarrow", "numpy", "alembic", "msgspec", "statsmodels", "scipy", "psycopg"}
SHAS = {"approved": "a11" * 13 + "a", "pending": "9e9" * 13 + "9", "rejected": "1e1" * 13 + "1"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_env(request, monkeypatch):
    """The default SQLite store in SIGNOFF_HOME, or a fresh PostgreSQL database in SIGNOFF_DATABASE_URL."""
    monkeypatch.setenv("SIGNOFF_USER", "ci@example.com")
    if request.param == "postgres":
        server = request.getfixturevalue("postgres_server")
        url = server.create_database()
        monkeypatch.setenv("SIGNOFF_DATABASE_URL", url)
        yield url
        server.drop_database(url)
    else:
        yield None


def live(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def kept(*args: str) -> tuple[int, str, str, set[str]]:
    """`python -X importtime -m signoff ARGS` in a new process: exit code, stdout, stderr without the
    import lines, and the top-level packages it imported."""
    env = {**os.environ, "PYTHONPATH": subprocess_pythonpath()}
    p = subprocess.run([sys.executable, "-X", "importtime", "-m", "signoff", *args], env=env, capture_output=True,
                       text=True, timeout=120)
    lines = p.stderr.splitlines()
    names = {ln.split("|")[-1].strip().split(".")[0] for ln in lines if ln.startswith("import time:") and "|" in ln}
    err = "".join(ln + "\n" for ln in lines if not ln.startswith("import time:"))
    return p.returncode, p.stdout, err, names


def engine():
    return create_engine(Store().url if os.environ.get("SIGNOFF_DATABASE_URL") is None
                         else os.environ["SIGNOFF_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://"))


def sql(statement: str, **params) -> list:
    eng = engine()
    try:
        with eng.begin() as conn:
            result = conn.execute(text(statement), params)
            return result.all() if result.returns_rows else []
    finally:
        eng.dispose()


def make_requests(tmp_path, capsys, monkeypatch) -> dict[str, int]:
    """Three requests of the e2e policy (alice, sme, decides): one approved, one rejected, one pending."""
    base, cand = files(tmp_path)
    policy = tmp_path / "signoff.toml"
    policy.write_text(with_signers(POLICY))
    ids = {}
    for name, sha in SHAS.items():
        code, out, _ = live(capsys, "review", base, cand, "--no-gui", "--policy", str(policy), "--sha", sha)
        assert code == 0
        ids[name] = int(out.splitlines()[0])
    monkeypatch.setenv("SIGNOFF_USER", "alice@example.com")
    assert live(capsys, "decide", str(ids["approved"]), "--decision", "approve")[0] == 0
    assert live(capsys, "decide", str(ids["rejected"]), "--decision", "reject")[0] == 0
    monkeypatch.setenv("SIGNOFF_USER", "ci@example.com")
    return ids


def assert_same(capsys, args: list[str], expect_code: int) -> set[str]:
    """The kept answer (new process) equals the live one; returns what the kept answer imported."""
    code, out, err, names = kept(*args)
    assert (code, out, err) == live(capsys, *args)
    assert code == expect_code, err
    return names


def test_kept_and_live_status_agree_on_every_verdict_and_import_nothing_heavy(store_env, tmp_path, capsys,
                                                                                monkeypatch):
    make_requests(tmp_path, capsys, monkeypatch)
    # pending: no decision kept it yet, so the first status evaluates (and keeps it) ...
    code, _out, _err, names = kept("status", "--sha", SHAS["pending"])
    assert code == 3 and "sqlalchemy" in names
    # ... and from then on every verdict is answered kept, as the live CLI says it
    for name, expect in (("approved", 0), ("rejected", 1), ("pending", 3)):
        for extra in ([], ["--json"]):
            names = assert_same(capsys, ["status", "--sha", SHAS[name], *extra], expect)
            assert not names & HEAVY, (name, sorted(names & HEAVY))
    # a short SHA (7+ characters) finds the same request
    names = assert_same(capsys, ["status", "--sha", SHAS["approved"][:7], "--json"], 0)
    assert not names & HEAVY
    # a commit nobody requested: exit 2, one line, from a store at head without SQLAlchemy
    names = assert_same(capsys, ["status", "--sha", "0123456789abcdef"], 2)
    assert not names & HEAVY
    # wait: the first poll reads the kept verdict too
    code, out, err, names = kept("wait", "--sha", SHAS["approved"], "--timeout", "0", "--json")
    assert code == 0 and json.loads(out)["status"] == "approved" and not names & HEAVY - {"alembic"}
    assert "sqlalchemy" not in names


def test_a_local_review_is_refused_from_the_kept_verdict_as_live(store_env, tmp_path, capsys, monkeypatch):
    base, cand = files(tmp_path)
    monkeypatch.setenv("SIGNOFF_USER", "alice@example.com")
    monkeypatch.setenv("SIGNOFF_SIGNING_KEY", str(key_file("alice@example.com")))
    code, out, _ = live(capsys, "review", base, cand, "--no-gui", "--json")
    assert code == 0
    made = json.loads(out)
    assert (made["sha"], made["kind"]) == ("", "comparison")   # about no commit: no SHA finds it
    # one migrated from before 0011_local_refs keeps its old sha text (signed): found by it, refused
    label = "local review 1a2b3c4d: candidate.csv vs baseline.csv"
    sql("UPDATE requests SET sha = :s WHERE id = :i", s=label, i=made["id"])
    code, _out, err = live(capsys, "status", "--sha", label)   # evaluated, and kept with its refusal
    assert code == 4 and "local review" in err
    names = assert_same(capsys, ["status", "--sha", label], 4)
    assert not names & HEAVY
    # a kept verdict signed without a refusal is not taken for a request about no commit: evaluated, refused
    statement = json.loads(sql("SELECT statement FROM kept_verdicts WHERE request_id = :i", i=made["id"])[0][0])
    store = Store()
    try:
        store.keep_verdict(made["id"], label, store.audit_head(), json.loads(statement["document"]), "")
    finally:
        store.close()
    assert json.loads(sql("SELECT statement FROM kept_verdicts WHERE request_id = :i", i=made["id"])[0][0])["refusal"] == ""
    code, _out, err, _names = kept("status", "--sha", label)
    assert code == 4 and "local review" in err


@pytest.mark.parametrize("tamper", ["verdict", "signature", "other request"])
def test_a_kept_row_tampered_in_the_database_is_not_trusted(store_env, tmp_path, capsys, monkeypatch, tamper):
    ids = make_requests(tmp_path, capsys, monkeypatch)
    assert live(capsys, "status", "--sha", SHAS["pending"])[0] == 3    # kept: pending
    rows = {r[0]: r for r in sql("SELECT request_id, statement, signature FROM kept_verdicts")}
    pending = rows[ids["pending"]]
    if tamper == "verdict":   # the statement says approved; the signature is over pending
        statement = json.loads(pending[1])
        document = json.loads(statement["document"])
        document.update(status="approved", description="approved: 1/1 SME")
        statement["document"] = json.dumps(document)
        sql("UPDATE kept_verdicts SET statement = :s WHERE request_id = :r",
            s=json.dumps(statement, sort_keys=True, separators=(",", ":")), r=ids["pending"])
    elif tamper == "signature":   # one character of the signature's body changed
        sig = pending[2]
        i = len(sig) // 2
        sql("UPDATE kept_verdicts SET signature = :s WHERE request_id = :r",
            s=sig[:i] + ("A" if sig[i] != "A" else "B") + sig[i + 1:], r=ids["pending"])
    else:   # the approved request's row (statement and signature) copied onto the pending one
        approved = rows[ids["approved"]]
        sql("UPDATE kept_verdicts SET statement = :s, signature = :g WHERE request_id = :r",
            s=approved[1], g=approved[2], r=ids["pending"])
    code, out, _err, names = kept("status", "--sha", SHAS["pending"], "--json")
    assert code == 3 and json.loads(out)["status"] == "pending"
    assert "sqlalchemy" in names    # evaluated, not read


def test_an_entry_that_may_change_the_verdict_makes_status_evaluate(store_env, tmp_path, capsys, monkeypatch):
    from signoff.service.review import ReviewService

    ids = make_requests(tmp_path, capsys, monkeypatch)
    assert live(capsys, "status", "--sha", SHAS["pending"])[0] == 3
    assert "sqlalchemy" not in kept("status", "--sha", SHAS["pending"])[3]
    store = Store()
    try:
        # a label on another change's request: its entry cannot change this verdict
        ReviewService(store, user="alice@example.com").set_label(ids["rejected"], "candidate", "3",
                                                                 verdict="baseline", refresh=False)
        code, _out, _err, names = kept("status", "--sha", SHAS["pending"])
        assert code == 3 and "sqlalchemy" not in names
        # a label on this request saved without a status refresh: evaluate (and keep again)
        ReviewService(store, user="alice@example.com").set_label(ids["pending"], "candidate", "3",
                                                                 verdict="baseline", refresh=False)
    finally:
        store.close()
    code, _out, _err, names = kept("status", "--sha", SHAS["pending"])
    assert code == 3 and "sqlalchemy" in names
    code, _out, _err, names = kept("status", "--sha", SHAS["pending"])
    assert code == 3 and "sqlalchemy" not in names


def test_a_decision_whose_identity_check_waits_makes_status_evaluate(store_env, tmp_path, capsys, monkeypatch):
    """`status` makes the identity checks that wait before it evaluates: a kept verdict never skips them."""
    ids = make_requests(tmp_path, capsys, monkeypatch)
    assert "sqlalchemy" not in kept("status", "--sha", SHAS["approved"])[3]     # kept: approved
    sql("UPDATE decisions SET identity_check = 'unchecked' WHERE request_id = :r", r=ids["approved"])
    code, out, _err, names = kept("status", "--sha", SHAS["approved"], "--json")
    assert "sqlalchemy" in names                                               # evaluated
    assert (code, out) == live(capsys, "status", "--sha", SHAS["approved"], "--json")[:2]
    assert code == 3    # the approval counts once its identity is checked
