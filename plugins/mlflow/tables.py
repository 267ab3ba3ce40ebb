"""Logged tables: parsing them, and mapping their columns to an eval set's
samples and predictions.

`mlflow.log_table` writes either JSON in pandas' "split" orientation,
`{"columns": [...], "data": [[...], ...]}` (also what `mlflow.evaluate`
writes as eval_results_table.json), or Parquet. A .jsonl or .csv artifact is
read as well (plugins/common/tables.py).

Columns are found by convention unless signoff.toml names them (per eval set
`columns = {...}`, or for every MLflow set in `[mlflow.columns]`):

    id          id, sample_id, example_id, row_id, request_id
    input       input, inputs, question, prompt, text, request
                (none of them: the row's other columns, as one JSON object)
    reference   reference, expected, expected_response, ground_truth, target, targets, label
    output      output, outputs, prediction, predictions, response, answer
    score       score, else the one `<metric>/score` column mlflow.evaluate wrote
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from signoff.core.config import EvalSetSpec
from signoff.core.errors import InputError
from signoff.core.hashing import canonical_json
from signoff.plugins.common.evalset import _ids, _scores  # the same id and score rules as the git/files sources
from signoff.plugins.common.conventions import CONVENTIONS  # shared with plugins/files/pair.py
from signoff.plugins.common.tables import read_table

DEFAULT_COLUMN = {role: EvalSetSpec.__dataclass_fields__[f"{role}_column"].default for role in CONVENTIONS}
ROLES = ("id", "output", "reference", "score", "input")     # the order names are claimed in
_METRIC_SUFFIXES = ("/score", "/justification")


def parse_logged_table(data: bytes, path: str, label: str) -> pd.DataFrame:
    """A logged table's bytes as a DataFrame; InputError naming `label` when it is not one."""
    if path.lower().endswith(".json"):
        return _parse_split_json(data, label)
    try:
        frame = read_table(data, path, where="")
    except InputError as exc:
        raise InputError(f"{label}: {str(exc).split(': ', 1)[-1]}") from None
    return frame


def _parse_split_json(data: bytes, label: str) -> pd.DataFrame:
    form = "expected mlflow.log_table's JSON: an object with 'columns' and 'data'"
    try:
        body = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError(f"{label}: not UTF-8 text") from None
    except (json.JSONDecodeError, RecursionError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise InputError(f"{label}: not valid JSON{where}; {form}") from None
    if not isinstance(body, dict) or "columns" not in body or "data" not in body:
        raise InputError(f"{label}: not a logged table; {form}")
    columns, rows = body["columns"], body["data"]
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise InputError(f"{label}: 'columns' must be a list of names")
    if len(set(columns)) != len(columns):
        dup = sorted({c for c in columns if columns.count(c) > 1})
        raise InputError(f"{label}: column names appear twice: {', '.join(dup)}")
    if not isinstance(rows, list):
        raise InputError(f"{label}: 'data' must be a list of rows")
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, list) or len(row) != len(columns):
            got = f"{len(row)} values" if isinstance(row, list) else type(row).__name__
            raise InputError(f"{label}: row {n} has {got} for {len(columns)} columns")
    frame = pd.DataFrame(rows, columns=columns, dtype=object) if rows else pd.DataFrame(columns=columns)
    for col in frame.columns:  # numbers as numbers, ints with gaps as Int64 (as the JSONL reader does)
        kind = pd.api.types.infer_dtype(frame[col], skipna=True)
        if kind == "integer":
            frame[col] = frame[col].astype("Int64")
        elif kind in ("floating", "mixed-integer-float", "boolean", "string"):
            frame[col] = frame[col].infer_objects()
    return frame


# -- column mapping ------------------------------------------------------------------------

def resolve_columns(spec: EvalSetSpec, columns: list[str], label: str) -> dict[str, str | None]:
    """role -> column of this table (None: not there). An explicitly named column must exist."""
    taken: set[str] = set()
    found: dict[str, str | None] = {}
    for role in ROLES:
        configured = getattr(spec, f"{role}_column")
        if configured != DEFAULT_COLUMN[role]:
            if configured not in columns:
                raise InputError(f"{label} has no {role} column {configured!r} named in signoff.toml "
                                 f"(its columns: {_names(columns)})")
            found[role] = configured
        else:
            found[role] = next((c for c in CONVENTIONS[role] if c in columns and c not in taken), None)
        if role == "score" and found[role] is None:
            metric_scores = [c for c in columns if c.endswith("/score")]
            if len(metric_scores) == 1:
                found[role] = metric_scores[0]
        if found[role]:
            taken.add(found[role])
    if found["id"] is None:
        raise InputError(f"{label} has no id column (looked for {', '.join(CONVENTIONS['id'])}; its columns: "
                         f"{_names(columns)}); log one with a stable id per sample, or set columns.id in signoff.toml")
    if found["output"] is None:
        raise InputError(f"{label} has no output column (looked for {', '.join(CONVENTIONS['output'])}; its "
                         f"columns: {_names(columns)}); set columns.output in signoff.toml")
    return found


