"""ReviewPort: what the UI may call on the review service, and nothing else.

`ReviewService` (app/service/review.py) is the production implementation;
`FakeReviewService` (tests/doubles.py) the in-memory one the UI tests use.
tests/contract runs one suite against both, so they cannot drift; UI code
calls these methods directly and never asks which implementation it has
(no inspect/hasattr on the service).

Read models are the core's frozen records: RequestRecord (app/store/records.py),
Label, Decision (app/core/model.py), Coverage, PolicyVerdict (app/core/policy.py),
PolicyChange (app/core/policy_change.py); tables are pandas frames with the
columns of signoff.service.review.LABEL_COLUMNS and the comparison's table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pandas as pd

    from signoff.core.config import ProjectConfig
    from signoff.core.model import Decision, DecisionKind, Label, Verdict
    from signoff.core.policy import Coverage, PolicyVerdict
    from signoff.core.policy_change import PolicyChange
    from signoff.store.records import RequestRecord


@runtime_checkable
class ReviewPort(Protocol):
    user: str
    """The reviewer the service acts as (lower-case e-mail)."""

    # -- requests (the inbox) --
    def list_requests(self) -> list[RequestRecord]: ...
    def get_request(self, request_id: int) -> RequestRecord: ...
    def resolve_request(self, ref: str) -> RequestRecord: ...
    def config(self, request_id: int) -> ProjectConfig: ...
    def summary(self, request_id: int) -> dict: ...

    # -- the comparison and labels (the workbench) --
    def comparison(self, request_id: int, eval_set: str) -> pd.DataFrame: ...
    def comparison_view(self, request_id: int, eval_set: str) -> Any:
        """What the window opens: the whole table, or a PagedComparison (resident columns + row groups
        read as needed, app/store/comparison_files.py) for one too big to hold whole."""
    def set_label(self, request_id: int, eval_set: str, sample_id: str, *, verdict: Verdict | None = ...,
                  correct: bool | None = ..., error: str | None = ..., comment: str | None = ...,
                  refresh: bool = True) -> Label:
        """Saved at once as `user`; refresh=False leaves the status to a later refresh_status (the window's)."""
    def labels_frame(self, request_id: int, *, user: str | None = None) -> pd.DataFrame: ...

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
