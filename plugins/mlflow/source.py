"""The MLflow source: candidate and baseline are registered model versions
(or runs) on a tracking server; each eval set's predictions are a table
logged in each version's run, or the run's genai evaluation traces.

Where signoff.toml comes from (never from the candidate run; docs/trust.md):
1. `config_text` (`request --policy FILE`, a file CI takes from its own checkout
   of the default branch; the app's "compare any two versions" passes one too);
2. the git repository `repo` at its default branch (or `policy_ref`): the
   merge-base with `config_rev` / the candidate run's mlflow.source.git.commit
   when that commit is in the repository, else the branch head. The candidate
   commit's own signoff.toml is kept beside it (shown as a diff, never applied).
Neither: a ConfigError saying how to give one.

The baseline, when not given: signoff.toml `[mlflow] baseline`, else the
model's `champion` alias, else the version before the candidate. The
candidate of a request by commit is the run CI tagged with it, unless a
signoff.toml known before the lookup (given, or from git) sets
`[mlflow] candidate` (e.g. an alias CI moves).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from typing import ClassVar
from urllib.parse import urlsplit

import pandas as pd

from signoff.core.config import EvalSetSpec, ProjectConfig, parse_config
from signoff.core.errors import ConfigError, InputError, NotFoundError
from signoff.core.hashing import canonical_json, combine_hashes, sha256_bytes
from signoff.core.model import EvalSetData, LoadedInput
from signoff.core.tasks import NULL_TASK, TaskState
from signoff.plugin_api import CliOption, RequestContext, Source
from signoff.plugins.common import id_warnings
from signoff.plugins.common.policy import CONFIG_FILE, no_policy_error, policy_from_repo

from . import config as mlflow_section, writeback
from .cache import TraceIndex
from .client import ENV_TRACKING_URI, MlflowClient, normalise_tracking_uri
from .errors import MlflowNotFound
from .refs import GIT_BRANCH_TAG, USER_TAG, Resolved, parse_ref, resolve, version_ref
from .tables import parse_logged_table, predictions_from_table, samples_from_dataset, samples_from_table
from .traces import ambiguous_scores, load_trace_rows, run_trace_infos

log = logging.getLogger(__name__)

CONFIG_ARTIFACT = "signoff.toml"
DEFAULT_BASELINE_ALIAS = "champion"
EXAMPLES = 5


@dataclass
class MlflowLoadedInput(LoadedInput):
    """LoadedInput plus what only MLflow has: run metrics per eval set, and the git commit CI tagged."""

    summary_extras: dict = field(default_factory=dict)   # eval set -> fields added to its comparison summary
    commit_sha: str = ""                                 # the candidate run's mlflow.source.git.commit


class MlflowSource(Source):
    """Registered model versions, runs, logged tables and genai traces on an MLflow tracking server."""

    NAME: ClassVar[str] = "mlflow"
    DESCRIPTION: ClassVar[str] = "model versions and their logged predictions on an MLflow tracking server"

    CONFIG_SECTIONS: ClassVar[dict] = mlflow_section.CONFIG_SECTIONS   # [mlflow] (plugins/mlflow/config.py)
    EVAL_SET_KEYS: ClassVar[tuple] = mlflow_section.EVAL_SET_KEYS      # [[eval_sets]] table / traces / dataset
    CLI_OPTIONS: ClassVar[tuple[CliOption, ...]] = (
        CliOption("--tracking-uri", "mlflow: the tracking server (default: MLFLOW_TRACKING_URI, then signoff.toml "
                                    "[mlflow] tracking_uri)"),
        CliOption("--model", "mlflow: the registered model (default: signoff.toml [mlflow] model)"),
        CliOption("--experiment", "mlflow: where --sha's run is looked for (name or id; repeatable; default: every "
                                  "experiment)", repeat=True),
    )

    INSPECT_OPTIONS: ClassVar[tuple[CliOption, ...]] = (
        CliOption("--experiment", "mlflow: the experiment whose traces are sampled", metavar="NAME"),
        CliOption("--model", "mlflow: the registered model in production (its traces are sampled)", metavar="NAME"),
        CliOption("--alias", "mlflow: with --model, the alias of the version in production (default: champion)",
                  metavar="ALIAS"),
        CliOption("--tracking-uri", "mlflow: the tracking server (default: MLFLOW_TRACKING_URI)", metavar="URL"),
    )

    @classmethod
    def from_cli(cls, options: dict, context: RequestContext) -> Source:
        """--policy FILE, else --repo at its default branch (docs/mlflow.md)."""
        from signoff.plugins.common.policy import read_policy_file

        return cls(tracking_uri=options.get("tracking_uri") or "", model=options.get("model") or "",
                   repo=context.repo, config_rev=context.sha if context.repo else "",
                   experiments=options.get("experiment") or (), policy_ref=context.policy_ref,
                   config_text=read_policy_file(context.policy) if context.policy else "")

    @classmethod
    def model_name(cls, request, config_data: dict, default: str) -> str:
        """The registered model ([mlflow] model, the locator's, else the ref's) and the candidate
        version: "digits-classifier v2"."""
        section = config_data.get("mlflow") if isinstance(config_data.get("mlflow"), dict) else {}
        name = str(section.get("model") or default or "")
        ref_model, version = version_ref(request.candidate_ref)
        name = name or str((request.locator or {}).get("model") or "") or ref_model
        return f"{name} {version}".strip() if version and (not name or name == ref_model) else name

    @classmethod
    def short_ref(cls, ref: str) -> str:
        """"v3" for models:/M/3, "@champion" for an alias, "run 1a2b3c4" for runs:/…"""
        ref = (ref or "").strip()
        _model, version = version_ref(ref)
        if version:
            return version
        if ref.startswith("runs:/"):
            return f"run {ref[6:13]}"
        return ref[:7]

    @classmethod
    def production(cls, *, since, now, tracking_uri: str = "", experiment: str = "", model: str = "",
                   alias: str = "", **_options):
        """`signoff inspect --experiment NAME | --model NAME [--alias A]`: the traces in the window."""
        from .production import from_mlflow

        tracking_uri = tracking_uri or os.environ.get(ENV_TRACKING_URI, "")
        if not tracking_uri:
            raise InputError("no MLflow server: pass --tracking-uri URL or set MLFLOW_TRACKING_URI")
        return from_mlflow(tracking_uri, experiment=experiment, model=model, alias=alias, since=since, now=now)

    @classmethod
    def inspection_write_backs(cls, inspection, estimate: dict, *, request_id: int):
        """The estimate as tags on the production model version (none for an experiment's traces)."""
        return writeback.inspection_write_backs(inspection, estimate, request_id=request_id)

    def __init__(self, tracking_uri: str = "", model: str = "", repo: str = "", config_rev: str = "",
                 config_text: str = "", experiments: list[str] | tuple[str, ...] = (), resolved: dict | None = None,
                 policy_ref: str = "", candidate_config_text: str = "", look_only: bool = False):
        self.policy_ref = (policy_ref or "").strip()
        self._candidate_text = candidate_config_text or ""   # the candidate commit's own signoff.toml (shown, never applied)
        self.look_only = bool(look_only)   # a comparison with no policy (browse.py): never approved, nothing written back
        self.tracking_uri = (tracking_uri or "").strip()
        self.model = (model or "").strip()
        self.repo = os.path.abspath(os.path.expanduser(repo)) if repo else ""
        self.config_rev = (config_rev or "").strip()
        self.config_text = config_text or ""
        self.experiments = tuple(experiments or ())
        self.resolved = dict(resolved or {})     # filled by load(): what the refs resolved to (for write-backs)
        self._change_key = ""

    def locator(self) -> dict:
        loc = {"tracking_uri": self.tracking_uri, "model": self.model}
        for key, value in (("repo", self.repo), ("config_rev", self.config_rev), ("config_text", self.config_text),
                           ("policy_ref", self.policy_ref),
                           ("experiments", list(self.experiments)), ("resolved", self.resolved),
                           ("candidate_config_text", self._candidate_text if self.config_text else ""),
                           ("look_only", self.look_only)):
            if value:
                loc[key] = value
        return loc

    def default_change_key(self, candidate_ref: str) -> str:
        """The git branch CI tagged the run with, else its commit: a new run of the branch makes
        earlier approvals stale, as with the git source."""
        return self._change_key or candidate_ref

    # -- write-backs (plugins/mlflow/writeback.py) ---------------------------------------

    @classmethod
    def status_write_backs(cls, request, *, config, verdict, decision=None):
        if (request.locator or {}).get("look_only"):
            return []
        return writeback.status_write_backs(request, config=config, verdict=verdict, decision=decision)

    @classmethod
    def label_write_backs(cls, request, *, config, label):
        if (request.locator or {}).get("look_only"):
            return []
        return writeback.label_write_backs(request, config=config, label=label)

    # -- loading -----------------------------------------------------------------------------

    def load(self, *, candidate: str, baseline: str | None = None, task: TaskState | None = None) -> MlflowLoadedInput:
        task = task or NULL_TASK
        config, config_text, where = self._early_config(candidate)
        mc = mlflow_section.mlflow_config(config)
        uri = self.tracking_uri or os.environ.get(ENV_TRACKING_URI, "") or mc.tracking_uri
        self.tracking_uri = normalise_tracking_uri(uri)
        with MlflowClient(self.tracking_uri) as client:
            task.report(f"resolving {candidate} on {self.tracking_uri}", 0.0)
            model = self.model or mc.model
            experiments = self.experiments or mc.experiments
            requested_commit = ""
            if config is not None and mc.candidate and _looks_like_commit(candidate):
                # [mlflow] candidate (e.g. an alias CI moves) names the version for a request by commit.
                requested_commit, candidate = candidate, mc.candidate
            cand = resolve(client, parse_ref(candidate, model=model), model=model, experiments=experiments)
            if config is None:
                config, config_text, where = self._late_config(client, cand, task)
            mc = mlflow_section.mlflow_config(config)
            model = model or mc.model or cand.model
            base_text = baseline or mc.baseline
            base = (resolve(client, parse_ref(base_text, model=model), model=model, experiments=experiments)
                    if base_text else self._default_baseline(client, cand))
            if base.run_id == cand.run_id:
                raise InputError(f"candidate {cand.label} and baseline {base.label} are the same run: "
                                 f"nothing to compare")
            sets = []
            extras = {}
            for i, spec in enumerate(config.eval_sets):
                task.report(f"loading eval set {spec.name}", 0.1 + 0.8 * i / max(1, len(config.eval_sets)))
                sets.append(self._eval_set(client, spec, cand, base, task))
                extras[spec.name] = _summary_extras(spec, cand, base)
        self.model = self.model or model
        self.resolved = {"candidate": _describe(cand), "baseline": _describe(base), "config_from": where}
        self._change_key = cand.tags.get(GIT_BRANCH_TAG, "") or cand.commit or cand.canonical
        task.report("loaded", 1.0)
        run_name = cand.tags.get("mlflow.runName", "")
        return MlflowLoadedInput(
            config=config, source=self.NAME, locator=self.locator(), candidate_ref=cand.canonical,
            baseline_ref=base.canonical, candidate_author=cand.tags.get(USER_TAG, "") or cand.run.get("info", {}).get("user_id", ""),
            eval_sets=sets, title=cand.label + (f" — {run_name}" if run_name and cand.version else ""),
            config_text=config_text, candidate_config_text=self._candidate_text, summary_extras=extras, commit_sha=self._full_commit(requested_commit) or cand.commit,
        )

    def _full_commit(self, commit: str) -> str:
        if commit and self.repo:
            from signoff.plugins.git import GitSource

            return GitSource(self.repo).resolve(commit).hexsha
        return commit

    # -- signoff.toml ----------------------------------------------------------------------

    def _early_config(self, candidate: str) -> tuple[ProjectConfig | None, str, str]:
        """The config when it is known before talking to the server (given, or git at a known commit)."""
        if self.config_text:
            return parse_config(self.config_text, "signoff.toml (given)"), self.config_text, "given"
        if self.repo:
            rev = self.config_rev or (candidate if _looks_like_commit(candidate) else "")
            if rev:
                return self._config_from_repo(rev)
        return None, "", ""

    def _late_config(self, client: MlflowClient, cand: Resolved, task: TaskState) -> tuple[ProjectConfig, str, str]:
        if self.repo:
            return self._config_from_repo(cand.commit)
        raise no_policy_error(cand.label)

    def _config_from_repo(self, commit: str) -> tuple[ProjectConfig, str, str]:
        text, self._candidate_text, where = policy_from_repo(self.repo, self.policy_ref, commit)
        return parse_config(text, f"{CONFIG_FILE} ({where})"), text, where

    # -- baseline --------------------------------------------------------------------------

    def _default_baseline(self, client: MlflowClient, cand: Resolved) -> Resolved:
        if not cand.version:
            raise InputError(f"no baseline given for {cand.label}: pass --baseline REF (models:/NAME/VERSION, "
                             f"models:/NAME@ALIAS or a run id) or set baseline in signoff.toml [mlflow]")
        model = client.get_registered_model(cand.model)
        aliases = {a.get("alias"): str(a.get("version")) for a in model.get("aliases", [])}
        champion = aliases.get(DEFAULT_BASELINE_ALIAS)
        if champion and champion != cand.version:
            return resolve(client, parse_ref(f"models:/{cand.model}@{DEFAULT_BASELINE_ALIAS}"))
        earlier = sorted((int(v["version"]) for v in client.search_model_versions(name=cand.model)
                          if int(v["version"]) < int(cand.version)), reverse=True)
        if not earlier:
            raise InputError(f"no baseline given for {cand.label}, and it is the first version of {cand.model!r} "
                             f"with no '{DEFAULT_BASELINE_ALIAS}' alias to compare with: pass --baseline REF")
        return resolve(client, parse_ref(f"models:/{cand.model}/{earlier[0]}"))

    # -- eval sets -------------------------------------------------------------------------

    def _eval_set(self, client: MlflowClient, spec: EvalSetSpec, cand: Resolved, base: Resolved,
                  task: TaskState) -> EvalSetData:
        if not mlflow_section.reads_mlflow(spec):
            raise ConfigError(f"eval set {spec.name!r} reads files from git (samples/predictions); with the "
                              f"MLflow source give `table = \"PATH\"` (a table logged in each run) or "
                              f"`traces = true` (genai evaluation) — docs/mlflow.md")
        if spec.output_type == "image":
            raise ConfigError(f"eval set {spec.name!r}: image eval sets are read from git or files for now; "
                              f"the MLflow source compares text, json, label and number outputs")
        hashes: list[str] = []
        warnings: list[str] = []
        if mlflow_section.table(spec):
            sides = {}
            for side, run in (("candidate", cand), ("baseline", base)):
                label = f"eval set {spec.name!r}: {mlflow_section.table(spec)} of the {side} {run.label}"
                data = self._read_table(client, run, spec, label, task)
                hashes.append(f"{side}:{sha256_bytes(data)}")
                sides[side] = (parse_logged_table(data, mlflow_section.table(spec), label), label)
            c_raw, c_label = sides["candidate"]
            b_raw, b_label = sides["baseline"]
            candidate = predictions_from_table(spec, c_raw, c_label)
            baseline = predictions_from_table(spec, b_raw, b_label)
            samples = None if mlflow_section.dataset(spec) else samples_from_table(spec, c_raw, c_label)
        else:
            frames = {}
            for side, run in (("candidate", cand), ("baseline", base)):
                label = f"eval set {spec.name!r}: traces of the {side} {run.label}"
                frame = load_trace_rows(client, run, spec, task=task, label=label)
                _check_unique(frame, label)
                hashes.append(f"{side}:{sha256_bytes(canonical_json(frame.drop(columns=['trace_id']).to_dict('records')).encode())}")
                frames[side] = frame
                TraceIndex().save(client.uri, run.run_id, spec.id_column, dict(zip(frame["id"], frame["trace_id"])))
            scorers = ambiguous_scores(run_trace_infos(client, cand))
            if scorers:
                warnings.append(f"several scorers ({', '.join(scorers)}) and none named in columns.score: "
                                f"no per-sample score, so changed samples are not called better or worse")
            candidate = frames["candidate"][["id", "output", "score"]].reset_index(drop=True)
            baseline = frames["baseline"][["id", "output", "score"]].reset_index(drop=True)
            samples = frames["candidate"][["id", "input", "reference"]].reset_index(drop=True)
        if mlflow_section.dataset(spec):  # the samples (and their slices) from the run's dataset input instead
            samples, data = self._dataset_samples(client, spec, cand, task)
            hashes.append(f"samples:{sha256_bytes(data)}")
        warnings += _dataset_warnings(spec, cand, base)
        _check_overlap(spec, baseline, candidate, base, cand)
        return EvalSetData(spec=spec, samples=samples, baseline=baseline, candidate=candidate,
                           content_hash=combine_hashes(hashes), warnings=warnings + id_warnings(samples, baseline, candidate))

    def _read_table(self, client: MlflowClient, run: Resolved, spec: EvalSetSpec, label: str, task: TaskState) -> bytes:
        try:
            return client.read_artifact(run.run, mlflow_section.table(spec), task=task, what=label)
        except MlflowNotFound:
            tables = run.logged_tables
            has = f"its logged tables: {', '.join(tables)}" if tables else "it has no logged tables (mlflow.log_table)"
            raise NotFoundError(f"eval set {spec.name!r}: {run.label} has no predictions table {mlflow_section.table(spec)!r}; "
                                f"{has}") from None

    def _dataset_samples(self, client: MlflowClient, spec: EvalSetSpec, cand: Resolved,
                         task: TaskState) -> tuple[pd.DataFrame, bytes]:
        found = [d for d in cand.datasets if d.get("name") == mlflow_section.dataset(spec)]
        label = f"eval set {spec.name!r}: dataset {mlflow_section.dataset(spec)!r} of {cand.label}"
        if not found:
            names = ", ".join(sorted({d.get("name", "") for d in cand.datasets})) or "none"
            raise NotFoundError(f"{label}: the run logged no dataset input of that name (its datasets: {names})")
        ds = found[-1]
        try:
            source = canonical_source(ds)
        except ValueError:
            source = {}
        url = source.get("url", "") if ds.get("source_type") == "http" else ""
        if not url:
            raise InputError(f"{label}: its source ({ds.get('source_type', '?')}) holds no rows Signoff can read; "
                             f"log the dataset from a file on the tracking server (an http source) or drop "
                             f"`dataset` to take the samples from the predictions table")
        path = urlsplit(url).path
        data = client.download_url(url, what=label, digest=str(ds.get("digest", "")), task=task)
        return samples_from_dataset(spec, parse_logged_table(data, path, label), label), data


# -- helpers ------------------------------------------------------------------------------------

def canonical_source(dataset: dict) -> dict:
    value = json.loads(dataset.get("source") or "{}")
    return value if isinstance(value, dict) else {}


def _looks_like_commit(text: str) -> bool:
    t = (text or "").strip()
    return 7 <= len(t) <= 64 and all(c in "0123456789abcdefABCDEF" for c in t) and len(t) != 32


def _describe(r: Resolved) -> dict:
    return {"ref": r.ref, "run_id": r.run_id, "experiment_id": r.experiment_id, "model": r.model,
            "version": r.version, "commit": r.commit, "label": r.label}


def _summary_extras(spec: EvalSetSpec, cand: Resolved, base: Resolved) -> dict:
    """Run metrics of both versions, shown beside the per-sample metric deltas."""
    b, c = base.metrics, cand.metrics
    delta = {k: c[k] - b[k] for k in sorted(set(b) & set(c))
             if isinstance(b[k], (int, float)) and isinstance(c[k], (int, float))}
    return {"run_metrics": {"baseline": b, "candidate": c, "delta": delta},
            "mlflow": {"baseline": _describe(base), "candidate": _describe(cand),
                       "table": mlflow_section.table(spec), "traces": mlflow_section.traces(spec)}}


def _dataset_warnings(spec: EvalSetSpec, cand: Resolved, base: Resolved) -> list[str]:
    """Both runs evaluated on a dataset of the same name but different content: say so."""
    out = []
    if not mlflow_section.dataset(spec):  # unnamed inputs (mlflow.evaluate logs its data, predictions included) prove nothing
        return out
    b = {d.get("name"): d.get("digest") for d in base.datasets}
    for d in cand.datasets:
        name = d.get("name")
        if name == mlflow_section.dataset(spec) and name in b and b[name] != d.get("digest"):
            out.append(f"dataset {name!r} differs between the runs (digest {b[name]} in the baseline, "
                       f"{d.get('digest')} in the candidate): the two models were not evaluated on the same data")
    return out


def _check_unique(frame: pd.DataFrame, label: str) -> None:
    dup = frame["id"][frame["id"].duplicated()].unique()
    if len(dup):
        raise InputError(f"{label}: {len(dup)} sample id(s) appear in more than one trace, e.g. "
                         f"{', '.join(map(str, dup[:EXAMPLES]))}; give each row an id in its inputs (columns.id)")


def _check_overlap(spec: EvalSetSpec, baseline: pd.DataFrame, candidate: pd.DataFrame, base: Resolved,
                   cand: Resolved) -> None:
    """Some ids only on one side are 'missing' samples; none in common is a wrong mapping, not a comparison."""
    if len(baseline) and len(candidate) and not pd.Index(baseline["id"]).isin(candidate["id"]).any():
        raise InputError(f"eval set {spec.name!r}: the ids do not match between the baseline {base.label} "
                         f"(e.g. {', '.join(map(str, baseline['id'][:EXAMPLES]))}) and the candidate {cand.label} "
                         f"(e.g. {', '.join(map(str, candidate['id'][:EXAMPLES]))}); not one of "
                         f"{len(candidate)} candidate ids is in the baseline. Check columns.id in signoff.toml")
    for frame, run in ((baseline, base), (candidate, cand)):
        if not len(frame):
            raise InputError(f"eval set {spec.name!r}: the predictions of {run.label} are empty")
