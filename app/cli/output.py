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


def finite(obj):
    """obj with every NaN or infinite float as None: JSON has no NaN/Infinity and
    strict readers (jq, JSON.parse) refuse them. Iterative: any nesting depth."""
    def fix(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None, False
        if isinstance(v, (dict, list, tuple)):
            return v, True
        if hasattr(v, "item") and not isinstance(v, (str, bytes)):
            try:
                item = v.item()
            except (ValueError, AttributeError, TypeError):
                return v, False
            if isinstance(item, float) and not math.isfinite(item):
                return None, False
        return v, False

    root, nested = fix(obj)
    if not nested:
        return root
    top = [None]
    stack = [(top, 0, root)]
    while stack:
        parent, key, value = stack.pop()
        if isinstance(value, dict):
            new = {}
            parent[key] = new
            for k, v in value.items():
                v, more = fix(v)
                new[k] = v
                if more:
                    stack.append((new, k, v))
        else:
            new = list(value)
            parent[key] = new
            for i, v in enumerate(new):
                v, more = fix(v)
                new[i] = v
                if more:
                    stack.append((new, i, v))
    return top[0]


def _dumps(obj, **kw) -> str:
    try:
        return json.dumps(finite(obj), ensure_ascii=False, default=jsonable, allow_nan=False, **kw)
    except RecursionError:   # nested deeper than json.dumps goes: the value as text instead
        return json.dumps(finite(_shallow(obj)), ensure_ascii=False, default=jsonable, allow_nan=False, **kw)


def _shallow(obj):
    """Top-level values of obj; any container below as its text (str)."""
    def cut(v):
        return v if not isinstance(v, (dict, list, tuple)) else f"(nested too deeply to show as JSON: {type(v).__name__})"
    if isinstance(obj, dict):
        return {k: cut(v) for k, v in obj.items()}
    return cut(obj)


def print_json(obj, out=None) -> None:
    (out or sys.stdout).write(_dumps(obj, indent=2) + "\n")


def print_json_line(obj, out=None) -> None:
    (out or sys.stdout).write(_dumps({k: jsonable(v) for k, v in obj.items()}) + "\n")


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


def closed_pipe() -> int:
    """The reader of stdout went away (`signoff samples … | head -1`): stop quietly,
    exit 141 (128 + SIGPIPE) as a Unix tool killed by SIGPIPE shows in the shell.
    stdout now points at /dev/null so that Python's flush at exit says nothing."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
    return 141
