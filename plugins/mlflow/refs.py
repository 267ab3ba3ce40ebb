"""What a candidate or baseline reference names, and the run it resolves to.

    models:/NAME/VERSION     a registered model version
    models:/NAME@ALIAS       the version an alias points at now
    runs:/RUN_ID             a run (also a bare 32-hex run id)
    a git commit SHA         the newest run tagged mlflow.source.git.commit = SHA
                             (7 to 40 hex digits; a prefix matches too)

A bare 32-hex string is tried as a run id first, then as a commit.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from signoff.core.errors import InputError, NotFoundError

from .client import MlflowClient
from .errors import MlflowNotFound

GIT_COMMIT_TAG = "mlflow.source.git.commit"
GIT_BRANCH_TAG = "mlflow.source.git.branch"
USER_TAG = "mlflow.user"
RUN_NAME_TAG = "mlflow.runName"
LOGGED_ARTIFACTS_TAG = "mlflow.loggedArtifacts"

_HEX = re.compile(r"[0-9a-fA-F]+")
_MODEL_VERSION = re.compile(r"models:/(?P<name>[^@]+?)/(?P<version>\d+)/?")
_MODEL_ALIAS = re.compile(r"models:/(?P<name>[^@/][^@]*)@(?P<alias>[^/]+)/?")
_RUN = re.compile(r"runs:/(?P<run>[0-9a-fA-F]{32})(/.*)?")


@dataclass(frozen=True)
class Ref:
    kind: str                 # version / alias / run / commit
    text: str                 # as given
    name: str = ""
    version: str = ""
    alias: str = ""
    run_id: str = ""
    commit: str = ""


def parse_ref(text: str, *, model: str = "") -> Ref:
    """`text` as a reference; a bare version number or @alias needs `model` (the [mlflow] model)."""
    t = (text or "").strip()
    if not t:
        raise InputError("an empty MLflow reference was given")
    if m := _MODEL_VERSION.fullmatch(t):
        return Ref("version", t, name=m["name"], version=m["version"])
    if m := _MODEL_ALIAS.fullmatch(t):
        return Ref("alias", t, name=m["name"], alias=m["alias"])
    if m := _RUN.fullmatch(t):
        return Ref("run", t, run_id=m["run"].lower())
    if t.startswith("models:/"):
        raise InputError(f"MLflow reference {t!r}: write models:/NAME/VERSION or models:/NAME@ALIAS")
    if t.isdigit() and model and len(t) < 7:
        return Ref("version", t, name=model, version=t)
    if t.startswith("@") and model:
        return Ref("alias", t, name=model, alias=t[1:])
    if _HEX.fullmatch(t) and len(t) == 32:
        return Ref("run", t, run_id=t.lower(), commit=t.lower())
    if _HEX.fullmatch(t) and 7 <= len(t) <= 64:
        return Ref("commit", t, commit=t.lower())
    raise InputError(f"MLflow reference {t!r} is none of models:/NAME/VERSION, models:/NAME@ALIAS, a run id "
                     f"(32 hex digits) or a git commit SHA")


@dataclass(frozen=True)
class Resolved:
    """A reference resolved to its run (and its registered version, when there is one)."""

    ref: str                  # as given
    run: dict = field(repr=False)
    model: str = ""           # registered model name, "" for a run without a version
    version: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def run_id(self) -> str:
        info = self.run.get("info", {})
        return info.get("run_id") or info.get("run_uuid", "")

    @property
    def experiment_id(self) -> str:
        return str(self.run.get("info", {}).get("experiment_id", ""))

    @property
    def tags(self) -> dict[str, str]:
        return {t["key"]: t.get("value", "") for t in self.run.get("data", {}).get("tags", [])}

    @property
    def metrics(self) -> dict[str, float]:
        return {m["key"]: m.get("value") for m in self.run.get("data", {}).get("metrics", [])}

    @property
    def params(self) -> dict[str, str]:
        return {p["key"]: p.get("value", "") for p in self.run.get("data", {}).get("params", [])}

    @property
    def datasets(self) -> list[dict]:
        return [d.get("dataset", {}) for d in self.run.get("inputs", {}).get("dataset_inputs", [])]

    @property
    def commit(self) -> str:
        return self.tags.get(GIT_COMMIT_TAG, "")

    @property
    def logged_tables(self) -> list[str]:
        """Paths of the tables logged with mlflow.log_table (the mlflow.loggedArtifacts run tag)."""
        try:
            entries = json.loads(self.tags.get(LOGGED_ARTIFACTS_TAG, "[]"))
        except ValueError:
            return []
        return [e["path"] for e in entries if isinstance(e, dict) and e.get("type") == "table" and "path" in e]

    @property
    def label(self) -> str:
        """How messages and the UI name it: 'models:/NAME/2 (run abc1234)' or 'run abc1234 (name)'."""
        if self.version:
            return f"models:/{self.model}/{self.version} (run {self.run_id[:7]})"
        name = self.tags.get(RUN_NAME_TAG, "")
        return f"run {self.run_id[:7]}" + (f" ({name})" if name else "")

    @property
    def canonical(self) -> str:
        """The stable reference stored with a request: the version, else the run."""
        return f"models:/{self.model}/{self.version}" if self.version else f"runs:/{self.run_id}"


def resolve(client: MlflowClient, ref: Ref, *, model: str = "", experiments: tuple[str, ...] = ()) -> Resolved:
    if ref.kind == "version":
        mv = client.get_model_version(ref.name, ref.version)
        return _from_version(client, ref.text, mv)
    if ref.kind == "alias":
        mv = client.get_model_version_by_alias(ref.name, ref.alias)
        return _from_version(client, ref.text, mv)
    if ref.kind == "run":
        try:
            run = client.get_run(ref.run_id)
        except MlflowNotFound:
            if not ref.commit:
                raise
            return resolve(client, Ref("commit", ref.text, commit=ref.commit), model=model, experiments=experiments)
        return _with_version(client, ref.text, run, model)
    return _from_commit(client, ref, model=model, experiments=experiments)


def _from_version(client: MlflowClient, text: str, mv: dict) -> Resolved:
    run_id = mv.get("run_id", "")
    name, version = mv.get("name", ""), str(mv.get("version", ""))
    if not run_id:
        raise NotFoundError(f"{text}: version {version} of model {name!r} names no source run, so Signoff "
                            f"cannot find its predictions (register the model from the run that evaluated it)")
    return Resolved(text, client.get_run(run_id), name, version, tuple(mv.get("aliases", [])))


def _with_version(client: MlflowClient, text: str, run: dict, model: str) -> Resolved:
    """A run, with the version of `model` registered from it when there is one (for write-backs)."""
    run_id = run.get("info", {}).get("run_id", "")
    versions = client.search_model_versions(run_id=run_id)
    if model:
        versions = [v for v in versions if v.get("name") == model]
    if len({v.get("name") for v in versions}) == 1:
        newest = max(versions, key=lambda v: int(v.get("version", 0)))
        return Resolved(text, run, newest.get("name", ""), str(newest.get("version", "")),
                        tuple(newest.get("aliases", [])))
    return Resolved(text, run)


def _experiment_ids(client: MlflowClient, experiments: tuple[str, ...]) -> list[str]:
    if not experiments:
        return [str(e["experiment_id"]) for e in client.search_experiments()]
    ids = []
    for e in experiments:
        ids.append(e if e.isdigit() else str(client.get_experiment_by_name(e)["experiment_id"]))
    return ids


def find_runs_for_commit(client: MlflowClient, commit: str, *, experiments: tuple[str, ...] = ()) -> list[dict]:
    sha = commit.lower()
    if len(sha) >= 40:
        where = f"tags.`{GIT_COMMIT_TAG}` = '{sha}'"
    else:
        where = f"tags.`{GIT_COMMIT_TAG}` LIKE '{sha}%'"
    return client.search_runs(_experiment_ids(client, experiments), where)


def _from_commit(client: MlflowClient, ref: Ref, *, model: str, experiments: tuple[str, ...]) -> Resolved:
    runs = find_runs_for_commit(client, ref.commit, experiments=experiments)
    where = f" in experiments {', '.join(experiments)}" if experiments else ""
    if not runs:
        raise NotFoundError(f"no MLflow run on {client.uri}{where} is tagged {GIT_COMMIT_TAG} = {ref.commit}; "
                            f"CI must log the run with that tag (see docs/mlflow.md), or pass --candidate "
                            f"models:/NAME/VERSION or a run id")
    commits = {r_tags(r).get(GIT_COMMIT_TAG, "") for r in runs}
    if len(commits) > 1:
        raise InputError(f"commit prefix {ref.commit} matches runs of several commits "
                         f"({', '.join(sorted(c[:10] for c in commits))}); give the full SHA")
    # Several runs for one commit (CI re-ran): the one that registered a version of the model, newest first.
    for run in runs:
        resolved = _with_version(client, ref.text, run, model)
        if resolved.version and (not model or resolved.model == model):
            return resolved
    return _with_version(client, ref.text, runs[0], model)


def r_tags(run: dict) -> dict[str, str]:
    return {t["key"]: t.get("value", "") for t in run.get("data", {}).get("tags", [])}


_VERSION_REF = re.compile(r"^models:/(?P<model>[^/@]+)(?:/(?P<version>[^/@\s]+)|@(?P<alias>[^/\s]+))$")


def version_ref(ref: str) -> tuple[str, str]:
    """("digits", "v3") for models:/digits/3, ("digits", "@champion") for an alias; ("", "") otherwise
    (the window's short names of MLflow refs)."""
    m = _VERSION_REF.match((ref or "").strip())
    if not m:
        return "", ""
    return m["model"], (f"v{m['version']}" if m["version"] else f"@{m['alias']}")
