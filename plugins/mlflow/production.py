"""`signoff inspect --experiment NAME | --model NAME [--alias A]`: MLflow traces as the production
population (MlflowSource.production; app/service/inspection.py samples and reviews it). Only the
trace infos are listed; the sampled traces are read in full (`Population.read_sampled`)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from signoff.core.errors import InputError
from signoff.plugin_api import Population
from signoff.plugins.common.production import utc

from .client import MlflowClient
from .config import mlflow_spec
from .traces import trace_row

EVAL_SET = "production"


def from_mlflow(tracking_uri: str, *, experiment: str = "", model: str = "", alias: str = "",
                since: timedelta | None, now: datetime) -> Population:
    """Trace infos in the window (no spans yet: only the sampled ones are read in full)."""
    if not (experiment or model):
        raise InputError("inspect --source mlflow needs --experiment NAME or --model NAME (with --alias)")
    client = MlflowClient(tracking_uri)
    version = {}
    filters = []
    if model:
        alias = alias or "champion"
        version = client.get_model_version_by_alias(model, alias)
        if version.get("model_id"):   # MLflow 3: the version's logged model; production traces carry its id
            filters.append(f"metadata.`mlflow.modelId` = '{version['model_id']}'")
        elif version.get("run_id"):
            filters.append(f"metadata.`mlflow.sourceRun` = '{version['run_id']}'")
    if experiment:
        exp_ids = [client.get_experiment_by_name(experiment)["experiment_id"]]
    else:
        exp_ids = [_version_experiment(client, version)]
    if since is not None:
        filters.append(f"trace.timestamp_ms > {int((now - since).timestamp() * 1000)}")
    infos = []
    for exp_id in exp_ids:
        infos.extend(client.search_traces(exp_id, " AND ".join(filters)))
    if since is not None:   # also here: a server that ignores the filter still gives the window
        cut = pd.Timestamp(now - since)
        infos = [i for i in infos if (utc(i.get("request_time")) or cut) >= cut]
    frame = pd.DataFrame({"id": [i["trace_id"] for i in infos], "trace_id": [i["trace_id"] for i in infos],
                          "timestamp": [i.get("request_time") for i in infos]})
    where = f"models:/{model}@{alias}" if model else f"experiment:{experiment}"
    pop = Population(frame=frame, subject=where, source="mlflow", tracking_uri=client.uri, model=model,
                     alias=alias if model else "", version=str(version.get("version", "")), experiment=experiment,
                     title=f"inspection of {where}" + (f" (v{version.get('version')})" if version else ""))
    pop.read_sampled = lambda sample: _trace_rows(client, sample)
    return pop


def _version_experiment(client, version: dict) -> str:
    run_id = version.get("run_id")
    if not run_id:
        raise InputError(f"model version {version.get('name')}/{version.get('version')} has no source run to find "
                         f"its experiment by: pass --experiment NAME")
    return client.get_run(run_id)["info"]["experiment_id"]


def _trace_rows(client: MlflowClient, sample: pd.DataFrame) -> pd.DataFrame:
    """The sampled traces read in full: input, output (and the reference, when an expectation says it)."""
    spec = mlflow_spec(EVAL_SET, traces=True)
    full = {t.get("trace_info", {}).get("trace_id"): t for t in client.batch_get_traces(list(sample["trace_id"]))}
    rows = []
    for tid, stamp in zip(sample["trace_id"], sample["timestamp"]):
        trace = full.get(tid, {})
        row = trace_row(trace.get("trace_info", {"trace_id": tid}), trace.get("spans", []), spec, "inspection")
        out = row["output"]
        shadow = out.get("shadow_output") if isinstance(out, dict) else None
        rows.append({"id": tid, "input": row["input"], "reference": row["reference"],
                     "output": out.get("output", out) if isinstance(out, dict) and shadow is not None else out,
                     "shadow_output": shadow, "timestamp": stamp, "trace_id": tid})
    return pd.DataFrame(rows)
