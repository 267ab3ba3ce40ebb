"""What counts as 'the same output', per output type (the renderers' own
normalisation). Each function maps a pandas Series to a Series of comparable
keys; missing values stay missing."""

from __future__ import annotations

import hashlib
import json

import pandas as pd

from .hashing import canonical_json


def _json_key(value):
    """Equal keys for equal JSON values. JSON nested too deeply for Python's parser
    or encoder (RecursionError) is compared as its text, at any depth."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, (dict, list)):
        try:
            return canonical_json(value)
        except RecursionError:
            return "\0deep:" + _deep_text(value)
    try:
        return canonical_json(json.loads(value))
    except (TypeError, ValueError, RecursionError):
        return "\0raw:" + str(value)  # not JSON (or too deep to parse): compared as its text


def _deep_text(value) -> str:
    """A canonical text of a parsed value of any depth, built without recursion."""
    out: list[str] = []
    stack: list = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, _Text):
            out.append(v)
        elif isinstance(v, dict):
            stack.append(_Text("}"))
            for i, k in enumerate(sorted(v, key=str, reverse=True)):
                stack.append(v[k])
                stack.append(_Text(json.dumps(str(k), ensure_ascii=False) + ":"))
                if i < len(v) - 1:
                    stack.append(_Text(","))
            stack.append(_Text("{"))
        elif isinstance(v, (list, tuple)):
            stack.append(_Text("]"))
            for i, item in enumerate(reversed(v)):
                stack.append(item)
                if i < len(v) - 1:
                    stack.append(_Text(","))
            stack.append(_Text("["))
        else:
            out.append(canonical_json(v))
    return "".join(out)


class _Text(str):
    """A piece of _deep_text's output (not a value to encode)."""


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
