"""`signoff.toml`: the policy and the eval sets, kept in the model's repo.

The file's shape is declared once, as msgspec Structs (the `*Toml` classes below):
they give the strict validation (every section and key known, every value of the
right type), the JSON Schema editors use (resources/schema/signoff.schema.json,
`json_schema()`), and the decoded values. The validation walks the same types
itself so that every error is ONE line naming the file, the physical line of the
key or section, and, for an unknown name, the closest valid one:

    signoff.toml line 7: unknown section [polciy]; did you mean [policy]?

Then the TOML is turned into the plain frozen dataclasses callers use
(ProjectConfig and friends). Fail closed: a missing [policy], a policy that needs
no human approval without `allow_unreviewed = true`, and a required role with no
members are errors.

Open to plugins: the output types (renderers), status sinks, extra sections (e.g. the
MLflow source's [mlflow], plugins/mlflow/config.py) and a source's own [[eval_sets]] keys
(e.g. MLflow's `table`, `traces`, `dataset`) are registered here (`register_output_types`,
`register_sinks`, `register_section`, `register_eval_set_keys`); app/registry.py calls them when it loads the plugins. The
built-in plugins' names are seeded so that core parses without the registry; a
name nobody registered yet makes parsing load the plugins once (`set_plugin_loader`,
which app/registry.py sets) before it is refused, so a third-party plugin's
output type, sink or section works in every process, fail closed for the rest.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from dataclasses import dataclass, field
from typing import Annotated, Any, Callable, Mapping

import msgspec
import msgspec.inspect as mi

from .errors import ConfigError

# The built-in plugins' names, seeded before the registry loads (and the schema's examples);
# plugins add theirs (register_output_types, register_sinks).
BUILTIN_OUTPUT_TYPES = ("text", "json", "label", "image", "number")
BUILTIN_SINKS = ("local", "github", "gitlab", "gitea")
DEFAULT_ERRORS = ("wrong label", "hallucination", "formatting", "unsafe", "other")
COLUMN_ROLES = ("id", "input", "reference", "output", "score")   # an eval set's column mapping
NON_FINITE_SCORES = ("error", "as-missing")   # eval_sets[].non_finite_scores


# -- the model callers use -----------------------------------------------------------------------

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
    # A NaN / ±Infinity / overflowing score: "error" (the default) or "as-missing" (the
    # sample gets no score, and the summary counts them; docs/configuration.md).
    non_finite_scores: str = "error"
    # The keys a source plugin adds to [[eval_sets]] (EvalSetKey; e.g. the MLflow source's `table`,
    # `traces`, `dataset`) this set gives: (name, value) pairs, sorted. Read them with `key`.
    extra: tuple[tuple[str, Any], ...] = ()

    def key(self, name: str, default: Any = None) -> Any:
        """The value of a source's own key `name` in this set, else `default`."""
        return next((v for k, v in self.extra if k == name), default)

    @property
    def type(self) -> str:
        """The output type as signoff.toml spells it (`type = "label"`)."""
        return self.output_type

    @property
    def columns(self) -> dict[str, str]:
        """The column mapping as signoff.toml spells it (`columns = { id = "uid" }`)."""
        return {c: getattr(self, f"{c}_column") for c in COLUMN_ROLES}


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
    # The regression-rate bound (docs/statistics.md): eval set name -> its bound; only the sets named.
    regression_bounds: dict[str, "RegressionBound"] = field(default_factory=dict)
    # Team review (docs/configuration.md): each sample to review is dealt to `overlap` reviewers of
    # each required role (None: not written, 1 is used); approval is blocked while the reviewers'
    # agreement is below `min_agreement` (None: no gate).
    overlap: int | None = None
    min_agreement: "AgreementRule | None" = None
    # Team review: also deal this share of each eval set's unchanged samples (a seeded sample, after
    # the changed ones), so someone looks at what the comparison calls the same (0: none).
    sample_unchanged: float = 0.0

    # The window hides the other reviewers' labels of a sample until I have labeled it.
    blind_until_labeled: bool = False

    @property
    def effective_overlap(self) -> int:
        return self.overlap or 1


ESTIMATORS = ("stratified", "ppi")


@dataclass(frozen=True)
class RegressionBound:
    """`[policy] max_regression_rate` / `[policy.bounds.NAME]`: the share of an eval set's samples
    where the candidate is worse than the baseline (by human verdict) must have its one-sided upper
    confidence bound at `confidence` at most `max_rate`, over the set and within each value of `slices`."""

    max_rate: float
    confidence: float = 0.95
    slices: tuple[str, ...] = ()
    estimator: str = "stratified"


AGREEMENT_METRICS = ("alpha", "kappa", "ac1")
LABEL_KINDS = ("verdict", "correct", "error")


@dataclass(frozen=True)
class AgreementRule:
    """`[policy] min_agreement = { metric = "alpha", value = 0.67 }`: the reviewers' agreement on
    each eval set (label kind `kind`, default the verdict) must reach `value`."""

    metric: str = "alpha"
    value: float = 0.67
    kind: str = "verdict"


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


