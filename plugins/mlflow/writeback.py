"""Writing decisions and labels back to MLflow, through the outbox.

What is written (signoff.toml `[mlflow]` turns each part on or off):
- on each status change (every decision, and a label that completes the
  policy): model-version tags `signoff.status`, `signoff.request`,
  `signoff.decided_by` (the latest decision) and `signoff.description`;
  a candidate that is a run without a registered version gets run tags;
- when the request becomes approved: `alias_on_approval` moved to the
  candidate version (not moved back if it is rejected later: the tags say so);
- each label on a genai-traces eval set: one assessment with source type
  HUMAN on the candidate's trace of that sample, per reviewer (updated in
  place when the label changes, deleted when it is cleared).

The service enqueues these in the same transaction as the decision or label
(ReviewService asks the request's source plugin, see app/plugin_api.py);
`MlflowSink.deliver` posts them later, so a server that is down loses
nothing. Each write is idempotent: delivered twice, the server ends the same.
"""

from __future__ import annotations

from typing import ClassVar

from signoff.core.errors import SignoffError
from signoff.plugin_api import DeliveryError, StatusSink, StatusUpdate, WriteBack

from .cache import TraceIndex
from .client import MlflowClient
from .config import mlflow_config, mlflow_spec, traces
from .errors import MlflowError
from .refs import Resolved
from .traces import HUMAN, load_trace_rows

SINK = "mlflow"
ANCHOR_TAG = "signoff.audit_head"   # the audit chain's head on each tags write-back (app/service/anchors.py)
TAG_STATUS, TAG_REQUEST, TAG_DECIDED_BY, TAG_DESCRIPTION = (
    "signoff.status", "signoff.request", "signoff.decided_by", "signoff.description")
TAG_VALUE_LIMIT = 5000


# -- what to enqueue (called by ReviewService through MlflowSource) --------------------------

def status_write_backs(request, *, config, verdict, decision=None) -> list[WriteBack]:
    mc = mlflow_config(config)
    cand = (request.locator or {}).get("resolved", {}).get("candidate")
    uri = (request.locator or {}).get("tracking_uri", "")
    if not cand or not uri:
        return []
    out: list[WriteBack] = []
    where = f"models:/{cand['model']}/{cand['version']}" if cand.get("version") else f"runs:/{cand['run_id']}"
    base = {"kind": "tags", "api_url": uri, "tracking_uri": uri, "repo": where, "sha": request.sha,
            "state": verdict.status.value, "model": cand.get("model", ""), "version": cand.get("version", ""),
            "run_id": cand.get("run_id", "")}
    if mc.tags_on_decision:
        tags = {TAG_STATUS: verdict.status.value, TAG_REQUEST: str(request.id),
                TAG_DESCRIPTION: verdict.description}
        if decision is not None:
            tags[TAG_DECIDED_BY] = f"{decision.user} ({decision.role}): {decision.kind.value}"
        out.append(WriteBack(SINK, f"{SINK}|{uri}|tags|{where}", {**base, "tags": tags}))
    if mc.alias_on_approval and verdict.status.value == "approved" and cand.get("version"):
        out.append(WriteBack(SINK, f"{SINK}|{uri}|alias|{cand['model']}@{mc.alias_on_approval}",
                             {**base, "kind": "alias", "alias": mc.alias_on_approval}))
    return out


def label_write_backs(request, *, config, label) -> list[WriteBack]:
    if not mlflow_config(config).assessments:
        return []
    try:
        spec = config.eval_set(label.eval_set)
    except SignoffError:
        return []
    cand = (request.locator or {}).get("resolved", {}).get("candidate")
    uri = (request.locator or {}).get("tracking_uri", "")
    if not traces(spec) or not cand or not uri:
        return []
    value = None
    if not label.is_empty:
        value = {"verdict": label.verdict.value if label.verdict else None, "correct": label.correct,
                 "error": label.error or None}
    payload = {"kind": "assessment", "api_url": uri, "tracking_uri": uri, "repo": f"trace of {label.eval_set}/{label.sample_id}",
               "sha": request.sha, "state": "label", "run_id": cand["run_id"], "experiment_id": cand["experiment_id"],
               "eval_set": label.eval_set, "sample_id": str(label.sample_id), "id_column": spec.id_column,
               "user": label.user, "name": mlflow_config(config).assessment_name, "value": value,
               "rationale": label.comment or "", "request": request.id}
    target = f"{SINK}|{uri}|assessment|{cand['run_id']}|{label.eval_set}|{label.sample_id}|{label.user}"
    return [WriteBack(SINK, target, payload)]


