"""What counts as 'the same output', per output type (the renderers' own
normalisation). Each function maps a pandas Series to a Series of comparable
keys; missing values stay missing."""

from __future__ import annotations

import hashlib
import json

import pandas as pd

from .hashing import canonical_json


def _json_key(value):
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, (dict, list)):
        return canonical_json(value)
    try:
        return canonical_json(json.loads(value))
    except (TypeError, ValueError):
        return "\0raw:" + str(value)  # not JSON: compared as its text


def _number_key(series: pd.Series) -> pd.Series:
    nums = pd.to_numeric(series, errors="coerce")
    # Text that is not a number is compared as text.
    text = series.astype("string")
    return nums.map(lambda v: None if pd.isna(v) else repr(float(v))).where(nums.notna(), text)


def _bytes_key(value):
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return hashlib.sha256(bytes(value)).hexdigest()


def normalise(series: pd.Series, output_type: str) -> pd.Series:
    if output_type == "json":
        return series.map(_json_key).astype("string")
    if output_type == "number":
        return _number_key(series).astype("string")
    if output_type == "image":
        return series.map(_bytes_key).astype("string")
    if output_type == "label":
        return series.astype("string").str.strip()
    return series.astype("string")
