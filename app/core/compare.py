"""The comparison engine: align baseline and candidate by sample id and
classify every sample, over whole columns (no Python loop per row).

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

What is stored is that table with two encodings (issue 16), undone by the one read-back of a
stored table (restore_outputs; app/store/frames.py and ComparisonPages), so every reader sees
the columns above:
    candidate_output    null where it equals baseline_output (the same stored value: the same
                        text, or the same JSON text / bytes of the same kind), with
    candidate_same      bool, true on those rows (SAME_COLUMN). A null candidate_output with
                        candidate_same false is "no candidate output". Tables without the column
                        (stored before) hold the candidate's output on every row.
    sample_hash         not stored any more. It is SHA-256 of the sample's input, reference and
                        both outputs (and their bytes): equal across two requests = the sample did
                        not change, so a label carries over (docs/trust.md, "Labels that carry
                        over"). row_hashes() computes it from the stored columns, for the few rows
                        whose labels need it, with the definition the stored column had
                        (sample_hashes()). Tables stored with the column keep using it; tables
                        stored before sample hashes existed (neither the column nor HASH_KEY in
                        their schema's metadata) have none, so nothing carries from them.

The engine works on Arrow (issue 16): ids are aligned with pyarrow.compute (no Python string
per row; when the three id columns are equal in order, nothing is looked up at all), text stays in
Arrow buffers, and the result is an Arrow table (ComparisonResult.arrow) the store writes as it
is. Sources may still hand over pandas frames (the MLflow and inspection sources, tests): their
columns go through the same conversions as before, so a value is compared and stored the same
whichever way it came. ComparisonResult.table is the pandas frame the store gives back for
that table (built only when asked: the request path never builds it).
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .errors import InputError
from .model import SEVERITY, ChangeClass, EvalSetData
from .normalise import normalise
from .stored_table import HASH_KEY, ON_DEMAND, SAME_COLUMN, hashed_on_demand, restore_outputs, same_as_baseline
from .table_kinds import KINDS_KEY, object_column_to_arrow, table_to_frame, with_kinds

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
            and not is_prediction_extra(c) and c not in (HASH_COLUMN, SAME_COLUMN)]


def sample_hashes(table) -> np.ndarray:
    """One hash per row over what a reviewer judged: input, reference, both outputs (and their bytes).

    SHA-256 (first 128 bits), because a label carried to a new request rests on it: a candidate
    must not be able to make a changed sample look unchanged. The hashed text is the repr of the
    row's tuple of values (None for no value), as the first stores computed it. Rows whose values
    are all printable ASCII text without quotes or backslashes (or missing) have that text built
    and hashed by DuckDB (native, on every core, streamed; ~25x faster than hashlib row by row)
    or, for small sets, built by Arrow and hashed by hashlib; the others (quotes, non-ASCII,
    numbers, JSON values, bytes) by Python's repr and hashlib."""
    if isinstance(table, dict):   # the engine's own columns (ChunkedArray or numpy)
        names = [c for c in HASHED_COLUMNS if c in table]
        cols = [table[c] for c in names]
    else:
        names = [c for c in HASHED_COLUMNS if c in _names(table)]
        cols = [_prepared(_column_of(table, c)) for c in names]
    tag = repr(tuple(names))
    n = len(cols[0]) if cols else 0
    simple = np.ones(n, dtype=bool)
    for col in cols:
        if isinstance(col, np.ndarray) or not pa.types.is_string(col.type):
            simple[:] = False
            break
        simple &= pc.fill_null(pc.ascii_is_printable(col), True).to_numpy(zero_copy_only=False)
        simple[_rows_with_bytes(col, b"'\\")] = False
    out = np.empty(n, dtype=object)
    if 2 * simple.sum() <= n:   # mostly quotes, non-ASCII or other values: Python for every row
        simple[:] = False
    else:   # every row: the digests of the others are replaced below
        digests = _duckdb_hashes(tag, cols) if n >= _DUCKDB_FROM else None
        if digests is not None:
            out[:] = digests
        else:
            for start in range(0, n, _HASH_BATCH):   # zero-copy slices, so the text never exists for all rows
                part = [col.slice(start, _HASH_BATCH) for col in cols]
                quoted = [pc.coalesce(pc.binary_join_element_wise("'", col, "'", ""), "None") for col in part]
                text = pc.binary_join_element_wise(tag + "(", pc.binary_join_element_wise(*quoted, ", "), ")", "")
                sha = hashlib.sha256
                out[start:start + len(text)] = [sha(t).hexdigest()[:32] for t in text.cast(pa.binary()).to_pylist()]
    rest = np.flatnonzero(~simple)
    if len(rest):
        py = [_python_values(col, rest) for col in cols]
        sha = hashlib.sha256
        out[rest] = [sha((tag + repr(row)).encode()).hexdigest()[:32] for row in zip(*py)]
    return out


