"""The table's filters: class (a combo and the class-count buttons), slice, labels (by whom),
and the substring search, with the counts line.

A search over a big table (ASYNC_SEARCH_ROWS and more) runs on a worker
(sample_model.search_rows over a signoff.core.search.SearchIndex, built on a
worker right after the table opens); the table keeps its rows until the new
ones are ready, so typing never blocks the window. Both workers are
SingleTasks (app/ui/concurrent.py): a new search cancels the old one, whose
late result (and any part of it) is dropped.

A paged comparison (issue 16) is searched row group by row group from its file, worst
first, which takes seconds at 10M samples: its hits come in parts (sample_columns.SearchParts,
through the worker's progress signal). Each part is painted as the hits found so far, the
count line reads "searching… 41/290 parts · 1,234 found so far", and the table keeps the
current sample if it matches; parts arriving faster than they paint are coalesced into one.
A change of the other filters while a search runs keeps it going (its hits do not depend
on them); a new needle cancels it. `filtersApplied` is emitted once, when the search is done.
"""

from __future__ import annotations

import time

import pandas as pd
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLineEdit, QPushButton

from signoff.core.search import SearchIndex
from signoff.ui.freed_memory import hand_back_freed_memory
from signoff.ui.concurrent import SingleTask
from signoff.ui.diff_view import plain_label
from signoff.ui.inbox import dot_icon
from signoff.ui.palette import CLASS_STYLE
from signoff.ui.sample_columns import SearchParts
from signoff.ui.sample_model import (CLASS_ORDER, NOT_UNCHANGED, REVIEW_FILTERS, SEARCH_COLUMNS, pages_of,
                                     search_rows, slice_columns)

FILTERS: list[tuple[str, set[str] | None]] = [
    ("all but unchanged", set(NOT_UNCHANGED)),
    ("all samples", None),
    *[(c, {c}) for c in CLASS_ORDER],
]
MAX_SLICE_VALUES = 200
SLICE_SEP = "\x1f"
ASYNC_SEARCH_ROWS = 200_000     # from this many rows on, the search runs on a worker
MAX_PART_GAP_MS = 500           # parts of a paged search: painted at least this often (if they come)




