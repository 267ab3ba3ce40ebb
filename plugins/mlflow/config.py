"""`[mlflow]` in signoff.toml: the MLflow source's own section (docs/mlflow.md), registered with
the config schema by the plugin (MlflowSource.CONFIG_SECTIONS; also on import, so that code using
the source directly parses it too). `mlflow_config(config)` reads it back (defaults when absent);
`[mlflow.columns]` gives the MLflow eval sets (table / traces) the columns they leave out.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Annotated

import msgspec

from signoff.core.config import COLUMN_ROLES, EvalSetKey, EvalSetSpec, ProjectConfig, register_eval_set_keys, \
    register_section

SECTION = "mlflow"

# The MLflow source's own [[eval_sets]] keys (MlflowSource.EVAL_SET_KEYS): the predictions are a table
# logged in each model's run (`table`) or the run's genai evaluation traces (`traces`); `dataset`
# names the run's dataset input to take the samples from. Such sets need no samples/predictions paths.
EVAL_SET_KEYS = (
    EvalSetKey("table", str, "MLflow: the table logged in each run, e.g. \"predictions/digits.json\".", paths=True,
               owner="MLflow"),
    EvalSetKey("traces", bool, "MLflow: read the run's genai evaluation traces.", paths=True, excludes=("table",),
               owner="MLflow"),
    EvalSetKey("dataset", str, "MLflow: the run's dataset input to take the samples from.", owner="MLflow"),
)


def table(spec: EvalSetSpec) -> str:
    return str(spec.key("table", "") or "")


def traces(spec: EvalSetSpec) -> bool:
    return bool(spec.key("traces", False))


def dataset(spec: EvalSetSpec) -> str:
    return str(spec.key("dataset", "") or "")


def reads_mlflow(spec: EvalSetSpec) -> bool:
    """An eval set the MLflow source reads from its runs (a logged table or traces)."""
    return bool(table(spec) or traces(spec))


def mlflow_spec(name: str, *, table: str = "", traces: bool = False, dataset: str = "", **fields) -> EvalSetSpec:
    """An EvalSetSpec with the MLflow keys given (as parsing a signoff.toml makes it)."""
    extra = tuple(sorted((k, v) for k, v in (("table", table), ("traces", traces), ("dataset", dataset)) if v))
    return EvalSetSpec(name=name, extra=extra, **fields)


@dataclass(frozen=True)
class MlflowConfig:
    """`[mlflow]`: where the models live and what Signoff writes back (docs/mlflow.md)."""

    tracking_uri: str = ""
    model: str = ""                       # registered model name
    candidate: str = ""                   # default candidate ref, e.g. "models:/NAME@challenger"
    baseline: str = ""                    # default baseline ref, e.g. "models:/NAME@champion"
    experiments: tuple[str, ...] = ()     # where `request --sha` looks for the run (names or ids; empty: all)
    tags_on_decision: bool = True         # signoff.status / signoff.request / signoff.decided_by tags
    alias_on_approval: str = ""           # alias moved to the candidate when the request is approved
    assessments: bool = True              # labels on genai traces posted back as HUMAN assessments
    assessment_name: str = "signoff_review"
    columns: dict[str, str] = field(default_factory=dict)   # default column mapping for MLflow tables


def _doc(text: str, **extra) -> msgspec.Meta:
    return msgspec.Meta(description=text, **extra)


class MlflowColumnsToml(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """[mlflow.columns]: the default column mapping of MLflow eval sets."""

    id: str = ""
    input: str = ""
    reference: str = ""
    output: str = ""
    score: str = ""


class MlflowToml(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """[mlflow]: where the models live and what Signoff writes back (docs/mlflow.md)."""

    tracking_uri: Annotated[str, _doc("The tracking server (else MLFLOW_TRACKING_URI).")] = ""
    model: Annotated[str, _doc("The registered model name.")] = ""
    candidate: Annotated[str, _doc("Default candidate ref, e.g. \"models:/NAME@challenger\".")] = ""
    baseline: Annotated[str, _doc("Default baseline ref, e.g. \"models:/NAME@champion\".")] = ""
    experiments: Annotated[list[str], _doc("Where `request --sha` looks for the run (names or ids).")] = []
    tags_on_decision: Annotated[bool, _doc("Tag the model version with the status and decisions.")] = True
    alias_on_approval: Annotated[str, _doc("Alias moved to the candidate when the request is approved.")] = ""
    assessments: Annotated[bool, _doc("Post labels on genai traces back as HUMAN assessments.")] = True
    assessment_name: Annotated[str, _doc("Name of those assessments.", min_length=1)] = "signoff_review"
    columns: MlflowColumnsToml = MlflowColumnsToml()


def build(raw: MlflowToml | None) -> MlflowConfig:
    if raw is None:
        return MlflowConfig()
    return MlflowConfig(
        tracking_uri=raw.tracking_uri.strip(), model=raw.model.strip(), candidate=raw.candidate.strip(),
        baseline=raw.baseline.strip(), experiments=tuple(raw.experiments),
        tags_on_decision=raw.tags_on_decision, alias_on_approval=raw.alias_on_approval.strip(),
        assessments=raw.assessments, assessment_name=raw.assessment_name.strip(),
        columns={c: v for c in COLUMN_ROLES if (v := getattr(raw.columns, c))})


def refine(config: ProjectConfig, data: dict) -> ProjectConfig:
    """[mlflow.columns]: the default mapping of the MLflow eval sets (table / traces), for each
    column a set does not write itself."""
    defaults = mlflow_config(config).columns
    if not defaults:
        return config
    sets = []
    for i, spec in enumerate(config.eval_sets):
        written = set((data.get("eval_sets") or [{}] * (i + 1))[i].get("columns", {}) or {})
        if reads_mlflow(spec):
            spec = replace(spec, **{f"{c}_column": v for c, v in defaults.items() if c not in written})
        sets.append(spec)
    return replace(config, eval_sets=tuple(sets))


def mlflow_config(config: ProjectConfig | None) -> MlflowConfig:
    """The file's [mlflow] (its defaults when the file has none)."""
    value = config.section(SECTION) if config is not None else None
    return value if isinstance(value, MlflowConfig) else MlflowConfig()


CONFIG_SECTIONS = {SECTION: (MlflowToml, build, refine)}
register_section(SECTION, MlflowToml, build, refine)
register_eval_set_keys(*EVAL_SET_KEYS)