_HASH_BATCH = 262_144
_DUCKDB_FROM = 300_000   # below: hashlib row by row (~1 µs a row) costs less than DuckDB's import (~0.3 s)


def _duckdb_hashes(tag: str, cols: list[pa.ChunkedArray]) -> np.ndarray | None:
    """The digests of every row's text (tag + the repr of its tuple of texts), the text built and
    hashed by DuckDB on every core in one streamed query; None without DuckDB."""
    try:
        import duckdb
    except ImportError:
        return None
    quote = "''''"   # SQL for the text ': a quote doubled inside quotes
    quoted = [f"coalesce({quote} || c{i} || {quote}, 'None')" for i in range(len(cols))]
    text = " || ', ' || ".join(quoted)
    literal = (tag + "(").replace("'", "''")
    con = duckdb.connect()
    try:
        con.register("cols", pa.table({f"c{i}": col for i, col in enumerate(cols)}))
        result = con.sql(f"SELECT left(sha256('{literal}' || {text} || ')'), 32) AS h FROM cols").arrow()
        digests = (result.read_all() if hasattr(result, "read_all") else result).column("h")   # 2.x: a reader
    finally:
        con.close()
    return digests.to_numpy(zero_copy_only=False)


def _rows_with_bytes(col: pa.ChunkedArray, chars: bytes) -> np.ndarray:
    """The rows of a text column holding any of the (ASCII) `chars`: a scan of its data buffers."""
    found, base = [], 0
    for chunk in col.chunks:
        offsets_buf, data_buf = chunk.buffers()[1], chunk.buffers()[2]
        if data_buf is not None and len(chunk):
            offsets = np.frombuffer(offsets_buf, dtype=np.int32)[chunk.offset:chunk.offset + len(chunk) + 1]
            data = np.frombuffer(data_buf, dtype=np.uint8)[offsets[0]:offsets[-1]]
            hit = np.zeros(len(data), dtype=bool)
            for c in chars:
                hit |= data == c
            at = np.flatnonzero(hit) + offsets[0]
            if len(at):
                found.append(base + np.unique(np.searchsorted(offsets, at, side="right") - 1))
        base += len(chunk)
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def _python_values(col, rows: np.ndarray) -> list:
    """The values at `rows` as the old engine held them: None for no value."""
    if isinstance(col, np.ndarray):
        values = col[rows]
        if values.dtype != object:
            values = values.astype(object)
        missing = pd.isna(values)
        if missing.any():
            values = values.copy()
            values[missing] = None
        return list(values)
    return pc.take(col, pa.array(rows)).to_pylist()


# -- sample hashes of a stored table, on demand --------------------------------------------------------------------

