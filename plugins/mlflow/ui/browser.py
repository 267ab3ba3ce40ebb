"""File ▸ Browse MLflow…: a tracking server's registered models and their
versions, and a review request comparing any two versions (not only the one
CI asked for).

    server [prod — https://mlflow…  ▾] URL [………………] [List models] [Save server] [Token…]
    models: filter [……]                 versions of the chosen model
    name · latest · aliases · updated   version · aliases · status · run · commit · created · user · tags
    candidate [v2 ▾]  ⇄  baseline [v1 ▾]                             [Open comparison]
    policy [/ci/checkout/signoff.toml……………]  [File…] [Repository…]
    what the policy line means (look-only when empty)
    ▓▓▓ listing the versions…  [Cancel]
    one line saying what went wrong, if anything

The servers come from Settings (`connections.mlflow_servers`) and
MLFLOW_TRACKING_URI; a URL typed here is used as it is, and "Save server"
keeps it in the settings. Every call to the server runs on a worker
(signoff.ui.workers) with a busy bar and Cancel, through the Qt-free
plugins/mlflow/browse.py; the window never waits on the network. Whatever
goes wrong (server down, 401/403, unknown model, a run with no predictions)
is one message inside the dialog, which stays usable. Credentials are the
MLflow client's own (keyring token for the host, MLFLOW_TRACKING_TOKEN,
username/password); "Token…" stores a bearer token for the server's host in
the OS keyring.

The policy of the comparison is the server's in Settings (`connections.mlflow_servers[].policy`:
a signoff.toml from a checkout of the default branch, or the model's git repository, read at
its default branch), or one chosen here; never the candidate run's own signoff.toml. With
none the comparison opens look-only (plugins/mlflow/browse.py LOOK_ONLY_POLICY) and the
dialog says so: it can never be approved and posts nothing to MLflow or a forge.

"Open comparison" runs `source_for_versions` and `service.create_request`
on a worker, then emits `requestCreated(id)` and closes; the window refreshes
its inbox and opens the request.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from urllib.parse import urlsplit

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFrame, QHBoxLayout,
                               QHeaderView, QInputDialog, QLineEdit, QProgressBar, QPushButton, QSplitter,
                               QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from signoff.core.errors import SignoffError
from signoff.ui.extension_sdk import SortableItem, SortRole, Worker, plain_label, plain_tooltip, run_in_thread, set_tone

log = logging.getLogger(__name__)

ENV_TRACKING_URI = "MLFLOW_TRACKING_URI"
ENV_TOKEN = "MLFLOW_TRACKING_TOKEN"
MODEL_COLUMNS = ["name", "latest", "aliases", "updated"]
VERSION_COLUMNS = ["version", "aliases", "status", "run", "commit", "created", "user", "tags"]
VersionRole = Qt.ItemDataRole.UserRole + 20
NO_SERVER_TEXT = ("No MLflow server in Settings yet: type its URL (e.g. http://mlflow.example.com:5000) and press "
                  "Enter; “Save server” keeps it.")


# -- worker side: no widgets ------------------------------------------------------------------

def fetch_models(url: str, *, task) -> tuple[list, str]:
    """(the server's registered models, where the credentials came from)."""
    from signoff.plugins.mlflow import MlflowClient, list_models

    task.report(f"listing the registered models on {url}…", None)
    with MlflowClient(url) as client:
        models = list_models(url, client=client)
        return models, client.credentials.source


def fetch_versions(url: str, model: str, *, task) -> tuple[list, dict[str, str]]:
    """(the versions of `model`, newest first; run id -> git commit of its run)."""
    from signoff.plugins.mlflow import MlflowClient, list_versions, version_commits

    task.report(f"listing the versions of {model}…", None)
    with MlflowClient(url) as client:
        versions = list_versions(url, model, client=client)
        task.check()
        return versions, version_commits(url, versions, client=client, task=task)


def create_comparison(service, url: str, model: str, candidate: str, baseline: str, policy: str = "", *,
                      task) -> int:
    """The new review request's id: version `candidate` against version `baseline`, judged by the
    policy at `policy` (a signoff.toml file or a git repository); "" opens it look-only."""
    from signoff.plugins.mlflow import source_for_versions

    task.report(f"reading the policy from {policy}…" if policy else
                f"listing what {model} version {candidate} logged (look-only: no policy)…", None)
    comparison = source_for_versions(url, model, candidate, baseline, policy=policy)
    task.check()
    return service.create_request(**comparison.request_kwargs(), task=task).id


def _when(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M") if value is not None else ""


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else (parts.hostname or url)


def _tree(columns: list[str], name: str) -> QTreeWidget:
    tree = QTreeWidget()
    tree.setAccessibleName(name)
    tree.setColumnCount(len(columns))
    tree.setHeaderLabels(columns)
    tree.setRootIsDecorated(False)
    tree.setUniformRowHeights(True)
    tree.setAlternatingRowColors(True)
    tree.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    tree.setTextElideMode(Qt.TextElideMode.ElideRight)
    tree.header().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    tree.header().setStretchLastSection(True)
    return tree


class MlflowBrowser(QDialog):
    modelsListed = Signal(int)            # how many models the server has
    versionsListed = Signal(str, int)     # model, how many versions
    requestCreated = Signal(int)          # the new review request's id
    failed = Signal(str)                  # the message shown in the dialog
    busyChanged = Signal(bool)

    def __init__(self, service, parent: QWidget | None = None, *, settings=None):
        super().__init__(parent)
        from signoff.ui.extension_sdk import load_settings

        self.setWindowTitle("Browse MLflow")
        self.service = service
        self.settings = settings if settings is not None else load_settings()
        self.url = ""                      # the server the lists are from
        self.model = ""                    # the model whose versions are listed
        self.versions: list = []
        self._worker: Worker | None = None
        self._token = 0
        self._busy = False
        self._preselected: tuple[str, str] | None = None   # (model, version) to choose once listed

        # Server row.
        self.server_combo = QComboBox()
        self.server_combo.setAccessibleName("MLflow server")
        self.server_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.url_edit = QLineEdit()
        self.url_edit.setAccessibleName("tracking URL")
        self.url_edit.setPlaceholderText("http://mlflow.example.com:5000")
        self.url_edit.returnPressed.connect(self.list_models)
        self.list_button = QPushButton("List models")
        self.list_button.clicked.connect(self.list_models)
        self.save_button = QPushButton("Save server")
        self.save_button.setToolTip("keep this URL in Settings ▸ Connections ▸ MLflow tracking servers")
        self.save_button.clicked.connect(self.save_server)
        self.token_button = QPushButton("Token…")
        self.token_button.setToolTip("store a bearer token for this server's host in the OS keyring")
        self.token_button.clicked.connect(self.ask_token)
        server_row = QHBoxLayout()
        server_row.addWidget(plain_label("server:"))
        server_row.addWidget(self.server_combo)
        server_row.addWidget(self.url_edit, 1)
        server_row.addWidget(self.list_button)
        server_row.addWidget(self.save_button)
        server_row.addWidget(self.token_button)
        self.server_note = plain_label("")
        self.server_note.setWordWrap(True)

        # Models | versions.
        self.filter_edit = QLineEdit()
        self.filter_edit.setAccessibleName("filter models")
        self.filter_edit.setPlaceholderText("filter models by name or alias")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self._apply_filter)
        self.models_tree = _tree(MODEL_COLUMNS, "registered models")
        self.models_tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.models_tree.setSortingEnabled(True)
        self.models_tree.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        for col, width in zip(range(3), (170, 48, 120)):
            self.models_tree.setColumnWidth(col, width)
        self.models_tree.currentItemChanged.connect(self._model_chosen)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.filter_edit)
        ll.addWidget(self.models_tree, 1)

        self.versions_title = plain_label("Choose a model to list its versions.")
        self.versions_tree = _tree(VERSION_COLUMNS, "model versions")
        self.versions_tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.versions_tree.setSortingEnabled(True)
        self.versions_tree.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        for col, width in zip(range(7), (60, 90, 70, 70, 70, 118, 130)):
            self.versions_tree.setColumnWidth(col, width)
        self.versions_tree.itemSelectionChanged.connect(self._versions_selected)
        self.versions_tree.setToolTip("select two versions to compare them (the newer is the candidate)")
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.versions_title)
        rl.addWidget(self.versions_tree, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setSizes([460, 700])

        # Candidate / baseline.
        self.candidate_combo = QComboBox()
        self.candidate_combo.setAccessibleName("candidate version")
        self.baseline_combo = QComboBox()
        self.baseline_combo.setAccessibleName("baseline version")
        for combo in (self.candidate_combo, self.baseline_combo):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(16)
            combo.currentIndexChanged.connect(lambda _i: self._update_buttons())
        self.swap_button = QPushButton("⇄")
        self.swap_button.setToolTip("swap candidate and baseline")
        self.swap_button.setAccessibleName("swap candidate and baseline")
        self.swap_button.clicked.connect(self.swap)
        self.swap_button.setFixedWidth(self.swap_button.fontMetrics().horizontalAdvance("⇄") + 28)
        self.open_button = QPushButton("Open comparison")
        self.open_button.setDefault(True)
        self.open_button.setToolTip("a review request comparing the two versions; it opens in the window")
        self.open_button.clicked.connect(self.open_comparison)
        pick_row = QHBoxLayout()
        pick_row.addWidget(plain_label("candidate:"))
        pick_row.addWidget(self.candidate_combo)
        pick_row.addWidget(self.swap_button)
        pick_row.addWidget(plain_label("baseline:"))
        pick_row.addWidget(self.baseline_combo)
        pick_row.addStretch(1)
        pick_row.addWidget(self.open_button)

        # The policy: the server's in Settings, or chosen here; none: look-only.
        self.policy_edit = QLineEdit()
        self.policy_edit.setAccessibleName("policy")
        self.policy_edit.setPlaceholderText("signoff.toml from a checkout of the default branch, or the model's git "
                                            "repository (none: look-only)")
        self.policy_edit.setClearButtonEnabled(True)
        self.policy_edit.textChanged.connect(lambda _t: self._show_policy())
        self.policy_file_button = QPushButton("File…")
        self.policy_file_button.setToolTip("a signoff.toml from a checkout of the default branch")
        self.policy_file_button.clicked.connect(self._choose_policy_file)
        self.policy_repo_button = QPushButton("Repository…")
        self.policy_repo_button.setToolTip("the model's git repository: signoff.toml is read at its default branch")
        self.policy_repo_button.clicked.connect(self._choose_policy_repo)
        policy_row = QHBoxLayout()
        policy_row.addWidget(plain_label("policy:"))
        policy_row.addWidget(self.policy_edit, 1)
        policy_row.addWidget(self.policy_file_button)
        policy_row.addWidget(self.policy_repo_button)
        self.policy_note = plain_label("")
        self.policy_note.setWordWrap(True)
        self.policy_note.setAccessibleName("policy note")

        # Busy row and the message.
        self.busy_label = plain_label("")
        self.busy_bar = QProgressBar()
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setMaximumWidth(200)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.busy_row = QWidget()
        br = QHBoxLayout(self.busy_row)
        br.setContentsMargins(0, 0, 0, 0)
        br.addWidget(self.busy_label, 1)
        br.addWidget(self.busy_bar)
        br.addWidget(self.cancel_button)
        self.busy_row.hide()
        self.error_frame = QFrame()
        self.error_frame.setFrameShape(QFrame.Shape.StyledPanel)
        self.error_frame.setStyleSheet("QFrame { border-left: 4px solid #D55E00; }")
        self.error_label = plain_label("")
        self.error_label.setStyleSheet("border: none;")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setAccessibleName("problem")
        el = QHBoxLayout(self.error_frame)
        el.setContentsMargins(8, 4, 8, 4)
        el.addWidget(self.error_label, 1)
        self.error_frame.hide()

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(server_row)
        lay.addWidget(self.server_note)
        lay.addWidget(self.splitter, 1)
        lay.addLayout(pick_row)
        lay.addLayout(policy_row)
        lay.addWidget(self.policy_note)
        lay.addWidget(self.busy_row)
        lay.addWidget(self.error_frame)
        lay.addWidget(buttons)
        self.resize(1180, 600)

        self._show_policy()
        self._fill_servers()
        self.server_combo.currentIndexChanged.connect(self._server_chosen)
        self._update_buttons()
        if self.server_combo.count():
            self._server_chosen(self.server_combo.currentIndex())

    # -- servers ------------------------------------------------------------------------
    def servers(self) -> list[tuple[str, str]]:
        """(name, url) of the servers in Settings, then MLFLOW_TRACKING_URI when it is another."""
        out = []
        for entry in self.settings.get("connections.mlflow_servers") or []:
            url = str(entry.get("url", "")).strip()
            if url:
                out.append((str(entry.get("name", "") or url), url))
        env = os.environ.get(ENV_TRACKING_URI, "").strip()
        if env and all(url.rstrip("/") != env.rstrip("/") for _, url in out):
            out.append((ENV_TRACKING_URI, env))
        return out

    def _fill_servers(self, select_url: str = "") -> None:
        self.server_combo.blockSignals(True)
        self.server_combo.clear()
        for name, url in self.servers():
            self.server_combo.addItem(name if name == url else f"{name} — {url}", url)
        if select_url:
            i = self.server_combo.findData(select_url)
            if i >= 0:
                self.server_combo.setCurrentIndex(i)
        self.server_combo.blockSignals(False)
        self.server_combo.setVisible(self.server_combo.count() > 0)
        if not self.server_combo.count():
            self.server_note.setText(NO_SERVER_TEXT)

    def _server_chosen(self, index: int) -> None:
        url = self.server_combo.itemData(index) if index >= 0 else None
        if url:
            self.url_edit.setText(url)
            self.list_models()

    def preselect(self, url: str, model: str, version: str) -> None:
        """Open on this server with `model` chosen and `version` as the candidate (the inbox's
        "On MLflow" rows); the baseline is `champion`, else the version before."""
        self._preselected = (model, str(version))
        i = self.server_combo.findData(url)
        self.server_combo.blockSignals(True)
        if i >= 0:
            self.server_combo.setCurrentIndex(i)
        self.server_combo.blockSignals(False)
        self.url_edit.setText(url)
        self.list_models()

    def _apply_preselected(self, model: str = "") -> None:
        if self._preselected is None:
            return
        want, version = self._preselected
        if not model:                                   # the models are listed: choose the model
            if not self.select_model(want):
                self._preselected = None
                self.show_error(f"No registered model '{want}' on {self.url} any more")
            return
        if model != want:
            return
        self._preselected = None
        numbers = [v.version for v in self.versions]
        if version not in numbers:
            self.show_error(f"Model '{model}' has no version {version} on {self.url} any more")
            return
        champion = next((v.version for v in self.versions if "champion" in v.aliases), "")
        older = [n for n in numbers if n.isdigit() and version.isdigit() and int(n) < int(version)]
        others = [n for n in numbers if n != version]
        self.choose(version, champion if champion and champion != version else (older or others or [""])[0])
        for i in range(self.versions_tree.topLevelItemCount()):
            item = self.versions_tree.topLevelItem(i)
            if str(item.data(0, VersionRole)) == version:
                self.versions_tree.blockSignals(True)
                self.versions_tree.setCurrentItem(item)
                self.versions_tree.blockSignals(False)
                self.versions_tree.scrollToItem(item)

    def current_url(self) -> str:
        return self.url_edit.text().strip()

    def _checked_url(self) -> str | None:
        from signoff.plugins.mlflow.client import normalise_tracking_uri

        try:
            return normalise_tracking_uri(self.current_url())
        except SignoffError as exc:
            self.show_error(str(exc))
            return None

    def save_server(self) -> bool:
        """Keep the typed URL in Settings ▸ Connections (named by its host)."""
        url = self._checked_url()
        if url is None:
            return False
        servers = self.settings.get("connections.mlflow_servers") or []
        policy = self.policy()
        known = next((s for s in servers if str(s.get("url", "")).rstrip("/") == url), None)
        if known is not None and str(known.get("policy", "") or "") == policy:
            self.server_note.setText(f"{url} is in Settings already.")
            return True
        if known is not None:
            if policy:
                known["policy"] = policy
            else:
                known.pop("policy", None)
        else:
            servers.append({"name": _host(url), "url": url, **({"policy": policy} if policy else {})})
        self.settings.set("connections.mlflow_servers", servers)
        try:
            self.settings.save()
        except OSError as exc:
            self.show_error(f"Server not saved: {exc.strerror or exc} ({self.settings.path})")
            return False
        self._fill_servers(select_url=url)
        name = known.get("name", _host(url)) if known is not None else _host(url)
        self.server_note.setText(f"Saved {url} in Settings as “{name}”" + (f" with the policy {policy}." if policy else "."))
        return True

    # -- the policy ---------------------------------------------------------------------
    def configured_policy(self, url: str) -> str:
        """The policy Settings names for the server at `url` ("" when none)."""
        for entry in self.settings.get("connections.mlflow_servers") or []:
            if str(entry.get("url", "")).strip().rstrip("/") == url.rstrip("/"):
                return str(entry.get("policy", "") or "").strip()
        return ""

    def policy(self) -> str:
        return self.policy_edit.text().strip()

    @property
    def look_only(self) -> bool:
        """Open comparison makes a look-only review (no policy given)."""
        return not self.policy()

    def _show_policy(self) -> None:
        from signoff.plugins.mlflow.browse import LOOK_ONLY_NOTE

        if self.look_only:
            self.policy_note.setText("Look-only. " + LOOK_ONLY_NOTE + " (Settings ▸ Connections ▸ MLflow tracking "
                                     "servers ▸ policy, or File…/Repository… here.)")
            set_tone(self.policy_note, "warn")
        else:
            self.policy_note.setText(f"The policy is {self.policy()}: its signoff.toml (at the default branch, for "
                                     f"a repository) judges the comparison; the candidate run's own is never read.")
            set_tone(self.policy_note, "")

    def _choose_policy_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "signoff.toml from the default branch", "", "signoff.toml (*.toml)")
        if path:
            self.policy_edit.setText(path)

    def _choose_policy_repo(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "The model's git repository")
        if path:
            self.policy_edit.setText(path)

    # -- token --------------------------------------------------------------------------
    def ask_token(self) -> None:
        url = self._checked_url()
        if url is None:
            return
        token, ok = QInputDialog.getText(self, "MLflow token", f"A bearer token for {_host(url)} "
                                         f"(kept in the OS keyring, never shown):", QLineEdit.EchoMode.Password)
        if ok and token.strip():
            self.save_token(token)

    def save_token(self, token: str) -> bool:
        """Store a bearer token for the server's host in the OS keyring, then list its models again."""
        from signoff.credentials import CredentialError, keyring_unavailable, store_token

        from ..auth import KEYRING_SPEC

        url = self._checked_url()
        if url is None:
            return False
        instead = f"set {ENV_TOKEN} in the environment before starting Signoff instead"
        problem = keyring_unavailable()
        if problem:
            self.show_error(f"Token not saved: {problem}; {instead}.")
            return False
        try:
            store_token(KEYRING_SPEC, url, token)
        except CredentialError as exc:
            self.show_error(f"Token not saved: {exc}".split("; set ")[0] + f"; {instead}.")
            return False
        self.server_note.setText(f"Token for {_host(url)} saved in the OS keyring.")
        self.list_models()
        return True

    # -- models -------------------------------------------------------------------------
    def list_models(self) -> None:
        url = self._checked_url()
        if url is None:
            return
        if url != self.url:                 # another server: its policy from Settings
            self.policy_edit.setText(self.configured_policy(url))
        self.url = url
        self.model = ""
        self.models_tree.clear()
        self._clear_versions("Choose a model to list its versions.")
        self._start(fetch_models, url, message=f"listing the registered models on {url}…",
                    done=lambda result, u=url: self._models_listed(u, result))

    def _models_listed(self, url: str, result) -> None:
        models, source = result
        self.models_tree.setSortingEnabled(False)
        self.models_tree.clear()
        for m in models:
            item = SortableItem([m.name, m.latest_version, ", ".join(f"@{a} → v{v}" for a, v in sorted(m.aliases.items())),
                          _when(m.updated)])
            item.setData(1, SortRole, int(m.latest_version or 0))
            item.setData(3, SortRole, m.updated.timestamp() if m.updated else 0.0)
            item.setData(0, VersionRole, m.name)
            tip = "\n".join(x for x in (m.name, m.description,
                                        ", ".join(f"{k}={v}" for k, v in sorted(m.tags.items()))) if x)
            for col in range(len(MODEL_COLUMNS)):
                item.setToolTip(col, plain_tooltip(tip))
            self.models_tree.addTopLevelItem(item)
        self.models_tree.setSortingEnabled(True)
        self._apply_filter()
        who = f"credentials: {source}" if source else "no credentials sent"
        self.server_note.setText(f"{len(models)} registered model{'s' if len(models) != 1 else ''} on {url} "
                                 f"({who}).")
        self.modelsListed.emit(len(models))
        self._apply_preselected()

    def _apply_filter(self) -> None:
        needle = self.filter_edit.text().strip().lower()
        for i in range(self.models_tree.topLevelItemCount()):
            item = self.models_tree.topLevelItem(i)
            hay = f"{item.text(0)} {item.text(2)}".lower()
            item.setHidden(bool(needle) and needle not in hay)

    def model_names(self, visible_only: bool = True) -> list[str]:
        tree = self.models_tree
        return [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())
                if not (visible_only and tree.topLevelItem(i).isHidden())]

    def select_model(self, name: str) -> bool:
        for i in range(self.models_tree.topLevelItemCount()):
            item = self.models_tree.topLevelItem(i)
            if item.text(0) == name:
                self.models_tree.setCurrentItem(item)
                return True
        return False

    def _model_chosen(self, current: QTreeWidgetItem | None, _previous=None) -> None:
        if current is None or not self.url:
            return
        model = current.text(0)
        self.model = model
        if self._preselected is not None and self._preselected[0] != model:
            self._preselected = None                    # the user chose another model meanwhile
        self._clear_versions(f"listing the versions of {model}…")
        self._start(fetch_versions, self.url, model, message=f"listing the versions of {model}…",
                    done=lambda result, m=model: self._versions_listed(m, result))

    # -- versions -----------------------------------------------------------------------
    def _clear_versions(self, title: str) -> None:
        self.versions = []
        self.versions_tree.clear()
        self.versions_title.setText(title)
        for combo in (self.candidate_combo, self.baseline_combo):
            combo.blockSignals(True)
            combo.clear()
            combo.blockSignals(False)
        self._update_buttons()

    def _versions_listed(self, model: str, result) -> None:
        versions, commits = result
        self.versions = list(versions)
        self.versions_tree.setSortingEnabled(False)
        self.versions_tree.clear()
        for v in versions:
            commit = commits.get(v.run_id, "")
            tags = ", ".join(f"{k}={val}" for k, val in sorted(v.tags.items()) if not k.startswith("mlflow."))
            item = SortableItem([v.version, ", ".join(f"@{a}" for a in v.aliases), v.status, v.run_id[:7], commit[:7],
                          _when(v.created), v.user, tags])
            item.setData(0, VersionRole, v.version)
            item.setData(0, SortRole, int(v.version or 0))
            item.setData(5, SortRole, v.created.timestamp() if v.created else 0.0)
            tip = (f"{v.ref}\nrun {v.run_id}\ncommit {commit or '—'}\nsource {v.source or '—'}\n"
                   f"{v.description}\n{tags}").rstrip()
            for col in range(len(VERSION_COLUMNS)):
                item.setToolTip(col, plain_tooltip(tip))
            self.versions_tree.addTopLevelItem(item)
        self.versions_tree.setSortingEnabled(True)
        n = len(versions)
        self.versions_title.setText(f"{model}: {n} version{'s' if n != 1 else ''}"
                                    + ("" if n >= 2 else " (two are needed for a comparison)"))
        for combo in (self.candidate_combo, self.baseline_combo):
            combo.blockSignals(True)
            combo.clear()
            for v in versions:
                combo.addItem(f"v{v.version}" + (f"  @{', @'.join(v.aliases)}" if v.aliases else ""), v.version)
            combo.blockSignals(False)
        if n >= 2:
            cand = versions[0].version                      # the newest
            champion = next((v.version for v in versions if "champion" in v.aliases), "")
            self.choose(cand, champion if champion and champion != cand else versions[1].version)
        self._apply_preselected(model)
        self._update_buttons()
        self.versionsListed.emit(model, n)

    def version_rows(self) -> list[dict[str, str]]:
        """What the versions table shows, row by row (tests, screen readers)."""
        tree = self.versions_tree
        return [{c: tree.topLevelItem(i).text(j) for j, c in enumerate(VERSION_COLUMNS)}
                for i in range(tree.topLevelItemCount())]

    def choose(self, candidate: str, baseline: str) -> None:
        """Set the two pickers to these version numbers."""
        for combo, version in ((self.candidate_combo, candidate), (self.baseline_combo, baseline)):
            i = combo.findData(str(version))
            if i >= 0:
                combo.setCurrentIndex(i)
        self._update_buttons()

    def chosen(self) -> tuple[str, str]:
        return (self.candidate_combo.currentData() or "", self.baseline_combo.currentData() or "")

    def swap(self) -> None:
        cand, base = self.chosen()
        self.choose(base, cand)

    def _versions_selected(self) -> None:
        picked = [str(item.data(0, VersionRole)) for item in self.versions_tree.selectedItems()]
        if len(picked) == 2:                 # "compare these two": the newer is the candidate
            newer, older = sorted(picked, key=lambda v: int(v) if v.isdigit() else 0, reverse=True)
            self.choose(newer, older)
        elif len(picked) == 1:
            cand, base = picked[0], self.chosen()[1]
            if base == cand:
                others = [v.version for v in self.versions if v.version != cand]
                older = [v for v in others if v.isdigit() and cand.isdigit() and int(v) < int(cand)]
                base = (older or others or [""])[0]
            self.choose(cand, base)

    # -- the comparison -------------------------------------------------------------------
    def open_comparison(self) -> None:
        cand, base = self.chosen()
        if not (self.url and self.model and cand and base):
            self.show_error("Choose a model and two of its versions first.")
            return
        if cand == base:
            self.show_error(f"Candidate and baseline are both version {cand}: choose two different versions.")
            return
        self._start(create_comparison, self.service, self.url, self.model, cand, base, self.policy(), lock=True,
                    message=f"comparing {self.model} v{cand} with v{base}"
                            + (" (look-only)…" if self.look_only else "…"), done=self._created)

    def _created(self, request_id: int) -> None:
        self.requestCreated.emit(int(request_id))
        self.accept()

    # -- running work ----------------------------------------------------------------------
    def _start(self, fn, *args, message: str, done, lock: bool = False) -> None:
        """Run fn(*args, task=...) on a worker; `lock`: nothing else can be started meanwhile."""
        self._stop_worker()
        self._token += 1
        token = self._token
        self.error_frame.hide()
        self._set_busy(True, message, lock=lock)
        self._worker = run_in_thread(
            fn, *args, with_task=True,
            on_progress=lambda msg, fraction, t=token: self._progress(t, msg, fraction),
            on_finished=lambda result, t=token: self._finished(t, done, result),
            on_failed=lambda msg, _details, t=token: self._failed(t, msg),
            on_cancelled=lambda t=token: self._cancelled(t))

    def _stop_worker(self) -> None:
        if self._worker is not None and self._worker.is_running:
            self._worker.cancel()
        self._worker = None

    def _progress(self, token: int, message: str, fraction: float) -> None:
        if token != self._token:
            return
        if message:
            self.busy_label.setText(message)
        if fraction < 0:
            self.busy_bar.setRange(0, 0)
        else:
            self.busy_bar.setRange(0, 1000)
            self.busy_bar.setValue(int(max(0.0, min(1.0, fraction)) * 1000))

    def _finished(self, token: int, done, result) -> None:
        if token != self._token:
            return
        self._worker = None
        self._set_busy(False)
        done(result)

    def _failed(self, token: int, message: str) -> None:
        if token != self._token:
            return
        self._worker = None
        self._set_busy(False)
        self.show_error(message)

    def _cancelled(self, token: int) -> None:
        if token != self._token:
            return
        self._worker = None
        self._set_busy(False)

    def cancel(self) -> None:
        """The Cancel button: the running call's result is dropped."""
        if self._worker is None:
            return
        what = self.busy_label.text().rstrip("…")
        self._stop_worker()
        self._token += 1
        self._set_busy(False)
        self.server_note.setText(f"Cancelled: {what}.")

    @property
    def busy(self) -> bool:
        return self._busy

    def _set_busy(self, on: bool, message: str = "", *, lock: bool = False) -> None:
        self._busy = on
        if on:
            self.busy_label.setText(message)
            self.busy_bar.setRange(0, 0)
        # Listing can be interrupted by choosing something else; making the request cannot.
        for w in (self.server_combo, self.url_edit, self.list_button, self.save_button, self.token_button,
                  self.models_tree, self.versions_tree, self.candidate_combo, self.baseline_combo,
                  self.policy_edit, self.policy_file_button, self.policy_repo_button):
            w.setEnabled(not (on and lock))
        self.busy_row.setVisible(on)
        self._update_buttons()
        self.busyChanged.emit(on)

    def _update_buttons(self) -> None:
        cand, base = self.chosen()
        self.open_button.setEnabled(not self._busy and bool(self.model and cand and base and cand != base))
        self.swap_button.setEnabled(not self._busy and bool(cand and base))

    def show_error(self, message: str) -> None:
        text = " ".join(str(message).split()) or "something went wrong"
        self.error_label.setText(text[0].upper() + text[1:])
        self.error_frame.show()
        self.failed.emit(text)

    @property
    def error_text(self) -> str:
        """The message shown, or "" when none is."""
        return "" if self.error_frame.isHidden() else self.error_label.text()

    # -- lifecycle ----------------------------------------------------------------------------
    def done(self, result: int) -> None:
        self._stop_worker()          # a result arriving later is dropped (the token moves on)
        self._token += 1
        super().done(result)

    def shutdown(self, wait: float = 5.0) -> None:
        """Cancel the running call and wait for its thread (tests, closing the window)."""
        worker, self._worker = self._worker, None
        self._token += 1
        if worker is not None:
            worker.cancel()
            worker.wait(wait)