def samples_from_table(spec: EvalSetSpec, raw: pd.DataFrame, label: str) -> pd.DataFrame:
    """The eval set's samples taken from a predictions table: id, input, reference and the named slices.

    Other columns of a predictions table are the model's (confidence, latency), not slices:
    only `slices` named in signoff.toml become slice columns here.
    """
    cols = resolve_columns(spec, list(raw.columns), label)
    ids = _ids(raw[cols["id"]], cols["id"], label)
    out = {"id": ids.to_numpy(dtype=object)}
    if cols["input"] is not None:
        out["input"] = raw[cols["input"]].to_numpy()
    else:
        features = [c for c in raw.columns if c not in cols.values() and not c.endswith(_METRIC_SUFFIXES)]
        out["input"] = _rows_as_json(raw, features) if features else np.full(len(raw), None, dtype=object)
    out["reference"] = (raw[cols["reference"]].to_numpy() if cols["reference"] is not None
                        else np.full(len(raw), None, dtype=object))
    for col in spec.slices:
        if col not in raw.columns:
            raise InputError(f"{label} has no slice column {col!r} named in signoff.toml "
                             f"(its columns: {_names(raw.columns)})")
        out[col] = raw[col].to_numpy()
    return pd.DataFrame(out)


def samples_from_dataset(spec: EvalSetSpec, raw: pd.DataFrame, label: str) -> pd.DataFrame:
    """The samples from a dataset file (no outputs in it): id, input, reference, slices (all extra columns
    when signoff.toml names none, as for the git source)."""
    columns = list(raw.columns)
    id_col = spec.id_column if spec.id_column != DEFAULT_COLUMN["id"] else next(
        (c for c in CONVENTIONS["id"] if c in columns), None)
    if id_col is None or id_col not in columns:
        raise InputError(f"{label} has no id column (its columns: {_names(columns)}); set columns.id in signoff.toml")
    ref_col = spec.reference_column if spec.reference_column in columns else next(
        (c for c in CONVENTIONS["reference"] if c in columns), None)
    in_col = spec.input_column if spec.input_column in columns else next(
        (c for c in CONVENTIONS["input"] if c in columns), None)
    ids = _ids(raw[id_col], id_col, label)
    used = {id_col, ref_col, in_col}
    out = {"id": ids.to_numpy(dtype=object)}
    rest = [c for c in columns if c not in used]
    out["input"] = raw[in_col].to_numpy() if in_col else _rows_as_json(raw, rest)
    out["reference"] = raw[ref_col].to_numpy() if ref_col else np.full(len(raw), None, dtype=object)
    slice_cols = list(spec.slices) if spec.slices else ([c for c in rest] if in_col else [])
    for col in slice_cols:
        if col not in raw.columns:
            raise InputError(f"{label} has no slice column {col!r} named in signoff.toml (its columns: {_names(columns)})")
        name = f"sample_{col}" if col in ("class", "severity", "missing_side", "delta", "output", "score") else col
        out[name] = raw[col].to_numpy()
    return pd.DataFrame(out)


def predictions_from_table(spec: EvalSetSpec, raw: pd.DataFrame, label: str) -> pd.DataFrame:
    """id, output, score (NaN where the table gives none)."""
    cols = resolve_columns(spec, list(raw.columns), label)
    ids = _ids(raw[cols["id"]], cols["id"], label)
    output = raw[cols["output"]].to_numpy()
    _check_cells(output, cols["output"], ids, label)
    score = (_scores(raw[cols["score"]], ids, cols["score"], label) if cols["score"] is not None
             else np.full(len(raw), np.nan))
    return pd.DataFrame({"id": ids.to_numpy(dtype=object), "output": output, "score": score})


def _check_cells(values: np.ndarray, column: str, ids: pd.Series, label: str) -> None:
    """Image cells (mlflow.log_table stores PIL images as files) are not compared from MLflow yet: say so."""
    for row, value in enumerate(values[:1000]):
        if isinstance(value, dict) and value.get("type") == "image" and "filepath" in value:
            raise InputError(f"{label}: column {column!r} holds images logged as files (row {row + 1}, "
                             f"id {ids.iloc[row]}); image eval sets are read from git or files for now")


def _rows_as_json(raw: pd.DataFrame, columns: list[str]) -> np.ndarray:
    records = raw[columns].astype(object).where(raw[columns].notna(), None).to_dict("records")
    return np.array([canonical_json(r) for r in records], dtype=object)


def _names(columns) -> str:
    columns = [str(c) for c in columns]
    return ", ".join(columns[:20]) + (f", ... ({len(columns)} in all)" if len(columns) > 20 else "")
