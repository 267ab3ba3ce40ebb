"""same_as_baseline (app/core/stored_table.py) against the encoding it replaced (pc.if_else, then
each chunk rebuilt without bytes under its nulls): the same table, chunked the same way, and the
same bytes once written as a comparison file (issue 16: a comparison's SHA-256 for the same
inputs does not change), on random text and bytes with nulls, equal and unequal pairs, chunked."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from signoff.core.stored_table import SAME_COLUMN, restore_outputs, same_as_baseline
from signoff.store.comparison_files import write_comparison


def _old_null_slots_empty(chunk: pa.Array) -> pa.Array:
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


def _old_same_as_baseline(table: pa.Table) -> pa.Table:
    """The encoding as it was before issue 16's 10M request work (the reference)."""
    base, cand = table.column("baseline_output"), table.column("candidate_output")
    same = pc.fill_null(pc.equal(base, cand), False)
    stored = pa.chunked_array([_old_null_slots_empty(c) for c in
                               pc.if_else(same, pa.scalar(None, cand.type), cand).chunks], cand.type)
    at = table.column_names.index("candidate_output")
    return table.set_column(at, table.field(at), stored).append_column(pa.field(SAME_COLUMN, pa.bool_()), same)


KINDS = [pa.string(), pa.large_string(), pa.binary(), pa.large_binary()]
WORDS = ["", "a", "same", "é ü", "x" * 40, "line\nbreak", "同じ"]


@st.composite
def pairs(draw):
    kind = draw(st.sampled_from(KINDS))
    n = draw(st.integers(0, 60))
    base, cand = [], []
    for _ in range(n):
        b = draw(st.one_of(st.none(), st.sampled_from(WORDS), st.text(max_size=12)))
        how = draw(st.sampled_from(["equal", "other", "null"]))
        c = b if how == "equal" else None if how == "null" else draw(st.one_of(st.sampled_from(WORDS),
                                                                              st.text(max_size=12)))
        base.append(b)
        cand.append(c)
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        base = [None if v is None else v.encode() for v in base]
        cand = [None if v is None else v.encode() for v in cand]

    def chunked(values):
        cuts = sorted(set(draw(st.lists(st.integers(0, n), max_size=4))) | {0, n})
        arrays = [pa.array(values[a:b], kind) for a, b in zip(cuts, cuts[1:])]
        if draw(st.booleans()) and n:   # a chunk that is a slice of a larger array (offset, shared buffers)
            whole = pa.array(["pad"] * 3 + values + ["pad"], pa.string()).cast(kind)
            arrays = [whole.slice(3, n)]
        return pa.chunked_array(arrays, kind)

    return pa.table({"id": pa.array([str(i) for i in range(n)], pa.string()),
                     "baseline_output": chunked(base), "candidate_output": chunked(cand)})


def _file_bytes(table: pa.Table) -> bytes:
    out = io.BytesIO()
    write_comparison(table, out)
    return out.getvalue()


@settings(max_examples=300, deadline=None)
@given(pairs())
def test_same_as_baseline_is_the_encoding_it_replaced(table):
    new, old = same_as_baseline(table), _old_same_as_baseline(table)
    assert new.equals(old)
    assert [len(c) for c in new.column("candidate_output").chunks] == \
        [len(c) for c in old.column("candidate_output").chunks]
    for chunk in new.column("candidate_output").chunks:
        chunk.validate(full=True)
    assert _file_bytes(new) == _file_bytes(old)
    assert _file_bytes(new.combine_chunks()) == _file_bytes(old.combine_chunks())
    assert restore_outputs(new).equals(table)