def row_hashes(table: pa.Table) -> dict[str, str]:
    """{id: sample_hash} for the rows of a (restored) comparison table: its stored column, else computed
    from its columns with sample_hashes()'s definition when the table is marked for it (HASH_KEY). {}
    when neither (a table stored before sample hashes, or one lacking a hashed column): nothing carries."""
    names = table.column_names
    ids = table.column("id").to_pylist() if "id" in names else []
    if HASH_COLUMN in names:
        return dict(zip(ids, table.column(HASH_COLUMN).to_pylist()))
    if (table.schema.metadata or {}).get(HASH_KEY) != ON_DEMAND or not ids or not all(
            c in names for c in HASHED_COLUMNS[:4]):
        return {}
    kinds = json.loads((table.schema.metadata or {}).get(KINDS_KEY, b"{}"))
    cols = {c: _engine_column(table, c, kinds.get(c)) for c in HASHED_COLUMNS if c in names}
    return dict(zip(ids, sample_hashes(cols)))


def _engine_column(table: pa.Table, name: str, kind: str | None):
    """A stored column as the engine held it when it hashed: text as Arrow text, numbers as float64
    numpy, what only Python holds (JSON values, bytes, text stored as objects) as Python objects."""
    col = table.column(name)
    if kind is None and (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        return col.cast(pa.string())
    if kind is None and pa.types.is_floating(col.type):
        return col.to_numpy().astype(float, copy=False)
    return table_to_frame(table.select([name]))[name].to_numpy(dtype=object)


@dataclass
class ComparisonResult:
    eval_set: str
    arrow: pa.Table          # as stored: with the encodings above (restore_outputs gives the full table)
    summary: dict
    slice_columns: list[str]
    _frame: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def table(self) -> pd.DataFrame:
        """The per-sample table as a pandas frame, as the store gives it back (built once, when asked).
        Its attrs say hashes are computed on demand, so a store given the frame marks it so too."""
        if self._frame is None:
            self._frame = table_to_frame(restore_outputs(self.arrow))
            self._frame.attrs[HASH_KEY.decode()] = ON_DEMAND.decode()
        return self._frame


def slice_columns_of(data: EvalSetData) -> list[str]:
    names = _names(data.samples)
    if data.spec.slices:
        return [c for c in data.spec.slices if c in names]
    skip = {"id", "input", "reference", "input_bytes", "reference_bytes"}
    return [c for c in names if c not in skip]


# -- columns: Arrow where the values are text or numbers, Python objects where only Python holds them ----------

def _names(table) -> list[str]:
    return list(table.column_names) if isinstance(table, pa.Table) else [str(c) for c in table.columns]


def _column_of(table, name):
    return table.column(name) if isinstance(table, pa.Table) else table[name]


def _arrow_mapper(t: pa.DataType):
    """As the loaders convert Arrow to pandas: nullable ints and bools."""
    if pa.types.is_integer(t):
        return pd.Int64Dtype()
    if pa.types.is_boolean(t):
        return pd.BooleanDtype()
    return None


def _prepared(values):
    """One input column as the engine holds it: a pyarrow ChunkedArray of text, a float64 numpy
    array (NaN: no value), or an object numpy array (what only Python objects hold: JSON values,
    mixed types, bytes, whole numbers, as the engine always held them)."""
    if isinstance(values, pa.ChunkedArray):
        t = values.type
        if pa.types.is_dictionary(t) and (pa.types.is_string(t.value_type) or pa.types.is_large_string(t.value_type)):
            return values.cast(t.value_type)
        if pa.types.is_string(t):
            return values
        if pa.types.is_large_string(t):
            return values.cast(pa.string())
        if pa.types.is_floating(t):
            return values.to_numpy().astype(float, copy=False)
        series = values.to_pandas(types_mapper=_arrow_mapper)
        values = pd.DataFrame({"v": series.to_numpy()})["v"]   # the loaders' frame, as before
    series = values
    arrow = None
    if isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow":
        from .arrow import arrow_of   # pandas' Arrow-backed text: its buffers, no copy

        arrow = arrow_of(series)
    if arrow is not None and (pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type)):
        return arrow.cast(pa.string())
    out = series.to_numpy()
    if np.issubdtype(out.dtype, np.floating):
        return out.astype(float, copy=False)
    return out.astype(object)


