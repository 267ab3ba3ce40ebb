"""Production predictions for `signoff inspect` (app/service/inspection.py): what the files
source (plugins/files/production.py) and the MLflow source (plugins/mlflow/production.py) share."""

from __future__ import annotations

import numpy as np
import pandas as pd

FILE_FORMATS = (".jsonl", ".ndjson", ".csv", ".parquet")


def utc(value) -> pd.Timestamp | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return pd.Timestamp(int(value), unit="ms", tz="UTC")   # epoch milliseconds
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
