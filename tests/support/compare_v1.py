"""The comparison engine before issue 16 (pandas, Python ids), kept only as the reference of
tests/core/test_compare_engines.py.

The per-sample table has these columns:
    id                  str
    class               unchanged / changed / improved / regressed / missing
    severity            int, 0 = worst (sort key for "worst first")
    missing_side        "" or which side lacks the sample: baseline / candidate / both / eval set
    input, reference    from the samples (reference may be all-missing)
    baseline_output, candidate_output
    baseline_score, candidate_score, delta   float (NaN where unknown)
    <slice columns>     as in the samples
    baseline_<x>, candidate_<x>   the predictions' other columns (confidence, …), per model
  image sets also: input_bytes, reference_bytes, baseline_output_bytes, candidate_output_bytes
    sample_hash         str, 32 hex: SHA-256 of the sample's input, reference and both outputs
                        (and their bytes); equal across two requests = the sample did not change,
                        so a label carries over (docs/trust.md, "Labels that carry over")
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from signoff.core.errors import InputError
from signoff.core.model import SEVERITY, ChangeClass, EvalSetData
from signoff.core.normalise import normalise

BYTES_COLUMNS = ("input_bytes", "reference_bytes", "output_bytes")
BASE_COLUMNS = ["id", "class", "severity", "missing_side", "input", "reference",
                "baseline_output", "candidate_output", "baseline_score", "candidate_score", "delta"]
PREDICTION_PREFIXES = ("baseline_", "candidate_")
HASH_COLUMN = "sample_hash"
HASHED_COLUMNS = ("input", "reference", "baseline_output", "candidate_output",
                  "input_bytes", "reference_bytes", "baseline_output_bytes", "candidate_output_bytes")


def is_prediction_extra(name: str) -> bool:
    """A column carrying one model's extra prediction field (baseline_confidence, …)."""
    name = str(name)
    return name.startswith(PREDICTION_PREFIXES) and name not in BASE_COLUMNS and not name.endswith("_bytes")


def table_slice_columns(frame: pd.DataFrame) -> list[str]:
    """The slice columns of a stored comparison table: what is neither one of the
    comparison's own columns, nor bytes, nor a model's extra prediction field."""
    return [c for c in frame.columns if c not in BASE_COLUMNS and not str(c).endswith("_bytes")
            and not is_prediction_extra(c) and c != HASH_COLUMN]


def sample_hashes(table: pd.DataFrame) -> np.ndarray:
    """One hash per row over what a reviewer judged: input, reference, both outputs (and their bytes).

    SHA-256 (first 128 bits), because a label carried to a new request rests on it: a candidate
    must not be able to make a changed sample look unchanged. Columns are gathered as whole
    arrays; the one Python step per row is the hash of the row's repr (measured faster than
    pandas' vectorised SipHash on 4 text columns, which is not collision-resistant anyway)."""
    cols = [np.asarray(table[c].to_numpy(), dtype=object) for c in HASHED_COLUMNS if c in table.columns]
    names = [c for c in HASHED_COLUMNS if c in table.columns]
    for i, col in enumerate(cols):   # one missing marker: None, NaN and pd.NA are the same "no value"
        missing = pd.isna(col)
        if missing.any():
            col = col.copy()
            col[missing] = None
            cols[i] = col
    sha = hashlib.sha256
    tag = repr(tuple(names)).encode()
    return np.array([sha(tag + repr(row).encode()).hexdigest()[:32] for row in zip(*cols)], dtype=object)


@dataclass
class ComparisonResult:
    eval_set: str
    table: pd.DataFrame
    summary: dict
    slice_columns: list[str]


def slice_columns_of(data: EvalSetData) -> list[str]:
    if data.spec.slices:
        return [c for c in data.spec.slices if c in data.samples.columns]
    skip = {"id", "input", "reference", "input_bytes", "reference_bytes"}
    return [c for c in data.samples.columns if c not in skip]


