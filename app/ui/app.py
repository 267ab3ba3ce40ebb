"""Starting the workbench.

    from app.ui.app import run_app
    sys.exit(run_app(service, open_request=12))

`create_main_window(service)` builds the window without running the event
loop (tests, screenshots). `run_app` also installs an excepthook that logs
an unexpected error and shows it in a message box instead of letting the
app die silently (labelme does the same), and writes a log file whose path
the error details show.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from app.ui.main_window import MainWindow

log = logging.getLogger(__name__)
_LOG_PATH: Path | None = None


def log_path() -> Path | None:
    """Where the app writes its log (None until run_app set it up)."""
    return _LOG_PATH


def _default_log_path() -> Path:
    home = os.environ.get("SIGNOFF_HOME")
    if home:
        base = Path(home)
    else:
        try:
            import platformdirs

            base = Path(platformdirs.user_log_dir("signoff", appauthor=False))
        except Exception:
            base = Path.home() / ".signoff"
    return base / "logs" / "signoff-app.log"


def _setup_logging() -> None:
    global _LOG_PATH
    path = _default_log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:  # a read-only home must not stop the app
        return
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    _LOG_PATH = path


def excepthook(exc_type, exc, tb) -> None:
    """Log an unexpected error and show it; the app keeps running."""
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    details = "".join(traceback.format_exception(exc_type, exc, tb))
    log.error("unexpected error\n%s", details)
    app = QApplication.instance()
    if app is None:
        sys.__excepthook__(exc_type, exc, tb)
        return
    box = QMessageBox(app.activeWindow())
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle("Signoff: unexpected error")
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(f"Something went wrong: {exc_type.__name__}: {exc}\n\n"
                "Your labels are saved as you make them. You can keep working; "
                "please report this with the details below.")
    path = log_path()
    box.setDetailedText(details + (f"\nLog file: {path}" if path else ""))
    box.exec()


def prepare_web_engine() -> None:
    """What QtWebEngine (the Charts tab) needs before the QApplication exists.

    Chromium's sandbox refuses to run as root (containers, CI): turn it off
    there, as the QtWebEngine docs advise; elsewhere it stays on.
    """
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
    if QApplication.instance() is None:
        QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)


def ensure_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance()
    if app is None:
        prepare_web_engine()
        app = QApplication(list(argv) if argv is not None else sys.argv[:1])
        app.setApplicationName("Signoff")
        app.setOrganizationName("Signoff")
        app.setApplicationDisplayName("Signoff")
        _apply_saved_theme()
    return app  # type: ignore[return-value]


def _apply_saved_theme() -> None:
    from app.settings import load_settings
    from app.ui.theme import apply_theme

    try:
        theme = load_settings().get("appearance.theme")
    except Exception:  # an unreadable settings file is reported in the Settings dialog
        theme = "system"
    if theme != "system":
        apply_theme(theme)


def create_main_window(service) -> MainWindow:
    """The window on `service` (a ReviewService or a test double), not shown."""
    ensure_app()
    return MainWindow(service)


def run_app(service, *, open_request: int | None = None, argv: list[str] | None = None) -> int:
    """Open the workbench on `service` and run until the window closes; returns the exit code."""
    app = ensure_app(argv)
    _setup_logging()
    previous_hook = sys.excepthook
    sys.excepthook = excepthook
    try:
        window = MainWindow(service)
        window.show()
        if open_request is not None:
            if not window.inbox.select(open_request):
                window.open_request(open_request)
        return int(app.exec())
    finally:
        sys.excepthook = previous_hook
