"""The Charts tab beside the sample table: plotly figures through QtWebEngine.

Fully offline: each chart is an HTML page in a private temp folder next to
a copy of plotly.js taken from the installed plotly package; the view loads
the page from that file (setHtml would stop at 2 MB, and plotly.js alone is
about 5 MB). Pages carry a Content-Security-Policy that runs only their own
scripts, and the view refuses to navigate anywhere but those files.

Off the GUI thread (a SingleTask, signoff.ui.concurrent): reading the comparison, building the
figure (signoff.report.charts) and writing the page. The view is created when
the tab is first shown, so start-up never waits for Chromium.

Save as PNG asks plotly.js in the page for the image (Plotly.toImage: the
same renderer as on screen, no kaleido or browser needed); save as HTML
writes a standalone file with plotly.js inline.
"""

from __future__ import annotations

import base64
import logging
import tempfile
from pathlib import Path

from PySide6.QtCore import QTimer, QUrl, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QListWidget, QListWidgetItem, QPushButton,
                               QSplitter, QStackedWidget, QVBoxLayout, QWidget)

from signoff.report.kinds import CHART_TITLES
from signoff.ui.concurrent import SingleTask
from signoff.ui.diff_view import plain_label
from signoff.ui.theme import is_dark

log = logging.getLogger(__name__)

PLACEHOLDER_TEXT = "Open a review request to see its charts."
BLIND_TEXT = ("Blind mode is on: the charts name the candidate and the baseline, so they are hidden "
              "while you label blind. Press B (View ▸ Blind mode) to turn it off and see them.")
READY_POLL_MS = 50
READY_TIMEOUT_MS = 20_000


def prepare_chart(service, request_id: int, kind: str, dark: bool, data, directory: str, serial: int, *, task):
    """Worker side: collect (once per request), build one figure, write its page. No widgets here.

    Returns (ReviewData, Chart, page path). plotly is imported here, on the worker, at first use.
    """
    from signoff.report.charts import CHART_KINDS, DARK, LIGHT
    from signoff.report.data import collect
    from signoff.report.html import chart_html, write_plotly_js

    if data is None:
        data = collect(service, request_id, task=task)
    task.report(f"drawing {CHART_TITLES[kind].lower()}…", None)
    chart = CHART_KINDS[kind][1](data, DARK if dark else LIGHT)
    task.check()
    folder = Path(directory)
    write_plotly_js(folder)
    page = folder / f"{kind}-{serial}.html"
    page.write_text(chart_html(chart, inline_plotly=False, dark=dark), encoding="utf-8")
    return data, chart, page


def _web_classes():
    """QtWebEngine, imported on first use (it is heavy and needs the app set up for it)."""
    from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineSettings
    from PySide6.QtWebEngineWidgets import QWebEngineView

    class ChartPage(QWebEnginePage):
        """Only our own chart files may load: links in a page go nowhere."""

        def __init__(self, folder: Path, parent=None):
            super().__init__(parent)
            self._folder = folder.resolve()

        def acceptNavigationRequest(self, url, nav_type, is_main_frame) -> bool:  # noqa: N802 (Qt name)
            if url.isLocalFile():
                try:
                    return Path(url.toLocalFile()).resolve().parent == self._folder
                except OSError:
                    return False
            return url.scheme() in ("data", "about")

        def createWindow(self, _type):  # noqa: N802 - no pop-ups
            return None

    return QWebEngineView, ChartPage, QWebEngineSettings


