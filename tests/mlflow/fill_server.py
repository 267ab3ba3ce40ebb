"""Fill a real MLflow tracking server the way a CI pipeline would, with the
real mlflow client. Run by the MLflow virtualenv's Python (.venv-mlflow),
never imported by the tests (the app and its tests do not import mlflow):

    .venv-mlflow/bin/python tests/mlflow/fill_server.py --tracking-uri URL --out facts.json \
        --commit-v1 SHA --commit-v2 SHA --config CLASSIC_TOML --genai-config GENAI_TOML --broken-config TOML

What it logs:
- experiment "digits": two runs, each training a scikit-learn classifier on
  scikit-learn's bundled handwritten digits, registering it as a version of
  "digits-classifier" (v1, v2; alias "champion" on v1), tagged with a git
  commit and branch, with
    predictions/digits.json            mlflow.log_table, JSON (v2 leaves 3 samples out)
    predictions/digits_noisy.parquet   mlflow.log_table, Parquet, with a per-sample score
    eval_results_table.json            mlflow.evaluate on the static predictions
    evals/digits_samples.json          the samples, logged as the run's dataset input "digits-test"
    signoff.toml
- experiment "support-bot": two runs of mlflow.genai.evaluate over the same
  questions with a rule-based bot each (no LLM) and a code scorer, so every
  row is a trace with the scorer's feedback and the expected answer.
- experiment "broken": runs that are wrong on purpose (a JSON file that is
  not a logged table, ids that match nothing, no predictions, no signoff.toml).

It writes what it logged to --out (JSON) so that the test can count the
expected change classes itself, without Signoff.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

import mlflow  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

MODEL = "digits-classifier"
AUTHOR = "dana@example.com"
DROPPED_FROM_V2 = 3

QUESTIONS = [
    ("q01", "What is 2+2?", "4"),
    ("q02", "Capital of France?", "Paris"),
    ("q03", "Color of a clear sky?", "blue"),
    ("q04", "Opposite of hot?", "cold"),
    ("q05", "How many days in a week?", "7"),
    ("q06", "Largest planet?", "Jupiter"),
    ("q07", "Freezing point of water in C?", "0"),
    ("q08", "Author of Hamlet?", "Shakespeare"),
    ("q09", "Chemical symbol for gold?", "Au"),
    ("q10", "Square root of 81?", "9"),
    ("q11", "First letter of the alphabet?", "A"),
    ("q12", "Speed of light in km/s (rounded)?", "300000"),
]
BOT_V1 = {"q01": "4", "q02": "Paris", "q03": "blue", "q04": "warm", "q05": "7", "q06": "Saturn",
          "q07": "0", "q08": "Marlowe", "q09": "Ag", "q10": "9", "q11": "A", "q12": "3e5"}
BOT_V2 = {"q01": "4", "q02": "Paris", "q03": "Blue.", "q04": "cold", "q05": "seven", "q06": "Jupiter",
          "q07": "0", "q08": "Bacon", "q09": "Au", "q10": "nine", "q11": "A", "q12": "299792"}


def _correct(predictions, targets, metrics):
    from mlflow.metrics import MetricValue

    scores = [float(p == t) for p, t in zip(predictions, targets)]
    return MetricValue(scores=scores, aggregate_results={"mean": float(np.mean(scores))})


CORRECT = mlflow.models.make_metric(eval_fn=_correct, greater_is_better=True, name="correct")


def digits_data():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    idx = np.arange(len(y))
    return train_test_split(X, y, idx, test_size=0.3, random_state=0)


def pixels_text(x) -> str:
    return " / ".join(" ".join(str(int(v)) for v in row) for row in np.asarray(x).reshape(8, 8))


def train(version: int, X_tr, y_tr):
    from sklearn.linear_model import LogisticRegression

    if version == 1:  # a weak model: few samples, few iterations
        return LogisticRegression(max_iter=30).fit(X_tr[:120], y_tr[:120])
    return LogisticRegression(max_iter=3000).fit(X_tr, y_tr)


def log_classic(version: int, commit: str, config_path: str, data, uri: str) -> dict:
    X_tr, X_te, y_tr, y_te, i_tr, i_te = data
    model = train(version, X_tr, y_tr)
    pred = model.predict(X_te)
    proba = model.predict_proba(X_te)
    rng = np.random.default_rng(7)
    X_noisy = np.clip(X_te + rng.normal(0, 4.0, X_te.shape), 0, 16).round()
    pred_noisy = model.predict(X_noisy)
    p_true_noisy = model.predict_proba(X_noisy)[np.arange(len(y_te)), y_te]

    ids = [f"d{i}" for i in i_te]
    samples = pd.DataFrame({"id": ids, "input": [pixels_text(x) for x in X_te], "reference": y_te.astype(int),
                            "stroke": ["heavy" if x.sum() > 300 else "light" for x in X_te]})
    digits = pd.DataFrame({"id": ids, "input": samples["input"], "reference": y_te.astype(int),
                           "output": pred.astype(int), "confidence": proba.max(axis=1).round(4)})
    if version == 2:
        digits = digits.iloc[DROPPED_FROM_V2:].reset_index(drop=True)
    noisy = pd.DataFrame({"sample_id": [f"n{i}" for i in i_te], "pixels": [pixels_text(x) for x in X_noisy],
                          "target": y_te.astype(int), "prediction": pred_noisy.astype(int),
                          "p_true": p_true_noisy.round(6)})
    static = pd.DataFrame({"id": ids, "pixel_sum": X_te.sum(axis=1).astype(int), "label": y_te.astype(int),
                           "prediction": pred.astype(int)})

    mlflow.set_experiment("digits")
    tags = {"mlflow.source.git.commit": commit, "mlflow.source.git.branch": "candidate/model-v2" if version == 2 else "main",
            "mlflow.user": AUTHOR}
    with mlflow.start_run(run_name=f"digits v{version}", tags=tags) as run:
        run_id = run.info.run_id
        mlflow.log_params({"max_iter": model.max_iter, "train_samples": len(X_tr) if version == 2 else 120})
        mlflow.log_metric("accuracy", float((pred == y_te).mean()))
        mlflow.log_metric("noisy_accuracy", float((pred_noisy == y_te).mean()))
        mlflow.log_table(digits, artifact_file="predictions/digits.json")
        mlflow.log_table(noisy, artifact_file="predictions/digits_noisy.parquet")
        mlflow.log_table(samples, artifact_file="evals/digits_samples.json")
        base = run.info.artifact_uri[len("mlflow-artifacts:"):].strip("/")
        samples_url = f"{uri}/api/2.0/mlflow-artifacts/artifacts/{base}/evals/digits_samples.json"
        dataset = mlflow.data.from_pandas(samples, source=samples_url, name="digits-test")
        mlflow.log_input(dataset, context="evaluation")
        # A per-row metric: mlflow.evaluate writes eval_results_table.json only when there is one.
        mlflow.models.evaluate(data=static, targets="label", predictions="prediction", model_type="classifier",
                               evaluators=["default"], extra_metrics=[CORRECT],
                               evaluator_config={"default": {"log_model_explainability": False}})
        mlflow.log_artifact(config_path)
        # Explicit requirements: inferring them starts a subprocess that imports the model (slow).
        mlflow.sklearn.log_model(model, name="model", registered_model_name=MODEL,
                                 pip_requirements=["scikit-learn"])
    return {
        "run_id": run_id, "commit": commit,
        "digits": digits[["id", "reference", "output"]].values.tolist(),
        "digits_samples": len(samples),
        "noisy": noisy[["sample_id", "target", "prediction", "p_true"]].values.tolist(),
        "eval": static[["id", "label", "prediction"]].values.tolist(),
        "accuracy": float((pred == y_te).mean()),
    }


def log_genai(name: str, bot: dict, commit: str, config_path: str) -> dict:
    from mlflow.genai.scorers import scorer

    @scorer
    def exact_match(outputs, expectations) -> float:
        return 1.0 if str(outputs).strip() == str(expectations.get("expected_response", "")).strip() else 0.0

    @mlflow.trace
    def answer(id: str, question: str) -> str:  # noqa: A002 - the inputs' keys are the arguments
        return bot[id]

    data = [{"inputs": {"id": qid, "question": q}, "expectations": {"expected_response": a}} for qid, q, a in QUESTIONS]
    mlflow.set_experiment("support-bot")
    with mlflow.start_run(run_name=f"support bot {name}",
                          tags={"mlflow.source.git.commit": commit, "mlflow.user": AUTHOR}) as run:
        mlflow.log_artifact(config_path)
        mlflow.genai.evaluate(data=data, predict_fn=answer, scorers=[exact_match])
    rows = [[qid, a, bot[qid], 1.0 if bot[qid].strip() == a else 0.0] for qid, _, a in QUESTIONS]
    return {"run_id": run.info.run_id, "rows": rows}


def log_broken(config_path: str) -> dict:
    """Runs that are wrong on purpose, for the error messages."""
    mlflow.set_experiment("broken")
    out = {}
    with mlflow.start_run(run_name="malformed table") as run:
        mlflow.log_artifact(config_path)
        mlflow.log_text('[{"id": "d1", "output": 3}]', "predictions/digits.json")  # JSON, but not a logged table
        out["malformed"] = run.info.run_id
    with mlflow.start_run(run_name="other ids") as run:
        mlflow.log_artifact(config_path)
        mlflow.log_table(pd.DataFrame({"id": ["x1", "x2"], "output": [1, 2], "reference": [1, 1]}),
                         artifact_file="predictions/digits.json")
        out["other_ids"] = run.info.run_id
    with mlflow.start_run(run_name="no predictions") as run:
        mlflow.log_artifact(config_path)
        mlflow.log_metric("accuracy", 0.5)
        out["no_predictions"] = run.info.run_id
    with mlflow.start_run(run_name="no signoff.toml") as run:
        mlflow.log_table(pd.DataFrame({"id": ["x1"], "output": [1]}), artifact_file="predictions/digits.json")
        out["no_config"] = run.info.run_id
    return out


def wait_for(uri: str, seconds: float) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"the MLflow server at {uri} did not answer /health within {seconds:g}s")
        time.sleep(0.3)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--tracking-uri", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--commit-v1", required=True)
    p.add_argument("--commit-v2", required=True)
    p.add_argument("--config", required=True, help="signoff.toml logged with the digits runs")
    p.add_argument("--genai-config", required=True, help="signoff.toml logged with the support-bot runs")
    p.add_argument("--broken-config", required=True, help="signoff.toml logged with the runs that are wrong on purpose")
    p.add_argument("--wait", type=float, default=0, help="seconds to wait for the server to answer /health "
                                                        "(the fixture starts this script while the server starts)")
    args = p.parse_args()
    from sklearn.datasets import load_digits  # noqa: F401  (import while the server may still be starting)
    from sklearn.linear_model import LogisticRegression  # noqa: F401

    wait_for(args.tracking_uri, args.wait)
    started = time.monotonic()
    mlflow.set_tracking_uri(args.tracking_uri)
    data = digits_data()
    facts = {"model": MODEL, "author": AUTHOR, "dropped_from_v2": DROPPED_FROM_V2, "versions": {}}
    for version, commit in ((1, args.commit_v1), (2, args.commit_v2)):
        facts["versions"][str(version)] = log_classic(version, commit, args.config, data, args.tracking_uri)
        print(f"[fill] digits v{version} logged at {time.monotonic() - started:.1f}s", flush=True)
    MlflowClient().set_registered_model_alias(MODEL, "champion", "1")
    facts["genai"] = {"v1": log_genai("v1", BOT_V1, "1" * 40, args.genai_config)}
    print(f"[fill] genai v1 at {time.monotonic() - started:.1f}s", flush=True)
    facts["genai"]["v2"] = log_genai("v2", BOT_V2, "2" * 40, args.genai_config)
    print(f"[fill] genai v2 at {time.monotonic() - started:.1f}s", flush=True)
    facts["broken"] = log_broken(args.broken_config)
    facts["seconds"] = round(time.monotonic() - started, 1)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(facts, f, default=lambda o: o.item() if hasattr(o, "item") else str(o))


if __name__ == "__main__":
    main()
