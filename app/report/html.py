"""HTML for charts and the standalone report (no Qt).

Safety: nothing from a sample, a model output, a label or a person reaches
the page unescaped.

- Text goes through `html.escape` (quotes too) into `<pre>`/`<td>`.
- Figures travel as JSON in `<script type="application/json">` data blocks,
  with `<`, `>`, `&` and the JS line separators written as `\\uXXXX`, so
  no value can close the block or open a tag; plotly labels were already
  made literal by signoff.report.charts.plain().
- Images are decoded and re-encoded as PNG thumbnails (Pillow, with a pixel
  limit), so only pixels reach a `data:` URI, never the original bytes.
- A Content-Security-Policy allows only the page's own scripts, by their
  SHA-256 hashes: even a script that slipped through would not run.
  Images: data: URIs and the blob: URLs plotly's "download as PNG" makes.

Plotly.js comes from the installed plotly package (no CDN): inline in
standalone files, or as `plotly.min.js` next to the app's chart pages.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import io
import math
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import plotly.io as pio

from signoff import __version__
from signoff.report.charts import CLASS_ORDER, Chart, agreement_table, class_name
from signoff.core.jsondiff import TOO_DEEP
from signoff.report.data import ReviewData
from signoff.core.palette import CLASS_STYLE, STATUS_STYLE, VERDICT_WORDS

PLOTLY_JS_NAME = "plotly.min.js"
MAX_REGRESSIONS = 200           # per eval set in the report
MAX_OUTPUT_CHARS = 20_000       # per output in the report
THUMB_PX = 160
MAX_IMAGE_PIXELS = 40_000_000   # refuse to decode bigger images (image bombs)

# Run by the page once plotly.js is loaded: draws every data block into its div.
BOOT_JS = """(function () {
  var blocks = document.querySelectorAll('script[type="application/json"][data-chart]');
  var pending = [];
  blocks.forEach(function (block) {
    var fig = JSON.parse(block.textContent);
    var div = document.getElementById(block.getAttribute('data-chart'));
    pending.push(Plotly.newPlot(div, fig.data, fig.layout, fig.config || {}));
  });
  Promise.all(pending).then(function () { window.signoffReady = true; },
                            function (e) { window.signoffError = String(e); });
  window.signoffPng = function (id, width, height) {
    window.signoffPngResult = null;
    var div = document.getElementById(id || 'chart-0');
    Plotly.toImage(div, {format: 'png', width: width || div.clientWidth || 1100,
                         height: height || div.clientHeight || 700, scale: 2})
      .then(function (url) { window.signoffPngResult = url; },
            function (e) { window.signoffPngResult = 'error: ' + e; });
  };
})();"""


@functools.lru_cache(maxsize=1)
def plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def write_plotly_js(directory: Path) -> Path:
    """plotly.min.js (from the plotly package) in `directory`, written once."""
    path = Path(directory) / PLOTLY_JS_NAME
    js = plotly_js()
    if not path.exists() or path.stat().st_size != len(js.encode("utf-8")):
        tmp = path.with_suffix(".tmp")
        tmp.write_text(js, encoding="utf-8")
        tmp.replace(path)
    return path


def script_safe_json(obj_json: str) -> str:
    """JSON text that cannot end a <script> block or start markup."""
    return (obj_json.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def figure_block(chart: Chart, div_id: str, *, for_app: bool = False) -> str:
    fig = chart.figure.to_plotly_json()
    config = {"displaylogo": False, "responsive": True,
              "toImageButtonOptions": {"format": "png", "filename": chart.id, "scale": 2}}
    if for_app:  # the tab has its own Save buttons; a download in the embedded view would go nowhere
        config["modeBarButtonsToRemove"] = ["toImage"]
    payload = {"data": fig.get("data", []), "layout": fig.get("layout", {}), "config": config}
    text = script_safe_json(pio.json.to_json_plotly(payload))
    return (f'<div id="{div_id}" class="chart"></div>\n'
            f'<script type="application/json" data-chart="{div_id}">{text}</script>')


def _sha256(js: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(js.encode("utf-8")).digest()).decode("ascii") + "'"


def csp(inline_scripts: list[str], *, external: bool = False) -> str:
    sources = " ".join(_sha256(s) for s in inline_scripts)
    if external:
        sources += " file:"
    return (f"default-src 'none'; script-src {sources}; style-src 'unsafe-inline'; img-src data: blob:; "
            "font-src data:; base-uri 'none'; form-action 'none'")


def _scripts(inline_plotly: bool) -> tuple[str, list[str]]:
    """The <script> tags that load plotly and boot the charts, and the inline ones (for the CSP)."""
    if inline_plotly:
        js = plotly_js()
        return f"<script>{js}</script>\n<script>{BOOT_JS}</script>", [js, BOOT_JS]
    return f'<script src="{PLOTLY_JS_NAME}"></script>\n<script>{BOOT_JS}</script>', [BOOT_JS]


def chart_html(chart: Chart, *, inline_plotly: bool = True, dark: bool = False) -> str:
    """One chart as a whole page: standalone (plotly.js inline) or for the app (plotly.min.js beside it)."""
    scripts, inline = _scripts(inline_plotly)
    bg, fg = ("#1e1e1e", "#e8e8e8") if dark else ("#ffffff", "#222222")
    note = f'<p class="note">{html.escape(chart.note)}</p>' if chart.note and chart.figure.data else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp(inline, external=not inline_plotly)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(chart.title)}</title>
<style>html,body{{margin:0;background:{bg};color:{fg};font-family:'DejaVu Sans',Arial,sans-serif}}
.chart{{width:100%}} .note{{margin:4px 12px;font-size:13px;opacity:.8}}</style>
</head><body>
{note}
{figure_block(chart, "chart-0", for_app=not inline_plotly)}
{scripts}
</body></html>
"""


