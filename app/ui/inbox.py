"""The inbox: review requests as a sortable table, all of them or only mine.

Columns: status, commit, title, what is still missing, model, eval sets,
created. Click a header to sort (again to reverse); newest first by default.
"Mine" keeps the requests where you hold a role in the request's policy or
have labeled or decided something; the tooltip says which.

The involvement of each request is worked out by `involvement()` (plain
Python over the ReviewService contract) when the list is filled.

Below the table, when Settings lists MLflow tracking servers, a collapsible
section "On MLflow (not opened here yet)": the model versions CI tagged
`signoff.status = pending` that no request in this store is about yet
(plugins/mlflow/browse.py `versions_awaiting_review`), asked for on a worker
each time the window refreshes the inbox (`refresh_mlflow`). A server that
cannot be asked is one quiet line there, never a dialog. Double-clicking a
version opens File ▸ Browse MLflow… on it as the candidate.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timezone

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QButtonGroup, QHBoxLayout, QHeaderView, QPushButton, QSizePolicy,
                               QStackedWidget, QToolButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from signoff.core.errors import SignoffError
from signoff.store.records import RequestRecord
from signoff.ui import workers
from signoff.ui.diff_view import plain_label, plain_tooltip
from signoff.ui.palette import STATUS_STYLE
from signoff.ui.sortable import SortableItem, SortRole  # noqa: F401  (SortRole: re-exported for older imports)

EMPTY_TEXT = ("No review requests yet.\n\n"
              "CI creates one for a commit with:\n"
              "  signoff request --sha <commit>\n\n"
              "To try Signoff on sample data:\n"
              "  signoff demo")
EMPTY_MINE_TEXT = ("Nothing for you here: no open request lists you in its signoff.toml [roles], "
                   "and you have not labeled or decided any.\n\nClick “All” to see every request.")

RequestIdRole = Qt.ItemDataRole.UserRole + 10
RecordRole = Qt.ItemDataRole.UserRole + 11
AwaitingRole = Qt.ItemDataRole.UserRole + 13

COLUMNS = ["status", "commit", "title", "missing", "queue", "model", "sets", "created"]   # queue: app/ui/team_queue.py
COL = {name: i for i, name in enumerate(COLUMNS)}
STATUS_ORDER = {"rejected": 0, "pending": 1, "approved": 2}
MLFLOW_TITLE = "On MLflow (not opened here yet)"
MLFLOW_COLUMNS = ["server", "model", "version", "aliases", "commit", "created"]
MLFLOW_COL = {name: i for i, name in enumerate(MLFLOW_COLUMNS)}


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


_VERSION_REF = re.compile(r"^models:/(?P<model>[^/@]+)(?:/(?P<version>[^/@\s]+)|@(?P<alias>[^/\s]+))$")


def _version_ref(ref: str) -> tuple[str, str]:
    """("digits", "v3") for models:/digits/3, ("digits", "@champion") for an alias; ("", "") otherwise."""
    m = _VERSION_REF.match((ref or "").strip())
    if not m:
        return "", ""
    return m["model"], (f"v{m['version']}" if m["version"] else f"@{m['alias']}")


def _short_ref(ref: str) -> str:
    ref = (ref or "").strip()
    _model, version = _version_ref(ref)
    if version:
        return version
    if ref.startswith("runs:/"):
        return f"run {ref[6:13]}"
    return ref[:7]


def model_name(r: RequestRecord) -> str:
    """The model a request is about: the registered MLflow model, else the project's name in
    signoff.toml. For an MLflow request the candidate version follows ("digits-classifier v2")."""
    try:
        import tomllib

        data = tomllib.loads(r.config_toml or "")
    except Exception:
        data = {}
    mlflow = data.get("mlflow") if isinstance(data.get("mlflow"), dict) else {}
    project = data.get("project") if isinstance(data.get("project"), dict) else {}
    name = str(mlflow.get("model") or project.get("name") or "")
    if r.source != "mlflow":
        return name
    ref_model, version = _version_ref(r.candidate_ref)
    name = name or str((r.locator or {}).get("model") or "") or ref_model
    return f"{name} {version}".strip() if version and (not name or name == ref_model) else name


def commit_text(r: RequestRecord) -> str:
    """The commit column: the commit's short SHA; for a comparison about no commit (e.g. opened
    by browsing MLflow, kind "comparison"), its two refs: "v3 vs v1"."""
    if r.kind == "comparison":
        return f"{_short_ref(r.candidate_ref)} vs {_short_ref(r.baseline_ref)}"
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


# -- MLflow versions awaiting review (worker side: no widgets) ---------------------------------

def mlflow_servers(settings) -> list[tuple[str, str]]:
    """(name, url) of Settings ▸ Connections ▸ MLflow tracking servers."""
    out = []
    for entry in (settings.get("connections.mlflow_servers") if settings is not None else None) or []:
        url = str(entry.get("url", "")).strip() if isinstance(entry, dict) else ""
        if url:
            out.append((str(entry.get("name", "") or url), url))
    return out


def _same_server(a: str, b: str) -> bool:
    return (a or "").strip().rstrip("/") == (b or "").strip().rstrip("/")


def known_refs(records: list[RequestRecord], url: str) -> frozenset[str]:
    """The candidate refs (models:/NAME/VERSION) of the MLflow requests in the store about `url`."""
    return frozenset(r.candidate_ref for r in records if r.source == "mlflow"
                     and _same_server(str((r.locator or {}).get("tracking_uri", "") or url), url))


def fetch_awaiting(servers: list[tuple[str, str, frozenset]], *, task) -> list[tuple[str, str, list, dict, str]]:
    """Per server (name, url, known refs): (name, url, versions awaiting review, run id -> git commit,
    the one-line error or ""). One server that cannot be asked does not hide the others."""
    from signoff.plugins.mlflow import MlflowClient, version_commits, versions_awaiting_review

    out = []
    for i, (name, url, known) in enumerate(servers):
        task.check()
        task.report(f"asking {name} for versions awaiting review…", i / max(1, len(servers)))
        try:
            with MlflowClient(url) as client:
                versions = versions_awaiting_review(url, known_refs=known, client=client)
                commits = version_commits(url, versions, client=client)
        except SignoffError as exc:
            out.append((name, url, [], {}, " ".join(str(exc).split())))
        except Exception as exc:  # noqa: BLE001 (a quiet line, not a dead section)
            out.append((name, url, [], {}, f"{type(exc).__name__}: {exc}"))
        else:
            out.append((name, url, versions, commits, ""))
    return out


class Inbox(QWidget):
    requestSelected = Signal(int)
    scopeChanged = Signal(str)          # "all" / "mine"
    mlflowListed = Signal(int)          # how many versions the MLflow section lists after a refresh
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
        self._build_mlflow_section(layout)
        self.list.currentItemChanged.connect(self._current_changed)
        self._updating = False

    def _build_mlflow_section(self, layout: QVBoxLayout) -> None:
        self.settings = None               # None: read Settings from disk at each refresh
        self.mlflow_browser = None         # the Browse MLflow dialog a row opened
        self._awaiting: list[tuple[str, str, object, str]] = []    # (server name, url, VersionInfo, commit)
        self._mlflow_errors: list[str] = []
        self._mlflow_worker: workers.Worker | None = None
        self._mlflow_token = 0

        self.mlflow_toggle = QToolButton()
        self.mlflow_toggle.setText(MLFLOW_TITLE)
        self.mlflow_toggle.setCheckable(True)
        self.mlflow_toggle.setChecked(True)
        self.mlflow_toggle.setAutoRaise(True)
        self.mlflow_toggle.setArrowType(Qt.ArrowType.DownArrow)
        self.mlflow_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.mlflow_toggle.setAccessibleName("show MLflow versions awaiting review")
        self.mlflow_toggle.setToolTip("model versions CI tagged signoff.status = pending on the MLflow servers in "
                                      "Settings, with no review request here yet")
        self.mlflow_toggle.toggled.connect(self._mlflow_toggled)
        self.mlflow_count = plain_label("")
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.mlflow_toggle)
        head.addWidget(self.mlflow_count, 1)

        self.mlflow_list = QTreeWidget()
        self.mlflow_list.setAccessibleName("MLflow versions awaiting review")
        self.mlflow_list.setColumnCount(len(MLFLOW_COLUMNS))
        self.mlflow_list.setHeaderLabels(MLFLOW_COLUMNS)
        self.mlflow_list.setRootIsDecorated(False)
        self.mlflow_list.setUniformRowHeights(True)
        self.mlflow_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.mlflow_list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.mlflow_list.setMaximumHeight(150)
        for name, width in (("server", 90), ("model", 150), ("version", 56), ("aliases", 90), ("commit", 66)):
            self.mlflow_list.setColumnWidth(MLFLOW_COL[name], width)
        self.mlflow_list.itemActivated.connect(lambda item, _col: self.open_awaiting(item))
        self.mlflow_note = plain_label("")
        self.mlflow_note.setAccessibleName("MLflow servers")
        self.mlflow_note.setProperty("tone", "muted")   # resources/themes
        # One line however long the message: it never widens the pane (the tooltip has it whole).
        self.mlflow_note.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.mlflow_body = QWidget()
        bl = QVBoxLayout(self.mlflow_body)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(self.mlflow_list)
        bl.addWidget(self.mlflow_note)
        self.mlflow_section = QWidget()
        sl = QVBoxLayout(self.mlflow_section)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addLayout(head)
        sl.addWidget(self.mlflow_body)
        self.mlflow_section.hide()         # until Settings lists a server
        layout.addWidget(self.mlflow_section)

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
        self._fill_mlflow()     # a version that has become a request here leaves the MLflow section
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
        tip = plain_tooltip(f"{r.sha}\n{r.title}\nmodel: {values['model'] or '—'}\nbaseline: {r.baseline_ref}\n"
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

    # -- MLflow versions awaiting review -------------------------------------------------
    def refresh_mlflow(self) -> None:
        """Ask each MLflow server in Settings, on a worker, for the versions awaiting review
        that no request here is about; the section is hidden while Settings lists none."""
        from signoff.settings import load_settings

        try:
            settings = self.settings if self.settings is not None else load_settings()
            servers = mlflow_servers(settings)
        except Exception:  # noqa: BLE001 (unreadable settings: no section, the inbox still works)
            servers = []
        self._stop_mlflow()
        if not servers:
            self._awaiting, self._mlflow_errors = [], []
            self.mlflow_section.hide()
            return
        self.mlflow_section.show()
        self._mlflow_token += 1
        token = self._mlflow_token
        jobs = [(name, url, known_refs(self._records, url)) for name, url in servers]
        if not self._awaiting and not self._mlflow_errors:
            self._set_mlflow_note(f"asking {len(servers)} MLflow server{'s' if len(servers) != 1 else ''}…")
        self._mlflow_worker = workers.run_in_thread(
            fetch_awaiting, jobs, with_task=True,
            on_finished=lambda result, t=token: self._mlflow_listed(t, result),
            on_failed=lambda message, _details, t=token: self._mlflow_listed(t, [("MLflow", "", [], {}, message)]))

    def _stop_mlflow(self) -> None:
        if self._mlflow_worker is not None and self._mlflow_worker.is_running:
            self._mlflow_worker.cancel()
        self._mlflow_worker = None

    def shutdown(self, wait: float = 3.0) -> None:
        """Cancel the MLflow refresh and wait for its thread (tests, closing the window)."""
        worker, self._mlflow_worker = self._mlflow_worker, None
        self._mlflow_token += 1
        if worker is not None:
            worker.cancel()
            worker.wait(wait)
        if self.mlflow_browser is not None:
            self.mlflow_browser.shutdown(wait)

    def _mlflow_listed(self, token: int, result) -> None:
        if token != self._mlflow_token:
            return                      # a later refresh is on its way
        self._mlflow_worker = None
        self._awaiting = [(name, url, v, commits.get(v.run_id, "")) for name, url, versions, commits, _e in result
                          for v in versions]
        self._mlflow_errors = [f"{name}: {error}" if name not in error else error
                               for name, _url, _v, _c, error in result if error]
        self._fill_mlflow()
        self.mlflowListed.emit(self.mlflow_list.topLevelItemCount())

    def _fill_mlflow(self) -> None:
        if self.mlflow_section.isHidden():
            return
        known = {url: known_refs(self._records, url) for url in {url for _n, url, _v, _c in self._awaiting}}
        shown = [(n, url, v, c) for n, url, v, c in self._awaiting if v.ref not in known[url]]
        self.mlflow_list.setSortingEnabled(False)
        self.mlflow_list.clear()
        for name, url, v, commit in shown:
            created = v.created.astimezone().strftime("%Y-%m-%d %H:%M") if v.created else ""
            item = SortableItem([name, v.model, f"v{v.version}", ", ".join(f"@{a}" for a in v.aliases),
                                 commit[:7], created])
            item.setData(MLFLOW_COL["version"], SortRole, int(v.version) if v.version.isdigit() else 0)
            item.setData(MLFLOW_COL["created"], SortRole, v.created.timestamp() if v.created else 0.0)
            item.setData(0, AwaitingRole, (name, url, v))
            tags = ", ".join(f"{k}={val}" for k, val in sorted(v.tags.items()) if not k.startswith("mlflow."))
            tip = plain_tooltip("\n".join(x for x in (f"{v.ref} on {name} ({url})", f"run {v.run_id}",
                                                       f"commit {commit or '—'}", tags,
                                                       "double-click: Browse MLflow on this version") if x))
            for col in range(len(MLFLOW_COLUMNS)):
                item.setToolTip(col, tip)
            self.mlflow_list.addTopLevelItem(item)
        self.mlflow_list.setSortingEnabled(True)
        self.mlflow_list.sortByColumn(MLFLOW_COL["created"], Qt.SortOrder.DescendingOrder)
        self.mlflow_count.setText(f"{len(shown):,}" if shown else "")
        self.mlflow_list.setVisible(bool(shown))
        if self._mlflow_errors:
            self._set_mlflow_note(" · ".join(self._mlflow_errors))
        elif not shown:
            self._set_mlflow_note("no version is awaiting review there")
        else:
            self._set_mlflow_note("")

    def _set_mlflow_note(self, text: str) -> None:
        self.mlflow_note.setText(text)
        self.mlflow_note.setToolTip(plain_tooltip(text) if text else "")
        self.mlflow_note.setVisible(bool(text))

    def _mlflow_toggled(self, shown: bool) -> None:
        self.mlflow_toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.mlflow_body.setVisible(shown)

    @property
    def mlflow_busy(self) -> bool:
        """The servers are being asked (a refresh is on its way)."""
        return self._mlflow_worker is not None

    @property
    def mlflow_note_text(self) -> str:
        return "" if self.mlflow_note.isHidden() else self.mlflow_note.text()

    def awaiting_rows(self) -> list[dict[str, str]]:
        """What the MLflow section lists, row by row (tests, screen readers)."""
        tree = self.mlflow_list
        return [{c: tree.topLevelItem(i).text(j) for j, c in enumerate(MLFLOW_COLUMNS)}
                for i in range(tree.topLevelItemCount())]

    def open_awaiting(self, item: QTreeWidgetItem | int = 0):
        """File ▸ Browse MLflow… on that row's server and model, its version the candidate; the
        request it creates is opened like one chosen in the table (requestSelected)."""
        from signoff.ui.mlflow_browser import MlflowBrowser

        if isinstance(item, int):
            item = self.mlflow_list.topLevelItem(item)
        data = item.data(0, AwaitingRole) if item is not None else None
        if data is None or self.service is None:
            return None
        _name, url, version = data
        if self.mlflow_browser is not None:
            self.mlflow_browser.shutdown()
            self.mlflow_browser.close()
        dialog = MlflowBrowser(self.service, self.window(), settings=self.settings)
        dialog.requestCreated.connect(self.requestSelected.emit)
        dialog.preselect(url, version.model, version.version)
        self.mlflow_browser = dialog
        dialog.open()
        return dialog
