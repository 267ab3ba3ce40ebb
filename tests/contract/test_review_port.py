"""One contract, two implementations: the real ReviewService over SQLite and the in-memory
FakeReviewService the UI tests use (tests/doubles.py) run the same tests, so they cannot drift.
The contract is signoff.service.port.ReviewPort: what the UI may call."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pytest

from signoff.core.errors import InputError, SignoffError
from signoff.core.model import DecisionKind, Label, Verdict
from signoff.core.policy import Coverage, PolicyVerdict
from signoff.core.tasks import Cancelled, TaskState
from signoff.service.port import ReviewPort
from signoff.service.review import LABEL_COLUMNS, ReviewService
from signoff.store.store import Store
from tests.doubles import FakeReviewService
from tests.plugin_doubles import InMemorySource

ALICE = "alice@example.com"   # an SME in both policies, not the author


@dataclass
class World:
    service: ReviewPort
    request_id: int
    eval_set: str

    def ids(self, *classes: str) -> list[str]:
        t = self.service.comparison(self.request_id, self.eval_set)
        return [str(i) for i in t.loc[t["class"].astype(str).isin(classes), "id"]]


@pytest.fixture(params=["sqlite", "fake"])
def world(request, tmp_path):
    if request.param == "fake":
        yield World(FakeReviewService(ALICE), 1, "support-replies")
        return
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    req = ReviewService(store, user="ci@example.com").create_request(InMemorySource(), sha="c1")
    yield World(ReviewService(store, user=ALICE), req.id, "qa")
    store.close()


def test_both_implement_the_port(world):
    assert isinstance(world.service, ReviewPort)
    assert world.service.user == ALICE


def test_requests_and_config(world):
    svc = world.service
    assert world.request_id in [r.id for r in svc.list_requests()]
    req = svc.get_request(world.request_id)
    assert svc.resolve_request(str(req.id)).id == req.id
    assert world.eval_set in [s.name for s in svc.config(req.id).eval_sets]
    assert "sme" in svc.my_roles(req.id)
    with pytest.raises(SignoffError):
        svc.get_request(999_999)


def test_comparison_view_of_a_small_table_is_the_whole_table(world):
    view = world.service.comparison_view(world.request_id, world.eval_set)
    pd.testing.assert_frame_equal(view, world.service.comparison(world.request_id, world.eval_set))


def test_comparison_has_ids_and_classes(world):
    t = world.service.comparison(world.request_id, world.eval_set)
    assert {"id", "class", "baseline_output", "candidate_output"} <= set(t.columns)
    assert world.ids("regressed") and world.ids("changed", "improved")
    with pytest.raises(SignoffError):
        world.service.comparison(world.request_id, "no-such-set")


def test_set_label_saves_as_the_user_and_keeps_unset_fields(world):
    svc, rid, es = world.service, world.request_id, world.eval_set
    sid = world.ids("regressed")[0]
    lab = svc.set_label(rid, es, sid, verdict=Verdict.BASELINE)
    assert isinstance(lab, Label) and lab.user == ALICE and lab.verdict is Verdict.BASELINE
    error = svc.config(rid).error_categories[0]
    lab = svc.set_label(rid, es, sid, error=error)
    assert (lab.verdict, lab.error) == (Verdict.BASELINE, error)
    frame = svc.labels_frame(rid)
    assert list(frame.columns) == LABEL_COLUMNS
    row = frame[frame["sample_id"] == sid].iloc[0]
    assert (row.user, row.verdict, row.error) == (ALICE, "baseline", error)
    assert len(svc.labels_frame(rid, user="nobody@example.com")) == 0


def test_eval_set_progress_counts_my_labels_over_every_class_but_unchanged(world):
    svc, rid, es = world.service, world.request_id, world.eval_set
    t = svc.comparison(rid, es)
    todo = int((t["class"].astype(str) != "unchanged").sum())
    assert svc.eval_set_progress(rid)[es] == (0, todo)
    svc.set_label(rid, es, world.ids("regressed")[0], verdict=Verdict.BASELINE)
    svc.set_label(rid, es, world.ids("changed", "improved")[0], correct=True)
    if world.ids("unchanged"):
        svc.set_label(rid, es, world.ids("unchanged")[0], correct=True)   # not to review: not counted
    assert svc.eval_set_progress(rid)[es] == (2, todo)
    assert svc.eval_set_progress(rid, user="someone-else@example.com")[es] == (0, todo)
    assert set(svc.eval_set_progress(rid)) == set(svc.get_request(rid).eval_sets)


def test_set_label_refuses_bad_input(world):
    svc, rid, es = world.service, world.request_id, world.eval_set
    with pytest.raises(InputError, match="no sample 'nope'"):
        svc.set_label(rid, es, "nope", verdict=Verdict.TIE)
    with pytest.raises(InputError, match="unknown error category"):
        svc.set_label(rid, es, world.ids("regressed")[0], error="not-a-category")


def test_coverage_counts_verdicts_not_comment_only_labels(world):
    svc, rid, es = world.service, world.request_id, world.eval_set
    before = svc.coverage(rid)
    assert isinstance(before, Coverage) and before.changed_labeled == 0
    first, second = world.ids("changed", "improved", "regressed")[:2]
    svc.set_label(rid, es, first, comment="looked at it, not sure yet")
    after_comment = svc.coverage(rid)
    assert (after_comment.changed_labeled, after_comment.other_labels) == (0, 0)
    svc.set_label(rid, es, second, correct=True)
    assert svc.coverage(rid).changed_labeled == 1


def test_refresh_false_leaves_the_status_until_refresh_status(world):
    svc, rid, es = world.service, world.request_id, world.eval_set
    description = svc.get_request(rid).description
    for sid in world.ids("changed", "improved", "regressed"):
        svc.set_label(rid, es, sid, verdict=Verdict.CANDIDATE, refresh=False)
    assert svc.get_request(rid).description == description        # not re-evaluated per keystroke
    verdict = svc.refresh_status(rid)
    assert isinstance(verdict, PolicyVerdict)
    assert svc.get_request(rid).description == verdict.description != description
    assert verdict.missing == svc.verdict(rid).missing


def test_set_label_refreshes_by_default(world):
    svc, rid, es = world.service, world.request_id, world.eval_set
    description = svc.get_request(rid).description
    for sid in world.ids("changed", "improved", "regressed"):
        svc.set_label(rid, es, sid, verdict=Verdict.CANDIDATE)
    assert svc.get_request(rid).description != description


def test_decide_records_a_decision_and_the_port_reads_it(world):
    svc, rid = world.service, world.request_id
    assert svc.decisions(rid) == [] or all(d.user != ALICE for d in svc.decisions(rid))
    verdict = svc.decide(rid, DecisionKind.APPROVE, "looks good")
    assert isinstance(verdict, PolicyVerdict)
    mine = [d for d in svc.decisions(rid) if d.user == ALICE]
    assert [(d.kind, d.role, d.comment) for d in mine] == [(DecisionKind.APPROVE, "sme", "looks good")]
    assert not svc.policy_change(rid).changed


class CancelledWhileLoading(TaskState):
    """A task the user cancels while the load runs: its first check passes, then Cancel is pressed."""

    def __init__(self):
        super().__init__()
        self.checks = 0

    def check(self) -> None:
        self.checks += 1
        if self.checks == 1:
            self.cancel()
            return
        super().check()


def test_a_cancelled_load_raises_cancelled_and_hands_out_no_table(world):
    svc, rid, es = world.service, world.request_id, world.eval_set
    task = TaskState()
    task.cancel()
    with pytest.raises(Cancelled):                  # cancelled before it started
        svc.comparison(rid, es, task=task)
    task = CancelledWhileLoading()
    with pytest.raises(Cancelled):                  # cancelled midway: stops at the next check
        svc.comparison(rid, es, task=task)
    assert task.checks >= 2
    assert len(svc.comparison(rid, es, task=TaskState())) == len(svc.comparison(rid, es))   # a new load is whole


def test_act_as_changes_who_labels_and_decides(world):
    svc, rid, es = world.service, world.request_id, world.eval_set
    svc.act_as("bob@example.com")
    assert svc.user == "bob@example.com"
    lab = svc.set_label(rid, es, world.ids("regressed")[0], verdict=Verdict.TIE)
    assert lab.user == "bob@example.com"
    assert svc.my_roles(rid) == svc.config(rid).roles_of("bob@example.com")
