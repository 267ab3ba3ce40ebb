"""Starting the app: the start-up window at once, the workbench behind it.

    signoff   ->  signoff.cli.main.cmd_gui  ->  launch(open_request=None, user=None)

`launch` creates the QApplication and shows the start-up window (titled
"Signoff", the app icon, the saved window geometry, one line of progress)
before anything heavy is imported. A worker thread then imports pandas,
pyarrow and SQLAlchemy, opens the review store (`ReviewService(Store(),
user=…)`: connect, migrations) and loads the plugins; back on the GUI thread
the MainWindow is built (signoff.ui.app.create_main_window), put where the
start-up window was and shown, the start-up window closes and the request
asked for is opened. When the store cannot be opened, the start-up window
shows the one-line message with Settings…, Retry and Quit, never a
traceback; the exit code is then non-zero.

This module imports only PySide6, the standard library and light app modules
(signoff.settings, signoff.ui.theme, signoff.ui.layout, resources): tests/ui/
test_ui_startup.py checks that it pulls in no pandas, pyarrow or SQLAlchemy.
It also holds what every start shares (signoff.ui.app uses them too):
`ensure_app`, `prepare_web_engine` and the excepthook; the log file is
signoff.ui.logfile's.

SIGNOFF_STARTUP_PROBE=1 (benchmarks/bench_workbench.py) prints `shown <s>`
when the start-up window is first painted and `ready <s>` when the workbench
is painted with its inbox filled (seconds since the process started), then
closes the window; `failed <message>` if the store did not open.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import threading
import time
import traceback
from contextlib import contextmanager
from typing import Callable

import builtins

# Python's own __import__, taken before PySide6 replaces it (see _plain_imports); None if Qt came first.
_PLAIN_IMPORT = builtins.__import__ if getattr(builtins.__import__, "__name__", "") == "__import__" else None

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal
from PySide6.QtWidgets import (QApplication, QMessageBox)

from signoff.ui.logfile import log_path, setup_logging
from signoff.ui.startup_window import STORE_HINT, FirstPaint, StartupWindow, app_icon   # the window itself: a module of its own

log = logging.getLogger(__name__)
_IMPORTED_AT = time.perf_counter()

PROBE_ENV = "SIGNOFF_STARTUP_PROBE"
INPUT_HINT = "Check the files and options given to signoff review, then Retry."
# Qt-free modules the window needs besides the service and the store: imported on the worker too,
# so that the GUI thread is busy only with Qt's part.
WARM_MODULES = ("signoff.core.search", "signoff.core.shown", "signoff.core.textdiff", "signoff.service.publishing")
# `signoff review A B`: the plugins are loaded once the new request's table is interactive (or after
# this long): loaded while the window opens it, their imports took turns with the open for the
# interpreter, and a renderer looked up meanwhile waited for all of them (the registry's lock).
WARM_AFTER_OPEN_S = 30.0


# -- what every start shares (signoff.ui.app uses these too) ------------------------------

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
    from signoff.settings import load_settings
    from signoff.ui.theme import apply_theme

    try:
        theme = load_settings().get("appearance.theme")
    except Exception:  # an unreadable settings file is reported in the Settings dialog
        theme = "system"
    if theme != "system":
        apply_theme(theme)


def seconds_since_process_start() -> float:
    """For the probe: from the process's start (Linux: /proc), else from this module's import."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")     # field 22: starttime, ticks since boot
        return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - started)
    except Exception:
        return time.perf_counter() - _IMPORTED_AT


# -- the work off the GUI thread ------------------------------------------------------

def store_description() -> str:
    """Where the store is, for the progress line: 'local: /path/signoff.db' or the masked server URL."""
    from signoff.store.db import describe, resolve_url, sqlite_path

    url = resolve_url()
    path = sqlite_path(url) if url.get_backend_name() == "sqlite" else None
    return f"local: {path}" if path is not None else describe(url)


