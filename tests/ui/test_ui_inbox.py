"""The inbox table: sortable columns, what is missing, mine/all."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from PySide6.QtCore import QPoint, Qt

from signoff.core.model import Verdict
from tests.doubles import FakeReviewService, _text_set

pytestmark = pytest.mark.gui


def three_requests(user="alice@example.com") -> FakeReviewService:
    svc = FakeReviewService(user=user)
    other = FAKE_OTHER_ROLES
    svc._add(5, "5555555aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "Older experiment", "erin@example.com",
             [_text_set()], change_key="old", created=datetime(2026, 1, 5, tzinfo=timezone.utc), config_text=other)
    return svc


FAKE_OTHER_ROLES = __import__("tests.doubles", fromlist=["FAKE_CONFIG"]).FAKE_CONFIG.replace(
    'sme = ["alice@example.com", "bob@example.com"]', 'sme = ["bob@example.com"]').replace(
    'qa = ["quinn@example.com", "alice@example.com"]', 'qa = ["quinn@example.com"]').replace(
    'name = "support-model"', 'name = "other-model"')


def test_columns_say_commit_model_sets_status_and_what_is_missing(make_window):
    window = make_window(three_requests())
    inbox = window.inbox
    assert inbox.column_texts("commit") == ["a1b2c3d", "9f8e7d6", "5555555"]      # newest first
    assert inbox.column_texts("model") == ["support-model", "support-model", "other-model"]
    assert inbox.column_texts("sets") == ["4", "1", "1"]
    status = inbox.column_texts("status")
    assert status[0] == "pending" and status[1] == "✓ approved"
    missing = inbox.column_texts("missing")
    assert missing[0].startswith("0/1 SME, 0/1 QA") and missing[1] == "nothing: approved"


def test_clicking_headers_sorts_and_reverses(qtbot, make_window):
    window = make_window(three_requests())
    inbox = window.inbox
    header = inbox.list.header()
    model_header = QPoint(header.sectionViewportPosition(2) + 5, 5)
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=model_header)
    first = inbox.column_texts("model")
    assert first == sorted(first) and first[0] == "other-model"
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=model_header)
    assert inbox.column_texts("model") == sorted(first, reverse=True)
    inbox.sort_by("sets", Qt.SortOrder.DescendingOrder)
    assert inbox.column_texts("sets") == ["4", "1", "1"]
    inbox.sort_by("created", Qt.SortOrder.AscendingOrder)
    assert inbox.column_texts("commit") == ["5555555", "9f8e7d6", "a1b2c3d"]      # by time, not by text
    inbox.sort_by("status", Qt.SortOrder.AscendingOrder)
    assert inbox.column_texts("status")[-1] == "✓ approved"                         # blocked first


def test_mine_keeps_requests_where_i_hold_a_role_or_labeled(qtbot, make_window):
    svc = three_requests()
    window = make_window(svc)
    inbox = window.inbox
    inbox.set_scope("mine")
    assert inbox.request_ids() == [1, 2]               # alice is sme/qa in 1 and 2, not in 5
    assert "yours: you are sme, you are qa" in inbox.list.topLevelItem(0).toolTip(0)
    svc.set_label(5, "support-replies", "s-001", verdict=Verdict.BASELINE)
    window.refresh_inbox()
    assert inbox.request_ids() == [1, 2, 5]            # labeled there: mine now
    assert "you labeled 1" in inbox.list.topLevelItem(2).toolTip(0)
    inbox.set_scope("all")
    assert inbox.count() == 3


def test_mine_when_nothing_is_mine_says_so_and_the_choice_is_kept(qtbot, make_window):
    svc = FakeReviewService(user="zed@example.com")
    window = make_window(svc)
    qtbot.mouseClick(window.inbox.mine_button, Qt.MouseButton.LeftButton)
    assert window.inbox.stack.currentWidget() is window.inbox.empty
    assert "Nothing for you here" in window.inbox.empty.text()
    assert window.inbox.count_label.text() == "0 of 2"
    again = make_window(svc)                            # the next window opens on "mine" again
    assert again.inbox.scope == "mine" and again.inbox.mine_button.isChecked()


def test_decided_requests_are_mine(make_window):
    svc = FakeReviewService(user="quinn@example.com")
    window = make_window(svc)
    window.inbox.set_scope("mine")
    assert set(window.inbox.request_ids()) == {1, 2}   # quinn is qa in both and decided on 2
    tip = window.inbox.list.topLevelItem(window.inbox.request_ids().index(2)).toolTip(0)
    assert "you decided approve" in tip


def _mlflow_record(sha: str, candidate: str, baseline: str, config: str = "", locator: dict | None = None):
    """A commit's request (sha given), or a comparison about no commit (sha "": its refs are fields)."""
    from signoff.store.records import RequestRecord

    return RequestRecord(id=9, sha=sha, change_key=sha or f"{candidate} vs {baseline}", source="mlflow",
                         locator=locator or {}, baseline_ref=baseline, candidate_ref=candidate, title="t", author="",
                         content_hash="h", config_toml=config, eval_sets=["e"], status="pending", description="",
                         created_at=datetime(2026, 1, 1, tzinfo=timezone.utc), kind="review" if sha else "comparison")