@dataclass(frozen=True)
class ProjectConfig:
    eval_sets: tuple[EvalSetSpec, ...]
    policy: PolicyConfig
    roles: dict[str, tuple[str, ...]]
    error_categories: tuple[str, ...]
    status: StatusConfig
    name: str = ""
    signers: SignersConfig = field(default_factory=SignersConfig)
    # Sections registered by plugins (register_section): name -> the value its `build` made.
    sections: Mapping[str, Any] = field(default_factory=dict)

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

    def section(self, name: str) -> Any:
        """A plugin section's value (None when the file has no such section)."""
        return self.sections.get(name)


# -- the file's schema (msgspec) -----------------------------------------------------------------

def _doc(text: str, **extra) -> msgspec.Meta:
    return msgspec.Meta(description=text, **extra)


class _Table(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    pass


class ProjectToml(_Table):
    """[project]: about the model."""

    name: Annotated[str, _doc("Shown in the window's title and the report.")] = ""


class ColumnsToml(_Table):
    """Which column of the samples/predictions holds what."""

    id: Annotated[str, _doc("Sample id column (default \"id\").")] = "id"
    input: Annotated[str, _doc("Input column (default \"input\").")] = "input"
    reference: Annotated[str, _doc("Reference (expected output) column (default \"reference\").")] = "reference"
    output: Annotated[str, _doc("Model output column (default \"output\").")] = "output"
    score: Annotated[str, _doc("Per-sample score column (default \"score\").")] = "score"


class EvalSetTomlBase(_Table):
    """[[eval_sets]]: one set of samples both models were run on."""
    # The source plugins' own keys (EvalSetKey) are added to it by `_eval_set_type`.

    name: Annotated[str, _doc("Unique name of the eval set.", min_length=1)]
    samples: Annotated[str, _doc("Path of the samples file in the repository (.jsonl, .csv, .parquet).")] = ""
    predictions: Annotated[str, _doc("Path of the predictions file, read at each revision.")] = ""
    type: Annotated[str, _doc("Output type: text, json, label, image, number, or one a renderer plugin adds.",
                              examples=list(BUILTIN_OUTPUT_TYPES))] = "text"
    columns: Annotated[ColumnsToml, _doc("Column mapping; keys id, input, reference, output, score.")] = ColumnsToml()
    slices: Annotated[list[str], _doc("Slice fields of the samples (default: every extra column).")] = []
    higher_is_better: Annotated[bool, _doc("Scores: true when a higher score is better.")] = True
    non_finite_scores: Annotated[str, _doc("A NaN or infinite score: \"error\" (default) or \"as-missing\" "
                                           "(the sample gets no score).", examples=["error", "as-missing"])] = "error"


class BoundToml(_Table):
    """[policy.bounds.NAME]: the regression-rate bound of one eval set (docs/statistics.md)."""

    max_regression_rate: Annotated[float, _doc("Upper bound the share of regressions must stay under (0 to 1; "
                                               "0: none for this set). Default: [policy] max_regression_rate.",
                                               ge=0, le=1)] | None = None
    confidence: Annotated[float, _doc("Confidence of the bound. Default: [policy] confidence.",
                                      ge=0.5, le=0.9999)] | None = None
    slices: Annotated[list[str], _doc("Slice fields: the bound must also hold within each of their values.")] = []
    estimator: Annotated[str, _doc("\"stratified\" (default: exact, stratified by change class and slice) or "
                                   "\"ppi\" (prediction-powered: the scores' judgments rectified by the labels).",
                                   examples=list(ESTIMATORS))] = "stratified"

class MinAgreementToml(_Table, kw_only=True):
    """[policy] min_agreement: the agreement every eval set's doubly-labeled samples must reach."""

    metric: Annotated[str, _doc("alpha (Krippendorff), kappa (Cohen, two reviewers) or ac1 (Gwet).",
                                examples=list(AGREEMENT_METRICS))] = "alpha"
    value: Annotated[float, _doc("The lowest agreement that lets a request be approved.", ge=-1, le=1)]
    kind: Annotated[str, _doc("The label it is measured on: verdict, correct or error.",
                              examples=list(LABEL_KINDS))] = "verdict"


class PolicyToml(_Table):
    """[policy]: what must hold before a release may ship."""

    required: Annotated[dict[str, Annotated[int, msgspec.Meta(ge=0)]],
                        _doc("Approvals needed per role, e.g. { sme = 2, qa = 1 }. Empty or all zeros needs "
                             "allow_unreviewed = true.")] = {}
    min_changed_reviewed: Annotated[float, _doc("Share (0 to 1) of changed samples that must be labeled.",
                                                ge=0, le=1)] = 0.0
    all_regressions_reviewed: Annotated[bool, _doc("Every regressed sample must be labeled.")] = False
    no_self_approval: Annotated[bool, _doc("An author of the candidate may not approve it.")] = True
    owners: Annotated[list[str], _doc("Policy owners: their approval is needed when a candidate changes "
                                      "signoff.toml.")] = []
    allow_unreviewed: Annotated[bool, _doc("Must be true for a policy that requires no approvals.")] = False
    max_regression_rate: Annotated[float, _doc("Every eval set: the upper confidence bound of the share of samples "
                                               "where the candidate is worse than the baseline (by human verdict) "
                                               "must be at most this (0 to 1; 0: no bound). docs/statistics.md.",
                                               ge=0, le=1)] = 0.0
    confidence: Annotated[float, _doc("Confidence of the regression-rate bound (default 0.95).",
                                      ge=0.5, le=0.9999)] = 0.95
    bounds: Annotated[dict[str, BoundToml], _doc("Per eval set: [policy.bounds.NAME] with max_regression_rate, "
                                                   "confidence, slices, estimator.")] = {}
    overlap: Annotated[int, _doc("Team review: each sample to review is dealt to this many reviewers of each "
                                 "required role (default 1).", ge=1)] = 1
    sample_unchanged: Annotated[float, _doc("Team review: also deal this share (0 to 1) of each eval set's "
                                            "unchanged samples to the queues, a sample seeded by the request, "
                                            "after the regressions and the changed ones (default 0: none).",
                                            ge=0, le=1)] = 0.0
    min_agreement: Annotated[MinAgreementToml | None,
                             _doc("Approval waits while the reviewers' agreement on an eval set is below this, "
                                  "e.g. { metric = \"alpha\", value = 0.67 }.")] = None
    blind_until_labeled: Annotated[bool, _doc("The window shows the other reviewers' labels and comments on a "
                                              "sample only once I have labeled it.")] = False


class LabelsToml(_Table):
    """[labels]: what reviewers can say about a sample."""

    errors: Annotated[list[str], _doc("Error categories offered when labeling (default: "
                                      + ", ".join(DEFAULT_ERRORS) + ").")] = \
        msgspec.field(default_factory=lambda: list(DEFAULT_ERRORS))


class StatusToml(_Table):
    """[status]: where the commit status is posted."""

    sink: Annotated[str, _doc("Status sink: local, github, gitlab, gitea, or one a plugin adds.",
                              examples=list(BUILTIN_SINKS))] = "local"
    repo: Annotated[str, _doc("The forge's repository, e.g. \"acme/model\".")] = ""
    context: Annotated[str, _doc("The status context (check name).")] = "signoff/review"
    api_url: Annotated[str, _doc("The forge's API URL (self-hosted forges).")] = ""
    target_url: Annotated[str, _doc("Link shown with the status.")] = ""


class SignersToml(_Table):
    """[signers]: the keys that prove who a reviewer is."""

    allowed_signers: Annotated[str, _doc("A file in git's allowed-signers format, read at the base revision.")] = ""
    keys: Annotated[dict[str, list[str]], _doc("Reviewer -> OpenSSH public key lines, or \"github:LOGIN\" / "
                                               "\"gitlab:LOGIN\".")] = {}


# -- what plugins add ----------------------------------------------------------------------------

@dataclass(frozen=True)
class EvalSetKey:
    """A key a source plugin adds to [[eval_sets]] (`Source.EVAL_SET_KEYS`), e.g. the MLflow source's
    `table`. `type` is str, bool, int or float (its default: "", False, 0); `paths`: a set that gives it
    reads its data the source's own way and needs no `samples` / `predictions`; `excludes`: keys it
    cannot be given with; `owner`: whose key, in messages ("MLflow": "… for an MLflow source")."""

    name: str
    type: type = str
    doc: str = ""
    paths: bool = False
    excludes: tuple[str, ...] = ()
    owner: str = ""

    @property
    def default(self) -> Any:
        return self.type()

@dataclass(frozen=True)
class Section:
    """A top-level section a plugin adds: `type` is a msgspec Struct (declare it with
    forbid_unknown_fields=True), `build` turns the decoded Struct (or None when the file
    has no such section) into what `ProjectConfig.section(name)` returns, and `refine(config,
    data)` may adjust the parsed config from it (e.g. [mlflow.columns]: the MLflow eval sets'
    default columns; `data` is the file as a dict, to tell what a set writes itself)."""

    name: str
    type: type
    build: Callable[[Any], Any] | None = None
    refine: Callable[[Any, dict], Any] | None = None


_CORE_SECTIONS = ("project", "eval_sets", "policy", "roles", "labels", "status", "signers")
_output_types: list[str] = list(BUILTIN_OUTPUT_TYPES)
_sinks: list[str] = list(BUILTIN_SINKS)
_sections: dict[str, Section] = {}
_eval_set_keys: dict[str, EvalSetKey] = {}
_schema_cache: dict[str, Any] = {}   # "top": the whole file's Struct for the sections registered now; "info": its type_info


def register_output_types(*names: str) -> None:
    """Output types a renderer plugin shows: allowed as `[[eval_sets]] type`."""
    for n in names:
        if n and n not in _output_types:
            _output_types.append(n)


def register_sinks(*names: str) -> None:
    """Status sinks a plugin provides: allowed as `[status] sink`."""
    for n in names:
        if n and n not in _sinks:
            _sinks.append(n)


def register_eval_set_keys(*keys: EvalSetKey) -> None:
    """Keys a source plugin adds to [[eval_sets]] (see EvalSetKey). Registering one again replaces it."""
    core = set(EvalSetTomlBase.__struct_fields__)
    for key in keys:
        if not isinstance(key, EvalSetKey) or key.type not in (str, bool, int, float):
            raise TypeError(f"eval set key {getattr(key, 'name', key)!r}: an EvalSetKey of str, bool, int or float")
        if key.name in core or not key.name.isidentifier():
            raise ValueError(f"eval set key {key.name!r}: a core key or not a name")
        _eval_set_keys[key.name] = key
    _schema_cache.clear()


def register_section(name: str, struct: type, build: Callable[[Any], Any] | None = None,
                     refine: Callable[[Any, dict], Any] | None = None) -> None:
    """A top-level section a plugin reads (see Section). Registering it again replaces it."""
    if name in _CORE_SECTIONS:
        raise ValueError(f"[{name}] is a core section of signoff.toml")
    if not (isinstance(struct, type) and issubclass(struct, msgspec.Struct)):
        raise TypeError(f"section [{name}]: its type must be a msgspec.Struct")
    _sections[name] = Section(name, struct, build, refine)
    _schema_cache.clear()


_loader: dict[str, Any] = {"load": None, "done": False}


def set_plugin_loader(load: Callable[[], Any] | None) -> None:
    """`load()` registers the installed plugins' names and sections (app/registry.py sets it):
    parsing calls it once, when a file names an output type, sink or section not registered yet."""
    _loader["load"], _loader["done"] = load, False


def _knows_all(data: dict) -> bool:
    """Whether every section, output type and sink `data` names is registered."""
    if any(k not in _CORE_SECTIONS and k not in _sections for k in data):
        return False
    sets = data.get("eval_sets")
    if isinstance(sets, list) and any(isinstance(es, dict) and isinstance(es.get("type"), str)
                                      and es["type"] not in _output_types for es in sets):
        return False
    known = set(EvalSetTomlBase.__struct_fields__) | set(_eval_set_keys)
    if isinstance(sets, list) and any(isinstance(es, dict) and not set(es) <= known for es in sets):
        return False
    status = data.get("status")
    sink = status.get("sink") if isinstance(status, dict) else None
    return not isinstance(sink, str) or sink in _sinks


def _load_plugins_for(data: dict) -> None:
    if not _knows_all(data):
        _load_plugins_once()


def _load_plugins_once() -> None:
    if _loader["load"] is not None and not _loader["done"]:
        _loader["done"] = True
        _loader["load"]()


def reset_registered() -> None:
    """Back to the built-ins only: the registry calls it before it registers what it loaded, so a
    plugin that is gone (uninstalled, or a test's) is no longer accepted."""
    _output_types[:] = BUILTIN_OUTPUT_TYPES
    _sinks[:] = BUILTIN_SINKS
    _sections.clear()
    _eval_set_keys.clear()
    _schema_cache.clear()


def output_types(*, load: bool = False) -> tuple[str, ...]:
    """The output types allowed now; `load`: the installed plugins' too (loaded once if not yet)."""
    if load:
        _load_plugins_once()
    return tuple(_output_types)


def sinks() -> tuple[str, ...]:
    return tuple(_sinks)


def sections() -> dict[str, Section]:
    return dict(_sections)


def eval_set_keys() -> dict[str, EvalSetKey]:
    return dict(_eval_set_keys)


def _eval_set_type() -> type:
    """[[eval_sets]]'s Struct: the core keys plus the source plugins' (EvalSetKey)."""
    if "eval_set" not in _schema_cache:
        fields = [(k.name, Annotated[k.type, _doc(k.doc)] if k.doc else k.type, k.default)
                  for k in _eval_set_keys.values()]
        made = msgspec.defstruct("EvalSetToml", fields, bases=(EvalSetTomlBase,), module=__name__)
        made.__doc__ = EvalSetTomlBase.__doc__   # the schema's description
        _schema_cache["eval_set"] = made
    return _schema_cache["eval_set"]




def _top_type() -> type:
    """The whole file's Struct: the core sections plus the registered ones."""
    if "top" not in _schema_cache:
        fields = [
            ("project", Annotated[ProjectToml, _doc("About the model.")], ProjectToml()),
            ("eval_sets", Annotated[list[_eval_set_type()], _doc("The eval sets to compare; at least one.")]),
            ("policy", Annotated[PolicyToml, _doc("Who must approve and what must be reviewed. Required.")]),
            ("roles", Annotated[dict[str, list[str]], _doc("Role -> its members' e-mails.")], {}),
            ("labels", LabelsToml, LabelsToml()),
            ("status", StatusToml, StatusToml()),
            ("signers", SignersToml, SignersToml()),
        ]
        fields += [(_attr(s.name), s.type | None, None) for s in _sections.values()]
        # Required fields first (a Struct's rule); the walk below reports in document order anyway.
        fields.sort(key=lambda f: len(f) == 3)
        # A section's TOML name need not be a Python name ([acme-tool]): the field is renamed to it.
        rename = {_attr(n): n for n in _sections if _attr(n) != n}
        _schema_cache["top"] = msgspec.defstruct("SignoffToml", fields, bases=(_Table,), module=__name__,
                                                 rename=rename or None)
    return _schema_cache["top"]


def _attr(section: str) -> str:
    """The Struct attribute of a registered section: its name when that is a Python name."""
    if section.isidentifier() and not section.startswith("_"):
        return section
    return "section_" + "".join(c if c.isalnum() else f"_{ord(c):x}_" for c in section)


def json_schema() -> dict:
    """The JSON Schema of signoff.toml (draft 2020-12) for editors, from the same types, with the
    installed plugins' sections (loaded first, once)."""
    _load_plugins_once()
    schema = msgspec.json.schema(_top_type())
    top = schema["$defs"].pop("SignoffToml")
    top.pop("title", None)
    for name in _sections:   # `Struct | None` in code (None: not in the file); TOML has no null
        prop = top["properties"][name]
        top["properties"][name] = next(a for a in prop["anyOf"] if a.get("type") != "null")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": "https://signoff.dev/schema/signoff.schema.json",
            "title": "signoff.toml",
            "description": "Signoff's policy and eval sets (docs/configuration.md). Unknown sections and keys "
                           "are errors.",
            **top, "$defs": schema["$defs"]}


