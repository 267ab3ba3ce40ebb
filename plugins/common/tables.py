"""Read one table (JSONL, CSV or Parquet) from bytes, chosen by the file's extension.

Every problem is an InputError naming the file (and the physical line, for
JSONL and CSV: a quoted CSV field may span lines, so a record number would
point at the wrong place), so whoever wrote the file knows what to fix.
row_lines() maps a row of the frame back to its physical line for messages
that find a bad value later (a bad id, a non-finite score).
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from typing import Iterable

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from signoff.core.errors import InputError

FORMATS = (".jsonl", ".csv", ".parquet")


def table_format(path: str) -> str:
    """The format of `path` by its extension: "jsonl", "csv" or "parquet"."""
    lower = path.lower()
    for ext in FORMATS:
        if lower.endswith(ext):
            return ext[1:]
    if lower.endswith(".ndjson"):
        return "jsonl"
    raise InputError(f"{path}: unknown table format; use one of {', '.join(FORMATS)}")


def read_table(data: bytes, name: str, *, where: str = "", text_columns: Iterable[str] = (),
               exact_columns: Iterable[str] = ()) -> pd.DataFrame:
    """Parse `data` as the table file `name` (its extension picks the format).

    where: appended to the name in messages, e.g. "(baseline a1b2c3d)".
    text_columns: CSV columns read as text, never as numbers (ids like "007").
    exact_columns: columns kept as Python objects with a missing value as None,
        so that "no value" (null, an empty CSV cell) stays apart from a NaN the
        file wrote (JSON NaN, CSV text "NaN", a Parquet NaN); CSV reads them as text.
    """
    label = f"{name} {where}".strip()
    exact = [c for c in exact_columns if c]
    fmt = table_format(name)
    if fmt == "jsonl":
        frame = _read_jsonl(data, label, exact)
    elif fmt == "csv":
        frame = _read_csv(data, label, set(text_columns) | set(exact))
    else:
        frame = _read_parquet(data, label, exact)
    for col in exact:
        if col not in frame.columns:
            continue
        if frame[col].dtype != object:
            values = frame[col].to_numpy(dtype=object, na_value=None)
            frame[col] = pd.Series(values, index=frame.index, dtype=object)
        elif fmt == "csv":   # read as text: a NaN there is an empty cell (the text "NaN" stays text)
            frame[col] = frame[col].where(frame[col].notna(), None)
    return frame


def read_arrow(data: bytes, name: str, *, where: str = "", text_columns: Iterable[str] = (),
               exact_columns: Iterable[str] = ()) -> pa.Table | pd.DataFrame:
    """As read_table, but what pyarrow reads (Parquet; JSON Lines of flat records) stays an Arrow
    table, with no pandas conversion: a null stays apart from a NaN in every column, so exact
    columns need nothing more. CSV and JSON Lines that need the exact path are the pandas frame
    read_table gives. The same checks and messages either way."""
    label = f"{name} {where}".strip()
    fmt = table_format(name)
    if fmt == "parquet":
        return _parquet_table(data, label)
    if fmt == "jsonl":
        table = _jsonl_arrow(data)
        if table is not None:
            return table
    return read_table(data, name, where=where, text_columns=text_columns, exact_columns=exact_columns)


def to_frame(table: pa.Table | pd.DataFrame, exact_columns: Iterable[str] = ()) -> pd.DataFrame:
    """The pandas frame read_table gives for what read_arrow read."""
    if isinstance(table, pd.DataFrame):
        return table
    return _arrow_to_pandas(table, [c for c in exact_columns if c in table.column_names])


def row_lines(data: bytes, name: str) -> list[int] | None:
    """The physical line (1-based) each row of read_table's frame starts on;
    None for formats without lines (Parquet). Costs a pass over the file: for
    error messages only."""
    fmt = table_format(name)
    if fmt == "jsonl":
        data = _strip_bom(data)
        return [n for n, raw in enumerate(data.split(b"\n"), start=1) if raw.strip()]
    if fmt == "csv":
        try:
            return [line for line, _ in _csv_records(data.decode("utf-8-sig"))][1:]
        except (UnicodeDecodeError, _CsvError):
            return None
    return None


# -- JSONL ---------------------------------------------------------------------------

# Arrow types that convert to pandas without changing any value. Anything else
# (structs, lists, timestamps) goes through json.loads so values stay exactly
# as written: Arrow would, e.g., fill every object with the keys of all the others.
_FLAT = (pa.types.is_string, pa.types.is_large_string, pa.types.is_integer,
         pa.types.is_floating, pa.types.is_boolean, pa.types.is_null)


_NULL_LINE = re.compile(rb"\n[ \t\r]*null[ \t\r]*(?:\n|\Z)")   # a literal first: fast


def _has_null_line(data: bytes) -> bool:
    return bool(_NULL_LINE.search(b"\n" + data[:64]) or _NULL_LINE.search(data))


def _read_jsonl(data: bytes, label: str, exact: list[str] = ()) -> pd.DataFrame:
    table = _jsonl_arrow(data)
    if table is not None:
        return _arrow_to_pandas(table, exact)
    data = _strip_bom(data)
    if not data.strip():
        return pd.DataFrame()
    _check_utf8(data, label)
    return _read_jsonl_by_line(data, label, exact)


def _jsonl_arrow(data: bytes) -> pa.Table | None:
    """The file as pyarrow reads it, when that is exact: flat records, no line `null`; else None
    (the exact path by line reads it, and names a bad line)."""
    data = _strip_bom(data)
    if not data.strip():
        return None
    try:
        data.decode("utf-8")   # Arrow would pass invalid bytes through into the strings
    except UnicodeDecodeError:
        return None
    if b"null" in data and _has_null_line(data):
        # A line `null` is no record (the exact path says so); pyarrow 26's reader
        # crashes the process (SIGSEGV) on one at the start of a block.
        return None
    try:
        table = pa_json.read_json(io.BytesIO(data))
    except (pa.ArrowException, ValueError, OverflowError):
        return None  # a bad line, or types that change between rows: the slow path says which
    if all(any(f(t) for f in _FLAT) for t in table.schema.types) and not _has_empty_row(table):
        return table
    return None


def _check_utf8(data: bytes, label: str) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{label} line {line}: not UTF-8 text ({exc.reason})") from None


def _has_empty_row(table: pa.Table) -> bool:
    """Arrow reads a line `null` as a row of nulls; such rows go the exact way."""
    if table.num_columns == 0:
        return table.num_rows > 0
    empty = None
    for column in table.columns:
        nulls = pc.is_null(column)
        empty = nulls if empty is None else pc.and_(empty, nulls)
    return bool(pc.any(empty).as_py())


def _arrow_to_pandas(table: pa.Table, exact: list[str] = ()) -> pd.DataFrame:
    # Nullable ints and bools: a gap must not turn label 1 into "1.0" on one side only.
    def mapper(t: pa.DataType):
        if pa.types.is_integer(t):
            return pd.Int64Dtype()
        if pa.types.is_boolean(t):
            return pd.BooleanDtype()
        return None

    frame = table.to_pandas(types_mapper=mapper)
    for col in exact:   # null stays None, NaN stays NaN (to_pandas would make both NaN)
        if col in table.column_names and col in frame.columns:
            frame[col] = pd.Series(table.column(col).to_pylist(), index=frame.index, dtype=object)
    return frame


def _read_jsonl_by_line(data: bytes, label: str, exact: list[str] = ()) -> pd.DataFrame:
    """Exact values, and on a bad line its number.

    One json.loads over the whole file, each line wrapped in brackets, is a few
    times faster than one call per line; a line that is not exactly one value
    breaks the wrapping (parse error, or an item that is not a 1-list), and
    then the line-by-line scan names it.
    """
    # Split on \n only: str.splitlines would also split on U+2028, legal inside JSON strings.
    lines = [(number, raw.strip()) for number, raw in enumerate(data.split(b"\n"), start=1)]
    lines = [(number, line) for number, line in lines if line]
    try:
        wrapped = json.loads(b"[[" + b"],[".join(line for _, line in lines) + b"]]")
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        wrapped = None
    if (wrapped is not None and len(wrapped) == len(lines)
            and all(type(w) is list and len(w) == 1 and type(w[0]) is dict for w in wrapped)):
        return _frame_of_records([w[0] for w in wrapped], exact)
    for number, line in lines:
        _parse_line(line, number, label)
    raise InputError(f"{label}: not valid JSON Lines")  # unreachable: some line above fails


def _parse_line(line: bytes, number: int, label: str) -> dict:
    try:
        value = json.loads(line)
    except UnicodeDecodeError as exc:
        raise InputError(f"{label} line {number}: not UTF-8 text ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{label} line {number}: not valid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise InputError(f"{label} line {number}: JSON nested too deeply") from None
    if not isinstance(value, dict):
        kind = type(value).__name__ if value is not None else "null"
        raise InputError(f"{label} line {number}: expected a JSON object ({{...}}), got {kind}")
    return value


def _frame_of_records(records: list[dict], exact: list[str] = ()) -> pd.DataFrame:
    """Columns typed like the Arrow path's: ints with gaps stay ints (Int64),
    text is text, nested values stay Python dicts and lists as written."""
    frame = pd.DataFrame(records, dtype=object)
    for col in frame.columns:
        if col in exact:
            frame[col] = pd.Series([r.get(col) for r in records], index=frame.index, dtype=object)
        elif pd.api.types.infer_dtype(frame[col], skipna=True) == "integer":
            try:
                frame[col] = frame[col].astype("Int64")
            except OverflowError:   # beyond 64 bits: kept as Python ints (an id is still an id)
                frame[col] = frame[col].infer_objects()
        else:
            frame[col] = frame[col].infer_objects()
    return frame


def _strip_bom(data: bytes) -> bytes:
    return data[3:] if data.startswith(b"\xef\xbb\xbf") else data


# -- CSV and Parquet -------------------------------------------------------------------

# A CSV field may hold a long output; the csv module's default limit is 128 KiB.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


class _CsvError(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line


def _csv_records(text: str):
    """(physical line a record starts on, its fields) for each record, blank lines
    left out like pandas does. A malformed record raises _CsvError with its line."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    line = 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            what = str(exc)
            if "end of data" in what:
                what = "a quoted field is not closed before the end of the file"
            raise _CsvError(line, what) from None
        if fields and not (len(fields) == 1 and not fields[0].strip()):  # pandas skips blank lines too
            yield line, fields
        line = reader.line_num + 1


