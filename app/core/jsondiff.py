"""Structural differences between two JSON values (pure, no Qt).

    diff_json(a, b) -> JsonDiff (a tree of nodes)
    rows(diff)      -> the tree as indented rows, for a view or a report

Objects are compared key by key, whatever the key order. Arrays are aligned
on their elements (an element inserted at the front is one addition, not a
change of every element after it); elements that replace each other are
diffed in turn. Leaves are equal when their canonical JSON text is equal,
the same rule the comparison engine uses to call a sample unchanged
(signoff.core.normalise), so `1` and `1.0`, `3` and `"3"`, `true` and `1` all
differ (and the row says so).

Statuses of a node:
    same      equal on both sides
    added     only in B (the candidate)
    removed   only in A (the baseline)
    changed   a leaf (or a type) that differs
    modified  an object or array present on both sides with differences inside
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any, Iterator, Literal

from .hashing import canonical_json

Status = Literal["same", "added", "removed", "changed", "modified"]


class _Missing:
    """The value on a side that does not have the key."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()

# Words for each status (never colour alone): (mark, word).
MARKS: dict[str, tuple[str, str]] = {
    "same": (" ", "same"),
    "added": ("+", "added"),
    "removed": ("−", "removed"),
    "changed": ("~", "changed"),
    "modified": ("~", "changed inside"),
}


# JSON nested deeper than this is not shown as a tree: the views and the report show
# its text with the note TOO_DEEP (docs/trust.md). The comparison has no such limit:
# signoff.core.normalise compares such a value by its text.
MAX_DEPTH = 200
TOO_DEEP = f"nested too deeply to show (more than {MAX_DEPTH} levels)"


def json_depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deeply `value` nests (a scalar is 0, [1] is 1), counted without recursion;
    stops at limit + 1."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, dict):
            items = v.values()
        elif isinstance(v, (list, tuple)):
            items = v
        else:
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                return deepest
        stack.extend((item, depth) for item in items)
    return deepest


@dataclass(frozen=True)
class ParsedJson:
    value: Any          # the parsed value, MISSING when there is none
    ok: bool            # False: the text is not JSON (value holds the text)
    error: str = ""


def parse_json(value: Any) -> ParsedJson:
    """A stored output as JSON: dicts and lists as they are, text parsed.

    None / NaN is "no output" (MISSING). Text that is not JSON comes back
    with ok=False and the text itself as the value, so it can still be shown.
    """
    if value is None or value is MISSING:
        return ParsedJson(MISSING, True)
    if isinstance(value, float) and value != value:
        return ParsedJson(MISSING, True)
    if isinstance(value, (dict, list, tuple)):
        if json_depth(value) > MAX_DEPTH:
            return ParsedJson(f"({TOO_DEEP})", False, TOO_DEEP)
        return ParsedJson(value, True)
    if isinstance(value, (bool, int, float)):
        return ParsedJson(value, True)
    if isinstance(value, (bytes, bytearray)):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return ParsedJson(f"({len(value):,} bytes, not UTF-8 text)", False, "not UTF-8 text")
    text = str(value)
    try:
        parsed = json.loads(text)
    except RecursionError:
        return ParsedJson(text, False, TOO_DEEP)
    except (TypeError, ValueError) as exc:
        return ParsedJson(text, False, f"not valid JSON: {exc}")
    if json_depth(parsed) > MAX_DEPTH:
        return ParsedJson(text, False, TOO_DEEP)
    return ParsedJson(parsed, True)


@dataclass(frozen=True)
class JsonDiff:
    key: str | int | None                 # object key, array index (B's index, A's for removed), None at the root
    status: Status
    a: Any = MISSING
    b: Any = MISSING
    children: tuple["JsonDiff", ...] = ()
    a_index: int | None = None            # for array elements: the index on each side
    b_index: int | None = None

    @property
    def changed(self) -> bool:
        return self.status != "same"

    def walk(self) -> Iterator["JsonDiff"]:
        yield self
        for child in self.children:
            yield from child.walk()

    def counts(self) -> dict[str, int]:
        """How many leaves or subtrees were added, removed or changed (the root not counted)."""
        out = {"added": 0, "removed": 0, "changed": 0}
        for node in self.walk():
            if node is self:
                continue
            if node.status in out:
                out[node.status] += 1
        return out


def _kind(value: Any) -> str:
    if value is MISSING:
        return "missing"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, tuple):
        return "array"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


def type_word(value: Any) -> str:
    """The JSON type of a value, as a word for people ("text", "number", …)."""
    return {"string": "text", "missing": "nothing"}.get(_kind(value), _kind(value))


def _key(value: Any) -> str:
    try:
        return canonical_json(value)
    except RecursionError:   # parse_json keeps such values out of the tree; a caller's own value may not
        return "\0deep:" + str(id(value))


def diff_json(a: Any, b: Any, *, key: str | int | None = None, a_index: int | None = None,
              b_index: int | None = None) -> JsonDiff:
    """The structural difference of A (baseline) and B (candidate); MISSING for no value."""
    ka, kb = _kind(a), _kind(b)
    if ka == "missing" and kb == "missing":
        return JsonDiff(key, "same", a, b, a_index=a_index, b_index=b_index)
    if ka == "missing":
        return JsonDiff(key, "added", a, b, _only(b, "added"), a_index, b_index)
    if kb == "missing":
        return JsonDiff(key, "removed", a, b, _only(a, "removed"), a_index, b_index)
    if ka == "object" and kb == "object":
        children = []
        for k in _ordered_keys(a, b):
            children.append(diff_json(a.get(k, MISSING), b.get(k, MISSING), key=k))
        status: Status = "same" if all(c.status == "same" for c in children) else "modified"
        return JsonDiff(key, status, a, b, tuple(children), a_index, b_index)
    if ka == "array" and kb == "array":
        children = _diff_arrays(list(a), list(b))
        status = "same" if all(c.status == "same" for c in children) else "modified"
        return JsonDiff(key, status, a, b, tuple(children), a_index, b_index)
    same = ka == kb and _key(a) == _key(b)
    return JsonDiff(key, "same" if same else "changed", a, b, (), a_index, b_index)


