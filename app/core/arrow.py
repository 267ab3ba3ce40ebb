"""The Arrow array behind a pandas column, without a copy.

Comparison tables are Arrow-backed (app/store/frames.py): their text columns
are pandas' "str" over a pyarrow ChunkedArray. The search, the id look-up
and the sample table read those buffers directly; this is the one place that
knows how to get at them.
"""

from __future__ import annotations

import pyarrow as pa


def arrow_of(values) -> pa.ChunkedArray | None:
    """The ChunkedArray behind a pandas Series / extension array (the same object each time,
    no copy), an Arrow array as a ChunkedArray, or None for numpy-backed values."""
    if isinstance(values, pa.ChunkedArray):
        return values
    if isinstance(values, pa.Array):
        return pa.chunked_array([values])
    array = getattr(values, "array", values)
    if not hasattr(array, "__arrow_array__"):
        return None
    try:
        arr = array.__arrow_array__()
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return None
    return pa.chunked_array([arr]) if isinstance(arr, pa.Array) else arr
