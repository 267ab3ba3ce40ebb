"""Printing for the CLI: JSON lines and aligned text tables."""

from __future__ import annotations

import json
import math
import sys


def jsonable(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, (bytes, bytearray)):
        return {"bytes": len(value)}
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            return jsonable(value.item())
        except (ValueError, AttributeError):
            pass
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def print_json(obj, out=None) -> None:
    (out or sys.stdout).write(json.dumps(obj, ensure_ascii=False, default=jsonable, indent=2) + "\n")


def print_json_line(obj, out=None) -> None:
    (out or sys.stdout).write(json.dumps({k: jsonable(v) for k, v in obj.items()}, ensure_ascii=False, default=jsonable) + "\n")


def fmt_num(v, digits: int = 3, sign: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    return f"{v:+.{digits}f}" if sign else f"{v:.{digits}f}"


def table(rows: list[list[str]], header: list[str], right: set[int] = frozenset()) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)] if rows else [len(h) for h in header]
    def line(cells):
        return "  ".join(str(c).rjust(w) if i in right else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def one_line(text, limit: int = 60) -> str:
    s = "" if text is None else str(text)
    s = s.replace("\n", "⏎").replace("\r", "")
    return s if len(s) <= limit else s[: limit - 1] + "…"
