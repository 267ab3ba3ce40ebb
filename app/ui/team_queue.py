"""My assigned queue, QA's adjudication queue and the inbox's team column in the window (issue 12).

With `[policy] overlap` set, the samples that need review are dealt to the reviewers
(ReviewService.my_queue). Then, in the window:

- `n` (Next) takes MY next open assigned item (ReviewService order: regressions first; when the
  policy bounds a regression rate, the bound's sample order and my first open item), across
  eval sets; the class buttons and the eval-set list count my assigned items ("regressed 3/5":
  labeled by me / assigned to me), and the end-of-queue notice comes when my items in the eval set
  are done, naming the next eval set where I still have open items.
- The labels filter gains "my queue (assigned to me)" and, for members of the role `qa`,
  "to adjudicate (QA)": the samples reviewers labeled differently (ReviewService.disagreements).
  A label given there is recorded through ReviewService.adjudicate (signed, marked adjudicated).
- The inbox's "queue" column: per request my done/assigned and the team's (queue_progress), computed
  on a worker after each inbox refresh.

Without overlap nothing changes: the queue is what the filter shows (app/ui/queue_nav.py).
Everything that reads the store runs on a worker (app/ui/workers.py).
"""

from __future__ import annotations

import logging

import numpy as np
from PySide6.QtCore import QObject, Signal

from signoff.core.assignment import next_open
from signoff.core.errors import SignoffError
from signoff.ui import workers
from signoff.ui.sample_model import CLASS_ORDER, MyLabel

log = logging.getLogger(__name__)


# -- worker side (no widgets) ---------------------------------------------------------------

def read_queues(service, request_id: int) -> dict:
    """My assigned queue (dealt on first use) and, for QA, the disagreement queue."""
    config = service.config(request_id)
    overlap = getattr(config.policy, "overlap", None)
    user = getattr(service, "user", "") or ""
    roles = config.roles_of(user) if user else []
    out = {"request_id": int(request_id), "overlap": overlap, "items": [], "qa": "qa" in roles,
           "disagreements": [], "first_open": False}
    if overlap:
        out["items"] = [(q.eval_set, str(q.sample_id), bool(q.done)) for q in service.my_queue(request_id)]
        out["first_open"] = service.bounds_order(request_id)   # Next's rule: ReviewService.next_assigned
    if out["qa"]:
        out["disagreements"] = [(d["eval_set"], str(d["sample_id"])) for d in service.disagreements(request_id)]
    return out


def queue_text(progress: dict, me: str) -> tuple[str, str]:
    """("me 3/16 · team 40/160", tooltip) from ReviewService.queue_progress."""
    me = (me or "").strip().lower()
    team_done = sum(r["done"] for r in progress.values())
    team_all = sum(r["assigned"] for r in progress.values())
    mine = [r["reviewers"][me] for r in progress.values() if me in r["reviewers"]]
    my_done, my_all = sum(m["done"] for m in mine), sum(m["assigned"] for m in mine)
    text = (f"me {my_done}/{my_all} · " if my_all else "") + f"team {team_done}/{team_all}"
    lines = []
    for role, r in sorted(progress.items()):
        lines.append(f"{role} queue {r['done']}/{r['assigned']}")
        for user, u in sorted(r["reviewers"].items()):
            lines.append(f"  {user}: {u['done']}/{u['assigned']}")
    return text, "labeled / assigned\n" + "\n".join(lines)


def read_inbox_queues(service, request_ids: list[int]) -> dict[int, tuple[str, str]]:
    """Per pending request with [policy] overlap: the queue column's text and tooltip."""
    out = {}
    me = getattr(service, "user", "") or ""
    for rid in request_ids:
        try:
            config = service.config(rid)
            if not getattr(config.policy, "overlap", None):
                continue
            service.assignments(rid)          # dealt on first use (stored and audited once)
            out[rid] = queue_text(service.queue_progress(rid), me)
        except SignoffError as exc:
            out[rid] = ("?", f"the queues could not be read: {exc}")
    return out


def _counts(label: MyLabel | None) -> bool:
    """Done in a queue: the label says something of the sample (as ReviewService counts it)."""
    return label is not None and (label.verdict is not None or label.correct is not None or bool(label.error))


# -- the window's part ------------------------------------------------------------------------

