"""The MLflow source and write-back sink (docs/mlflow.md).

Talks to a tracking server's REST API with requests: the app never imports
mlflow. Modules:

    client.py     the REST client (registry, runs, artifact proxy, traces, assessments)
    auth.py       bearer / basic credentials: keyring, MLFLOW_TRACKING_TOKEN, USERNAME/PASSWORD
    cache.py      downloaded artifacts kept by content under the data dir
    refs.py       models:/NAME/VERSION, models:/NAME@ALIAS, run ids, git commits -> runs
    tables.py     logged tables (JSON split form, Parquet) -> samples and predictions
    traces.py     mlflow.genai.evaluate traces and assessments -> samples and predictions
    source.py     MlflowSource (entry point signoff.sources: mlflow)
    writeback.py  tags, alias and assessments through the outbox; MlflowSink (signoff.status_sinks: mlflow)
    browse.py     models, versions and a Source for any two versions, for the app
"""

from .browse import (ModelInfo, RunInfo, VersionComparison, VersionInfo, default_config_text, list_models,
                     list_versions, run_info, source_for_versions, version_commits, versions_awaiting_review)
from .client import MlflowClient
from .errors import (MlflowAuthError, MlflowError, MlflowNotFound, MlflowRequestError, MlflowServerError,
                     MlflowUnreachable)
from .source import MlflowLoadedInput, MlflowSource
from .writeback import MlflowSink

__all__ = [
    "MlflowAuthError", "MlflowClient", "MlflowError", "MlflowLoadedInput", "MlflowNotFound", "MlflowRequestError",
    "MlflowServerError", "MlflowSink", "MlflowSource", "MlflowUnreachable", "ModelInfo", "RunInfo", "VersionComparison",
    "VersionInfo",
    "default_config_text", "list_models", "list_versions", "run_info", "source_for_versions", "version_commits",
    "versions_awaiting_review",
]
