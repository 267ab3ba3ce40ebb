"""Working as a team in the window (issue 12): every reviewer's labels on the selected sample,
the window kept live as the store changes, and a brief notice when someone else decides.

- TeamPanel: under "your label" in the detail pane, each other reviewer's verdict, error category
  and comment (plain text, never markup); hidden until I have labeled the sample when the policy
  says `[policy] blind_until_labeled = true`; "changed since your label" when the sample changed
  after I labeled it on an earlier request of the change (a retrain).
- StoreWatcher: polls the store's change counter (the audit log's head: every audited write bumps
  it) about once a second, on a worker thread (SQLite and PostgreSQL alike), and on demand (window
  focus, F5). A new head reloads the inbox, the open request's header and verdict, the other
  reviewers' labels, and says who decided ("bob approved").
"""

from __future__ import annotations

import logging

import pandas as pd
from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from signoff.core.errors import SignoffError
from signoff.core.shown import side_names
from signoff.ui import workers
from signoff.ui.detail_pane import label_words
from signoff.ui.diff_view import plain_label
from signoff.ui.sample_model import MyLabel, _is_missing, others_labels

log = logging.getLogger(__name__)

POLL_MS = 1000
NOTICE_MS = 8000
DECIDED_WORDS = {"approve": "approved", "request-changes": "requested changes", "reject": "rejected"}


def team_labels(frame: pd.DataFrame | None, eval_set: str, me: str) -> dict[str, list[tuple[str, MyLabel]]]:
    """sample id -> [(reviewer, label)] of every reviewer but me, in one eval set."""
    if frame is None or not len(frame):
        return {}
    rows = frame[(frame["eval_set"] == eval_set) & (frame["user"].astype(str).str.lower() != (me or "").lower())]
    out: dict[str, list[tuple[str, MyLabel]]] = {}
    for rec in rows.to_dict("records"):
        def val(key):
            v = rec.get(key)
            return None if _is_missing(v) else v
        lab = MyLabel(verdict=None if val("verdict") is None else str(val("verdict")),
                      correct=None if val("correct") is None else bool(val("correct")),
                      error=val("error"), comment=val("comment"))
        if not lab.is_empty:
            out.setdefault(str(rec["sample_id"]), []).append((str(rec["user"]), lab))
    return out


