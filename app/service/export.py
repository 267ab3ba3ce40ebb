"""Samples out to CSV, JSONL or Parquet, shaped to become a new eval set.

    frame = export_frame(table, eval_set="support-replies", slices=["topic"], labels=labels)
    write_export(frame, "hard-cases.jsonl")          # format from the extension
    read_export("hard-cases.jsonl")                  # back, with the same columns and types

Columns, in this order:

    eval_set, id, input, reference            what an eval set's samples file needs
    <slice columns>                           as in the comparison, under their own names
    baseline_output, candidate_output         both models' outputs (and their extra fields,
                                              e.g. baseline_confidence, when the source gave some)
    baseline_score, candidate_score, delta    floats (empty where unknown)
    class, missing_side                       the change class and which side lacked the sample
    labels                                    every reviewer's label: a list of
                                              {user, verdict, correct, error, comment, updated_at}
                                              (a JSON string in CSV, a list in JSONL,
                                              a list of structs in Parquet)

So `samples = "hard-cases.jsonl"` in a signoff.toml `[[eval_sets]]` (with
`slices = [...]`) reads the file as it is. Image bytes columns are written
to Parquet only (CSV and JSONL keep the file names).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from signoff.core.compare import is_prediction_extra, table_slice_columns
from signoff.core.errors import InputError
from signoff.core.tasks import NULL_TASK, TaskState

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
TEXT_COLUMNS = ["eval_set", "id", "input", "reference", "baseline_output", "candidate_output", "class", "missing_side"]
SCORE_COLUMNS = ["baseline_score", "candidate_score", "delta"]
LABEL_FIELDS = ["user", "verdict", "correct", "error", "comment", "updated_at"]


@dataclass
class ExportResult:
    path: Path
    rows: int
    format: str
    notes: list[str]


def export_format(path: str | Path, fmt: str | None = None) -> str:
    if fmt:
        fmt = fmt.lower().lstrip(".")
        if fmt not in set(FORMATS.values()):
            raise InputError(f"unknown export format {fmt!r}: use csv, jsonl or parquet")
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError(f"{path}: export to a .csv, .jsonl or .parquet file")
    return FORMATS[suffix]


def _clean(value):
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if math.isnan(float(value)) else float(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def labels_by_sample(labels: pd.DataFrame | None, eval_set: str) -> dict[str, list[dict]]:
    if labels is None or not len(labels):
        return {}
    mine = labels[labels["eval_set"] == eval_set]
    out: dict[str, list[dict]] = {}
    for rec in mine.sort_values(["sample_id", "user"]).to_dict("records"):
        out.setdefault(str(rec["sample_id"]), []).append({k: _clean(rec.get(k)) for k in LABEL_FIELDS})
    return out


def export_frame(table: pd.DataFrame, *, eval_set: str, slices: list[str] | None = None,
                 labels: pd.DataFrame | None = None) -> pd.DataFrame:
    """The export's rows, from a comparison table (already filtered to what to export)."""
    if slices is None:
        slices = table_slice_columns(table)
    n = len(table)
    out = pd.DataFrame(index=range(n))
    out["eval_set"] = pd.Series([eval_set] * n, dtype="object")

    def text(col: str) -> pd.Series:
        if col not in table.columns:
            return pd.Series([None] * n, dtype="object")
        s = table[col].reset_index(drop=True).astype(object)
        return s.where(s.notna(), None).map(lambda v: v if v is None else str(v))

    out["id"] = text("id")
    out["input"] = text("input")
    out["reference"] = text("reference")
    for col in slices:
        if col in table.columns and col not in out.columns:
            out[col] = text(col)
    out["baseline_output"] = text("baseline_output")
    out["candidate_output"] = text("candidate_output")
    for col in [c for c in table.columns if is_prediction_extra(c)]:   # baseline_confidence, …
        out[col] = text(col)
    for col in SCORE_COLUMNS:
        out[col] = (pd.to_numeric(table[col], errors="coerce").reset_index(drop=True).astype(float)
                    if col in table.columns else np.nan)
    out["class"] = text("class")
    out["missing_side"] = text("missing_side").fillna("") if "missing_side" in table.columns else ""
    by_id = labels_by_sample(labels, eval_set)
    out["labels"] = pd.Series([by_id.get(i, []) for i in out["id"]], dtype="object")
    for col in [c for c in table.columns if c.endswith("_bytes")]:
        out[col] = table[col].reset_index(drop=True).astype(object)
    return out


