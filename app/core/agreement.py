"""Inter-reviewer agreement, per eval set and label kind, from the libraries that define it:
Krippendorff's alpha (the `krippendorff` package: any number of reviewers, missing labels),
Cohen's kappa (statsmodels' `cohens_kappa` on the two reviewers' table: exactly two reviewers, on the samples both
labeled) and Gwet's AC1 (any number of reviewers, robust to skewed labels). AC1 is the one
statistic written here: the only library with it, irrCAC 0.4.4, pins scipy==1.12.0 and coverage<7,
which pull numpy below what pyarrow needs; `gwet_ac1` follows Gwet (2014) as irrCAC does, and its
test checks it on a table worked by hand and against a per-sample loop.

Pure (no I/O); the libraries are imported when a figure is computed, not at start-up.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

from .config import LABEL_KINDS

METRIC_NAMES = {"alpha": "Krippendorff's alpha", "kappa": "Cohen's kappa", "ac1": "Gwet's AC1"}


@dataclass(frozen=True)
class Rating:
    """One reviewer's value of one label kind on one sample (a label that counts, not adjudicated)."""

    eval_set: str
    sample_id: str
    user: str
    kind: str            # verdict / correct / error
    value: str


@dataclass(frozen=True)
class AgreementFigure:
    eval_set: str
    kind: str
    reviewers: int = 0           # how many reviewers gave this kind of label on the set
    labeled: int = 0             # samples with at least one such label
    doubly: int = 0              # samples with two or more (the ones agreement is measured on)
    disagreements: int = 0       # of those, samples whose values differ
    alpha: float | None = None
    kappa: float | None = None
    ac1: float | None = None
    notes: dict[str, str] = field(default_factory=dict)   # metric -> why it is None

    @property
    def unanimous(self) -> bool:
        """Every doubly-labeled sample got one value from all its reviewers (alpha is then undefined
        when only one value occurs at all: there is no variation to measure, and no disagreement)."""
        return self.doubly > 0 and self.disagreements == 0

    def value(self, metric: str) -> float | None:
        return getattr(self, metric)

    def as_json(self) -> dict:
        return {"eval_set": self.eval_set, "kind": self.kind, "reviewers": self.reviewers, "labeled": self.labeled,
                "doubly_labeled": self.doubly, "disagreements": self.disagreements, "alpha": self.alpha,
                "kappa": self.kappa, "ac1": self.ac1, "notes": dict(self.notes)}


def ratings_of(label, kinds=LABEL_KINDS) -> list[Rating]:
    """The ratings one label gives (a Label of app/core/model.py)."""
    out = []
    for kind in kinds:
        if kind == "verdict" and label.verdict is not None:
            value = getattr(label.verdict, "value", label.verdict)
        elif kind == "correct" and label.correct is not None:
            value = "correct" if label.correct else "incorrect"
        elif kind == "error" and label.error:
            value = label.error
        else:
            continue
        out.append(Rating(label.eval_set, str(label.sample_id), label.user.strip().lower(), kind, str(value)))
    return out


def matrix(ratings: list[Rating]) -> tuple[list[str], list[str], list[list[str | None]]]:
    """(reviewers, sample ids, rows): one row per reviewer, one column per sample, None where missing."""
    users = sorted({r.user for r in ratings})
    samples = sorted({r.sample_id for r in ratings})
    ucol, scol = {u: i for i, u in enumerate(users)}, {s: i for i, s in enumerate(samples)}
    rows: list[list[str | None]] = [[None] * len(samples) for _ in users]
    for r in ratings:
        rows[ucol[r.user]][scol[r.sample_id]] = r.value
    return users, samples, rows


def figures(ratings: list[Rating], eval_sets: list[str], kinds=LABEL_KINDS) -> list[AgreementFigure]:
    """One figure per eval set and kind (in that order), for every pair with at least one rating."""
    by: dict[tuple[str, str], list[Rating]] = {}
    for r in ratings:
        by.setdefault((r.eval_set, r.kind), []).append(r)
    return [figure(es, kind, by[(es, kind)]) for es in eval_sets for kind in kinds if (es, kind) in by]


def figure(eval_set: str, kind: str, ratings: list[Rating]) -> AgreementFigure:
    users, samples, rows = matrix(ratings)
    per_sample = [[row[j] for row in rows if row[j] is not None] for j in range(len(samples))]
    doubly = [vals for vals in per_sample if len(vals) >= 2]
    disagreements = sum(1 for vals in doubly if len(set(vals)) > 1)
    notes: dict[str, str] = {}
    alpha = kappa = ac1 = None
    if not doubly:
        why = "no sample has labels from two reviewers"
        notes = {"alpha": why, "kappa": why, "ac1": why}
    else:
        alpha = _alpha(rows, notes)
        kappa = _kappa(users, rows, notes)
        ac1 = _ac1(rows, notes)
    return AgreementFigure(eval_set=eval_set, kind=kind, reviewers=len(users), labeled=len(samples),
                           doubly=len(doubly), disagreements=disagreements, alpha=alpha, kappa=kappa, ac1=ac1,
                           notes=notes)


