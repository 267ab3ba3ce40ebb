"""What the sample table shows, without Qt's model class: the class and review filters'
words, the label a reviewer gave (`MyLabel`), the prepared columns (`Prepared`), cell readers
over Arrow text (`ArrowColumn`) and over a paged comparison's row groups (`PagedColumn`, the
page budget), search over the text columns, other reviewers' labels and the Δscore's text.
app/ui/sample_model.py's SampleTableModel puts them on screen; the window's workers use the
search and the labels without a model."""


from __future__ import annotations

import contextlib
import threading
import time
import weakref
from dataclasses import dataclass
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from signoff.core.compare import table_slice_columns
from signoff.core.arrow import arrow_of
from signoff.core.id_lookup import IdLookup
from signoff.core.search import SearchIndex
from signoff.store.comparison_files import ComparisonPages
from signoff.ui.palette import VERDICT_WORDS


CLASS_ORDER = ["regressed", "missing", "changed", "improved", "unchanged"]
NOT_UNCHANGED = ("regressed", "missing", "changed", "improved")
SEARCH_COLUMNS = ("id", "input", "reference", "baseline_output", "candidate_output")

# The review filter: (key, words in the combo box)
REVIEW_FILTERS: list[tuple[str | None, str]] = [
    (None, "any"),
    ("unlabeled", "unlabeled (by anyone)"),
    ("labeled", "labeled (by anyone)"),
    ("not_mine", "not labeled by me"),
    ("mine", "labeled by me"),
    ("disagree", "reviewers disagree"),
    ("assigned", "my queue (assigned to me)"),      # [policy] overlap: the samples dealt to me (app/ui/team_queue.py)
    ("adjudicate", "to adjudicate (QA)"),           # the disagreement queue; a label here is QA's adjudication
]


@dataclass(frozen=True)
class Column:
    key: str      # frame column, or a computed one: "class", "delta", "mine"
    title: str


@dataclass(frozen=True)
class MyLabel:
    verdict: str | None = None
    correct: bool | None = None
    error: str | None = None
    comment: str | None = None

    @property
    def is_empty(self) -> bool:
        return self.verdict is None and self.correct is None and not self.error and not self.comment

    def words(self) -> str:
        parts = []
        if self.verdict:
            parts.append(VERDICT_WORDS.get(self.verdict, self.verdict))
        if self.correct is not None:
            parts.append("correct" if self.correct else "incorrect")
        if self.error:
            parts.append(self.error)
        if self.comment:
            parts.append("comment")
        return " · ".join(parts)


@dataclass
class Prepared:
    frame: pd.DataFrame
    slices: list[str]
    arrays: dict[str, object]           # column key -> numpy array or ArrowColumn
    id_index: IdLookup
    class_codes: np.ndarray = None      # int8 per row: index into CLASS_ORDER (-1: unknown)
    class_counts: dict = None
    slice_codes: dict = None            # slice column -> (codes per row, unique values)
    labels: dict = None                 # your labels, and the rows carrying them
    labeled: np.ndarray = None
    others: dict = None                 # other reviewers' labels, and their rows
    others_pos: dict = None
    readers: list = None                # (column, position -> value): one row as a dict, for sample()
    pages: ComparisonPages | None = None  # a paged comparison: the columns not in `frame`
    every_row: np.ndarray | None = None   # 0..n-1, the unfiltered rows (made on the worker: 80 MB at 10M)
    slice_counts: dict | None = None      # slice column -> rows per value (the slice menu's counts)


@dataclass
class SortPlan:
    """What sorting the table by one column takes (SampleTableModel.sort_plan): the order of
    every frame position at hand (`order`: cheap or cached), or `compute(task=None)` that makes
    it without Qt (the window runs it on a worker; `reads`: it reads the comparison file, never
    on the GUI thread). `frame`: the frame it is of, so an order finishing after the frame was
    replaced is not applied to the new one."""
    key: str
    frame: object
    order: np.ndarray | None = None
    compute: object = None              # (task=None) -> np.ndarray
    cache: bool = False                 # keep the computed order in the model's sort keys
    reads: bool = False


