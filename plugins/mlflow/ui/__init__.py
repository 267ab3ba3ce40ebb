"""The MLflow plugin's window parts (entry-point group `signoff.ui_extensions`): File ▸ Browse
MLflow… (browser.py), the inbox's section of versions CI tagged for review (inbox_section.py),
the New review… tab, and Settings ▸ Connections ▸ MLflow tracking servers (settings_section.py).

This module imports no Qt (the registry loads it in the CLI too); the widgets are imported when
the window asks for them. They use signoff.ui only through signoff.ui.extension_sdk.
"""

from __future__ import annotations

from typing import Any, ClassVar

from signoff.plugin_api import UiExtension

BROWSE = "file.mlflow"   # the window's action id (File ▸ Browse MLflow…)


class MlflowUi(UiExtension):
    NAME: ClassVar[str] = "mlflow"
    ACTIONS: ClassVar[dict[str, str]] = {BROWSE: "Browse MLflow…: compare any two versions of a registered model"}
    NEW_REVIEW: ClassVar[dict[str, tuple[str, str, str]]] = {BROWSE: (
        "MLflow", "Compare any two versions of a registered model on an MLflow tracking server "
                  "(Settings ▸ Connections lists the servers).", "Open the MLflow browser…")}

    def inbox_section(self, inbox) -> Any:
        from .inbox_section import MlflowSection

        return MlflowSection(inbox)

    def settings_section(self, settings) -> Any:
        from .settings_section import MlflowServersSection

        return MlflowServersSection(settings)

    def open(self, action: str, *, service, parent=None, **options) -> Any:
        """The browser dialog (not shown yet: the caller connects requestCreated, then opens it)."""
        if action != BROWSE:
            return super().open(action, service=service, parent=parent, **options)
        from .browser import MlflowBrowser

        return MlflowBrowser(service, parent, **options)
