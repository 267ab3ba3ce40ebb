"""Plotly figures from a ReviewData (no Qt; the same figures serve the
window's Charts tab, saved chart files and the HTML report).

Each builder returns a `Chart`: an id, a title, the figure and a note when
there is nothing to show (the figure then says so too). Colours come from
app/ui/palette.py's table (Okabe-Ito, colour-blind safe) and never stand
alone: every trace is named with its class word and symbol, and deltas
carry their sign as text.

Strings from samples, models and people (slice values, class labels of a
classifier, reviewer e-mails, eval set names) are escaped with `plain()`:
plotly reads a subset of HTML in labels (`<b>`, `<a href>`), so a slice
value such as `<b>x</b>` would otherwise change how the chart looks.

Large sets stay small in the figure: histograms are binned here with numpy,
and no per-sample value is put into a figure.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from itertools import combinations
from typing import Callable

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from signoff.core.tasks import NULL_TASK, TaskState
from signoff.report.data import EvalSetData, ReviewData
from signoff.report.kinds import CHART_TITLES
from signoff.core.palette import CLASS_STYLE, VERDICT_WORDS

CLASS_ORDER = ["regressed", "missing", "changed", "improved", "unchanged"]   # worst first, as the table
REVIEW_CLASSES = ["regressed", "changed", "improved", "missing"]             # what reviewers look at
VERDICT_ORDER = ["candidate", "baseline", "tie", "both-wrong"]
VERDICT_COLOURS = {"candidate": "#009E73", "baseline": "#D55E00", "tie": "#56B4E9", "both-wrong": "#0072B2"}
BASELINE_COLOUR, CANDIDATE_COLOUR = "#56B4E9", "#0072B2"   # sky blue (dashed) / blue (solid)
UNLABELED_COLOUR = "#BBBBBB"
MAX_SLICE_VALUES = 25          # per slice column, the most frequent
MAX_CLASSES = 15               # confusion matrix: the most frequent labels, the rest as "(other)"
BINS = 30


@dataclass
class Chart:
    id: str
    title: str
    figure: go.Figure
    note: str = ""                # why the chart is empty, or a caveat; shown beside it

    @property
    def empty(self) -> bool:
        return bool(self.note) and not self.figure.data


@dataclass(frozen=True)
class Theme:
    dark: bool = False

    @property
    def template(self) -> str:
        return "plotly_dark" if self.dark else "plotly_white"

    @property
    def background(self) -> str:
        return "#1e1e1e" if self.dark else "#ffffff"

    @property
    def neutral(self) -> str:     # the middle of a diverging scale: the background
        return "#2b2b2b" if self.dark else "#ffffff"

    @property
    def text(self) -> str:
        return "#e8e8e8" if self.dark else "#222222"


LIGHT, DARK = Theme(False), Theme(True)


def plain(value, limit: int = 60) -> str:
    """A string from data, made literal for plotly labels (and shortened)."""
    text = "(none)" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return html.escape(text, quote=False)


def class_name(cls: str) -> str:
    colour, symbol = CLASS_STYLE.get(cls, ("#999999", "?"))
    return f"{symbol} {cls}"


def _fmt(v: float | None, sign: bool = False, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    text = f"{v:+.{digits}f}" if sign else f"{v:.{digits}f}"
    return text.replace("-", "−")


def _base_layout(fig: go.Figure, theme: Theme, title: str, height: int, subtitle: str = "") -> go.Figure:
    full = title if not subtitle else f"{title}<br><sup>{subtitle}</sup>"
    top, bottom = (100 if subtitle else 70), 40
    fig.update_layout(template=theme.template, title={"text": full, "x": 0.01, "xanchor": "left"},
                      height=int(height), margin={"l": 10, "r": 30, "t": top, "b": bottom},
                      paper_bgcolor=theme.background, plot_bgcolor=theme.background,
                      font={"family": "DejaVu Sans, Arial, sans-serif", "size": 12, "color": theme.text},
                      legend={"orientation": "v", "yanchor": "top", "y": 1.0, "xanchor": "left", "x": 1.01},
                      hoverlabel={"namelength": -1})
    return fig


def _empty(theme: Theme, title: str, message: str) -> go.Figure:
    fig = go.Figure()
    _base_layout(fig, theme, title, 320)
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                       font={"size": 15, "color": theme.text})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def _spacing(rows: int, height: float, gap_px: float = 100.0) -> float:
    """make_subplots' vertical_spacing (a fraction of the plot height) for a gap in pixels."""
    if rows <= 1:
        return 0.0
    return min(gap_px / max(height, 1.0), 0.9 / (rows - 1))


