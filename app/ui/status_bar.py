"""The status bar's permanent line: who you are (and your roles on the open request), the
store, and the outbox (posting in the background, app/ui/outbox_drain.py). It follows
ReviewOps.reviewChanged: a status refreshed or a decision recorded goes out at once."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject

from signoff.ui.diff_view import plain_label, plain_tooltip
from signoff.ui.outbox_drain import BackgroundDrain

log = logging.getLogger(__name__)


class StatusLine(QObject):
    def __init__(self, window, service):
        super().__init__(window)
        self.w = window
        self.service = service
        self.status_label = plain_label("")
        self.outbox_drain = BackgroundDrain(service, window)
        self.outbox_drain.changed.connect(lambda _state: self.update())

    def start(self) -> None:
        self.outbox_drain.drain_now()
        self.update()

    def review_changed(self, _request_id: int) -> None:
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
        try:
            parts.append(f"store: {self.service.store_description()}")
        except Exception:
            log.debug("the store's description failed", exc_info=True)
        tooltip = ""
        try:
            # before the first drain has reported: the store's state as it is
            state = self.outbox_drain.state or self.service.outbox_state()
            parts.append(f"outbox: {state.summary}")
            tooltip = "\n".join(state.problems)
        except Exception:
            log.debug("the outbox state failed", exc_info=True)
        self.status_label.setText(" · ".join(parts))
        self.status_label.setToolTip(plain_tooltip(tooltip) if tooltip else "")

    def shutdown(self, wait: float = 3.0) -> None:
        self.outbox_drain.stop(wait)
