"""`mlflow.genai.evaluate` results: one trace per evaluated row, linked to the
evaluation run by the trace metadata `mlflow.sourceRun`, with the scorers'
feedback and the expectations as assessments on the trace.

One row per trace:
    id          inputs[columns.id] (default "id") when the inputs hold it, else a
                hash of the inputs, so the same row of two runs lines up
    input       inputs[columns.input] when given or by convention (input, question,
                prompt, query, request, messages), else all inputs as JSON
    reference   the expectation named columns.reference, else "expected_response",
                else the only expectation
    output      the root span's outputs (outputs[columns.output] when named)
    score       the feedback named columns.score, else the only scorer's feedback
                (bool / yes-no as 1 / 0); human feedback never counts as a score
    trace_id    for posting labels back as assessments
Full inputs and outputs come from the spans (the trace info only holds
previews cut at a few hundred characters).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import numpy as np
import pandas as pd

from signoff.core.config import EvalSetSpec
from signoff.core.errors import InputError
from signoff.core.hashing import canonical_json
from signoff.core.tasks import NULL_TASK, TaskState

from .client import MlflowClient
from .refs import Resolved

SOURCE_RUN_KEY = "mlflow.sourceRun"
INPUT_KEYS = ("input", "question", "prompt", "query", "request", "messages")
HUMAN = "HUMAN"
_DEFAULTS = {role: EvalSetSpec.__dataclass_fields__[f"{role}_column"].default
             for role in ("id", "input", "reference", "output", "score")}


def run_trace_infos(client: MlflowClient, run: Resolved) -> list[dict]:
    """The trace infos (with assessments) of the run's genai evaluation."""
    return client.search_traces(run.experiment_id, f"metadata.`{SOURCE_RUN_KEY}` = '{run.run_id}'")


def load_trace_rows(client: MlflowClient, run: Resolved, spec: EvalSetSpec, *, task: TaskState | None = None,
                    label: str = "") -> pd.DataFrame:
    """One row per trace of the run: id, input, reference, output, score, trace_id."""
    task = task or NULL_TASK
    infos = run_trace_infos(client, run)
    if not infos:
        raise InputError(f"{label}: {run.label} has no genai evaluation traces (no trace with metadata "
                         f"{SOURCE_RUN_KEY} = {run.run_id}); run mlflow.genai.evaluate inside that run, or "
                         f"name a logged table with `table` instead of `traces`")
    full = {t.get("trace_info", {}).get("trace_id"): t for t in
            client.batch_get_traces([i["trace_id"] for i in infos], task=task)}
    rows = []
    for info in infos:
        trace = full.get(info["trace_id"], {})
        rows.append(trace_row(info, trace.get("spans", []), spec, label))
    frame = pd.DataFrame(rows, columns=["id", "input", "reference", "output", "score", "trace_id"])
    frame["score"] = frame["score"].astype(float)
    return frame


def trace_row(info: dict, spans: list[dict], spec: EvalSetSpec, label: str) -> dict:
    trace_id = info.get("trace_id", "")
    where = f"{label}: trace {trace_id}"
    inputs, outputs = _root_io(info, spans, where)
    return {
        "id": _sample_id(inputs, spec.id_column),
        "input": _pick_input(inputs, spec.input_column),
        "reference": _expectation(info, spec.reference_column),
        "output": _pick_output(outputs, spec.output_column),
        "score": _score(info, spec.score_column, where),
        "trace_id": trace_id,
    }


# -- inputs and outputs ---------------------------------------------------------------------

def _root_io(info: dict, spans: list[dict], where: str) -> tuple[Any, Any]:
    root = next((s for s in spans if not s.get("parent_span_id")), None)
    if root is not None:
        attrs = {a["key"]: any_value(a.get("value", {})) for a in root.get("attributes", [])}
        if "mlflow.spanInputs" in attrs or "mlflow.spanOutputs" in attrs:
            return _maybe_json(attrs.get("mlflow.spanInputs")), _maybe_json(attrs.get("mlflow.spanOutputs"))
    # No spans (an older server): the metadata copies, which must be whole JSON (they are cut when long).
    meta = info.get("trace_metadata", {})
    try:
        return json.loads(meta["mlflow.traceInputs"]), json.loads(meta["mlflow.traceOutputs"])
    except (KeyError, ValueError):
        raise InputError(f"{where}: its spans are not on the server and the trace info only holds cut-off "
                         f"previews of its inputs and outputs") from None


