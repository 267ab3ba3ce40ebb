"""The inbox: review requests as a sortable table, all of them or only mine.

Columns: status, commit, title, what is still missing, model, eval sets,
created. Click a header to sort (again to reverse); newest first by default.
"Mine" keeps the requests where you hold a role in the request's policy or
have labeled or decided something; the tooltip says which.

The involvement of each request is worked out by `involvement()` (plain
Python over the ReviewService contract) when the list is filled.

Below the table, the sections plugins add (UI extensions, `signoff.ui_extensions`:
e.g. the MLflow plugin's versions CI tagged for review, plugins/mlflow/ui/inbox_section.py),
asked of the registry; the inbox calls their `refresh`, `set_requests` and `shutdown`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from datetime import timezone

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QButtonGroup, QHBoxLayout, QHeaderView, QPushButton, QStackedWidget,
                               QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from signoff.store.records import RequestRecord
from signoff.ui.diff_view import plain_label, plain_tooltip
from signoff.ui.palette import STATUS_STYLE
from signoff.ui.sortable import SortableItem, SortRole  # noqa: F401  (SortRole: re-exported for older imports)

log = logging.getLogger(__name__)

EMPTY_TEXT = ("No review requests yet.\n\n"
              "CI creates one for a commit with:\n"
              "  signoff request --sha <commit>\n\n"
              "To try Signoff on sample data:\n"
              "  signoff demo")
EMPTY_MINE_TEXT = ("Nothing for you here: no open request lists you in its signoff.toml [roles], "
                   "and you have not labeled or decided any.\n\nClick “All” to see every request.")

RequestIdRole = Qt.ItemDataRole.UserRole + 10
RecordRole = Qt.ItemDataRole.UserRole + 11

COLUMNS = ["status", "commit", "title", "missing", "queue", "model", "sets", "created"]   # queue: app/ui/team_queue.py
COL = {name: i for i, name in enumerate(COLUMNS)}
STATUS_ORDER = {"rejected": 0, "pending": 1, "approved": 2}


def dot_icon(colour: str, size: int = 12) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(QColor(colour))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawEllipse(1, 1, size - 2, size - 2)
    p.end()
    return QIcon(pix)


def missing_text(r: RequestRecord) -> str:
    """What still blocks approval, in the commit status's own words."""
    if r.status == "approved":
        return "nothing: approved"
    text = r.description or ""
    for prefix in ("awaiting review: ", "awaiting review, ", "pending: "):
        if text.startswith(prefix):
            return text[len(prefix):]
    return text


def _source(r: RequestRecord):
    """The request's source plugin class (None when it is not installed)."""
    from signoff.registry import registry

    return registry().sources.get(r.source)


def short_ref(r: RequestRecord, ref: str) -> str:
    """A ref as the request's source writes it short ("v3" for models:/M/3); its first 7 characters else."""
    cls = _source(r)
    return cls.short_ref(ref) if cls is not None else (ref or "").strip()[:7]


def model_name(r: RequestRecord) -> str:
    """The model a request is about: the project's name in signoff.toml, unless the request's
    source names it (the MLflow source: the registered model and the candidate version)."""
    try:
        import tomllib

        data = tomllib.loads(r.config_toml or "")
    except Exception:
        data = {}
    project = data.get("project") if isinstance(data.get("project"), dict) else {}
    name = str(project.get("name") or "")
    cls = _source(r)
    return cls.model_name(r, data, name) if cls is not None else name


def ref_label(r: RequestRecord, ref: str, width: int = 16) -> str:
    """One of a request's refs in a few characters: the source's short form when it has one ("v3"
    for models:/M/3), a commit's first 7, else the ref itself (a file's name) cut to `width`."""
    ref = (ref or "").strip()
    short = short_ref(r, ref)
    if short != ref[:7] or re.fullmatch(r"[0-9a-fA-F]{7,64}", ref):
        return short
    return ref if len(ref) <= width else ref[:width - 1] + "…"


def refs_text(r: RequestRecord, width: int = 16) -> str:
    """A comparison about no commit (kind "comparison", sha ""), by its refs, whatever its source:
    "v3 vs v1" (two MLflow versions), "cand.csv vs base.csv" (a local review of two files)."""
    return f"{ref_label(r, r.candidate_ref, width)} vs {ref_label(r, r.baseline_ref, width)}"


