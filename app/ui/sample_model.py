"""The sample table: a QAbstractTableModel over the comparison DataFrame.

(Over the ~500 lines the window's modules keep to, on purpose: it is one Qt model class whose
filtering, sorting, label marks, paging and cell cache all read and replace the same row
arrays; what needs no model, the readers, filters' words, search and labels, is in
app/ui/sample_columns.py.)

The model never copies rows into Qt, nor text into Python objects. The
frame's text columns stay Arrow-backed (read cell by cell, for the rows
shown, through `ArrowColumn`); numbers and classes are numpy arrays; `_rows`
is an int array of the frame positions currently visible (filtered and in
display order). Filtering and sorting are vectorised numpy / pyarrow over
whole columns, then `_rows` is replaced in one model reset. A sort whose order is
not at hand (ids, text) is computed without Qt (`sort_plan`) and applied with `apply_sort`:
the window runs it on a worker (app/ui/sample_view.py). Sample ids are
found through an signoff.core.id_lookup.IdLookup (sorted positions, built on a
spare core once the table is shown; a look-up before that scans the ids), not a
pandas Index of a million Python strings.

Columns: id, <slice columns>, class (symbol + word, colour swatch), Δscore
(signed, right aligned), labels (how many reviewers labeled it, "≠" when two disagree),
mine (✓ and your verdict, when you labeled it).

Review filters: unlabeled / labeled (by anyone), labeled / not labeled by
you, and "reviewers disagree" (two or more reviewers gave different verdicts,
or one marked the candidate correct and another incorrect). Other reviewers'
labels come with the comparison (`set_others`); yours update per keystroke.

Search: over an signoff.core.search.SearchIndex of the text columns. For big
tables the window builds the index and runs searches on a worker
(`search_rows`, no Qt) and hands the result back with `set_search_hits`,
so typing never blocks the window; small tables search in place.

Paged comparisons (issue 16; ReviewService.comparison_view): a comparison too big to
hold whole comes as a PagedComparison, whose frame has only the columns every row needs
(id, class, severity, delta, slices); the others (input, outputs, scores, extra fields)
are read from the comparison file one row group at a time (`PagedColumn`, the sample
readers), within the pages' budget (app/store/comparison_files.py). The search then scans
the file row group by row group (`search_rows`), with no index kept. Its frame was read
while the file's hash was still being checked: `prepare` waits for the check last
(PagedComparison.verified), so nothing of a changed file is shown.

Blind mode (`set_blind`): the class column says "changed" for improved and
regressed, and the mine column says A/B better, after the per-sample order
the detail pane shows (`blind_names(sample_id) -> {"candidate": "A", ...}`).
"""

from __future__ import annotations


import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, QTimer
from PySide6.QtGui import QColor

from signoff.core.arrow import arrow_of, codes_of
from signoff.core.compare import BASE_COLUMNS, is_prediction_extra
from signoff.core.id_lookup import IdLookup
from signoff.core.search import SearchIndex
from signoff.store.comparison_files import ComparisonPages, PagedComparison
from signoff.ui.diff_view import plain_tooltip
from signoff.ui.palette import CLASS_STYLE

from signoff.ui.sample_columns import (  # noqa: F401 (re-exported: the window and tests import them from here)
    CLASS_ORDER,
    code_counts,
    code_type,
    NOT_UNCHANGED,
    SEARCH_COLUMNS,
    REVIEW_FILTERS,
    Column,
    MyLabel,
    Prepared,
    SortPlan,
    _PAGED,
    PAGED_ROW_BYTES,
    PAGED_SLACK,
    paged_budget,
    _remember_pages,
    pages_of,
    _reader,
    _ClassNames,
    _Categories,
    ArrowColumn,
    PagedColumn,
    as_text_series,
    slice_columns,
    search_rows,
    _search_pages,
    others_labels,
    disagree,
    format_delta,
    _is_missing,
)

# Constants for data(), called for every visible cell on every repaint (PySide6 enum
# arithmetic is slow enough to matter there).
_DISPLAY = Qt.ItemDataRole.DisplayRole
_DECORATION = Qt.ItemDataRole.DecorationRole
_ALIGN = Qt.ItemDataRole.TextAlignmentRole
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
_CLASS_COLOURS = {name: QColor(colour) for name, (colour, _symbol) in CLASS_STYLE.items()}
_GREY = QColor("#999999")

