"""The hand-written migration builds exactly the schema the ORM describes."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from signoff.core.errors import SignoffError
from signoff.store import migrate
from signoff.store.db import make_engine, resolve_url
from signoff.store.records import OutboxEntry
from signoff.store.schema import Base
from signoff.store.store import Store


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
        assert [e.seq for e in again.audit_entries()] == [1, 2] and again.verify_audit().ok   # 1: the installation key


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
    assert migrate.head_revision() == "0011_local_refs"


def test_the_cheap_head_check_agrees_with_alembic(empty_db_url):
    """Opening a store at head imports no alembic (issue 16): the scanned head must be alembic's."""
    assert migrate.scanned_head() == migrate.head_revision()
    engine = make_engine(resolve_url(empty_db_url))
    try:
        assert not migrate.at_head(engine)   # a new store: no alembic_version yet
        Store(empty_db_url).close()
        assert migrate.at_head(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0007_assignments'")
        assert not migrate.at_head(engine)   # behind: the full, locked path runs alembic
    finally:
        engine.dispose()


def test_outbox_order_numbers_existing_entries_per_target(empty_db_url, new_request):
    """0004_outbox_order on a store with entries: each target's entries get 1, 2, ... in id order."""
    from alembic import command

    engine = make_engine(resolve_url(empty_db_url))
    try:
        with engine.begin() as conn:
            command.upgrade(migrate.alembic_config(conn), "0001")
            for target in ("A", "B", "A", "A"):
                conn.exec_driver_sql(
                    "INSERT INTO outbox (sink, target, payload, state, attempts, created_at, last_error) "
                    f"VALUES ('local', '{target}', '{{}}', 'waiting', 0, CURRENT_TIMESTAMP, '')")
    finally:
        engine.dispose()
    with Store(empty_db_url) as store:
        with store._read() as s:
            rows = s.execute(text("SELECT target, seq FROM outbox ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [("A", 1), ("B", 1), ("A", 2), ("A", 3)]
        rid = store.add_request(new_request(),
                                comparisons=[], status="pending", description="", actor="ci",
                                outbox=[OutboxEntry(sink="local", target="A", payload={})]).id
        assert [i.request_id for i in store.outbox_items()][-1] == rid
        with store._read() as s:
            assert s.execute(text("SELECT max(seq) FROM outbox WHERE target = 'A'")).scalar() == 4


def test_0009b_marks_the_comparisons_that_held_their_refs_in_sha(empty_db_url):
    """Before 0009b a comparison about no commit stored "CANDIDATE vs BASELINE" as its sha; now it is a
    request of kind "comparison". Its old sha stays (its decisions signed it): only the kind is set."""
    from alembic import command

    engine = make_engine(resolve_url(empty_db_url))
    with engine.begin() as conn:
        command.upgrade(migrate.alembic_config(conn), "0008_inspections")   # a store as it was before 0009b
    row = ("INSERT INTO requests (sha, change_key, source, locator, baseline_ref, candidate_ref, title, author, "
           "content_hash, config_toml, eval_sets, status, description, created_at, created_by, updated_at) VALUES "
           "(:sha, :sha, :source, '{}', :base, :cand, 't', '', 'h', '', '[]', 'pending', '', "
           "'2026-01-01 00:00:00', 'ci', '2026-01-01 00:00:00')")
    cases = [("models:/M/3 vs models:/M/1", "mlflow", "models:/M/3", "models:/M/1"),   # browsed: a comparison
             ("a" * 40, "mlflow", "models:/M/3", "models:/M/1"),                          # CI's request for a commit
             ("x vs y", "git", "x", "y")]                                                 # not the MLflow shape
    try:
        with engine.begin() as conn:
            for sha, source, cand, base in cases:
                conn.execute(text(row), {"sha": sha, "source": source, "cand": cand, "base": base})
        Store(empty_db_url).close()   # migrates to head
        with engine.connect() as conn:
            got = conn.exec_driver_sql("SELECT sha, kind FROM requests ORDER BY id").all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in got] == [("models:/M/3 vs models:/M/1", "comparison"), ("a" * 40, "review"),
                                       ("x vs y", "review")]


def test_0011_makes_old_local_reviews_comparisons_with_their_refs_as_fields(empty_db_url):
    """Before 0011 `signoff review A B` (no policy) stored "local review 1a2b3c4d: A vs B" as its sha,
    change key and candidate ref; now such a review is a comparison whose refs are the two file names.
    Its old sha and change key stay (its decisions and kept verdicts signed them)."""
    from alembic import command

    engine = make_engine(resolve_url(empty_db_url))
    with engine.begin() as conn:
        command.upgrade(migrate.alembic_config(conn), "0010_verdict")   # a store as it was before 0011
    row = ("INSERT INTO requests (sha, change_key, source, locator, baseline_ref, candidate_ref, title, author, "
           "content_hash, config_toml, eval_sets, status, description, created_at, created_by, updated_at, kind) "
           "VALUES (:sha, :key, :source, '{}', :base, :cand, 't', '', 'h', '', '[]', 'pending', '', "
           "'2026-01-01 00:00:00', 'me', '2026-01-01 00:00:00', 'review')")
    old = "local review 1a2b3c4d: my cand vs x.jsonl vs base.jsonl"
    cases = [(old, old, "files", "base.jsonl", old),                            # an old local review
             ("c" * 40, "files:cc:1", "files", "base.jsonl", "c" * 40),          # a files review for a commit
             ("local review zz: a vs b", "local review zz: a vs b", "files", "b", "local review zz: a vs b"),
             (old, old, "git", "base.jsonl", old)]                               # not the shape the files source wrote
    try:
        with engine.begin() as conn:
            for sha, key, source, base, cand in cases:
                conn.execute(text(row), {"sha": sha, "key": key, "source": source, "base": base, "cand": cand})
        store = Store(empty_db_url)   # migrates to head
        got = [(r.sha, r.change_key, r.kind, r.candidate_ref, r.baseline_ref)
               for r in sorted(store.list_requests(), key=lambda r: r.id)]
        store.close()
        with engine.begin() as conn:   # and back down
            command.downgrade(migrate.alembic_config(conn), "0010_verdict")
            down = conn.exec_driver_sql("SELECT kind, candidate_ref FROM requests ORDER BY id").all()
    finally:
        engine.dispose()
    assert got == [(old, old, "comparison", "my cand vs x.jsonl", "base.jsonl"),
                   ("c" * 40, "files:cc:1", "review", "c" * 40, "base.jsonl"),
                   ("local review zz: a vs b", "local review zz: a vs b", "review", "local review zz: a vs b", "b"),
                   (old, old, "review", old, "base.jsonl")]
    assert [tuple(r) for r in down] == [("review", old), ("review", "c" * 40), ("review", "local review zz: a vs b"),
                                        ("review", old)]