# -- parsing -------------------------------------------------------------------------------------

def parse_config(text: str, where: str = "signoff.toml") -> ProjectConfig:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\s*\(at line (\d+), column \d+\)$", msg)
        if m:
            raise ConfigError(f"{where} line {m.group(1)}: not valid TOML: {msg[:m.start()]}".replace("\n", " ")) from None
        raise ConfigError(f"{where}: not valid TOML: {msg}".replace("\n", " ")) from None
    except RecursionError:   # tomllib recurses into nested arrays and inline tables
        raise ConfigError(f"{where}: not valid for Signoff: arrays or tables nested too deeply") from None
    return _build(data, where, _Lines(text))


def config_from_dict(data: dict, where: str = "signoff.toml") -> ProjectConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a table of sections, got {_kind(data)}")
    return _build(data, where, None)


Path = tuple  # of str (keys) and int (array indices)


class _Problems:
    def __init__(self, where: str, lines: "_Lines | None"):
        self.where, self.lines, self.found = where, lines, []

    def add(self, path: Path, message: str) -> None:
        line = self.lines.find(path) if self.lines else None
        self.found.append((line is None, line or 0, len(self.found), message))

    def raise_first(self) -> None:
        """The first problem in the file (those with no line, e.g. a missing section, last)."""
        if self.found:
            _, line, _, message = min(self.found)
            raise ConfigError(f"{self.where} line {line}: {message}" if line else f"{self.where}: {message}")

    def fail(self, path: Path, message: str):
        self.found = []
        self.add(path, message)
        self.raise_first()


