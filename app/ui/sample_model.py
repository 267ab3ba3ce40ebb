"""The sample table: a QAbstractTableModel over the comparison DataFrame.

The model never copies rows into Qt. It keeps the columns it shows as numpy
arrays and an int array `_rows` of the frame positions currently visible
(filtered and in display order). Filtering and sorting are vectorised
pandas / numpy over whole columns, then `_rows` is replaced in one model
reset, so a 1,000,000-row comparison filters in well under a second and
`data()` is an array lookup.

Columns: id, <slice columns>, class (symbol + word, colour swatch), Δscore
(signed, right aligned), mine (✓ and your verdict, when you labeled it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from app.core.compare import BASE_COLUMNS
from app.ui.diff_view import plain_tooltip
from app.ui.palette import CLASS_STYLE, VERDICT_WORDS

CLASS_ORDER = ["regressed", "missing", "changed", "improved", "unchanged"]
NOT_UNCHANGED = ("regressed", "missing", "changed", "improved")
SEARCH_COLUMNS = ("id", "input", "reference", "baseline_output", "candidate_output")

SortKeyRole = Qt.ItemDataRole.UserRole + 1
PositionRole = Qt.ItemDataRole.UserRole + 2


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
    arrays: dict[str, np.ndarray]
    id_index: pd.Index


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
    return [c for c in frame.columns if c not in BASE_COLUMNS and not c.endswith("_bytes")]


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
        self._id_index = pd.Index([])
        self._classes: set[str] | None = None
        self._search = ""
        self._slice: tuple[str, str] | None = None
        self._order: np.ndarray | None = None              # display order of all positions, None = frame order
        self._haystack: dict[str, pd.Series] = {}

    # --- loading ------------------------------------------------------------
    @staticmethod
    def prepare(frame: pd.DataFrame) -> "Prepared":
        """The expensive part of set_frame, safe to run on a worker thread (no Qt)."""
        frame = frame.reset_index(drop=True)
        n = len(frame)
        slices = slice_columns(frame)
        arrays = {c: frame[c].to_numpy(dtype=object) for c in ["id", *slices] if c in frame}
        arrays["class"] = frame["class"].astype(str).to_numpy(dtype=object) if n else np.zeros(0, dtype=object)
        arrays["delta"] = pd.to_numeric(frame["delta"], errors="coerce").to_numpy(dtype=float) if n else np.zeros(0)
        id_index = pd.Index(frame["id"].astype(str)) if n else pd.Index([])
        if n:
            id_index.get_loc(str(arrays["id"][0]))   # builds the hash table now, not on the first keystroke
        return Prepared(frame, slices, arrays, id_index)

    def set_frame(self, frame: pd.DataFrame | "Prepared", labels: dict[str, MyLabel] | None = None) -> None:
        prepared = frame if isinstance(frame, Prepared) else self.prepare(frame)
        self.beginResetModel()
        self.frame = prepared.frame
        slices = prepared.slices
        self.columns_ = ([Column("id", "id")] + [Column(c, c) for c in slices]
                         + [Column("class", "class"), Column("delta", "Δscore"), Column("mine", "mine")])
        self._arrays = prepared.arrays
        self._id_index = prepared.id_index
        n = len(self.frame)
        self._labels = {}
        self._labeled = np.zeros(n, dtype=bool)
        self._order = None
        self._haystack = {}
        self._slice = None
        self._search = ""
        self._set_labels(labels or {})
        self._rows = self._compute_rows()
        self._update_visible_of()
        self.endResetModel()

    def _set_labels(self, labels: dict[str, MyLabel]) -> None:
        self._labels = {k: v for k, v in labels.items() if not v.is_empty}
        if len(self.frame):
            self._labeled = self.frame["id"].astype(str).isin(list(self._labels)).to_numpy(dtype=bool, copy=True)

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

    def set_filter(self, *, classes=..., search=..., slice_=...) -> None:
        """classes: a set of class names or None (all); search: substring; slice_: (column, value) or None."""
        if classes is not ...:
            self._classes = None if classes is None else {str(c) for c in classes}
        if search is not ...:
            self._search = (search or "").strip()
        if slice_ is not ...:
            self._slice = slice_
        self.beginResetModel()
        self._rows = self._compute_rows()
        self._update_visible_of()
        self.endResetModel()

    def _mask(self) -> np.ndarray:
        n = len(self.frame)
        mask = np.ones(n, dtype=bool)
        if not n:
            return mask
        if self._classes is not None:
            mask &= np.isin(self._arrays["class"], list(self._classes))
        if self._slice is not None:
            col, value = self._slice
            if col in self.frame:
                mask &= (as_text_series(self.frame[col]).fillna("(none)") == value).to_numpy(dtype=bool, na_value=False)
        if self._search:
            mask &= self._search_mask(self._search)
        return mask

    def _search_mask(self, needle: str) -> np.ndarray:
        """Case-insensitive substring over id, input, reference and outputs (vectorised)."""
        hit = np.zeros(len(self.frame), dtype=bool)
        needle = needle.lower()
        for col in SEARCH_COLUMNS:
            if col not in self.frame:
                continue
            hay = self._haystack.get(col)
            if hay is None:   # lower-cased once per column, then plain substring search
                hay = as_text_series(self.frame[col]).str.lower()
                self._haystack[col] = hay
            hit |= hay.str.contains(needle, regex=False).fillna(False).to_numpy(dtype=bool)
        return hit

    def _compute_rows(self) -> np.ndarray:
        mask = self._mask()
        order = self._order if self._order is not None else np.arange(len(self.frame))
        return order[mask[order]]

    def _update_visible_of(self) -> None:
        vis = np.full(len(self.frame), -1, dtype=np.int64)
        vis[self._rows] = np.arange(len(self._rows))
        self._visible_of = vis

    # --- sorting ------------------------------------------------------------
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not (0 <= column < len(self.columns_)) or not len(self.frame):
            return
        key = self.columns_[column].key
        if key == "class":
            values = self.frame["severity"].to_numpy()
        elif key == "delta":
            values = np.nan_to_num(self._arrays["delta"], nan=np.inf)
        elif key == "mine":
            values = self._labeled.astype(np.int8)
        else:
            codes, _ = pd.factorize(as_text_series(self.frame[key]).fillna(""), sort=True)
            values = codes
        idx = np.argsort(values, kind="stable")
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

    def reset_order(self) -> None:
        """Back to the comparison's own order: worst first."""
        self.beginResetModel()
        self._order = None
        self._rows = self._compute_rows()
        self._update_visible_of()
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
        row = int(self._visible_of[pos])
        if row >= 0:
            col = len(self.columns_) - 1
            self.dataChanged.emit(self.index(row, 0), self.index(row, col))

    def position_of(self, sample_id: str) -> int | None:
        try:
            loc = self._id_index.get_loc(str(sample_id))
        except KeyError:
            return None
        if isinstance(loc, slice):
            return loc.start
        if isinstance(loc, np.ndarray):
            hits = np.flatnonzero(loc)
            return int(hits[0]) if len(hits) else None
        return int(loc)

    def row_of(self, sample_id: str) -> int:
        pos = self.position_of(sample_id)
        return -1 if pos is None else int(self._visible_of[pos])

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

    def sample(self, row: int) -> pd.Series:
        """The whole frame row shown at `row` (all columns, outputs included)."""
        return self.frame.iloc[int(self._rows[row])]

    def sample_id(self, row: int) -> str:
        return str(self._arrays["id"][self._rows[row]])

    def visible_count(self) -> int:
        return int(len(self._rows))

    def class_counts(self) -> dict[str, int]:
        if not len(self.frame):
            return {c: 0 for c in CLASS_ORDER}
        counts = pd.Series(self._arrays["class"]).value_counts()
        return {c: int(counts.get(c, 0)) for c in CLASS_ORDER}

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
                        "class": "change class"}.get(col.key, col.key)
            if role == Qt.ItemDataRole.TextAlignmentRole and col.key == "delta":
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if orientation == Qt.Orientation.Vertical and role == Qt.ItemDataRole.DisplayRole:
            return str(section + 1)
        return None

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r, c = index.row(), index.column()
        if not (0 <= r < len(self._rows) and 0 <= c < len(self.columns_)):
            return None
        pos = self._rows[r]
        key = self.columns_[c].key
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(key, pos)
        if role == Qt.ItemDataRole.DecorationRole and key == "class":
            return QColor(CLASS_STYLE.get(self._arrays["class"][pos], ("#999999", ""))[0])
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if key == "delta":
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            # Cell text comes from the data (ids, slice values): escaped, never rich text.
            if key == "mine":
                lab = self._labels.get(str(self._arrays["id"][pos]))
                return plain_tooltip(lab.words()) if lab else "not labeled by you"
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
            return f"{CLASS_STYLE.get(name, ('', '?'))[1]} {name}"
        if key == "delta":
            return format_delta(self._arrays["delta"][pos])
        if key == "mine":
            lab = self._labels.get(str(self._arrays["id"][pos]))
            if lab is None:
                return ""
            short = {"candidate": "cand", "baseline": "base", "tie": "tie", "both-wrong": "both ✗"}
            text = "✓"
            if lab.verdict:
                text += " " + short.get(lab.verdict, lab.verdict)
            if lab.correct is not None:
                text += " · ok" if lab.correct else " · wrong"
            return text
        value = self._arrays[key][pos]
        return "" if _is_missing(value) else str(value)
