"""The status bar's permanent line: who you are (and your roles on the open request), the
store, and the outbox (posting in the background, app/ui/outbox_drain.py). It follows
ReviewOps.reviewChanged: a status refreshed or a decision recorded goes out at once."""

from __future__ import annotations

from PySide6.QtCore import QObject

from signoff.ui.diff_view import plain_label, plain_tooltip
from signoff.ui.outbox_drain import BackgroundDrain


class StatusLine(QObject):
    def __init__(self, window, service):
        super().__init__(window)
        self.w = window
        self.service = service
        self.status_label = plain_label("")
        # Posting what waits in the outbox in the background needs the real store's outbox.
        store = getattr(service, "store", None)
        self.outbox_drain = BackgroundDrain(store, window) if hasattr(store, "claim_outbox") else None
        if self.outbox_drain is not None:
            self.outbox_drain.changed.connect(lambda _state: self.update())

    def start(self) -> None:
        if self.outbox_drain is not None:
            self.outbox_drain.drain_now()
        self.update()

    def review_changed(self, _request_id: int) -> None:
        if self.outbox_drain is not None:
            self.outbox_drain.drain_now()     # the new status goes out at once, off the GUI thread
        self.update()

    def update(self) -> None:
        parts = []
        user = self.service.user or "(unknown user)"
        roles: list[str] = []
        request = self.w.request
        if request is not None:
            try:
                roles = list(self.service.my_roles(request.id))
            except Exception:
                roles = []
        parts.append(f"you: {user}" + (f" ({', '.join(roles)})" if roles else ""))
        store = getattr(self.service, "store", None)
        try:
            if store is not None and hasattr(store, "describe"):
                parts.append(f"store: {store.describe()}")
        except Exception:
            pass
        tooltip = ""
        try:
            drain = self.outbox_drain
            if drain is not None and drain.state is not None:
                parts.append(f"outbox: {drain.state.summary}")
                tooltip = "\n".join(drain.state.problems)
            elif store is not None and hasattr(store, "outbox_items"):
                n = len(store.outbox_items(states=("waiting",)))
                parts.append(f"outbox {n} waiting")
        except Exception:
            pass
        self.status_label.setText(" · ".join(parts))
        self.status_label.setToolTip(plain_tooltip(tooltip) if tooltip else "")

    def shutdown(self, wait: float = 3.0) -> None:
        if self.outbox_drain is not None:
            self.outbox_drain.stop(wait)