def _build(data: dict, where: str, lines: "_Lines | None") -> ProjectConfig:
    problems = _Problems(where, lines)
    _load_plugins_for(data)
    top = _top_type()
    if "info" not in _schema_cache:
        _schema_cache["info"] = mi.type_info(top)
    _walk(data, _schema_cache["info"], (), problems)
    problems.raise_first()
    try:
        raw = msgspec.convert(data, top)
    except msgspec.ValidationError as exc:  # the walk above should have said it more precisely
        raise ConfigError(f"{where}: {exc}") from None
    return _semantics(raw, data, problems)


def _semantics(raw, data: dict, p: _Problems) -> ProjectConfig:
    if not raw.eval_sets:
        p.fail(("eval_sets",), "no [[eval_sets]] defined; add at least one with name, samples, predictions")
    sets: list[EvalSetSpec] = []
    seen: set[str] = set()
    path_keys = [k for k in _eval_set_keys.values() if k.paths]   # a source's own way to read a set
    for i, es in enumerate(raw.eval_sets):
        at = ("eval_sets", i)
        given = {k.name: getattr(es, k.name) for k in _eval_set_keys.values() if getattr(es, k.name) != k.default}
        for name in given:
            for other in _eval_set_keys[name].excludes:
                if other in given:
                    p.add(at + (name,), f"eval_sets[{i}] gives both '{other}' and '{name}'; an eval set reads one of them")
        if not any(k.name in given for k in path_keys):
            owners = {}
            for k in path_keys:
                owners.setdefault(k.owner or "a plugin", []).append(f"'{k.name}'")
            alt = "; ".join(f"{' / '.join(names)} for an {o} source" for o, names in owners.items())
            for k in ("samples", "predictions"):
                if not getattr(es, k):
                    p.add(at, f"eval_sets[{i}] is missing '{k}'" + (f" (or {alt})" if alt else ""))
        if es.name in seen:
            p.add(at + ("name",), f"eval set name {es.name!r} is used twice")
        seen.add(es.name)
        if es.type not in _output_types:
            p.add(at + ("type",), f"eval_sets[{i}].type must be one of {', '.join(_output_types)}, got {es.type!r}"
                  + _suggest(es.type, _output_types, "{}"))
        if es.non_finite_scores not in NON_FINITE_SCORES:
            p.add(at + ("non_finite_scores",), f"eval_sets[{i}].non_finite_scores must be one of "
                  f"{', '.join(map(repr, NON_FINITE_SCORES))}, got {es.non_finite_scores!r}")
        cols = {f"{c}_column": getattr(es.columns, c) for c in COLUMN_ROLES}
        sets.append(EvalSetSpec(name=es.name, samples=es.samples, predictions=es.predictions, output_type=es.type,
                                slices=tuple(es.slices), higher_is_better=es.higher_is_better,
                                non_finite_scores=es.non_finite_scores, extra=tuple(sorted(given.items())),
                                **cols))

    pol = raw.policy
    roles = {r: tuple(people) for r, people in raw.roles.items()}
    for role, n in pol.required.items():
        if n <= 0:
            continue
        if role not in roles:
            p.add(("policy", "required", role), f"policy.required names role {role!r}, but [roles] does not list "
                  f"its people; add {_dotted((role,))} = [\"…\"] to [roles]" + _suggest(role, list(roles), "{}"))
        elif not roles[role]:
            p.add(("roles", role), f"{_dotted(('roles', role))} lists nobody, but policy.required needs {n} "
                  f"approval(s) by {role!r}; add its members")
    if not any(n > 0 for n in pol.required.values()) and not pol.allow_unreviewed:
        p.add(("policy", "required"), "policy.required asks for no approval; name the roles that must approve "
              "(e.g. required = { sme = 1 }), or write allow_unreviewed = true to ship without human review")
    bounds = _bounds(pol, sets, p)
    if pol.min_agreement is not None:
        rule = pol.min_agreement
        if rule.metric not in AGREEMENT_METRICS:
            p.add(("policy", "min_agreement", "metric"), f"policy.min_agreement.metric must be one of "
                  f"{', '.join(AGREEMENT_METRICS)}, got {rule.metric!r}" + _suggest(rule.metric, AGREEMENT_METRICS, "{}"))
        if rule.kind not in LABEL_KINDS:
            p.add(("policy", "min_agreement", "kind"), f"policy.min_agreement.kind must be one of "
                  f"{', '.join(LABEL_KINDS)}, got {rule.kind!r}" + _suggest(rule.kind, LABEL_KINDS, "{}"))
    if raw.status.sink not in _sinks:
        p.add(("status", "sink"), f"status.sink must be one of {', '.join(_sinks)}, got {raw.status.sink!r}"
              + _suggest(raw.status.sink, _sinks, "{}"))
    p.raise_first()

    extra = {name: (s.build or (lambda v: v))(getattr(raw, _attr(name), None)) for name, s in _sections.items()}
    config = ProjectConfig(
        eval_sets=tuple(sets),
        policy=PolicyConfig(required=dict(pol.required), min_changed_reviewed=float(pol.min_changed_reviewed),
                            all_regressions_reviewed=pol.all_regressions_reviewed,
                            no_self_approval=pol.no_self_approval, owners=tuple(pol.owners),
                            allow_unreviewed=pol.allow_unreviewed, regression_bounds=bounds,
                            overlap=pol.overlap if "overlap" in data.get("policy", {}) else None,
                            min_agreement=(AgreementRule(metric=pol.min_agreement.metric,
                                                         value=float(pol.min_agreement.value),
                                                         kind=pol.min_agreement.kind)
                                           if pol.min_agreement is not None else None),
                            sample_unchanged=float(pol.sample_unchanged),
                            blind_until_labeled=pol.blind_until_labeled),
        roles=roles,
        error_categories=tuple(raw.labels.errors),
        status=StatusConfig(sink=raw.status.sink, repo=raw.status.repo, context=raw.status.context,
                            api_url=raw.status.api_url, target_url=raw.status.target_url),
        name=raw.project.name,
        signers=SignersConfig(keys={u: tuple(k) for u, k in raw.signers.keys.items()},
                              allowed_signers=raw.signers.allowed_signers),
        sections=extra,
    )
    for section in _sections.values():   # a plugin's section may adjust what it describes ([mlflow.columns])
        if section.refine is not None:
            config = section.refine(config, data)
    return config