class TeamQueue(QObject):
    queuesRead = Signal(int)        # request id: my queue and QA's queue arrived (tests wait on it)
    adjudicated = Signal(str)       # sample id: QA's adjudicated label is stored
    inboxQueuesRead = Signal()

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.request_id: int | None = None
        self.overlap: int | None = None
        self.order: list[tuple[str, str]] = []      # my assigned items, queue order
        self.done: set[tuple[str, str]] = set()
        self.is_qa = False
        self.first_open = False     # the policy bounds a regression rate: Next takes my first open item
        self.to_adjudicate: set[tuple[str, str]] = set()
        self._pending: tuple[str, str] | None = None   # select this once its eval set is loaded
        self._worker: workers.Worker | None = None
        self._again = False
        self._inbox_worker: workers.Worker | None = None
        self._inbox_again = False
        self._adjudications: list[workers.Worker] = []
        window.comparisonLoaded.connect(self._loaded)
        window.labelSaved.connect(self._label_saved)
        window.inbox.requestsSet.connect(self.refresh_inbox_queues)
        team = getattr(window, "team", None)
        if team is not None and team.watcher is not None:
            team.watcher.changed.connect(lambda _head: self.reload())

    # -- state --------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """My assigned queue drives Next, the progress and the end-of-queue notice."""
        w = self.window
        return (bool(self.overlap) and bool(self.order) and w.request is not None
                and w.request.id == self.request_id)

    def reload(self) -> None:
        w = self.window
        if w.request is None:
            return
        if self._worker is not None and self._worker.is_running:
            self._again = True
            return
        worker = workers.Worker(read_queues, w.service, w.request.id)
        worker.signals.finished.connect(self._read)
        worker.signals.failed.connect(lambda message, _d: log.warning("queues not read: %s", message))
        worker.signals.done.connect(self._maybe_again)
        self._worker = workers.start(worker)

    def _maybe_again(self) -> None:
        self._worker = None
        if self._again:
            self._again = False
            self.reload()

    def _read(self, result: dict) -> None:
        w = self.window
        if w.request is None or w.request.id != result["request_id"]:
            return
        first = not self.active
        self.request_id = result["request_id"]
        self.overlap = result["overlap"]
        self.order = [(es, sid) for es, sid, _d in result["items"]]
        self.done = {(es, sid) for es, sid, d in result["items"] if d}
        self.is_qa = result["qa"]
        self.first_open = bool(result.get("first_open"))
        self.to_adjudicate = set(result["disagreements"])
        self._apply_to_model(initial=False)
        queues = getattr(w, "queues", None)
        if queues is not None and self.active:
            queues.progress = self.eval_set_progress()
            queues.update_buttons()
            queues._mark_eval_sets()
        if first and self.active and w.eval_set is not None:   # land on my first open item
            nxt = self.next_item(None, eval_set=w.eval_set)
            if nxt is not None:
                self._select(nxt[1])
        self.queuesRead.emit(self.request_id)

    def _loaded(self, request_id: int, eval_set: str) -> None:
        if request_id != self.request_id:
            self.request_id, self.overlap, self.order, self.done = request_id, None, [], set()
            self.is_qa, self.to_adjudicate = False, set()
            self.reload()
            return
        self._apply_to_model(initial=True)
        if self._pending is not None and self._pending[0] == eval_set:
            target, self._pending = self._pending, None
            self._select(target[1])
        elif self.active:
            nxt = self.next_item(None, eval_set=eval_set)
            if nxt is not None:
                self._select(nxt[1])

    def _apply_to_model(self, *, initial: bool) -> None:
        """The "my queue" and "to adjudicate" filters of the open eval set."""
        w = self.window
        es = w.eval_set
        m = w.model
        m.set_sample_set("assigned", [sid for e, sid in self.order if e == es])
        # A QA who is working through the adjudication filter keeps the rows in view until it is
        # chosen again; the adjudicated samples leave it then.
        if initial or m.review_filter != "adjudicate":
            m.set_sample_set("adjudicate", [sid for e, sid in self.to_adjudicate if e == es])

    def _label_saved(self, sid: str) -> None:
        w = self.window
        if w.eval_set is None:
            return
        key = (w.eval_set, str(sid))
        if _counts(w.model.label_of(str(sid))):
            self.done.add(key)
        else:
            self.done.discard(key)

    # -- progress -------------------------------------------------------------------
    def eval_set_progress(self) -> dict[str, tuple[int, int]]:
        """{eval set: (done, assigned to me)}."""
        w = self.window
        out = {name: (0, 0) for name in (w.request.eval_sets if w.request else [])}
        for key in self.order:
            d, t = out.get(key[0], (0, 0))
            out[key[0]] = (d + int(key in self.done), t + 1)
        return out

    def class_progress(self) -> dict[str, tuple[int, int]]:
        """{class: (labeled by me, assigned to me)} in the open eval set."""
        m = self.window.model
        codes = m._class_codes
        if not len(codes):
            return {c: (0, 0) for c in CLASS_ORDER}
        mine = m.set_mask("assigned")
        valid = (codes >= 0) & mine
        total = np.bincount(codes[valid], minlength=len(CLASS_ORDER))
        done = np.bincount(codes[valid & m._labeled], minlength=len(CLASS_ORDER))
        return {c: (int(done[i]), int(total[i])) for i, c in enumerate(CLASS_ORDER)}

    # -- moving through my queue ---------------------------------------------------------
    def next_item(self, after: tuple[str, str] | None, *, eval_set: str | None = None,
                  wrap: bool = True) -> tuple[str, str] | None:
        """My next open item after `after` in queue order (within `eval_set` when given); when the
        policy bounds a regression rate, my first open item other than `after` (the same rule as
        ReviewService.next_assigned: app/core/assignment.py next_open)."""
        order = [k for k in self.order if eval_set is None or k[0] == eval_set]
        return next_open(order, self.done, after, first_open=self.first_open, wrap=wrap)

    def next(self) -> bool:
        """`n`: go to my next open assigned item. False when not active (the caller does as before)."""
        if not self.active:
            return False
        w = self.window
        sid = w.current_sample_id()
        key = self.next_item((w.eval_set, sid) if sid is not None else None)
        if key is None:
            w.statusBar().showMessage("Your queue is done: every sample assigned to you carries your label.", 5000)
            return True
        self.go_to(key)
        return True

    def go_to(self, key: tuple[str, str]) -> None:
        w = self.window
        es, sid = key
        if es != w.eval_set:
            self._pending = key
            w.queues.hide_notice()
            w.load_eval_set(es)
            return
        self._select(sid)

    def _select(self, sid: str) -> None:
        w = self.window
        row = w.model.row_of(sid)
        if row < 0:   # hidden by the filter: show my queue, every class
            w.filter_combo.blockSignals(True)
            w.filter_combo.setCurrentIndex(1)        # "all samples"
            w.filter_combo.blockSignals(False)
            i = w.review_combo.findData("assigned")
            w.review_combo.blockSignals(True)
            w.review_combo.setCurrentIndex(max(i, 0))
            w.review_combo.blockSignals(False)
            w._apply_filters()
            row = w.model.row_of(sid)
        if row >= 0:
            w.select_row(row)

    def after_label(self) -> bool:
        """After keys 1-4 with overlap: on to my next open item in this eval set; when none is left,
        the end-of-queue notice naming the next eval set where I have open items."""
        w = self.window
        if w.review_combo.currentData() == "adjudicate":
            return False
        sid = w.current_sample_id()
        es = w.eval_set
        key = self.next_item((es, sid) if sid is not None else None, eval_set=es)
        if key is not None:
            self._select(key[1])
            return True
        progress = self.eval_set_progress()
        done, total = progress.get(es, (0, 0))
        here = f"your queue in {es} is done ({done}/{total})"
        target = None
        names = list(w.request.eval_sets)
        if es in names:
            i = names.index(es)
            for name in names[i + 1:] + names[:i]:
                d, t = progress.get(name, (0, 0))
                if d < t:
                    target = (name, d, t)
                    break
        if target is None:
            w.queues.present(f"{here}. Every sample assigned to you carries your label: Ctrl+Enter to decide.",
                             None)
        else:
            name, d, t = target
            w.queues.present(f"{here}. Next: your queue in {name} ({d}/{t}) — Enter goes there, Esc stays.",
                             ("eval_set", name))
        return True

    # -- QA's adjudication ---------------------------------------------------------
    def adjudicates(self, key: tuple[int, str, str]) -> bool:
        """A label given now is QA's adjudication: the "to adjudicate" filter is on, I am QA and the
        sample is in the queue."""
        w = self.window
        return (self.is_qa and w.review_combo.currentData() == "adjudicate"
                and key[0] == self.request_id and (key[1], str(key[2])) in self.to_adjudicate)

    def adjudicate(self, key: tuple[int, str, str], before: dict, label: MyLabel) -> None:
        """Record QA's adjudicated label (ReviewService.adjudicate, signed) on a worker."""
        w = self.window
        rid, es, sid = key
        worker = workers.Worker(w.service.adjudicate, rid, es, sid, verdict=label.verdict, correct=label.correct,
                                error=label.error, comment=label.comment)
        worker.signals.finished.connect(lambda _l, k=key: self._adjudicated(k))
        worker.signals.failed.connect(lambda message, details, k=key, b=before:
                                      w._label_failed(k, b, message, details))
        worker.signals.done.connect(lambda wk=worker: wk in self._adjudications and self._adjudications.remove(wk))
        self._adjudications.append(workers.start(worker))

    def _adjudicated(self, key: tuple[int, str, str]) -> None:
        self.to_adjudicate.discard((key[1], str(key[2])))
        self.window.statusBar().showMessage(f"adjudicated: {key[2]} (QA's label, signed, settles the sample)", 5000)
        self.adjudicated.emit(str(key[2]))

    # -- the inbox's queue column ------------------------------------------------------
    def refresh_inbox_queues(self) -> None:
        w = self.window
        if self._inbox_worker is not None and self._inbox_worker.is_running:
            self._inbox_again = True
            return
        ids = [r.id for r in w.inbox._records if r.status == "pending"]
        worker = workers.Worker(read_inbox_queues, w.service, ids)
        worker.signals.finished.connect(self._inbox_read)
        worker.signals.failed.connect(lambda message, _d: log.warning("inbox queues not read: %s", message))
        worker.signals.done.connect(self._inbox_maybe_again)
        self._inbox_worker = workers.start(worker)

    def _inbox_maybe_again(self) -> None:
        self._inbox_worker = None
        if self._inbox_again:
            self._inbox_again = False
            self.refresh_inbox_queues()

    def _inbox_read(self, texts: dict) -> None:
        self.window.inbox.set_queue_texts(texts)
        self.inboxQueuesRead.emit()


def install_team_queue(window) -> TeamQueue:
    window.team_queue = TeamQueue(window)
    return window.team_queue
