"""ci/evaluate.py: an evaluate script for the MLflow recipe in docs/mlflow.md, complete and runnable.

Run by CI on every commit of the model repository (the recipe's `python ci/evaluate.py` step). One
MLflow run per commit: it loads the model at this commit, predicts every sample of the eval set,
logs the predictions as the table signoff.toml names, tags the run with the commit Signoff's
`request --sha` looks for, and registers the model as a new version. tests/mlflow/
test_mlflow_recipe.py runs the recipe with this script against a real MLflow server.

The model here is deliberately tiny (keyword rules in model/rules.json: the first rule whose word
occurs in the text gives the intent), so the example runs anywhere; put your own training or
loading in `load_model` and keep the rest.

Environment (the recipe sets them):
  MLFLOW_TRACKING_URI   the tracking server
  COMMIT_SHA            the commit under review (a pull request's head, not its merge commit)
  BRANCH                optional: the change, so Signoff groups its requests (labels carry over)
  COMMIT_AUTHOR_EMAIL   optional: who made it (no self-approval)
  MODEL_NAME            default "support-intents" (signoff.toml [mlflow] model)
  EVAL_SET              default evals/support_intents.jsonl: JSON lines with id, text, intent
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import mlflow
import pandas as pd

TABLE = "predictions/support_intents.json"    # signoff.toml [[eval_sets]] table = "…"


class KeywordModel(mlflow.pyfunc.PythonModel):
    """Intent by keyword: the first rule whose word is in the text, else "other"."""

    def __init__(self, rules: list[dict]):
        self.rules = rules

    def intent(self, text: str) -> str:
        low = str(text).lower()
        return next((r["intent"] for r in self.rules if r["word"].lower() in low), "other")

    def predict(self, context, model_input, params=None):
        return [self.intent(t) for t in model_input["text"]]


def load_model(repo: Path) -> KeywordModel:
    """Yours: train, or load what this commit holds."""
    return KeywordModel(json.loads((repo / "model" / "rules.json").read_text(encoding="utf-8")))


def main() -> int:
    repo = Path.cwd()
    commit = os.environ.get("COMMIT_SHA", "").strip()
    if not commit:
        print("evaluate.py: COMMIT_SHA is empty; set it to the commit under review", file=sys.stderr)
        return 2
    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    mlflow.set_experiment(os.environ.get("MLFLOW_EXPERIMENT", "support-intents"))
    samples = pd.read_json(repo / os.environ.get("EVAL_SET", "evals/support_intents.jsonl"), lines=True,
                           dtype={"id": str})
    model = load_model(repo)
    tags = {
        "mlflow.source.git.commit": commit,                          # what `signoff request --sha` finds
        "mlflow.source.git.branch": os.environ.get("BRANCH", ""),   # groups the requests of one change
        "mlflow.user": os.environ.get("COMMIT_AUTHOR_EMAIL", ""),    # no self-approval checks this
    }
    with mlflow.start_run(run_name=f"evaluate {commit[:12]}", tags=tags) as run:
        predictions = pd.DataFrame({
            "id": samples["id"],                  # stable per sample: how two versions line up
            "input": samples["text"],
            "reference": samples["intent"],       # optional: scores are derived from it
            "output": model.predict(None, samples),
        })
        mlflow.log_table(predictions, artifact_file=TABLE)
        mlflow.log_metric("accuracy", float((predictions["output"] == predictions["reference"]).mean()))
        # Explicit requirements: inferring them imports the model in a subprocess (slow).
        mlflow.pyfunc.log_model(name="model", python_model=model, pip_requirements=["mlflow", "pandas"],
                                registered_model_name=os.environ.get("MODEL_NAME", "support-intents"))
        print(f"run {run.info.run_id}: {len(predictions)} predictions logged as {TABLE} for commit {commit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
