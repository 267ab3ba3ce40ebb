"""File ▸ New review… through the real service and store: from a git repository (listed in
Settings ▸ Git repositories) and from two files with a remapped column; the empty inbox's
buttons; cancel and errors in the dialog."""

from __future__ import annotations

import pandas as pd
import pytest

from signoff.service.review import ReviewService
from signoff.settings import load_settings
from signoff.store.store import Store
from tests.plugins.conftest import SIGNOFF_TOML, make_history

pytestmark = pytest.mark.gui


@pytest.fixture
def store():
    s = Store()   # SIGNOFF_HOME is a fresh temp dir (tests/conftest.py)
    yield s
    s.close()


def _new_review(qtbot, window):
    window.actions_by_id["file.new_review"].trigger()
    dialog = window.new_review_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def test_new_review_from_a_git_repository_in_settings(qtbot, make_window, store, tmp_path):
    history = make_history(tmp_path / "repo")
    settings = load_settings()
    settings.set("connections.git_repos", [str(tmp_path / "repo")])
    settings.save()
    window = make_window(ReviewService(store, user="alice@example.com"))
    assert window.inbox.empty_actions.isVisible()           # the empty inbox offers the demo and New review…
    assert window.inbox.new_button.text() == "New review…"
    dialog = _new_review(qtbot, window)
    git = dialog.git
    assert git.repo_combo.currentData() == str(tmp_path / "repo")
    texts = [git.candidate_list.item(i).text() for i in range(git.candidate_list.count())]
    assert any(t.startswith("branch  main") for t in texts) and any(t.startswith("branch  feature") for t in texts)
    assert any("Candidate model v2" in t and t.startswith("commit") for t in texts)
    assert len([t for t in texts if t.startswith("commit")]) == 4    # c1..c4 of the branches, no other refs
    assert git.candidate_list.currentItem().text().startswith("branch  feature")   # not the default branch
    assert git.baseline_combo.currentText().startswith("merge-base with main")
    assert "protected base" in git.note.text()

    with qtbot.waitSignal(dialog.requestCreated, timeout=30_000) as created, \
            qtbot.waitSignal(window.comparisonLoaded, timeout=30_000):
        dialog.create_button.click()
    req = store.get_request(created.args[0])
    assert (req.sha, req.baseline_ref) == (history.c4, history.c1)   # merge-base with main
    assert req.config_toml == SIGNOFF_TOML.format(ext="jsonl")       # the policy at the protected base
    assert window.request.id == req.id and not dialog.isVisible()
    assert not window.inbox.empty_actions.isVisible()


def test_git_tab_explicit_baseline_and_bad_folder(qtbot, make_window, store, tmp_path):
    history = make_history(tmp_path / "repo")
    window = make_window(ReviewService(store, user="alice@example.com"))
    dialog = _new_review(qtbot, window)
    assert "choose a folder" in dialog.git.note.text()
    (tmp_path / "plain").mkdir()
    dialog.git.set_repo(str(tmp_path / "plain"))                     # not a repository: one line, no crash
    assert "not a git repository" in dialog.git.note.text()
    dialog.create_button.click()
    assert "choose a candidate" in dialog.error.text()
    dialog.git.set_repo(str(tmp_path / "repo"))
    assert dialog.git.select_candidate(history.c4) and dialog.git.select_baseline(history.c3)
    with qtbot.waitSignal(dialog.requestCreated, timeout=30_000) as created:
        dialog.create_button.click()
    assert store.get_request(created.args[0]).baseline_ref == history.c3
    qtbot.waitUntil(lambda: window.request is not None and window.request.id == created.args[0], timeout=30_000)


def _two_files(tmp_path):
    ids = [f"q{i}" for i in range(6)]
    base = pd.DataFrame({"id": ids, "question": [f"what is {i}?" for i in range(6)],
                         "answer": ["a"] * 6, "answer_v2": [str(i) for i in range(6)]})
    cand = base.copy()
    cand["answer_v2"] = ["0", "1", "2", "x", "y", "5"]                 # two changed in the remapped column
    base.to_csv(tmp_path / "base.csv", index=False)
    cand.to_csv(tmp_path / "cand.csv", index=False)
    return str(tmp_path / "base.csv"), str(tmp_path / "cand.csv")


