"""Which column plays which role, by the conventions of MLflow's evaluation tables: the MLflow
source (plugins/mlflow/tables.py) and `signoff review A B` (plugins/files/pair.py) guess by it.
Here, not in the MLflow plugin: importing that package imports its HTTP client and more."""

CONVENTIONS: dict[str, tuple[str, ...]] = {
    "id": ("id", "sample_id", "example_id", "row_id", "request_id"),
    "input": ("input", "inputs", "question", "prompt", "text", "request"),
    "reference": ("reference", "expected", "expected_response", "ground_truth", "target", "targets", "label"),
    "output": ("output", "outputs", "prediction", "predictions", "response", "answer"),
    "score": ("score",),
}