# frame -> the pages of its other columns, for a paged comparison's frame (the window hands the
# search worker the model's frame); by id with a weak reference: DataFrames are not hashable.
_PAGED: dict[int, tuple[weakref.ref, ComparisonPages]] = {}


# The memory budget of an open paged comparison (docs/performance.md "Comparisons as files"): the
# resident columns as stored, what the model keeps per row beside them (class codes 1 byte and the
# service's 1, slice codes 1, label masks 3, visible rows 8, id order 4 (sorted in runs: the sort's
# scratch is a run's, not per row), visible-row map 4, filter masks ~4: 26 bytes, the delta being
# the frame's own array), the pages' budget, and a fixed allowance for decode buffers.
PAGED_ROW_BYTES = 32
PAGED_SLACK = 128 << 20


def paged_budget(frame: pd.DataFrame) -> int:
    """Bytes an open paged comparison may add to the window's memory, at most."""
    from signoff.store.comparison_files import PAGE_BUDGET

    resident = int(frame.memory_usage(index=False, deep=False).sum())
    return resident + PAGED_ROW_BYTES * len(frame) + PAGE_BUDGET + PAGED_SLACK


def _remember_pages(frame: pd.DataFrame, pages: ComparisonPages) -> None:
    for key in [k for k, (ref, _) in _PAGED.items() if ref() is None]:
        _PAGED.pop(key, None)
    _PAGED[id(frame)] = (weakref.ref(frame), pages)


def pages_of(frame: pd.DataFrame | None) -> ComparisonPages | None:
    """The pages behind a paged comparison's frame; None for a whole one."""
    found = _PAGED.get(id(frame)) if frame is not None else None
    return found[1] if found is not None and found[0]() is frame else None


def _reader(series: pd.Series):
    """position -> the column's value as a Python object, without building a row Series
    (pandas' iloc of one row of twelve columns takes ~0.3 ms, and .get on it as much again)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()
        cats = np.asarray(series.cat.categories, dtype=object)
        return lambda pos: cats[codes[pos]] if codes[pos] >= 0 else None
    if isinstance(series.dtype, np.dtype):       # numpy-backed: numbers, bools, objects (no copy)
        values = series.to_numpy()
        if values.dtype != object:
            return lambda pos: values[pos].item()
        return values.__getitem__
    column = ArrowColumn.of(series)              # Arrow-backed text and nullable numbers
    return column.__getitem__


class _ClassNames:
    """The class name of each row, from its int8 code (no array of a million references)."""

    dtype = np.dtype(object)
    NAMES = (*CLASS_ORDER, "?")   # code -1: "?"

    def __init__(self, codes: np.ndarray):
        self.codes = codes

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, pos):
        return self.NAMES[int(self.codes[pos])]


CHUNK_ROWS = 1 << 20   # rows per step of the whole-column passes below: their scratch stays a few MB


def code_type(distinct: int) -> type:
    """The smallest signed integer type for codes 0..distinct-1 and -1."""
    return np.int8 if distinct <= 127 else np.int16 if distinct <= 32_767 else np.int32


def first_seen(codes: np.ndarray) -> np.ndarray:
    """The distinct values of `codes` in order of first appearance (pd.unique's order), a chunk
    at a time."""
    seen: dict[int, None] = {}
    for start in range(0, len(codes), CHUNK_ROWS):
        for value in pd.unique(codes[start:start + CHUNK_ROWS]):
            seen.setdefault(int(value), None)
    return np.fromiter(seen, dtype=np.int64, count=len(seen))


def code_counts(codes: np.ndarray, size: int) -> np.ndarray:
    """Rows per code 0..size-1 (-1 not counted): np.bincount a chunk at a time (bincount widens
    its input to int64: at 10M rows a whole-column call held 80 MB more)."""
    counts = np.zeros(size, dtype=np.int64)
    for start in range(0, len(codes), CHUNK_ROWS):
        part = codes[start:start + CHUNK_ROWS]
        counts += np.bincount(part[part >= 0], minlength=size)[:size]
    return counts


class _Categories:
    """A categorical column read one cell at a time from its codes (a numpy object array of
    it would build one Python string per row: 770 MB for 10M rows of Arrow-backed categories)."""

    dtype = np.dtype(object)

    def __init__(self, series: pd.Series):
        self.codes = series.cat.codes.to_numpy()
        self.cats = np.asarray(series.cat.categories, dtype=object)

    def __len__(self) -> int:
        return len(self.codes)

    def __getitem__(self, pos):
        code = self.codes[pos]
        return self.cats[code] if code >= 0 else None

    def factorized(self) -> tuple[np.ndarray, np.ndarray]:
        """(code per row, the values that occur as text, missing as "(none)"): what factorizing
        the column's text gives, from the codes alone. Through a table of the few categories, the
        codes in the smallest integer type: pd.factorize of 10M codes held ~160 MB of int64 at once."""
        present = first_seen(self.codes)
        table = np.full(len(self.cats) + 1, -1, dtype=code_type(len(present)))   # the last entry: code -1
        table[present] = np.arange(len(present))
        uniques = np.array(["(none)" if c < 0 else str(self.cats[c]) for c in present], dtype=object)
        return table[self.codes], uniques

    def sort_order(self, task=None) -> np.ndarray:
        """By the values' text, missing first (as an empty text), ties in frame order."""
        text = np.array([str(c) for c in self.cats] + [""], dtype=object)
        rank = np.empty(len(text), dtype=np.int64)
        rank[np.argsort(text, kind="stable")] = np.arange(len(text))
        return np.argsort(rank[np.where(self.codes >= 0, self.codes, len(self.cats))], kind="stable")


class ArrowColumn:
    """A frame column read one cell at a time as a Python value (for the rows on screen),
    without turning a million values into Python objects."""

    dtype = np.dtype(object)

    def __init__(self, values: pa.ChunkedArray):
        self.values = values

    @classmethod
    def of(cls, series: pd.Series):
        """An ArrowColumn for Arrow-backed columns, _Categories for categoricals; other columns
        as a numpy object array."""
        if isinstance(series.dtype, pd.CategoricalDtype):
            return _Categories(series)
        arr = arrow_of(series)
        return cls(arr) if arr is not None else series.to_numpy(dtype=object)

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, pos):
        return self.values[int(pos)].as_py()

    def sort_order(self, task=None) -> np.ndarray:
        return pc.sort_indices(self.values).to_numpy()      # nulls last (Arrow's default)


