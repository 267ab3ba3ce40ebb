"""A status post that failed for good (a bad token: 401) shows in the status
bar's outbox indicator; "Retry failed posts" beside it requeues the entry and
the background drain posts it, over the real store and the local sink."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QMenu

from signoff.plugin_api import DeliveryError
from signoff.registry import registry
from signoff.service.review import ReviewService
from signoff.store.store import Store
from signoff.plugins.local import LocalSink
from tests.plugin_doubles import InMemorySource

pytestmark = pytest.mark.gui


class RefusingLocalSink(LocalSink):
    """The local sink behind a token that is wrong until `fixed`."""

    fixed = False

    def post(self, update):
        if not RefusingLocalSink.fixed:
            raise DeliveryError("401 Bad credentials: check the token", retry=False)
        super().post(update)


@pytest.fixture
def refusing_sink(monkeypatch):
    RefusingLocalSink.fixed = False
    monkeypatch.setitem(registry().sinks, "local", RefusingLocalSink)
    return RefusingLocalSink


def test_retry_failed_posts_from_the_outbox_indicator(qtbot, make_window, refusing_sink):
    store = Store()  # SIGNOFF_HOME is a fresh temp dir (tests/conftest.py)
    try:
        req = ReviewService(store, user="ci@example.com").create_request(InMemorySource(), sha="c1")
        window = make_window(ReviewService(store, user="alice@example.com"))
        control = window.extras.outbox_retry
        # The window's first drain fails for good: the indicator says so, the button appears.
        # (the label may read the store's "1 failed" before the drain's own report reaches the button)
        qtbot.waitUntil(lambda: "1 failed" in window.status_label.text() and control.failed == 1, timeout=10000)
        assert "401 Bad credentials" in window.status_label.toolTip()
        assert control.button.isVisibleTo(window) and control.action.isEnabled()
        assert control.action.text() == "Retry 1 failed post(s)"
        assert [i.state for i in store.outbox_items(states=("failed",))] == ["failed"]
        assert store.local_statuses(req.sha) == []

        # The indicator's context menu offers the same action.
        window.status_label.customContextMenuRequested.emit(QPoint(2, 2))
        menu = window.status_label.findChild(QMenu)
        assert menu is not None and control.action in menu.actions()
        menu.close()

        refusing_sink.fixed = True           # the user fixed the token
        qtbot.mouseClick(control.button, Qt.LeftButton)
        qtbot.waitUntil(lambda: "outbox: all statuses posted" in window.status_label.text(), timeout=10000)
        assert [s["state"] for s in store.local_statuses(req.sha)] == ["pending"]
        assert store.outbox_items(states=("failed", "waiting")) == []
        assert not control.button.isVisibleTo(window)
        entry = [e for e in store.audit_entries() if e.action != "status.posted"][-1]   # posted: anchors
        assert (entry.action, entry.actor) == ("outbox.requeue", "alice@example.com")
        assert store.verify_audit().ok
    finally:
        store.close()


def test_no_retry_button_while_nothing_failed(window, qtbot):
    """Every service gets the same background drain (through the port); with nothing failed the
    Retry button stays hidden and the status bar says all went out."""
    qtbot.waitUntil(lambda: "outbox: all statuses posted" in window.status_label.text(), timeout=10000)
    control = window.extras.outbox_retry
    assert control is not None and not control.button.isVisibleTo(window)