def _take(values, pos: np.ndarray | None, present: np.ndarray | None):
    """values at positions `pos` (-1: no value); pos None: as they are."""
    if pos is None:
        return values
    if isinstance(values, pa.ChunkedArray):
        return pc.take(values, pa.array(pos, mask=~present))
    if values.dtype != object:
        out = np.full(len(pos), np.nan)
    else:
        out = np.empty(len(pos), dtype=object)
    out[present] = values[pos[present]]
    return out


def all_distinct(ids: pa.ChunkedArray) -> bool:
    """No id twice: strictly increasing ids (files written in id order) need one pass and no
    hash table; others are counted with pyarrow.compute.count_distinct."""
    if len(ids) < 2:
        return True
    ordered = pc.all(pc.less(ids.slice(0, len(ids) - 1), ids.slice(1))).as_py()
    return bool(ordered) or pc.count_distinct(ids).as_py() == len(ids)


def _ids(table) -> pa.ChunkedArray:
    if isinstance(table, pa.Table) and pa.types.is_string(table.column("id").type) and not table.column("id").null_count:
        return table.column("id")
    frame = table.column("id").to_pandas() if isinstance(table, pa.Table) else table["id"]
    return pa.chunked_array([pa.array(frame.astype(str).to_numpy(dtype=object), pa.string())])


def _check_distinct(ids: pa.ChunkedArray, what: str, name: str) -> None:
    if not all_distinct(ids):
        idx = pd.Index(ids.to_numpy(zero_copy_only=False), dtype=object)
        dup = idx[idx.duplicated()].unique()[:5].tolist()
        raise InputError(f"{name}: duplicate sample ids in the {what}: {', '.join(map(str, dup))}")


def release_freed() -> None:
    """Hand the memory of freed Arrow buffers back to the system now. pyarrow's allocator (mimalloc)
    keeps freed pages for reuse even with MIMALLOC_PURGE_DELAY=0 (app/__init__.py): at 1M samples a
    Parquet read leaves ~300 MB of its working memory resident, and the reorder below as much again
    (issue 16: the request's peak). One collection pass: milliseconds."""
    pa.default_memory_pool().release_unused()


def same_ids(a: pa.ChunkedArray, b: pa.ChunkedArray) -> bool:
    """The same ids in the same order (the usual case: nothing to look up). One column in two
    tables (the loaders hand the samples' ids to predictions with the same ids) is the same
    without a look at its values."""
    return a is b or _same_memory(a, b) or (len(a) == len(b) and pc.all(pc.equal(a, b)).as_py() is not False)


def _same_memory(a: pa.ChunkedArray, b: pa.ChunkedArray) -> bool:
    def spans(col):
        return [(c.offset, len(c), [buf.address if buf is not None else 0 for buf in c.buffers()]) for c in col.chunks]
    return a.type == b.type and a.num_chunks == b.num_chunks and spans(a) == spans(b)