def _unique_ids(frame: pd.DataFrame, what: str, name: str) -> pd.Index:
    idx = pd.Index(frame["id"].astype(str).to_numpy(dtype=object), dtype=object)
    if not idx.is_unique:
        dup = idx[idx.duplicated()].unique()[:5].tolist()
        raise InputError(f"{name}: duplicate sample ids in the {what}: {', '.join(map(str, dup))}")
    return idx


def _align(data: EvalSetData) -> pd.DataFrame:
    """One row per id in the samples or either predictions, by hash lookups (no sort)."""
    name = data.spec.name
    s_idx = _unique_ids(data.samples, "samples", name)
    b_idx = _unique_ids(data.baseline, "baseline predictions", name)
    c_idx = _unique_ids(data.candidate, "candidate predictions", name)
    ids = s_idx
    for other in (b_idx, c_idx):
        extra = other[~other.isin(ids)]
        if len(extra):
            ids = ids.append(extra)
    cols = {"id": np.asarray(ids, dtype=object)}
    frames = [
        (data.samples, s_idx, {}, "_in_samples"),
        (data.baseline, b_idx, {"output": "baseline_output", "score": "baseline_score", "output_bytes": "baseline_output_bytes"}, "_in_base"),
        (data.candidate, c_idx, {"output": "candidate_output", "score": "candidate_score", "output_bytes": "candidate_output_bytes"}, "_in_cand"),
    ]
    for n, (frame, idx, renames, flag) in enumerate(frames):
        pos = idx.get_indexer(ids)
        present = pos >= 0
        cols[flag] = present
        prefix = ("", "baseline_", "candidate_")[n]
        for col in frame.columns:
            if col == "id":
                continue
            if prefix and col not in renames:
                renames = {**renames, col: f"{prefix}{col}"}   # the predictions' other columns, per model
            values = frame[col].to_numpy()
            if np.issubdtype(values.dtype, np.floating):
                out = np.full(len(ids), np.nan)
            else:
                out = np.empty(len(ids), dtype=object)
                values = values.astype(object)
            out[present] = values[pos[present]]
            cols[renames.get(col, col)] = out
    return pd.DataFrame(cols)


