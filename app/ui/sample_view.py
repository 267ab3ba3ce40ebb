"""The sample table and the detail pane beside it: selection, moving, sorting, the optional
columns, and blind mode.

Blind mode (B) shows the two outputs as A and B in a per-sample order
(signoff.core.shown.blind_candidate_first) and hides what would tell them
apart (scores, Δscore, improved/regressed); keys 1 / 2 then mean "A / B
better" and are saved as the model that A / B stands for (app/ui/labeling.py).
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QObject, Qt
from PySide6.QtWidgets import QAbstractItemView, QCheckBox, QMenu

from signoff.core.shown import blind_candidate_first
from signoff.ui.concurrent import SingleTask
from signoff.ui.detail_pane import DetailPane
from signoff.ui.sample_model import SampleTableModel, SortPlan, slice_columns
from signoff.ui.widgets import SampleTable

ASYNC_SORT_ROWS = 50_000     # from this many rows on, an order not at hand is computed on a worker
COLUMN_SAMPLES = {"id": "s-0000000", "class": "▼ unchanged  ", "delta": "−0.00 ", "mine": "✓ both ✗ · wrong"}


def blind_names(request_id, eval_set: str, sample_id: str) -> dict[str, str]:
    """model -> "A" / "B" for one sample in blind mode."""
    if blind_candidate_first(request_id, eval_set, sample_id):
        return {"candidate": "A", "baseline": "B"}
    return {"baseline": "A", "candidate": "B"}


class SampleView(QObject):
    """The table (`model`, `table`), the detail pane (`detail`) and the blind check box."""

    def __init__(self, window):
        super().__init__(window)
        self.w = window
        self.blind = False
        self.model = SampleTableModel(window)
        self.table = SampleTable()
        self.table.setModel(self.model)
        self.table.selectionModel().currentRowChanged.connect(self._current_row_changed)
        header = self.table.horizontalHeader()
        header.sectionClicked.connect(self._header_clicked)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self.header_menu)
        header.setToolTip("click to sort; right-click for more columns (scores, outputs, confidence, …)")
        self.header_menu_shown: QMenu | None = None
        self.optional_columns: list[str] = []     # chosen in the header's menu, kept across eval sets
        self._sort_column = -1
        self._sort_order = Qt.SortOrder.AscendingOrder
        self._shown_sort = (-1, Qt.SortOrder.AscendingOrder)   # what the rows are in (-1: worst first)
        self.sort_task = SingleTask(self)
        self._sorting: SortPlan | None = None      # the order being computed on the worker
        self.model.modelReset.connect(self._frame_maybe_replaced)
        self.detail = DetailPane()
        self.blind_check = QCheckBox("blind (B)")
        self.blind_check.setToolTip("show the outputs as A and B in a random order per sample and hide which "
                                    "is the candidate (scores and Δscore too); 1 / 2 then mean A / B better")
        self.blind_check.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.blind_check.toggled.connect(self.set_blind)

    # -- a new table ---------------------------------------------------------------------------
    def show_table(self) -> None:
        """After a load: the sort back to worst first, the chosen columns, blind mode applied."""
        self._clear_sort()
        if self.optional_columns:
            self.model.set_optional_columns(self.optional_columns)
        self.size_columns()
        self.apply_blind()

    def size_columns(self) -> None:
        fm = self.table.fontMetrics()
        for i, col in enumerate(self.model.columns_):
            text = COLUMN_SAMPLES.get(col.key, col.title + "  ")
            if col.key not in COLUMN_SAMPLES:
                # slice columns: the widest of a few values
                vals = [self.model.data(self.model.index(r, i)) or "" for r in range(min(50, self.model.rowCount()))]
                text = max([col.title, *vals], key=len) + "  "
            width = min(max(fm.horizontalAdvance(text), fm.horizontalAdvance(col.title)) + 24, 260)
            self.table.setColumnWidth(i, width)

    # -- selection -----------------------------------------------------------------------------
    def current_row(self) -> int:
        idx = self.table.currentIndex()
        return idx.row() if idx.isValid() else -1

    def current_sample_id(self) -> str | None:
        row = self.current_row()
        return self.model.sample_id(row) if 0 <= row < self.model.rowCount() else None

    def select_row(self, row: int) -> None:
        if not (0 <= row < self.model.rowCount()):
            if self.model.rowCount() == 0:
                self.detail.clear("No samples match this filter." if len(self.model.frame) else "")
            return
        idx = self.model.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            idx, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
        self.table.scrollTo(idx, QAbstractItemView.ScrollHint.EnsureVisible)

    def _current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        row = current.row()
        sample = self.model.sample(row)
        self.detail.set_sample(sample, slice_columns(self.model.frame), self.model.label_of(self.model.sample_id(row)))

    def move(self, step: int) -> None:
        row = self.current_row()
        target = (0 if step > 0 else self.model.rowCount() - 1) if row < 0 else row + step
        if 0 <= target < self.model.rowCount():
            self.select_row(target)

    # -- sorting and columns -------------------------------------------------------------------
    # A sort whose order is not at hand (ids, text; a paged column is read whole first: seconds at
    # 10M samples) is computed on a worker (`sort_task`) while the table stays usable in its
    # current order; the header shows the clicked column and the count line "sorting by …". A
    # newer click, worst first, a column added or a new table cancels it (its late order is
    # dropped), and an order for a frame since replaced is never applied (apply_sort).
    @property
    def sorting(self) -> str | None:
        """The title of the column whose order is being computed, None when none is."""
        if self._sorting is None:
            return None
        keys = {c.key: c.title for c in self.model.columns_}
        return keys.get(self._sorting.key, self._sorting.key)

    def _clear_sort(self) -> None:
        self._stop_sorting()
        self._sort_column = -1
        self._shown_sort = (-1, Qt.SortOrder.AscendingOrder)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)

    def _header_clicked(self, column: int) -> None:
        if column == self._sort_column:
            self._sort_order = (Qt.SortOrder.DescendingOrder if self._sort_order == Qt.SortOrder.AscendingOrder
                                else Qt.SortOrder.AscendingOrder)
        else:
            self._sort_column, self._sort_order = column, Qt.SortOrder.AscendingOrder
        self.table.horizontalHeader().setSortIndicator(column, self._sort_order)
        plan = self.model.sort_plan(column)
        if plan is None:
            return
        running = self._sorting
        if running is not None and (running.key, running.frame) == (plan.key, plan.frame):
            return      # the same column again: its order comes, shown in the order now asked for
        self._stop_sorting()
        if plan.order is None and not plan.reads and len(self.model.frame) < ASYNC_SORT_ROWS:
            plan.order = plan.compute()          # a small table: at once (~10 ms at 50,000 rows)
        if plan.order is not None:
            self._apply_sort(plan, plan.order)
            return
        self._sorting = plan
        self.sort_task.start(plan.compute, on_finished=lambda idx, p=plan: self._sorted(p, idx),
                             on_failed=self._sort_failed)
        self._show_sorting()

    def _sorted(self, plan: SortPlan, idx) -> None:
        self._sorting = None
        self._apply_sort(plan, idx)
        self._show_sorting()

    def _apply_sort(self, plan: SortPlan, idx) -> None:
        keep = self.current_sample_id()
        if self.model.apply_sort(plan, idx, self._sort_order):
            self._shown_sort = (self._sort_column, self._sort_order)
            if keep is not None:
                self.select_row(self.model.row_of(keep))

    def _sort_failed(self, message: str, details: str) -> None:
        self._sorting = None
        self._sort_column, self._sort_order = self._shown_sort
        self.table.horizontalHeader().setSortIndicator(*self._shown_sort)
        self.w.banner.show_message(f"Sorting failed: {message}", details)
        self._show_sorting()

    def _frame_maybe_replaced(self) -> None:
        """A new table (a load starting or done): the old one's order is no one's any more."""
        if self._sorting is not None and self._sorting.frame is not self.model.frame:
            self._sorting = None
            self.sort_task.cancel()

    def _stop_sorting(self) -> None:
        if self._sorting is not None:
            self._sorting = None
            self.sort_task.cancel()
            self._show_sorting()

    def _show_sorting(self) -> None:
        filters = getattr(self.w, "filters", None)
        if filters is not None:
            filters.update_counts()

    def sort_worst_first(self) -> None:
        keep = self.current_sample_id()
        self._clear_sort()
        self.model.reset_order()
        if keep is not None:
            self.select_row(self.model.row_of(keep))

    def shutdown(self, wait: float = 3.0) -> None:
        self._sorting = None
        self.sort_task.shutdown(wait)

    def header_menu(self, pos) -> None:
        menu = QMenu(self.w)
        menu.addSection("Columns")
        for key, title in self.model.optional_columns():
            action = menu.addAction(title)
            action.setCheckable(True)
            action.setChecked(key in self.model.shown_optional)
            if self.blind and key.startswith(("baseline_", "candidate_")):
                action.setEnabled(False)
                action.setToolTip("hidden in blind mode: it would say which output is which")
            action.toggled.connect(lambda on, k=key: self.show_column(k, on))
        menu.popup(self.table.horizontalHeader().mapToGlobal(pos))
        self.header_menu_shown = menu

    def show_column(self, key: str, on: bool = True) -> None:
        """Add or remove one of the optional columns (scores, outputs, prediction fields)."""
        keys = [k for k in self.model.shown_optional if k != key] + ([key] if on else [])
        self.optional_columns = keys
        keep = self.current_sample_id()
        self.model.set_optional_columns(keys)
        self._clear_sort()
        self.model.reset_order()
        self.size_columns()
        self.apply_blind()
        if keep is not None and self.model.row_of(keep) >= 0:
            self.select_row(self.model.row_of(keep))

    # -- the detail pane's views ---------------------------------------------------------------
    def toggle_raw(self) -> None:
        raw = self.detail.toggle_raw()
        self.w.statusBar().showMessage("raw stored values (R again for the comparison)" if raw else "", 3000)

    def cycle_view_mode(self) -> None:
        if self.detail.cycle_mode():
            self.w.statusBar().showMessage(f"view: {self.detail.view.mode}", 2000)
        else:
            self.w.statusBar().showMessage("this view has one mode", 2000)

    # -- blind mode ----------------------------------------------------------------------------
    def names(self, sample_id: str) -> dict[str, str]:
        """model -> "A" / "B" of a sample of the open eval set."""
        w = self.w
        return blind_names(w.request.id if w.request else None, w.eval_set or "", sample_id)

    def set_blind(self, on: bool) -> None:
        on = bool(on)
        if on == self.blind:
            return
        self.blind = on
        actions = self.w.actions_by_id
        for widget in (self.blind_check, actions.get("view.blind")):
            if widget is not None and widget.isChecked() != on:
                widget.blockSignals(True)
                widget.setChecked(on)
                widget.blockSignals(False)
        a1, a2 = actions.get("label.candidate"), actions.get("label.baseline")
        if a1 is not None and a2 is not None:
            a1.setText("A better" if on else "Candidate better")
            a2.setText("B better" if on else "Baseline better")
        self.apply_blind()
        self.detail.set_blind(on)
        self.w.statusBar().showMessage(
            "Blind mode: the outputs are A and B in a random order per sample; 1 = A better, 2 = B better."
            if on else "Blind mode off: baseline left, candidate right; 1 = candidate better, 2 = baseline better.",
            6000)

    def apply_blind(self) -> None:
        self.model.set_blind(self.blind, self.names if self.blind else None)
        for i, col in enumerate(self.model.columns_):
            if col.key == "delta" or col.key.startswith(("baseline_", "candidate_")):
                self.table.setColumnHidden(i, self.blind)
