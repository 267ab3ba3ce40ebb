"""What charts and the report are made of, gathered through the ReviewService
contract (the real service or a test double), off the GUI thread.

`collect` reads each eval set's comparison table once, every reviewer's
labels and the live policy verdict; the rest of app/report works on the
returned ReviewData only, so building figures never touches the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import pandas as pd

from signoff.core.compare import summarise, table_slice_columns
from signoff.core.config import ProjectConfig
from signoff.core.errors import SignoffError
from signoff.core.policy import PolicyVerdict
from signoff.core.tasks import NULL_TASK, TaskState
from signoff.store.records import RequestRecord

LABEL_COLUMNS = ["eval_set", "sample_id", "user", "verdict", "correct", "error", "comment", "updated_at"]


@dataclass
class EvalSetData:
    name: str
    output_type: str
    higher_is_better: bool
    slices: list[str]
    table: pd.DataFrame           # the comparison table (signoff.core.compare), worst first
    summary: dict                 # signoff.core.compare.summarise of the table


@dataclass
class ReviewData:
    request: RequestRecord
    config: ProjectConfig | None
    verdict: PolicyVerdict | None
    eval_sets: list[EvalSetData]
    labels: pd.DataFrame          # every reviewer's labels: LABEL_COLUMNS
    user: str = ""
    collected_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    problems: list[str] = field(default_factory=list)
    agreement: list = field(default_factory=list)   # signoff.core.agreement.AgreementFigure per eval set and kind
    # a periodic inspection: {"subject", "points"} (InspectionService.trend of its subject), else None
    inspection: dict | None = None

    def eval_set(self, name: str) -> EvalSetData | None:
        return next((e for e in self.eval_sets if e.name == name), None)


def slice_columns(table: pd.DataFrame) -> list[str]:
    return table_slice_columns(table)


def collect(service, request_id: int, *, task: TaskState | None = None, eval_sets: list[str] | None = None,
            keep_bytes: bool = False) -> ReviewData:
    """Everything the charts and the report need for one request.

    keep_bytes: keep image bytes columns (the report shows regressions' images);
    the charts never need them, so they are dropped by default to save memory.
    """
    task = task or NULL_TASK
    request = service.get_request(int(request_id))
    problems: list[str] = []
    try:
        config = service.config(request.id)
    except SignoffError as exc:
        config, problems = None, [f"signoff.toml: {exc}"]
    names = [n for n in request.eval_sets if eval_sets is None or n in eval_sets]
    sets: list[EvalSetData] = []
    for i, name in enumerate(names):
        task.report(f"reading the comparison of {name}", i / max(1, len(names) + 1))
        table = service.comparison(request.id, name)
        if not keep_bytes:
            table = table.drop(columns=[c for c in table.columns if c.endswith("_bytes")])
        spec = None
        if config is not None:
            try:
                spec = config.eval_set(name)
            except SignoffError:
                spec = None
        slices = [c for c in (spec.slices if spec and spec.slices else slice_columns(table)) if c in table.columns]
        task.check()
        sets.append(EvalSetData(name=name, output_type=spec.output_type if spec else "text",
                                higher_is_better=spec.higher_is_better if spec else True,
                                slices=slices, table=table, summary=summarise(table, slices, name)))
    task.report("reading labels and decisions", len(names) / max(1, len(names) + 1))
    labels = service.labels_frame(request.id)
    if labels is None or not len(labels.columns):
        labels = pd.DataFrame(columns=LABEL_COLUMNS)
    labels = labels.copy()
    labels["sample_id"] = labels["sample_id"].astype(str)
    try:
        verdict = service.verdict(request.id)
    except SignoffError as exc:
        verdict = None
        problems.append(f"policy: {exc}")
    figures = []
    try:   # alpha, kappa, AC1 per eval set (ReviewService.agreement)
        figures = list(service.agreement(request.id))
    except SignoffError as exc:
        problems.append(f"agreement: {exc}")
    inspection = None
    if getattr(request, "kind", "review") == "inspection":
        task.report("reading earlier inspections", None)
        try:
            inspection = service.inspection_trend(request.id)
        except SignoffError as exc:
            problems.append(f"inspection trend: {exc}")
    task.check()
    return ReviewData(request=request, config=config, verdict=verdict, eval_sets=sets, labels=labels,
                      user=getattr(service, "user", "") or "", problems=problems, agreement=figures,
                      inspection=inspection)