class PagedColumn:
    """A column of a paged comparison, read one cell at a time from its row group."""

    dtype = np.dtype(object)

    def __init__(self, pages: ComparisonPages, name: str):
        self.pages, self.name = pages, name

    def __len__(self) -> int:
        return self.pages.rows

    def __getitem__(self, pos):
        return self.pages.value(self.name, int(pos))

    def sort_order(self, task=None) -> np.ndarray:
        """Sorting by it reads the whole column once (the one thing here that does), on the
        window's sort worker: a row group at a time through a reader of its own (`batches`
        with `ahead`), so the table's cell reads never wait on the pages' lock meanwhile; a
        newer sort stops it between row groups (`task`)."""
        chunks = []
        for _start, group in self.pages.batches([self.name], ahead=1):
            if task is not None:
                task.check()
            chunks.extend(group.column(0).chunks)
            del group
        column = pa.chunked_array(chunks) if chunks else self.pages.columns([self.name]).column(0)
        return pc.sort_indices(column).to_numpy()           # nulls last (Arrow's default)


def as_text_series(series: pd.Series) -> pd.Series:
    """Arrow-backed strings (pandas' "str"), which the .str methods run fast on."""
    if isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow":
        return series
    try:
        return series.astype("str")
    except (TypeError, ValueError):
        return series.map(lambda v: None if v is None else str(v)).astype("str")


def slice_columns(frame: pd.DataFrame) -> list[str]:
    """The slice columns of a comparison table (compare.py puts them after BASE_COLUMNS)."""
    return table_slice_columns(frame)


def search_rows(frame: pd.DataFrame, needle: str, index: SearchIndex | None, *, task=None,
                parts: "SearchParts | None" = None) -> tuple[np.ndarray, SearchIndex]:
    """Worker side of a search: (rows holding `needle`, the index, built here if None).

    Plain pandas/pyarrow/numpy, no Qt; `task` (a TaskState) is checked
    between segments, so a newer search cancels this one. A paged comparison's frame is
    searched row group by row group from its file (no index kept: `index` comes back as given),
    its hits so far published in `parts` as it goes (the window shows them while it runs)."""
    pages = pages_of(frame)
    if pages is not None:
        return _search_pages(pages, needle, task, parts), index
    if index is None:
        index = SearchIndex.build(frame, SEARCH_COLUMNS, task=task)
    return index.search(needle, task=task), index