class TeamPanel(QWidget):
    """The other reviewers' labels of the selected sample, as plain text."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        from PySide6.QtWidgets import QVBoxLayout

        self.text = plain_label("")
        self.text.setWordWrap(True)
        self.text.setAccessibleName("other reviewers' labels")
        self.changed = plain_label("")
        self.changed.setWordWrap(True)
        self.changed.setProperty("tone", "warn")   # resources/themes
        self.changed.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.changed)
        layout.addWidget(self.text)

    def show_for(self, entries: list[tuple[str, MyLabel]], *, mine: MyLabel, hide_until_labeled: bool,
                 shown=None, blind: bool = False, changed: MyLabel | None = None) -> None:
        if changed is not None and not changed.is_empty:
            self.changed.setText(f"changed since your label — you said on the earlier request: "
                                 f"{label_words(changed, None, blind=blind) or '(nothing)'}; label it again")
            self.changed.show()
        else:
            self.changed.hide()
        if not entries:
            self.text.setText("other reviewers: none yet")
            return
        if hide_until_labeled and mine.is_empty:
            n = len(entries)
            self.text.setText(f"other reviewers: {n} label{'s' if n != 1 else ''}, hidden until you label this "
                              f"sample ([policy] blind_until_labeled)")
            return
        names = side_names(shown) if shown is not None else None
        lines = [f"{user}: {label_words(label, names, blind=blind, full_comment=True)}" for user, label in entries]
        self.text.setText("other reviewers:\n" + "\n".join(lines))


def _read_head(service):
    return service.change_counter()


def _read_team(service, request_id: int, eval_set: str | None):
    """Worker side of a refresh: the request, every label of the eval set, the change's decisions
    (ReviewPort.decisions: current and stale, every reviewer's), my labels on samples changed since."""
    req = service.get_request(request_id)
    labels = service.labels_frame(request_id)
    decisions = service.decisions(request_id)
    changed = {}
    if eval_set:
        try:
            changed = service.changed_since_label(request_id, eval_set)
        except SignoffError:
            changed = {}
    return req, eval_set, labels, [(_decision_id(d), d.user, str(getattr(d.kind, "value", d.kind)), d.request_id)
                                   for d in decisions], changed


def _decision_id(d) -> tuple:
    """What tells two decisions apart (the fake's carry no row id): who, what, when, on which request."""
    return (d.id, d.user, str(getattr(d.kind, "value", d.kind)), d.created_at, d.request_id)


class StoreWatcher(QObject):
    """Polls the store's change counter (ReviewPort.change_counter) off the GUI thread; `changed`
    when it moved."""

    changed = Signal(object)

    def __init__(self, service, parent: QObject | None = None, interval_ms: int = POLL_MS):
        super().__init__(parent)
        self.service = service
        self.head = None
        self._worker: workers.Worker | None = None
        self.timer = QTimer(self, interval=interval_ms)
        self.timer.timeout.connect(self.poll)
        try:
            self.head = _read_head(service)
        except Exception:   # the store is down: the first poll that works reports the change
            log.warning("the store's change counter could not be read", exc_info=True)

    def start(self) -> None:
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        if self._worker is not None and self._worker.is_running:
            self._worker.cancel()

    def poll(self) -> None:
        if self._worker is not None and self._worker.is_running:
            return
        worker = workers.Worker(_read_head, self.service)
        worker.signals.finished.connect(self._polled)
        self._worker = workers.start(worker)

    def _polled(self, head) -> None:
        if head != self.head:
            self.head = head
            self.changed.emit(head)


class TeamView(QObject):
    """Wires the team parts into a MainWindow (install_team)."""

    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.panel = TeamPanel()
        detail = window.detail
        layout = detail.layout()
        layout.insertWidget(layout.indexOf(detail.my_label) + 1, self.panel)
        self.team: dict[str, list[tuple[str, MyLabel]]] = {}
        self.changed_since: dict[str, object] = {}
        self.seen_decisions: set[int] | None = None
        self.notices: list[str] = []          # what the window said about others' decisions (tests read it)
        self._worker: workers.Worker | None = None
        self._again = False
        self.watcher = StoreWatcher(window.service, self)
        self.watcher.changed.connect(lambda _head: self.reload())
        self.watcher.start()
        window.comparisonLoaded.connect(lambda _r, _e: self.reload(quiet=True))
        window.table.selectionModel().currentRowChanged.connect(lambda *_: self.show_current())
        window.labelSaved.connect(lambda *_: self.show_current())
        window.installEventFilter(self)

    # -- focus and F5 -------------------------------------------------------
    def eventFilter(self, obj, event) -> bool:
        if obj is self.window and event.type() == QEvent.Type.WindowActivate:
            self.refresh_now()
        return False

    def refresh_now(self) -> None:
        """F5 and focus: ask the store now (a change reloads everything), and reload the open request."""
        self.watcher.poll()
        self.reload()

    def stop(self) -> None:
        self.watcher.stop()

    # -- reloading -----------------------------------------------------------
    def reload(self, quiet: bool = False) -> None:
        w = self.window
        if not quiet:
            w.refresh_inbox()
        if w.request is None:
            return
        if self._worker is not None and self._worker.is_running:
            self._again = True
            return
        worker = workers.Worker(_read_team, w.service, w.request.id, w.eval_set)
        worker.signals.finished.connect(lambda result, quiet=quiet: self._reloaded(result, quiet))
        worker.signals.failed.connect(lambda message, _d: log.warning("team refresh failed: %s", message))
        self._worker = workers.start(worker)

    def _reloaded(self, result, quiet: bool) -> None:
        self._worker = None
        w = self.window
        req, eval_set, labels, decisions, changed = result
        if w.request is None or w.request.id != req.id:
            return
        w.request = req
        me = getattr(w.service, "user", "") or ""
        if eval_set == w.eval_set:
            self.team = team_labels(labels, eval_set, me)
            self.changed_since = changed
            w.model.set_others(others_labels(labels, eval_set, me))
            w.model.refresh_labels_column()
        self._notice(decisions, me)
        if not quiet:
            w._refresh_verdict_in_background()   # the header and the inbox from one verdict
        self.show_current()
        if self._again:
            self._again = False
            self.reload(quiet=True)

    def _notice(self, decisions, me: str) -> None:
        ids = {d[0] for d in decisions}
        if self.seen_decisions is None or not self.window.request:
            self.seen_decisions = ids
            return
        new = [d for d in decisions if d[0] not in self.seen_decisions and d[1].lower() != me.lower()]
        self.seen_decisions |= ids
        if new:
            text = ", ".join(f"{user.split('@')[0]} {DECIDED_WORDS.get(kind, kind)}" for _i, user, kind, _r in new)
            self.notices.append(text)
            self.window.statusBar().showMessage(text, NOTICE_MS)

    def show_current(self) -> None:
        w = self.window
        sid = w.current_sample_id()
        if sid is None:
            self.panel.text.setText("")
            self.panel.changed.hide()
            return
        hide = bool(getattr(getattr(w.config, "policy", None), "blind_until_labeled", False))
        self.panel.show_for(self.team.get(sid, []), mine=w.model.label_of(sid), hide_until_labeled=hide,
                            shown=w.detail.shown, blind=w.blind, changed=self.changed_since.get(sid) and
                            MyLabel(verdict=_word(self.changed_since[sid].verdict),
                                    correct=self.changed_since[sid].correct, error=self.changed_since[sid].error,
                                    comment=self.changed_since[sid].comment))


def _word(verdict):
    return None if verdict is None else str(getattr(verdict, "value", verdict))


def install_team(window) -> TeamView:
    window.team = TeamView(window)
    return window.team
