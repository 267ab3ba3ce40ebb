"""Build an EvalSetData from the three files of an eval set: the samples and
each model's predictions. Shared by the Git and the local-files sources.

Canonical columns (what signoff.core.compare expects):
    samples:     id (str), input, reference (None if the file has none), slice columns
    predictions: id (str), output, score (float, NaN if not given), then any other
                 columns of the file (confidence, …) as they are
    image sets:  input/reference/output hold paths; input_bytes, reference_bytes
                 and output_bytes hold the files' bytes.

What pyarrow reads (Parquet, flat JSON Lines) stays Arrow (issue 16): columns are selected and
renamed as Arrow columns, ids checked with pyarrow.compute (uniqueness by count_distinct), and the
tables handed to the comparison as they are. Anything the checks find goes the pandas way below,
so every message stays as it was. CSV, JSON Lines that need the exact reader, and image sets are
pandas frames.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from signoff.core.compare import all_distinct, release_freed, same_ids
from signoff.core.config import EvalSetSpec, ProjectConfig
from signoff.core.errors import InputError
from signoff.core.hashing import combine_hashes, sha256_bytes
from signoff.core.model import EvalSetData, EvalSetFiles
from signoff.core.sample_columns import other_sample_columns
from signoff.plugins.common.local_files import check_unchanged
from signoff.core.tasks import TaskState

from .paths import clean_relpath
from .tables import read_arrow, row_lines, table_format, to_frame

# (side, path) -> the file's bytes. side is "samples", "baseline" or "candidate";
# path is relative to the repository root. A missing file must raise a
# SignoffError (NotFoundError) that names the path and the revision.
ReadBytes = Callable[[str, str], bytes]

EXAMPLES = 5  # how many ids a message lists



@dataclass(frozen=True)
class TableFile:
    """One file as read from a source."""

    path: str        # as written in signoff.toml; its extension picks the format
    data: bytes
    where: str = ""  # added to the path in messages, e.g. "(baseline a1b2c3d)"

    @property
    def label(self) -> str:
        return f"{self.path} {self.where}".strip()

    def at(self, row: int) -> str:
        """Where row `row` (0-based, of the parsed table) is: "<label> line N" for
        JSONL and CSV (the physical line it starts on), "<label> row N" for Parquet."""
        lines = row_lines(self.data, self.path)
        if lines is not None and 0 <= row < len(lines):
            return f"{self.label} line {lines[row]}"
        return f"{self.label} row {row + 1}"


def build_eval_set(spec: EvalSetSpec, samples: TableFile, baseline: TableFile, candidate: TableFile, *,
                   read_bytes: ReadBytes | None = None, task: TaskState | None = None) -> EvalSetData:
    """Parse, map the configured columns to the canonical ones, and check ids.

    Duplicate ids are an error; ids that only one side has are not (the
    comparison reports them as 'missing') but each kind adds a warning.
    """
    return _built_eval_set(spec, [samples, baseline, candidate], read_bytes=read_bytes, task=task)


def _built_eval_set(spec: EvalSetSpec, files: list[TableFile], *, read_bytes: ReadBytes | None,
                    task: TaskState | None) -> EvalSetData:
    """build_eval_set of `files` (samples, baseline, candidate), a list this call owns: a Parquet
    file's bytes are let go as soon as it is parsed and hashed (its messages name rows, not lines),
    so the three files' bytes never sit beside the three tables (issue 16: 236 MB at 1M samples).
    The files are parsed and hashed two at a time (pyarrow's decode and hashlib run without the GIL:
    a predictions file's decode is mostly one column, on one core); a problem is reported for the
    first file that has one, in the order samples, baseline, candidate, as when they were read in turn."""
    task = task or TaskState()
    text = [spec.id_column, spec.input_column, spec.reference_column, spec.output_column]

    def parsed(file: TableFile, exact: str):
        raw, digest = _read(file, text, exact), sha256_bytes(file.data)
        check_unchanged(file.data)   # a mapped file: what was hashed is what was parsed
        return raw, digest

    raws, hashes = [], []
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="signoff-read") as pool:
        pending = [pool.submit(parsed, files[k], spec.score_column if k else "") for k in range(3)]
        for k, side in enumerate(("samples", "baseline", "candidate")):
            raw, digest = pending[k].result()
            pending[k] = None
            raws.append(raw)
            hashes.append(f"{side}:{digest}")
            if table_format(files[k].path) == "parquet":
                files[k] = replace(files[k], data=b"")
            release_freed()   # the reader's working memory (~1.5x the table) and the bytes
    samples, baseline, candidate = files
    if spec.output_type == "image":   # bytes are added to the frames below
        raws = [to_frame(raw, [spec.score_column]) for raw in raws]
    s = _samples_frame(spec, raws[0], samples)
    no_score: dict[str, list[str]] = {}
    known = _id_array(s)
    b = _predictions_frame(spec, raws[1], baseline, no_score, "baseline", known)
    c = _predictions_frame(spec, raws[2], candidate, no_score, "candidate", known)
    del raws
    _check_shared_ids(spec, b, c, baseline, candidate)

    if spec.output_type == "image":
        if read_bytes is None:
            raise InputError(f"eval set {spec.name!r} holds images, but this source cannot read image files")
        images = _ImageReader(read_bytes, task)
        s["input_bytes"] = images.column(s, "input", "samples", samples.label)
        s["reference_bytes"] = images.column(s, "reference", "samples", samples.label)
        b["output_bytes"] = images.column(b, "output", "baseline", baseline.label)
        c["output_bytes"] = images.column(c, "output", "candidate", candidate.label)
        hashes += images.hashes

    warnings = id_warnings(s, b, c)
    for side, ids in no_score.items():
        warnings.append(f"{len(ids)} {side} score{'s are' if len(ids) > 1 else ' is'} NaN or infinite and "
                        f"count{'' if len(ids) > 1 else 's'} as no score (non_finite_scores = \"as-missing\"), "
                        f"e.g. {_examples(ids)}")
    return EvalSetData(spec=spec, samples=s, baseline=b, candidate=c,
                       content_hash=combine_hashes(hashes), warnings=warnings, no_score=no_score)


def _read(file: TableFile, text_columns: list[str], exact: str = "") -> pa.Table | pd.DataFrame:
    frame = read_arrow(file.data, file.path, where=file.where, text_columns=text_columns,
                       exact_columns=[exact] if exact else [])
    if len(_names(frame)) == 0:
        raise InputError(f"{file.label} is empty")
    return frame


# -- columns: an Arrow table's or a pandas frame's ------------------------------------------

def _names(raw: pa.Table | pd.DataFrame) -> list:
    return list(raw.column_names) if isinstance(raw, pa.Table) else list(raw.columns)


def _values(raw: pa.Table | pd.DataFrame, column: str):
    """A column's values: the Arrow column as it is, or the frame's as numpy."""
    return raw.column(column) if isinstance(raw, pa.Table) else raw[column].to_numpy()


def _built(raw: pa.Table | pd.DataFrame, out: dict) -> pa.Table | pd.DataFrame:
    return pa.table(out) if isinstance(raw, pa.Table) else pd.DataFrame(out)


def _id_array(frame: pa.Table | pd.DataFrame) -> pa.ChunkedArray:
    if isinstance(frame, pa.Table):
        return frame.column("id")
    return pa.chunked_array([pa.array(frame["id"].to_numpy(dtype=object), pa.string())])


def _require(frame: pa.Table | pd.DataFrame, column: str, what: str, label: str):
    if column not in _names(frame):
        has = ", ".join(map(str, _names(frame)))
        raise InputError(f"{label} has no {what} column {column!r} (its columns: {has}); "
                         f"set columns.{what} in signoff.toml if it is named differently")
    return frame.column(column) if isinstance(frame, pa.Table) else frame[column]


def _check_shared_ids(spec: EvalSetSpec, b, c, baseline: TableFile, candidate: TableFile) -> None:
    """Two models with no sample in common compare nothing: every sample would be
    'missing' and the set would drop out of coverage without a word."""
    b_ids, c_ids = _id_array(b), _id_array(c)
    if len(b_ids) and (same_ids(b_ids, c_ids) or pc.any(pc.is_in(b_ids, value_set=c_ids)).as_py()):
        return
    def some(frame):
        ids = _id_array(frame)
        return _examples(ids.slice(0, EXAMPLES + 1).to_pylist()) if len(ids) else "none, it has no rows"
    raise InputError(f"eval set {spec.name!r}: the candidate's predictions {candidate.label} and the baseline's "
                     f"{baseline.label} have no sample id in common (candidate ids: {some(c)}; "
                     f"baseline ids: {some(b)}); check the id column and that both files are the same eval set")


def _samples_frame(spec: EvalSetSpec, raw, file: TableFile):
    label = file.label
    ids = _some_ids(_require(raw, spec.id_column, "id", label), spec.id_column, file)
    _require(raw, spec.input_column, "input", label)
    out = {"id": ids, "input": _values(raw, spec.input_column)}
    if spec.reference_column in _names(raw):
        out["reference"] = _values(raw, spec.reference_column)
    elif isinstance(raw, pa.Table):
        out["reference"] = pa.nulls(raw.num_rows)
    else:
        out["reference"] = np.full(len(raw), None, dtype=object)
    for col, name in other_sample_columns(spec, _names(raw), label).items():
        out[name] = _values(raw, col)
    return _built(raw, out)


def _predictions_frame(spec: EvalSetSpec, raw, file: TableFile, no_score: dict[str, list[str]], side: str,
                       known: pa.ChunkedArray | None = None):
    """`known`: the samples' ids, checked; predictions with the very same ids (the usual case) take
    that column, unchecked again, and every later same_ids of the two is an identity test."""
    label = file.label
    ids = _some_ids(_require(raw, spec.id_column, "id", label), spec.id_column, file, known)
    _require(raw, spec.output_column, "output", label)
    output = _values(raw, spec.output_column)
    if spec.score_column in _names(raw):
        score, non_finite = _some_scores(raw, ids, spec, file)
        if non_finite:
            no_score[side] = non_finite
    else:
        score = np.full(len(ids), np.nan)
    out = {"id": ids, "output": output, "score": score}
    # Other columns (confidence, per-class scores, latency, …) are kept: the comparison
    # names them per model (baseline_confidence / candidate_confidence) and the views use them.
    mapped = {spec.id_column, spec.output_column, spec.score_column}
    for col in _names(raw):
        name = str(col)
        if col in mapped or name.endswith("_bytes"):
            continue
        out[f"extra_{name}" if name in ("id", "output", "score") else name] = _values(raw, col)
    return _built(raw, out)


# Python's str.strip() whitespace (str.isspace), for an id that is blank
_BLANK = r"^[\t-\r\x1c- \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]*$"


def _some_ids(values, column: str, file: TableFile, known: pa.ChunkedArray | None = None):
    """_ids for a pandas column; for an Arrow column the same checks over the column (text ids, or whole
    numbers as their text), and for anything those find, _ids on the pandas column says what.
    `known`: ids already checked; a text column equal to them is them."""
    if not isinstance(values, pa.ChunkedArray):
        return _ids(values, column, file)
    t = values.type
    if pa.types.is_dictionary(t) and pa.types.is_string(t.value_type):
        values, t = values.cast(pa.string()), pa.string()
    ids = None
    if not values.null_count:
        if pa.types.is_large_string(t):
            values, t = values.cast(pa.string()), pa.string()
        if (pa.types.is_string(t) and known is not None and known.type == t and not known.null_count
                and same_ids(values, known)):
            return known
        if pa.types.is_string(t):
            blank = pc.match_substring_regex(values, _BLANK)
            ids = None if pc.any(blank).as_py() else values
        elif pa.types.is_integer(t):
            ids = values.cast(pa.string())
    if ids is not None and all_distinct(ids):
        return ids
    frame = to_frame(pa.table({"v": values}))   # as the pandas reader gives the column: _ids says what is wrong
    return pa.chunked_array([pa.array(_ids(frame["v"], column, file).to_numpy(dtype=object), pa.string())])


def _some_scores(raw, ids, spec: EvalSetSpec, file: TableFile) -> tuple[np.ndarray, list[str]]:
    """_checked_scores; an Arrow column of numbers, all finite where given, needs no Python value."""
    if not isinstance(raw, pa.Table):
        return _checked_scores(raw[spec.score_column], ids, spec, file)
    col = raw.column(spec.score_column)
    t = col.type
    if pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_null(t):
        values = col.cast(pa.float64())
        finite = pc.is_finite(values)   # null where no score is given
        if pc.all(finite).as_py() is not False:
            return pc.fill_null(values, np.nan).to_numpy(), []
    # NaN or infinite scores, text, booleans: the exact path (None: no score, NaN: the file's NaN)
    series = pd.Series(col.to_pylist(), dtype=object)
    return _checked_scores(series, pd.Series(ids.to_pylist(), dtype=object), spec, file)


def _show(value) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _at(file: "TableFile | str", row: int) -> str:
    return file.at(row) if isinstance(file, TableFile) else f"{file} row {row + 1}"


def _label(file: "TableFile | str") -> str:
    return file.label if isinstance(file, TableFile) else file


def _ids(series: pd.Series, column: str, file: "TableFile | str") -> pd.Series:
    """Ids as text. An id is non-empty text or a whole number (7 and "7" are the
    same id); anything else (empty text, true/false, 7.5, objects, lists) is an error."""
    series = series.reset_index(drop=True)
    empty = series.isna().to_numpy()
    if empty.any():
        row = int(np.flatnonzero(empty)[0])
        raise InputError(f"{_at(file, row)}: no {column!r}; every row needs an id")

    def bad(row: int, why: str = "") -> InputError:
        return InputError(f"{_at(file, row)}: {column!r} is {_show(series.iloc[row])}{why}; "
                          f"an id is non-empty text or a whole number")

    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        raise bad(0)
    if pd.api.types.is_integer_dtype(dtype):
        ids = series.astype("int64").astype(str)
    elif pd.api.types.is_float_dtype(dtype):
        # Whole numbers read as floats (a column with gaps) must not become "7.0".
        values = series.to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):   # inf % 1 is NaN (a warning): isfinite names that row
            wrong = ~np.isfinite(values) | (values % 1 != 0) | (np.abs(values) >= 2**63)
        if wrong.any():
            raise bad(int(np.flatnonzero(wrong)[0]))
        ids = series.astype("int64").astype(str)
    elif pd.api.types.is_string_dtype(dtype) and pd.api.types.infer_dtype(series, skipna=True) == "string":
        blank = (series.str.strip() == "").to_numpy(dtype=bool)
        if blank.any():
            raise bad(int(np.flatnonzero(blank)[0]), " (empty)")
        ids = series.astype(str)
    else:
        out = []
        for row, v in enumerate(series.to_numpy(dtype=object)):
            if isinstance(v, str):
                if not v.strip():
                    raise bad(row, " (empty)")
                out.append(v)
            elif isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
                out.append(str(int(v)))
            elif (isinstance(v, (float, np.floating)) and np.isfinite(v) and float(v) % 1 == 0
                  and abs(v) < 2**63):
                out.append(str(int(v)))
            else:
                raise bad(row)
        ids = pd.Series(out, dtype=object).astype(str)
    dup = ids[ids.duplicated()].unique()
    if len(dup):
        raise InputError(f"{_label(file)}: {len(dup)} id{'s' if len(dup) > 1 else ''} appear more than once, "
                         f"e.g. {_examples(dup)}")
    return ids


def _scores(raw: pd.Series, ids: pd.Series, column: str, file: "TableFile | str") -> np.ndarray:
    """The scores as floats (NaN: not given); a NaN or infinite score is an error."""
    return _checked_scores(raw, ids, EvalSetSpec(name=_label(file), score_column=column), file)[0]


def _checked_scores(raw: pd.Series, ids: pd.Series, spec: EvalSetSpec,
                    file: "TableFile | str") -> tuple[np.ndarray, list[str]]:
    """The scores as floats (NaN: not given), and the ids whose score was NaN or
    infinite when the eval set counts those as no score (non_finite_scores)."""
    column = spec.score_column
    raw = raw.reset_index(drop=True)
    if pd.api.types.is_bool_dtype(raw.dtype):
        return raw.astype(float).to_numpy(), []
    obj = raw.to_numpy(dtype=object)
    # An exact column (tables.read_table) holds None where no score is given, NaN where the file wrote one.
    given = np.asarray(~(obj == None) if raw.dtype == object else ~pd.isna(obj), dtype=bool)  # noqa: E711
    # Booleans count as 0/1, numeric text as its number (to_numeric does both).
    values = pd.to_numeric(pd.Series(np.where(given, obj, np.nan)), errors="coerce").to_numpy(dtype=float, copy=True)
    unsure = np.flatnonzero(given & np.isnan(values))
    for row in unsure:   # NaN from the file, or text that is no number at all
        v = obj[row]
        if isinstance(v, (float, np.floating)):
            continue
        try:
            values[row] = float(str(v).strip())
        except (TypeError, ValueError):
            raise InputError(f"{_at(file, row)} (id {ids.iloc[row]}): {column!r} must be a number, "
                             f"got {_show(v)}") from None
    non_finite = given & ~np.isfinite(values)
    if not non_finite.any():
        return values, []
    if spec.non_finite_scores != "as-missing":
        row = int(np.flatnonzero(non_finite)[0])
        raise InputError(f"{_at(file, row)} (id {ids.iloc[row]}): {column!r} is {float(values[row])!r}, not a finite "
                         f"number; fix the score, or set non_finite_scores = \"as-missing\" on eval set "
                         f"{spec.name!r} in signoff.toml to count such scores as no score")
    values[non_finite] = np.nan
    return values, ids[non_finite].tolist()


# -- ids that only one side has ----------------------------------------------------------

def id_warnings(samples, baseline, candidate) -> list[str]:
    """Ids only one side has (none when the three id columns are equal, the usual case: no look-up)."""
    s, b, c = _id_array(samples), _id_array(baseline), _id_array(candidate)
    if same_ids(s, b) and same_ids(b, c):
        return []

    def only(a: pa.ChunkedArray, *others: pa.ChunkedArray) -> pa.Array:
        """a's ids in none of `others`, unique and sorted (as pandas' Index.difference gives them)."""
        keep = None
        for other in others:
            out = pc.invert(pc.is_in(a, value_set=other))
            keep = out if keep is None else pc.and_(keep, out)
        ids = pc.unique(pc.filter(a, keep))
        return pc.take(ids, pc.sort_indices(ids))

    checks = [
        (only(b, c), "sample ids are only in the baseline predictions"),
        (only(c, b), "sample ids are only in the candidate predictions"),
        (pc.unique(pa.chunked_array([only(b, s), only(c, s)])), "prediction ids are not in the eval set's samples"),
        (only(s, b, c), "samples have no prediction from either model"),
    ]
    out = []
    for ids, text in checks:
        if len(ids):
            ids = pc.take(ids, pc.sort_indices(ids))
            out.append(f"{len(ids)} {text}, e.g. {_examples(ids.slice(0, EXAMPLES + 1).to_pylist())}")
    return out


def _examples(ids) -> str:
    ids = list(ids)
    return ", ".join(str(i) for i in ids[:EXAMPLES]) + (", ..." if len(ids) > EXAMPLES else "")


# -- images --------------------------------------------------------------------------------

class _ImageReader:
    """Reads each image once per side and remembers its hash for the content hash."""

    def __init__(self, read_bytes: ReadBytes, task: TaskState):
        self._read = read_bytes
        self._task = task
        self._cache: dict[tuple[str, str], bytes] = {}
        self.hashes: list[str] = []

    def column(self, frame: pd.DataFrame, column: str, side: str, label: str) -> pd.Series:
        values = []
        for row, path in enumerate(frame[column].to_numpy()):
            if row % 100 == 0:
                self._task.check()
            if path is None or (isinstance(path, float) and np.isnan(path)) or path == "":
                values.append(None)
                continue
            values.append(self._get(side, clean_relpath(path, f"{label}: row {row + 1} {column} image path")))
        return pd.Series(values, index=frame.index, dtype=object)

    def _get(self, side: str, path: str) -> bytes:
        key = (side, path)
        if key not in self._cache:
            data = self._read(side, path)
            self._cache[key] = data
            self.hashes.append(f"{side}:{path}:{sha256_bytes(data)}")
        return self._cache[key]


# -- every eval set of a config ---------------------------------------------------------------

def load_eval_sets(config: ProjectConfig, read_bytes: ReadBytes, *, revision: Callable[[str], str] | None = None,
                   task: TaskState | None = None, config_file: str = "signoff.toml") -> list[EvalSetData]:
    """Read and build each eval set of `config`: its samples at side "samples",
    its predictions at "baseline" and "candidate" (through `read_bytes`).

    revision: the short revision a side is read at (e.g. a commit), named in
    progress and messages; None for sources without revisions.
    """
    task = task or TaskState()

    def where(side: str) -> str:
        return f"({side} {revision(side)})" if revision else f"({side})"

    def progress(path: str, side: str) -> str:
        return f"reading {path} at {revision(side)}" if revision else f"reading {path} ({side})"

    files = 3 * len(config.eval_sets)
    done = 0
    sets: list[EvalSetData] = []
    for spec in config.eval_sets:
        what = f"eval set {spec.name!r} in {config_file}"
        samples_path = clean_relpath(spec.samples, f"{what}: samples")
        predictions_path = clean_relpath(spec.predictions, f"{what}: predictions")
        read = []
        for path, side in ((samples_path, "samples"), (predictions_path, "baseline"), (predictions_path, "candidate")):
            task.report(progress(path, side), done / files)
            read.append(TableFile(path, read_bytes(side, path), where(side)))
            done += 1
        task.report(f"checking {spec.name}", done / files)
        sets.append(_built_eval_set(spec, read, read_bytes=read_bytes, task=task))
        del read
    task.report("loaded", 1.0)
    return sets


# -- every eval set of a config, as files (the out-of-core engine's inputs) -------------------

def eval_set_files(config: ProjectConfig, path_of: Callable[[str, str], str], *, hashed: bool = True,
                   task: TaskState | None = None, config_file: str = "signoff.toml") -> list[EvalSetFiles]:
    """Each eval set of `config` as its three local files, not read (app/service/file_inputs.py):
    `path_of(side, relative path)` is the file of that side. The content hash is load_eval_sets'
    (the SHA-256 of each file's bytes), computed as the files stream; "" when not `hashed`
    (the engine is being chosen: reading every file for a hash the memory path computes again
    would cost a whole read)."""
    task = task or TaskState()
    sets = []
    for spec in config.eval_sets:
        what = f"eval set {spec.name!r} in {config_file}"
        samples = path_of("samples", clean_relpath(spec.samples, f"{what}: samples"))
        predictions = clean_relpath(spec.predictions, f"{what}: predictions")
        baseline, candidate = path_of("baseline", predictions), path_of("candidate", predictions)
        content = ""
        if hashed:
            task.report(f"hashing {spec.name}", 0.0)
            content = combine_hashes([f"{side}:{file_sha256(path)}" for side, path in
                                      (("samples", samples), ("baseline", baseline), ("candidate", candidate))])
        sets.append(EvalSetFiles(spec, samples, baseline, candidate, content))
    return sets


def file_sha256(path: str) -> str:
    """sha256_bytes of the file's bytes, read in chunks."""
    import hashlib

    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(8 << 20):
                h.update(chunk)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    return h.hexdigest()