def _check_csv_shape(data: bytes, label: str) -> None:
    """Every record has as many fields as the header, and the error names the
    physical line (pandas fills a short row with empty cells without a word,
    and counts records, not lines)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{label} line {line}: not UTF-8 text ({exc.reason})") from None
    records = _csv_records(text)
    try:
        header = next(records, None)
        if header is None:
            return
        width = len(header[1])
        for line, fields in records:
            if len(fields) != width:
                kind = "short row" if len(fields) < width else "long row"
                raise InputError(f"{label} line {line}: {kind}: {len(fields)} field{'s' * (len(fields) != 1)}, "
                                 f"the header has {width}")
    except _CsvError as exc:
        raise InputError(f"{label} line {exc.line}: not a valid CSV file: {exc}") from None


def _read_csv(data: bytes, label: str, text_columns: set[str]) -> pd.DataFrame:
    if not data.strip():
        return pd.DataFrame()
    try:
        frame = pd.read_csv(
            io.BytesIO(data),
            # Text columns stay text; names the file lacks are ignored here (checked later).
            dtype={c: str for c in text_columns},
            # Only an empty cell is missing: an output "NA" or "null" is text, not NaN.
            keep_default_na=False, na_values=[""],
            encoding="utf-8-sig",
        )
    except UnicodeDecodeError:
        _check_csv_shape(data, label)   # names the line
        raise InputError(f"{label}: not UTF-8 text") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OverflowError, csv.Error) as exc:
        _check_csv_shape(data, label)   # a long row or a bad quote: named at its physical line
        raise InputError(f"{label}: not a valid CSV file: {_first_line(exc)}") from None
    # pandas fills a short row with empty cells (its last cell is then empty) and takes
    # the first column as the index when every row is one field long: only then is the
    # slower check by line needed.
    if (len(frame.columns) and not isinstance(frame.index, pd.RangeIndex)) or (
            len(frame.columns) and frame[frame.columns[-1]].isna().any()):
        _check_csv_shape(data, label)
    return frame


def _has_binary(t: pa.DataType) -> bool:
    stack = [t]
    while stack:
        t = stack.pop()
        if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
            return True
        if getattr(pa.types, "is_binary_view", lambda _t: False)(t):
            return True
        stack.extend(t.field(i).type for i in range(t.num_fields))
    return False


def _read_parquet(data: bytes, label: str, exact: list[str] = ()) -> pd.DataFrame:
    table = _parquet_table(data, label)
    try:
        return _arrow_to_pandas(table, exact)
    except (pa.ArrowException, ValueError, TypeError, OverflowError) as exc:
        raise InputError(f"{label}: cannot read this Parquet file's columns: {_first_line(exc)}") from None


def _parquet_table(data: bytes, label: str) -> pa.Table:
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError, ValueError, TypeError, IndexError, OverflowError) as exc:
        raise InputError(f"{label}: not a valid Parquet file: {_first_line(exc)}") from None
    # Bytes are no output, input or id: they would be compared and shown as Python reprs.
    # Columns named *_bytes are the image sets' own (app/core/compare.py BYTES_COLUMNS) and stay.
    for f in table.schema:
        if _has_binary(f.type) and not str(f.name).endswith("_bytes"):
            raise InputError(f"{label}: column {f.name!r} holds binary data (bytes); Signoff reads text, "
                             f"numbers and JSON: write it as text (or, for images, as a path to the image file)")
    return table


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