def _bounds(pol, sets: list[EvalSetSpec], p: _Problems) -> dict[str, RegressionBound]:
    """eval set -> its regression-rate bound: [policy] max_regression_rate for every set, each
    [policy.bounds.NAME] overriding it for its set (max_regression_rate = 0 there: none)."""
    names = [s.name for s in sets]
    out: dict[str, RegressionBound] = {}
    for name, b in pol.bounds.items():
        if name not in names:
            p.add(("policy", "bounds", name), f"policy.bounds names eval set {name!r}, which signoff.toml does not "
                  f"define" + _suggest(name, names, "{!r}"))
            continue
        if b.estimator not in ESTIMATORS:
            p.add(("policy", "bounds", name, "estimator"), f"policy.bounds.{_dotted((name,))}.estimator must be one "
                  f"of {', '.join(map(repr, ESTIMATORS))}, got {b.estimator!r}")
        spec = next(s for s in sets if s.name == name)
        for f in b.slices:
            if spec.slices and f not in spec.slices:
                p.add(("policy", "bounds", name, "slices"), f"policy.bounds.{_dotted((name,))}.slices names {f!r}, "
                      f"which is not a slice of eval set {name!r} ({', '.join(spec.slices)})"
                      + _suggest(f, spec.slices, "{!r}"))
    for name in names:
        b = pol.bounds.get(name)
        rate = pol.max_regression_rate if b is None or b.max_regression_rate is None else b.max_regression_rate
        if rate <= 0:
            continue
        conf = pol.confidence if b is None or b.confidence is None else b.confidence
        out[name] = RegressionBound(max_rate=float(rate), confidence=float(conf),
                                    slices=tuple(b.slices) if b else (), estimator=b.estimator if b else "stratified")
    return out