SortKeyRole = Qt.ItemDataRole.UserRole + 1
PositionRole = Qt.ItemDataRole.UserRole + 2
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
_ACCESSIBLE = Qt.ItemDataRole.AccessibleTextRole
# The roles data() answers; a repaint asks each visible cell for a dozen (font, colours, size,
# check state…), so the others are turned away before anything else is looked at.
_ANSWERED = frozenset({_DISPLAY, _DECORATION, _ALIGN, _TOOLTIP, _ACCESSIBLE, SortKeyRole, PositionRole})
CELL_CACHE = 4096   # display texts kept (a screenful is ~200 cells; cleared when full)



def _floats(series: pd.Series) -> np.ndarray:
    """A numeric column as float64, copied once (pd.to_numeric then to_numpy copied an Arrow
    column twice: 160 MB at once at 10M rows)."""
    arr = arrow_of(series)
    if arr is not None and pa.types.is_floating(arr.type) and not arr.null_count:
        out = np.asarray(arr.to_numpy(), dtype=float)
        return out if out.flags.writeable else out.copy()   # one chunk: a read-only view of Arrow's
    if series.dtype == np.float64:
        return series.to_numpy()   # the frame's own array, not a copy (80 MB at 10M rows): only read
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)


def _factorized_order(series: pd.Series) -> np.ndarray:
    """A column that is neither numbers nor Arrow text, in the order of its values' text."""
    codes, _ = pd.factorize(as_text_series(series).fillna(""), sort=True)
    return np.argsort(codes, kind="stable")


