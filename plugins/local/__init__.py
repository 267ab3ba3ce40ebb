"""The local status sink: statuses recorded in the review store, for setups
with no forge. `signoff status` / `wait` read the policy itself, so this sink
is the record of what would have been posted."""

from __future__ import annotations

from signoff.plugin_api import DeliveryError, StatusSink, StatusUpdate


class LocalSink(StatusSink):
    NAME = "local"
    DESCRIPTION_LIMIT = 140

    def __init__(self, *, api_url: str = "", store=None, **_options):
        if store is None:
            raise DeliveryError("the local status sink needs the review store", retry=False)
        self.store = store

    def post(self, update: StatusUpdate) -> None:
        self.store.record_local_status(repo=update.repo, sha=update.sha, context=update.context, state=update.state,
                                       description=update.description[: self.DESCRIPTION_LIMIT], target_url=update.target_url)
