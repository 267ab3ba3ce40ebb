"""Per-sample tables to bytes and back, keeping what matters.

Written as the Arrow IPC file format (Feather v2), zstd-compressed: opening
a 1,000,000-sample comparison decodes it straight into Arrow memory, which
the pandas frame then uses without a copy (text columns are pandas' Arrow-
backed "str"). Reading it is about 40% faster than the Parquet the first
stores held, at the same size; those Parquet blobs still load (by their
magic bytes). `columns=` decodes only some columns (the policy's coverage
needs just id and class).

pyarrow keeps numbers, NaN, categoricals and bytes as they are. Object
columns need care: a column of text or of bytes converts directly, but
anything mixed (dicts from JSON outputs, numbers next to text) would be
coerced by pyarrow (dicts into structs that gain each other's keys), so such
columns are stored as one JSON text per value and decoded on load.
"""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq

META_KEY = b"signoff.columns"
PARQUET_MAGIC = b"PAR1"


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


def _object_kind(series: pd.Series) -> str:
    """'text', 'bytes' or 'json': how an object column is stored."""
    inferred = pd.api.types.infer_dtype(series, skipna=True)
    if inferred in ("string", "empty"):
        return "text"
    if inferred == "bytes":
        return "bytes"
    return "json"


def frame_to_table(frame: pd.DataFrame) -> pa.Table:
    """The frame as the Arrow table the store writes (object columns encoded, their kinds in
    the schema's metadata so table_to_frame gives the same values back)."""
    frame = frame.reset_index(drop=True)
    kinds: dict[str, str] = {}
    columns = {}
    for name in frame.columns:
        col = frame[name]
        if col.dtype == object:
            kind = _object_kind(col)
            kinds[str(name)] = kind
            if kind == "json":
                col = pd.Series([None if _is_missing(v) else json.dumps(v, ensure_ascii=False, default=_json_default)
                                 for v in col], dtype=object)
            elif kind == "bytes":
                col = col.map(lambda v: None if _is_missing(v) else bytes(v))
        columns[name] = col
    table = pa.Table.from_pandas(pd.DataFrame(columns), preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[META_KEY] = json.dumps(kinds).encode()
    return table.replace_schema_metadata(meta)


def as_table(table) -> pa.Table:
    """A comparison table as Arrow: a pyarrow.Table as it is, a DataFrame encoded (frame_to_table)."""
    return table if isinstance(table, pa.Table) else frame_to_table(table)


def frame_to_bytes(frame: pd.DataFrame) -> bytes:
    table = frame_to_table(frame)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema, options=pa.ipc.IpcWriteOptions(compression="zstd")) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def bytes_to_table(data: bytes, columns: list[str] | None = None) -> pa.Table:
    """The stored table as Arrow (IPC, or the Parquet of older stores); `columns`: those of them
    the table has (a table stored before a column existed, e.g. sample_hash, lacks it)."""
    if bytes(data[:4]) == PARQUET_MAGIC:
        if columns is not None:
            names = set(pq.read_schema(io.BytesIO(data)).names)
            columns = [c for c in columns if c in names]
        return pq.read_table(io.BytesIO(data), columns=columns)
    if columns is not None:
        names = set(pa.ipc.open_file(pa.BufferReader(data)).schema.names)
        columns = [c for c in columns if c in names]
    return feather.read_table(pa.BufferReader(data), columns=columns, memory_map=False)


def column_kinds(schema: pa.Schema) -> dict[str, str]:
    """{column: "text" / "bytes" / "json"} of the object columns frame_to_table encoded."""
    return json.loads((schema.metadata or {}).get(META_KEY, b"{}"))


def decode_value(kind: str | None, value):
    """One stored value as the frame held it (a JSON-encoded object column decoded)."""
    if kind == "json" and value is not None:
        return json.loads(value, object_hook=_json_hook)
    return value


def table_to_frame(table: pa.Table) -> pd.DataFrame:
    kinds = column_kinds(table.schema)
    frame = table.to_pandas()
    for name, kind in kinds.items():
        if name not in frame.columns:
            continue
        if kind == "json":
            values = table.column(name).to_pylist()
            frame[name] = pd.Series([decode_value(kind, v) for v in values], dtype=object, index=frame.index)
        elif kind == "text":
            # pandas reads text back as its string dtype; the column held plain objects.
            col = frame[name]
            frame[name] = col.astype(object).where(col.notna(), None)
    return frame


def bytes_to_frame(data: bytes, columns: list[str] | None = None) -> pd.DataFrame:
    return table_to_frame(bytes_to_table(data, columns))
