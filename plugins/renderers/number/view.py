"""The number view: one row per value (one row for a plain number, one per
cell of a small table), with the reference, each side's value and its error
against the reference, and which side is closer, in words. Numbers align
right, errors carry their sign; differing values are tinted and underlined."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from signoff.core.numbers import error_summary, format_number, number_rows
from signoff.core.shown import Shown
from signoff.ui.renderer_sdk import INSERT_TINT, OutputView, bold_label, fmt_score, plain_label, plain_tooltip, visible

def round_sig(v: float, digits: int = 4) -> float:
    return float(f"{v:.{digits}g}")


RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter


class NumberOutputView(OutputView):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.headline = bold_label("", scale=1.25)
        self.headline.setWordWrap(True)
        self.summary = plain_label("")
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, 7)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.verticalHeader().hide()
        self.table.setAccessibleName("values and errors")
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        hh.setStretchLastSection(True)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.headline)
        lay.addWidget(self.summary)
        lay.addWidget(self.table, 1)

    def clear(self) -> None:
        super().clear()
        self.table.setRowCount(0)
        self.headline.setText("")
        self.summary.setText("")

    def show_sample(self, shown: Shown) -> None:
        self.shown = shown
        left, right = shown.sides
        rows, cells = number_rows(shown.reference, left.output, right.output)
        a, b = left.name, right.name
        self.table.setHorizontalHeaderLabels(
            ["value of", "REFERENCE", a, f"{a} error", b, f"{b} error", "closer to the reference"])
        self.table.setRowCount(len(rows))
        tint = QBrush(QColor(*INSERT_TINT))
        for i, r in enumerate(rows):
            closer = r.closer()
            values = [
                (visible(r.key, self.show_invisibles), LEFT),
                (format_number(r.reference), RIGHT),
                (format_number(r.a), RIGHT),
                (format_number(r.a_error, sign=True), RIGHT),
                (format_number(r.b), RIGHT),
                (format_number(r.b_error, sign=True), RIGHT),
                ({"a": f"{a} closer", "b": f"{b} closer"}.get(closer, "same error" if r.a_error is not None
                                                              and r.b_error is not None else ""), LEFT),
            ]
            for col, (text, align) in enumerate(values):
                item = QTableWidgetItem(visible(text, self.show_invisibles) if isinstance(text, str) else str(text))
                item.setTextAlignment(align)
                item.setToolTip(plain_tooltip(text))
                if col in (2, 4) and r.differs:
                    item.setBackground(tint)
                    f = item.font()
                    f.setUnderline(True)
                    item.setFont(f)
                if col in (1, 2, 3, 4, 5):
                    f = item.font()
                    f.setFamily("monospace")
                    f.setStyleHint(QFont.StyleHint.TypeWriter)
                    item.setFont(f)
                self.table.setItem(i, col, item)
        summary = error_summary(rows)
        if len(rows) == 1:
            r = rows[0]
            parts = [f"{a}: {format_number(r.a) or '(none)'}", f"{b}: {format_number(r.b) or '(none)'}"]
            if r.reference is not None:
                parts.insert(0, f"reference: {format_number(r.reference)}")
            self.headline.setText(visible("    ".join(parts), self.show_invisibles))
        else:
            self.headline.setText(f"{len(rows):,} values · {summary['differing']:,} differ between {a} and {b}")
        words = []
        for side, name in (("a", a), ("b", b)):
            mae = summary[f"{side}_mae"]
            if mae is None:
                continue
            if len(rows) == 1:
                words.append(f"{name} error {format_number(getattr(rows[0], f'{side}_error'), sign=True)}")
            else:
                words.append(f"{name}: mean |error| {format_number(round_sig(mae))} over {summary[f'{side}_cells']:,} values")
        ma, mb = summary["a_mae"], summary["b_mae"]
        if ma is not None and mb is not None:
            words.append("equal error" if ma == mb else f"{a if ma < mb else b} is closer to the reference")
        elif shown.reference is None or (isinstance(shown.reference, float) and shown.reference != shown.reference):
            words.append("no reference: no error to compare")
        scores = [f"{s.name} score {fmt_score(s.score)}" for s in (left, right) if fmt_score(s.score)]
        notes = [f"{n}: {c.note}" for n, c in (("reference", cells["reference"]), (a, cells["a"]), (b, cells["b"]))
                 if c.note]
        self.summary.setText(" · ".join(words + scores + notes))

    def table_rows(self) -> list[list[str]]:
        return [[self.table.item(r, c).text() if self.table.item(r, c) else "" for c in range(self.table.columnCount())]
                for r in range(self.table.rowCount())]

    def text_content(self) -> str:
        return "\n".join([self.headline.text(), self.summary.text()] + ["\t".join(r) for r in self.table_rows()])