# -- the report --------------------------------------------------------------------------

def _e(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return html.escape(str(value), quote=True)


def _num(v, sign: bool = False, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return (f"{v:+.{digits}f}" if sign else f"{v:.{digits}f}").replace("-", "−")


def _when(dt) -> str:
    if dt is None or (not isinstance(dt, datetime) and pd.isna(dt)):
        return ""
    if isinstance(dt, pd.Timestamp):
        dt = dt.to_pydatetime()
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _text_block(value, css: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '<pre class="out none">(none)</pre>'
    try:
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    except RecursionError:   # a parsed JSON value nested deeper than repr goes (docs/trust.md)
        text = f"({TOO_DEEP})"
    more = ""
    if len(text) > MAX_OUTPUT_CHARS:
        more = f'<div class="more">… {len(text) - MAX_OUTPUT_CHARS:,} more characters not shown</div>'
        text = text[:MAX_OUTPUT_CHARS]
    return f'<pre class="out {css}">{html.escape(text, quote=True)}</pre>{more}'


def thumbnail(data) -> str | None:
    """A PNG data URI of a small re-encoded copy, or None when `data` is no image we decode safely."""
    if not isinstance(data, (bytes, bytearray, memoryview)) or not len(data):
        return None
    try:
        from PIL import Image

        with Image.open(io.BytesIO(bytes(data))) as im:
            w, h = im.size
            if w * h > MAX_IMAGE_PIXELS or w <= 0 or h <= 0:
                return None
            im.thumbnail((THUMB_PX, THUMB_PX))
            out = io.BytesIO()
            im.convert("RGBA" if im.mode in ("RGBA", "LA", "P") else "RGB").save(out, format="PNG")
    except Exception:  # not an image, truncated, a bomb: shown as "no image", never fatal
        return None
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _image_cell(row: dict, column: str) -> str:
    uri = thumbnail(row.get(column + "_bytes"))
    name = _e(row.get(column))
    if uri is None:
        return f'<div class="img-missing">no image shown{": " + name if name else ""}</div>'
    return f'<img class="thumb" alt="{name}" src="{uri}"><div class="caption">{name}</div>'


def _status_badge(status: str) -> str:
    colour, symbol = STATUS_STYLE.get(status, ("#999999", "•"))
    return f'<span class="badge" style="border-color:{colour};color:{colour}">{symbol} {_e(status)}</span>'


def _class_chip(cls: str) -> str:
    colour = CLASS_STYLE.get(cls, ("#999999", "?"))[0]
    return f'<span class="chip" style="border-color:{colour}">{_e(class_name(cls))}</span>'


def _labels_html(labels: pd.DataFrame) -> str:
    if not len(labels):
        return ""
    items = []
    for rec in labels.to_dict("records"):
        parts = []
        v = rec.get("verdict")
        if isinstance(v, str) and v:
            parts.append(f"<b>{_e(VERDICT_WORDS.get(v, v))}</b>")
        c = rec.get("correct")
        if c is not None and not (isinstance(c, float) and math.isnan(c)):
            parts.append("candidate correct ✓" if bool(c) else "candidate incorrect ✗")
        if isinstance(rec.get("error"), str) and rec.get("error"):
            parts.append(f"error: {_e(rec['error'])}")
        comment = rec.get("comment")
        text = " · ".join(parts) or "(no verdict)"
        com = f'<div class="comment">“{_e(comment)}”</div>' if isinstance(comment, str) and comment else ""
        items.append(f'<li>{text} — <span class="who">{_e(rec.get("user"))}</span> '
                     f'<span class="when">{_e(_when(rec.get("updated_at")))}</span>{com}</li>')
    return '<ul class="labels">' + "".join(items) + "</ul>"


def _checklist(data: ReviewData) -> str:
    v = data.verdict
    if v is None:
        return "<p>The policy could not be evaluated: " + _e("; ".join(data.problems)) + "</p>"
    rows = "".join(
        f'<tr class="{"ok" if c.ok else "todo"}"><td class="mark">{"✓" if c.ok else "✗"}</td>'
        f'<td>{_e(c.name)}</td><td>{_e(c.detail)}</td></tr>' for c in v.checklist)
    missing = ""
    if v.missing:
        missing = "<p><b>Still missing:</b> " + ", ".join(_e(m) for m in v.missing) + "</p>"
    return f'<table class="check"><tr><th></th><th>requirement</th><th>state</th></tr>{rows}</table>{missing}'


def _decisions(data: ReviewData) -> str:
    v = data.verdict
    if v is None:
        return ""
    rows = []
    for d, stale in [(d, False) for d in v.current] + [(d, True) for d in v.stale]:
        cls = "stale" if stale else ""
        note = '<div class="why">stale: made on other content</div>' if stale else ""
        rows.append(f'<tr class="{cls}"><td>{_e(d.user)}</td><td>{_e(d.role)}</td>'
                    f'<td><b>{_e(getattr(d.kind, "value", d.kind))}</b>{note}</td>'
                    f'<td>{_e(d.comment)}</td><td>{_e(_when(d.created_at))}</td></tr>')
    if not rows:
        return "<p>No decisions yet.</p>"
    return ('<table class="decisions"><tr><th>who</th><th>role</th><th>decision</th><th>comment</th><th>when</th></tr>'
            + "".join(rows) + "</table>")


def _summary(data: ReviewData) -> str:
    head = "".join(f"<th>{_e(class_name(c))}</th>" for c in CLASS_ORDER)
    rows = []
    for es in data.eval_sets:
        s, m = es.summary, es.summary.get("metrics", {})
        counts = "".join(f'<td class="num">{s["classes"].get(c, 0):,}</td>' for c in CLASS_ORDER)
        rows.append(f'<tr><td>{_e(es.name)}</td><td>{_e(es.output_type)}</td><td class="num">{s["samples"]:,}</td>'
                    f'{counts}<td class="num">{_num(m.get("baseline_mean_score"))}</td>'
                    f'<td class="num">{_num(m.get("candidate_mean_score"))}</td>'
                    f'<td class="num">{_num(m.get("mean_score_delta"), sign=True)}</td></tr>')
    return (f'<table class="summary"><tr><th>eval set</th><th>type</th><th>samples</th>{head}'
            '<th>baseline</th><th>candidate</th><th>Δ mean score</th></tr>' + "".join(rows) + "</table>")


def _regressions(data: ReviewData) -> str:
    out = []
    labels = data.labels
    for es in data.eval_sets:
        t = es.table
        reg = t[t["class"].astype(str) == "regressed"]
        if not len(reg):
            continue
        mine = labels[labels["eval_set"] == es.name] if len(labels) else labels
        labeled_ids = set(mine["sample_id"].astype(str)) if len(mine) else set()
        ids = reg["id"].astype(str)
        lab = reg[ids.isin(labeled_ids).to_numpy()]
        unlabeled = len(reg) - len(lab)
        out.append(f'<h3>{_e(es.name)} <span class="count">{len(lab):,} of {len(reg):,} regressions labeled'
                   f'{f", {unlabeled:,} not labeled yet" if unlabeled else ""}</span></h3>')
        if not len(lab):
            continue
        by_id = {sid: g for sid, g in mine.groupby(mine["sample_id"].astype(str))} if len(mine) else {}
        image = es.output_type == "image"
        for rec in lab.head(MAX_REGRESSIONS).to_dict("records"):
            sid = str(rec["id"])
            slices = " · ".join(f"{_e(c)} = {_e(rec.get(c))}" for c in es.slices if c in rec)
            scores = (f'score {_num(rec.get("baseline_score"))} → {_num(rec.get("candidate_score"))} '
                      f'(Δ {_num(rec.get("delta"), sign=True)})')
            if image:
                outputs = (f'<div class="side"><h4>input</h4>{_image_cell(rec, "input")}</div>'
                           f'<div class="side"><h4>reference</h4>{_image_cell(rec, "reference")}</div>'
                           f'<div class="side"><h4>baseline output</h4>{_image_cell(rec, "baseline_output")}</div>'
                           f'<div class="side"><h4>candidate output</h4>{_image_cell(rec, "candidate_output")}</div>')
                body = f'<div class="sides four">{outputs}</div>'
            else:
                body = (f'<div class="io"><h4>input</h4>{_text_block(rec.get("input"))}'
                        f'<h4>reference</h4>{_text_block(rec.get("reference"))}</div>'
                        f'<div class="sides"><div class="side"><h4>baseline output</h4>'
                        f'{_text_block(rec.get("baseline_output"), "base")}</div>'
                        f'<div class="side"><h4>candidate output</h4>'
                        f'{_text_block(rec.get("candidate_output"), "cand")}</div></div>')
            out.append(f'<div class="sample"><div class="sample-head">{_class_chip("regressed")} '
                       f'<b class="sid">{_e(sid)}</b> <span class="slices">{slices}</span> '
                       f'<span class="scores">{scores}</span></div>{body}'
                       f'{_labels_html(by_id.get(sid, labels.iloc[0:0]))}</div>')
        if len(lab) > MAX_REGRESSIONS:
            out.append(f'<p class="more">… and {len(lab) - MAX_REGRESSIONS:,} more labeled regressions: '
                       'export them from the app (File ▸ Export samples) or with `signoff samples --export`.</p>')
    return "".join(out) or "<p>No regressions in this request.</p>"


def _agreement_text(data: ReviewData) -> str:
    pairs = [p for p in agreement_table(data.labels) if p["n"]]
    if not pairs:
        return ""
    rows = "".join(f'<tr><td>{_e(p["a"])}</td><td>{_e(p["b"])}</td><td class="num">{p["n"]:,}</td>'
                   f'<td class="num">{p["agreement"] * 100:.0f}%</td>'
                   f'<td class="num">{"n/a" if p["kappa"] is None else _num(p["kappa"], digits=2)}</td></tr>'
                   for p in pairs)
    return ('<h3>Reviewer agreement</h3><table class="agreement"><tr><th>reviewer</th><th>reviewer</th><th>shared samples</th>'
            '<th>same verdict</th><th>Cohen’s κ</th></tr>' + rows + "</table>")


REPORT_CSS = """
body{font-family:'DejaVu Sans',Arial,sans-serif;color:#222;background:#fff;margin:0 auto;max-width:1200px;padding:16px 24px;line-height:1.4}
h1{font-size:22px;margin:4px 0} h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px} h4{font-size:12px;margin:6px 0 2px;color:#555;text-transform:uppercase;letter-spacing:.04em}
table{border-collapse:collapse;margin:6px 0;font-size:13px} th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4} td.num{text-align:right;font-variant-numeric:tabular-nums} .meta td:first-child{color:#555}
.badge{border:2px solid;border-radius:12px;padding:1px 10px;font-weight:bold}
.chip{border:2px solid;border-radius:10px;padding:0 6px;font-size:12px}
tr.todo .mark{color:#D55E00;font-weight:bold} tr.ok .mark{color:#009E73;font-weight:bold}
tr.stale td{text-decoration:line-through;color:#777} tr.stale .why{text-decoration:none;font-size:11px}
.sample{border:1px solid #ddd;border-left:4px solid #D55E00;margin:10px 0;padding:6px 10px;page-break-inside:avoid}
.sample-head{margin-bottom:4px} .slices,.scores,.when,.count{color:#555;font-size:12px;font-weight:normal}
.sides{display:flex;gap:10px} .side{flex:1;min-width:0}
pre.out{white-space:pre-wrap;word-break:break-word;background:#f7f7f7;border:1px solid #e4e4e4;padding:6px;margin:0;max-height:320px;overflow:auto;font-size:12px}
pre.none{color:#999} .labels{margin:6px 0 0 0;padding-left:18px;font-size:13px} .comment{color:#444;font-style:italic}
.thumb{image-rendering:pixelated;width:140px;height:auto;border:1px solid #ccc} .caption{font-size:11px;color:#666}
.img-missing{font-size:12px;color:#999;padding:20px 0} .more{color:#666;font-size:12px}
.chart{width:100%;margin:8px 0 24px} .note{color:#555;font-size:13px}
footer{margin-top:40px;color:#888;font-size:12px}
@media print{.chart{page-break-inside:avoid}}
"""


def report_html(data: ReviewData, charts: list[Chart]) -> str:
    """The standalone report: one file, plotly.js inline, every output escaped."""
    r = data.request
    v = data.verdict
    status = v.status.value if v is not None else r.status
    description = v.description if v is not None else r.description
    chart_parts = []
    for i, chart in enumerate(charts):
        note = f'<p class="note">{_e(chart.note)}</p>' if chart.note else ""
        chart_parts.append(f'<div id="{_e(chart.id)}">{note}{figure_block(chart, f"chart-{i}")}</div>')
    scripts, inline = _scripts(True)
    generated = datetime.now(timezone.utc)
    agreement = _agreement_text(data)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp(inline)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Signoff report: {_e(r.sha[:10])} {_e(r.title)}</title>
<style>{REPORT_CSS}</style>
</head><body>
<header>
<div class="meta">Signoff review report</div>
<h1>{_e(r.title) or "(no title)"}</h1>
<p>{_status_badge(status)} {_e(description)}</p>
<table class="meta">
<tr><td>request</td><td>{r.id}</td></tr>
<tr><td>candidate</td><td><code>{_e(r.candidate_ref)}</code> (commit <code>{_e(r.sha)}</code>)</td></tr>
<tr><td>baseline</td><td><code>{_e(r.baseline_ref)}</code></td></tr>
<tr><td>author</td><td>{_e(r.author)}</td></tr>
<tr><td>change</td><td>{_e(r.change_key)}</td></tr>
<tr><td>requested</td><td>{_e(_when(r.created_at))}{" by " + _e(r.created_by) if r.created_by else ""}</td></tr>
<tr><td>eval sets</td><td>{", ".join(_e(n) for n in r.eval_sets)}</td></tr>
</table>
</header>
<section id="policy"><h2>Policy checklist</h2>{_checklist(data)}</section>
<section id="decisions"><h2>Decisions</h2>{_decisions(data)}</section>
<section id="summary"><h2>Summary</h2>{_summary(data)}{agreement}</section>
<section id="charts"><h2>Charts</h2>{"".join(chart_parts)}</section>
<section id="regressions"><h2>Labeled regressions</h2>
<p class="note">Regressed samples that at least one reviewer labeled, worst first, with both outputs and every label.</p>
{_regressions(data)}</section>
<footer>Generated {_e(_when(generated))} by Signoff {_e(__version__)}
{"for " + _e(data.user) if data.user else ""}. Model outputs are shown as text; nothing in them runs.</footer>
{scripts}
</body></html>
"""


def write_report(data: ReviewData, charts: list[Chart], path: str | Path) -> Path:
    path = Path(path)
    text = report_html(data, charts)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path


def build_report(service, request_id: int, path: str | Path, *, task=None) -> Path:
    """Collect, chart and write the report (the CLI and the window's menu action)."""
    from signoff.report.charts import build_charts, relevant_kinds
    from signoff.report.data import collect

    data = collect(service, request_id, task=task, keep_bytes=True)
    charts = build_charts(data, task=task, kinds=relevant_kinds(data))   # the bound / the trend where they apply
    return write_report(data, charts, path)
