"""Browsing a tracking server for the app (Qt-free; the UI runs these in workers):
its registered models, their versions (aliases, tags, source run, commit),
and a Source for any two versions.

    models = list_models(uri)                         # [ModelInfo]
    versions = list_versions(uri, "digits")           # [VersionInfo], newest first
    commits = version_commits(uri, versions)          # run id -> git commit tag
    waiting = versions_awaiting_review(uri, known_refs={"models:/digits/2"})  # CI asked, no request here yet
    comparison = source_for_versions(uri, "digits", "3", "1")
    service.create_request(**comparison.request_kwargs(), task=task)

The policy of a comparison comes from where the user configured it for the
server (Settings ▸ Connections ▸ MLflow servers: a signoff.toml file from a
checkout of the default branch, or the model's git repository, read at its
default branch), never from the candidate run's signoff.toml artifact
(docs/trust.md "Where the policy comes from"). With none configured the
comparison opens LOOK-ONLY (`look_only_config_text`): eval sets made from the
run's logged tables and traces, a policy no one can meet, no write-back to
MLflow, the local status only: it can never become `approved`.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone

from signoff.core.config import ProjectConfig, parse_config, with_local_status
from signoff.core.errors import ConfigError, InputError
from signoff.plugins.common.policy import policy_from_repo, read_policy_file

from .client import MlflowClient
from .errors import MlflowNotFound
from .refs import GIT_COMMIT_TAG, RUN_NAME_TAG, parse_ref, resolve
from .source import CONFIG_ARTIFACT, MlflowSource
from .traces import run_trace_infos


@dataclass(frozen=True)
class ModelInfo:
    name: str
    description: str = ""
    aliases: dict[str, str] = field(default_factory=dict)     # alias -> version
    tags: dict[str, str] = field(default_factory=dict)
    latest_version: str = ""
    updated: datetime | None = None


@dataclass(frozen=True)
class VersionInfo:
    model: str
    version: str
    run_id: str
    aliases: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    status: str = ""
    description: str = ""
    source: str = ""
    created: datetime | None = None
    user: str = ""

    @property
    def ref(self) -> str:
        return f"models:/{self.model}/{self.version}"


@dataclass(frozen=True)
class RunInfo:
    """The run behind a version, for the details pane."""

    run_id: str
    name: str
    experiment_id: str
    commit: str
    metrics: dict[str, float]
    params: dict[str, str]
    tags: dict[str, str]
    logged_tables: list[str]
    has_config: bool
    genai_traces: int


@contextmanager
def _client(tracking_uri: str, client: MlflowClient | None):
    """The caller's client (left open), or a new one closed afterwards."""
    if client is not None:
        yield client
        return
    with MlflowClient(tracking_uri) as c:
        yield c


def _time(ms) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(ms) / 1000, tz=timezone.utc)
    except (TypeError, ValueError):
        return None


def _tags(items) -> dict[str, str]:
    return {t.get("key", ""): t.get("value", "") for t in items or []}


def list_models(tracking_uri: str, name_like: str = "", *, client: MlflowClient | None = None) -> list[ModelInfo]:
    with _client(tracking_uri, client) as c:
        out = []
        for m in c.search_registered_models(name_like):
            latest = max((int(v.get("version", 0)) for v in m.get("latest_versions", [])), default=0)
            out.append(ModelInfo(name=m.get("name", ""), description=m.get("description", ""),
                                 aliases={a.get("alias", ""): str(a.get("version", "")) for a in m.get("aliases", [])},
                                 tags=_tags(m.get("tags")), latest_version=str(latest or ""),
                                 updated=_time(m.get("last_updated_timestamp"))))
        return sorted(out, key=lambda m: m.name.lower())


def _version_info(v: dict, model: str, aliases: dict[str, list[str]]) -> VersionInfo:
    version = str(v.get("version", ""))
    return VersionInfo(model=v.get("name", model), version=version, run_id=v.get("run_id", ""),
                       aliases=tuple(v.get("aliases") or sorted(aliases.get(version, []))),
                       tags=_tags(v.get("tags")), status=v.get("status", ""),
                       description=v.get("description", ""), source=v.get("source", ""),
                       created=_time(v.get("creation_timestamp")), user=v.get("user_id", ""))


def _alias_map(registered: dict) -> dict[str, list[str]]:
    """version -> its aliases (the version search leaves aliases out; the model lists them)."""
    aliases: dict[str, list[str]] = {}
    for a in registered.get("aliases", []):
        aliases.setdefault(str(a.get("version", "")), []).append(a.get("alias", ""))
    return aliases


def _version_number(v: VersionInfo) -> int:
    return int(v.version) if v.version.isdigit() else 0