def test_new_review_from_two_files_with_a_remapped_column(qtbot, make_window, store, tmp_path, monkeypatch):
    from tests.support.reads import comparison_reads

    base, cand = _two_files(tmp_path)
    reads = comparison_reads(monkeypatch)   # the window opens what the service just stored from memory
    service = ReviewService(store, user="dana@example.com")
    window = make_window(service)
    dialog = _new_review(qtbot, window)
    dialog.tabs.setCurrentWidget(dialog.files)
    files = dialog.files
    files.set_files(base, cand)
    # The guessing of `signoff review`: id, input=question, output=answer; the first rows shown.
    assert files.mapping() == {"id": "id", "input": "question", "output": "answer"}
    assert files.preview.rowCount() == 5 and files.preview.columnCount() == 4
    assert files.preview.horizontalHeaderItem(2).text() == "answer\n[output]"
    assert "output=answer" in files.note.text()
    files.set_role("output", "answer_v2")                               # remapped by the user
    assert files.note.text().endswith("changed by you: output: answer → answer_v2")
    assert files.preview.horizontalHeaderItem(3).text() == "answer_v2\n[output]"
    with qtbot.waitSignal(dialog.requestCreated, timeout=30_000) as created, \
            qtbot.waitSignal(window.comparisonLoaded, timeout=30_000):
        dialog.create_button.click()
    rid = created.args[0]
    assert reads == []
    summary = service.summary(rid)
    (es,) = summary["eval_sets"]
    assert es["samples"] == 6 and es["classes"].get("changed") == 2    # answer_v2 compared, not answer
    made = store.get_request(rid)                                     # no policy file: a local review,
    assert (made.sha, made.kind, made.candidate_ref) == ("", "comparison", "cand.csv")   # about no commit
    assert window.request.id == rid


def test_two_files_errors_stay_in_the_dialog(qtbot, make_window, store, tmp_path):
    base, cand = _two_files(tmp_path)
    window = make_window(ReviewService(store, user="dana@example.com"))
    dialog = _new_review(qtbot, window)
    dialog.tabs.setCurrentWidget(dialog.files)
    dialog.create_button.click()
    assert "choose the baseline" in dialog.error.text()
    dialog.files.set_files(base, cand)
    dialog.files.set_role("id", "")
    dialog.create_button.click()
    assert dialog.error.text() == "map the id column"
    dialog.files.set_role("id", "id")
    dialog.files.sha_edit.setText("abc123")                             # a commit needs a policy
    with qtbot.assertNotEmitted(dialog.requestCreated):
        dialog.create_button.click()
        qtbot.waitUntil(lambda: dialog.worker is None and bool(dialog.error.text()), timeout=30_000)
    assert "needs a policy" in dialog.error.text() and dialog.isVisible()
    dialog.cancel_button.click()
    assert not dialog.isVisible()


def test_mlflow_tab_opens_the_browser(qtbot, make_window, store):
    window = make_window(ReviewService(store, user="dana@example.com"))
    dialog = _new_review(qtbot, window)
    tab = dialog.extension_tabs["mlflow.browse"]                          # the MLflow plugin's tab (a UI extension)
    assert dialog.tabs.tabText(dialog.tabs.indexOf(tab)) == "MLflow"
    dialog.tabs.setCurrentWidget(tab)
    assert not dialog.create_button.isEnabled()
    tab.button.click()
    browser = window.extension_windows["mlflow.browse"]
    assert not dialog.isVisible() and browser.isVisible()
    browser.reject()


def test_cancel_while_creating_keeps_the_dialog(qtbot, make_window, store, tmp_path, monkeypatch):
    from signoff.service import new_review as nr

    make_history(tmp_path / "repo")
    started = []

    def slow(service, repo, candidate, baseline="", *, task=None):
        started.append(True)
        while True:            # until Cancel: the worker's task is cancelled and check() raises
            task.check()
            task.report("comparing", 0.5)

    monkeypatch.setattr(nr, "create_from_git", slow)
    window = make_window(ReviewService(store, user="alice@example.com"))
    dialog = _new_review(qtbot, window)
    dialog.git.set_repo(str(tmp_path / "repo"))
    dialog.create_button.click()
    qtbot.waitUntil(lambda: bool(started) and dialog.progress.isVisible())
    assert not dialog.create_button.isEnabled() and not dialog.tabs.isEnabled()
    with qtbot.waitSignal(dialog.worker.signals.cancelled, timeout=10_000):
        dialog.cancel_button.click()
    assert dialog.isVisible() and dialog.message.text() == "cancelled"
    assert dialog.create_button.isEnabled() and dialog.worker is None
    assert store.list_requests() == []


def test_open_the_demo_from_the_empty_inbox(qtbot, make_window, store):
    window = make_window(ReviewService(store, user="alice@example.com"))
    with qtbot.waitSignal(window.comparisonLoaded, timeout=120_000):
        window.inbox.demo_button.click()
    (req,) = store.list_requests()
    assert window.request.id == req.id and req.source == "demo"
    assert not window.inbox.empty_actions.isVisible()
