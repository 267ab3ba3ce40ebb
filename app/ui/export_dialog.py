"""File ▸ Export samples…: the selected sample, the current filter or the
whole eval set to CSV / JSONL / Parquet (app/service/export.py), written
off the GUI thread."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QLineEdit, QPushButton, QRadioButton, QVBoxLayout, QWidget)

from signoff.service.export import export_samples
from signoff.ui import workers
from signoff.ui.diff_view import plain_label

FORMATS = [("JSONL (one JSON object per line)", ".jsonl"), ("CSV", ".csv"), ("Parquet", ".parquet")]
LABEL_CHOICES = [("every reviewer's labels", "all"), ("only my labels", "mine"), ("no labels", "none")]


def visible_ids(model) -> list[str]:
    """The sample ids the table shows, in its order."""
    positions = model.visible_positions() if hasattr(model, "visible_positions") else model._rows
    return model.frame["id"].astype(str).to_numpy()[positions].tolist()


class ExportDialog(QDialog):
    exported = Signal(object)        # ExportResult
    failed = Signal(str)

    def __init__(self, service, request_id: int, eval_set: str, *, selected: str | None, shown: list[str],
                 total: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Export samples")
        self.service, self.request_id, self.eval_set = service, request_id, eval_set
        self._selected, self._shown = selected, shown
        self._worker: workers.Worker | None = None
        self.result_ = None

        self.scope_selected = QRadioButton(f"the selected sample ({selected})" if selected else "the selected sample")
        self.scope_selected.setEnabled(selected is not None)
        self.scope_shown = QRadioButton(f"the samples the current filter shows ({len(shown):,})")
        self.scope_all = QRadioButton(f"every sample of {eval_set} ({total:,})")
        self.scope_group = QButtonGroup(self)
        for b in (self.scope_selected, self.scope_shown, self.scope_all):
            self.scope_group.addButton(b)
        self.scope_shown.setChecked(True)
        self.format_combo = QComboBox()
        for text, ext in FORMATS:
            self.format_combo.addItem(text, ext)
        self.labels_combo = QComboBox()
        for text, value in LABEL_CHOICES:
            self.labels_combo.addItem(text, value)
        self.path_edit = QLineEdit(str(Path.home() / f"{eval_set}-export.jsonl"))
        self.path_edit.setAccessibleName("export file")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.format_combo.currentIndexChanged.connect(self._format_changed)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(browse)
        self.message = plain_label("Columns: eval_set, id, input, reference, slices, both outputs and scores, "
                                   "class and labels: ready to use as the samples file of a new eval set.")
        self.message.setWordWrap(True)

        form = QFormLayout()
        scope = QVBoxLayout()
        for b in (self.scope_selected, self.scope_shown, self.scope_all):
            scope.addWidget(b)
        form.addRow("Export", scope)
        form.addRow("Format", self.format_combo)
        form.addRow("Labels", self.labels_combo)
        form.addRow("File", path_row)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.start)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.message)
        lay.addWidget(self.buttons)
        self.resize(560, 300)

    def _format_changed(self, _i: int) -> None:
        ext = self.format_combo.currentData()
        p = Path(self.path_edit.text() or "export")
        self.path_edit.setText(str(p.with_suffix(ext)))

    def _browse(self) -> None:
        ext = self.format_combo.currentData()
        path, _ = QFileDialog.getSaveFileName(self, "Export samples", self.path_edit.text(),
                                              f"{ext[1:].upper()} (*{ext})")
        if path:
            self.path_edit.setText(path)

    def ids(self) -> list[str] | None:
        if self.scope_selected.isChecked() and self._selected is not None:
            return [self._selected]
        if self.scope_shown.isChecked():
            return list(self._shown)
        return None

    def start(self) -> None:
        path = self.path_edit.text().strip()
        if not path:
            self.message.setText("Choose a file to write.")
            return
        if not path.lower().endswith((".csv", ".jsonl", ".ndjson", ".parquet")):
            path += self.format_combo.currentData()
            self.path_edit.setText(path)
        self.export_button.setEnabled(False)
        self.message.setText("exporting…")
        self._worker = workers.run_in_thread(
            export_samples, self.service, self.request_id, self.eval_set, path, ids=self.ids(),
            labels=self.labels_combo.currentData(), with_task=True,
            on_progress=lambda msg, _f: self.message.setText(msg),
            on_finished=self._done, on_failed=self._failed, on_cancelled=self.reject)

    def _done(self, result) -> None:
        self._worker = None
        self.result_ = result
        self.exported.emit(result)
        self.accept()

    def _failed(self, message: str, _details: str) -> None:
        self._worker = None
        self.export_button.setEnabled(True)
        self.message.setText(f"Not exported: {message}")
        self.failed.emit(message)

    def wait(self, timeout: float = 3.0) -> bool:
        """Block until a running export has ended (the window closing)."""
        worker = self._worker
        return worker is None or worker.wait(timeout)

    def reject(self) -> None:
        if self._worker is not None and self._worker.is_running:
            self._worker.cancel()
            self._worker.wait(3.0)
        self._worker = None
        super().reject()
