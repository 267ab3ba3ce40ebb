"""Settings ▸ Connections ▸ MLflow tracking servers (the MLflow plugin's part of Settings):
name, tracking URL and the policy a comparison opened on that server is judged by
(`connections.mlflow_servers`, read by the browser and the inbox's section)."""

from __future__ import annotations

from PySide6.QtWidgets import (QGroupBox, QHBoxLayout, QHeaderView, QPushButton, QTableWidget, QTableWidgetItem,
                               QVBoxLayout)

KEY = "connections.mlflow_servers"


class MlflowServersSection(QGroupBox):
    def __init__(self, settings, parent=None):
        super().__init__("MLflow tracking servers", parent)
        mll = QHBoxLayout(self)
        self.mlflow_table = QTableWidget(0, 3)
        self.mlflow_table.setAccessibleName("MLflow tracking servers")
        self.mlflow_table.setHorizontalHeaderLabels(["name", "tracking URL", "policy"])
        self.mlflow_table.horizontalHeaderItem(2).setToolTip(
            "where a comparison opened with File ▸ Browse MLflow… takes its policy: a signoff.toml from a checkout "
            "of the default branch, or the model's git repository (read at its default branch); never the "
            "candidate run's own. Empty: comparisons open look-only and can never be approved.")
        self.mlflow_table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.mlflow_table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.mlflow_table.verticalHeader().hide()
        for entry in settings.get(KEY) or []:
            self._add_mlflow_row(entry.get("name", ""), entry.get("url", ""), entry.get("policy", ""))
        col = QVBoxLayout()
        add_ml, remove_ml = QPushButton("Add"), QPushButton("Remove")
        add_ml.clicked.connect(lambda: self._add_mlflow_row("", "https://"))
        remove_ml.clicked.connect(lambda: self.mlflow_table.removeRow(max(0, self.mlflow_table.currentRow()))
                                  if self.mlflow_table.rowCount() else None)
        col.addWidget(add_ml)
        col.addWidget(remove_ml)
        col.addStretch(1)
        mll.addWidget(self.mlflow_table, 1)
        mll.addLayout(col)

    def _add_mlflow_row(self, name: str, url: str, policy: str = "") -> None:
        """`policy`: a signoff.toml file or the model's git repository (docs/mlflow.md); "" for none."""
        r = self.mlflow_table.rowCount()
        self.mlflow_table.insertRow(r)
        self.mlflow_table.setItem(r, 0, QTableWidgetItem(name))
        self.mlflow_table.setItem(r, 1, QTableWidgetItem(url))
        self.mlflow_table.setItem(r, 2, QTableWidgetItem(policy))

    def mlflow_servers(self) -> list[dict]:
        out = []
        for r in range(self.mlflow_table.rowCount()):
            name = (self.mlflow_table.item(r, 0).text() if self.mlflow_table.item(r, 0) else "").strip()
            url = (self.mlflow_table.item(r, 1).text() if self.mlflow_table.item(r, 1) else "").strip()
            policy = (self.mlflow_table.item(r, 2).text() if self.mlflow_table.item(r, 2) else "").strip()
            if url and url != "https://":
                out.append({"name": name or url, "url": url, **({"policy": policy} if policy else {})})
        return out

    def apply_to_settings(self, settings) -> None:
        settings.set(KEY, self.mlflow_servers())