def _ordered_keys(a: dict, b: dict) -> list:
    """Keys of both objects, sorted (key order is not a difference), text keys as text."""
    keys = set(a) | set(b)
    return sorted(keys, key=lambda k: (str(type(k).__name__) != "str", str(k)))


def _only(value: Any, status: Status) -> tuple[JsonDiff, ...]:
    """The children of a subtree that exists on one side only (all with the same status)."""
    side = "b" if status == "added" else "a"
    if isinstance(value, dict):
        return tuple(_one_side(value[k], status, side, key=k) for k in _ordered_keys(value, {}))
    if isinstance(value, (list, tuple)):
        return tuple(_one_side(v, status, side, key=i, index=i) for i, v in enumerate(value))
    return ()


def _one_side(value: Any, status: Status, side: str, *, key, index: int | None = None) -> JsonDiff:
    kwargs = {"a": value} if side == "a" else {"b": value}
    idx = {"a_index": index} if side == "a" else {"b_index": index}
    return JsonDiff(key, status, children=_only(value, status), **kwargs, **idx)


def _diff_arrays(a: list, b: list) -> list[JsonDiff]:
    ka, kb = [_key(v) for v in a], [_key(v) for v in b]
    out: list[JsonDiff] = []
    sm = SequenceMatcher(None, ka, kb, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            for i, j in zip(range(i1, i2), range(j1, j2)):
                out.append(JsonDiff(j, "same", a[i], b[j], _same_children(a[i]), i, j))
            continue
        # Pair replaced elements one to one (diffed inside), the rest is added or removed.
        n = min(i2 - i1, j2 - j1) if tag == "replace" else 0
        for k in range(n):
            out.append(diff_json(a[i1 + k], b[j1 + k], key=j1 + k, a_index=i1 + k, b_index=j1 + k))
        for i in range(i1 + n, i2):
            out.append(JsonDiff(i, "removed", a[i], MISSING, _only(a[i], "removed"), i, None))
        for j in range(j1 + n, j2):
            out.append(JsonDiff(j, "added", MISSING, b[j], _only(b[j], "added"), None, j))
    return out


def _same_children(value: Any) -> tuple[JsonDiff, ...]:
    if isinstance(value, dict):
        return tuple(JsonDiff(k, "same", value[k], value[k], _same_children(value[k]))
                     for k in _ordered_keys(value, {}))
    if isinstance(value, (list, tuple)):
        return tuple(JsonDiff(i, "same", v, v, _same_children(v), i, i) for i, v in enumerate(value))
    return ()


# --- as rows ---------------------------------------------------------------------------

@dataclass(frozen=True)
class DiffRow:
    depth: int
    path: str            # e.g. items[2].price
    key: str             # what the row is labelled with: "price", "[2]", "" for the root
    status: Status
    a_text: str          # the A value as JSON text ("{…}" for containers with children shown below)
    b_text: str
    note: str = ""       # e.g. "type: number → text", "moved from [3]"
    has_children: bool = False


def leaf_text(value: Any, *, limit: int = 2_000) -> str:
    """A value as compact JSON text (strings keep their quotes, so types stay visible)."""
    if value is MISSING:
        return ""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    except RecursionError:
        text = f"({TOO_DEEP})"
    if len(text) > limit:
        text = text[:limit] + f"… ({len(text) - limit:,} more characters)"
    return text


def _container_text(value: Any) -> str:
    if isinstance(value, dict):
        return "{…}" if value else "{}"
    if isinstance(value, (list, tuple)):
        return "[…]" if value else "[]"
    return leaf_text(value)


def _label(node: JsonDiff) -> str:
    if node.key is None:
        return ""
    if isinstance(node.key, int) and (node.a_index is not None or node.b_index is not None):
        ia, ib = node.a_index, node.b_index
        if ia is not None and ib is not None and ia != ib:
            return f"[{ia}→{ib}]"
        return f"[{ib if ib is not None else ia}]"
    return str(node.key)


def _note(node: JsonDiff) -> str:
    if node.status == "changed":
        ta, tb = type_word(node.a), type_word(node.b)
        if ta != tb:
            return f"type: {ta} → {tb}"
    return ""


def rows(diff: JsonDiff, *, only_changes: bool = False) -> list[DiffRow]:
    """The tree as rows, depth first. only_changes leaves out the unchanged parts
    (the path of every change is kept)."""
    out: list[DiffRow] = []

    def visit(node: JsonDiff, depth: int, path: str) -> None:
        if only_changes and node.status == "same" and depth > 0:
            return
        label = _label(node)
        if depth == 0:
            here = ""
        elif label.startswith("["):
            here = path + label
        else:
            here = f"{path}.{label}" if path else label
        has_children = bool(node.children)
        a_text = _container_text(node.a) if has_children else leaf_text(node.a)
        b_text = _container_text(node.b) if has_children else leaf_text(node.b)
        out.append(DiffRow(depth, here, label, node.status, a_text, b_text, _note(node), has_children))
        for child in node.children:
            visit(child, depth + 1, here)

    visit(diff, 0, "")
    return out
