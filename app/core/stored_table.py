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
    stored = pa.chunked_array(list(_kept_values(same, cand)), cand.type)
    at = names.index("candidate_output")
    return table.set_column(at, table.field(at), stored).append_column(pa.field(SAME_COLUMN, pa.bool_()), same)


def _kept_values(same: pa.ChunkedArray, cand: pa.ChunkedArray):
    """cand with a null where `same`, chunked at both's chunk edges, no bytes under any null (a file would
    write them: 2M samples, 70% unchanged, 144 MB of the candidate's 215). One filter per chunk
    copies only the text kept; the offsets come from its lengths (pc.if_else and a rebuild after
    it copied the whole text twice: issue 16, 10M request)."""
    cuts = sorted({0, *np.cumsum([len(c) for c in same.chunks]).tolist(),
                   *np.cumsum([len(c) for c in cand.chunks]).tolist()})   # as if_else chunked it
    for at, stop in zip(cuts, cuts[1:]):
        chunk, values = same.slice(at, stop - at).chunk(0), cand.slice(at, stop - at).chunk(0)
        keep = pc.and_(pc.invert(chunk), values.is_valid()) if values.null_count else pc.invert(chunk)
        kept = keep.true_count
        if kept == len(chunk):   # nothing to null here: as if_else gave it (a validity buffer with it:
            yield pc.if_else(chunk, pa.scalar(None, values.type), values)   # the file's Arrow size counts it)
        else:
            yield _dense(values, keep, kept)


def _dense(values: pa.Array, keep: pa.BooleanArray, kept: int) -> pa.Array:
    """`values` (text or bytes) where `keep`, null elsewhere with no bytes under the nulls."""
    large = pa.types.is_large_string(values.type) or pa.types.is_large_binary(values.type)
    width = np.int64 if large else np.int32
    present = keep.to_numpy(zero_copy_only=False)
    lengths = np.zeros(len(values), dtype=width)
    if kept:
        dense = values.filter(keep)
        offs = np.frombuffer(dense.buffers()[1], dtype=width)[dense.offset:dense.offset + len(dense) + 1]
        lengths[present] = np.diff(offs)
        data = dense.buffers()[2]
    if not kept or data is None:
        data = pa.py_buffer(b"")
    else:
        data = data.slice(int(offs[0]))
    offsets = np.zeros(len(values) + 1, dtype=width)
    np.cumsum(lengths, out=offsets[1:])
    bitmap = pa.py_buffer(np.packbits(present, bitorder="little").tobytes())
    return pa.Array.from_buffers(values.type, len(values), [bitmap, pa.py_buffer(offsets.tobytes()), data],
                                 null_count=len(values) - kept)


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
