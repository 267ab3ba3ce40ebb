"""Numbers and small tables: each model's values next to the reference, with
the error of each (pure, no Qt).

An output of a `number` eval set can be one number ("3.5", 3.5), or a
small table of them: a list ([1, 2, 3]), an object ({"p50": 1.2, "p90": 3}),
a list of rows ([[1, 2], [3, 4]] or [{"x": 1}, {"x": 2}]), as JSON text or
already parsed. Every value gets a key ("value", "[2]", "p90", "[1].x"), and
the rows line the three sides up by key:

    number_rows(reference, a, b) -> [NumberRow(key, ref, a, b), ...]

A value that is not a number (text in a table cell) stays as text; it has
no error, and equality is exact.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(,\d{3})+(\.\d+)?$")
MAX_CELLS = 2_000          # a "small table"; the rest is reported as cut


@dataclass(frozen=True)
class Cells:
    values: dict[str, Any]      # key -> float, or str for a cell that is not a number
    ok: bool = True             # False: could not be read as numbers at all
    note: str = ""              # why not, or "cut at 2,000 cells"
    scalar: bool = False        # one number (key "value")


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return isinstance(value, float) and math.isnan(value)
    except TypeError:
        return False


def _as_number(value: Any) -> float | str | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip().replace("\u2212", "-")
        if not text:
            return value
        try:
            return float(text)
        except ValueError:
            pass
        if _THOUSANDS.match(text):
            return float(text.replace(",", ""))
        return value
    return None


def read_cells(value: Any) -> Cells:
    """The numbers in one stored output, keyed."""
    if _is_missing(value):
        return Cells({})
    if isinstance(value, (bool, int, float)):
        return Cells({"value": float(value)}, scalar=True)
    if isinstance(value, (bytes, bytearray)):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return Cells({}, False, "not text")
    if isinstance(value, str):
        n = _as_number(value)
        if isinstance(n, float):
            return Cells({"value": n}, scalar=True)
        try:
            value = json.loads(value)
        except (TypeError, ValueError):
            return Cells({"value": value}, False, "not a number")
        if isinstance(value, (bool, int, float)):
            return Cells({"value": float(value)}, scalar=True)
    out: dict[str, Any] = {}
    cut = [False]

    def add(key: str, v: Any) -> None:
        if len(out) >= MAX_CELLS:
            cut[0] = True
            return
        if isinstance(v, dict):
            for k, sub in v.items():
                add(f"{key}.{k}" if key else str(k), sub)
        elif isinstance(v, (list, tuple)):
            for i, sub in enumerate(v):
                add(f"{key}[{i}]", sub)
        else:
            n = _as_number(v)
            out[key or "value"] = n if n is not None else ("null" if v is None else str(v))

    add("", value)
    note = f"cut at {MAX_CELLS:,} cells" if cut[0] else ""
    return Cells(out, True, note)


@dataclass(frozen=True)
class NumberRow:
    key: str
    reference: Any = None       # float, str or None (no such cell)
    a: Any = None
    b: Any = None

    @staticmethod
    def _err(v, ref) -> float | None:
        if isinstance(v, float) and isinstance(ref, float) and math.isfinite(v) and math.isfinite(ref):
            return v - ref
        return None

    @property
    def a_error(self) -> float | None:
        return self._err(self.a, self.reference)

    @property
    def b_error(self) -> float | None:
        return self._err(self.b, self.reference)

    @property
    def differs(self) -> bool:
        return not _same(self.a, self.b)

    def closer(self) -> str:
        """'a', 'b' or '' (equal, or no error to compare)."""
        ea, eb = self.a_error, self.b_error
        if ea is None or eb is None or abs(ea) == abs(eb):
            return ""
        return "a" if abs(ea) < abs(eb) else "b"


def _same(x, y) -> bool:
    if isinstance(x, float) and isinstance(y, float):
        return x == y or (math.isnan(x) and math.isnan(y))
    return x == y


def number_rows(reference: Any, a: Any, b: Any) -> tuple[list[NumberRow], dict[str, Cells]]:
    """Rows keyed like the values, in the order the reference (then A, then B) has them."""
    cells = {"reference": read_cells(reference), "a": read_cells(a), "b": read_cells(b)}
    keys: list[str] = []
    seen: set[str] = set()
    for side in ("reference", "a", "b"):
        for k in cells[side].values:
            if k not in seen:
                seen.add(k)
                keys.append(k)
    out = [NumberRow(k, cells["reference"].values.get(k), cells["a"].values.get(k), cells["b"].values.get(k))
           for k in keys]
    return out, cells


def error_summary(rows: list[NumberRow]) -> dict[str, float | int | None]:
    """Mean absolute error of each side over the cells both it and the reference have."""
    out: dict[str, float | int | None] = {}
    for side in ("a", "b"):
        errs = [abs(e) for e in (getattr(r, f"{side}_error") for r in rows) if e is not None]
        out[f"{side}_mae"] = sum(errs) / len(errs) if errs else None
        out[f"{side}_cells"] = len(errs)
    out["differing"] = sum(1 for r in rows if r.differs)
    return out


def format_number(v: Any, *, sign: bool = False) -> str:
    """Up to 6 significant digits, thousands separators, a real minus sign; text as it is."""
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if not isinstance(v, float):
        v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return ("+" if sign and v > 0 else "") + ("∞" if v > 0 else "−∞")
    if v == 0:
        return "0"
    mag = abs(v)
    if 1e-4 <= mag < 1e15:
        text = f"{v:,.6g}" if mag >= 1e6 else f"{v:.6g}"
        if "e" in text:
            text = f"{v:,.0f}"
    else:
        text = f"{v:.4g}"
    if sign and v > 0:
        text = "+" + text
    return text.replace("-", "−")