def _codes(rows: list[list[str | None]]):
    """The matrix as floats (category codes, NaN missing), what `krippendorff.alpha` takes."""
    import numpy as np

    values = sorted({v for row in rows for v in row if v is not None})
    code = {v: float(i) for i, v in enumerate(values)}
    return np.array([[code[v] if v is not None else np.nan for v in row] for row in rows], dtype=float), values


def _finite(x) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _alpha(rows, notes) -> float | None:
    import krippendorff

    data, values = _codes(rows)
    if len(values) < 2:
        notes["alpha"] = "undefined: every label has the same value (no variation, no disagreement)"
        return None
    try:
        value = _finite(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
    except (ValueError, ZeroDivisionError) as exc:
        notes["alpha"] = f"undefined: {exc}"
        return None
    if value is None:
        notes["alpha"] = "undefined for these labels"
    return value


def _kappa(users, rows, notes) -> float | None:
    if len(users) != 2:
        notes["kappa"] = f"Cohen's kappa is for two reviewers; {len(users)} labeled this set (see alpha, AC1)"
        return None
    import numpy as np
    from statsmodels.stats.inter_rater import cohens_kappa

    pairs = [(a, b) for a, b in zip(rows[0], rows[1]) if a is not None and b is not None]
    a, b = [p[0] for p in pairs], [p[1] for p in pairs]
    if len(set(a) | set(b)) < 2:
        notes["kappa"] = "undefined: every label has the same value (no variation, no disagreement)"
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cats = sorted(set(a) | set(b), key=str)
        index = {c: i for i, c in enumerate(cats)}
        table = np.zeros((len(cats), len(cats)))
        for x, y in pairs:
            table[index[x], index[y]] += 1
        value = _finite(cohens_kappa(table).kappa)
    if value is None:
        notes["kappa"] = "undefined for these labels"
    return value


def gwet_ac1(rows) -> float | None:
    """Gwet's AC1 of reviewers x samples `rows` (None: not labeled), any number of reviewers,
    missing labels allowed (Gwet 2014, ch. 4; unweighted): pa over the samples two or more
    reviewers labeled, pi_k over the samples anyone labeled, pe = sum pi_k (1 - pi_k) / (q - 1).
    None when it is undefined (fewer than two categories, or no sample labeled twice)."""
    import numpy as np

    categories = sorted({v for row in rows for v in row if v is not None}, key=str)
    q = len(categories)
    if q < 2 or not rows:
        return None
    index = {c: i for i, c in enumerate(categories)}
    counts = np.zeros((len(rows[0]), q))            # samples x categories: how many reviewers chose it
    for row in rows:
        for j, v in enumerate(row):
            if v is not None:
                counts[j, index[v]] += 1
    per = counts.sum(axis=1)
    twice = per >= 2
    if not twice.any():
        return None
    pa = float(np.mean((counts[twice] * (counts[twice] - 1)).sum(axis=1) / (per[twice] * (per[twice] - 1))))
    rated = per >= 1
    pi = (counts[rated] / per[rated][:, None]).mean(axis=0)
    pe = float((pi * (1 - pi)).sum() / (q - 1))
    return None if pe >= 1 else (pa - pe) / (1 - pe)


def _ac1(rows, notes) -> float | None:
    value = _finite(gwet_ac1(rows))
    if value is None:
        notes["ac1"] = "undefined for these labels (one category only, or no sample labeled twice)"
    return value


def disagreements(ratings: list[Rating]) -> dict[tuple[str, str], dict[str, dict[str, str]]]:
    """(eval set, sample id) -> kind -> {user: value} for every sample two reviewers labeled differently."""
    seen: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
    for r in ratings:
        seen.setdefault((r.eval_set, r.sample_id), {}).setdefault(r.kind, {})[r.user] = r.value
    return {key: {k: v for k, v in kinds.items() if len(set(v.values())) > 1}
            for key, kinds in seen.items() if any(len(set(v.values())) > 1 for v in kinds.values())}


def disagreement_queue(ratings: list[Rating], settled: set[tuple[str, str]], eval_sets: list[str],
                       eval_set: str | None = None) -> list[dict]:
    """QA's adjudication queue: [{"eval_set", "sample_id", "labels": {kind: {user: value}}}] of the
    samples rated differently, in eval-set then sample order, without the `settled` (adjudicated)
    ones, only `eval_set`'s when given."""
    order = {name: i for i, name in enumerate(eval_sets)}
    found = disagreements(ratings)
    return [{"eval_set": es, "sample_id": sid, "labels": kinds}
            for (es, sid), kinds in sorted(found.items(), key=lambda kv: (order.get(kv[0][0], 0), kv[0][1]))
            if (es, sid) not in settled and (eval_set is None or es == eval_set)]