def commit_text(r: RequestRecord) -> str:
    """The commit column: the commit's short SHA; for a comparison about no commit, its two refs."""
    if r.kind == "comparison":
        return refs_text(r)
    return r.sha[:7]


def request_text(r: RequestRecord) -> str:
    """The request in words (tooltips, tests, screen readers)."""
    symbol = STATUS_STYLE.get(r.status, ("", "•"))[1]
    sets = f"{len(r.eval_sets)} eval set{'s' if len(r.eval_sets) != 1 else ''}"
    title = r.title.splitlines()[0] if r.title else "(no title)"
    return f"{commit_text(r)}  {symbol} {r.status}\n{title}\n{sets} · {r.description}"


def involvement(service, r: RequestRecord, user: str | None = None) -> list[str]:
    """Why a request is "mine": ["sme", "labeled 12", "decided approve"]; [] when it is not.

    Roles come from the request's own signoff.toml; labels and decisions from the store.
    """
    user = (user or service.user or "").strip().lower()
    if not user:
        return []
    reasons: list[str] = []
    try:
        reasons += [f"you are {role}" for role in service.config(r.id).roles_of(user)]
    except Exception:  # an unreadable signoff.toml: no roles, the request still lists
        pass
    try:
        labels = service.labels_frame(r.id, user=user)
        if labels is not None and len(labels):
            reasons.append(f"you labeled {len(labels):,}")
    except Exception:
        pass
    decided = None
    try:
        decisions = service.decisions(r.id)
        mine = [d for d in decisions if d.user.lower() == user]
        if mine:
            decided = getattr(mine[-1].kind, "value", str(mine[-1].kind))
    except Exception:
        pass
    if decided:
        reasons.append(f"you decided {decided}")
    return reasons


