"""A window that fits (issue 15), installed by one call at the end of MainWindow.__init__:

- the class buttons and the filter bar flow onto more lines when the window is narrow
  (FlowLayout), each "label: control" pair kept together;
- the inbox folds away below INBOX_FOLD_WIDTH (and comes back above it), and View ▸ Inbox
  (Ctrl+Shift+I) shows or hides it at any width; the status line gives way before the
  Approve button does;
- the window is never larger than the screen's free area (at 200 % on a 1920×1080 screen
  that is 960×540 device-independent pixels);
- the input pane (input | reference over the outputs) is resizable by mouse (its splitter
  handle) and keyboard (View ▸ Taller input / Shorter input, Ctrl+Alt+↓ / ↑), and its height
  is remembered (layout.ini, key fit/input_height);
- search hits are highlighted in the detail pane's text views through extra selections on
  their plain text (never HTML), in the other views by their `show_search` (the JSON tree's
  matching cells, the label view's labels, the image view's captions), and a line names the
  fields that matched.

The tones and the dark theme's check boxes are in resources/themes (app/ui/theme.py).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QColor, QGuiApplication, QKeySequence, QTextCharFormat, QTextCursor, QTextDocument
from PySide6.QtWidgets import (QApplication, QDialog, QHBoxLayout, QLabel, QLayout, QSizePolicy, QSplitter,
                               QTextEdit, QWidget)

from signoff.ui.diff_view import plain_label
from signoff.ui.output_view import HIT_BACKGROUND, HIT_FOREGROUND, OutputView

INBOX_FOLD_WIDTH = 1180     # below this window width the inbox folds away by itself
INPUT_STEP = 40             # px per keyboard step of the input pane
MIN_INPUT_HEIGHT = 48
SEARCH_FIELDS = (("id", "id"), ("input", "input"), ("reference", "reference"),
                 ("baseline_output", "baseline output"), ("candidate_output", "candidate output"))
# HIT_*: amber under near-black text, 11:1 in both themes (tests/ui/test_ui_fit.py), shared with the views


class FlowLayout(QLayout):
    """Items left to right, wrapping onto the next line (Qt's flow layout example)."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 4):
        super().__init__(parent)
        self._items: list = []
        self.setSpacing(spacing)
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item) -> None:
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int):
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int):
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self):
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return self._do_layout(QRect(0, 0, width, 0), apply=False)

    def setGeometry(self, rect: QRect) -> None:
        super().setGeometry(rect)
        self._do_layout(rect, apply=True)

    def sizeHint(self) -> QSize:
        w = sum(i.sizeHint().width() for i in self._items) + self.spacing() * max(0, len(self._items) - 1)
        h = max((i.sizeHint().height() for i in self._items), default=0)
        return QSize(w, h)

    def minimumSize(self) -> QSize:
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    def _do_layout(self, rect: QRect, *, apply: bool) -> int:
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        x, y, line = area.x(), area.y(), 0
        space = self.spacing()
        visible = [i for i in self._items if not (i.widget() and i.widget().isHidden())]
        for item in visible:
            hint = item.sizeHint()
            if x + hint.width() > area.right() + 1 and line > 0:
                x, y, line = area.x(), y + line + space, 0
            width = min(hint.width(), area.width())
            if apply:
                item.setGeometry(QRect(QPoint(x, y), QSize(width, hint.height())))
            x += width + space
            line = max(line, hint.height())
        return y + line - rect.y() + m.bottom()