def _slice_rows(es: EvalSetData) -> list[tuple[str, pd.Series | None]]:
    """("all", None) then ("column = value", mask) for the most frequent values of each slice."""
    rows: list[tuple[str, pd.Series | None]] = [("all samples", None)]
    t = es.table
    for col in es.slices:
        values = t[col].astype("string").fillna("(none)")
        for value in values.value_counts().index[:MAX_SLICE_VALUES]:
            rows.append((f"{plain(col, 24)} = {plain(value, 30)}", values == value))
    return rows


def _means(frame: pd.DataFrame) -> tuple[float | None, float | None, int]:
    both = frame[frame["class"].astype(str) != "missing"]
    b, c = both["baseline_score"].mean(), both["candidate_score"].mean()
    return (None if pd.isna(b) else float(b)), (None if pd.isna(c) else float(c)), int(len(frame))


# -- the charts ----------------------------------------------------------------------------

def metric_deltas(data: ReviewData, theme: Theme = LIGHT) -> Chart:
    title = "Metric deltas per eval set and slice"
    sets = [es for es in data.eval_sets if len(es.table)]
    if not sets:
        return Chart("metric_deltas", title, _empty(theme, title, "This request has no samples."), "no samples")
    rows_per = [_slice_rows(es) for es in sets]
    heights = [len(r) for r in rows_per]
    height = 120 + sum(heights) * 26 + len(sets) * 110
    fig = make_subplots(rows=len(sets), cols=1, subplot_titles=[plain(es.name) for es in sets],
                        row_heights=heights, vertical_spacing=_spacing(len(sets), height))
    any_score = False
    for i, (es, rows) in enumerate(zip(sets, rows_per), start=1):
        names, deltas, colours, texts, custom = [], [], [], [], []
        sign = 1.0 if es.higher_is_better else -1.0
        for name, mask in rows:
            frame = es.table if mask is None else es.table[mask.to_numpy()]
            b, c, n = _means(frame)
            d = None if b is None or c is None else c - b
            any_score = any_score or d is not None
            names.append(name)
            deltas.append(0.0 if d is None else d)
            good = d is not None and sign * d > 0
            bad = d is not None and sign * d < 0
            colours.append(CLASS_STYLE["improved"][0] if good else CLASS_STYLE["regressed"][0] if bad else "#999999")
            word = "better" if good else "worse" if bad else "no change" if d is not None else "no scores"
            texts.append(f"{_fmt(d, sign=True)} ({word})" if d is not None else "no scores")
            custom.append([_fmt(b), _fmt(c), f"{n:,}", word])
        fig.add_trace(go.Bar(
            y=names, x=deltas, orientation="h", marker_color=colours, text=texts, textposition="outside",
            cliponaxis=False, customdata=custom, showlegend=False, name=plain(es.name),
            hovertemplate="%{y}<br>baseline mean %{customdata[0]} → candidate %{customdata[1]}"
                          "<br>Δ %{x:+.4f} (%{customdata[3]})<br>%{customdata[2]} samples<extra></extra>"),
            row=i, col=1)
        lo, hi = min(0.0, *deltas), max(0.0, *deltas)
        pad = (hi - lo) * 0.35 or 1.0
        fig.update_yaxes(autorange="reversed", row=i, col=1)
        fig.update_xaxes(zeroline=True, zerolinewidth=2, range=[lo - (pad if lo < 0 else 0), hi + pad],
                         title_text="Δ mean score (candidate − baseline)"
                         + ("" if es.higher_is_better else ", lower is better"), row=i, col=1)
    _base_layout(fig, theme, title, height,
                 "green: the candidate is better, vermillion: worse; each eval set on its own scale")
    return Chart("metric_deltas", title, fig, "" if any_score else "no scores in this request")


