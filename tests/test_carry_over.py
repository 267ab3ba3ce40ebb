"""Labels carry over a retrain by sample hashes computed on demand (issue 16): only for the labelled
samples, from the stored comparison's columns, with the definition the stored sample_hash column had,
so comparisons stored with that column (before) and without it (now) mix. Through the real service
on SQLite; when a hash cannot be computed the label does not carry (fail closed)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from sqlalchemy import update

from signoff.core.compare import HASH_COLUMN
from signoff.core.stored_table import HASH_KEY, ON_DEMAND
from signoff.service.review import ReviewService
from signoff.store.frames import frame_to_bytes
from signoff.store.schema import Comparison
from signoff.store.store import Store
from tests.plugin_doubles import CONFIG, InMemorySource, default_tables
from tests.support import compare_v1

TWO_SETS = CONFIG.replace('[policy]', '''[[eval_sets]]
name = "extract"
samples = "s2.jsonl"
predictions = "p2.jsonl"
type = "json"

[policy]''')

ALICE, QUINN = "alice@example.com", "quinn@example.com"


def _tables(shift: int = 0) -> dict:
    ids = [f"t{i}" for i in range(4)]
    base = [{"name": "Ann", "n": 1}, {"name": "Bo"}, {"name": "Cy", "tags": ["x"]}, None]
    cand = [{"name": "Ann", "n": 1}, {"name": "Bob"}, {"name": "Cy", "tags": ["x", "y" if shift else "z"]}, "it's"]
    return {**default_tables(shift), "extract": (
        {"id": ids, "input": ["naïve \"café\"", "back\\slash", "tab\there", "东京"]},
        {"id": ids, "output": base},
        {"id": ids, "output": cand},
    )}
    # c1 -> c3: qa's s5 and extract's t2 change (candidate output); every other sample is the same


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'store.db'}")
    yield s
    s.close()


def _svc(store, user):
    return ReviewService(store, user=user)


def _as_stored_before(store, request_id: int, eval_set: str, **change) -> None:
    """Rewrite a stored comparison as the engine before stored it: whole candidate outputs and a
    sample_hash column (tests/support/compare_v1.py's definition), in a blob; `change`: columns to drop."""
    frame = store.load_comparison(request_id, eval_set)
    frame[HASH_COLUMN] = compare_v1.sample_hashes(frame)
    frame = frame.drop(columns=list(change.get("drop", ())))
    with store._write() as s:
        s.execute(update(Comparison).where(Comparison.request_id == request_id, Comparison.eval_set == eval_set)
                  .values(table_data=frame_to_bytes(frame), table_uri=None, table_sha256=None))


def _labelled_r1(store):
    source = InMemorySource(config=TWO_SETS, revisions={"c1": _tables(), "c3": _tables(shift=1)})
    ci = _svc(store, "ci@example.com")
    r1 = ci.create_request(source, sha="c1", change_key="feature/x")
    alice, quinn = _svc(store, ALICE), _svc(store, QUINN)
    for sid in ("s0", "s1", "s2", "s5"):
        alice.set_label(r1.id, "qa", sid, verdict="baseline")
    for sid in ("t0", "t1", "t2", "t3"):
        alice.set_label(r1.id, "extract", sid, verdict="candidate")
    quinn.import_labels(r1.id, [{"eval_set": "qa", "sample_id": "s5", "verdict": "tie"},
                                {"eval_set": "extract", "sample_id": "t1", "verdict": "tie"}])
    return source, ci, r1


def test_a_retrain_carries_labels_of_unchanged_samples_only_across_old_and_new_comparisons(store):
    source, ci, r1 = _labelled_r1(store)
    _as_stored_before(store, r1.id, "qa")   # one comparison with its stored hashes, one without
    assert HASH_COLUMN in store.load_comparison(r1.id, "qa").columns
    assert HASH_COLUMN not in store.load_comparison(r1.id, "extract").columns

    r3 = ci.create_request(source, sha="c3", change_key="feature/x")
    assert all(HASH_COLUMN not in store.load_comparison(r3.id, e).columns for e in ("qa", "extract"))
    carried = {(l.user, l.eval_set, l.sample_id) for l in store.labels(r3.id)}
    assert carried == {(ALICE, "qa", "s0"), (ALICE, "qa", "s1"), (ALICE, "qa", "s2"),
                       (ALICE, "extract", "t0"), (ALICE, "extract", "t1"), (ALICE, "extract", "t3"),
                       (QUINN, "extract", "t1")}
    alice = _svc(store, ALICE)
    assert alice.coverage(r3.id).carried_labels == 7
    assert list(alice.changed_since_label(r3.id, "qa")) == ["s5"]
    assert list(alice.changed_since_label(r3.id, "extract")) == ["t2"]
    # the hashes asked of the old and of the new comparisons agree sample by sample
    ids = ["s0", "s1", "s2", "s3", "s4", "s5"]
    before, now = alice.sample_hashes(r1.id, "qa", ids), alice.sample_hashes(r3.id, "qa", ids)
    assert [i for i in ids if before[i] != now[i]] == ["s5"]


@pytest.mark.parametrize("how", ["file missing", "hashed column missing", "stored before sample hashes"])
def test_a_hash_that_cannot_be_computed_carries_nothing(store, how):
    source, ci, r1 = _labelled_r1(store)
    if how == "file missing":
        uri = store._comparison_source(r1.id, "extract")[1][0]
        Path(unquote(urlparse(uri).path)).unlink()
    else:
        table = store.comparison_table(r1.id, "extract")
        assert table.schema.metadata[HASH_KEY] == ON_DEMAND
        if how == "hashed column missing":   # marked for hashes on demand, but one of their columns is gone
            table = table.drop_columns(["reference"])
        else:   # neither a sample_hash column nor the mark: as comparisons before sample hashes
            table = table.replace_schema_metadata({k: v for k, v in table.schema.metadata.items() if k != HASH_KEY})
        with store._write() as s:
            s.execute(update(Comparison).where(Comparison.request_id == r1.id, Comparison.eval_set == "extract")
                      .values(table_data=frame_to_bytes(table), table_uri=None, table_sha256=None))
    r3 = ci.create_request(source, sha="c3", change_key="feature/x")
    assert {(l.eval_set, l.sample_id) for l in store.labels(r3.id)} == {("qa", "s0"), ("qa", "s1"), ("qa", "s2")}
    assert _svc(store, ALICE).sample_hashes(r1.id, "extract", ["t0"]) == {}