class ChartsTab(QWidget):
    chartShown = Signal(str)            # chart id, once plotly has drawn it
    chartFailed = Signal(str, str)      # chart id, message
    saved = Signal(str)                 # path of a saved PNG/HTML file
    saveFailed = Signal(str)

    def __init__(self, service, parent: QWidget | None = None):
        super().__init__(parent)
        self.service = service
        self.request_id: int | None = None
        self._data = None                       # signoff.report.data.ReviewData of the request
        self._charts: dict = {}                 # chart id -> signoff.report.charts.Chart
        self._pages: dict[str, Path] = {}
        self._dark_built = False
        self._task = SingleTask(self)           # one chart drawn at a time; a new one cancels the old
        self._serial = 0
        self._current: str | None = None
        self._loaded: str | None = None         # chart id drawn in the view
        self._loading: str | None = None        # chart id whose page is loading
        self._tmp = tempfile.TemporaryDirectory(prefix="signoff-charts-")
        self.folder = Path(self._tmp.name)
        self.view = None                        # QWebEngineView, made on first show
        self._ready_timer = QTimer(self, interval=READY_POLL_MS)
        self._ready_timer.timeout.connect(self._poll_ready)
        self._ready_waited = 0
        self._png_path: Path | None = None
        self._png_timer = QTimer(self, interval=READY_POLL_MS)
        self._png_timer.timeout.connect(self._poll_png)
        self._png_waited = 0

        self.list = QListWidget()
        self.list.setAccessibleName("charts")
        for kind, title in CHART_TITLES.items():
            item = QListWidgetItem(title)
            item.setData(256, kind)
            self.list.addItem(item)
        self.list.setMaximumWidth(240)
        self.list.currentItemChanged.connect(lambda cur, _prev: cur is not None and self.show_chart(cur.data(256)))

        self.title = plain_label("")
        f = self.title.font()
        f.setBold(True)
        self.title.setFont(f)
        self.message = plain_label("")
        self.message.setWordWrap(True)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("read the labels and decisions again and redraw")
        self.png_button = QPushButton("Save as PNG…")
        self.html_button = QPushButton("Save as HTML…")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.hide()
        self.refresh_button.clicked.connect(self.refresh)
        self.png_button.clicked.connect(self._ask_png)
        self.html_button.clicked.connect(self._ask_html)
        self.cancel_button.clicked.connect(self.cancel)
        bar = QHBoxLayout()
        bar.addWidget(self.title, 1)
        bar.addWidget(self.cancel_button)
        bar.addWidget(self.refresh_button)
        bar.addWidget(self.png_button)
        bar.addWidget(self.html_button)

        self.blind = False
        self.placeholder = plain_label(PLACEHOLDER_TEXT)
        self.placeholder.setWordWrap(True)
        self.view_stack = QStackedWidget()
        self.view_stack.addWidget(self.placeholder)

        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(4, 2, 4, 2)
        rl.addLayout(bar)
        rl.addWidget(self.message)
        rl.addWidget(self.view_stack, 1)
        self.splitter = QSplitter()
        self.splitter.addWidget(self.list)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([190, 900])
        self.splitter.setChildrenCollapsible(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.splitter)
        self._set_buttons(False)
        self.destroyed.connect(self._tmp.cleanup)

    # -- public -----------------------------------------------------------
    def set_request(self, request_id: int | None) -> None:
        """A new request: forget what was drawn; draw again when the tab is visible."""
        if request_id == self.request_id and self._data is not None:
            return
        self.cancel()
        self.request_id = request_id
        self._forget()
        if request_id is None:
            self.view_stack.setCurrentWidget(self.placeholder)
            self.title.setText("")
        elif self.isVisible():
            self.show_chart(self.current_kind())

    def set_blind(self, on: bool) -> None:
        """Blind mode hides which output is the candidate; the charts would tell, so they wait."""
        if on == self.blind:
            return
        self.blind = on
        if on:
            self.cancel()
            self._loading = self._loaded = None
            self.title.setText("")
            self.message.setText("")
            self._set_buttons(False)
            self.placeholder.setText(BLIND_TEXT)
            self.view_stack.setCurrentWidget(self.placeholder)
        else:
            self.placeholder.setText(PLACEHOLDER_TEXT)
            if self.isVisible() and self.request_id is not None:
                self.show_chart(self.current_kind())

    def invalidate(self) -> None:
        """Labels or decisions changed: redraw on next show (now, if visible)."""
        self._forget()
        if self.isVisible() and self.request_id is not None:
            self.show_chart(self.current_kind())

    def refresh(self) -> None:
        self.invalidate()
        if self.request_id is not None and not self.isVisible():
            self.show_chart(self.current_kind())

    def current_kind(self) -> str:
        item = self.list.currentItem()
        return item.data(256) if item is not None else next(iter(CHART_TITLES))

    def chart(self, kind: str | None = None):
        """The signoff.report.charts.Chart drawn for `kind` (None before it is built)."""
        return self._charts.get(kind or self.current_kind())

    def show_chart(self, kind: str) -> None:
        """Draw chart `kind` (building it off the GUI thread when needed)."""
        if kind not in CHART_TITLES:
            raise KeyError(kind)
        self._select_item(kind)
        self._current = kind
        if self.blind:
            return
        self.title.setText(CHART_TITLES[kind])
        if self.request_id is None:
            self.view_stack.setCurrentWidget(self.placeholder)
            return
        dark = is_dark()
        if dark != self._dark_built:
            self._charts.clear()
            self._pages.clear()
        page = self._pages.get(kind)
        if page is not None:
            self._load(kind, page)
            return
        self.cancel()
        self._serial += 1
        self._set_buttons(False)
        self.message.setText("reading the comparison…" if self._data is None else "drawing…")
        self.cancel_button.show()
        self._task.start(prepare_chart, self.service, self.request_id, kind, dark, self._data,
                         str(self.folder), self._serial,
                         on_progress=lambda msg, _f: self.message.setText(msg),
                         on_finished=lambda result, d=dark: self._prepared(d, result),
                         on_failed=lambda msg, details, k=kind: self._failed(k, msg, details),
                         on_cancelled=self._cancelled)

    def cancel(self) -> None:
        if self._task.cancel():
            self.message.setText("cancelled")
        self.cancel_button.hide()

    def shutdown(self, wait: float = 3.0) -> None:
        self._ready_timer.stop()
        self._png_timer.stop()
        self._task.shutdown(wait)
        if self.view is not None:   # the page must go before QtWebEngine's profile does (at exit)
            view, self.view = self.view, None
            self._loading = self._loaded = None
            self.view_stack.setCurrentWidget(self.placeholder)
            self.view_stack.removeWidget(view)
            page = view.page()
            page.deleteLater()
            view.deleteLater()

    def save_html(self, path: str | Path) -> Path | None:
        chart = self.chart(self._loaded)
        if chart is None:
            self.saveFailed.emit("no chart is shown yet")
            return None
        from signoff.report.html import chart_html

        path = Path(path)
        try:
            path.write_text(chart_html(chart, inline_plotly=True, dark=self._dark_built), encoding="utf-8")
        except OSError as exc:
            self._save_failed(f"could not write {path}: {exc.strerror or exc}")
            return None
        self.message.setText(f"saved {path}")
        self.saved.emit(str(path))
        return path

    def save_png(self, path: str | Path) -> None:
        """Ask plotly.js in the page for a PNG; `saved` is emitted when the file is written."""
        if self.view is None or self._loaded is None:
            self._save_failed("no chart is shown yet")
            return
        self._png_path = Path(path)
        self._png_waited = 0
        width = max(800, self.view.width())
        height = max(500, int(self.chart(self._loaded).figure.layout.height or self.view.height()))
        self.view.page().runJavaScript(f"window.signoffPng('chart-0', {width}, {height}); true")
        self._png_timer.start()

    def is_drawn(self) -> bool:
        return self._loaded is not None

    # -- internals --------------------------------------------------------
    def _forget(self) -> None:
        self._data = None
        self._charts.clear()
        self._pages.clear()
        self._loaded = None

    def _select_item(self, kind: str) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(256) == kind and self.list.currentItem() is not item:
                self.list.blockSignals(True)
                self.list.setCurrentItem(item)
                self.list.blockSignals(False)

    def _set_buttons(self, on: bool) -> None:
        self.png_button.setEnabled(on)
        self.html_button.setEnabled(on)

    def _ensure_view(self) -> None:
        if self.view is not None:
            return
        view_cls, page_cls, settings_cls = _web_classes()
        self.view = view_cls()
        self.view.setAccessibleName("chart")
        page = page_cls(self.folder, self.view)
        self.view.setPage(page)
        s = page.settings()
        s.setAttribute(settings_cls.WebAttribute.LocalContentCanAccessRemoteUrls, False)
        s.setAttribute(settings_cls.WebAttribute.JavascriptCanOpenWindows, False)
        s.setAttribute(settings_cls.WebAttribute.LocalContentCanAccessFileUrls, True)
        self.view.loadFinished.connect(self._load_finished)
        self.view_stack.addWidget(self.view)

    def _prepared(self, dark: bool, result) -> None:
        self.cancel_button.hide()
        data, chart, page = result
        self._data = data
        self._dark_built = dark
        self._charts[chart.id] = chart
        self._pages[chart.id] = page
        if chart.id == self._current and not self.blind:
            self._load(chart.id, page)

    def _load(self, kind: str, page: Path) -> None:
        self._ensure_view()
        self.view.page().setBackgroundColor(QColor("#1e1e1e" if self._dark_built else "#ffffff"))
        self.view_stack.setCurrentWidget(self.view)
        chart = self._charts.get(kind)
        self.message.setText(chart.note if chart is not None and chart.note else "")
        self._loaded = None
        self._loading = kind
        self._set_buttons(False)
        self.view.load(QUrl.fromLocalFile(str(page)))

    def _load_finished(self, ok: bool) -> None:
        kind = self._loading
        if kind is None:
            return
        if not ok:
            self._fail(kind, "the chart page did not load")
            return
        self._ready_waited = 0
        self._ready_timer.start()

    def _poll_ready(self) -> None:
        kind = self._loading
        if kind is None or self.view is None:
            self._ready_timer.stop()
            return
        self._ready_waited += READY_POLL_MS
        if self._ready_waited > READY_TIMEOUT_MS:
            self._ready_timer.stop()
            self._fail(kind, "plotly did not draw the chart in time")
            return
        self.view.page().runJavaScript("window.signoffError ? 'error: ' + window.signoffError : "
                                       "(window.signoffReady === true)", 0,
                                       lambda r, k=kind: self._ready_answer(k, r))

    def _ready_answer(self, kind: str, answer) -> None:
        if kind != self._loading or not self._ready_timer.isActive():
            return
        if isinstance(answer, str) and answer.startswith("error"):
            self._ready_timer.stop()
            self._fail(kind, answer)
        elif answer is True:
            self._ready_timer.stop()
            self._loading = None
            self._loaded = kind
            self._set_buttons(True)
            self.chartShown.emit(kind)

    def _fail(self, kind: str, message: str) -> None:
        self._loading = None
        self.message.setText(f"Could not draw {CHART_TITLES[kind].lower()}: {message}")
        self.chartFailed.emit(kind, message)

    def _failed(self, kind: str, message: str, details: str) -> None:
        self.cancel_button.hide()
        log.warning("chart %s failed: %s\n%s", kind, message, details)
        self._fail(kind, message)

    def _cancelled(self) -> None:
        self.cancel_button.hide()
        self.message.setText("cancelled")

    def _poll_png(self) -> None:
        if self.view is None:
            self._png_timer.stop()
            return
        self._png_waited += READY_POLL_MS
        if self._png_waited > READY_TIMEOUT_MS:
            self._png_timer.stop()
            self._save_failed("the chart image was not ready in time")
            return
        self.view.page().runJavaScript("window.signoffPngResult || null", 0, self._png_answer)

    def _png_answer(self, answer) -> None:
        if not answer or not self._png_timer.isActive() or self._png_path is None:
            return
        self._png_timer.stop()
        path, self._png_path = self._png_path, None
        prefix = "data:image/png;base64,"
        if not isinstance(answer, str) or not answer.startswith(prefix):
            self._save_failed(f"plotly could not make the image ({str(answer)[:120]})")
            return
        try:
            path.write_bytes(base64.b64decode(answer[len(prefix):]))
        except OSError as exc:
            self._save_failed(f"could not write {path}: {exc.strerror or exc}")
            return
        self.message.setText(f"saved {path}")
        self.saved.emit(str(path))

    def _save_failed(self, message: str) -> None:
        self.message.setText(f"Not saved: {message}")
        self.saveFailed.emit(message)

    def _default_name(self, suffix: str) -> str:
        kind = self._loaded or self.current_kind()
        rid = f"request{self.request_id}-" if self.request_id is not None else ""
        return str(Path.home() / f"signoff-{rid}{kind}{suffix}")

    def _ask_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save chart as PNG", self._default_name(".png"),
                                              "PNG image (*.png)")
        if path:
            self.save_png(path if path.lower().endswith(".png") else path + ".png")

    def _ask_html(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save chart as HTML", self._default_name(".html"),
                                              "HTML file (*.html)")
        if path:
            self.save_html(path if path.lower().endswith((".html", ".htm")) else path + ".html")

    def showEvent(self, event) -> None:  # noqa: N802 - draw when first shown
        super().showEvent(event)
        if self.request_id is not None and self._loaded is None and self._loading is None and not self.blind \
                and not self._task.running:
            self.show_chart(self.current_kind())