def _align(data: EvalSetData) -> tuple[dict, int]:
    """One row per id in the samples or either predictions: the samples' ids in their order, then
    the baseline's ids the samples lack, then the candidate's. Equal id columns (the usual case)
    need no look-up; otherwise positions by pyarrow.compute.index_in."""
    name = data.spec.name
    sides = [(data.samples, "samples"), (data.baseline, "baseline predictions"),
             (data.candidate, "candidate predictions")]
    id_cols = [_ids(frame) for frame, _what in sides]
    for k, (side_ids, (_frame, what)) in enumerate(zip(id_cols, sides)):
        if k and same_ids(side_ids, id_cols[0]):
            id_cols[k] = side_ids = id_cols[0]   # equal to the samples' ids: checked once, aligned as they are
        else:
            _check_distinct(side_ids, what, name)
    ids = id_cols[0]
    for other in id_cols[1:]:
        if other is ids:
            continue
        extra = pc.filter(other, pc.invert(pc.is_in(other, value_set=ids)))
        if len(extra):
            ids = pa.chunked_array(ids.chunks + extra.chunks, pa.string())
    n = len(ids)
    cols: dict = {"id": ids}
    renames_of = (
        {},
        {"output": "baseline_output", "score": "baseline_score", "output_bytes": "baseline_output_bytes"},
        {"output": "candidate_output", "score": "candidate_score", "output_bytes": "candidate_output_bytes"},
    )
    for k, ((frame, _what), side_ids, flag) in enumerate(zip(sides, id_cols, ("_in_samples", "_in_base", "_in_cand"))):
        if side_ids is ids:
            pos = present = None
            cols[flag] = np.ones(n, dtype=bool)
        else:
            pos = pc.index_in(ids, value_set=side_ids).to_numpy(zero_copy_only=False)
            present = ~np.isnan(pos) if pos.dtype.kind == "f" else pos >= 0
            pos = np.where(present, np.nan_to_num(pos, nan=-1), -1).astype(np.int64)
            cols[flag] = present
        prefix = ("", "baseline_", "candidate_")[k]
        renames = renames_of[k]
        for col in _names(frame):
            if col == "id":
                continue
            target = renames.get(col, f"{prefix}{col}" if prefix else col)   # the predictions' other columns, per model
            cols[target] = _take(_prepared(_column_of(frame, col)), pos, present)
    return cols, n


def _key(values, output_type: str):
    """What counts as the same output: Arrow text as it is for text; the output type's own
    normalisation (app/core/normalise.py, over Python values) for the others."""
    if output_type == "text" and isinstance(values, pa.ChunkedArray):
        return values
    return normalise(pd.Series(_py(values), dtype=object), output_type)


def _py(values) -> np.ndarray:
    if isinstance(values, pa.ChunkedArray):
        return np.asarray(values.to_numpy(zero_copy_only=False), dtype=object)
    return values


def _equal(a, b) -> np.ndarray:
    """Equal keys, or both missing."""
    if isinstance(a, pa.ChunkedArray) and isinstance(b, pa.ChunkedArray):
        both = pc.and_(pc.is_null(a), pc.is_null(b))
        return pc.or_(pc.fill_null(pc.equal(a, b), False), both).to_numpy(zero_copy_only=False)
    if isinstance(a, pa.ChunkedArray) or isinstance(b, pa.ChunkedArray):
        a = pd.Series(_py(a), dtype=object).astype("string") if not isinstance(a, pd.Series) else a
        b = pd.Series(_py(b), dtype=object).astype("string") if not isinstance(b, pd.Series) else b
    return ((a == b).fillna(False).to_numpy(dtype=bool) | (a.isna() & b.isna()).to_numpy())


def _matches(a, b) -> np.ndarray:
    """Equal keys (a missing key matches nothing)."""
    if isinstance(a, pa.ChunkedArray) and isinstance(b, pa.ChunkedArray):
        return pc.fill_null(pc.equal(a, b), False).to_numpy(zero_copy_only=False)
    if isinstance(a, pa.ChunkedArray) or isinstance(b, pa.ChunkedArray):
        a = pd.Series(_py(a), dtype=object).astype("string") if not isinstance(a, pd.Series) else a
        b = pd.Series(_py(b), dtype=object).astype("string") if not isinstance(b, pd.Series) else b
    return (a == b).fillna(False).to_numpy(dtype=bool)


def _is_missing(values) -> np.ndarray:
    if isinstance(values, pa.ChunkedArray):
        return pc.is_null(values).to_numpy(zero_copy_only=False)
    return pd.isna(values)


_CLASSES = [c.value for c in ChangeClass]
_MISSING_SIDES = ["", "eval set", "both", "baseline", "candidate"]


