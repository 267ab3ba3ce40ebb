"""`signoff.toml`: the policy and the eval sets, kept in the model's repo.

Parsed into plain frozen dataclasses; every problem is a ConfigError that
names the key, so a reviewer of the file knows what to fix.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field

from .errors import ConfigError

OUTPUT_TYPES = ("text", "json", "label", "image", "number")
SINKS = ("local", "github", "gitlab", "gitea")


@dataclass(frozen=True)
class EvalSetSpec:
    name: str
    samples: str = ""
    predictions: str = ""
    output_type: str = "text"
    id_column: str = "id"
    input_column: str = "input"
    reference_column: str = "reference"
    output_column: str = "output"
    score_column: str = "score"
    # Slice fields of the samples; empty means "every extra column of the samples".
    slices: tuple[str, ...] = ()
    # Scores: True when a higher score is better (the default).
    higher_is_better: bool = True
    # MLflow source (docs/mlflow.md): the predictions are a table logged in each
    # model's run (`table`, e.g. "predictions/digits.json") or the run's genai
    # evaluation traces (`traces`); `dataset` names the run's dataset input to
    # take the samples from. Such sets need no `samples`/`predictions` paths.
    table: str = ""
    traces: bool = False
    dataset: str = ""
    # A score that is NaN or infinite: "error" (the default) refuses the file;
    # "as-missing" gives the sample no score and counts such scores in the summary.
    non_finite_scores: str = "error"

    @property
    def from_mlflow(self) -> bool:
        return bool(self.table or self.traces)


@dataclass(frozen=True)
class PolicyConfig:
    required: dict[str, int] = field(default_factory=dict)
    min_changed_reviewed: float = 0.0
    all_regressions_reviewed: bool = False
    no_self_approval: bool = True
    # Who may approve a candidate's change to signoff.toml (the policy's CODEOWNERS).
    owners: tuple[str, ...] = ()
    # A release with no human review must be written out: required = {} and allow_unreviewed = true.
    allow_unreviewed: bool = False


@dataclass(frozen=True)
class SignersConfig:
    """`[signers]`: the keys that prove who a reviewer is (docs/trust.md).

    keys: reviewer -> key specs, each an OpenSSH public key line ("ssh-ed25519 AAAA… comment"),
    "github:LOGIN" or "gitlab:LOGIN" (the signing keys the forge publishes for that user).
    allowed_signers: a file in git's allowed-signers format, read at the policy's (base) revision.
    """

    keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    allowed_signers: str = ""


@dataclass(frozen=True)
class StatusConfig:
    sink: str = "local"
    repo: str = ""
    context: str = "signoff/review"
    api_url: str = ""
    target_url: str = ""


MLFLOW_COLUMNS = ("id", "input", "reference", "output", "score")


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


@dataclass(frozen=True)
class ProjectConfig:
    eval_sets: tuple[EvalSetSpec, ...]
    policy: PolicyConfig
    roles: dict[str, tuple[str, ...]]
    error_categories: tuple[str, ...]
    status: StatusConfig
    name: str = ""
    mlflow: MlflowConfig = field(default_factory=MlflowConfig)
    signers: SignersConfig = field(default_factory=SignersConfig)

    def eval_set(self, name: str) -> EvalSetSpec:
        for spec in self.eval_sets:
            if spec.name == name:
                return spec
        known = ", ".join(s.name for s in self.eval_sets)
        raise ConfigError(f"no eval set named {name!r} in signoff.toml (known: {known})")

    def roles_of(self, user: str) -> list[str]:
        """The roles `user` holds, compared case-insensitively (emails)."""
        u = user.strip().lower()
        return [role for role, people in self.roles.items() if u in {p.lower() for p in people}]


DEFAULT_ERRORS = ("wrong label", "hallucination", "formatting", "unsafe", "other")


def parse_config(text: str, where: str = "signoff.toml") -> ProjectConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None
    return config_from_dict(data, where)


def _expect(value, kind, key: str, where: str):
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        want = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ConfigError(f"{where}: {key} must be {want}, got {value!r}")
    return value


def config_from_dict(data: dict, where: str = "signoff.toml") -> ProjectConfig:
    sets_raw = data.get("eval_sets", [])
    _expect(sets_raw, list, "[[eval_sets]]", where)
    if not sets_raw:
        raise ConfigError(f"{where}: no [[eval_sets]] defined; add at least one with name, samples, predictions")
    mlflow = _mlflow_config(data.get("mlflow", {}), where)
    sets: list[EvalSetSpec] = []
    names: set[str] = set()
    known_keys = set(EvalSetSpec.__dataclass_fields__) | {"type", "columns"}
    for i, raw in enumerate(sets_raw):
        key = f"eval_sets[{i}]"
        _expect(raw, dict, key, where)
        table = _expect(raw.get("table", ""), str, f"{key}.table", where)
        traces = _expect(raw.get("traces", False), bool, f"{key}.traces", where)
        dataset = _expect(raw.get("dataset", ""), str, f"{key}.dataset", where)
        if table and traces:
            raise ConfigError(f"{where}: {key} gives both 'table' and 'traces'; an eval set reads one of them")
        # An MLflow set (table/traces) reads its files from the runs: samples/predictions are optional there.
        required = ("name",) if (table or traces) else ("name", "samples", "predictions")
        for k in required:
            if k not in raw:
                hint = " (or 'table' / 'traces' for an MLflow source)" if k != "name" else ""
                raise ConfigError(f"{where}: {key} is missing '{k}'{hint}")
        for k in ("name", "samples", "predictions"):
            if k in raw:
                _expect(raw[k], str, f"{key}.{k}", where)
        unknown = set(raw) - known_keys
        if unknown:
            raise ConfigError(f"{where}: {key} has unknown keys: {', '.join(sorted(unknown))}")
        if raw["name"] in names:
            raise ConfigError(f"{where}: eval set name {raw['name']!r} is used twice")
        names.add(raw["name"])
        output_type = raw.get("type", raw.get("output_type", "text"))
        if output_type not in OUTPUT_TYPES:
            raise ConfigError(f"{where}: {key}.type must be one of {', '.join(OUTPUT_TYPES)}, got {output_type!r}")
        columns = raw.get("columns", {})
        _expect(columns, dict, f"{key}.columns", where)
        kwargs = {}
        for col in ("id", "input", "reference", "output", "score"):
            name = columns.get(col, raw.get(f"{col}_column"))
            if name is None and (table or traces):  # [mlflow.columns]: the default mapping for MLflow sets
                name = mlflow.columns.get(col)
            if name is not None:
                kwargs[f"{col}_column"] = _expect(name, str, f"{key}.columns.{col}", where)
        slices = raw.get("slices", [])
        _expect(slices, list, f"{key}.slices", where)
        sets.append(
            EvalSetSpec(
                name=raw["name"],
                samples=raw.get("samples", ""),
                predictions=raw.get("predictions", ""),
                output_type=output_type,
                slices=tuple(str(s) for s in slices),
                higher_is_better=bool(_expect(raw.get("higher_is_better", True), bool, f"{key}.higher_is_better", where)),
                table=table,
                traces=traces,
                dataset=dataset,
                non_finite_scores=_non_finite(raw, key, where),
                **kwargs,
            )
        )

    pol = data.get("policy", {})
    _expect(pol, dict, "[policy]", where)
    required = pol.get("required", {})
    _expect(required, dict, "policy.required", where)
    for role, n in required.items():
        _expect(n, int, f"policy.required.{role}", where)
        if n < 0:
            raise ConfigError(f"{where}: policy.required.{role} must be >= 0")
    share = pol.get("min_changed_reviewed", 0.0)
    _expect(share, (int, float), "policy.min_changed_reviewed", where)
    if not 0 <= share <= 1:
        raise ConfigError(f"{where}: policy.min_changed_reviewed is a share between 0 and 1, got {share}")
    policy = PolicyConfig(
        required={str(r): int(n) for r, n in required.items()},
        min_changed_reviewed=float(share),
        all_regressions_reviewed=_expect(pol.get("all_regressions_reviewed", False), bool, "policy.all_regressions_reviewed", where),
        no_self_approval=_expect(pol.get("no_self_approval", True), bool, "policy.no_self_approval", where),
        owners=tuple(_expect(p, str, "policy.owners[]", where) for p in _expect(pol.get("owners", []), list, "policy.owners", where)),
        allow_unreviewed=_expect(pol.get("allow_unreviewed", False), bool, "policy.allow_unreviewed", where),
    )

    roles_raw = data.get("roles", {})
    _expect(roles_raw, dict, "[roles]", where)
    roles: dict[str, tuple[str, ...]] = {}
    for role, people in roles_raw.items():
        _expect(people, list, f"roles.{role}", where)
        roles[str(role)] = tuple(_expect(p, str, f"roles.{role}[]", where) for p in people)
    for role in policy.required:
        if policy.required[role] > 0 and role not in roles:
            raise ConfigError(f"{where}: policy.required names role {role!r}, but [roles] does not list its people")

    labels = data.get("labels", {})
    _expect(labels, dict, "[labels]", where)
    errors = labels.get("errors", list(DEFAULT_ERRORS))
    _expect(errors, list, "labels.errors", where)

    st = data.get("status", {})
    _expect(st, dict, "[status]", where)
    sink = st.get("sink", "local")
    if sink not in SINKS:
        raise ConfigError(f"{where}: status.sink must be one of {', '.join(SINKS)}, got {sink!r}")
    status = StatusConfig(
        sink=sink,
        repo=str(st.get("repo", "")),
        context=str(st.get("context", "signoff/review")),
        api_url=str(st.get("api_url", "")),
        target_url=str(st.get("target_url", "")),
    )
    sg = _expect(data.get("signers", {}), dict, "[signers]", where)
    sg_keys = _expect(sg.get("keys", {}), dict, "signers.keys", where)
    signers = SignersConfig(
        keys={str(u): tuple(_expect(k, str, f"signers.keys.{u}[]", where) for k in _expect(v, list, f"signers.keys.{u}", where))
              for u, v in sg_keys.items()},
        allowed_signers=_expect(sg.get("allowed_signers", ""), str, "signers.allowed_signers", where),
    )
    project = data.get("project", {})
    return ProjectConfig(
        signers=signers,
        eval_sets=tuple(sets),
        policy=policy,
        roles=roles,
        error_categories=tuple(str(e) for e in errors),
        status=status,
        name=str(project.get("name", "")) if isinstance(project, dict) else "",
        mlflow=mlflow,
    )


def _mlflow_config(raw, where: str) -> MlflowConfig:
    """`[mlflow]`; every key optional (the CLI and the environment can give them too)."""
    _expect(raw, dict, "[mlflow]", where)
    known = set(MlflowConfig.__dataclass_fields__)
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"{where}: [mlflow] has unknown keys: {', '.join(sorted(unknown))} "
                          f"(known: {', '.join(sorted(known))})")
    kwargs: dict = {}
    for k in ("tracking_uri", "model", "candidate", "baseline", "alias_on_approval", "assessment_name"):
        if k in raw:
            kwargs[k] = _expect(raw[k], str, f"mlflow.{k}", where).strip()
    for k in ("tags_on_decision", "assessments"):
        if k in raw:
            kwargs[k] = _expect(raw[k], bool, f"mlflow.{k}", where)
    if "experiments" in raw:
        exps = _expect(raw["experiments"], list, "mlflow.experiments", where)
        kwargs["experiments"] = tuple(_expect(e, str, "mlflow.experiments[]", where) for e in exps)
    columns = _expect(raw.get("columns", {}), dict, "mlflow.columns", where)
    bad = set(columns) - set(MLFLOW_COLUMNS)
    if bad:
        raise ConfigError(f"{where}: mlflow.columns has unknown keys: {', '.join(sorted(bad))} "
                          f"(known: {', '.join(MLFLOW_COLUMNS)})")
    kwargs["columns"] = {k: _expect(v, str, f"mlflow.columns.{k}", where) for k, v in columns.items()}
    if kwargs.get("assessment_name", "x") == "":
        raise ConfigError(f"{where}: mlflow.assessment_name must not be empty")
    return MlflowConfig(**kwargs)


def _non_finite(raw: dict, key: str, where: str) -> str:
    value = raw.get("non_finite_scores", "error")
    if value not in NON_FINITE_SCORES:
        raise ConfigError(f"{where}: {key}.non_finite_scores must be one of "
                          f"{', '.join(map(repr, NON_FINITE_SCORES))}, got {value!r}")
    return value


NON_FINITE_SCORES = ("error", "as-missing")
