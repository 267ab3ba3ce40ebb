"""How a per-sample table's columns become Arrow and come back as pandas, whichever way the
table was built (the comparison engine's Arrow, or a pandas frame).

Text, numbers, categoricals and bytes are Arrow types as they are. Columns that only Python
objects hold (dicts from JSON outputs, numbers next to text) would be coerced by pyarrow (dicts
into structs that gain each other's keys), so such columns are one JSON text per value. The kind
of every object column ("text", "bytes", "json") is in the schema's metadata under KINDS_KEY,
and decoding gives each back as the objects it held: text as str (None for no value), JSON as
the values. Used by the comparison engine (app/core/compare.py) and the store (app/store/frames.py).
"""

from __future__ import annotations

import base64
import json

import numpy as np
import pandas as pd
import pyarrow as pa

KINDS_KEY = b"signoff.columns"


def _json_default(value):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _json_hook(obj: dict):
    if len(obj) == 1 and "$bytes" in obj:
        return base64.b64decode(obj["$bytes"])
    return obj


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA


def object_kind(series: pd.Series) -> str:
    """'text', 'bytes' or 'json': how an object column is stored."""
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    if inferred in ("string", "empty"):
        return "text"
    if inferred == "bytes":
        return "bytes"
    return "json"


def encoded_object_column(col: pd.Series) -> tuple[pd.Series, str]:
    """An object column as it is written: its values (JSON text for 'json', bytes for 'bytes'), its kind."""
    kind = object_kind(col)
    if kind == "json":
        col = pd.Series([None if _is_missing(v) else json.dumps(v, ensure_ascii=False, default=_json_default)
                         for v in col], dtype=object)
    elif kind == "bytes":
        col = col.map(lambda v: None if _is_missing(v) else bytes(v))
    return col, kind


def object_column_to_arrow(values: np.ndarray) -> tuple[pa.ChunkedArray, str]:
    """One object column as Arrow, exactly as a whole frame of them converts (pa.Table.from_pandas)."""
    col, kind = encoded_object_column(pd.Series(values, dtype=object))
    return pa.Table.from_pandas(pd.DataFrame({"v": col}), preserve_index=False).column(0), kind


def frame_to_table(frame: pd.DataFrame) -> pa.Table:
    """A pandas per-sample table as Arrow, with its object columns' kinds."""
    frame = frame.reset_index(drop=True)
    kinds: dict[str, str] = {}
    columns = {}
    for name in frame.columns:
        col = frame[name]
        if col.dtype == object:
            col, kinds[str(name)] = encoded_object_column(col)
        columns[name] = col
    table = pa.Table.from_pandas(pd.DataFrame(columns), preserve_index=False)
    return with_kinds(table, kinds)


def with_kinds(table: pa.Table, kinds: dict[str, str]) -> pa.Table:
    meta = dict(table.schema.metadata or {})
    meta[KINDS_KEY] = json.dumps(kinds).encode()
    return table.replace_schema_metadata(meta)


def table_to_frame(table: pa.Table, *, split_blocks: bool = False) -> pd.DataFrame:
    """The pandas frame of a stored table: object columns back as the objects they held.
    `split_blocks`: a column per block, so a one-chunk number column without nulls is held as it
    is, not copied into a block beside the others (the paged open's resident columns)."""
    kinds = json.loads((table.schema.metadata or {}).get(KINDS_KEY, b"{}"))
    frame = table.to_pandas(split_blocks=split_blocks)
    for name, kind in kinds.items():
        if name not in frame.columns:
            continue
        if kind == "json":
            values = table.column(name).to_pylist()
            frame[name] = pd.Series([None if v is None else json.loads(v, object_hook=_json_hook) for v in values],
                                    dtype=object, index=frame.index)
        elif kind == "text":
            # pandas reads text back as its string dtype; the column held plain objects.
            col = frame[name]
            frame[name] = col.astype(object).where(col.notna(), None)
    return frame