@dataclass
class Aligned:
    """An eval set's columns aligned by id (_align), with what compare() needs of the eval set
    besides: the input tables are no longer needed. A caller that lets go of them has each input
    column freed as soon as compare_aligned has reordered it (issue 16: at 1M samples the request's
    peak was the inputs and the reordered table side by side)."""

    spec: object
    columns: dict
    n: int
    slices: list[str]
    no_score: dict
    warnings: list


def aligned(data: EvalSetData) -> Aligned:
    t, n = _align(data)
    return Aligned(data.spec, t, n, slice_columns_of(data), data.no_score, data.warnings)


def compare(data: EvalSetData) -> ComparisonResult:
    return compare_aligned(aligned(data))


def compare_aligned(a: Aligned) -> ComparisonResult:
    """The comparison of aligned columns; `a.columns` is emptied as they are reordered."""
    spec, t, n = a.spec, a.columns, a.n
    for col in ("input", "reference", "baseline_output", "candidate_output"):
        if col not in t:
            t[col] = pa.chunked_array([pa.nulls(n, pa.string())])
    for col in ("baseline_score", "candidate_score"):
        if col not in t:
            t[col] = np.full(n, np.nan)
        elif not (isinstance(t[col], np.ndarray) and t[col].dtype == float):
            t[col] = pd.to_numeric(pd.Series(_py(t[col]), dtype=object), errors="coerce").to_numpy(dtype=float)

    # Equality after the output type's own normalisation.
    otype = spec.output_type
    bkey_src = t["baseline_output_bytes"] if otype == "image" and "baseline_output_bytes" in t else t["baseline_output"]
    ckey_src = t["candidate_output_bytes"] if otype == "image" and "candidate_output_bytes" in t else t["candidate_output"]
    bkey = _key(bkey_src, otype)
    ckey = _key(ckey_src, otype)
    equal = _equal(bkey, ckey)

    # Scores: given in the predictions, else derived from an exact match with the reference.
    has_ref = ~_is_missing(t["reference"])
    rkey = _key(t["reference_bytes"] if otype == "image" and "reference_bytes" in t else t["reference"], otype)
    for side, key, present in (("baseline", bkey, "_in_base"), ("candidate", ckey, "_in_cand")):
        col = f"{side}_score"
        # A side with no prediction for the sample has no score (never a derived 0).
        derived = np.where(has_ref & t[present], _matches(key, rkey).astype(float), np.nan)
        given = t[col]
        scores = np.where(np.isnan(given), derived, given)
        if a.no_score.get(side):   # a NaN/inf score counted as none (non_finite_scores = "as-missing")
            ids_out = pa.array([str(i) for i in a.no_score[side]], pa.string())
            scores[pc.is_in(t["id"], value_set=ids_out).to_numpy(zero_copy_only=False)] = np.nan
        t[col] = scores
    del bkey_src, ckey_src, bkey, ckey, rkey, key   # the reorder below frees each input column it is done with
    bs, cs = t["baseline_score"], t["candidate_score"]
    delta = cs - bs
    sign = 1.0 if spec.higher_is_better else -1.0
    t["delta"] = delta

    in_s, in_b, in_c = t["_in_samples"], t["_in_base"], t["_in_cand"]
    in_all = in_s & in_b & in_c
    scored = ~np.isnan(delta)
    codes = np.select(
        [~in_all, equal, scored & (sign * delta > 0), scored & (sign * delta < 0)],
        [_CLASSES.index(ChangeClass.MISSING.value), _CLASSES.index(ChangeClass.UNCHANGED.value),
         _CLASSES.index(ChangeClass.IMPROVED.value), _CLASSES.index(ChangeClass.REGRESSED.value)],
        default=_CLASSES.index(ChangeClass.CHANGED.value)).astype(np.int8)
    severity = np.array([SEVERITY[ChangeClass(c)] for c in _CLASSES], dtype=np.int8)[codes]
    side_codes = np.select([~in_s, ~in_b & ~in_c, ~in_b, ~in_c], [1, 2, 3, 4], default=0).astype(np.int8)
    t["class"] = pa.chunked_array([pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(_CLASSES))])
    t["severity"] = severity
    t["missing_side"] = pa.chunked_array([pa.DictionaryArray.from_arrays(pa.array(side_codes), pa.array(_MISSING_SIDES))
                                          .cast(pa.string())])

    slices = a.slices
    extra = [c for c in t if is_prediction_extra(c)] + [c for c in t if c.endswith("_bytes")]
    ordered = BASE_COLUMNS + [c for c in slices if c not in BASE_COLUMNS and not is_prediction_extra(c)] + extra
    columns = {c: t.pop(c) for c in ordered}   # only here from now on: each goes once reordered
    # Worst first: severity, then the largest drop in score, then the eval set's own order.
    order_delta = np.where(np.isnan(delta), 0.0, sign * delta)
    order = worst_first(severity, order_delta)
    sorted_codes = codes[order]
    _encode_outputs(columns)
    table = _to_arrow(columns, order)
    summary = _summary(table, sorted_codes, slices, spec.name, a.warnings)
    if spec.non_finite_scores == "as-missing":
        summary["non_finite_scores"] = {side: len(a.no_score.get(side, ())) for side in ("baseline", "candidate")}
    return ComparisonResult(spec.name, hashed_on_demand(same_as_baseline(table)), summary, slices)


