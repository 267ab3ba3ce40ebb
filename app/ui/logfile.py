"""The app's log file (no Qt): where it is and setting it up.

Shared by signoff.ui.startup, signoff.ui.app and the window's banner (its
details name the log), so the window need not import the start-up module.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

_LOG_PATH: Path | None = None


def log_path() -> Path | None:
    """Where the app writes its log (None until run_app / launch set it up)."""
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


def setup_logging() -> None:
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