def classes_per_slice(data: ReviewData, theme: Theme = LIGHT) -> Chart:
    title = "Change classes per slice"
    sets = [es for es in data.eval_sets if len(es.table)]
    if not sets:
        return Chart("classes_per_slice", title, _empty(theme, title, "This request has no samples."), "no samples")
    rows_per = [_slice_rows(es) for es in sets]
    heights = [len(r) for r in rows_per]
    height = 140 + sum(heights) * 26 + len(sets) * 110
    fig = make_subplots(rows=len(sets), cols=1, subplot_titles=[plain(es.name) for es in sets],
                        row_heights=heights, vertical_spacing=_spacing(len(sets), height))
    for i, (es, rows) in enumerate(zip(sets, rows_per), start=1):
        cls = es.table["class"].astype(str)
        counts = []
        for _name, mask in rows:
            sel = cls if mask is None else cls[mask.to_numpy()]
            counts.append(sel.value_counts())
        for c in CLASS_ORDER:
            n = np.array([int(vc.get(c, 0)) for vc in counts])
            total = np.array([max(1, int(vc.sum())) for vc in counts])
            pct = 100.0 * n / total
            fig.add_trace(go.Bar(
                y=[r[0] for r in rows], x=pct, orientation="h", name=class_name(c), legendgroup=c,
                showlegend=(i == 1), marker_color=CLASS_STYLE[c][0],
                customdata=np.stack([n, total], axis=1),
                hovertemplate=f"%{{y}}<br>{class_name(c)}: %{{customdata[0]:,}} of %{{customdata[1]:,}} "
                              f"(%{{x:.1f}}%)<extra></extra>"),
                row=i, col=1)
        fig.update_yaxes(autorange="reversed", row=i, col=1)
        fig.update_xaxes(range=[0, 100], ticksuffix="%", title_text="share of samples", row=i, col=1)
    fig.update_layout(barmode="stack")
    _base_layout(fig, theme, title, height,
                 "share of each slice's samples per change class, regressions first")
    return Chart("classes_per_slice", title, fig)


def _confusion_categories(ref: pd.Series, base: pd.Series, cand: pd.Series) -> list[str]:
    freq = pd.concat([ref, base, cand]).value_counts()
    cats = sorted(map(str, freq.index[:MAX_CLASSES]), key=lambda s: (len(s), s))
    if len(freq) > MAX_CLASSES:
        cats.append("(other)")
    return cats


def confusion_change(data: ReviewData, theme: Theme = LIGHT) -> Chart:
    title = "Confusion-matrix change (classification)"
    sets = [es for es in data.eval_sets if es.output_type == "label"]
    usable = []
    for es in sets:
        t = es.table
        t = t[(t["class"].astype(str) != "missing") & t["reference"].notna()]
        if len(t):
            usable.append((es, t))
    if not usable:
        why = ("No classification (label) eval set in this request." if not sets
               else "The classification eval sets have no reference labels.")
        return Chart("confusion_change", title, _empty(theme, title, why), why)
    columns = ("reference", "baseline_output", "candidate_output")
    cats_of = [_confusion_categories(*(t[c].astype(str) for c in columns)) for _, t in usable]
    sizes = [max(300, 34 * len(c) + 120) for c in cats_of]
    height = sum(sizes) + 110 * len(usable)
    fig = make_subplots(rows=len(usable), cols=1, subplot_titles=[plain(es.name) for es, _ in usable],
                        row_heights=sizes, vertical_spacing=_spacing(len(usable), height, 120))
    biggest = 0
    for i, ((es, t), cats) in enumerate(zip(usable, cats_of), start=1):
        ref, base, cand = (t[c].astype(str) for c in columns)
        known = set(cats)

        def fold(s: pd.Series) -> pd.Series:
            return s.where(s.isin(known), "(other)")

        ref, base, cand = fold(ref), fold(base), fold(cand)
        mb = pd.crosstab(ref, base).reindex(index=cats, columns=cats, fill_value=0).to_numpy()
        mc = pd.crosstab(ref, cand).reindex(index=cats, columns=cats, fill_value=0).to_numpy()
        change = mc - mb
        goodness = np.where(np.eye(len(cats), dtype=bool), change, -change).astype(float)
        biggest = max(biggest, int(np.abs(change).max()) if change.size else 0)
        text = [[("" if v == 0 else f"{v:+d}".replace("-", "−")) for v in row] for row in change]
        custom = np.stack([mb, mc, change], axis=-1)
        labels = [plain(c, 24) for c in cats]
        fig.add_trace(go.Heatmap(
            z=goodness, x=labels, y=labels, text=text, texttemplate="%{text}", customdata=custom,
            colorscale=[[0.0, CLASS_STYLE["regressed"][0]], [0.5, theme.neutral], [1.0, CLASS_STYLE["improved"][0]]],
            zmid=0, showscale=(i == 1), xgap=1, ygap=1,
            colorbar={"title": {"text": "better ↑ / worse ↓"}, "len": 0.6},
            hovertemplate="reference %{y} → predicted %{x}<br>baseline %{customdata[0]:,} · candidate "
                          "%{customdata[1]:,} (%{customdata[2]:+,})<extra></extra>"),
            row=i, col=1)
        fig.update_xaxes(title_text="predicted label", side="bottom", type="category", row=i, col=1)
        fig.update_yaxes(title_text="reference label", autorange="reversed", type="category", row=i, col=1)
    _base_layout(fig, theme, title, height,
                 "candidate minus baseline counts; green: more right on the diagonal or fewer mistakes off it")
    return Chart("confusion_change", title, fig, "" if biggest else "the two models' confusion matrices are equal")


