"""Per-sample tables to bytes and back, keeping what matters.

Written as the Arrow IPC file format (Feather v2), zstd-compressed: opening
a 1,000,000-sample comparison decodes it straight into Arrow memory, which
the pandas frame then uses without a copy (text columns are pandas' Arrow-
backed "str"). Reading it is about 40% faster than the Parquet the first
stores held, at the same size; those Parquet blobs still load (by their
magic bytes). `columns=` decodes only some columns (the policy's coverage
needs just id and class). Reading gives the table back as compare() built it
(signoff.core.stored_table.restore_outputs: the candidate's outputs stored as null where
they equal the baseline's are put back), here and in ComparisonPages, the two
read-backs of a stored table.

pyarrow keeps numbers, NaN, categoricals and bytes as they are. Object
columns need care: a column of text or of bytes converts directly, but
anything mixed (dicts from JSON outputs, numbers next to text) would be
coerced by pyarrow (dicts into structs that gain each other's keys), so such
columns are stored as one JSON text per value and decoded on load.
"""

from __future__ import annotations

import io
import json

import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq

from signoff.core.stored_table import HASH_KEY, ON_DEMAND, hashed_on_demand, restored_columns, stored_columns
from signoff.core.table_kinds import KINDS_KEY as META_KEY, _json_hook, frame_to_table, table_to_frame  # noqa: F401 (re-exported)

PARQUET_MAGIC = b"PAR1"


def frame_to_bytes(frame: pd.DataFrame | pa.Table) -> bytes:
    """A pandas frame, or an Arrow table the comparison engine built (written as it is)."""
    table = frame if isinstance(frame, pa.Table) else frame_to_table(frame)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema, options=pa.ipc.IpcWriteOptions(compression="zstd")) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def bytes_to_table(data: bytes, columns: list[str] | None = None) -> pa.Table:
    """The stored table as Arrow (IPC, or the Parquet of older stores), as compare() built it
    (restore_outputs); `columns`: those of them the table has (a table stored before a column
    existed, e.g. sample_hash, lacks it)."""
    parquet = bytes(data[:4]) == PARQUET_MAGIC
    read = None
    if columns is not None:
        names = (pq.read_schema(io.BytesIO(data)) if parquet else pa.ipc.open_file(pa.BufferReader(data)).schema).names
        read = stored_columns(names, columns)
    if parquet:
        return restored_columns(pq.read_table(io.BytesIO(data), columns=read), columns)
    return restored_columns(feather.read_table(pa.BufferReader(data), columns=read, memory_map=False), columns)


def as_table(table) -> pa.Table:
    """A comparison table as Arrow: a pyarrow.Table as it is, a DataFrame encoded (frame_to_table;
    a frame from ComparisonResult.table keeps its mark that sample hashes are computed on demand)."""
    if isinstance(table, pa.Table):
        return table
    encoded = frame_to_table(table)
    if table.attrs.get(HASH_KEY.decode()) == ON_DEMAND.decode():
        encoded = hashed_on_demand(encoded)
    return encoded


def column_kinds(schema: pa.Schema) -> dict[str, str]:
    """{column: "text" / "bytes" / "json"} of the object columns frame_to_table encoded."""
    return json.loads((schema.metadata or {}).get(META_KEY, b"{}"))


def decode_value(kind: str | None, value):
    """One stored value as the frame held it (a JSON-encoded object column decoded)."""
    if kind == "json" and value is not None:
        return json.loads(value, object_hook=_json_hook)
    return value


def bytes_to_frame(data: bytes, columns: list[str] | None = None) -> pd.DataFrame:
    return table_to_frame(bytes_to_table(data, columns))
