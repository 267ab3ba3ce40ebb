"""Charts and the standalone HTML report, with no Qt.

    data = collect(service, request_id)        # ReviewData: request, policy, tables, labels
    charts = build_charts(data)                # list[Chart]: plotly figures, one per kind
    html = report_html(data, charts)           # one self-contained, script-safe HTML file

The window (app/ui/charts_tab.py) runs the same functions on a worker
thread and shows the figures through QtWebEngine; `signoff report` writes
the HTML file. Every string that comes from a model, a sample or a person
is escaped before it reaches HTML or a plotly label.

Names are imported on first use, so `signoff.report.kinds` (the chart list)
costs nothing at start-up; plotly loads with the first chart.
"""

from importlib import import_module

_WHERE = {"CHART_KINDS": "charts", "Chart": "charts", "build_charts": "charts", "ReviewData": "data",
          "collect": "data", "chart_html": "html", "report_html": "html", "write_plotly_js": "html",
          "build_report": "html", "CHART_TITLES": "kinds"}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(f"signoff.report.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'signoff.report' has no attribute {name!r}")