def _step(edges: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.repeat(edges, 2)[1:-1]
    y = np.repeat(counts, 2)
    return np.concatenate([[edges[0]], x, [edges[-1]]]), np.concatenate([[0], y, [0]])


def score_distributions(data: ReviewData, theme: Theme = LIGHT) -> Chart:
    title = "Score distributions of both models"
    sets = []
    for es in data.eval_sets:
        b = es.table["baseline_score"].to_numpy(dtype=float)
        c = es.table["candidate_score"].to_numpy(dtype=float)
        b, c = b[~np.isnan(b)], c[~np.isnan(c)]
        if len(b) or len(c):
            sets.append((es, b, c))
    if not sets:
        return Chart("score_distributions", title, _empty(theme, title, "No eval set of this request has scores."),
                     "no scores")
    height = 110 + 280 * len(sets)
    fig = make_subplots(rows=len(sets), cols=1, subplot_titles=[plain(es.name) for es, _, _ in sets],
                        vertical_spacing=_spacing(len(sets), height))
    for i, (es, b, c) in enumerate(sets, start=1):
        both = np.concatenate([b, c])
        lo, hi = float(both.min()), float(both.max())
        if hi <= lo:
            hi = lo + 1.0
        edges = np.linspace(lo, hi, BINS + 1)
        for side, values, colour, dash in (("baseline", b, BASELINE_COLOUR, "dash"),
                                           ("candidate", c, CANDIDATE_COLOUR, "solid")):
            counts, _ = np.histogram(values, bins=edges)
            x, y = _step(edges, counts)
            mean = float(values.mean()) if len(values) else float("nan")
            fig.add_trace(go.Scatter(
                x=x, y=y, mode="lines", line={"color": colour, "dash": dash, "width": 2.5},
                fill="tozeroy" if side == "candidate" else None, fillcolor="rgba(0,114,178,0.12)",
                name=f"{side} (mean {_fmt(mean)})" if i == 1 else side, legendgroup=side, showlegend=True,
                hovertemplate=f"{side}: %{{y:,}} samples near score %{{x:.3g}}<extra></extra>"),
                row=i, col=1)
            if len(values):
                fig.add_vline(x=mean, line={"color": colour, "dash": dash, "width": 1}, row=i, col=1)
        fig.update_xaxes(title_text="score" + ("" if es.higher_is_better else " (lower is better)"), row=i, col=1)
        fig.update_yaxes(title_text="samples", row=i, col=1)
    _base_layout(fig, theme, title, height,
                 "baseline dashed, candidate solid; vertical lines mark the means")
    return Chart("score_distributions", title, fig)


def _labels_reviewed(data: ReviewData) -> pd.DataFrame:
    lab = data.labels
    if not len(lab):
        return lab
    has = lab["verdict"].notna() | lab["correct"].notna() | (lab["error"].fillna("").astype(str) != "")
    return lab[has]


def review_progress(data: ReviewData, theme: Theme = LIGHT) -> Chart:
    title = "Review progress"
    reviewed = _labels_reviewed(data)
    fig = make_subplots(rows=1, cols=2, column_widths=[0.62, 0.38], horizontal_spacing=0.16,
                        subplot_titles=["samples labeled, per eval set and class", "labels per reviewer"])
    ys, labeled_n, total_n = [], [], []
    colours = []
    for es in data.eval_sets:
        done = set(reviewed.loc[reviewed["eval_set"] == es.name, "sample_id"].astype(str)) if len(reviewed) else set()
        cls = es.table["class"].astype(str)
        ids = es.table["id"].astype(str)
        for c in REVIEW_CLASSES:
            mask = (cls == c).to_numpy()
            total = int(mask.sum())
            if not total:
                continue
            n = int(ids[mask].isin(done).sum()) if done else 0
            ys.append(f"{plain(es.name, 28)} · {class_name(c)}")
            labeled_n.append(n)
            total_n.append(total)
            colours.append(CLASS_STYLE[c][0])
    if ys:
        labeled_arr, total_arr = np.array(labeled_n), np.array(total_n)
        pct = 100.0 * labeled_arr / np.maximum(1, total_arr)
        fig.add_trace(go.Bar(
            y=ys, x=labeled_arr, orientation="h", marker_color=colours, name="labeled", showlegend=False,
            text=[f"{p:.0f}%" for p in pct], textposition="inside", insidetextanchor="start",
            customdata=np.stack([total_arr, pct], axis=1),
            hovertemplate="%{y}<br>%{x:,} of %{customdata[0]:,} labeled (%{customdata[1]:.0f}%)<extra></extra>"),
            row=1, col=1)
        fig.add_trace(go.Bar(
            y=ys, x=total_arr - labeled_arr, orientation="h", name="not labeled yet", showlegend=False,
            marker={"color": UNLABELED_COLOUR, "pattern": {"shape": "/", "fgcolor": "#777777"}},
            hovertemplate="%{y}<br>%{x:,} not labeled yet<extra></extra>"),
            row=1, col=1)
        fig.update_yaxes(autorange="reversed", row=1, col=1)
        fig.update_xaxes(title_text="samples", row=1, col=1)
    users = sorted(reviewed["user"].astype(str).unique()) if len(reviewed) else []
    for v in VERDICT_ORDER + [None]:
        sel = reviewed[reviewed["verdict"].isna()] if v is None else reviewed[reviewed["verdict"] == v]
        counts = sel["user"].astype(str).value_counts() if len(sel) else pd.Series(dtype=int)
        if not users:
            break
        fig.add_trace(go.Bar(
            y=[plain(u, 32) for u in users], x=[int(counts.get(u, 0)) for u in users], orientation="h",
            name=VERDICT_WORDS.get(v, v) if v else "no verdict (correct/error only)",
            marker_color=VERDICT_COLOURS.get(v, "#999999"),
            hovertemplate="%{y}: %{x:,} " + (VERDICT_WORDS.get(v, v) if v else "without verdict") + "<extra></extra>"),
            row=1, col=2)
    fig.update_layout(barmode="stack")
    policy = data.config.policy if data.config else None
    goal = "left: solid = labeled, grey hatched = not yet; right: each reviewer's verdicts"
    if policy is not None:
        goal += f"<br>policy: at least {policy.min_changed_reviewed:.0%} of changed samples labeled"
        if policy.all_regressions_reviewed:
            goal += ", every regression labeled"
    if data.verdict is not None:
        goal += "<br>now: " + plain(data.verdict.description, 140)
    _base_layout(fig, theme, title, max(420, 190 + 30 * max(len(ys), len(users))), goal)
    fig.update_layout(margin={"t": 165})   # three lines of subtitle above the subplot titles
    note = "" if ys else "nothing to review: no changed, improved, regressed or missing samples"
    if not ys and not users:
        return Chart("review_progress", title, _empty(theme, title, "Nothing to review in this request."), note)
    return Chart("review_progress", title, fig, note)


def agreement_table(labels: pd.DataFrame) -> list[dict]:
    """Pairwise agreement on verdicts: n shared samples, share agreeing, Cohen's kappa."""
    lab = labels[labels["verdict"].notna()] if len(labels) else labels
    if not len(lab):
        return []
    wide = lab.assign(key=lab["eval_set"].astype(str) + "\x1f" + lab["sample_id"].astype(str)) \
              .pivot_table(index="key", columns="user", values="verdict", aggfunc="last")
    out = []
    for a, b in combinations(sorted(wide.columns), 2):
        pair = wide[[a, b]].dropna()
        n = len(pair)
        if not n:
            out.append({"a": a, "b": b, "n": 0, "agreement": None, "kappa": None})
            continue
        po = float((pair[a] == pair[b]).mean())
        pa, pb = pair[a].value_counts(normalize=True), pair[b].value_counts(normalize=True)
        pe = float(sum(pa.get(k, 0.0) * pb.get(k, 0.0) for k in set(pa.index) | set(pb.index)))
        kappa = None if pe >= 1.0 else (po - pe) / (1.0 - pe)
        out.append({"a": a, "b": b, "n": n, "agreement": po, "kappa": kappa})
    return out


AGREEMENT_METRICS = (("alpha", "Krippendorff's α", "#0072B2"), ("kappa", "Cohen's κ", "#E69F00"),
                     ("ac1", "Gwet's AC1", "#009E73"))
KIND_WORDS = {"verdict": "verdict", "correct": "correct/incorrect", "error": "error category"}


def agreement_per_eval_set(data: ReviewData, theme: Theme = LIGHT) -> Chart | None:
    """Agreement per eval set and label kind from ReviewService.agreement: alpha, kappa (two reviewers)
    and AC1, each bar with its value, each eval set with its number of doubly-labeled samples; the
    policy's min_agreement as a line. None when no sample has two labels yet."""
    figures = [f for f in data.agreement if f.doubly]
    if not figures:
        return None
    title = "Agreement between reviewers"
    order = {name: i for i, name in enumerate(data.request.eval_sets)}
    kinds = list(KIND_WORDS)
    figures.sort(key=lambda f: (order.get(f.eval_set, 99), kinds.index(f.kind) if f.kind in kinds else 9))
    xs = [f"{plain(f.eval_set, 32)} · {KIND_WORDS.get(f.kind, f.kind)}<br>n={f.doubly:,} doubly labeled"
          for f in figures]
    fig = go.Figure()
    for key, name, colour in AGREEMENT_METRICS:
        values = [getattr(f, key) for f in figures]
        if all(v is None for v in values):
            continue
        texts = [("n/a" if v is None else _fmt(v, digits=2)) for v in values]
        why = [plain(f.notes.get(key, ""), 80) for f in figures]
        fig.add_trace(go.Bar(
            name=name, x=xs, y=[0 if v is None else v for v in values], text=texts, textposition="outside",
            marker_color=colour, customdata=why,
            hovertemplate=f"{name}: %{{text}}<br>%{{x}}<br>%{{customdata}}<extra></extra>"))
    rule = getattr(getattr(data.config, "policy", None), "min_agreement", None)
    subtitle = "n: samples labeled by two or more reviewers (the figures rest on them) · κ: two reviewers only"
    if rule is not None:   # the gate as a legend entry, not a label over the bars
        fig.add_trace(go.Scatter(x=xs, y=[rule.value] * len(xs), mode="lines", line={"dash": "dash", "color": "#888888"},
                                 name=f"policy: {rule.metric} ≥ {rule.value:g}", hoverinfo="skip"))
    fig.update_layout(barmode="group", yaxis={"range": [min(-0.2, min((getattr(f, k) or 0) for f in figures
                                                                     for k, _n, _c in AGREEMENT_METRICS) - 0.1),
                                                        1.15], "title": {"text": "agreement"}},
                      legend={"orientation": "h", "y": -0.25})
    _base_layout(fig, theme, title, max(380, 320 + 10 * len(figures)), subtitle)
    return Chart("agreement", title, fig)


def agreement(data: ReviewData, theme: Theme = LIGHT) -> Chart:
    per_set = agreement_per_eval_set(data, theme)
    if per_set is not None:
        return per_set
    title = "Agreement between reviewers"
    pairs = agreement_table(data.labels)
    shared = [p for p in pairs if p["n"]]
    if not shared:
        why = ("No sample has a verdict from two reviewers yet: agreement shows once two people label the same samples."
               if pairs or len(data.labels) else "No labels yet.")
        return Chart("agreement", title, _empty(theme, title, why), why)
    users = sorted({p["a"] for p in pairs} | {p["b"] for p in pairs})
    idx = {u: i for i, u in enumerate(users)}
    z = np.full((len(users), len(users)), np.nan)
    text = [["" for _ in users] for _ in users]
    for p in pairs:
        i, j = idx[p["a"]], idx[p["b"]]
        if p["n"]:
            k = "κ n/a" if p["kappa"] is None else f"κ {_fmt(p['kappa'], digits=2)}"
            cell = f"{p['agreement'] * 100:.0f}%<br>n={p['n']:,}<br>{k}"
            z[i, j] = z[j, i] = p["agreement"] * 100
        else:
            cell = "no shared<br>samples"
        text[i][j] = text[j][i] = cell
    labels = [plain(u, 32) for u in users]
    fig = go.Figure(go.Heatmap(
        z=z, x=labels, y=labels, text=text, texttemplate="%{text}", zmin=0, zmax=100,
        colorscale=[[0.0, "#F0E442"], [0.5, "#56B4E9"], [1.0, "#0072B2"]], xgap=2, ygap=2,
        colorbar={"title": {"text": "agree %"}, "ticksuffix": "%"},
        hovertemplate="%{y} and %{x}: %{z:.0f}% of shared samples get the same verdict<extra></extra>"))
    total = sum(p["n"] for p in shared)
    agree = sum(p["agreement"] * p["n"] for p in shared)
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category")
    _base_layout(fig, theme, title, max(360, 140 + 90 * len(users)),
                 f"same verdict on {agree / total:.0%} of {total:,} pairs of labels on shared samples; "
                 "κ: Cohen's kappa (agreement beyond chance)")
    return Chart("agreement", title, fig)


THRESHOLD_COLOUR = "#D55E00"   # vermillion, dashed: the policy's max_regression_rate
SLICE_COLOURS = ["#E69F00", "#CC79A7", "#009E73", "#56B4E9", "#F0E442", "#999999"]
MAX_SLICE_LINES = 12


def _bound_step(history) -> tuple[list[int], list[float]]:
    """(labels, bound) per checkpoint as a step line: the bound holds from its checkpoint to the next."""
    xs = [int(h[0]) for h in history]
    ys = [float(h[1]) for h in history]
    return xs, ys


def regression_bound(data: ReviewData, theme: Theme = LIGHT) -> Chart:
    """The regression-rate bound of each bounded eval set as labels accumulate (docs/statistics.md):
    the bound at every checkpoint reached (`history` of the figures), per slice value too, with the
    policy's threshold as a dashed line. A point below the line is a bound that passes."""
    title = "Regression-rate bound as labels accumulate"
    checks = list(data.verdict.bounds) if data.verdict is not None else []
    if not checks:
        why = ("The policy bounds no regression rate (signoff.toml [policy] max_regression_rate): "
               "there is no bound to draw.")
        return Chart("regression_bound", title, _empty(theme, title, why), why)
    height = 120 + 330 * len(checks)
    fig = make_subplots(rows=len(checks), cols=1, subplot_titles=[plain(c.eval_set) for c in checks],
                        vertical_spacing=_spacing(len(checks), height, 110))
    notes = []
    for i, check in enumerate(checks, start=1):
        f = check.overall
        if check.problem or f is None:
            notes.append(f"{check.eval_set}: {check.problem or 'no figures'}")
            fig.add_annotation(text=plain(check.problem or "no figures", 120), x=0.5, y=0.5, showarrow=False,
                               xref=f"x{i if i > 1 else ''} domain", yref=f"y{i if i > 1 else ''} domain")
            continue
        xs, ys = _bound_step(f.history)
        last_x = max([f.labels, *xs, 1])
        if not xs:
            notes.append(f"{check.eval_set}: no bound yet ({f.labels} labels; the first at the 20th)")
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="lines+markers", line={"shape": "hv", "color": CANDIDATE_COLOUR, "width": 2.5},
            marker={"symbol": "circle", "size": 7}, name="bound, all samples" if i == 1 else plain(check.eval_set),
            legendgroup="overall", showlegend=(i == 1),
            customdata=[[f"{f.confidence:.0%}"] for _ in xs],
            hovertemplate="%{x:,} labels: regression rate ≤ %{y:.1%} (%{customdata[0]})<extra></extra>"),
            row=i, col=1)
        for k, (name, sf) in enumerate(list(check.slices.items())[:MAX_SLICE_LINES]):
            sx, sy = _bound_step(sf.history)
            if not sx:
                continue
            fig.add_trace(go.Scatter(
                x=sx, y=sy, mode="lines+markers", line={"shape": "hv", "dash": "dot", "width": 1.5,
                                                        "color": SLICE_COLOURS[k % len(SLICE_COLOURS)]},
                marker={"symbol": "diamond", "size": 6}, name=f"slice {plain(name, 40)}",
                hovertemplate=f"slice {plain(name, 40)}: " + "%{x:,} labels, bound %{y:.1%}<extra></extra>"),
                row=i, col=1)
        fig.add_trace(go.Scatter(
            x=[0, last_x], y=[f.max_rate, f.max_rate], mode="lines", name="max_regression_rate (policy)",
            line={"color": THRESHOLD_COLOUR, "dash": "dash", "width": 2}, legendgroup="threshold",
            showlegend=(i == 1), hovertemplate=f"policy: at most {f.max_rate:.1%}<extra></extra>"),
            row=i, col=1)
        word = ("passes" if f.ok else "not yet below the line")
        need = "" if f.needed in (0, None) else f", about {f.needed} more labels"
        fig.add_annotation(text=plain(f"now {f.bound:.1%} at {f.used} labels used ({word}{need})", 120)
                           if xs else plain(f"{f.labels} labels: no bound before the first checkpoint{need}", 120),
                           x=1.0, y=1.0, xanchor="right", yanchor="bottom", showarrow=False,
                           xref=f"x{i if i > 1 else ''} domain", yref=f"y{i if i > 1 else ''} domain")
        top = max([f.max_rate * 1.5, *ys]) if ys else 1.0
        fig.update_yaxes(title_text="upper bound", tickformat=".0%", range=[0, min(1.0, top * 1.1)], row=i, col=1)
        fig.update_xaxes(title_text="labels with a verdict that count", rangemode="tozero", row=i, col=1)
    _base_layout(fig, theme, title, height,
                 "the bound changes at checkpoints (20, 30, 45, 68, …); below the dashed line it passes")
    return Chart("regression_bound", title, fig, "; ".join(notes))


