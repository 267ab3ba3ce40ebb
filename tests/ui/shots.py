"""What the screenshot scripts (tests/ui/make_*_screenshots.py) share: a throw-away home so
the user's own store and settings are never touched, and an event pump. Import it before
PySide6 or the app: `isolate` sets the environment they read at import time."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path


def isolate(prefix: str) -> Path:
    """A temporary SIGNOFF_HOME, config dir and XDG config home; no SIGNOFF_DATABASE_URL."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["SIGNOFF_HOME"] = str(tmp / "home")
    os.environ["SIGNOFF_CONFIG_DIR"] = str(tmp / "config")
    os.environ["XDG_CONFIG_HOME"] = str(tmp / "xdg")
    os.environ.pop("SIGNOFF_DATABASE_URL", None)
    os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
    return tmp


def pump(seconds: float, until=None) -> bool:
    """Run the Qt event loop for up to `seconds`, or until `until()` is true (then True)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        if until is not None and until():
            return True
        time.sleep(0.01)
    return until is None