# -- the walk: types, unknown names, constraints -------------------------------------------------

_TOML_KIND = {bool: "a boolean", int: "an integer", float: "a float", str: "a string", list: "an array",
              dict: "a table"}


def _kind(value) -> str:
    for t, name in _TOML_KIND.items():
        if isinstance(value, t):
            return name
    return "a date/time" if hasattr(value, "isoformat") else type(value).__name__


def _show(value) -> str:
    if isinstance(value, (dict, list)):
        return ""
    if isinstance(value, bool):
        text = str(value).lower()
    elif hasattr(value, "isoformat"):
        text = value.isoformat()
    else:
        text = repr(value)
    return f" ({text[:40]}{'…' if len(text) > 40 else ''})"


def _dotted(path: Path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            bare = re.fullmatch(r"[A-Za-z0-9_-]+", part)
            out += ("." if out else "") + (part if bare else json.dumps(part))
    return out


def _suggest(name: str, valid, fmt: str) -> str:
    close = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.6)
    if close:
        return f"; did you mean {fmt.format(close[0])}?"
    return ""


def _expected(t) -> str:
    return {mi.StrType: "a string", mi.IntType: "an integer", mi.FloatType: "a number", mi.BoolType: "a boolean",
            mi.ListType: "an array", mi.DictType: "a table", mi.StructType: "a table"}.get(type(t), str(t))