def worst_first(severity: np.ndarray, order_delta: np.ndarray) -> np.ndarray:
    """Row positions (int32) by severity, then order_delta, ties in the set's order: what
    np.lexsort((order_delta, severity)) gives, in ~2/3 of its time (10M rows: 0.6 s against 0.9 s).
    A stable partition by severity (a radix sort of int8), then a stable sort of the deltas only
    within groups whose deltas differ (the unchanged rows, most of a set, all have 0)."""
    order = np.argsort(severity, kind="stable")
    sorted_severity = severity[order]
    edges = np.flatnonzero(np.diff(sorted_severity)) + 1
    for start, stop in zip(np.r_[0, edges], np.r_[edges, len(order)]):
        group = order[start:stop]
        deltas = order_delta[group]
        if len(deltas) and not (deltas == deltas[0]).all():
            order[start:stop] = group[np.argsort(deltas, kind="stable")]
    return order.astype(np.int32)


# -- the result as Arrow ------------------------------------------------------------------------------------------

def _encode_outputs(columns: dict) -> None:
    """The candidate's outputs encoded as stored (stored_table.same_as_baseline) before the reorder when
    both outputs are Arrow text: the reorder then moves only the outputs that differ, and the encoding
    makes no copy of the reordered column afterwards. Other outputs (objects) are encoded after."""
    base, cand = columns.get("baseline_output"), columns.get("candidate_output")
    if not (isinstance(base, pa.ChunkedArray) and isinstance(cand, pa.ChunkedArray)
            and pa.types.is_string(base.type) and pa.types.is_string(cand.type)):
        return
    pair = same_as_baseline(pa.table({"baseline_output": base, "candidate_output": cand}))
    if SAME_COLUMN in pair.column_names:   # (appended last, as same_as_baseline appends it)
        columns["candidate_output"], columns[SAME_COLUMN] = pair.column("candidate_output"), pair.column(SAME_COLUMN)