@contextmanager
def _plain_imports():
    """Import with Python's own __import__ for a while.

    PySide6 replaces builtins.__import__ with a hook that, after every import,
    reads the imported module's source (inspect.getsource) to see whether it
    uses PySide6, for the opt-in `from __feature__ import snake_case` syntax
    Signoff does not use. For the ~1,000 modules of pandas, pyarrow and
    SQLAlchemy that costs ~0.7 s on 2 cores. The worker's imports are all
    Qt-free (tests/test_layering.py), so they skip the hook; a module missing
    from PySide6's table is treated as one that ignores features.
    """
    hooked = builtins.__import__
    if _PLAIN_IMPORT is None or hooked is _PLAIN_IMPORT:
        yield
        return
    builtins.__import__ = _PLAIN_IMPORT
    try:
        yield
    finally:
        builtins.__import__ = hooked


def open_service(user: str | None = None, progress: Callable[[str], None] = lambda text: None, *,
                 warm: bool = True):
    """On the worker thread: the heavy imports, the review store and the plugins; returns the ReviewService.
    `warm=False` leaves the plugins and WARM_MODULES for later (`warm_up`).

    Raises what Store() raises (StoreUnavailable, InputError: SignoffError with one line for the user).
    """
    quiet = logging.getLogger("alembic")
    if quiet.level == logging.NOTSET and not logging.getLogger().isEnabledFor(logging.DEBUG):
        quiet.setLevel(logging.WARNING)     # the app's INFO log level (for its log file) is not for the migrations
    with _plain_imports():
        from signoff.service.review import ReviewService
        from signoff.store.store import Store

    progress(f"Opening the review store ({store_description()})…")
    service = ReviewService(Store(), user=user)
    if warm:
        progress("Loading the plugins…")
        warm_up()
    return service


def warm_up() -> None:
    """On the worker thread: every plugin (the window's renderers and sections) and WARM_MODULES."""
    with _plain_imports():
        from signoff.registry import registry

        registry().load_all()
        for name in WARM_MODULES:
            importlib.import_module(name)


def build_window(service):
    """On the GUI thread: the workbench on `service`, not shown."""
    from signoff.ui.main_window import MainWindow

    ensure_app()
    return MainWindow(service)


def _close_service(service) -> None:
    try:
        service.close()
    except Exception:
        log.debug("closing the store of an abandoned start-up failed", exc_info=True)


# -- the window -----------------------------------------------------------------------

