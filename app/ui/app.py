"""Starting the workbench.

    from signoff.ui.app import run_app
    sys.exit(run_app(service, open_request=12))

`create_main_window(service)` builds the window without running the event
loop (tests, screenshots). `run_app` also installs an excepthook that logs
an unexpected error and shows it in a message box instead of letting the
app die silently (labelme does the same), and writes a log file whose path
the error details show.

`signoff` itself starts through signoff.ui.startup.launch: a start-up window at
once, the store opened behind it, then this module's create_main_window.
What both share is defined in signoff.ui.startup (ensure_app, the excepthook)
and signoff.ui.logfile (the log file); startup must not import the window's
heavy modules (it builds the window through a late import).
"""

from __future__ import annotations

import sys

from signoff.ui.main_window import MainWindow
from signoff.ui.logfile import log_path, setup_logging
from signoff.ui.startup import ensure_app, excepthook

__all__ = ["create_main_window", "ensure_app", "excepthook", "log_path", "run_app"]


def create_main_window(service) -> MainWindow:
    """The window on `service` (a ReviewService or a test double), not shown."""
    ensure_app()
    return MainWindow(service)


def run_app(service, *, open_request: int | None = None, argv: list[str] | None = None) -> int:
    """Open the workbench on `service` and run until the window closes; returns the exit code."""
    app = ensure_app(argv)
    setup_logging()
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