@pytest.mark.parametrize("record, commit, model", [
    # CI's request: the commit the run is tagged with, the model and the candidate version.
    (_mlflow_record("a1b2c3d4e5f6" * 3, "models:/intents/7", "models:/intents/6", '[mlflow]\nmodel = "intents"\n'),
     "a1b2c3d", "intents v7"),
    # Opened from File ▸ Browse MLflow…: no commit, so the versions stand in the commit column.
    (_mlflow_record("", "models:/intents/7", "models:/intents/2", locator={"model": "intents"}), "v7 vs v2", "intents v7"),
    (_mlflow_record("", "runs:/" + "b" * 32, "runs:/" + "c" * 32),
     "run bbbbbbb vs run ccccccc", ""),
])
def test_mlflow_requests_show_versions_not_a_cut_reference(record, commit, model):
    from signoff.ui.inbox import commit_text, model_name

    assert (commit_text(record), model_name(record)) == (commit, model)


def test_any_comparison_about_no_commit_is_named_by_its_refs_whatever_its_source():
    """The inbox's commit column and the window's header read a comparison's refs (fields), for
    every source: two MLflow versions, a local review of two files, a third party's refs."""
    from dataclasses import replace

    from signoff.ui.inbox import commit_text
    from signoff.ui.verdict_panel import header_text

    mlflow = replace(_mlflow_record("", "models:/intents/7", "models:/intents/2"), title="intents: v7 vs v2")
    assert (commit_text(mlflow), header_text(mlflow)) == ("v7 vs v2", "v7 vs v2 · intents: v7 vs v2")
    # `signoff review cand.csv base.csv` (a local review): the files' names, once when the title is the same
    local = replace(mlflow, source="files", candidate_ref="cand.csv", baseline_ref="base.csv", title="cand.csv vs base.csv")
    assert (commit_text(local), header_text(local)) == ("cand.csv vs base.csv", "cand.csv vs base.csv")
    long = replace(local, candidate_ref="predictions-candidate-2026-03.parquet", title="quarterly")
    assert commit_text(long) == "predictions-candidate-2… vs base.csv"   # the files source's short form
    assert header_text(long) == "predictions-candidate-2… vs base.csv · quarterly"
    # a source not installed, with commits as refs: their short SHAs
    other = replace(local, source="acme", candidate_ref="a" * 40, baseline_ref="b" * 40, title="t",
                    candidate_config_toml="x")
    assert header_text(other) == "aaaaaaa vs bbbbbbb · t · signoff.toml changed (not applied)"
    # a commit's request: its SHA against the base; an inspection (no commit, no comparison): its title
    commit = _mlflow_record("a1b2c3d4e5f6" * 3, "models:/intents/7", "models:/intents/6")
    assert header_text(commit) == "a1b2c3d vs models:/inte · t"
    inspection = replace(local, kind="inspection", candidate_ref="traces", baseline_ref="traces",
                         title="intents traces, 50 of 900 predictions")
    assert header_text(inspection) == "intents traces, 50 of 900 predictions"


def test_the_inbox_lists_a_comparison_by_its_refs(qtbot):
    from dataclasses import replace

    from signoff.ui.inbox import COL, Inbox

    local = replace(_mlflow_record("", "cand.csv", "base.csv"), source="files", title="cand.csv vs base.csv")
    inbox = Inbox()
    qtbot.addWidget(inbox)
    inbox.set_requests([local])
    item = inbox.list.topLevelItem(0)
    assert item.text(COL["commit"]) == "cand.csv vs base.csv"
    assert ">cand.csv vs base.csv<br>cand.csv vs base.csv<br>" in item.toolTip(0)   # the refs, then the title
    inbox.shutdown()


def test_a_local_review_shows_its_two_files():
    """`signoff review A B` without a policy: a comparison about no commit, its refs the files' names."""
    from dataclasses import replace

    from signoff.ui.inbox import commit_text

    record = replace(_mlflow_record("", "candidate.jsonl", "baseline.jsonl"), source="files")
    assert commit_text(record) == "candidate.jsonl vs baseline.jsonl"
    long = replace(record, candidate_ref="predictions-of-the-new-model.jsonl")
    assert commit_text(long) == "predictions-of-the-new-… vs baseline.jsonl"
