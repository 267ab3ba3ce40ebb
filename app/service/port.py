"""ReviewPort: what the UI may call on the review service, and nothing else.

`ReviewService` (app/service/review.py) is the production implementation;
`FakeReviewService` (tests/doubles.py) the in-memory one the UI tests use.
tests/contract runs one suite against both, so they cannot drift; UI code
calls these methods directly and never asks which implementation it has
(no inspect/hasattr on the service).

Read models are the core's frozen records: RequestRecord (app/store/records.py),
Label, Decision (app/core/model.py), Coverage, PolicyVerdict (app/core/policy.py),
PolicyChange (app/core/policy_change.py), Assignment, QueueItem (app/core/assignment.py),
AgreementFigure (app/core/agreement.py); the store's state (change counter, description,
outbox) is read through the port too, never through `service.store`; tables are pandas frames with the
columns of signoff.service.review.LABEL_COLUMNS and the comparison's table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pandas as pd

    from signoff.core.agreement import AgreementFigure
    from signoff.core.assignment import Assignment, QueueItem
    from signoff.core.config import ProjectConfig
    from signoff.core.model import Decision, DecisionKind, Label, Verdict
    from signoff.core.policy import Coverage, PolicyVerdict
    from signoff.core.policy_change import PolicyChange
    from signoff.core.tasks import TaskState
    from signoff.store.records import RequestRecord


@runtime_checkable
class ReviewPort(Protocol):
    user: str
    """The reviewer the service acts as (lower-case e-mail)."""

    def act_as(self, user: str) -> None:
        """Act as another reviewer from now on (Settings ▸ Identity): later calls are `user`'s."""

    # -- requests (the inbox) --
    def list_requests(self) -> list[RequestRecord]: ...
    def get_request(self, request_id: int) -> RequestRecord: ...
    def resolve_request(self, ref: str) -> RequestRecord: ...
    def config(self, request_id: int) -> ProjectConfig: ...
    def summary(self, request_id: int) -> dict: ...

    # -- the comparison and labels (the workbench) --
    def comparison(self, request_id: int, eval_set: str, *, task: TaskState | None = None) -> pd.DataFrame:
        """The per-sample table. `task` (signoff.core.tasks) makes the load cancellable: once
        `task.cancel()` is called the load stops at its next check and raises `Cancelled`
        (no table, nothing half-cached); progress goes to `task.report`."""
    def comparison_view(self, request_id: int, eval_set: str, *, task: TaskState | None = None) -> Any:
        """What the window opens: the whole table, or a PagedComparison (resident columns + row groups
        read as needed, app/store/comparison_files.py) for one too big to hold whole. `task` as above."""
    def set_label(self, request_id: int, eval_set: str, sample_id: str, *, verdict: Verdict | None = ...,
                  correct: bool | None = ..., error: str | None = ..., comment: str | None = ...,
                  refresh: bool = True) -> Label:
        """Saved at once as `user`; refresh=False leaves the status to a later refresh_status (the window's)."""
    def labels_frame(self, request_id: int, *, user: str | None = None) -> pd.DataFrame: ...
    def eval_set_progress(self, request_id: int, *, user: str | None = None) -> dict[str, tuple[int, int]]:
        """{eval set: (samples `user` (default: `self.user`) labeled, samples to review: every class
        but unchanged)}: from the ids and classes the service keeps for the policy, never a table
        read beyond them (the queue buttons' "7/79" after each open; a 10M-sample eval set)."""

    # -- the policy and decisions (verdict panel, approval dialog) --
    def my_roles(self, request_id: int) -> list[str]: ...
    def coverage(self, request_id: int) -> Coverage: ...
    def verdict(self, request_id: int, *, extra: Decision | None = None) -> PolicyVerdict: ...
    def refresh_status(self, request_id: int) -> PolicyVerdict: ...
    def policy_change(self, request_id: int) -> PolicyChange: ...
    def decisions(self, request_id: int) -> list[Decision]:
        """Every decision on the request's change (current and stale), oldest first: the inbox's "you decided"."""
    def decide(self, request_id: int, kind: DecisionKind | str, comment: str = "", *,
               role: str | None = None) -> PolicyVerdict: ...

    def publish(self) -> Any: ...

    # -- the store's state (status bar, live refresh) --
    def change_counter(self) -> tuple | None:
        """Moves on every write to the store, by any process (the window polls it off the GUI thread)."""
    def store_description(self) -> str: ...
    def outbox_waiting(self) -> int: ...
    def outbox_state(self) -> Any:
        """publishing.OutboxState: counts, the next retry and the forge's reasons."""
    def drain_outbox(self) -> Any:
        """Post what is due (off the GUI thread) and return the OutboxState after."""
    def requeue_failed(self, actor: str) -> None: ...
    def close(self) -> None:
        """Let go of the store (an abandoned start-up)."""

    # -- team review (issue 12) --
    def assignments(self, request_id: int) -> list[Assignment]:
        """The request's dealing, dealt and kept on first use."""
    def my_queue(self, request_id: int, eval_set: str | None = None, *,
                 user: str | None = None) -> list[QueueItem]: ...
    def queue_progress(self, request_id: int) -> dict:
        """{role: {"assigned", "done", "reviewers": {user: {"assigned", "done"}}}}."""
    def bounds_order(self, request_id: int) -> bool:
        """The policy bounds a regression rate: queues follow the bound's order, Next takes the first open item."""
    def next_to_review(self, request_id: int, eval_set: str, after: str | None = None) -> str | None: ...
    def reassign(self, request_id: int, from_user: str, to: list[str] | None = None) -> int: ...
    def agreement(self, request_id: int) -> list[AgreementFigure]: ...
    def disagreements(self, request_id: int, eval_set: str | None = None) -> list[dict]: ...
    def adjudicate(self, request_id: int, eval_set: str, sample_id: str, *, verdict=None, correct=None,
                   error=None, comment=None) -> Label: ...
    def changed_since_label(self, request_id: int, eval_set: str) -> dict[str, Label]:
        """{sample id: my label on the previous request of the change} for samples changed since (a retrain)."""