class SearchParts:
    """The hits of a paged search as it scans the row groups (in file order: worst first), for
    the GUI thread to show while the worker goes on. The worker fills the mask and, after the
    first row group and then at most every PART_SECONDS, reports "done/total" through its
    TaskState (the worker's progress signal); the GUI thread takes a `snapshot`. Rows are only
    ever set, once each: any snapshot is a subset of the final hits."""

    PART_SECONDS = 0.12

    def __init__(self, rows: int, groups: int):
        self.mask = np.zeros(rows, dtype=bool)
        self.done, self.total = 0, groups
        self._lock = threading.Lock()
        self._reported = None

    def add(self, start: int, hit: np.ndarray, task) -> None:
        with self._lock:
            self.mask[start:start + len(hit)] = hit
            self.done += 1
        now = time.monotonic()
        if task is not None and self.done < self.total and (
                self._reported is None or now - self._reported >= self.PART_SECONDS):
            self._reported = now
            task.report(f"{self.done}/{self.total}", self.done / max(self.total, 1))
            self.published()

    def published(self) -> None:
        """Called on the worker after each part is reported (a test holds the worker here)."""

    def snapshot(self) -> tuple[np.ndarray, int, int]:
        """(a copy of the hits so far, row groups searched, row groups in all)."""
        with self._lock:
            return self.mask.copy(), self.done, self.total


# Row groups decoded ahead of the search, each on a thread of its own (pyarrow's IPC read and zstd
# run without the GIL): both cores decode while the search goes on, three row groups alive at most.
READ_AHEAD = 2


def _search_pages(pages: ComparisonPages, needle: str, task, parts: SearchParts | None = None) -> np.ndarray:
    parts = parts if parts is not None else SearchParts(pages.rows, pages.groups)
    cols = [c for c in SEARCH_COLUMNS if c in pages.names]
    # As stored: candidate_output null where it equals the baseline's (searched through the
    # baseline's row already), so no restore copy and no comparison per row group.
    scan = pages.batches(cols, stored=True, ahead=READ_AHEAD)
    with contextlib.closing(scan):
        for start, group in scan:
            if task is not None:
                task.check()
            parts.add(start, SearchIndex.of_arrow(group, cols, task=task).search(needle, task=task), task)
            del group
    return parts.mask


def others_labels(frame: pd.DataFrame | None, eval_set: str, me: str) -> dict[str, tuple[tuple, ...]]:
    """Other reviewers' labels of one eval set: sample id -> ((verdict, correct), ...)."""
    if frame is None or not len(frame):
        return {}
    rows = frame[(frame["eval_set"] == eval_set) & (frame["user"].astype(str).str.lower() != (me or "").lower())]
    out: dict[str, list] = {}
    for sid, verdict, correct, error, comment in zip(rows["sample_id"].astype(str), rows["verdict"], rows["correct"],
                                                     rows["error"], rows["comment"]):
        v = None if _is_missing(verdict) else str(verdict)
        c = None if _is_missing(correct) else bool(correct)
        if v is None and c is None and _is_missing(error) and _is_missing(comment):
            continue
        out.setdefault(sid, []).append((v, c))
    return {k: tuple(v) for k, v in out.items()}


def disagree(labels: list[tuple[str | None, bool | None]]) -> bool:
    """Two or more reviewers with different verdicts, or correct vs incorrect."""
    verdicts = {v for v, _ in labels if v is not None}
    correct = {c for _, c in labels if c is not None}
    return len(verdicts) > 1 or len(correct) > 1


def format_delta(v) -> str:
    """Signed, two decimals, a real minus sign; "—" when unknown, "0.00" when none."""
    try:
        v = float(v)
    except (TypeError, ValueError):
        return "—"
    if np.isnan(v):
        return "—"
    if v == 0:
        return "0.00"
    return f"{v:+.2f}".replace("-", "−")


def _is_missing(value) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