class FlowBox(QWidget):
    """A widget holding a FlowLayout whose minimum height follows its width (a splitter and a
    main window do not ask for heightForWidth themselves)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.flow = FlowLayout(self)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_height()

    def _fit_height(self) -> None:
        h = self.flow.heightForWidth(max(1, self.width()))
        if h != self.minimumHeight():
            self.setMinimumHeight(h)

    def minimumSizeHint(self) -> QSize:
        return QSize(0, self.flow.heightForWidth(max(1, self.width())))


def _reflow(row: QHBoxLayout, box: FlowBox, widen: dict | None = None) -> None:
    """Move a row's widgets into `box`, each label kept with the control after it."""
    items = []
    while row.count():
        items.append(row.takeAt(0))
    widgets = [i.widget() for i in items if i.widget() is not None]
    i = 0
    while i < len(widgets):
        w = widgets[i]
        if isinstance(w, QLabel) and w.text().endswith(":") and i + 1 < len(widgets):
            pair = QWidget()
            hl = QHBoxLayout(pair)
            hl.setContentsMargins(0, 0, 0, 0)
            hl.setSpacing(4)
            hl.addWidget(w)
            hl.addWidget(widgets[i + 1], 1)
            box.flow.addWidget(pair)
            i += 2
        else:
            box.flow.addWidget(w)
            i += 1
    for w, width in (widen or {}).items():
        w.setMinimumWidth(width)


def _find_row(layout: QLayout, widget: QWidget):
    for i in range(layout.count()):
        sub = layout.itemAt(i).layout()
        if sub is not None and sub.indexOf(widget) >= 0:
            return i, sub
    return -1, None


