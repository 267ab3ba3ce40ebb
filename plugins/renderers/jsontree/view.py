"""The JSON view: a tree of both values, key by key, with every difference
marked by a word and a sign (+ added, − removed, ~ changed), a tint, and
strike-through (left) / underline (right); unchanged parts greyed. V
switches to the pretty-printed text of both (sorted keys) with a word diff.

Every cell is QTreeWidgetItem text (plain, never rich text)."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPalette
from PySide6.QtWidgets import (QCheckBox, QHBoxLayout, QHeaderView, QStackedWidget, QTreeWidget, QTreeWidgetItem,
                               QVBoxLayout, QWidget)

from signoff.core.jsondiff import MARKS, MISSING, TOO_DEEP, DiffRow, diff_json, parse_json, rows
from signoff.core.shown import Shown
from signoff.ui.renderer_sdk import (DELETE_TINT, HIT_BACKGROUND, HIT_FOREGROUND, INSERT_TINT, OutputView, TextDiffWidget, hit,
                                     plain_label, plain_tooltip, side_title, visible)

KEY, LEFT, RIGHT, CHANGE = range(4)
HIT_ROLE = Qt.ItemDataRole.UserRole + 1    # a cell marked as a search hit (tests, accessibility)


DEEP_TEXT_SHOWN = 10_000   # characters of a too-deeply nested value the text mode shows


def pretty(parsed) -> str:
    if parsed.value is MISSING:
        return ""
    if not parsed.ok:
        text = str(parsed.value)
        if parsed.error == TOO_DEEP and len(text) > DEEP_TEXT_SHOWN:   # one huge line: Qt lays it out for seconds
            text = text[:DEEP_TEXT_SHOWN] + f"… ({len(text) - DEEP_TEXT_SHOWN:,} more characters, {TOO_DEEP})"
        return text
    return json.dumps(parsed.value, indent=2, sort_keys=True, ensure_ascii=False)


def _why(parsed) -> str:
    return "nested too deeply to show" if parsed.error == TOO_DEEP else "not valid JSON"


class JsonOutputView(OutputView):
    MODES = ("structure", "text")

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.summary = plain_label("")
        self.summary.setWordWrap(True)
        self.only_changes = QCheckBox("only differences")
        self.only_changes.setToolTip("hide the keys that are the same on both sides")
        self.only_changes.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.only_changes.toggled.connect(lambda _on: self._rebuild())
        self.mode_note = plain_label("")
        self.mode_note.setStyleSheet("color: palette(placeholder-text);")

        self.tree = QTreeWidget()
        self.tree.setColumnCount(4)
        self.tree.setHeaderLabels(["key", "BASELINE", "CANDIDATE", "change"])
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(False)
        self.tree.setFocusPolicy(Qt.FocusPolicy.ClickFocus)   # the review keys stay with the window
        self.tree.setAccessibleName("JSON differences")
        hh = self.tree.header()
        hh.setSectionResizeMode(KEY, QHeaderView.ResizeMode.Interactive)
        hh.setSectionResizeMode(LEFT, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(RIGHT, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(CHANGE, QHeaderView.ResizeMode.ResizeToContents)
        hh.setStretchLastSection(False)
        mono = self.tree.font()
        mono.setFamily("monospace")
        mono.setStyleHint(QFont.StyleHint.TypeWriter)
        self._mono = mono

        self.text = TextDiffWidget()
        self.text.set_monospace(True)
        self.text.invisiblesFound.connect(self.invisiblesFound)

        self.stack = QStackedWidget()
        self.stack.addWidget(self.tree)
        self.stack.addWidget(self.text)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.summary, 1)
        top.addWidget(self.only_changes)
        top.addWidget(self.mode_note)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(top)
        lay.addWidget(self.stack, 1)
        self._rows: list[DiffRow] = []
        self._diff = None
        self._needle = ""
        self.search_hits: list[tuple[str, int]] = []   # (key path, column) of the marked cells
        self._mode_changed()

    # --- modes ----------------------------------------------------------
    def _mode_changed(self) -> None:
        self.stack.setCurrentIndex(0 if self.mode == "structure" else 1)
        self.only_changes.setVisible(self.mode == "structure")
        other = "text" if self.mode == "structure" else "structure"
        self.mode_note.setText(f"[v] {other}")

    # --- showing --------------------------------------------------------
    def show_sample(self, shown: Shown) -> None:
        self.shown = shown
        left, right = shown.sides
        a, b = parse_json(left.output), parse_json(right.output)
        self._diff = diff_json(a.value, b.value)
        counts = self._diff.counts()
        problems = [f"{s.name} is JSON {TOO_DEEP}: shown as text" if p.error == TOO_DEEP
                    else f"{s.name} is not valid JSON (compared as text)" for s, p in ((left, a), (right, b)) if not p.ok]
        missing = [f"{s.name} has no output" for s, p in ((left, a), (right, b)) if p.value is MISSING]
        if self._diff.status == "same":
            words = "the same JSON value on both sides (key order and spacing ignored)"
        elif not self._diff.children:
            words = "the values differ as a whole"
        else:
            words = (f"{counts['added']} added (+) · {counts['removed']} removed (−) · {counts['changed']} changed (~)"
                     f" — key order ignored")
        self.summary.setText(" · ".join([*missing, *problems, words]))
        self.tree.setHeaderLabels(["key", side_title(left), side_title(right), "change"])
        self._rebuild()
        self.text.set_show_invisibles(self.show_invisibles)
        self.text.set_titles(side_title(left, extra="" if a.ok else _why(a)),
                             side_title(right, extra="" if b.ok else _why(b)))
        self.text.set_texts(pretty(a), pretty(b))

    def clear(self) -> None:
        super().clear()
        self._diff = None
        self.tree.clear()
        self.summary.setText("")
        self.text.set_texts("", "")

    def _rebuild(self) -> None:
        self.tree.clear()
        if self._diff is None:
            return
        self._rows = rows(self._diff, only_changes=self.only_changes.isChecked())
        grey = self.palette().color(QPalette.ColorRole.PlaceholderText)
        del_bg, ins_bg = QBrush(QColor(*DELETE_TINT)), QBrush(QColor(*INSERT_TINT))
        parents: list[QTreeWidgetItem | None] = [None]
        top_level_leaf = len(self._rows) == 1
        items = []
        for r in self._rows:
            if r.depth == 0 and not top_level_leaf:
                continue                     # the root object itself: its keys are the top level
            depth = max(r.depth - (0 if top_level_leaf else 1), 0)
            parent = parents[depth] if depth < len(parents) else parents[-1]
            item = QTreeWidgetItem(parent) if parent is not None else QTreeWidgetItem(self.tree)
            mark, word = MARKS[r.status]
            key = r.key if r.depth else "(whole value)"
            item.setText(KEY, visible(key, self.show_invisibles))
            item.setText(LEFT, visible(r.a_text, self.show_invisibles))
            item.setText(RIGHT, visible(r.b_text, self.show_invisibles))
            item.setText(CHANGE, "" if r.status == "same" else f"{mark} {word}" + (f" · {r.note}" if r.note else ""))
            for col in (KEY, LEFT, RIGHT):
                item.setFont(col, self._mono)
            item.setToolTip(LEFT, plain_tooltip(r.a_text))
            item.setToolTip(RIGHT, plain_tooltip(r.b_text))
            item.setToolTip(KEY, plain_tooltip(r.path or key))
            item.setData(KEY, Qt.ItemDataRole.UserRole, r.status)
            if r.status == "same":
                for col in range(4):
                    item.setForeground(col, grey)
            if r.status in ("removed", "changed"):
                f = QFont(self._mono)
                f.setStrikeOut(True)
                item.setFont(LEFT, f)
                item.setBackground(LEFT, del_bg)
                item.setBackground(KEY, del_bg if r.status == "removed" else QBrush())
            if r.status in ("added", "changed"):
                f = QFont(self._mono)
                f.setUnderline(True)
                item.setFont(RIGHT, f)
                item.setBackground(RIGHT, ins_bg)
                if r.status == "added":
                    item.setBackground(KEY, ins_bg)
            if r.status != "same":
                f = item.font(CHANGE)
                f.setBold(True)
                item.setFont(CHANGE, f)
            del parents[depth + 1:]
            parents.append(item)
            items.append((item, r))
        # Open what holds a difference; unchanged objects and arrays stay folded.
        for item, r in items:
            if r.has_children:
                item.setExpanded(r.status != "same")
        self.tree.resizeColumnToContents(KEY)
        if self.tree.columnWidth(KEY) > 260:
            self.tree.setColumnWidth(KEY, 260)
        self._mark_hits(items)

    # --- search hits (the text mode's editors are marked by the window, app/ui/fit.py) ---
    def show_search(self, needle: str) -> int:
        if needle != self._needle:
            self._needle = needle
            self._rebuild()      # fresh items: the tints of the last marks go with the old ones
        return len(self.search_hits)

    def _mark_hits(self, items: list) -> None:
        """Every cell (key, either value) whose text holds the needle: amber under near-black text,
        bold, and its parents opened so it is in view; the first one scrolled to."""
        self.search_hits = []
        if not self._needle:
            return
        bg, fg = QBrush(QColor(HIT_BACKGROUND)), QBrush(QColor(HIT_FOREGROUND))
        first = None
        for item, r in items:
            for col in (KEY, LEFT, RIGHT):
                if not hit(item.text(col), self._needle):
                    continue
                item.setBackground(col, bg)
                item.setForeground(col, fg)
                f = item.font(col)
                f.setBold(True)
                item.setFont(col, f)
                item.setData(col, HIT_ROLE, True)
                self.search_hits.append((r.path or item.text(KEY), col))
                parent = item.parent()
                while parent is not None:
                    parent.setExpanded(True)
                    parent = parent.parent()
                first = first or item
        if first is not None:
            self.tree.scrollToItem(first)

    def set_show_invisibles(self, on: bool) -> None:
        self.show_invisibles = on
        self.text.set_show_invisibles(on)
        self._rebuild()

    # --- for tests and copy ---------------------------------------------
    def tree_rows(self) -> list[tuple[int, str, str, str, str]]:
        """(depth, key, left, right, change) of every row, depth first."""
        out = []

        def walk(item: QTreeWidgetItem, depth: int) -> None:
            out.append((depth, item.text(KEY), item.text(LEFT), item.text(RIGHT), item.text(CHANGE)))
            for i in range(item.childCount()):
                walk(item.child(i), depth + 1)

        for i in range(self.tree.topLevelItemCount()):
            walk(self.tree.topLevelItem(i), 0)
        return out

    def text_content(self) -> str:
        head = [self.summary.text()]
        return "\n".join(head + ["\t".join([" " * d + k, a, b, c]) for d, k, a, b, c in self.tree_rows()])
