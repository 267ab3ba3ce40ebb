"""Team review (issue 12): "then a sample of the rest if the policy asks" ([policy] sample_unchanged)
and the regression-rate bound's sample order combined with the assigned queues. Real ReviewService
and Store on SQLite, real signed labels (tests/support/keys.py)."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from signoff.core.assignment import next_open, to_review, unchanged_sample
from signoff.core.config import ConfigError, parse_config
from signoff.core.model import Verdict
from signoff.store.store import Store
from tests.test_team_review import SMES, config, make_request, needing_review, store, svc  # noqa: F401 (fixture)


def unchanged_ids(store, req) -> dict[str, set[str]]:
    out = {}
    for es in req.eval_sets:
        frame = store.load_comparison(req.id, es, columns=["id", "class"])
        out[es] = {i for i, c in zip(frame["id"], frame["class"].astype(str)) if c == "unchanged"}
    return out


def class_of(store, req) -> dict[tuple[str, str], str]:
    out = {}
    for es in req.eval_sets:
        frame = store.load_comparison(req.id, es, columns=["id", "class"])
        out.update({(es, i): c for i, c in zip(frame["id"], frame["class"].astype(str))})
    return out


# -- [policy] sample_unchanged ------------------------------------------------------------------

def test_sample_unchanged_is_a_share_in_the_strict_schema():
    text = config(extra="sample_unchanged = 0.25")
    assert parse_config(text).policy.sample_unchanged == 0.25
    assert parse_config(config()).policy.sample_unchanged == 0.0
    for bad in ("1.5", "-0.1", '"some"'):
        with pytest.raises(ConfigError, match="sample_unchanged"):
            parse_config(config(extra=f"sample_unchanged = {bad}"))


def test_a_seeded_share_of_the_unchanged_is_dealt_after_the_rest_balanced_with_overlap_k(store):
    req = make_request(store, config(overlap=2, extra="sample_unchanged = 0.25"))
    items = svc(store, "alice@example.com").assignments(req.id)
    sme = [a for a in items if a.role == "sme"]
    unchanged = unchanged_ids(store, req)
    dealt_unchanged = {(a.eval_set, a.sample_id) for a in sme if a.sample_id in unchanged[a.eval_set]}
    for es, ids in unchanged.items():                       # ceil(25 % of each set's unchanged)
        assert len({sid for e, sid in dealt_unchanged if e == es}) == math.ceil(0.25 * len(ids))
    todo = needing_review(store, req) | dealt_unchanged
    per_sample = Counter((a.eval_set, a.sample_id) for a in sme)
    assert set(per_sample) == todo and set(per_sample.values()) == {2}       # overlap exactly k
    loads = Counter(a.user for a in sme)
    assert max(loads.values()) - min(loads.values()) <= 1                   # balanced (±1)
    for user in SMES:                                                        # the unchanged come last
        queue = svc(store, user).my_queue(req.id)
        kinds = ["u" if q.sample_id in unchanged[q.eval_set] else "c" for q in queue]
        assert "".join(kinds) == "".join(sorted(kinds))                     # every "c" before every "u"
    qa = Counter((a.eval_set, a.sample_id) for a in items if a.role == "qa")
    assert set(qa) == todo


def test_the_unchanged_sample_is_reproducible_and_the_seed_decides(store, tmp_path):
    cfg = config(overlap=2, extra="sample_unchanged = 0.25")
    req = make_request(store, cfg)
    dealt = [(a.role, a.eval_set, a.sample_id, a.user) for a in svc(store, "bob@example.com").assignments(req.id)]
    other = Store(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        req2 = make_request(other, cfg)
        assert [(a.role, a.eval_set, a.sample_id, a.user)
                for a in svc(other, "bob@example.com").assignments(req2.id)] == dealt
    finally:
        other.close()
    rows = [(f"s{i}", "unchanged") for i in range(200)]
    assert unchanged_sample(rows, 0.1, 7, "qa") == unchanged_sample(rows, 0.1, 7, "qa")
    assert unchanged_sample(rows, 0.1, 7, "qa") != unchanged_sample(rows, 0.1, 8, "qa")
    assert len(unchanged_sample(rows, 0.1, 7, "qa")) == 20
    assert unchanged_sample(rows, 0.0, 7, "qa") == [] and len(unchanged_sample(rows, 1.0, 7, "qa")) == 200


def test_without_the_key_nothing_unchanged_is_dealt(store):
    req = make_request(store, config(overlap=2))
    unchanged = unchanged_ids(store, req)
    assert not any(a.sample_id in unchanged[a.eval_set] for a in svc(store, "bob@example.com").assignments(req.id))


# -- the bound's order and the queues -----------------------------------------------------------

BOUNDED = "max_regression_rate = 0.05"


def test_a_bounded_set_is_dealt_in_the_bound_order_and_each_queue_follows_it(store):
    req = make_request(store, config(overlap=2, extra=BOUNDED), n=60)
    alice = svc(store, "alice@example.com")
    items = alice.assignments(req.id)
    classes = class_of(store, req)
    for es in req.eval_sets:
        order = alice.review_order(req.id, es)
        assert order
        rank = {sid: i for i, sid in enumerate(order)}
        dealt = [sid for _, sid in sorted({(a.position, a.sample_id) for a in items
                                          if a.role == "sme" and a.eval_set == es})]
        assert dealt == order                          # the whole set, dealt along the bound's order
        for user in SMES:                               # every queue is a subsequence of it
            mine = [q.sample_id for q in svc(store, user).my_queue(req.id, es)]
            assert mine and [rank[s] for s in mine] == sorted(rank[s] for s in mine)
    # the census (regressions) first, across eval sets, as without a bound
    queue = svc(store, "bob@example.com").my_queue(req.id)
    kinds = ["r" if classes[(q.eval_set, q.sample_id)] == "regressed" else "o" for q in queue]
    assert "".join(kinds) == "".join(sorted(kinds, key=lambda k: k != "r"))
    # balanced and exactly k, as ever
    sme = [a for a in items if a.role == "sme"]
    assert set(Counter((a.eval_set, a.sample_id) for a in sme).values()) == {2}
    loads = Counter(a.user for a in sme)
    assert max(loads.values()) - min(loads.values()) <= 1


def test_next_takes_my_first_open_item_in_the_bound_order_skipping_defers_by_one(store):
    req = make_request(store, config(overlap=2, extra=BOUNDED), n=60)
    bob = svc(store, "bob@example.com")
    assert bob.bounds_order(req.id)
    queue = [(q.eval_set, q.sample_id) for q in bob.my_queue(req.id)]
    first = bob.next_assigned(req.id)
    assert (first.eval_set, first.sample_id) == queue[0]
    bob.set_label(req.id, *queue[0], verdict=Verdict.CANDIDATE, refresh=False)
    # on queue[1] and skipping it: Next goes to queue[2] ...
    nxt = bob.next_assigned(req.id, after=queue[1])
    assert (nxt.eval_set, nxt.sample_id) == queue[2]
    # ... and from there back to queue[1], the first open one (the labels stay a prefix)
    nxt = bob.next_assigned(req.id, after=queue[2])
    assert (nxt.eval_set, nxt.sample_id) == queue[1]
    # without a bound, Next moves on after the current item as before
    plain = make_request(store, config(overlap=2), n=60)
    assert not bob.bounds_order(plain.id)
    q2 = [(q.eval_set, q.sample_id) for q in bob.my_queue(plain.id)]
    nxt = bob.next_assigned(plain.id, after=q2[2])
    assert (nxt.eval_set, nxt.sample_id) == q2[3]


def test_next_open_rules():
    q = [("a", "1"), ("a", "2"), ("b", "3"), ("b", "4")]
    assert next_open(q, {("a", "1")}, ("a", "2")) == ("b", "3")
    assert next_open(q, {("a", "1")}, ("a", "2"), first_open=True) == ("b", "3")
    assert next_open(q, {("a", "1")}, ("b", "3"), first_open=True) == ("a", "2")
    assert next_open(q, {("a", "1")}, ("b", "4")) == ("a", "2")                 # wraps
    assert next_open(q, {("a", "1")}, ("b", "4"), wrap=False) is None
    assert next_open(q, set(q), None, first_open=True) is None


def test_to_review_keeps_the_tiers_and_puts_a_bounded_set_in_its_order():
    classes = {"x": [("1", "improved"), ("2", "regressed"), ("3", "changed"), ("4", "unchanged")],
               "y": [("5", "changed"), ("6", "regressed"), ("7", "missing")]}
    assert to_review(classes) == [("x", "2"), ("y", "6"), ("x", "3"), ("y", "5"), ("x", "1")]
    assert to_review(classes, orders={"y": ["6", "7", "5"]}) == \
        [("x", "2"), ("y", "6"), ("x", "3"), ("y", "7"), ("y", "5"), ("x", "1")]
    assert to_review(classes, sample_unchanged=1.0)[-1] == ("x", "4")
