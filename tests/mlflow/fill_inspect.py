"""Production traffic for the inspection tests (run with the MLflow virtualenv's python):
a registered model `support-bot-prod` whose version 1 (alias `champion`) is made from a run,
30 production answers traced inside that run (linked by the trace metadata mlflow.sourceRun)
and 5 more that started 10 days ago (for --since). Prints the facts as JSON.

    fill_inspect.py --tracking-uri URL
"""

from __future__ import annotations

import argparse
import json
import time

import mlflow
from mlflow import MlflowClient

MODEL = "support-bot-prod"
EXPERIMENT = "support-prod"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--tracking-uri", required=True)
    args = p.parse_args()
    mlflow.set_tracking_uri(args.tracking_uri)
    mlflow.set_experiment(EXPERIMENT)

    @mlflow.trace
    def answer(question: str) -> str:
        return "refund in 5 days" if "refund" in question else "please reset your password"

    old_ns = time.time_ns() - 10 * 86400 * 10**9
    with mlflow.start_run(run_name="support bot in production") as run:
        for i in range(30):
            answer(f"question {i}: {'refund' if i % 3 == 0 else 'login'} help")
        for i in range(5):   # older than a week: outside --since 7d
            span = mlflow.start_span_no_context(name="answer", inputs={"question": f"old question {i}"},
                                                start_time_ns=old_ns + i)
            span.end(outputs="an old answer", end_time_ns=old_ns + i + 1000)
    client = MlflowClient()
    client.create_registered_model(MODEL)
    mv = client.create_model_version(MODEL, source=f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    client.set_registered_model_alias(MODEL, "champion", mv.version)
    # Traces reach the server asynchronously: wait for all 35 (a loaded machine takes seconds).
    if hasattr(mlflow, "flush_trace_async_logging"):
        mlflow.flush_trace_async_logging()
    deadline = time.monotonic() + 120
    while True:
        traces = mlflow.search_traces(locations=[run.info.experiment_id], return_type="list")
        if len(traces) >= 35 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    print(json.dumps({"model": MODEL, "experiment": EXPERIMENT, "version": str(mv.version),
                      "run_id": run.info.run_id, "traces": len(traces)}))


if __name__ == "__main__":
    main()
