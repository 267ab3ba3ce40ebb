"""The MLflow plugin's window parts (entry-point group `signoff.ui_extensions`): File ▸ Browse
MLflow… (browser.py), the inbox's section of versions CI tagged for review (inbox_section.py),
the New review… tab, and Settings ▸ Connections ▸ MLflow tracking servers (settings_section.py).

This module imports no Qt (the registry loads it in the CLI too); the widgets are imported when
the window asks for them. They use signoff.ui only through signoff.ui.extension_sdk.
"""

from __future__ import annotations

from typing import Any, ClassVar

from signoff.plugin_api import ExtensionAction, UiExtension

BROWSE = ExtensionAction("mlflow.browse", "Browse MLflow…", "Ctrl+Shift+M", menu="File",
                         tip="a tracking server's models and versions; compare any two versions")


class MlflowUi(UiExtension):
    NAME: ClassVar[str] = "mlflow"
    ACTIONS: ClassVar[tuple[ExtensionAction, ...]] = (BROWSE,)
    # The tracking servers (Settings ▸ Connections; the browser and the inbox's section read them):
    # [{"name": "prod", "url": "https://mlflow.example.com", "policy": "…"}, …]
    SETTINGS_DEFAULTS: ClassVar[dict] = {"connections": {"mlflow_servers": []}}
    NEW_REVIEW: ClassVar[dict[str, tuple[str, str, str]]] = {BROWSE.id: (
        "MLflow", "Compare any two versions of a registered model on an MLflow tracking server "
                  "(Settings ▸ Connections lists the servers).", "Open the MLflow browser…")}

    def inbox_section(self, inbox) -> Any:
        from .inbox_section import MlflowSection

        return MlflowSection(inbox)

    def settings_section(self, settings) -> Any:
        from .settings_section import MlflowServersSection

        return MlflowServersSection(settings)

    def trigger(self, action: str, host) -> Any:
        """File ▸ Browse MLflow…: the browser dialog; the request it creates is listed and opened."""
        if action != BROWSE.id:
            return super().trigger(action, host)
        from .browser import MlflowBrowser

        dialog = MlflowBrowser(host.service, host.window)
        dialog.requestCreated.connect(host.open_request)
        dialog.open()
        return dialog
