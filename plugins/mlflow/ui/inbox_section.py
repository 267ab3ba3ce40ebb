"""The inbox's MLflow section (the MLflow plugin's UI extension, plugins/mlflow/ui/__init__.py).

Below the inbox's table, when Settings lists MLflow tracking servers, a collapsible section
"On MLflow (not opened here yet)": the model versions CI tagged `signoff.status = pending` that
no request in this store is about yet (plugins/mlflow/browse.py `versions_awaiting_review`),
asked for on a worker each time the window refreshes the inbox (`refresh`). A server that cannot
be asked is one quiet line there, never a dialog. Double-clicking a version opens File ▸ Browse
MLflow… on it as the candidate.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QSizePolicy, QToolButton, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from signoff.core.errors import SignoffError
from signoff.ui.extension_sdk import (SortableItem, SortRole, Worker, load_settings, plain_label, plain_tooltip,
                                       run_in_thread)

from ..browse import versions_awaiting_review, version_commits
from ..client import MlflowClient

MLFLOW_TITLE = "On MLflow (not opened here yet)"
MLFLOW_COLUMNS = ["server", "model", "version", "aliases", "commit", "created"]
MLFLOW_COL = {name: i for i, name in enumerate(MLFLOW_COLUMNS)}
AwaitingRole = Qt.ItemDataRole.UserRole + 13


# -- worker side: no widgets ---------------------------------------------------------------------

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


def known_refs(records: list, url: str) -> frozenset[str]:
    """The candidate refs (models:/NAME/VERSION) of the MLflow requests in the store about `url`."""
    return frozenset(r.candidate_ref for r in records if r.source == "mlflow"
                     and _same_server(str((r.locator or {}).get("tracking_uri", "") or url), url))


def fetch_awaiting(servers: list[tuple[str, str, frozenset]], *, task) -> list[tuple[str, str, list, dict, str]]:
    """Per server (name, url, known refs): (name, url, versions awaiting review, run id -> git commit,
    the one-line error or ""). One server that cannot be asked does not hide the others."""
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


class MlflowSection(QWidget):
    """The section under the inbox's table (the inbox calls refresh, set_requests and shutdown)."""

    mlflowListed = Signal(int)          # how many versions the section lists after a refresh

    def __init__(self, inbox):
        super().__init__(inbox)
        self.inbox = inbox                 # its service and requestSelected
        self._records: list = []
        self.settings = None               # None: read Settings from disk at each refresh
        self.mlflow_browser = None         # the Browse MLflow dialog a row opened
        self._awaiting: list[tuple[str, str, object, str]] = []    # (server name, url, VersionInfo, commit)
        self._mlflow_errors: list[str] = []
        self._mlflow_worker: Worker | None = None
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
        sl = QVBoxLayout(self)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addLayout(head)
        sl.addWidget(self.mlflow_body)
        self.hide()                        # until Settings lists a server


    @property
    def service(self):
        return self.inbox.service

    def set_requests(self, records) -> None:
        """A version that has become a request here leaves the section."""
        self._records = list(records)
        self._fill_mlflow()

    def refresh(self) -> None:
        """Ask each MLflow server in Settings, on a worker, for the versions awaiting review
        that no request here is about; the section is hidden while Settings lists none."""
        try:
            settings = self.settings if self.settings is not None else load_settings()
            servers = mlflow_servers(settings)
        except Exception:  # noqa: BLE001 (unreadable settings: no section, the inbox still works)
            servers = []
        self._stop_mlflow()
        if not servers:
            self._awaiting, self._mlflow_errors = [], []
            self.hide()
            return
        self.show()
        self._mlflow_token += 1
        token = self._mlflow_token
        jobs = [(name, url, known_refs(self._records, url)) for name, url in servers]
        if not self._awaiting and not self._mlflow_errors:
            self._set_mlflow_note(f"asking {len(servers)} MLflow server{'s' if len(servers) != 1 else ''}…")
        self._mlflow_worker = run_in_thread(
            fetch_awaiting, jobs, with_task=True,
            on_finished=lambda result, t=token: self._mlflow_listed(t, result),
            on_failed=lambda message, _details, t=token: self._mlflow_listed(t, [("MLflow", "", [], {}, message)]))

    def _stop_mlflow(self) -> None:
        if self._mlflow_worker is not None and self._mlflow_worker.is_running:
            self._mlflow_worker.cancel()
        self._mlflow_worker = None

    def shutdown(self, wait: float = 3.0) -> None:
        """Cancel the refresh and wait for its thread (tests, closing the window)."""
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
        if self.isHidden():
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
        from .browser import MlflowBrowser

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
        dialog.requestCreated.connect(self.inbox.requestSelected.emit)
        dialog.preselect(url, version.model, version.version)
        self.mlflow_browser = dialog
        dialog.open()
        return dialog