def list_versions(tracking_uri: str, model: str, *, client: MlflowClient | None = None) -> list[VersionInfo]:
    with _client(tracking_uri, client) as c:
        registered = c.get_registered_model(model)  # "no registered model X" rather than an empty list
        aliases = _alias_map(registered)
        versions = [_version_info(v, model, aliases) for v in c.search_model_versions(name=model)]
        return sorted(versions, key=_version_number, reverse=True)


# What CI tags a model version with when it asks for a review (docs/mlflow.md); Signoff's own
# write-backs use the same tag, so a version stays "awaiting" until someone decides on it.
AWAITING_TAG, AWAITING_VALUE = "signoff.status", "pending"


def is_awaiting_review(v: VersionInfo) -> bool:
    return v.tags.get(AWAITING_TAG, "").strip().lower() == AWAITING_VALUE


def versions_awaiting_review(tracking_uri: str, *, known_refs=frozenset(),
                             client: MlflowClient | None = None) -> list[VersionInfo]:
    """The versions CI marked for review (tag `signoff.status` = "pending") whose
    `models:/NAME/VERSION` is not in `known_refs` (the candidate refs of the requests already
    in the store), newest first. One pass: the registered models (for their aliases), then
    every model version of the server in one paged search."""
    known = set(known_refs or ())
    with _client(tracking_uri, client) as c:
        aliases = {m.get("name", ""): _alias_map(m) for m in c.search_registered_models()}
        versions = [_version_info(v, "", aliases.get(v.get("name", ""), {})) for v in c.search_model_versions()]
    out = [v for v in versions if is_awaiting_review(v) and v.ref not in known]
    return sorted(out, key=lambda v: (v.created.timestamp() if v.created else 0.0, v.model, _version_number(v)),
                  reverse=True)


def version_commits(tracking_uri: str, versions: list[VersionInfo], *, client: MlflowClient | None = None,
                    task=None) -> dict[str, str]:
    """run id -> the git commit its run is tagged with ("" when none, or the run is gone), one
    runs/get per distinct run; `task` (signoff.core.tasks.TaskState) reports progress and cancels."""
    run_ids = list(dict.fromkeys(v.run_id for v in versions if v.run_id))
    out: dict[str, str] = {}
    with _client(tracking_uri, client) as c:
        for i, run_id in enumerate(run_ids):
            if task is not None:
                task.report(f"reading run {i + 1} of {len(run_ids)}", i / max(1, len(run_ids)))
            try:
                out[run_id] = _tags(c.get_run(run_id).get("data", {}).get("tags")).get(GIT_COMMIT_TAG, "")
            except MlflowNotFound:
                out[run_id] = ""
    return out


def run_info(tracking_uri: str, run_id: str, *, client: MlflowClient | None = None) -> RunInfo:
    with _client(tracking_uri, client) as c:
        r = resolve(c, parse_ref(f"runs:/{run_id}"))
        try:
            c.artifact_size(r.run_id, CONFIG_ARTIFACT)
            has_config = True
        except MlflowNotFound:
            has_config = False
        return RunInfo(run_id=r.run_id, name=r.tags.get(RUN_NAME_TAG, ""), experiment_id=r.experiment_id,
                       commit=r.tags.get(GIT_COMMIT_TAG, ""), metrics=r.metrics, params=r.params, tags=r.tags,
                       logged_tables=r.logged_tables, has_config=has_config,
                       genai_traces=len(run_trace_infos(c, r)))


def default_config_text(tracking_uri: str, ref: str, *, client: MlflowClient | None = None) -> str:
    """The eval sets of a look-only comparison, from what the run logged (never its signoff.toml
    artifact): one eval set per logged table (and one for its genai traces), text outputs, and
    the look-only policy (`LOOK_ONLY_POLICY`). For looking at two versions, not for signing off."""
    with _client(tracking_uri, client) as c:
        r = resolve(c, parse_ref(ref))
        sets = [(t.rsplit("/", 1)[-1].rsplit(".", 1)[0], f'table = "{t}"') for t in r.logged_tables]
        if run_trace_infos(c, r):
            sets.append(("traces", "traces = true"))
        if not sets:
            raise InputError(f"{r.label} has no logged tables (mlflow.log_table) and no genai evaluation traces: "
                             f"nothing to compare")
    names: set[str] = set()
    lines = ["# Made by Signoff for a look-only comparison (no policy configured for this server):",
             "# every logged table, compared as text.", ""]
    for name, what in sets:
        while name in names:
            name += "_"
        names.add(name)
        lines += ["[[eval_sets]]", f'name = "{name}"', what, 'type = "text"', ""]
    return "\n".join(lines) + LOOK_ONLY_POLICY