class Inbox(QWidget):
    requestSelected = Signal(int)
    scopeChanged = Signal(str)          # "all" / "mine"
    requestsSet = Signal()              # after set_requests (the queue column is read on a worker then)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.service = None               # set_service(): needed for "mine"
        self._records: list[RequestRecord] = []
        self._mine: dict[int, list[str]] = {}
        self.queue_texts: dict[int, tuple[str, str]] = {}   # request id -> ("me 3/16 · team 40/160", tooltip)
        self.scope = "all"

        self.list = QTreeWidget()
        self.list.setAccessibleName("review requests")
        self.list.setColumnCount(len(COLUMNS))
        self.list.setHeaderLabels(COLUMNS)
        self.list.setRootIsDecorated(False)
        self.list.setUniformRowHeights(True)
        self.list.setAlternatingRowColors(True)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.list.setIconSize(QSize(12, 12))
        self.list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.list.setSortingEnabled(True)
        self.list.sortByColumn(COL["created"], Qt.SortOrder.DescendingOrder)
        header = self.list.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSortIndicatorShown(True)
        for name, width in (("status", 96), ("commit", 66), ("title", 180), ("missing", 230), ("queue", 150),
                            ("model", 120),
                            ("sets", 40), ("created", 118)):
            self.list.setColumnWidth(COL[name], width)

        self.empty = plain_label(EMPTY_TEXT)
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.empty.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.empty.setMargin(8)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.list)
        self.stack.addWidget(self.empty)

        title = plain_label("Inbox")
        f = title.font()
        f.setBold(True)
        title.setFont(f)
        self.count_label = plain_label("")
        self.mine_button = QPushButton("Mine")
        self.all_button = QPushButton("All")
        self.scope_group = QButtonGroup(self)
        self.scope_group.setExclusive(True)
        for b, scope in ((self.mine_button, "mine"), (self.all_button, "all")):
            b.setCheckable(True)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.setAccessibleName(f"show {scope} requests")
            self.scope_group.addButton(b)
            b.clicked.connect(lambda _c=False, s=scope: self.set_scope(s))
        self.mine_button.setToolTip("requests where you hold a role in signoff.toml, or labeled or decided")
        self.all_button.setToolTip("every review request in the store")
        self.all_button.setChecked(True)
        top = QHBoxLayout()
        top.addWidget(title)
        top.addWidget(self.count_label, 1)
        top.addWidget(self.mine_button)
        top.addWidget(self.all_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.stack, 1)
        self._build_sections(layout)
        self.list.currentItemChanged.connect(self._current_changed)
        self._updating = False

    # -- data -------------------------------------------------------------
    def set_service(self, service) -> None:
        """The service whose user "mine" is about (the window sets it)."""
        self.service = service

    def set_requests(self, records: list[RequestRecord], *, keep: int | None = None) -> None:
        """Fill the table; `keep` re-selects that request id without emitting requestSelected."""
        self._records = list(records)
        self._mine = {}
        if self.service is not None:
            for r in self._records:
                self._mine[r.id] = involvement(self.service, r)
        self._fill(keep)
        self._each_section("set_requests", self._records)
        self.requestsSet.emit()

    def _fill(self, keep: int | None) -> None:
        self._updating = True
        try:
            if keep is None:
                keep = self.current_request_id()
            self.list.setSortingEnabled(False)
            self.list.clear()
            shown = [r for r in self._records if self.scope == "all" or self._mine.get(r.id)]
            for r in shown:
                item = SortableItem()
                self._set_item(item, r)
                self.list.addTopLevelItem(item)
            self.list.setSortingEnabled(True)
            for i in range(self.list.topLevelItemCount()):
                item = self.list.topLevelItem(i)
                if keep is not None and item.data(0, RequestIdRole) == keep:
                    self.list.setCurrentItem(item)
            if shown:
                self.stack.setCurrentWidget(self.list)
            else:
                self.empty.setText(EMPTY_MINE_TEXT if self._records else EMPTY_TEXT)
                self.stack.setCurrentWidget(self.empty)
            total = len(self._records)
            self.count_label.setText(f"{len(shown):,} of {total:,}" if len(shown) != total else f"{total:,}")
        finally:
            self._updating = False

    def _set_item(self, item: QTreeWidgetItem, r: RequestRecord) -> None:
        colour, symbol = STATUS_STYLE.get(r.status, ("#999999", "•"))
        created = r.created_at
        if created is not None and created.tzinfo is None:
            created = created.replace(tzinfo=timezone.utc)
        values = {
            "status": r.status if symbol == "●" else f"{symbol} {r.status}",   # the icon is the dot already
            "commit": commit_text(r),
            "model": model_name(r),
            "title": (r.title.splitlines()[0] if r.title else "(no title)"),
            "sets": f"{len(r.eval_sets)}",
            "missing": missing_text(r),
            "created": created.astimezone().strftime("%Y-%m-%d %H:%M") if created else "",
        }
        for name, text in values.items():
            item.setText(COL[name], text)
        item.setIcon(COL["status"], dot_icon(colour))
        item.setData(COL["status"], SortRole, (STATUS_ORDER.get(r.status, 9), r.status))
        item.setData(COL["sets"], SortRole, len(r.eval_sets))
        item.setData(COL["created"], SortRole, created.timestamp() if created else 0.0)
        item.setTextAlignment(COL["sets"], Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        item.setData(0, RequestIdRole, r.id)
        item.setData(0, RecordRole, r)
        why = self._mine.get(r.id) or []
        mine_line = ("yours: " + ", ".join(why)) if why else "not yours (no role, label or decision)"
        about = f"{r.candidate_ref} vs {r.baseline_ref}" if r.kind == "comparison" else r.sha   # a commit, or the refs
        tip = plain_tooltip(f"{about}\n{r.title}\nmodel: {values['model'] or '—'}\nbaseline: {r.baseline_ref}\n"
                            f"status: {r.status} — {r.description}\neval sets: {', '.join(r.eval_sets)}\n"
                            f"{mine_line if self.service is not None else ''}".rstrip())
        for i in range(len(COLUMNS)):
            item.setToolTip(i, tip)
        queue, queue_tip = self.queue_texts.get(r.id, ("", ""))
        item.setText(COL["queue"], queue)
        if queue_tip:
            item.setToolTip(COL["queue"], plain_tooltip(queue_tip))

    def set_queue_texts(self, texts: dict[int, tuple[str, str]]) -> None:
        """The queue column (my done/assigned and the team's), read on a worker."""
        self.queue_texts = dict(texts)
        for i in range(self.list.topLevelItemCount()):
            item = self.list.topLevelItem(i)
            record = item.data(0, RecordRole)
            if record is not None:
                queue, queue_tip = self.queue_texts.get(record.id, ("", ""))
                item.setText(COL["queue"], queue)
                if queue_tip:
                    item.setToolTip(COL["queue"], plain_tooltip(queue_tip))

    def update_status(self, request_id: int, status: str, description: str) -> None:
        """Show a request's live status (after labels or a decision) without reloading the list."""
        self._records = [replace(r, status=status, description=description) if r.id == request_id else r
                         for r in self._records]
        item = self._item(request_id)
        if item is not None:
            record = item.data(0, RecordRole)
            if record is not None:
                self._set_item(item, replace(record, status=status, description=description))

    def set_scope(self, scope: str) -> None:
        """ "mine" or "all" (the toggle above the table)."""
        if scope not in ("mine", "all"):
            raise ValueError(scope)
        (self.mine_button if scope == "mine" else self.all_button).setChecked(True)
        if scope == self.scope:
            return
        self.scope = scope
        if scope == "mine" and self.service is not None and not self._mine:
            self._mine = {r.id: involvement(self.service, r) for r in self._records}
        self._fill(None)
        self.scopeChanged.emit(scope)

    # -- selection --------------------------------------------------------
    def _item(self, request_id: int) -> QTreeWidgetItem | None:
        for i in range(self.list.topLevelItemCount()):
            item = self.list.topLevelItem(i)
            if item.data(0, RequestIdRole) == request_id:
                return item
        return None

    def _current_changed(self, current: QTreeWidgetItem | None, _previous) -> None:
        if current is not None and not self._updating:
            self.requestSelected.emit(int(current.data(0, RequestIdRole)))

    def select(self, request_id: int) -> bool:
        item = self._item(request_id)
        if item is None:
            return False
        self.list.setCurrentItem(item)
        return True

    def current_request_id(self) -> int | None:
        item = self.list.currentItem()
        return None if item is None else int(item.data(0, RequestIdRole))

    def request_ids(self) -> list[int]:
        """The ids in the order shown."""
        return [int(self.list.topLevelItem(i).data(0, RequestIdRole)) for i in range(self.list.topLevelItemCount())]

    def count(self) -> int:
        return self.list.topLevelItemCount()

    def row_text(self, row: int) -> str:
        item = self.list.topLevelItem(row)
        record = item.data(0, RecordRole) if item is not None else None
        return request_text(record) if record is not None else ""

    def column_texts(self, column: str) -> list[str]:
        return [self.list.topLevelItem(i).text(COL[column]) for i in range(self.list.topLevelItemCount())]

    def sort_by(self, column: str, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.list.sortByColumn(COL[column], order)

    # -- the plugins' sections (UI extensions) ---------------------------------------------
    def _build_sections(self, layout: QVBoxLayout) -> None:
        """Each UI extension's section under the table (e.g. the MLflow plugin's versions awaiting
        review): asked of the registry, never named here. One that fails is logged and left out."""
        from signoff.registry import registry

        self.sections: dict[str, QWidget] = {}
        for name, cls in sorted(registry().ui_extensions.items()):
            try:
                section = cls().inbox_section(self)
            except Exception:  # noqa: BLE001 (a broken plugin must not take the inbox down)
                log.exception("UI extension %s: its inbox section failed", name)
                continue
            if section is not None:
                layout.addWidget(section)
                self.sections[name] = section

    def _each_section(self, method: str, *args) -> None:
        for name, section in self.sections.items():
            fn = getattr(section, method, None)
            if fn is None:
                continue
            try:
                fn(*args)
            except Exception:  # noqa: BLE001 (one plugin's section failing leaves the inbox working)
                log.exception("UI extension %s: %s failed", name, method)

    def refresh_sections(self) -> None:
        """The window refreshed (View ▸ Refresh, Settings changed): each section asks again, on its worker."""
        self._each_section("refresh")

    def shutdown(self, wait: float = 3.0) -> None:
        """Stop the sections' background work and wait for it (tests, closing the window)."""
        self._each_section("shutdown", wait)
