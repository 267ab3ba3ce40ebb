"""Build an EvalSetData from the three files of an eval set: the samples and
each model's predictions. Shared by the Git and the local-files sources.

Canonical columns (what app.core.compare expects):
    samples:     id (str), input, reference (None if the file has none), slice columns
    predictions: id (str), output, score (float, NaN if not given), then any other
                 columns of the file (confidence, …) as they are
    image sets:  input/reference/output hold paths; input_bytes, reference_bytes
                 and output_bytes hold the files' bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from app.core.compare import BASE_COLUMNS, PREDICTION_PREFIXES
from app.core.config import EvalSetSpec, ProjectConfig
from app.core.errors import InputError
from app.core.hashing import combine_hashes, sha256_bytes
from app.core.model import EvalSetData
from app.core.tasks import TaskState

from .paths import clean_relpath
from .tables import read_table

# (side, path) -> the file's bytes. side is "samples", "baseline" or "candidate";
# path is relative to the repository root. A missing file must raise a
# SignoffError (NotFoundError) that names the path and the revision.
ReadBytes = Callable[[str, str], bytes]

EXAMPLES = 5  # how many ids a message lists

# Sample columns that would collide with the comparison's own columns.
_RESERVED = set(BASE_COLUMNS) | {"output", "score"}


@dataclass(frozen=True)
class TableFile:
    """One file as read from a source."""

    path: str        # as written in signoff.toml; its extension picks the format
    data: bytes
    where: str = ""  # added to the path in messages, e.g. "(baseline a1b2c3d)"

    @property
    def label(self) -> str:
        return f"{self.path} {self.where}".strip()


def build_eval_set(spec: EvalSetSpec, samples: TableFile, baseline: TableFile, candidate: TableFile, *,
                   read_bytes: ReadBytes | None = None, task: TaskState | None = None) -> EvalSetData:
    """Parse, map the configured columns to the canonical ones, and check ids.

    Duplicate ids are an error; ids that only one side has are not (the
    comparison reports them as 'missing') but each kind adds a warning.
    """
    task = task or TaskState()
    text = [spec.id_column, spec.input_column, spec.reference_column, spec.output_column]
    s = _samples_frame(spec, _read(samples, text), samples.label)
    b = _predictions_frame(spec, _read(baseline, text), baseline.label)
    c = _predictions_frame(spec, _read(candidate, text), candidate.label)

    hashes = [f"samples:{sha256_bytes(samples.data)}", f"baseline:{sha256_bytes(baseline.data)}",
              f"candidate:{sha256_bytes(candidate.data)}"]
    if spec.output_type == "image":
        if read_bytes is None:
            raise InputError(f"eval set {spec.name!r} holds images, but this source cannot read image files")
        images = _ImageReader(read_bytes, task)
        s["input_bytes"] = images.column(s, "input", "samples", samples.label)
        s["reference_bytes"] = images.column(s, "reference", "samples", samples.label)
        b["output_bytes"] = images.column(b, "output", "baseline", baseline.label)
        c["output_bytes"] = images.column(c, "output", "candidate", candidate.label)
        hashes += images.hashes

    return EvalSetData(spec=spec, samples=s, baseline=b, candidate=c,
                       content_hash=combine_hashes(hashes), warnings=id_warnings(s, b, c))


def _read(file: TableFile, text_columns: list[str]) -> pd.DataFrame:
    frame = read_table(file.data, file.path, where=file.where, text_columns=text_columns)
    if len(frame.columns) == 0:
        raise InputError(f"{file.label} is empty")
    return frame


# -- columns ---------------------------------------------------------------------------

def _require(frame: pd.DataFrame, column: str, what: str, label: str) -> pd.Series:
    if column not in frame.columns:
        has = ", ".join(map(str, frame.columns))
        raise InputError(f"{label} has no {what} column {column!r} (its columns: {has}); "
                         f"set columns.{what} in signoff.toml if it is named differently")
    return frame[column]


def _samples_frame(spec: EvalSetSpec, raw: pd.DataFrame, label: str) -> pd.DataFrame:
    ids = _ids(_require(raw, spec.id_column, "id", label), spec.id_column, label)
    out = {"id": ids, "input": _require(raw, spec.input_column, "input", label).to_numpy()}
    if spec.reference_column in raw.columns:
        out["reference"] = raw[spec.reference_column].to_numpy()
    else:
        out["reference"] = np.full(len(raw), None, dtype=object)
    mapped = {spec.id_column, spec.input_column, spec.reference_column}
    if spec.slices:
        missing = [c for c in spec.slices if c not in raw.columns]
        if missing:
            raise InputError(f"{label} has no slice column {', '.join(map(repr, missing))} named in signoff.toml "
                             f"(its columns: {', '.join(map(str, raw.columns))})")
        for col in spec.slices:
            if col in _RESERVED or col.endswith("_bytes") or col.startswith(PREDICTION_PREFIXES):
                raise InputError(f"{label}: slice column {col!r} has a name the comparison uses itself; rename it")
            out[col] = raw[col].to_numpy()
    else:
        for col in raw.columns:
            if col in mapped:
                continue
            # A free column named like one of the comparison's keeps its data under another name.
            name = (f"sample_{col}" if (col in _RESERVED or str(col).endswith("_bytes")
                                        or str(col).startswith(PREDICTION_PREFIXES)) else col)
            out[name] = raw[col].to_numpy()
    return pd.DataFrame(out)


def _predictions_frame(spec: EvalSetSpec, raw: pd.DataFrame, label: str) -> pd.DataFrame:
    ids = _ids(_require(raw, spec.id_column, "id", label), spec.id_column, label)
    output = _require(raw, spec.output_column, "output", label).to_numpy()
    if spec.score_column in raw.columns:
        score = _scores(raw[spec.score_column], ids, spec.score_column, label)
    else:
        score = np.full(len(raw), np.nan)
    out = {"id": ids, "output": output, "score": score}
    # Other columns (confidence, per-class scores, latency, …) are kept: the comparison
    # names them per model (baseline_confidence / candidate_confidence) and the views use them.
    mapped = {spec.id_column, spec.output_column, spec.score_column}
    for col in raw.columns:
        name = str(col)
        if col in mapped or name.endswith("_bytes"):
            continue
        out[f"extra_{name}" if name in ("id", "output", "score") else name] = raw[col].to_numpy()
    return pd.DataFrame(out)


def _ids(series: pd.Series, column: str, label: str) -> pd.Series:
    series = series.reset_index(drop=True)
    empty = series.isna().to_numpy()
    if empty.any():
        row = int(np.flatnonzero(empty)[0]) + 1
        raise InputError(f"{label}: row {row} has no {column!r}; every row needs an id")
    # Whole numbers read as floats (a column with gaps) must not become "7.0".
    if pd.api.types.is_float_dtype(series.dtype) and bool((series % 1 == 0).all()):
        series = series.astype("int64")
    ids = series.astype(str)
    dup = ids[ids.duplicated()].unique()
    if len(dup):
        raise InputError(f"{label}: {len(dup)} id{'s' if len(dup) > 1 else ''} appear more than once, "
                         f"e.g. {_examples(dup)}")
    return ids


def _scores(raw: pd.Series, ids: pd.Series, column: str, label: str) -> np.ndarray:
    raw = raw.reset_index(drop=True)
    if pd.api.types.is_bool_dtype(raw.dtype):
        return raw.astype(float).to_numpy()
    values = pd.to_numeric(raw, errors="coerce")
    bad = (values.isna() & raw.notna()).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(f"{label}: {column!r} must be a number; row {row + 1} (id {ids.iloc[row]}) "
                         f"has {raw.iloc[row]!r}")
    return values.astype(float).to_numpy()


# -- ids that only one side has ----------------------------------------------------------

def id_warnings(samples: pd.DataFrame, baseline: pd.DataFrame, candidate: pd.DataFrame) -> list[str]:
    s, b, c = pd.Index(samples["id"]), pd.Index(baseline["id"]), pd.Index(candidate["id"])
    predicted = b.union(c)
    checks = [
        (b.difference(c), "sample ids are only in the baseline predictions"),
        (c.difference(b), "sample ids are only in the candidate predictions"),
        (predicted.difference(s), "prediction ids are not in the eval set's samples"),
        (s.difference(predicted), "samples have no prediction from either model"),
    ]
    return [f"{len(ids)} {text}, e.g. {_examples(ids)}" for ids, text in checks if len(ids)]


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
        sets.append(build_eval_set(spec, *read, read_bytes=read_bytes, task=task))
    task.report("loaded", 1.0)
    return sets