def inspection_trend(points_or_data, theme: Theme | None = None, subject: str = ""):
    """The error rate of each inspection of one model/alias (InspectionService.trend), oldest
    first, with its interval as error bars.

    Given a ReviewData: a Chart (the window's tab and the report; empty, saying why, when the
    request is no inspection). Given the list of points: the plotly figure alone."""
    if isinstance(points_or_data, ReviewData):
        data = points_or_data
        title = "Production error rate across inspections"
        insp = data.inspection
        if not insp:
            why = "This request is not a periodic inspection (signoff inspect): there is no trend to draw."
            return Chart("inspection_trend", title, _empty(theme or LIGHT, title, why), why)
        fig = _trend_figure(insp.get("points") or [], theme or LIGHT, insp.get("subject", ""))
        note = "" if insp.get("points") else "no inspection of this subject has an estimate yet"
        return Chart("inspection_trend", title, fig, note)
    return _trend_figure(points_or_data, theme or LIGHT, subject)


def _trend_figure(points: list[dict], theme: Theme, subject: str) -> go.Figure:
    title = "Production error rate across inspections"
    if not points:
        return _empty(theme, title, "no inspection with an estimate yet")
    x = [p["at"] for p in points]
    y = [p["error_rate"] for p in points]
    fig = go.Figure(go.Scatter(
        x=x, y=y, mode="lines+markers", name="error rate",
        error_y={"type": "data", "symmetric": False, "array": [p["high"] - p["error_rate"] for p in points],
                 "arrayminus": [p["error_rate"] - p["low"] for p in points]},
        customdata=[[p["request"], p["labeled"], plain(p.get("version", ""), 20)] for p in points],
        hovertemplate="request %{customdata[0]} (v%{customdata[2]}): %{y:.1%}, %{customdata[1]} labels<extra></extra>"))
    fig.update_yaxes(tickformat=".0%", rangemode="tozero", title="error rate")
    fig.update_xaxes(title="inspection (when it was made)")
    return _base_layout(fig, theme, title, 360, subtitle=plain(subject, 100))


