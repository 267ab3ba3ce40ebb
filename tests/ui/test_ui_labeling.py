"""Labeling by keys beyond 1-4: e (error category), m (comment), b (blind
mode), ? (the shortcut sheet), and undo / redo of every kind of change."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from signoff.core.model import Verdict
from signoff.core.shown import blind_candidate_first
from signoff.ui.actions import ACTIONS

pytestmark = pytest.mark.gui

SET = "support-replies"


def select(window, sample_id):
    row = window.model.row_of(sample_id)
    assert row >= 0, sample_id
    window.select_row(row)
    window.table.setFocus()


def stored(service, sample_id):
    return service.label(1, SET, sample_id)


def test_e_picks_an_error_category_by_typing_and_enter(window, service, open_request, qtbot):
    open_request(window, 1)
    select(window, "s-002")
    qtbot.keyClick(window.table, Qt.Key.Key_E)
    picker = window.label_dialog
    assert picker is not None and picker.isVisible()
    assert picker.visible_choices() == ["wrong label", "hallucination", "formatting", "unsafe"]
    qtbot.keyClicks(picker.filter, "HALL")                # case-insensitive filter
    assert picker.visible_choices() == ["hallucination"]
    qtbot.keyClick(picker.filter, Qt.Key.Key_Return)
    assert not picker.isVisible()
    assert stored(service, "s-002").error == "hallucination"
    assert window.current_sample_id() == "s-002"          # e does not move on
    assert "error: hallucination" in window.detail.my_label.text()
    assert window.model.data(window.model.index(window.model.row_of("s-002"), 0)) == "s-002"

    # Arrow keys move in the filtered list; Esc cancels without a change.
    qtbot.keyClick(window.table, Qt.Key.Key_E)
    picker = window.label_dialog
    assert picker.visible_choices()[-1] is None            # "(no error category)" clears it
    qtbot.keyClick(picker.filter, Qt.Key.Key_Down)
    assert picker.list.currentItem().text() == "formatting"
    qtbot.keyClick(picker.filter, Qt.Key.Key_Escape)
    assert not picker.isVisible() and stored(service, "s-002").error == "hallucination"

    # Nothing matches: Enter keeps the picker open and says so.
    qtbot.keyClick(window.table, Qt.Key.Key_E)
    picker = window.label_dialog
    qtbot.keyClicks(picker.filter, "zzz")
    qtbot.keyClick(picker.filter, Qt.Key.Key_Return)
    assert picker.isVisible() and "no category matches" in picker.note.text()
    picker.reject()


def test_undo_and_redo_an_error_category(window, service, open_request, qtbot):
    open_request(window, 1)
    select(window, "s-003")
    qtbot.keyClick(window.table, Qt.Key.Key_3)            # tie, moves on
    select(window, "s-003")
    qtbot.keyClick(window.table, Qt.Key.Key_E)
    qtbot.keyClicks(window.label_dialog.filter, "format")
    qtbot.keyClick(window.label_dialog.filter, Qt.Key.Key_Return)
    assert stored(service, "s-003").error == "formatting"
    assert window.undo_stack.undoText() == "error formatting on s-003"
    select(window, "s-001")
    qtbot.keyClick(window.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    lab = stored(service, "s-003")
    assert lab.error is None and lab.verdict == Verdict.TIE       # only the error came back
    assert window.current_sample_id() == "s-003"                  # undo shows the sample it changed
    qtbot.keyClick(window.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert stored(service, "s-003").error == "formatting"


def test_m_comments_literally_and_undo_takes_it_back(window, service, open_request, qtbot):
    open_request(window, 1)
    select(window, "s-010")
    qtbot.keyClick(window.table, Qt.Key.Key_M)
    box = window.label_dialog
    assert box is not None and box.isVisible()
    qtbot.keyClicks(box.edit, "needs <b>work</b>")
    qtbot.keyClick(box.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)   # a new line
    qtbot.keyClicks(box.edit, "second line")
    qtbot.keyClick(box.edit, Qt.Key.Key_Return)                                      # saves
    assert not box.isVisible()
    assert stored(service, "s-010").comment == "needs <b>work</b>\nsecond line"
    assert "comment: “needs <b>work</b> second line”" in window.detail.my_label.text()
    assert window.detail.my_label.textFormat() == Qt.TextFormat.PlainText
    # Editing shows the current comment; an empty one removes it.
    qtbot.keyClick(window.table, Qt.Key.Key_M)
    box = window.label_dialog
    assert box.edit.toPlainText() == "needs <b>work</b>\nsecond line"
    box.edit.clear()
    qtbot.keyClick(box.edit, Qt.Key.Key_Return)
    assert stored(service, "s-010").comment is None
    qtbot.keyClick(window.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert stored(service, "s-010").comment == "needs <b>work</b>\nsecond line"
    qtbot.keyClick(window.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert stored(service, "s-010").comment is None
    # Esc cancels: nothing saved, nothing on the undo stack.
    count = window.undo_stack.count()
    qtbot.keyClick(window.table, Qt.Key.Key_M)
    qtbot.keyClicks(window.label_dialog.edit, "draft")
    qtbot.keyClick(window.label_dialog.edit, Qt.Key.Key_Escape)
    assert stored(service, "s-010").comment is None and window.undo_stack.count() == count


def test_question_mark_shows_every_key(window, open_request, qtbot):
    open_request(window, 1)
    qtbot.keyClick(window.table, Qt.Key.Key_Question, Qt.KeyboardModifier.ShiftModifier)
    sheet = window.shortcut_sheet_view.toPlainText()
    assert window.shortcut_dialog.isVisible()
    for spec in ACTIONS:
        for key in spec.keys:
            assert key in sheet, key
        if spec.keys:
            assert spec.title in sheet, spec.title
    for word in ("Error category", "Comment", "Blind mode", "Raw values", "Next view mode"):
        assert word in sheet
    window.shortcut_dialog.reject()


def blind_pair(ids):
    """One sample shown candidate-first and one baseline-first in blind mode."""
    firsts = {sid: blind_candidate_first(1, SET, sid) for sid in ids}
    return next(s for s in ids if firsts[s]), next(s for s in ids if not firsts[s])


def test_blind_mode_hides_the_candidate_and_1_2_map_back(window, service, open_request, qtbot):
    open_request(window, 1)
    window.filter_combo.setCurrentText("all samples")
    ids = [window.model.sample_id(r) for r in range(window.model.rowCount())]
    cand_first, base_first = blind_pair([i for i in ids if i not in ("s-011", "s-009")])
    qtbot.keyClick(window.table, Qt.Key.Key_B)
    assert window.blind and window.blind_check.isChecked()
    assert window.actions_by_id["view.blind"].isChecked()
    delta_col = [c.key for c in window.model.columns_].index("delta")
    class_col = [c.key for c in window.model.columns_].index("class")
    assert window.table.isColumnHidden(delta_col)
    shown_classes = {window.model.data(window.model.index(r, class_col)) for r in range(window.model.rowCount())}
    assert not any("improved" in c or "regressed" in c for c in shown_classes)

    for sid, key, model_of_key in ((cand_first, Qt.Key.Key_1, "candidate"),   # A is the candidate: 1 = candidate
                                   (base_first, Qt.Key.Key_1, "baseline"),    # A is the baseline: 1 = baseline
                                   (cand_first, Qt.Key.Key_2, "baseline"),
                                   (base_first, Qt.Key.Key_2, "candidate")):
        select(window, sid)
        d = window.detail
        texts = [d.title.text(), d.text_diff.baseline_title.text(), d.text_diff.candidate_title.text(),
                 d.my_label.text(), d.hints.text()]
        assert d.text_diff.baseline_title.text().startswith("A") and d.text_diff.candidate_title.text().startswith("B")
        assert not any(w in t.lower() for t in texts for w in ("candidate", "baseline", "score", "δscore")), texts
        left = d.shown.left
        assert (left.model == "candidate") == (sid == cand_first)
        expected_left = service.comparison(1, SET).set_index("id").loc[sid, f"{left.model}_output"]
        assert d.text_diff.plain_texts()[0].startswith(str(expected_left)[:10])
        qtbot.keyClick(window.table, key)
        assert stored(service, sid).verdict == Verdict(model_of_key), (sid, key)
        letter = "A" if key == Qt.Key.Key_1 else "B"
        row = window.model.row_of(sid)
        assert window.model.data(window.model.index(row, len(window.model.columns_) - 1)) == f"✓ {letter} better"
        select(window, sid)
        assert f"your label: {letter} better" in window.detail.my_label.text()
        assert "candidate" not in window.statusBar().currentMessage().lower() or \
            window.statusBar().currentMessage() == ""

    # The raw view in blind mode names A and B, not the models, and holds back the scores.
    qtbot.keyClick(window.table, Qt.Key.Key_R)
    raw = window.detail.raw_view.toPlainText()
    assert "A_output" in raw and "B_output" in raw and "candidate_output" not in raw and "delta " not in raw
    qtbot.keyClick(window.table, Qt.Key.Key_R)

    # c / x judge "the candidate": refused in blind mode, nothing saved.
    before = stored(service, cand_first).correct
    select(window, cand_first)
    qtbot.keyClick(window.table, Qt.Key.Key_C)
    assert stored(service, cand_first).correct == before
    assert "blind mode" in window.statusBar().currentMessage()

    # The order is stable: the same sample shows the same A each time.
    select(window, base_first)
    first = window.detail.shown.left.model
    select(window, cand_first)
    select(window, base_first)
    assert window.detail.shown.left.model == first

    # Off again: the models are named, scores and Δscore are back.
    qtbot.keyClick(window.table, Qt.Key.Key_B)
    assert not window.blind and not window.table.isColumnHidden(delta_col)
    select(window, cand_first)
    assert window.detail.text_diff.baseline_title.text().startswith("BASELINE")
    assert window.detail.text_diff.candidate_title.text().startswith("CANDIDATE")


def test_blind_mode_in_the_label_and_image_views(window, open_request, qtbot):
    open_request(window, 1, eval_set="intents")
    qtbot.keyClick(window.table, Qt.Key.Key_B)
    text = window.detail.view.text_content()
    assert "\nA\n" in "\n" + text and "\nB\n" in text
    assert "BASELINE" not in text and "CANDIDATE" not in text and "score" not in text
    with qtbot.waitSignal(window.comparisonLoaded, timeout=10_000):
        window.eval_set_combo.setCurrentIndex(window.eval_set_combo.findData("photos"))
    assert window.blind                                  # blind mode stays on across eval sets
    info = window.detail.view.info.text()
    assert info.startswith("A ·") and "BASELINE" not in info and "CANDIDATE" not in info


class QuickService:
    """A FakeReviewService whose set_label can skip the policy refresh, as the real one can."""

    def __init__(self):
        from tests.doubles import FakeReviewService

        self.inner = FakeReviewService()
        self.refreshes: list[int] = []
        self.refresh_flags: list[bool] = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def set_label(self, request_id, eval_set, sample_id, *, refresh: bool = True, **fields):
        self.refresh_flags.append(refresh)
        return self.inner.set_label(request_id, eval_set, sample_id, **fields)

    def refresh_status(self, request_id):
        self.refreshes.append(request_id)
        return self.inner.verdict(request_id)


def test_keys_save_at_once_and_the_status_follows_debounced(make_window, open_request, qtbot):
    service = QuickService()
    window = make_window(service)
    open_request(window, 1)
    window.table.setFocus()
    for key in (Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_3):
        qtbot.keyClick(window.table, key)
    window.flush_labels()                                     # written off the GUI thread, in order
    assert service.refresh_flags == [False, False, False]      # no policy evaluation per keystroke
    assert len([c for c in service.inner.calls if c[0] == "set_label"]) == 3   # but every label saved
    assert service.refreshes == []
    qtbot.waitUntil(lambda: service.refreshes == [1], timeout=3000)      # one refresh after the burst
    qtbot.keyClick(window.table, Qt.Key.Key_4)
    window.shutdown()                                          # closing flushes what is pending
    assert service.refreshes == [1, 1]


def test_a_label_the_store_refuses_is_reported_and_shown_as_it_was(window, service, open_request, qtbot, monkeypatch):
    """Labels are written off the GUI thread; a refused write comes back as a message in the
    window, and the table and detail pane show the label as it was before the key."""
    from signoff.store.db import StoreUnavailable

    open_request(window, 1)
    select(window, "s-002")
    qtbot.keyClick(window.table, Qt.Key.Key_1)
    assert stored(service, "s-002").verdict.value == "candidate"

    def refuse(*args, **kwargs):
        raise StoreUnavailable("the review store local (x.db) failed: database is locked")

    monkeypatch.setattr(service, "set_label", refuse)
    select(window, "s-002")
    qtbot.keyClick(window.table, Qt.Key.Key_2)
    assert window.model.label_of("s-002").verdict == "baseline"      # shown at once…
    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=5000)
    assert "Label not saved: the review store local (x.db) failed: database is locked" in window.banner.message.text()
    assert window.model.label_of("s-002").verdict == "candidate"     # …and back when the store said no
    window.flush_labels()
