"""`signoff --self-test-gui [REQUEST]`: prove that the window works in this copy of Signoff.

A hidden command for the PyInstaller bundle (tests/packaging/test_bundle.py runs it
offscreen) and for support ("does the app start on this machine?"). It opens the
window on REQUEST (default: the newest request in the store, e.g. the one
`signoff demo --no-gui` made), waits until the comparison of its first eval set has
loaded and a sample is shown, opens the About dialog and checks the version, and
renders plotly charts in QtWebEngine: every chart view the window has (the Charts
tab), and always one standalone chart from the plotly.min.js that this copy ships,
so a bundle without plotly's files or QtWebEngine's resources fails here.

Each step prints one line `self-test: ok <step>: <detail>`; the first failure prints
`self-test: FAILED <step>: <reason>` on stderr. Exit code 0 when every step passed,
1 on a failure, 2 when the whole test ran out of time (SIGNOFF_SELF_TEST_TIMEOUT
seconds, default 180).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QEvent, QEventLoop, QUrl
from PySide6.QtWidgets import QApplication, QStackedWidget, QTabWidget, QWidget

DEFAULT_TIMEOUT = 180.0
CHART_SECONDS = 90.0
COUNT_PLOTS = ("(() => { const p = document.querySelectorAll('.js-plotly-plot');"
               " return Array.from(p).filter(d => d.querySelector('.main-svg')).length; })()")


def _web_view_class(step: str):
    """QtWebEngine, imported as the app imports it: after ensure_app() prepared it."""
    try:
        from PySide6.QtWebEngineWidgets import QWebEngineView
    except Exception as exc:
        raise StepFailed(step, f"QtWebEngine does not load: {type(exc).__name__}: {exc}") from None
    return QWebEngineView


class StepFailed(Exception):
    def __init__(self, step: str, reason: str):
        super().__init__(f"{step}: {reason}")
        self.step, self.reason = step, reason


class TimedOut(Exception):
    pass


class SelfTest:
    def __init__(self, service, request: str = "latest", timeout: float | None = None, out=None, err=None):
        self.service = service
        self.request = request or "latest"
        self.timeout = float(os.environ.get("SIGNOFF_SELF_TEST_TIMEOUT", DEFAULT_TIMEOUT)) if timeout is None else timeout
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.deadline = 0.0
        self.errors: list[str] = []          # exceptions raised in Qt slots while the test ran
        self.window = None
        self._views: list = []
        self._tmp: tempfile.TemporaryDirectory | None = None

    # -- helpers ------------------------------------------------------------------------
    def ok(self, step: str, detail: str) -> None:
        self.out.write(f"self-test: ok {step}: {detail}\n")
        self.out.flush()

    def wait_for(self, step: str, predicate: Callable[[], bool], seconds: float, what: str) -> None:
        """Run the event loop until predicate() is true, or fail the step after `seconds`."""
        app = QApplication.instance()
        until = min(time.monotonic() + seconds, self.deadline)
        while True:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            if self.errors:
                raise StepFailed(step, "unexpected error in the window:\n" + self.errors[0])
            if predicate():
                return
            if time.monotonic() >= self.deadline:
                raise TimedOut(f"{step}: still waiting for {what} after {self.timeout:g} s in all")
            if time.monotonic() >= until:
                raise StepFailed(step, f"no {what} after {seconds:g} s")
            time.sleep(0.01)

    def _excepthook(self, exc_type, exc, tb) -> None:
        self.errors.append("".join(traceback.format_exception(exc_type, exc, tb)))

    # -- steps --------------------------------------------------------------------------
    def run(self) -> int:
        from signoff.ui.app import create_main_window, ensure_app

        self.deadline = time.monotonic() + self.timeout
        previous_hook = sys.excepthook
        sys.excepthook = self._excepthook
        try:
            ensure_app()
            self.window = create_main_window(self.service)
            self.window.show()
            self.ok("window", f"{type(self.window).__name__} shown ({QApplication.platformName()} platform)")
            self.step_open_request()
            self.step_about()
            self.step_window_charts()
            self.step_standalone_chart()
            return 0
        except StepFailed as exc:
            self.err.write(f"self-test: FAILED {exc.step}: {exc.reason}\n")
            return 1
        except TimedOut as exc:
            self.err.write(f"self-test: FAILED (timed out) {exc}\n")
            return 2
        except Exception:
            self.err.write("self-test: FAILED with an unexpected error:\n" + traceback.format_exc())
            return 1
        finally:
            self.close()
            sys.excepthook = previous_hook

    def _request_id(self) -> int:
        if self.request != "latest":
            return self.service.resolve_request(self.request).id
        records = self.service.list_requests()
        if not records:
            raise StepFailed("open request", "the store holds no review request (run `signoff demo --no-gui` first)")
        return max(r.id for r in records)

    def step_open_request(self) -> None:
        step = "open request"
        request_id = self._request_id()
        win = self.window
        loaded: list[tuple[int, str]] = []
        failed: list[str] = []
        win.comparisonLoaded.connect(lambda rid, es: loaded.append((rid, es)))
        win.loadFailed.connect(failed.append)
        win.open_request(request_id)
        if win.request is None or win.request.id != request_id:
            banner = getattr(getattr(win, "banner", None), "message", None)
            raise StepFailed(step, f"request {request_id} did not open: {banner.text() if banner else '?'}")
        self.wait_for(step, lambda: bool(loaded or failed), 120, "loaded comparison")
        if failed:
            raise StepFailed(step, f"loading the comparison failed: {failed[0]}")
        rid, eval_set = loaded[0]
        rows = win.model.rowCount()
        self.wait_for(step, lambda: win.current_sample_id() is not None or rows == 0, 10, "selected sample")
        if rows == 0:
            raise StepFailed(step, f"{eval_set}: the sample table is empty")
        self.ok(step, f"request {rid}, eval set {eval_set}: {rows} samples shown, "
                      f"sample {win.current_sample_id()} selected")

    def step_about(self) -> None:
        from signoff.ui.about_dialog import AboutDialog, app_version

        step = "about"
        expected = app_version()
        if expected == "unknown":
            raise StepFailed(step, "importlib.metadata finds no version for the signoff distribution")
        dialog = AboutDialog(self.window)
        dialog.show()
        QApplication.instance().processEvents()
        text = dialog.version_label.text()
        dialog.close()
        dialog.deleteLater()
        if expected not in text:
            raise StepFailed(step, f"the About dialog says {text!r}, the metadata {expected!r}")
        self.ok(step, text)

    def _reveal(self, view: QWidget) -> None:
        """Make the tab (or stacked page) that holds `view` the current one, outermost first."""
        chain = []
        child, parent = view, view.parentWidget()
        while parent is not None:
            chain.append((parent, child))
            child, parent = parent, parent.parentWidget()
        for parent, child in reversed(chain):
            if isinstance(parent, QStackedWidget) and parent.indexOf(child) >= 0:
                tabs = parent.parentWidget()
                if isinstance(tabs, QTabWidget):
                    tabs.setCurrentIndex(parent.indexOf(child))
                else:
                    parent.setCurrentWidget(child)

    def _wait_for_plots(self, step: str, view, seconds: float) -> int:
        counts = [0]
        pending = [False]

        def done(value):
            pending[0] = False
            try:
                counts[0] = int(value or 0)
            except (TypeError, ValueError):
                counts[0] = 0

        def ready() -> bool:
            if counts[0] > 0:
                return True
            if not pending[0]:
                pending[0] = True
                view.page().runJavaScript(COUNT_PLOTS, 0, done)
            return False

        self.wait_for(step, ready, seconds, "plotly chart drawn")
        return counts[0]

    def step_window_charts(self) -> None:
        """Show the window's chart tab(s) and wait for plotly to draw; with a ChartsTab
        (app/ui/charts_tab.py: a list of chart kinds, chartShown/chartFailed), draw every kind."""
        step = "window charts"
        view_class = _web_view_class(step)
        tabs = [t for t in self.window.findChildren(QTabWidget)
                if any("chart" in t.tabText(i).lower() for i in range(t.count()))]
        charts = getattr(self.window, "charts_tab", None)
        shown: list[str] = []
        failed: list[str] = []
        if charts is not None and hasattr(charts, "chartShown"):
            charts.chartShown.connect(shown.append)
            charts.chartFailed.connect(lambda kind, message: failed.append(f"{kind}: {message}"))
        for t in tabs:
            t.setCurrentIndex(next(i for i in range(t.count()) if "chart" in t.tabText(i).lower()))
        if charts is not None and hasattr(charts, "chartShown") and hasattr(charts, "list"):
            kinds = []
            for row in range(charts.list.count()):
                before = len(shown)
                if row > 0:
                    charts.list.setCurrentRow(row)
                self.wait_for(step, lambda: len(shown) > before or failed, CHART_SECONDS,
                              f"chart {charts.list.item(row).text()!r} drawn")
                if failed:
                    raise StepFailed(step, f"chart failed: {failed[0]}")
                kinds.append(shown[-1])
            n = self._wait_for_plots(step, charts.view, CHART_SECONDS)
            self.ok(step, f"{len(kinds)} charts drawn in the Charts tab ({', '.join(kinds)}); {n} on screen now")
            return
        views = self.window.findChildren(view_class)
        if not views and not tabs:
            self.ok(step, "the window has no chart view (no Charts tab in this version); skipped")
            return
        self.wait_for(step, lambda: bool(self.window.findChildren(view_class)), CHART_SECONDS, "chart view")
        drawn = 0
        for view in self.window.findChildren(view_class):
            self._reveal(view)
            drawn += self._wait_for_plots(step, view, CHART_SECONDS)
        self.ok(step, f"{drawn} plotly chart(s) drawn in the window's chart view(s)")

    def step_standalone_chart(self) -> None:
        step = "plotly in QtWebEngine"
        view_class = _web_view_class(step)
        try:
            import plotly.graph_objects as go
            import plotly.io as pio
            from plotly.offline import get_plotlyjs
        except Exception as exc:
            raise StepFailed(step, f"plotly does not import: {type(exc).__name__}: {exc}") from None
        js = get_plotlyjs()   # plotly's package data: plotly.min.js
        if len(js) < 1_000_000:
            raise StepFailed(step, f"plotly.min.js from the plotly package is only {len(js)} bytes")
        self._tmp = tempfile.TemporaryDirectory(prefix="signoff-self-test-")
        folder = Path(self._tmp.name)
        (folder / "plotly.min.js").write_text(js, encoding="utf-8")
        fig = go.Figure(go.Bar(x=["regressed", "improved"], y=[3, 5]))
        (folder / "chart.html").write_text(pio.to_html(fig, include_plotlyjs="directory", full_html=True),
                                           encoding="utf-8")
        view = view_class()
        self._views.append(view)
        view.resize(640, 420)
        view.show()
        view.load(QUrl.fromLocalFile(str(folder / "chart.html")))
        n = self._wait_for_plots(step, view, CHART_SECONDS)
        self.ok(step, f"{n} chart drawn with plotly.min.js ({len(js):,} bytes) from this copy's plotly package")

    def close(self) -> None:
        app = QApplication.instance()
        for view in self._views:
            view.close()
            view.deleteLater()
        self._views.clear()
        if self.window is not None:
            self.window.close()      # closeEvent -> shutdown(): no worker outlives the window
            self.window.deleteLater()
            self.window = None
        if app is not None:
            for _ in range(5):
                app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
                # deleteLater() is not run by processEvents(): delete the pages before the web profile goes.
                app.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def run_self_test(service, request: str = "latest", timeout: float | None = None) -> int:
    return SelfTest(service, request, timeout).run()