def _walk(value, t, path: Path, p: _Problems) -> None:
    if isinstance(t, mi.Metadata):
        t = t.type
    if isinstance(t, mi.UnionType):  # `X | None`: None cannot be written in TOML
        t = next(u for u in t.types if not isinstance(u, mi.NoneType))
        if isinstance(t, mi.Metadata):
            t = t.type
    if isinstance(t, mi.AnyType):
        return
    name = _dotted(path)
    kinds = {mi.StrType: (str,), mi.IntType: (int,), mi.FloatType: (int, float), mi.BoolType: (bool,),
             mi.ListType: (list,), mi.DictType: (dict,), mi.StructType: (dict,)}
    want = kinds.get(type(t))
    if want is not None:
        ok = isinstance(value, want) and not (isinstance(value, bool) and bool not in want)
        if not ok:
            label = f"[{name}]" if isinstance(t, mi.StructType) and len(path) == 1 else name
            p.add(path, f"{label} must be {_expected(t)}, got {_kind(value)}{_show(value)}")
            return
    if isinstance(t, (mi.IntType, mi.FloatType)):
        if t.ge is not None and not value >= t.ge or t.le is not None and not value <= t.le:
            if t.ge == 0 and t.le == 1:
                p.add(path, f"{name} is a share between 0 and 1, got {value}")
            elif t.le is None:
                p.add(path, f"{name} must be >= {t.ge}, got {value}")
            else:
                p.add(path, f"{name} must be between {t.ge} and {t.le}, got {value}")
    elif isinstance(t, mi.StrType):
        if t.min_length and len(value) < t.min_length:
            p.add(path, f"{name} must not be empty")
    elif isinstance(t, mi.ListType):
        for i, item in enumerate(value):
            _walk(item, t.item_type, path + (i,), p)
    elif isinstance(t, mi.DictType):
        for k, v in value.items():
            _walk(v, t.value_type, path + (k,), p)
    elif isinstance(t, mi.StructType):
        fields = {f.encode_name: f for f in t.fields}
        for k, v in value.items():
            if k in fields:
                _walk(v, fields[k].type, path + (k,), p)
            elif not path:
                valid = [f"[{n}]" if n != "eval_sets" else "[[eval_sets]]" for n in fields]
                what = f"section [{_dotted((k,))}]" if isinstance(v, (dict, list)) else f"key {_dotted((k,))}"
                hint = _suggest(k, fields, "[{}]" if isinstance(v, (dict, list)) else "{}")
                if hint.endswith("[eval_sets]?"):
                    hint = hint.replace("[eval_sets]", "[[eval_sets]]")
                p.add(path + (k,), f"unknown {what}" + (hint or f" (valid: {', '.join(valid)})"))
            else:
                hint = _suggest(k, fields, "{}")
                p.add(path + (k,), f"unknown key {_dotted(path + (k,))}" +
                      (hint or f" (valid: {', '.join(fields)})"))
        for f in t.fields:
            if f.required and f.encode_name not in value:
                p.add(path, _missing(path, f.encode_name))


