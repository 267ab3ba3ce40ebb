"""The Charts tab: every chart drawn by plotly in QtWebEngine, offline, and
saved as PNG and as standalone HTML."""

from __future__ import annotations

import pytest

from signoff.report.charts import CHART_KINDS
from signoff.report.html import plotly_js

pytestmark = pytest.mark.gui

WAIT = 30_000


def show(qtbot, tab, kind):
    with qtbot.waitSignal(tab.chartShown, timeout=WAIT, check_params_cb=lambda k: k == kind) as blocker:
        tab.show_chart(kind)
    return blocker


@pytest.fixture
def charts(qtbot, window, open_request):
    open_request(window, 1)
    window.extras.show_charts()
    tab = window.charts_tab
    assert tab.isVisible()
    return tab


def test_every_chart_is_drawn_in_the_charts_tab(qtbot, charts):
    if not charts.is_drawn():
        qtbot.waitUntil(charts.is_drawn, timeout=WAIT)     # showing the tab draws the first chart
    for kind in CHART_KINDS:
        show(qtbot, charts, kind)
        assert charts.title.text() == CHART_KINDS[kind][0]
        svg = []
        charts.view.page().runJavaScript("document.querySelectorAll('.main-svg').length", 0, svg.append)
        qtbot.waitUntil(lambda: bool(svg), timeout=5000)
        assert svg[0] >= 1, kind                             # plotly drew into the page
    assert charts.png_button.isEnabled() and charts.html_button.isEnabled()
    # Offline: pages load plotly.js from the private folder, never from the network.
    page = next(charts.folder.glob("*.html")).read_text()
    assert '<script src="plotly.min.js">' in page and "https://cdn" not in page
    assert (charts.folder / "plotly.min.js").stat().st_size == len(plotly_js().encode())


def test_a_chart_saves_as_png_and_as_standalone_html(qtbot, charts, tmp_path):
    show(qtbot, charts, "confusion_change")
    png = tmp_path / "confusion.png"
    with qtbot.waitSignal(charts.saved, timeout=WAIT):
        charts.save_png(png)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    html = tmp_path / "confusion.html"
    with qtbot.waitSignal(charts.saved, timeout=5000):
        charts.save_html(html)
    text = html.read_text()
    assert plotly_js()[:100] in text and 'src="plotly.min.js"' not in text   # plotly.js inline
    assert "Confusion-matrix change" in text


def test_label_keys_are_off_while_the_charts_show(qtbot, window, open_request, service):
    open_request(window, 1)
    window.extras.show_charts()
    assert not window.actions_by_id["label.candidate"].isEnabled()
    window.extras.show_samples()
    assert window.actions_by_id["label.candidate"].isEnabled()


def test_new_labels_redraw_review_progress(qtbot, charts, window):
    show(qtbot, charts, "review_progress")
    before = charts.chart("review_progress").figure
    labeled = next(t for t in before.data if t.name == "labeled")
    assert sum(labeled.x) == 0
    window.extras.show_samples()
    window.label_verdict(__import__("signoff.core.model", fromlist=["Verdict"]).Verdict.BASELINE)
    window.extras.show_charts()
    qtbot.waitUntil(lambda: charts.chart("review_progress") is not None
                    and charts.chart("review_progress").figure is not before, timeout=WAIT)
    labeled = next(t for t in charts.chart("review_progress").figure.data if t.name == "labeled")
    assert sum(labeled.x) == 1


def test_blind_mode_hides_the_charts(qtbot, charts, window):
    if not charts.is_drawn():
        qtbot.waitUntil(charts.is_drawn, timeout=WAIT)
    window.blind_check.setChecked(True)
    assert charts.view_stack.currentWidget() is charts.placeholder
    assert "Blind mode is on" in charts.placeholder.text() and not charts.png_button.isEnabled()
    with qtbot.waitSignal(charts.chartShown, timeout=WAIT):
        window.blind_check.setChecked(False)
    assert charts.view_stack.currentWidget() is charts.view