def _to_arrow(columns: dict, order: np.ndarray) -> pa.Table:
    """The table in worst-first order, with the kinds of its object columns in the schema's metadata
    (app/core/table_kinds.py): text columns stay Arrow text (large_string, as pandas' str columns
    were written), numbers Arrow numbers; what only Python objects hold is encoded as before.
    `columns` is emptied: each input column is let go as soon as it is reordered, so the inputs
    and the reordered table are never both whole in memory.

    The Arrow columns are reordered on every core (pyarrow's take runs without the GIL), each
    combined into one chunk first (the reader's chunks freed before the take): a take over the
    chunks costs as much time and ~1.6x the memory (pyarrow 26, 1M samples)."""
    kinds: dict[str, str] = {}
    take = pa.array(order)

    def arrow_take(name: str):
        values = columns.pop(name)
        if pa.types.is_string(values.type):   # as pandas' str columns were written: no kind, read back as str
            values = values.cast(pa.large_string())   # (before combining: 64-bit offsets never overflow)
        if values.num_chunks > 1:
            values = values.combine_chunks()
        out = values.take(take)
        del values
        release_freed()
        return out

    names = list(columns)
    arrow = [name for name in names if isinstance(columns[name], pa.ChunkedArray)]
    with ThreadPoolExecutor(max_workers=max(1, min(len(arrow), os.cpu_count() or 1))) as pool:
        taken = dict(zip(arrow, pool.map(arrow_take, arrow)))
    arrays = []
    for name in names:
        if name in taken:
            arr = taken.pop(name)
        else:
            values = columns.pop(name)
            if values.dtype == object:
                arr, kinds[name] = object_column_to_arrow(values[order])
            else:
                arr = pa.array(values[order], from_pandas=True)   # NaN stored as no value, as pandas wrote it
        arrays.append(arr)
    table = pa.table(arrays, names=names)
    return with_kinds(table, kinds)


# -- the summary, over Arrow and numpy ----------------------------------------------------------------------------

def _mean(values: np.ndarray) -> float | None:
    """pandas' mean (NaN skipped) to the bit: the sum of the values with NaN as 0, over the count."""
    count = int((~np.isnan(values)).sum())
    if not count:
        return None
    return float(np.where(np.isnan(values), 0.0, values).sum() / count)


def _metrics_of(bs: np.ndarray, cs: np.ndarray, codes: np.ndarray) -> dict:
    both = codes != _CLASSES.index(ChangeClass.MISSING.value)
    out = {"baseline_mean_score": _mean(bs[both]), "candidate_mean_score": _mean(cs[both])}
    out["mean_score_delta"] = (None if out["baseline_mean_score"] is None or out["candidate_mean_score"] is None
                               else out["candidate_mean_score"] - out["baseline_mean_score"])
    return out


def _counts(codes: np.ndarray) -> dict[str, int]:
    counts = np.bincount(codes, minlength=len(_CLASSES))
    return {c: int(counts[i]) for i, c in enumerate(_CLASSES)}


def _summary(table: pa.Table, codes: np.ndarray, slices: list[str], name: str, warnings) -> dict:
    bs = table.column("baseline_score").to_numpy()
    cs = table.column("candidate_score").to_numpy()
    summary = {"eval_set": name, "samples": int(table.num_rows), "classes": _counts(codes),
               "metrics": _metrics_of(bs, cs, codes), "slices": {}, "warnings": list(warnings or [])}
    for col in slices:
        values = table.column(col)
        if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            keys = pc.fill_null(values, "(none)")
        else:   # as pandas groups any other column: by its values as text
            keys = pa.chunked_array([pa.array(table_to_frame(table.select([col]))[col].astype("string")
                                              .fillna("(none)").to_numpy(dtype=object), pa.string())])
        encoded = pc.dictionary_encode(keys).combine_chunks()
        group = encoded.indices.to_numpy(zero_copy_only=False)
        labels = encoded.dictionary.to_pylist()
        order = np.argsort(group, kind="stable")
        bounds = np.searchsorted(group[order], np.arange(len(labels) + 1))
        per = {}
        for g in sorted(range(len(labels)), key=lambda i: labels[i]):
            rows = order[bounds[g]:bounds[g + 1]]
            per[str(labels[g])] = {"samples": int(len(rows)), "classes": _counts(codes[rows]),
                                   "metrics": _metrics_of(bs[rows], cs[rows], codes[rows])}
        summary["slices"][col] = per
    return summary


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