def concat_exports(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Several eval sets' exports in one file: the sample columns first, then every set's slices."""
    if len(frames) == 1:
        return frames[0]
    merged = pd.concat(frames, ignore_index=True)
    head = ["eval_set", "id", "input", "reference"]
    tail = ["baseline_output", "candidate_output", *SCORE_COLUMNS, "class", "missing_side", "labels"]
    extras = [c for c in merged.columns if is_prediction_extra(c)]
    blobs = [c for c in merged.columns if c.endswith("_bytes")]
    middle = [c for c in merged.columns if c not in {*head, *tail, *extras, *blobs}]
    merged = merged[head + middle + tail[:2] + extras + tail[2:] + blobs]
    merged["labels"] = merged["labels"].map(lambda v: v if isinstance(v, list) else [])
    return merged


def write_export(frame: pd.DataFrame, path: str | Path, fmt: str | None = None) -> ExportResult:
    path = Path(path)
    fmt = export_format(path, fmt)
    notes: list[str] = []
    bytes_cols = [c for c in frame.columns if c.endswith("_bytes")]
    if bytes_cols and fmt != "parquet":
        frame = frame.drop(columns=bytes_cols)
        notes.append("image bytes are kept only in Parquet; this file has the image file names")
    tmp = path.with_name(path.name + ".part")
    try:
        if fmt == "csv":
            out = frame.copy()
            out["labels"] = out["labels"].map(lambda v: json.dumps(v if isinstance(v, list) else [], ensure_ascii=False))
            out.to_csv(tmp, index=False, encoding="utf-8")
        elif fmt == "jsonl":
            cols = list(frame.columns)
            with open(tmp, "w", encoding="utf-8") as fh:
                for row in frame.itertuples(index=False, name=None):
                    rec = {c: _clean(v) if not isinstance(v, list) else v for c, v in zip(cols, row)}
                    if not isinstance(rec.get("labels"), list):
                        rec["labels"] = []
                    fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            label_type = pa.list_(pa.struct([("user", pa.string()), ("verdict", pa.string()),
                                             ("correct", pa.bool_()), ("error", pa.string()),
                                             ("comment", pa.string()), ("updated_at", pa.string())]))
            arrays, fields = [], []
            for col in frame.columns:
                if col == "labels":
                    typ = label_type
                elif col in SCORE_COLUMNS:
                    typ = pa.float64()
                elif col.endswith("_bytes"):
                    typ = pa.binary()
                else:
                    typ = pa.string()
                values = frame[col].tolist()
                if typ == pa.float64():
                    values = [None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v) for v in values]
                elif typ == pa.binary():
                    values = [bytes(v) if isinstance(v, (bytes, bytearray, memoryview)) else None for v in values]
                elif typ == pa.string():   # eval sets concatenated: a column one set lacks is NaN in the others
                    values = [None if _clean(v) is None else str(v) for v in values]
                else:
                    values = [v if isinstance(v, list) else [] for v in values]
                arrays.append(pa.array(values, type=typ))
                fields.append(pa.field(col, typ))
            pq.write_table(pa.Table.from_arrays(arrays, schema=pa.schema(fields)), tmp)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"{path}: could not write the export: {exc.strerror or exc}") from None
    return ExportResult(path=path, rows=len(frame), format=fmt, notes=notes)


def read_export(path: str | Path) -> pd.DataFrame:
    """Read an export back with the columns and types it was written with (tests, scripts)."""
    path = Path(path)
    fmt = export_format(path)
    if fmt == "parquet":
        frame = pd.read_parquet(path)
        frame["labels"] = frame["labels"].map(lambda v: [dict(x) for x in v] if v is not None else [])
    elif fmt == "jsonl":
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        frame = pd.DataFrame(rows)
    else:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[], encoding="utf-8")
        frame = frame.replace({"": None})
        for col in SCORE_COLUMNS:
            frame[col] = pd.to_numeric(frame[col], errors="coerce")
        frame["missing_side"] = frame["missing_side"].fillna("")
        frame["labels"] = frame["labels"].map(lambda v: json.loads(v) if v else [])
    for col in SCORE_COLUMNS:
        if col in frame.columns:
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    return frame


def export_samples(service, request_id: int, eval_set: str, path: str | Path, *, ids: list[str] | None = None,
                   classes: set[str] | None = None, labels: str = "all", fmt: str | None = None,
                   task: TaskState | None = None) -> ExportResult:
    """Export one eval set's samples (optionally only `ids`, in that order, or only `classes`).

    labels: "all" (every reviewer), "mine" (the service's user) or "none".
    """
    task = task or NULL_TASK
    fmt = export_format(path, fmt)
    task.report(f"reading {eval_set}", 0.1)
    table = service.comparison(int(request_id), eval_set)
    if ids is not None:
        pos = pd.Index(table["id"].astype(str)).get_indexer([str(i) for i in ids])
        missing = [i for i, p in zip(ids, pos) if p < 0]
        if missing:
            raise InputError(f"no sample {missing[0]!r} in eval set {eval_set!r}")
        table = table.iloc[pos]
    if classes:
        table = table[table["class"].astype(str).isin(classes)]
    task.check()
    lab = None
    if labels != "none":
        lab = service.labels_frame(int(request_id), user=service.user if labels == "mine" else None)
    slices = None
    try:
        spec = service.config(int(request_id)).eval_set(eval_set)
        if spec.slices:
            slices = [c for c in spec.slices if c in table.columns]
    except Exception:  # an unreadable config must not stop an export: every extra column is a slice then
        slices = None
    task.report(f"writing {len(table):,} samples", 0.5)
    frame = export_frame(table, eval_set=eval_set, slices=slices, labels=lab)
    task.check()
    return write_export(frame, path, fmt)