TAG_RATE, TAG_INTERVAL, TAG_LABELS, TAG_INSPECTION = (
    "signoff.inspection.error_rate", "signoff.inspection.interval", "signoff.inspection.labels",
    "signoff.inspection.request")


def inspection_write_backs(insp, e: dict, *, request_id: int) -> list[WriteBack]:
    """An inspection's estimate (app/service/inspection.py) as tags on the production version."""
    if not (insp.model and insp.version and e.get("labeled")):
        return []
    where = f"models:/{insp.model}/{insp.version}"
    tags = {TAG_RATE: f"{e['error_rate']:.6f}",
            TAG_INTERVAL: f"[{e['low']:.6f}, {e['high']:.6f}] {e['method']} {e['confidence']:g}",
            TAG_LABELS: str(e["labeled"]), TAG_INSPECTION: str(request_id)}
    return [WriteBack(SINK, f"{SINK}|{insp.tracking_uri}|inspection|{where}",
                      {"kind": "tags", "api_url": insp.tracking_uri, "tracking_uri": insp.tracking_uri, "repo": where,
                       "sha": "", "state": "inspection", "model": insp.model, "version": insp.version, "run_id": "",
                       "tags": tags})]


# -- delivering them ---------------------------------------------------------------------------

class MlflowSink(StatusSink):
    """Receives the MLflow write-backs from the outbox (not commit statuses)."""

    NAME: ClassVar[str] = SINK
    POSTS_COMMIT_STATUSES: ClassVar[bool] = False   # not a valid [status] sink (app/core/config.py)
    ANCHOR_NAME: ClassVar[str] = f"tag {ANCHOR_TAG}"   # the audit head, on each tags write-back (anchors)

    @classmethod
    def with_anchor(cls, payload: dict, anchor: str) -> dict | None:
        """A tags write-back carries the audit head as the tag `signoff.audit_head` (docs/trust.md)."""
        if payload.get("kind") != "tags" or not isinstance(payload.get("tags"), dict):
            return None
        return {**payload, "tags": {**payload["tags"], ANCHOR_TAG: anchor}}

    @classmethod
    def anchor_place(cls, target: str) -> tuple[str, str, str] | None:
        """A tags target `mlflow|URI|tags|models:/NAME/VERSION` (or `runs:/RUN_ID`): the model version or run."""
        parts = target.split("|", 3) if isinstance(target, str) else []
        if len(parts) != 4 or parts[0] != SINK or parts[2] != "tags":
            return None
        where = parts[3]
        name, _, version = where[len("models:/"):].rpartition("/")
        words = f"mlflow tag on {name} v{version}" if where.startswith("models:/") else f"mlflow tag on {where}"
        return parts[1], where, words

    def read_anchor(self, place: str) -> str | None:
        return self.read_tag(place, ANCHOR_TAG)

    def __init__(self, *, api_url: str = "", store=None, **_options):
        self.api_url = api_url
        self._client: MlflowClient | None = None
        self._trace_ids: dict[tuple[str, str], dict[str, str]] = {}

    def post(self, update: StatusUpdate) -> None:
        raise DeliveryError("the mlflow sink writes model-version tags and assessments, not commit statuses; "
                            "set [status] sink to local, github, gitlab or gitea", retry=False)

    def deliver(self, payload: dict) -> None:
        try:
            self._deliver(payload)
        except MlflowError as exc:
            raise DeliveryError(str(exc), retry=exc.retry, retry_after=exc.retry_after) from None
        except SignoffError as exc:
            raise DeliveryError(str(exc), retry=False) from None

    def client(self, uri: str) -> MlflowClient:
        if self._client is None or self._client.uri != uri.rstrip("/"):
            self._client = MlflowClient(uri)
        return self._client

    def _deliver(self, payload: dict) -> None:
        client = self.client(payload["tracking_uri"])
        kind = payload.get("kind")
        if kind == "tags":
            for key, value in payload["tags"].items():
                value = str(value)[:TAG_VALUE_LIMIT]
                if payload.get("version"):
                    client.set_model_version_tag(payload["model"], payload["version"], key, value)
                else:
                    client.set_run_tag(payload["run_id"], key, value)
        elif kind == "alias":
            client.set_alias(payload["model"], payload["alias"], payload["version"])
        elif kind == "assessment":
            self._assessment(client, payload)
        else:
            raise DeliveryError(f"unknown MLflow write-back {kind!r} in the outbox", retry=False)

    def read_tag(self, where: str, key: str) -> str | None:
        """The value tag `key` has now on `where` (`models:/NAME/VERSION` or `runs:/RUN_ID`, as the tags
        write-back targets it), None when it is not set; read with the credentials the write-back uses
        (plugins/mlflow/auth.py). Raises DeliveryError when the server cannot be read (audit verify lists
        it as not checked)."""
        client = self.client(self.api_url)
        try:
            if where.startswith("models:/"):
                name, _, version = where[len("models:/"):].rpartition("/")
                tags = client.get_model_version(name, version).get("tags", [])
            elif where.startswith("runs:/"):
                tags = (client.get_run(where[len("runs:/"):]).get("data") or {}).get("tags", [])
            else:
                raise DeliveryError(f"not an MLflow tags target: {where!r}", retry=False)
        except MlflowError as exc:
            raise DeliveryError(str(exc), retry=exc.retry) from None
        values = {t.get("key"): t.get("value") for t in tags if isinstance(t, dict)}
        value = values.get(key)
        return None if value is None else str(value)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- assessments -------------------------------------------------------------------------

    def _assessment(self, client: MlflowClient, p: dict) -> None:
        trace_id = self._trace_of(client, p)
        info = client.get_trace_info(trace_id)
        mine = [a for a in info.get("assessments", [])
                if a.get("assessment_name") == p["name"] and a.get("valid", True) is not False
                and (a.get("source") or {}).get("source_type") == HUMAN
                and (a.get("source") or {}).get("source_id") == p["user"]]
        if p.get("value") is None:  # the label was cleared
            for a in mine:
                client.delete_assessment(trace_id, a["assessment_id"])
            return
        body = {"assessment_name": p["name"], "trace_id": trace_id,
                "source": {"source_type": HUMAN, "source_id": p["user"]},
                "feedback": {"value": p["value"]}, "rationale": p.get("rationale", ""),
                "metadata": {"signoff.request": str(p.get("request", "")), "signoff.eval_set": p["eval_set"],
                             "signoff.sample_id": p["sample_id"]}}
        if mine:
            client.update_assessment(trace_id, mine[0]["assessment_id"], body, ["feedback", "rationale", "metadata"])
        else:
            client.create_assessment(trace_id, body)

    def _trace_of(self, client: MlflowClient, p: dict) -> str:
        key = (p["run_id"], p["id_column"])
        if key not in self._trace_ids:
            index = TraceIndex().load(client.uri, p["run_id"], p["id_column"])
            if index is None or p["sample_id"] not in index:
                index = self._index_from_server(client, p)
            self._trace_ids[key] = index
        try:
            return self._trace_ids[key][p["sample_id"]]
        except KeyError:
            raise DeliveryError(f"run {p['run_id']} has no trace for sample {p['sample_id']!r} of eval set "
                                f"{p['eval_set']!r} any more; the label stays in Signoff only", retry=False) from None

    @staticmethod
    def _index_from_server(client: MlflowClient, p: dict) -> dict[str, str]:
        run = Resolved(p["run_id"], {"info": {"run_id": p["run_id"], "experiment_id": p["experiment_id"]}})
        spec = mlflow_spec(p["eval_set"], traces=True, id_column=p["id_column"])
        frame = load_trace_rows(client, run, spec, label=f"eval set {p['eval_set']!r}")
        index = dict(zip(frame["id"], frame["trace_id"]))
        TraceIndex().save(client.uri, p["run_id"], p["id_column"], index)
        return index