_BUILDERS: dict[str, Callable[[ReviewData, Theme], Chart]] = {
    "metric_deltas": metric_deltas,
    "classes_per_slice": classes_per_slice,
    "confusion_change": confusion_change,
    "score_distributions": score_distributions,
    "review_progress": review_progress,
    "agreement": agreement,
    "regression_bound": regression_bound,
    "inspection_trend": inspection_trend,
}
CHART_KINDS: dict[str, tuple[str, Callable[[ReviewData, Theme], Chart]]] = {
    kind: (CHART_TITLES[kind], _BUILDERS[kind]) for kind in CHART_TITLES}


def relevant_kinds(data: ReviewData) -> list[str]:
    """The charts that say something for this request (the report's): every general one, the
    regression-rate bound when the policy bounds an eval set, the trend for an inspection."""
    out = []
    for kind in CHART_KINDS:
        if kind == "regression_bound" and not (data.verdict is not None and data.verdict.bounds):
            continue
        if kind == "inspection_trend" and not data.inspection:
            continue
        out.append(kind)
    return out


def build_charts(data: ReviewData, *, dark: bool = False, kinds: list[str] | None = None,
                 task: TaskState | None = None) -> list[Chart]:
    task = task or NULL_TASK
    theme = DARK if dark else LIGHT
    out = []
    chosen = kinds or list(CHART_KINDS)
    for i, kind in enumerate(chosen):
        task.report(f"drawing {CHART_KINDS[kind][0].lower()}", i / max(1, len(chosen)))
        out.append(CHART_KINDS[kind][1](data, theme))
    return out


