"""Team review in the window with [policy] overlap (issue 12): Next takes my next assigned item, the
progress and the end-of-queue notice follow my queue, the inbox's queue column, Reassign…, QA's
adjudication queue, and agreement per eval set in the Charts data. Real ReviewService and Store
(SQLite), labels signed with the test keys (tests/conftest.py)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from signoff.service.review import ReviewService
from signoff.store.store import Store
from tests.plugin_doubles import InMemorySource
from tests.test_team_review import config, tables

pytestmark = [pytest.mark.gui]

SMES = ["alice@example.com", "bob@example.com", "carol@example.com"]


@pytest.fixture
def team(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    req = ReviewService(store, user="ci@example.com").create_request(
        InMemorySource(tables(20), config=config(overlap=2, smes=SMES)), sha="c1")
    yield store, req
    store.close()


def svc(store, user):
    return ReviewService(store, user=user)


def open_window(qtbot, make_window, service, req):
    window = make_window(service)
    with qtbot.waitSignal(window.team_queue.queuesRead, timeout=20000):
        with qtbot.waitSignal(window.comparisonLoaded, timeout=20000):
            window.inbox.select(req.id)
    qtbot.waitUntil(lambda: window.team_queue.active, timeout=10000)
    return window


def test_next_takes_my_next_assigned_item_and_progress_counts_my_queue(qtbot, make_window, team):
    store, req = team
    alice = svc(store, "alice@example.com")
    mine = alice.my_queue(req.id)
    window = open_window(qtbot, make_window, alice, req)
    # the window lands on my first assigned item, and n walks my queue in its order
    assert (window.eval_set, window.current_sample_id()) == (mine[0].eval_set, mine[0].sample_id)
    first_set = [q for q in mine if q.eval_set == mine[0].eval_set]
    qtbot.keyClick(window.table, Qt.Key_N)
    assert window.current_sample_id() == first_set[1].sample_id
    # the class buttons and the eval-set list count what was dealt to me, not the whole class
    frame = store.load_comparison(req.id, window.eval_set, columns=["id", "class"])
    cls = dict(zip(frame["id"], frame["class"].astype(str)))
    regressed_mine = sum(1 for q in first_set if cls[q.sample_id] == "regressed")
    regressed_all = sum(1 for c in cls.values() if c == "regressed")
    assert regressed_mine < regressed_all
    assert window.class_buttons["regressed"].text() == f"regressed 0/{regressed_mine}"
    combo = [window.eval_set_combo.itemText(i) for i in range(window.eval_set_combo.count())]
    assert combo[0].endswith(f"  0/{len(first_set)}")
    # labeling goes on to my next item; the figures follow
    qtbot.keyClick(window.table, Qt.Key_3)
    window.flush_labels()
    assert window.current_sample_id() == first_set[2].sample_id
    assert sum(int(b.text().split()[-1].split("/")[0]) for b in window.class_buttons.values()) == 1


def test_the_end_of_my_queue_names_the_eval_set_where_i_still_have_items(qtbot, make_window, team):
    store, req = team
    bob = svc(store, "bob@example.com")
    mine = bob.my_queue(req.id)
    first = mine[0].eval_set
    window = open_window(qtbot, make_window, bob, req)
    todo = [q for q in mine if q.eval_set == first]
    for q in todo:
        assert window.current_sample_id() == q.sample_id
        qtbot.keyClick(window.table, Qt.Key_1)
    window.flush_labels()
    notice = window.queues.notice
    assert notice.isVisible()
    second = next(q.eval_set for q in mine if q.eval_set != first)
    rest = sum(1 for q in mine if q.eval_set == second)
    assert (f"your queue in {first} is done ({len(todo)}/{len(todo)}). Next: your queue in {second} (0/{rest})"
            in notice.text.text())
    assert window.current_sample_id() == todo[-1].sample_id         # no silent slide
    with qtbot.waitSignal(window.comparisonLoaded, timeout=20000):
        qtbot.keyClick(window.table, Qt.Key_Return)
    assert window.eval_set == second
    assert window.current_sample_id() == next(q.sample_id for q in mine if q.eval_set == second)


def test_without_overlap_next_is_the_next_unlabeled_row_as_before(qtbot, make_window, tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'plain.db'}")
    try:
        cfg = config(overlap=2, smes=SMES).replace("overlap = 2\n", "")
        req = svc(store, "ci@example.com").create_request(InMemorySource(tables(20), config=cfg), sha="c1")
        window = make_window(svc(store, "alice@example.com"))
        with qtbot.waitSignal(window.team_queue.queuesRead, timeout=20000):
            with qtbot.waitSignal(window.comparisonLoaded, timeout=20000):
                window.inbox.select(req.id)
        assert not window.team_queue.active
        row = window.current_row()
        qtbot.keyClick(window.table, Qt.Key_N)
        assert window.current_row() == window.model.next_unlabeled(row) != row
        assert window.class_buttons["regressed"].text() == "regressed 0/4"
        assert store.assignments(req.id) == []          # nothing was dealt
    finally:
        store.close()


def test_the_inbox_shows_my_and_the_teams_queue(qtbot, make_window, team):
    store, req = team
    alice = svc(store, "alice@example.com")
    mine = alice.my_queue(req.id)
    bob = svc(store, "bob@example.com")
    q = bob.my_queue(req.id)[0]
    bob.set_label(req.id, q.eval_set, q.sample_id, verdict="tie")
    window = make_window(alice)
    qtbot.waitUntil(lambda: window.inbox.column_texts("queue") != [""], timeout=10000)
    total = sum(r["assigned"] for r in alice.queue_progress(req.id).values())
    assert window.inbox.column_texts("queue") == [f"me 0/{len(mine)} · team 1/{total}"]
    item = window.inbox.list.topLevelItem(0)
    tip = item.toolTip(window.inbox.list.columnCount() - 4)
    assert "bob@example.com: 1/" in tip


def test_reassign_from_the_window_moves_only_open_items(qtbot, make_window, team):
    store, req = team
    carol = svc(store, "carol@example.com")
    carols = carol.my_queue(req.id)
    done = carols[0]
    carol.set_label(req.id, done.eval_set, done.sample_id, verdict="tie")
    alice = svc(store, "alice@example.com")
    window = open_window(qtbot, make_window, alice, req)
    with qtbot.waitSignal(window.reassign.dialogOpened, timeout=10000) as opened:
        window.reassign.action.trigger()
    dialog = opened.args[0]
    rows = [dialog.from_combo.itemText(i) for i in range(dialog.from_combo.count())]
    assert f"carol@example.com (sme): {len(carols) - 1} open of {len(carols)}" in rows
    dialog.choose("carol@example.com")
    assert [dialog.to_list.item(i).text() for i in range(dialog.to_list.count())] == [
        "alice@example.com", "bob@example.com"]
    assert dialog.selection() == ("carol@example.com", None)        # none ticked: the role's other members
    with qtbot.waitSignal(window.reassign.reassigned, timeout=10000) as moved:
        dialog.accept()
    left = svc(store, "carol@example.com").my_queue(req.id)
    assert [(q.eval_set, q.sample_id) for q in left] == [(done.eval_set, done.sample_id)]   # the labeled one stays
    assert moved.args[0] == len(carols) - 1
    assert "moved" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: len(window.team_queue.order) > 0, timeout=10000)


def test_qa_adjudicates_from_the_disagreement_queue(qtbot, make_window, team):
    store, req = team
    # two SMEs who hold the same sample disagree on it
    items = svc(store, "alice@example.com").assignments(req.id)
    holders = {}
    for a in items:
        if a.role == "sme":
            holders.setdefault((a.eval_set, a.sample_id), []).append(a.user)
    (es, sid), (u1, u2) = next(iter(holders.items()))
    svc(store, u1).set_label(req.id, es, sid, verdict="candidate")
    svc(store, u2).set_label(req.id, es, sid, verdict="baseline")
    quinn = svc(store, "quinn@example.com")
    assert [(d["eval_set"], d["sample_id"]) for d in quinn.disagreements(req.id)] == [(es, sid)]
    window = open_window(qtbot, make_window, quinn, req)
    if window.eval_set != es:
        with qtbot.waitSignal(window.comparisonLoaded, timeout=20000):
            window.load_eval_set(es)
    qtbot.waitUntil(lambda: window.team_queue.is_qa and (es, sid) in window.team_queue.to_adjudicate, timeout=10000)
    window.review_combo.setCurrentIndex(window.review_combo.findData("adjudicate"))
    assert window.model.visible_count() == 1 and window.current_sample_id() == sid
    with qtbot.waitSignal(window.team_queue.adjudicated, timeout=10000):
        qtbot.keyClick(window.table, Qt.Key_1)
    assert quinn.disagreements(req.id) == []
    statement = store.label_statements([l.statement_id for l in store.labels(req.id)
                                        if l.user == "quinn@example.com"])
    import json
    assert any(json.loads(text).get("adjudicated") is True for _u, text, _sig in statement.values())


def test_agreement_per_eval_set_reaches_the_charts(team):
    from signoff.report.charts import agreement
    from signoff.report.data import collect

    store, req = team
    items = svc(store, "alice@example.com").assignments(req.id)
    holders = {}
    for a in items:
        if a.role == "sme":
            holders.setdefault((a.eval_set, a.sample_id), []).append(a.user)
    for i, ((es, sid), users) in enumerate(sorted(holders.items())[:12]):
        for j, u in enumerate(users):
            svc(store, u).set_label(req.id, es, sid, verdict="candidate" if (i + j * (i % 3 == 0)) % 2 else "baseline")
    data = collect(svc(store, "alice@example.com"), req.id)
    figures = [f for f in data.agreement if f.kind == "verdict" and f.doubly]
    assert figures
    chart = agreement(data)
    text = " ".join(str(t.text) for t in chart.figure.data) + str(chart.figure.layout.xaxis.ticktext or "")
    for f in figures:
        assert f"{f.eval_set}" in str([t.x for t in chart.figure.data])
        assert f"n={f.doubly}" in str([t.x for t in chart.figure.data])
        if f.alpha is not None:
            assert f"{f.alpha:.2f}" in text


def test_with_a_bound_next_walks_my_queue_in_the_bound_order_and_comes_back_to_a_skipped_item(
        qtbot, make_window, tmp_path):
    """[policy] max_regression_rate with overlap: my queue is my share of the bound's sample order
    (ReviewService.review_order) and n takes my FIRST open item: a skipped one comes back next."""
    store = Store(f"sqlite:///{tmp_path / 'bounded.db'}")
    try:
        req = ReviewService(store, user="ci@example.com").create_request(
            InMemorySource(tables(40), config=config(overlap=2, smes=SMES, extra="max_regression_rate = 0.05")),
            sha="c1")
        alice = svc(store, "alice@example.com")
        mine = alice.my_queue(req.id)
        window = open_window(qtbot, make_window, alice, req)
        assert window.team_queue.first_open
        es = mine[0].eval_set
        order = alice.review_order(req.id, es)
        in_set = [q.sample_id for q in mine if q.eval_set == es]
        assert in_set == [sid for sid in order if sid in set(in_set)]          # a subsequence of the order
        assert window.current_sample_id() == in_set[0]
        qtbot.keyClick(window.table, Qt.Key_N)                                # skip the first: on to the second
        assert window.current_sample_id() == in_set[1]
        qtbot.keyClick(window.table, Qt.Key_3)                                # label it: back to the skipped one
        window.flush_labels()
        assert window.current_sample_id() == in_set[0]
        qtbot.keyClick(window.table, Qt.Key_3)                                # then on along the order
        window.flush_labels()
        assert window.current_sample_id() == in_set[2]
    finally:
        store.close()