class WindowFit(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.auto_folded = False
        self._fitted = False
        self._reflow_header()
        self._status_gives_way()
        self._install_inbox_fold()
        self._install_input_pane()
        self._install_search_hits()
        window.installEventFilter(self)
        from signoff.ui.theme import apply_tones

        apply_tones()

    # -- header ------------------------------------------------------------
    def _reflow_header(self) -> None:
        w = self.window
        header = w.title_label.parentWidget()
        hl = header.layout()
        for anchor in (w.eval_set_combo, w.filter_combo):
            index, row = _find_row(hl, anchor)
            if row is None:
                continue
            box = FlowBox()
            box.setObjectName("class_bar" if anchor is w.eval_set_combo else "filter_bar")
            hl.takeAt(index)
            _reflow(row, box, {w.search_edit: 160} if anchor is w.filter_combo else None)
            hl.insertWidget(index, box)
            setattr(self, box.objectName(), box)
        w.search_edit.setMinimumWidth(160)

    def _status_gives_way(self) -> None:
        label = self.window.status_label
        label.setMinimumWidth(80)      # its full text when there is room, clipped when not (tooltip: all of it)
        label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    # -- inbox -------------------------------------------------------------
    def _install_inbox_fold(self) -> None:
        w = self.window
        self.inbox_action = QAction("Inbox", w)
        self.inbox_action.setObjectName("view.inbox")
        self.inbox_action.setCheckable(True)
        self.inbox_action.setChecked(True)
        self.inbox_action.setShortcut(QKeySequence("Ctrl+Shift+I"))
        self.inbox_action.setStatusTip("show or hide the inbox (it folds away by itself in a narrow window)")
        self.inbox_action.toggled.connect(self.show_inbox)
        w.addAction(self.inbox_action)
        view = next((a.menu() for a in w.menuBar().actions() if a.text() == "&View"), None)
        if view is not None:
            view.addAction(self.inbox_action)
        w.actions_by_id["view.inbox"] = self.inbox_action

    def show_inbox(self, on: bool) -> None:
        self.auto_folded = False
        self.window.inbox.setVisible(on)
        if self.inbox_action.isChecked() != on:
            self.inbox_action.setChecked(on)

    def _fold_for(self, width: int) -> None:
        inbox = self.window.inbox
        if width < INBOX_FOLD_WIDTH and not inbox.isHidden() and not self.auto_folded:
            self.inbox_action.blockSignals(True)
            self.inbox_action.setChecked(False)
            self.inbox_action.blockSignals(False)
            inbox.hide()
            self.auto_folded = True
        elif width >= INBOX_FOLD_WIDTH and self.auto_folded:
            self.show_inbox(True)

    # -- the screen --------------------------------------------------------
    def fit_screen(self, free: QRect | None = None) -> None:
        """Shrink and move the window into the screen's free area (`free`, else the screen's)."""
        w = self.window
        if free is None:
            screen = w.screen() or QGuiApplication.primaryScreen()
            if screen is None:
                return
            free = screen.availableGeometry()
        fit_into(w, free)

    def eventFilter(self, obj, event) -> bool:
        if obj is self.window:
            if event.type() == QEvent.Type.Resize:
                self._fold_for(event.size().width())
            elif event.type() == QEvent.Type.Show and not self._fitted:
                # Once, on the first show; not under the offscreen platform, whose made-up 800×600
                # screen would shrink every test's window (tests call fit_screen with a size).
                self._fitted = True
                QTimer.singleShot(0, self.restore_input_height)   # once laid out
                if QGuiApplication.platformName() != "offscreen":
                    QTimer.singleShot(0, self.fit_screen)
        return False

    # -- the input pane ----------------------------------------------------
    def _install_input_pane(self) -> None:
        w = self.window
        splitter: QSplitter = w.detail.splitter
        splitter.setHandleWidth(max(splitter.handleWidth(), 7))
        handle = splitter.handle(1)
        handle.setToolTip("drag to resize the input pane (or Ctrl+Alt+↓ / ↑)")
        handle.setCursor(Qt.CursorShape.SplitVCursor)
        for widget in (splitter.widget(0),):
            widget.setMinimumHeight(MIN_INPUT_HEIGHT)
        for key, title, step in (("view.input_taller", "Taller input pane", INPUT_STEP),
                                 ("view.input_shorter", "Shorter input pane", -INPUT_STEP)):
            action = QAction(title, w)
            action.setObjectName(key)
            action.setShortcut(QKeySequence("Ctrl+Alt+Down" if step > 0 else "Ctrl+Alt+Up"))
            action.setStatusTip("the input | reference pane above the outputs (also by dragging its edge)")
            action.triggered.connect(lambda _c=False, s=step: self.resize_input(s))
            w.addAction(action)
            view = next((a.menu() for a in w.menuBar().actions() if a.text() == "&View"), None)
            if view is not None:
                view.addAction(action)
            w.actions_by_id[key] = action
        splitter.setStretchFactor(0, 0)     # a taller window gives the outputs the room; the input keeps its height
        splitter.setStretchFactor(1, 1)
        splitter.splitterMoved.connect(lambda _pos, _i: self._save_input_height())

    def restore_input_height(self) -> None:
        height = self._saved_input_height()
        if height:
            self.set_input_height(height)

    def input_height(self) -> int:
        return self.window.detail.splitter.sizes()[0]

    def set_input_height(self, height: int) -> None:
        splitter = self.window.detail.splitter
        sizes = splitter.sizes()
        total = sum(sizes) or (height + 400)
        height = max(MIN_INPUT_HEIGHT, min(int(height), total - MIN_INPUT_HEIGHT))
        splitter.setSizes([height, max(MIN_INPUT_HEIGHT, total - height)])

    def resize_input(self, step: int) -> None:
        self.set_input_height(self.input_height() + step)
        self._save_input_height()

    def _save_input_height(self) -> None:
        from signoff.ui.layout import layout_settings

        s = layout_settings()
        s.setValue("fit/input_height", int(self.input_height()))
        s.sync()

    @staticmethod
    def _saved_input_height() -> int:
        from signoff.ui.layout import layout_settings

        try:
            return int(layout_settings().value("fit/input_height", 0) or 0)
        except (TypeError, ValueError):
            return 0

    # -- search hits ---------------------------------------------------------
    def _install_search_hits(self) -> None:
        w = self.window
        self.hits_label = plain_label("")
        self.hits_label.setObjectName("search_hits")
        self.hits_label.setAccessibleName("search matched in")
        self.hits_label.setProperty("tone", "muted")
        self.hits_label.setWordWrap(True)
        self.hits_label.hide()
        layout = w.detail.layout()
        layout.insertWidget(2, self.hits_label)   # under the title and the view options
        w.table.selectionModel().currentRowChanged.connect(lambda *_a: QTimer.singleShot(0, self.highlight))
        w.filtersApplied.connect(self.highlight)
        w.search_edit.textChanged.connect(lambda _t: QTimer.singleShot(0, self.highlight))

    def matched_fields(self, needle: str) -> list[str]:
        w = self.window
        row = w.current_row()
        if not needle or row < 0 or w.model.frame is None:
            return []
        sample = w.model.sample(row)
        low = needle.lower()
        found = []
        for key, words in SEARCH_FIELDS:
            value = sample.get(key) if hasattr(sample, "get") else None
            if value is not None and low in str(value).lower():
                found.append(words)
        return found

    def highlight(self) -> None:
        w = self.window
        needle = w.search_edit.text().strip()
        fields = self.matched_fields(needle)
        if needle and fields:
            blind = getattr(w, "blind", False)
            if blind:   # which output is the candidate stays hidden
                fields = ["an output" if f.endswith("output") else f for f in fields]
                fields = list(dict.fromkeys(fields))
            self.hits_label.setText(f"search “{needle}” matched in: {', '.join(fields)}")
            self.hits_label.show()
        else:
            self.hits_label.hide()
            self.hits_label.setText("")
        for view in w.detail.findChildren(QTextEdit):
            mark_hits(view, needle)
        for view in w.detail.findChildren(OutputView):   # trees, labels, captions: each view marks its own
            view.show_search(needle)


def mark_hits(view: QTextEdit, needle: str) -> int:
    """Highlight every occurrence of `needle` (case-insensitive) in the view's plain text with
    extra selections; returns how many. The document is never re-rendered or parsed as HTML."""
    fmt = QTextCharFormat()
    fmt.setBackground(QColor(HIT_BACKGROUND))
    fmt.setForeground(QColor(HIT_FOREGROUND))
    fmt.setFontUnderline(True)
    fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.DotLine)
    selections = []
    if needle:
        doc: QTextDocument = view.document()
        cursor = QTextCursor(doc)
        while True:
            cursor = doc.find(needle, cursor)
            if cursor.isNull():
                break
            sel = QTextEdit.ExtraSelection()
            sel.cursor = cursor
            sel.format = fmt
            selections.append(sel)
            if len(selections) >= 500:
                break
    view.setExtraSelections(selections)
    return len(selections)