# A look-only comparison can never be approved: its one required approval is by an address in the
# reserved .invalid domain (RFC 2606) that no reviewer has and for which [signers] lists no key, so
# no decision can count; nothing is written back to MLflow and the status stays local.
LOOK_ONLY_ROLE = "look-only"
LOOK_ONLY_USER = "nobody@look-only.invalid"
LOOK_ONLY_CONTEXT = "signoff/look-only"
LOOK_ONLY_POLICY = f"""
# LOOK-ONLY: no policy is configured for this MLflow server, so this comparison can never be approved.
[policy]
required = {{ {LOOK_ONLY_ROLE} = 1 }}

[roles]
{LOOK_ONLY_ROLE} = ["{LOOK_ONLY_USER}"]

[mlflow]
tags_on_decision = false
alias_on_approval = ""
assessments = false

[status]
sink = "local"
context = "{LOOK_ONLY_CONTEXT}"
"""
LOOK_ONLY_NOTE = ("No policy is configured for this server, so the comparison opens look-only: you can look and "
                  "label, but it can never be approved, and nothing is posted to MLflow or a forge. Give a policy "
                  "(a signoff.toml from the default branch, or the model's git repository) to sign off.")


def is_look_only(config: ProjectConfig) -> bool:
    """A comparison opened with no policy (see LOOK_ONLY_POLICY)."""
    return (config.status.context == LOOK_ONLY_CONTEXT and LOOK_ONLY_ROLE in config.policy.required
            and config.roles.get(LOOK_ONLY_ROLE) == (LOOK_ONLY_USER,))


@dataclass(frozen=True)
class VersionComparison:
    """What the app hands to `ReviewService.create_request(**c.request_kwargs())`.

    A comparison opened by browsing is not a CI request: it is about no commit (`sha` "", the
    request's kind "comparison"; its refs are its candidate and baseline), its change key is
    "models:/M/3 vs models:/M/1", so `signoff status --sha` and the stale-approval logic of a
    commit never see it, and its signoff.toml posts statuses to the local sink only."""

    source: MlflowSource
    candidate: str
    baseline: str

    @property
    def label(self) -> str:
        return f"{self.candidate} vs {self.baseline}"

    def request_kwargs(self) -> dict:
        return {"source": self.source, "sha": "", "candidate": self.candidate, "baseline": self.baseline,
                "change_key": self.label}


def source_for_versions(tracking_uri: str, model: str, candidate: str, baseline: str, *,
                        policy: str = "", policy_ref: str = "", config_text: str = "",
                        client: MlflowClient | None = None) -> VersionComparison:
    """Comparing two versions of `model` (version numbers, or any refs).

    The policy (never the candidate run's signoff.toml artifact): `config_text`; else `policy`,
    a signoff.toml file (from a checkout of the default branch) or a git repository read at its
    default branch (`policy_ref`), at the merge-base with the commit the candidate run is tagged
    with when the clone has it; else none: a look-only comparison (`default_config_text`).
    Its [status] is made local: there is no commit to post a status on."""
    cand = candidate if candidate.startswith(("models:/", "runs:/")) else f"models:/{model}/{candidate}"
    base = baseline if baseline.startswith(("models:/", "runs:/")) else f"models:/{model}/{baseline}"
    candidate_text = ""
    look_only = False
    path = os.path.abspath(os.path.expanduser(policy)) if policy else ""
    if config_text:
        pass
    elif path and not os.path.exists(path):
        raise ConfigError(f"the policy {policy} is neither a signoff.toml file nor a git repository here; fix the "
                          f"server's policy in Settings ▸ Connections ▸ MLflow tracking servers")
    elif path and os.path.isdir(path):
        with _client(tracking_uri, client) as c:
            commit = resolve(c, parse_ref(cand)).commit
        config_text, candidate_text, _where = policy_from_repo(path, policy_ref, commit)
    elif path:
        config_text = read_policy_file(path)
    else:
        config_text = default_config_text(tracking_uri, cand, client=client)
        look_only = True
    source = MlflowSource(tracking_uri=tracking_uri, model=model,
                          config_text=config_text if look_only else local_status(config_text),
                          candidate_config_text=_local_or_same(candidate_text), look_only=look_only)
    return VersionComparison(source, cand, base)


def _local_or_same(text: str) -> str:
    """The candidate commit's own signoff.toml, with the same [status] as the base gets (so that the
    policy diff shows what the candidate changes, not the browsing status); as it is if it does not parse."""
    if not text:
        return ""
    try:
        return local_status(text)
    except Exception:   # a broken candidate policy is shown as written (it never applies)
        return text




def local_status(config_text: str) -> str:
    """The same signoff.toml with `[status]` replaced by the local sink: a comparison opened by
    browsing posts no commit status to a forge (there is no commit to post it on)."""
    text = with_local_status(config_text, "signoff/browse")
    config = parse_config(text, "signoff.toml (for browsing)")
    if config.status.sink != "local":
        raise InputError("signoff.toml sets [status] in a form Signoff cannot replace for browsing; "
                         "write it as a [status] table")
    return text