class TableFilters(QObject):
    partShown = Signal()        # the hits found so far by a running paged search are painted

    def __init__(self, window, samples):
        super().__init__(window)
        self.w = window
        self.samples = samples
        self.model = samples.model
        self.search_task = SingleTask(self)
        self.index_task = SingleTask(self)
        self._pending_search: str | None = None     # waits for the index being built
        self._search_timer = QTimer(self, singleShot=True, interval=250)
        self._search_timer.timeout.connect(self.apply)
        self._running_needle: str | None = None     # what the running search looks for
        self._parts: SearchParts | None = None      # the running paged search's hits so far
        self._partial: str | None = None            # the model's hits for this needle are only a part
        self._progress: tuple[int, int] | None = None   # (row groups searched, in all) painted
        self._part_timer = QTimer(self, singleShot=True, interval=0)   # coalesces parts
        self._part_timer.timeout.connect(self._show_part)

        self.class_buttons: dict[str, QPushButton] = {}
        for cls in CLASS_ORDER:
            b = QPushButton(cls)
            b.setCheckable(True)
            b.setIcon(dot_icon(CLASS_STYLE[cls][0]))
            b.setToolTip(f"show only {cls} samples (click again for all but unchanged)")
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.clicked.connect(lambda checked=False, c=cls: self.filter_to_class(c))
            self.class_buttons[cls] = b
        self.filter_combo = QComboBox()
        self.filter_combo.setAccessibleName("class filter")
        for text, _ in FILTERS:
            self.filter_combo.addItem(text)
        self.filter_combo.currentIndexChanged.connect(lambda _i: self.apply())
        self.slice_combo = QComboBox()
        self.slice_combo.setAccessibleName("slice filter")
        self.slice_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.slice_combo.currentIndexChanged.connect(lambda _i: self.apply())
        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText("search id, input, outputs   ( / )")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setAccessibleName("search")
        self.search_edit.textChanged.connect(lambda _t: self._search_timer.start())
        self.search_edit.returnPressed.connect(self._search_done)
        self.review_combo = QComboBox()
        self.review_combo.setAccessibleName("label filter")
        self.review_combo.setToolTip("by who labeled: anyone, you, or samples where the reviewers disagree")
        for key, text in REVIEW_FILTERS:
            self.review_combo.addItem(text, key)
        self.review_combo.currentIndexChanged.connect(lambda _i: self.apply())
        self.count_label = plain_label("")
        self.set_enabled(False)

    def filter_row(self, blind_check) -> QHBoxLayout:
        row = QHBoxLayout()
        for label, widget, stretch in (("class:", self.filter_combo, 0), ("slice:", self.slice_combo, 0),
                                       ("labels:", self.review_combo, 0), ("search:", self.search_edit, 1)):
            row.addWidget(plain_label(label))
            row.addWidget(widget, stretch)
        row.addWidget(blind_check)
        row.addWidget(self.count_label)
        return row

    @property
    def searching(self) -> bool:
        return self.search_task.running or self._pending_search is not None

    def set_enabled(self, on: bool) -> None:
        for w in (self.filter_combo, self.slice_combo, self.review_combo, self.search_edit,
                  *self.class_buttons.values()):
            w.setEnabled(on)

    def reset(self, frame: pd.DataFrame) -> None:
        """A new table: the default filter, no search, its slices; the search index for a big one."""
        self.stop_search()
        self._partial = None
        self._fill_slices(frame)
        for widget, clear in ((self.filter_combo, lambda: self.filter_combo.setCurrentIndex(0)),
                              (self.search_edit, self.search_edit.clear),
                              (self.review_combo, lambda: self.review_combo.setCurrentIndex(0))):
            widget.blockSignals(True)
            clear()
            widget.blockSignals(False)
        self.model.set_filter(classes=FILTERS[0][1], search="", slice_=None, review=None)
        self.set_enabled(True)

    def start_index(self) -> None:
        """Big tables: build the search index on a worker as soon as the table is shown (not for a
        paged one: its search reads the file and keeps no index)."""
        if len(self.model.frame) >= ASYNC_SEARCH_ROWS and pages_of(self.model.frame) is None:
            self.index_task.start(_build_index, self.model.frame, SEARCH_COLUMNS,
                                  on_finished=self._index_built, on_failed=lambda _m, _d: self._index_built(None))

    def _fill_slices(self, frame: pd.DataFrame) -> None:
        self.slice_combo.blockSignals(True)
        self.slice_combo.clear()
        self.slice_combo.addItem("all slices", None)
        for col in slice_columns(frame):
            _codes, uniques = self.model.slice_values(col)   # factorized and counted on the loading worker
            if len(uniques) > MAX_SLICE_VALUES:
                continue
            counts = self.model.slice_counts(col)
            for value, count in sorted(zip(uniques.tolist(), counts.tolist())):
                self.slice_combo.addItem(f"{col} = {value}  ({count:,})", f"{col}{SLICE_SEP}{value}")
        self.slice_combo.blockSignals(False)
        self.slice_combo.setVisible(self.slice_combo.count() > 1)

    def filter_to_class(self, cls: str) -> None:
        """The class-count buttons: one click filters to that class, a second back to the default."""
        current = self.model.class_filter
        target = 0 if current == {cls} else 2 + CLASS_ORDER.index(cls)
        self.filter_combo.setCurrentIndex(target)  # -> apply

    def set_search(self, text: str) -> None:
        """Set the search text and filter at once (tests, and Enter in the box)."""
        self.search_edit.setText(text)
        self._search_timer.stop()
        self.apply()

    def _search_done(self) -> None:
        self._search_timer.stop()
        self.apply()
        self.samples.table.setFocus()

    def focus_search(self) -> None:
        self.search_edit.setFocus()
        self.search_edit.selectAll()

    def apply(self) -> None:
        if self.model.frame is None:
            return
        keep = self.samples.current_sample_id()
        classes = FILTERS[max(0, self.filter_combo.currentIndex())][1]
        data = self.slice_combo.currentData()
        slice_ = tuple(data.split(SLICE_SEP, 1)) if isinstance(data, str) and SLICE_SEP in data else None
        needle = self.search_edit.text().strip()
        search = needle
        review = self.review_combo.currentData()
        if len(self.model.frame) >= ASYNC_SEARCH_ROWS and not self._has_hits(needle):
            # Big table: the other filters now, the search on a worker (the rows of the
            # last search stay until the new ones are ready); one for this needle goes on.
            if not (self.search_task.running and self._running_needle == needle):
                self._start_search(needle)
            search = self.model.search_text
            if (classes, slice_, review) == (self.model.class_filter, self.model.slice_filter, self.model.review_filter):
                self.update_counts()     # only the search changed: its worker refilters
                return
        else:
            self._cancel_search()
        self.model.set_filter(classes=classes, search=search, slice_=slice_, review=review)
        self._show_rows(keep)
        if not self.searching:
            self.w.filtersApplied.emit()

    def _has_hits(self, needle: str) -> bool:
        """The model holds the whole answer for `needle` (not the part of a running search)."""
        return self.model.has_search_hits(needle) and not (needle and needle == self._partial)

    def _show_rows(self, keep: str | None) -> None:
        self.update_counts()
        row = self.model.row_of(keep) if keep is not None else -1
        self.samples.select_row(row if row >= 0 else 0)

    def _start_search(self, needle: str) -> None:
        self._cancel_search()
        if self.index_task.running:
            # The index is being built: this search runs as soon as it is there.
            self._pending_search = needle
            self.count_label.setText(f"preparing the search of {len(self.model.frame):,} samples…")
            return
        self.count_label.setText(f"searching {len(self.model.frame):,} samples for “{needle[:40]}”…")
        pages = pages_of(self.model.frame)
        parts = self._parts = SearchParts(pages.rows, pages.groups) if pages is not None else None
        self._running_needle = needle
        self.search_task.start(_search, self.model.frame, needle, self.model.search_index, parts=parts,
                               on_finished=lambda result, n=needle: self._search_found(n, result),
                               on_failed=self._search_failed,
                               on_progress=None if parts is None else lambda _m, _f, p=parts: self._part_came(p))

    def _part_came(self, parts: SearchParts) -> None:
        # Queued progress signals: paint the newest hits once, when the event loop is free.
        if parts is self._parts and not self._part_timer.isActive():
            self._part_timer.start()

    def _show_part(self) -> None:
        parts, needle = self._parts, self._running_needle
        if parts is None or not self.search_task.running or needle is None:
            return                    # done, cancelled or replaced meanwhile: nothing stale is painted
        t0 = time.perf_counter()
        mask, done, total = parts.snapshot()
        keep = self.samples.current_sample_id()
        self._partial, self._progress = needle, (done, total)
        self.model.set_search_hits(needle, mask)
        self._show_rows(keep)
        # A repaint of millions of rows takes a while: the next part waits twice as long.
        self._part_timer.setInterval(min(MAX_PART_GAP_MS, int(2000 * (time.perf_counter() - t0))))
        self.partShown.emit()

    def _index_built(self, index) -> None:
        if index is not None:
            self.model.set_search_index(index)
        pending, self._pending_search = self._pending_search, None
        if pending is not None and pending == self.search_edit.text().strip():
            self._start_search(pending)

    def _cancel_search(self) -> None:
        self.search_task.cancel()
        self._pending_search = None
        self._parts = self._running_needle = self._progress = None
        self._part_timer.stop()

    def stop_search(self) -> None:
        """No search or index on its way (a new table, or the window closing)."""
        self._cancel_search()
        self.index_task.cancel()

    def _search_found(self, needle: str, result) -> None:
        mask, index = result
        self._parts = self._running_needle = self._progress = self._partial = None
        keep = self.samples.current_sample_id()
        self.model.set_search_hits(needle, mask, index)
        self._show_rows(keep)
        self.w.filtersApplied.emit()

    def _search_failed(self, message: str, details: str) -> None:
        self._parts = self._running_needle = self._progress = None     # a part shown stays a part
        self.w.banner.show_message(f"Search failed: {message}", details)
        self.update_counts()

    def update_counts(self) -> None:
        counts = self.model.class_counts()
        current = self.model.class_filter
        for cls, b in self.class_buttons.items():
            b.setText(f"{cls} {counts.get(cls, 0):,}")
            b.setChecked(current == {cls})
        total = len(self.model.frame)
        text = f"{self.model.visible_count():,} of {total:,} shown · {self.model.labeled_count():,} labeled by you"
        if self.searching and self._progress is not None:
            text = f"searching… {self._progress[0]:,}/{self._progress[1]:,} parts · " \
                   f"{self.model.visible_count():,} found so far"
        elif self.searching:
            text = "searching… · " + text
        if self.samples.sorting is not None:      # an order computed on a worker (sample_view.py)
            text = f"sorting by {self.samples.sorting}… · " + text
        self.count_label.setText(text)
        if getattr(self.w, "queues", None) is not None:
            self.w.queues.update_buttons()     # "7/79" per class

    def shutdown(self, wait: float = 3.0) -> None:
        self._search_timer.stop()
        self._pending_search = None
        self._part_timer.stop()
        self.search_task.shutdown(wait)
        self.index_task.shutdown(wait)


def _build_index(frame, columns, *, task=None) -> SearchIndex:
    """The worker's part: the index, then the build's scratch handed back (app/ui/freed_memory.py)."""
    index = SearchIndex.build(frame, columns, task=task)
    hand_back_freed_memory()
    return index


def _search(frame, needle: str, index, *, parts: SearchParts | None = None, task=None):
    """The worker's part: search_rows, then a paged scan's decode buffers handed back (Arrow's
    allocator keeps the pages of every row group decoded: at 3M samples the window stayed
    ~20 MB higher after each search)."""
    result = search_rows(frame, needle, index, task=task, parts=parts)
    if parts is not None:
        hand_back_freed_memory()
    return result