def _missing(path: Path, key: str) -> str:
    if not path and key == "eval_sets":
        return "no [[eval_sets]] defined; add at least one with name, samples, predictions"
    if not path and key == "policy":
        return ("no [policy] section: a release needs a written policy; add [policy] with required = { role = n } "
                "(or required = {} and allow_unreviewed = true to ship without human review)")
    if not path:
        return f"missing section [{key}]"
    return f"{_dotted(path)} is missing '{key}'"


# -- where a key stands in the text --------------------------------------------------------------

_KEY = r'(?:[A-Za-z0-9_-]+|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\')'
_KEYPATH = rf"{_KEY}(?:[ \t]*\.[ \t]*{_KEY})*"
_AOT = re.compile(rf"[ \t]*\[\[[ \t]*({_KEYPATH})[ \t]*\]\]")
_TABLE = re.compile(rf"[ \t]*\[[ \t]*({_KEYPATH})[ \t]*\]")
_ASSIGN = re.compile(rf"[ \t]*({_KEYPATH})[ \t]*=")


def _key_parts(keypath: str) -> tuple[str, ...] | None:
    """A TOML dotted key's parts, decoded by tomllib itself (quotes, escapes)."""
    try:
        node = tomllib.loads(f"{keypath} = 0")
    except tomllib.TOMLDecodeError:
        return None
    parts = []
    while isinstance(node, dict) and len(node) == 1:
        k, node = next(iter(node.items()))
        parts.append(k)
    return tuple(parts)


class _Lines:
    """Physical line numbers of the tables and keys of a TOML text (tomllib gives none)."""

    def __init__(self, text: str):
        self.at: dict[Path, int] = {}
        aot: dict[Path, int] = {}          # array-of-tables path -> its current index
        table: Path = ()
        fence = None                        # inside a multi-line string: its quotes
        for n, line in enumerate(text.split("\n"), 1):
            if fence:
                if line.count(fence) % 2:
                    fence = None
                continue
            m = _AOT.match(line)
            if m and (parts := _key_parts(m.group(1))):
                key = self._resolve(parts[:-1], aot) + (parts[-1],)
                aot[key] = aot.get(key, -1) + 1
                self.at.setdefault(key, n)
                table = key + (aot[key],)
                self.at.setdefault(table, n)
                continue
            m = _TABLE.match(line)
            if m and (parts := _key_parts(m.group(1))) and not line.lstrip().startswith("[["):
                table = self._resolve(parts, aot)
                self.at.setdefault(table, n)
                continue
            m = _ASSIGN.match(line)
            if m and (parts := _key_parts(m.group(1))):
                for i in range(1, len(parts) + 1):
                    self.at.setdefault(table + parts[:i], n)
                rest = line[m.end():]
                for q in ('"""', "'''"):
                    if rest.count(q) % 2:
                        fence = q
                        break

    @staticmethod
    def _resolve(parts: tuple, aot: dict) -> Path:
        out: Path = ()
        for part in parts:
            out += (part,)
            if out in aot:
                out += (aot[out],)
        return out

    def find(self, path: Path) -> int | None:
        for i in range(len(path), 0, -1):
            if path[:i] in self.at:
                return self.at[path[:i]]
        return None


_TABLE_HEADER = re.compile(r"^\s*\[")
_STATUS_HEADER = re.compile(r"^\s*\[\s*status\s*\]\s*(#.*)?$")


def with_local_status(config_text: str, context: str) -> str:
    """signoff.toml's text with its `[status]` table replaced by the local sink under `context`:
    for reviews about no commit (an inspection, a comparison opened by browsing), which must post
    nothing to a forge. The caller parses the result and checks the sink is local (a `[status]`
    written as dotted keys or inline cannot be replaced this way)."""
    kept, skipping = [], False
    for line in config_text.splitlines():
        if _STATUS_HEADER.match(line):
            skipping = True
            continue
        if skipping and _TABLE_HEADER.match(line):
            skipping = False
        if not skipping:
            kept.append(line)
    return "\n".join(kept) + f'\n\n[status]\nsink = "local"\ncontext = "{context}"\n'
