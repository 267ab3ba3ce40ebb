"""What a comparison table holds as stored beyond what compare() built, and the one way back
(docs/architecture.md "Comparisons as files"; app/core/compare.py lists the columns).

- HASH_KEY in the schema's metadata (b"on-demand"): the table has no sample_hash column; the
  hashes are computed from its columns when a label needs them (compare.row_hashes).
- candidate_output null where it holds the very value baseline_output holds, SAME_COLUMN true
  there (false: a null is "no candidate output"). restore_outputs puts the value back; the store's
  read-backs (app/store/frames.py, ComparisonPages) call it, so no reader sees the encoding.
  A table stored before either is read as it is.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .table_kinds import KINDS_KEY

HASH_KEY = b"signoff.sample_hash"   # schema metadata: ON_DEMAND = hashes computed from the columns
ON_DEMAND = b"on-demand"
SAME_COLUMN = "candidate_same"      # stored only: true where candidate_output (stored null) = baseline_output


def hashed_on_demand(table: pa.Table) -> pa.Table:
    """`table` marked as one whose sample hashes are computed from its columns (row_hashes)."""
    return table.replace_schema_metadata({**(table.schema.metadata or {}), HASH_KEY: ON_DEMAND})


def _output_kind(schema: pa.Schema, name: str):
    return json.loads((schema.metadata or {}).get(KINDS_KEY, b"{}")).get(name)


def same_as_baseline(table: pa.Table) -> pa.Table:
    """The table to store: candidate_output null where it holds the very value baseline_output holds
    (same type, same kind, same text or bytes), SAME_COLUMN true there. At 1M samples with 70% of the
    outputs unchanged this leaves ~70 MB of text out of the table (restore_outputs puts it back)."""
    names = table.column_names
    if "baseline_output" not in names or "candidate_output" not in names or SAME_COLUMN in names:
        return table
    base, cand = table.column("baseline_output"), table.column("candidate_output")
    if base.type != cand.type or _output_kind(table.schema, "baseline_output") != _output_kind(
            table.schema, "candidate_output") or not (pa.types.is_string(cand.type) or pa.types.is_large_string(
            cand.type) or pa.types.is_binary(cand.type) or pa.types.is_large_binary(cand.type)):
        return table
    same = pc.fill_null(pc.equal(base, cand), False)
    stored = pa.chunked_array([_null_slots_empty(c) for c in pc.if_else(same, pa.scalar(None, cand.type), cand).chunks],
                              cand.type)
    at = names.index("candidate_output")
    return table.set_column(at, table.field(at), stored).append_column(pa.field(SAME_COLUMN, pa.bool_()), same)


def _null_slots_empty(chunk: pa.Array) -> pa.Array:
    """`chunk` (text or bytes) with no bytes under its nulls: if_else leaves the replaced values'
    bytes there, and a file writes them (2M samples, 70% unchanged: 144 MB of the candidate's 215)."""
    if not chunk.null_count:
        return chunk
    valid = chunk.is_valid()
    dense = chunk.filter(valid)
    large = pa.types.is_large_string(chunk.type) or pa.types.is_large_binary(chunk.type)
    width = np.int64 if large else np.int32
    offs = np.frombuffer(dense.buffers()[1], dtype=width)[dense.offset:dense.offset + len(dense) + 1]
    lengths = np.zeros(len(chunk), dtype=width)
    present = valid.to_numpy(zero_copy_only=False)
    lengths[present] = np.diff(offs)
    offsets = np.zeros(len(chunk) + 1, dtype=width)
    np.cumsum(lengths, out=offsets[1:])
    data = dense.buffers()[2]
    data = data.slice(int(offs[0])) if data is not None else pa.py_buffer(b"")
    bitmap = pa.py_buffer(np.packbits(present, bitorder="little").tobytes())
    return pa.Array.from_buffers(chunk.type, len(chunk), [bitmap, pa.py_buffer(offsets.tobytes()), data],
                                 null_count=chunk.null_count)


def restore_outputs(table: pa.Table) -> pa.Table:
    """A stored table as compare() built it: candidate_output whole again, SAME_COLUMN gone (a table
    stored without it is returned as it is). The one place every reader of a stored table goes through."""
    if SAME_COLUMN not in table.column_names:
        return table
    same = table.column(SAME_COLUMN)
    table = table.drop_columns([SAME_COLUMN])
    names = table.column_names
    if "candidate_output" in names and "baseline_output" in names:
        at = names.index("candidate_output")
        whole = pc.if_else(same, table.column("baseline_output"), table.column("candidate_output"))
        table = table.set_column(at, table.field(at), whole)
    return table


def stored_columns(names, columns: list[str] | None) -> list[str] | None:
    """What to read of a stored table (column `names`) to give back `columns` (None: all):
    candidate_output needs baseline_output and SAME_COLUMN too where the table has them."""
    if columns is None:
        return None
    out = [c for c in columns if c in names]
    if "candidate_output" in out and SAME_COLUMN in names:
        out += [c for c in ("baseline_output", SAME_COLUMN) if c not in out]
    return out


def restored_columns(table: pa.Table, columns: list[str] | None) -> pa.Table:
    """restore_outputs of what stored_columns read, then only `columns` (in the order read)."""
    table = restore_outputs(table)
    if columns is None:
        return table
    wanted = set(columns)
    return table.select([c for c in table.column_names if c in wanted])