def compare(data: EvalSetData) -> ComparisonResult:
    spec = data.spec
    t = _align(data)
    n = len(t)
    for col in ("_in_samples", "_in_base", "_in_cand"):
        t[col] = t[col].fillna(False).astype(bool)
    for col in ("input", "reference", "baseline_output", "candidate_output"):
        if col not in t.columns:
            t[col] = pd.Series([None] * n, dtype="object")
    for col in ("baseline_score", "candidate_score"):
        t[col] = pd.to_numeric(t[col], errors="coerce") if col in t.columns else np.nan

    # Equality after the output type's own normalisation.
    otype = spec.output_type
    bkey_src = t["baseline_output_bytes"] if otype == "image" and "baseline_output_bytes" in t else t["baseline_output"]
    ckey_src = t["candidate_output_bytes"] if otype == "image" and "candidate_output_bytes" in t else t["candidate_output"]
    bkey = normalise(bkey_src, otype)
    ckey = normalise(ckey_src, otype)
    equal = (bkey == ckey).fillna(False).to_numpy(dtype=bool) | (bkey.isna() & ckey.isna()).to_numpy()

    # Scores: given in the predictions, else derived from an exact match with the reference.
    has_ref = t["reference"].notna().to_numpy()
    if otype == "image" and "reference_bytes" in t:
        rkey = normalise(t["reference_bytes"], otype)
    else:
        rkey = normalise(t["reference"], otype)
    for side, key, present in (("baseline", bkey, "_in_base"), ("candidate", ckey, "_in_cand")):
        col = f"{side}_score"
        # A side with no prediction for the sample has no score (never a derived 0).
        derived = np.where(has_ref & t[present].to_numpy(),
                           (key == rkey).fillna(False).to_numpy(dtype=bool).astype(float), np.nan)
        given = t[col].to_numpy(dtype=float)
        scores = np.where(np.isnan(given), derived, given)
        if data.no_score.get(side):   # a NaN/inf score counted as none (non_finite_scores = "as-missing")
            scores[t["id"].isin(data.no_score[side]).to_numpy()] = np.nan
        t[col] = scores
    bs = t["baseline_score"].to_numpy(dtype=float)
    cs = t["candidate_score"].to_numpy(dtype=float)
    delta = cs - bs
    sign = 1.0 if spec.higher_is_better else -1.0
    t["delta"] = delta

    in_all = t["_in_samples"].to_numpy() & t["_in_base"].to_numpy() & t["_in_cand"].to_numpy()
    scored = ~np.isnan(delta)
    cls = np.select(
        [~in_all, equal, scored & (sign * delta > 0), scored & (sign * delta < 0)],
        [ChangeClass.MISSING.value, ChangeClass.UNCHANGED.value, ChangeClass.IMPROVED.value, ChangeClass.REGRESSED.value],
        default=ChangeClass.CHANGED.value,
    )
    t["class"] = pd.Categorical(cls, categories=[c.value for c in ChangeClass])
    t["severity"] = np.select([cls == c.value for c in SEVERITY], list(SEVERITY.values()), default=9).astype(np.int8)
    in_s, in_b, in_c = t["_in_samples"].to_numpy(), t["_in_base"].to_numpy(), t["_in_cand"].to_numpy()
    t["missing_side"] = np.select(
        [~in_s, ~in_b & ~in_c, ~in_b, ~in_c], ["eval set", "both", "baseline", "candidate"], default="")

    slices = slice_columns_of(data)
    extra = [c for c in t.columns if is_prediction_extra(c)] + [c for c in t.columns if c.endswith("_bytes")]
    ordered = BASE_COLUMNS + [c for c in slices if c not in BASE_COLUMNS and not is_prediction_extra(c)] + extra
    table = t[ordered].copy()
    table[HASH_COLUMN] = sample_hashes(table)
    # Worst first: severity, then the largest drop in score, then the eval set's own order.
    order_delta = np.where(np.isnan(delta), 0.0, sign * delta)
    order = np.lexsort((np.arange(n), order_delta, table["severity"].to_numpy()))
    table = table.take(order).reset_index(drop=True)
    summary = summarise(table, slices, spec.name, data.warnings)
    if spec.non_finite_scores == "as-missing":
        summary["non_finite_scores"] = {side: len(data.no_score.get(side, ())) for side in ("baseline", "candidate")}
    return ComparisonResult(spec.name, table, summary, slices)


def _metrics(frame: pd.DataFrame) -> dict:
    both = frame[frame["class"] != ChangeClass.MISSING.value]
    b = both["baseline_score"]
    c = both["candidate_score"]
    out = {
        "baseline_mean_score": _num(b.mean()),
        "candidate_mean_score": _num(c.mean()),
    }
    out["mean_score_delta"] = (None if out["baseline_mean_score"] is None or out["candidate_mean_score"] is None
                               else out["candidate_mean_score"] - out["baseline_mean_score"])
    return out


def _num(v) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


def class_counts(frame: pd.DataFrame) -> dict[str, int]:
    counts = frame["class"].value_counts()
    return {c.value: int(counts.get(c.value, 0)) for c in ChangeClass}


def summarise(table: pd.DataFrame, slices: list[str], name: str = "", warnings: list[str] | None = None) -> dict:
    summary = {"eval_set": name, "samples": int(len(table)), "classes": class_counts(table), "metrics": _metrics(table),
               "slices": {}, "warnings": list(warnings or [])}
    for col in slices:
        per = {}
        for value, frame in table.groupby(table[col].astype("string").fillna("(none)"), sort=True, observed=True):
            per[str(value)] = {"samples": int(len(frame)), "classes": class_counts(frame), "metrics": _metrics(frame)}
        summary["slices"][col] = per
    return summary