class Launcher(QObject):
    """The start-up sequence: start() shows the start-up window and opens the store on a thread;
    `ready` carries the shown MainWindow, `failed` the message when the store did not open.

    `prepare` (`signoff review A B`): called on the worker as each attempt starts, before the store
    opens (it may start reading the inputs on a thread of its own then); what it returns,
    `make(service, progress)`, runs on the worker once the store is open, while the GUI thread
    builds the workbench: it makes the request to open and returns its id (its progress lines
    show in the start-up window). A SignoffError from it (bad input) fails the start as a store
    error does: the message, Retry and Quit, a non-zero exit code; a store that cannot be opened
    is the error shown, before any of the inputs'."""

    ready = Signal(object)
    failed = Signal(str)
    _progress = Signal(int, str)            # attempt, text        (worker -> GUI thread)
    _loaded = Signal(int, object)           # attempt, service
    _prepared = Signal(int, int)            # attempt, the request `prepare` made
    _load_failed = Signal(int, str, int)    # attempt, message, exit code

    def __init__(self, *, open_request: int | None = None, user: str | None = None, probe: bool = False,
                 prepare: Callable[[], Callable[[object, Callable[[str], None]], int]] | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.open_request = open_request
        self.user = user
        self.probe = probe
        self.prepare = prepare
        self._built = None                  # the MainWindow built while `prepare` runs, not shown yet
        self.window = None                  # the MainWindow once shown
        self.error = ""                     # the last failure's message
        self.exit_code = 0
        self.settings_dialog = None
        self._attempt = 0
        self._thread: threading.Thread | None = None
        self._abandoned = False             # the user closed the start-up window
        self._probed: set[str] = set()
        self._store_opened = 0              # the attempt whose store opened (its failure is then `prepare`'s)
        self._opened = threading.Event()    # the request `prepare` made is open (or will not be): warm up
        self.startup = StartupWindow()
        self.startup.closed.connect(self._startup_closed)
        self.startup.retryRequested.connect(self.retry)
        self.startup.settingsRequested.connect(self.open_settings)
        queued = Qt.ConnectionType.QueuedConnection
        self._progress.connect(self._on_progress, queued)
        self._loaded.connect(self._on_loaded, queued)
        self._prepared.connect(self._on_prepared, queued)
        self._load_failed.connect(self._on_failed, queued)
        if probe:
            self.startup.painted.connect(lambda: self._probe("shown"))

    # -- the sequence --------------------------------------------------------------------
    def start(self) -> None:
        self.startup.show()
        self._load()

    def _load(self) -> None:
        self._attempt += 1
        self.error, self.exit_code = "", 0
        self._opened.clear()
        self.startup.show_progress("Loading the workbench…")
        self._thread = threading.Thread(target=self._work, args=(self._attempt,), name="signoff-startup",
                                        daemon=True)
        self._thread.start()

    def _work(self, attempt: int) -> None:
        """The worker thread: nothing here touches a widget; results go back through queued signals."""
        progress = lambda text: self._progress.emit(attempt, text)   # noqa: E731
        try:
            if self.prepare is None:
                self._loaded.emit(attempt, open_service(self.user, progress=progress))
                return
            with _plain_imports():
                make = self.prepare()               # e.g. the files' read, started now
            service = open_service(self.user, progress=progress, warm=False)
            self._loaded.emit(attempt, service)     # the GUI thread builds the workbench meanwhile
            request_id = make(service, progress)
            del make
            self._prepared.emit(attempt, int(request_id))
        except Exception as exc:
            from signoff.core.errors import SignoffError

            if isinstance(exc, SignoffError):
                message, code = str(exc), exc.exit_code
            else:  # a bug: one line here, the traceback in the log file
                log.error("opening the workbench failed", exc_info=True)
                where = log_path()
                message = f"internal error: {type(exc).__name__}: {exc}" + (f" (details in {where})" if where else "")
                code = 70
            self._load_failed.emit(attempt, message or type(exc).__name__, code or 1)
            return
        self._opened.wait(WARM_AFTER_OPEN_S)
        try:   # the other plugins and WARM_MODULES, once the GUI thread has opened the request
            warm_up()
        except Exception:
            log.warning("loading the plugins after the request failed", exc_info=True)

    def _on_progress(self, attempt: int, text: str) -> None:
        if attempt == self._attempt and self.window is None:
            self.startup.show_progress(text)

    def _on_loaded(self, attempt: int, service) -> None:
        self._store_opened = attempt
        if attempt != self._attempt or self._abandoned:
            if self.prepare is None:        # else the worker goes on with it, and fails or hands it over
                _close_service(service)
            return
        if self.prepare is None:
            self.startup.show_progress("Opening the workbench…")
            self.startup.repaint()                  # the GUI thread is busy for a moment now
        try:
            window = build_window(service)
        except Exception as exc:
            log.error("building the window failed", exc_info=True)
            if self.prepare is None:
                _close_service(service)
            self._on_failed(attempt, f"internal error: {type(exc).__name__}: {exc}", 70)
            return
        window.restoreGeometry(self.startup.saveGeometry())     # where the start-up window is now
        if self.prepare is not None:                # shown when the request is made (_on_prepared)
            self._built = window
            return
        self._show(window, self.open_request)

    def _on_prepared(self, attempt: int, request_id: int) -> None:
        window, self._built = self._built, None
        if attempt != self._attempt or window is None:
            self._opened.set()
            return
        if self._abandoned:
            self._opened.set()
            window.shutdown()
            return
        window.refresh_inbox()                      # the inbox was listed before the request existed
        self._show(window, request_id)

    def _show(self, window, request_id: int | None) -> None:
        self.window = window
        if self.probe:
            if request_id is not None:              # the probe's end: the request's table is interactive
                window.comparisonLoaded.connect(lambda *_: self._probe("interactive"))
            FirstPaint(window, lambda: self._probe("ready"))
        if self.prepare is not None:                # the worker loads the plugins once this is open
            window.comparisonLoaded.connect(lambda *_: self._opened.set())
            window.loadFailed.connect(lambda *_: self._opened.set())
        window.show()
        self.startup.hand_over()
        if request_id is not None and not window.inbox.select(request_id):
            window.open_request(request_id)
        self.ready.emit(window)

    def _on_failed(self, attempt: int, message: str, code: int) -> None:
        if attempt != self._attempt:
            return
        window, self._built = self._built, None
        making = self._store_opened == attempt      # the store was open: `prepare` failed, not the store
        if window is not None:                      # built while `prepare` ran, which failed
            window.shutdown()
            _close_service(window.service)          # a Retry opens the store again
            window.deleteLater()
        self.error, self.exit_code = message, code
        if self._abandoned:
            return
        self.startup.show_failure(message, INPUT_HINT if making else STORE_HINT)
        sys.stderr.write(f"signoff: {message}\n")
        self.failed.emit(message)
        if self.probe:
            self._probe("failed", message)

    # -- the buttons -----------------------------------------------------------------------
    def retry(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._load()

    def open_settings(self):
        """Settings… on a failed start: e.g. another store URL; saved settings retry at once."""
        from signoff.ui.settings_dialog import SettingsDialog
        from signoff.ui.theme import apply_theme

        dialog = SettingsDialog(current_user=self.user or "", parent=self.startup)
        dialog.themeChanged.connect(apply_theme)
        dialog.accepted.connect(lambda: (apply_theme(dialog.chosen_theme()), self.retry()))
        self.settings_dialog = dialog
        dialog.open()
        return dialog

    def _startup_closed(self) -> None:
        """The user closed the start-up window: quit (non-zero after a failure)."""
        self._abandoned = True

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the worker thread (True when none runs any more)."""
        t = self._thread
        self._opened.set()                  # a worker waiting to load the plugins: not any more
        if t is not None:
            t.join(timeout)
        return t is None or not t.is_alive()

    # -- SIGNOFF_STARTUP_PROBE ---------------------------------------------------------------
    def _probe(self, what: str, detail: str = "") -> None:
        if what in self._probed:
            return
        self._probed.add(what)
        sys.stdout.write(f"{what} {detail or f'{seconds_since_process_start():.3f}'}\n")
        sys.stdout.flush()
        # the end: the workbench shown, or with a request to open, its table interactive
        end = "interactive" if (self.open_request is not None or self.prepare is not None) else "ready"
        if what == end and self.window is not None:
            self.window.close()
        elif what == "failed":
            self.startup.close()


def launch(open_request: int | None = None, user: str | None = None, *, argv: list[str] | None = None,
           prepare: Callable[[], Callable[[object, Callable[[str], None]], int]] | None = None) -> int:
    """`signoff` (and `signoff demo`, `signoff review A B`): the start-up window, then the workbench;
    runs until the window closes and returns the exit code (non-zero when the store could not be
    opened, or `prepare` failed: see Launcher)."""
    app = ensure_app(argv)
    app.setWindowIcon(app_icon())
    setup_logging()
    previous_hook = sys.excepthook
    sys.excepthook = excepthook
    launcher = Launcher(open_request=open_request, user=user, probe=os.environ.get(PROBE_ENV, "") not in ("", "0"),
                        prepare=prepare)
    try:
        launcher.start()
        code = int(app.exec())
        if launcher.window is None:         # closed before the workbench was there
            return launcher.exit_code
        return code
    finally:
        sys.excepthook = previous_hook
        launcher.wait(5.0)