def any_value(v: dict) -> Any:
    """An OpenTelemetry AnyValue (protobuf JSON) as a Python value."""
    if "string_value" in v:
        return v["string_value"]
    if "bool_value" in v:
        return bool(v["bool_value"])
    if "int_value" in v:
        return int(v["int_value"])  # int64 arrives as a JSON string
    if "double_value" in v:
        return float(v["double_value"])
    if "array_value" in v:
        return [any_value(x) for x in v["array_value"].get("values", [])]
    if "kvlist_value" in v:
        return {kv["key"]: any_value(kv.get("value", {})) for kv in v["kvlist_value"].get("values", [])}
    if "bytes_value" in v:
        return base64.b64decode(v["bytes_value"])
    return None


def _maybe_json(value: Any) -> Any:
    """Older MLflow stored span inputs/outputs as JSON text; schema 3 stores the values themselves.
    Only an object or array in text form is decoded: a plain string output stays as written."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _sample_id(inputs: Any, key: str) -> str:
    if isinstance(inputs, dict) and key in inputs and inputs[key] not in (None, ""):
        return str(inputs[key])
    return "h:" + hashlib.sha256(canonical_json(inputs).encode("utf-8")).hexdigest()[:16]


def _pick_input(inputs: Any, key: str) -> Any:
    if isinstance(inputs, dict):
        if key != _DEFAULTS["input"] and key in inputs:
            return _text(inputs[key])
        for k in INPUT_KEYS:
            if k in inputs:
                return _text(inputs[k])
    return _text(inputs)


def _pick_output(outputs: Any, key: str) -> Any:
    if isinstance(outputs, dict) and key != _DEFAULTS["output"] and key in outputs:
        return _text(outputs[key])
    return _text(outputs)


def _text(value: Any) -> Any:
    return canonical_json(value) if isinstance(value, (dict, list)) else value


# -- assessments ----------------------------------------------------------------------------

def _valid(assessments: list[dict]) -> list[dict]:
    return [a for a in assessments if a.get("valid", True) is not False]


def _value(assessment: dict, kind: str) -> Any:
    body = assessment.get(kind, {}) or {}
    if "value" in body:
        return body["value"]
    serialized = body.get("serialized_value")
    if isinstance(serialized, dict) and "value" in serialized:
        try:
            return json.loads(serialized["value"])
        except ValueError:
            return serialized["value"]
    return None


def _expectation(info: dict, key: str) -> Any:
    found = {a.get("assessment_name"): _value(a, "expectation")
             for a in _valid(info.get("assessments", [])) if "expectation" in a}
    if key in found:
        return _text(found[key])
    if "expected_response" in found:
        return _text(found["expected_response"])
    if len(found) == 1:
        return _text(next(iter(found.values())))
    return None


def feedbacks(info: dict) -> dict[str, list[dict]]:
    """Scorer feedback by name (no human feedback: that is what reviewers say, not a score)."""
    out: dict[str, list[dict]] = {}
    for a in _valid(info.get("assessments", [])):
        if "feedback" in a and (a.get("source") or {}).get("source_type") != HUMAN:
            out.setdefault(a.get("assessment_name", ""), []).append(a)
    return out


def _score(info: dict, key: str, where: str) -> float:
    found = feedbacks(info)
    if key in found:
        chosen = found[key]
    elif key != _DEFAULTS["score"]:
        raise InputError(f"{where} has no scorer feedback named {key!r} (columns.score in signoff.toml); "
                         f"its feedback: {', '.join(sorted(found)) or 'none'}")
    elif len(found) == 1:
        chosen = next(iter(found.values()))
    else:
        return np.nan  # no scorer, or several and none named: the sample is 'changed' when outputs differ
    return _as_score(_value(chosen[-1], "feedback"), where, chosen[-1].get("assessment_name", ""))


def _as_score(value: Any, where: str, name: str) -> float:
    if value is None:
        return np.nan
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("yes", "true", "pass"):
            return 1.0
        if text in ("no", "false", "fail"):
            return 0.0
        try:
            return float(text)
        except ValueError:
            pass
    raise InputError(f"{where}: feedback {name!r} is {value!r}, not a number, yes/no or true/false; "
                     f"name a numeric scorer in columns.score")


def ambiguous_scores(frame_infos: list[dict]) -> list[str]:
    """Scorer names when there are several and none is named (for a warning)."""
    names = set()
    for info in frame_infos:
        names.update(feedbacks(info))
    return sorted(names) if len(names) > 1 else []