def factorize_text(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(code per row, the distinct values in order of first appearance), missing values read
    "(none)": pandas' factorize of the column's text, done by pyarrow's dictionary encoding for
    Arrow text (3x faster: 0.05 s against 0.16 s for 3M slice values)."""
    arr = arrow_of(series)
    if arr is None or not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        codes, uniques = pd.factorize(as_text_series(series).fillna("(none)"))
        return codes, np.asarray(uniques, dtype=object)
    encoded = pc.fill_null(arr, "(none)").dictionary_encode()   # one dictionary for every chunk
    if not encoded.num_chunks:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object)
    uniques = np.asarray(encoded.chunks[-1].dictionary.to_pylist(), dtype=object)
    kind = code_type(len(uniques))   # not int64: 80 MB at 10M rows for a handful of values
    return np.concatenate([c.indices.to_numpy().astype(kind) for c in encoded.chunks]), uniques


class SampleTableModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.frame = pd.DataFrame(columns=BASE_COLUMNS)
        self.columns_: list[Column] = []
        self._arrays: dict[str, np.ndarray] = {}
        self._rows = np.zeros(0, dtype=np.int64)
        self._visible_of = np.zeros(0, dtype=np.int64)   # frame position -> visible row, -1 if hidden
        self._labels: dict[str, MyLabel] = {}
        self._labeled = np.zeros(0, dtype=bool)           # per frame position
        self._id_index = IdLookup(pa.array([], pa.large_string()))
        self._classes: set[str] | None = None
        self._search = ""
        self._slice: tuple[str, str] | None = None
        self._order: np.ndarray | None = None              # display order of all positions, None = frame order
        self._index: SearchIndex | None = None
        self._class_codes = np.zeros(0, dtype=np.int8)
        self._class_counts: dict[str, int] = {}
        self._slices_cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._slice_counts: dict[str, np.ndarray] = {}
        self._every_row: np.ndarray | None = None
        self._sort_keys: dict[str, np.ndarray] = {}
        self._optional: list[str] = []
        self._numeric: set[str] = {"delta"}
        self._search_hits: tuple[str, np.ndarray] | None = None   # (needle, mask) computed on a worker
        self._review: str | None = None
        self._others: dict[str, tuple] = {}
        self._others_labeled = np.zeros(0, dtype=bool)    # per frame position: someone else labeled it
        self._disagree = np.zeros(0, dtype=bool)          # per frame position: reviewers disagree
        self._sets: dict[str, frozenset[str]] = {}         # review filter key -> sample ids (assigned, adjudicate)
        self._set_masks: dict[str, np.ndarray] = {}
        self.blind = False
        self.blind_names = None                            # sample id -> {"baseline": "A"|"B", "candidate": ...}
        self._cells: dict[tuple[int, int], str] = {}       # (position, column) -> display text
        self._row_readers: list | None = None              # (column, position -> value), for sample()
        self._pages: ComparisonPages | None = None         # a paged comparison's other columns

    # --- loading ------------------------------------------------------------
    @staticmethod
    def prepare(frame: pd.DataFrame | PagedComparison, labels: dict[str, "MyLabel"] | None = None,
                others: dict[str, tuple] | None = None) -> "Prepared":
        """The expensive part of set_frame, safe to run on a worker thread (no Qt).
        `labels` (yours) and `others` (other reviewers') are placed on their rows here too.
        A PagedComparison: its frame holds the resident columns, its pages the rest."""
        pages = None
        if isinstance(frame, PagedComparison):
            frame, pages = frame.frame, frame.pages
        if not isinstance(frame.index, pd.RangeIndex) or frame.index.start != 0 or frame.index.step != 1:
            frame = frame.reset_index(drop=True)
        n = len(frame)
        slices = slice_columns(frame)
        if n and not (pd.api.types.is_string_dtype(frame["id"].dtype) and hasattr(frame["id"].array, "__arrow_array__")):
            frame = frame.assign(id=frame["id"].astype(str))
        arrays = {c: ArrowColumn.of(frame[c]) for c in ["id", *slices] if c in frame}
        arrays["delta"] = _floats(frame["delta"]) if n else np.zeros(0)
        # Shared with the service, which holds the same frame: the ids are sorted once, and not
        # here: set_frame starts the sort once the table is shown (a look-up before scans).
        id_index = IdLookup.shared(frame["id"] if n else pa.array([], pa.large_string()))
        # Classes as small integer codes: filtering by class is a table lookup, counting a bincount.
        codes = codes_of(frame["class"], CLASS_ORDER) if n else np.zeros(0, dtype=np.int8)
        arrays["class"] = _ClassNames(codes)
        counts = code_counts(codes, len(CLASS_ORDER))
        class_counts = {c: int(counts[i]) for i, c in enumerate(CLASS_ORDER)}
        slice_codes, slice_counts = {}, {}
        for col in slices:
            column = arrays.get(col)
            sc, uniques = column.factorized() if isinstance(column, _Categories) else factorize_text(frame[col])
            slice_codes[col] = (sc.astype(code_type(len(uniques)), copy=False), np.asarray(uniques, dtype=object))
            slice_counts[col] = code_counts(sc, len(uniques))
        labels = {k: v for k, v in (labels or {}).items() if not v.is_empty}
        labeled = id_index.mask_of(list(labels)) if n and labels else np.zeros(n, dtype=bool)
        others = dict(others or {})
        others_pos = id_index.positions_of(list(others)) if n and others else {}
        if pages is None:
            readers = [(str(name), _reader(frame[name])) for name in frame.columns]
        else:
            _remember_pages(frame, pages)
            paged = tuple(c for c in pages.names if c not in frame.columns)   # one row group read gives them all
            readers = [(str(name), _reader(frame[name]) if name in frame.columns
                        else (lambda pos, c=name: pages.value(c, pos, paged))) for name in pages.names]
        if pages is not None:   # the resident columns were read while the file's hash was checked
            pages.verified()
        return Prepared(frame, slices, arrays, id_index, codes, class_counts, slice_codes,
                        labels, labeled, others, others_pos, readers, pages, np.arange(n), slice_counts)

    def set_frame(self, frame: pd.DataFrame | "Prepared", labels: dict[str, MyLabel] | None = None) -> None:
        prepared = frame if isinstance(frame, Prepared) else self.prepare(frame)
        self.beginResetModel()
        self._cells = {}
        self._row_readers = prepared.readers
        self.frame = prepared.frame
        self._pages = prepared.pages
        slices = prepared.slices
        self._arrays = prepared.arrays
        self._optional = []
        self._numeric = {"delta"}
        self.columns_ = self._make_columns(slices)
        self._id_index = prepared.id_index
        n = len(self.frame)
        self._labels = {}
        self._labeled = np.zeros(n, dtype=bool)
        self._order = None
        self._index = None
        self._class_codes = prepared.class_codes
        self._class_counts = prepared.class_counts or {}
        self._slices_cache = dict(prepared.slice_codes or {})
        self._slice_counts = dict(prepared.slice_counts or {})
        self._every_row = prepared.every_row
        self._sort_keys = {}
        self._search_hits = None
        self._slice = None
        self._search = ""
        self._review = None
        self._others = {}
        self._others_labeled = np.zeros(n, dtype=bool)
        self._disagree = np.zeros(n, dtype=bool)
        self._sets = {}
        self._set_masks = {}
        if prepared.labeled is not None and labels is None:
            self._labels = dict(prepared.labels or {})
            self._labeled = prepared.labeled
        else:
            self._set_labels(labels or {})
        if prepared.others:
            self._place_others(prepared.others, prepared.others_pos)
        self._rows = self._compute_rows()
        self._visible_of = None
        self.endResetModel()
        # The ids' sort for look-ups, on a spare core once the table is shown (the open itself
        # needs both cores: a 10M-sample sort takes ~1.5 s); a look-up before it scans the ids.
        QTimer.singleShot(0, self._id_index.start)

    # --- optional columns (the header's menu) -----------------------------------
    OPTIONAL_TITLES = {"baseline_score": "baseline score", "candidate_score": "candidate score",
                       "input": "input", "reference": "reference", "baseline_output": "baseline output",
                       "candidate_output": "candidate output"}

    def _all_columns(self) -> list[str]:
        """Every column of the comparison (a paged one's too, not only those held)."""
        return list(self._pages.names) if self._pages is not None else [str(c) for c in self.frame.columns]

    def _make_columns(self, slices: list[str]) -> list[Column]:
        extra = [Column(k, self.column_title(k)) for k in self._optional if k in self._all_columns()]
        return ([Column("id", "id")] + [Column(c, c) for c in slices]
                + [Column("class", "class"), Column("delta", "Δscore"), Column("labels", "labels")] + extra
                + [Column("mine", "mine")])

    def column_title(self, key: str) -> str:
        if key in self.OPTIONAL_TITLES:
            return self.OPTIONAL_TITLES[key]
        for model in ("baseline", "candidate"):
            if key.startswith(model + "_"):
                return f"{model} {key[len(model) + 1:]}"
        return key

    def optional_columns(self) -> list[tuple[str, str]]:
        """(key, title) of the columns the table can show besides its own: scores,
        input, reference, outputs, and the predictions' other fields."""
        names = self._all_columns()
        keys = [k for k in self.OPTIONAL_TITLES if k in names]
        keys += [c for c in names if is_prediction_extra(c)]
        return [(k, self.column_title(k)) for k in keys]

    @property
    def shown_optional(self) -> list[str]:
        return list(self._optional)

    def set_optional_columns(self, keys) -> None:
        self.beginResetModel()
        self._cells = {}
        names = self._all_columns()
        self._optional = [k for k in keys if k in names]
        for k in self._optional:
            if k not in self._arrays and k not in self.frame.columns:   # a paged comparison's
                typ = self._pages.schema.field(k).type
                numeric = (pa.types.is_integer(typ) or pa.types.is_floating(typ)) and k not in self._pages.kinds
                self._arrays[k] = (pc.cast(self._pages.columns([k]).column(0), pa.float64()).to_numpy()
                                   if numeric else PagedColumn(self._pages, k))
                if numeric:
                    self._numeric.add(k)
            elif k not in self._arrays:
                col = self.frame[k]
                numeric = pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype)
                self._arrays[k] = (pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
                                   if numeric else ArrowColumn.of(col))
                if numeric:
                    self._numeric.add(k)
        self.columns_ = self._make_columns(slice_columns(self.frame))
        self.endResetModel()

    def _set_labels(self, labels: dict[str, MyLabel]) -> None:
        self._labels = {k: v for k, v in labels.items() if not v.is_empty}
        if len(self.frame):
            self._labeled = self._id_index.mask_of(list(self._labels)) if self._labels \
                else np.zeros(len(self.frame), dtype=bool)

    # --- filtering ----------------------------------------------------------
    @property
    def class_filter(self) -> set[str] | None:
        return None if self._classes is None else set(self._classes)

    @property
    def search_text(self) -> str:
        return self._search

    @property
    def slice_filter(self) -> tuple[str, str] | None:
        return self._slice

    @property
    def review_filter(self) -> str | None:
        return self._review

    def set_filter(self, *, classes=..., search=..., slice_=..., review=...) -> None:
        """classes: a set of class names or None (all); search: substring; slice_: (column, value) or None;
        review: a key of REVIEW_FILTERS (None: any)."""
        if classes is not ...:
            self._classes = None if classes is None else {str(c) for c in classes}
        if search is not ...:
            self._search = (search or "").strip()
        if slice_ is not ...:
            self._slice = slice_
        if review is not ...:
            if review not in {k for k, _ in REVIEW_FILTERS}:
                raise ValueError(f"unknown review filter {review!r}")
            self._review = review
        self.beginResetModel()
        # The old rows let go first: at 10M rows they are up to 80 MB, held beside the new ones
        # (the open's every row and the default filter's rows were the window's peak).
        self._rows, self._visible_of = np.zeros(0, dtype=np.int64), None
        self._rows = self._compute_rows()
        self.endResetModel()

    def _mask(self) -> np.ndarray:
        n = len(self.frame)
        mask = np.ones(n, dtype=bool)
        if not n:
            return mask
        if self._classes is not None:
            allowed = np.array([c in self._classes for c in CLASS_ORDER] + [False], dtype=bool)
            mask &= allowed[self._class_codes]          # code -1 (unknown class) picks the last: False
        if self._slice is not None:
            col, value = self._slice
            if col in self.frame:
                codes, uniques = self._slice_codes(col)
                where = np.flatnonzero(uniques == value)
                mask &= (codes == where[0]) if len(where) else np.zeros(n, dtype=bool)
        if self._review is not None:
            mask &= self.review_mask(self._review)
        if self._search:
            mask &= self._search_mask(self._search)
        return mask

    def slice_values(self, col: str) -> tuple[np.ndarray, np.ndarray]:
        """(code per row, the distinct values) of a slice column; missing values read "(none)"."""
        return self._slice_codes(col)

    def slice_counts(self, col: str) -> np.ndarray:
        """Rows per distinct value of slice_values(col) (counted by the open, on its worker)."""
        counts = self._slice_counts.get(col)
        if counts is None:
            codes, uniques = self._slice_codes(col)
            counts = self._slice_counts[col] = code_counts(codes, len(uniques))
        return counts

    def _slice_codes(self, col: str) -> tuple[np.ndarray, np.ndarray]:
        """A slice column as integer codes (factorized once per column)."""
        cached = self._slices_cache.get(col)
        if cached is None:
            codes, uniques = factorize_text(self.frame[col])
            cached = (codes, np.asarray(uniques, dtype=object))
            self._slices_cache[col] = cached
        return cached

    def review_mask(self, review: str) -> np.ndarray:
        anyone = self._labeled | self._others_labeled
        return {
            "unlabeled": ~anyone,
            "labeled": anyone,
            "not_mine": ~self._labeled,
            "mine": self._labeled,
            "disagree": self._disagree,
            "assigned": self.set_mask("assigned"),
            "adjudicate": self.set_mask("adjudicate"),
        }[review]

    def set_sample_set(self, key: str, ids) -> None:
        """The sample ids of a set-based review filter ("assigned", "adjudicate"), set from outside."""
        self._sets[key] = frozenset(str(i) for i in ids)
        self._set_masks.pop(key, None)
        if self._review == key:
            self.set_filter()

    def set_mask(self, key: str) -> np.ndarray:
        """Per frame position: the sample is in the set `key` (cached per frame)."""
        masks = self._set_masks
        n = len(self.frame) if self.frame is not None else 0
        mask = masks.get(key)
        if mask is None or len(mask) != n:
            mask = np.zeros(n, dtype=bool)
            ids = self._sets.get(key, ())
            if n and ids:
                for p in self._id_index.positions_of(list(ids)).values():
                    mask[p] = True
            masks[key] = mask
        return mask

    def _search_mask(self, needle: str) -> np.ndarray:
        """Case-insensitive substring over id, input, reference and outputs."""
        if self._search_hits is not None and self._search_hits[0] == needle and len(self._search_hits[1]) == len(self.frame):
            return self._search_hits[1]
        hit, self._index = search_rows(self.frame, needle, self._index)
        self._search_hits = (needle, hit)
        return hit

    @property
    def search_index(self) -> SearchIndex | None:
        """The index of the text columns, once built (read-only for workers)."""
        return self._index

    def set_search_index(self, index: SearchIndex) -> None:
        if index.rows == len(self.frame):
            self._index = index

    def has_search_hits(self, needle: str) -> bool:
        needle = (needle or "").strip()
        return not needle or (self._search_hits is not None and self._search_hits[0] == needle)

    def set_search_hits(self, needle: str, mask: np.ndarray, index: SearchIndex | None = None) -> None:
        """A search computed elsewhere (a worker): keep it and filter with it."""
        if index is not None:
            self.set_search_index(index)
        if len(mask) == len(self.frame):
            self._search_hits = (needle.strip(), mask)
        self.set_filter(search=needle)

    # --- other reviewers ------------------------------------------------------
    def set_others(self, others: dict[str, tuple]) -> None:
        """Other reviewers' labels: sample id -> ((verdict, correct), ...)."""
        others = dict(others)
        if not len(self.frame) or not others:
            self._place_others(others, {})
        else:
            self._place_others(others, self._id_index.positions_of(list(others)))
        if self._review is not None:
            self.set_filter()

    def _place_others(self, others: dict[str, tuple], positions: dict[str, int]) -> None:
        self._others = others
        n = len(self.frame)
        self._others_labeled = np.zeros(n, dtype=bool)
        self._disagree = np.zeros(n, dtype=bool)
        for sid, p in positions.items():
            self._others_labeled[p] = True
            self._disagree[p] = disagree(self._with_mine(sid))

    def _with_mine(self, sid: str) -> list:
        labels = list(self._others.get(sid, ()))
        mine = self._labels.get(sid)
        if mine is not None:
            labels.append((mine.verdict, mine.correct))
        return labels

    def reviewers_disagree(self, sample_id: str) -> bool:
        pos = self.position_of(sample_id)
        return bool(self._disagree[pos]) if pos is not None else False

    def others_count(self, sample_id: str) -> int:
        return len(self._others.get(str(sample_id), ()))

    # --- blind mode -------------------------------------------------------------
    def set_blind(self, on: bool, names=None) -> None:
        self.blind = bool(on)
        self.blind_names = names
        self._cells = {}
        if self.rowCount() and self.columnCount():
            self.dataChanged.emit(self.index(0, 0), self.index(self.rowCount() - 1, self.columnCount() - 1))

    def _compute_rows(self) -> np.ndarray:
        if self._order is None and self._classes is None and self._slice is None and self._review is None \
                and not self._search:   # every row (a new table, before its filter): no mask of 10M
            every, self._every_row = self._every_row, None   # made by the worker, used once (80 MB at 10M)
            return every if every is not None and len(every) == len(self.frame) else np.arange(len(self.frame))
        mask = self._mask()
        if self._order is None:
            return np.flatnonzero(mask)
        return self._order[mask[self._order]]

    def _row_at(self, pos: int) -> int:
        """The visible row of frame position `pos`, -1 if hidden. In the comparison's own order
        the visible positions are ascending: a binary search, no position -> row array needed."""
        if self._order is None:
            i = int(np.searchsorted(self._rows, pos))
            return i if i < len(self._rows) and self._rows[i] == pos else -1
        if self._visible_of is None:
            self._update_visible_of()
        return int(self._visible_of[pos]) if 0 <= pos < len(self._visible_of) else -1

    def _update_visible_of(self) -> None:
        vis = np.full(len(self.frame), -1, dtype=np.int32)
        vis[self._rows] = np.arange(len(self._rows), dtype=np.int32)
        self._visible_of = vis

    # --- sorting ------------------------------------------------------------
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort now, on the calling thread (Qt's call, tests). The window's header sorts through
        sort_plan / apply_sort, the costly orders on a worker (app/ui/sample_view.py)."""
        plan = self.sort_plan(column)
        if plan is not None:
            self.apply_sort(plan, plan.order if plan.order is not None else plan.compute(), order)

    def sort_plan(self, column: int) -> SortPlan | None:
        """How to sort by `column`: the order at hand when it is cheap (class, delta, mine,
        labels, float columns: a numpy argsort of a small or float array) or cached, else the
        function that computes it without Qt (ids, text: a whole-column sort; a paged column
        is read whole first)."""
        if not (0 <= column < len(self.columns_)) or not len(self.frame):
            return None
        key = self.columns_[column].key
        plan = SortPlan(key, self.frame, order=self._sort_keys.get(key))
        if key == "class":
            # Regression severity: the comparison's own order (worst class first, then the
            # biggest drop in score), signoff.core.compare.
            plan.order = np.arange(len(self.frame))
        elif key == "mine":
            plan.order = np.argsort(self._labeled.astype(np.int8), kind="stable")
        elif key == "labels":   # by how many labeled, disagreements last within a count
            count = self._labeled.astype(np.int16) * 2 + self._others_labeled.astype(np.int16) * 2 \
                + self._disagree.astype(np.int16)
            plan.order = np.argsort(count, kind="stable")
        elif plan.order is not None:
            pass
        elif key in self._arrays and self._arrays[key].dtype == float:   # delta, scores
            plan.order = self._sort_keys[key] = np.argsort(np.nan_to_num(self._arrays[key], nan=np.inf),
                                                           kind="stable")
        elif key == "id":
            ids = self._id_index     # its merged order is kept by the look-up itself
            plan.order = ids.sorted_positions() if ids.in_id_order else None
            plan.compute = lambda task=None: ids.sorted_positions()
        elif isinstance(self._arrays.get(key), (ArrowColumn, PagedColumn, _Categories)):
            plan.compute, plan.cache = self._arrays[key].sort_order, True
            plan.reads = isinstance(self._arrays[key], PagedColumn)
        else:
            series = self.frame[key]
            plan.compute, plan.cache = (lambda task=None: _factorized_order(series)), True
        return plan

    def apply_sort(self, plan: SortPlan, idx: np.ndarray, order: Qt.SortOrder) -> bool:
        """Show the rows in `idx` order (descending: reversed), the selection kept; False (and
        nothing changed) when the frame it was computed for was replaced meanwhile or its column
        is gone."""
        keys = [c.key for c in self.columns_]
        if plan.frame is not self.frame or plan.key not in keys or len(idx) != len(self.frame):
            return False
        if plan.cache:
            self._sort_keys[plan.key] = idx
        if order == Qt.SortOrder.DescendingOrder:
            idx = idx[::-1].copy()
        self.layoutAboutToBeChanged.emit()
        old_pos = {pi: int(self._rows[pi.row()]) for pi in self.persistentIndexList() if pi.isValid()}
        self._order = idx
        self._rows = self._compute_rows()
        self._update_visible_of()
        for pi, pos in old_pos.items():
            row = int(self._visible_of[pos]) if pos < len(self._visible_of) else -1
            self.changePersistentIndex(pi, self.index(row, pi.column()) if row >= 0 else QModelIndex())
        self.layoutChanged.emit()
        return True

    def reset_order(self) -> None:
        """Back to the comparison's own order: worst first."""
        self.beginResetModel()
        self._order = None
        self._rows = self._compute_rows()
        self._visible_of = None
        self.endResetModel()

    # --- labels -------------------------------------------------------------
    def label_of(self, sample_id: str) -> MyLabel:
        return self._labels.get(str(sample_id), MyLabel())

    def set_label(self, sample_id: str, label: MyLabel) -> None:
        sid = str(sample_id)
        if label.is_empty:
            self._labels.pop(sid, None)
        else:
            self._labels[sid] = label
        pos = self.position_of(sid)
        if pos is None:
            return
        self._labeled[pos] = not label.is_empty
        if sid in self._others:
            self._disagree[pos] = disagree(self._with_mine(sid))
        for c in range(len(self.columns_)):
            self._cells.pop((pos, c), None)
        row = self._row_at(pos)
        if row >= 0:   # "mine" and "labels" show it
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(self.columns_) - 1))

    def refresh_labels_column(self) -> None:
        """After set_others: the labels counts and disagreement marks drawn again."""
        self._cells = {}
        if len(self._rows) and self.columns_:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(self.columns_) - 1))

    def labels_count(self, sample_id: str) -> int:
        """How many reviewers labeled the sample (me included)."""
        sid = str(sample_id)
        return len(self._others.get(sid, ())) + (1 if sid in self._labels else 0)

    def position_of(self, sample_id: str) -> int | None:
        return self._id_index.position(str(sample_id))

    def row_of(self, sample_id: str) -> int:
        pos = self.position_of(sample_id)
        return -1 if pos is None else self._row_at(pos)

    def next_unlabeled(self, after_row: int) -> int:
        """The next visible row without your label after `after_row`, wrapping; -1 if none."""
        if not len(self._rows):
            return -1
        unl = ~self._labeled[self._rows]
        after = np.flatnonzero(unl[after_row + 1:])
        if len(after):
            return int(after[0]) + after_row + 1
        before = np.flatnonzero(unl[: max(after_row + 1, 0)])
        return int(before[0]) if len(before) else -1

    def labeled_count(self) -> int:
        return int(self._labeled.sum())

    # --- rows ---------------------------------------------------------------
    def position(self, row: int) -> int:
        return int(self._rows[row])

    def sample(self, row: int) -> dict:
        """The whole frame row shown at `row` (all columns, outputs included), as a dict of
        Python values; missing values are None or NaN (signoff.core.normalise.is_missing)."""
        pos = int(self._rows[row])
        if self._row_readers is None:
            self._row_readers = [(str(name), _reader(self.frame[name])) for name in self.frame.columns]
        return {name: read(pos) for name, read in self._row_readers}

    def sample_id(self, row: int) -> str:
        return str(self._arrays["id"][self._rows[row]])

    def visible_count(self) -> int:
        return int(len(self._rows))

    def class_counts(self) -> dict[str, int]:
        return dict(self._class_counts) if self._class_counts else {c: 0 for c in CLASS_ORDER}

    # --- Qt model -----------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else int(len(self._rows))

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.columns_)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.columns_):
            col = self.columns_[section]
            if role == Qt.ItemDataRole.DisplayRole:
                return col.title
            if role == Qt.ItemDataRole.ToolTipRole:
                return {"delta": "candidate score − baseline score", "mine": "your label (✓)",
                        "labels": "how many reviewers labeled the sample; ≠ when two of them disagree",
                        "class": "change class"}.get(col.key, col.key)
            if role == Qt.ItemDataRole.TextAlignmentRole and col.key == "delta":
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if orientation == Qt.Orientation.Vertical and role == Qt.ItemDataRole.DisplayRole:
            return str(section + 1)
        return None

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return _FLAGS

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if role not in _ANSWERED or not index.isValid():
            return None
        r, c = index.row(), index.column()
        if not (0 <= r < len(self._rows) and 0 <= c < len(self.columns_)):
            return None
        pos = self._rows[r]
        if role == _DISPLAY:
            cell = (int(pos), c)
            text = self._cells.get(cell)
            if text is None:
                if len(self._cells) >= CELL_CACHE:
                    self._cells.clear()
                text = self._cells[cell] = self._display(self.columns_[c].key, pos)
            return text
        key = self.columns_[c].key
        if role == _DECORATION:
            if key != "class":
                return None
            name = self._arrays["class"][pos]
            if self.blind and name in ("improved", "regressed"):
                name = "changed"
            return _CLASS_COLOURS.get(name, _GREY)
        if role == _ALIGN:
            return _RIGHT if key in self._numeric else _LEFT
        if role == Qt.ItemDataRole.ToolTipRole:
            # Cell text comes from the data (ids, slice values): escaped, never rich text.
            if key == "mine":
                lab = self._labels.get(str(self._arrays["id"][pos]))
                if lab is None:
                    return "not labeled by you"
                return plain_tooltip(self._display(key, pos) if self.blind else lab.words())
            return plain_tooltip(self._display(key, pos))
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return self._display(key, pos)
        if role == PositionRole:
            return int(pos)
        if role == SortKeyRole:
            return self._display(key, pos)
        return None

    def _display(self, key: str, pos: int) -> str:
        if key == "class":
            name = self._arrays["class"][pos]
            if self.blind and name in ("improved", "regressed"):
                name = "changed"
            return f"{CLASS_STYLE.get(name, ('', '?'))[1]} {name}"
        if key == "delta":
            return format_delta(self._arrays["delta"][pos])
        if key == "labels":
            n = self.labels_count(str(self._arrays["id"][pos]))
            if not n:
                return ""
            return f"{n} ≠" if self._disagree[pos] else str(n)
        if key == "mine":
            lab = self._labels.get(str(self._arrays["id"][pos]))
            if lab is None:
                return ""
            short = {"candidate": "cand", "baseline": "base", "tie": "tie", "both-wrong": "both ✗"}
            text = "✓"
            if self.blind:
                names = self.blind_names(str(self._arrays["id"][pos])) if self.blind_names else {}
                if lab.verdict in ("candidate", "baseline"):
                    text += f" {names.get(lab.verdict, '?')} better"
                elif lab.verdict:
                    text += " " + short.get(lab.verdict, lab.verdict)
                return text
            if lab.verdict:
                text += " " + short.get(lab.verdict, lab.verdict)
            if lab.correct is not None:
                text += " · ok" if lab.correct else " · wrong"
            return text
        value = self._arrays[key][pos]
        if _is_missing(value):
            return ""
        if isinstance(value, float):
            return f"{value:.4g}".replace("-", "−")
        if isinstance(value, (bytes, bytearray, memoryview)):
            return f"({len(bytes(value)):,} bytes)"
        text = str(value)
        if len(text) > 200 or "\n" in text:
            text = text[:200].replace("\r\n", " ⏎ ").replace("\n", " ⏎ ") + ("…" if len(text) > 200 else "")
        return text