def fit_into(widget: QWidget, free: QRect) -> bool:
    """Shrink `widget` (a top-level window) to `free` (never below its minimum size hint) and move
    it inside; True when it had to change."""
    frame = widget.frameGeometry().size() - widget.geometry().size()
    hint = widget.minimumSizeHint()
    width = max(min(widget.width(), free.width() - frame.width()), min(hint.width(), widget.width()))
    height = max(min(widget.height(), free.height() - frame.height()), min(hint.height(), widget.height()))
    changed = (width, height) != (widget.width(), widget.height())
    if changed:
        widget.resize(width, height)
    geometry = widget.frameGeometry()
    if not free.contains(geometry):
        x = max(free.left(), min(geometry.left(), free.right() + 1 - geometry.width()))
        y = max(free.top(), min(geometry.top(), free.bottom() + 1 - geometry.height()))
        QWidget.move(widget, x, y)
        changed = True
    return changed


class DialogFit(QObject):
    """Every dialog, when shown, fits the screen it is on (Settings, Browse MLflow, New review…
    open larger than 960×540, the free area at 200 % on 1920×1080). Installed once on the
    application; not under the offscreen platform (its made-up 800×600 screen)."""

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Show and isinstance(obj, QDialog) and obj.isWindow():
            screen = obj.screen() or QGuiApplication.primaryScreen()
            if screen is not None:
                fit_into(obj, screen.availableGeometry())
        return False


def install_fit(window) -> WindowFit:
    window.fit = WindowFit(window)
    app = QApplication.instance()
    if app is not None and QGuiApplication.platformName() != "offscreen" and not hasattr(app, "_signoff_dialog_fit"):
        app._signoff_dialog_fit = DialogFit(app)
        app.installEventFilter(app._signoff_dialog_fit)
    return window.fit
