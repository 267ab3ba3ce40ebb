"""Word-level differences between two texts, and visible invisibles.

Pure Python (no Qt): the UI turns the spans into formatted text runs, the
HTML report can turn them into escaped <del>/<ins>.

    diff_words(baseline, candidate) -> TextDiff(baseline=[Span...], candidate=[Span...])

The baseline side holds "equal" and "delete" spans, the candidate side
"equal" and "insert" spans; joining a side's span texts gives back that
text exactly (tokens are words, whitespace runs and single punctuation
marks, so nothing is lost or normalised).

Long texts: difflib's SequenceMatcher alone is quadratic on token lists
(whitespace tokens repeat everywhere), so the diff is a patience diff:
common prefix/suffix stripped, tokens unique on both sides as anchors,
SequenceMatcher only on the small pieces between anchors. A 20 KB output
diffs in a few milliseconds; a text past MAX_WORD_DIFF_CHARS is diffed by
line only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from bisect import bisect_left
from difflib import SequenceMatcher
from functools import lru_cache
from itertools import accumulate
from time import perf_counter
from typing import Literal

Op = Literal["equal", "delete", "insert"]

# Words (letters, digits, underscore, combining marks via \w), whitespace runs,
# and any other single character (punctuation, symbols, emoji, controls).
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)



@dataclass(frozen=True)
class Span:
    op: Op
    text: str


@dataclass
class TextDiff:
    baseline: list[Span] = field(default_factory=list)
    candidate: list[Span] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(s.op != "equal" for s in self.baseline) or any(s.op != "equal" for s in self.candidate)


def tokenize(text: str) -> list[str]:
    """Tokens whose concatenation is `text` exactly."""
    return _TOKEN.findall(text)


def _append(spans: list[Span], op: Op, text: str) -> None:
    if not text:
        return
    if spans and spans[-1].op == op:
        spans[-1] = Span(op, spans[-1].text + text)
    else:
        spans.append(Span(op, text))


def _emit(out: TextDiff, tag: str, a: list[str], b: list[str]) -> None:
    if tag == "equal":
        _append(out.baseline, "equal", "".join(a))
        _append(out.candidate, "equal", "".join(b))
    else:
        _append(out.baseline, "delete", "".join(a))
        _append(out.candidate, "insert", "".join(b))


def _opcodes(a: list[str], b: list[str], deadline: float, depth: int = 0) -> list[tuple[str, int, int, int, int]]:
    """Opcodes like SequenceMatcher.get_opcodes, in near-linear time for long inputs.

    difflib alone is far too slow on long token lists (whitespace tokens
    repeat everywhere; 3,500 words take seconds), so this is a patience
    diff: strip the common prefix and suffix, anchor on tokens that occur
    exactly once on each side (longest increasing run of them), recurse
    between anchors, and leave only small pieces to SequenceMatcher.
    """
    n, m = len(a), len(b)
    lo = 0
    while lo < n and lo < m and a[lo] == b[lo]:
        lo += 1
    hi_a, hi_b = n, m
    while hi_a > lo and hi_b > lo and a[hi_a - 1] == b[hi_b - 1]:
        hi_a -= 1
        hi_b -= 1
    ops: list[tuple[str, int, int, int, int]] = []
    if lo:
        ops.append(("equal", 0, lo, 0, lo))
    ops.extend(_middle(a, b, lo, hi_a, lo, hi_b, deadline, depth))
    if hi_a < n:
        ops.append(("equal", hi_a, n, hi_b, m))
    return ops


_SMALL = 2_500        # len(a) * len(b) up to which SequenceMatcher is cheap enough


def _middle(a, b, a0, a1, b0, b1, deadline, depth):
    na, nb = a1 - a0, b1 - b0
    if na == 0 and nb == 0:
        return []
    if na == 0:
        return [("insert", a0, a0, b0, b1)]
    if nb == 0:
        return [("delete", a0, a1, b0, b0)]
    if na * nb <= _SMALL:
        sm = SequenceMatcher(None, a[a0:a1], b[b0:b1], autojunk=False)
        return [(t, a0 + i1, a0 + i2, b0 + j1, b0 + j2) for t, i1, i2, j1, j2 in sm.get_opcodes()]
    if perf_counter() > deadline:
        # Out of time (pathological input): the rest is one change.
        return [("replace", a0, a1, b0, b1)]
    anchors: list[tuple[int, int]] = []
    k = 1
    if depth < 50:
        # Unique single tokens first; in repetitive text, unique runs of 3 or 5
        # tokens ("word space word").
        for k in (1, 3, 5):
            anchors = _unique_anchors(a, b, a0, a1, b0, b1, k)
            if anchors or perf_counter() > deadline:
                break
    if not anchors:
        if na * nb <= 40 * _SMALL:
            sm = SequenceMatcher(None, a[a0:a1], b[b0:b1], autojunk=True)
            return [(t, a0 + i1, a0 + i2, b0 + j1, b0 + j2) for t, i1, i2, j1, j2 in sm.get_opcodes()]
        return [("replace", a0, a1, b0, b1)]
    ops = []
    pa, pb = a0, b0
    for i, j in anchors:
        ops.extend(_opcodes_range(a, b, pa, i, pb, j, deadline, depth + 1))
        ops.append(("equal", i, i + k, j, j + k))
        pa, pb = i + k, j + k
    ops.extend(_opcodes_range(a, b, pa, a1, pb, b1, deadline, depth + 1))
    return ops


def _opcodes_range(a, b, a0, a1, b0, b1, deadline, depth):
    sub = _opcodes(a[a0:a1], b[b0:b1], deadline, depth)
    return [(t, a0 + i1, a0 + i2, b0 + j1, b0 + j2) for t, i1, i2, j1, j2 in sub]


def _unique_anchors(a, b, a0, a1, b0, b1, k: int = 1) -> list[tuple[int, int]]:
    """Starts (i, j) of k-token runs unique on both sides, the longest chain
    increasing in both, not overlapping."""
    def grams(seq, lo, hi):
        count: dict = {}
        pos: dict = {}
        if k == 1:
            for i in range(lo, hi):
                t = seq[i]
                count[t] = count.get(t, 0) + 1
                pos[t] = i
        else:
            for i in range(lo, hi - k + 1):
                t = tuple(seq[i:i + k])
                count[t] = count.get(t, 0) + 1
                pos[t] = i
        return count, pos

    count_a, pos_a = grams(a, a0, a1)
    count_b, pos_b = grams(b, b0, b1)
    pairs = [(pos_a[t], pos_b[t]) for t, c in count_a.items() if c == 1 and count_b.get(t) == 1]
    if not pairs:
        return []
    pairs.sort()
    # Longest increasing subsequence of the b positions (patience sorting).
    tails: list[int] = []          # b position ending the best run of each length
    tails_idx: list[int] = []
    prev = [-1] * len(pairs)
    for n, (_, j) in enumerate(pairs):
        p = bisect_left(tails, j)
        if p == len(tails):
            tails.append(j)
            tails_idx.append(n)
        else:
            tails[p] = j
            tails_idx[p] = n
        prev[n] = tails_idx[p - 1] if p else -1
    chain = []
    n = tails_idx[-1]
    while n >= 0:
        chain.append(pairs[n])
        n = prev[n]
    chain.reverse()
    out: list[tuple[int, int]] = []
    for i, j in chain:
        if not out or (i >= out[-1][0] + k and j >= out[-1][1] + k):
            out.append((i, j))
    return out


def _coalesce(ops):
    """Merge neighbouring opcodes of the same kind (equal / replace)."""
    merged: list[list] = []
    for tag, i1, i2, j1, j2 in ops:
        if i1 == i2 and j1 == j2:
            continue
        kind = "equal" if tag == "equal" else "replace"
        if merged and merged[-1][0] == kind:
            merged[-1][2] = i2
            merged[-1][4] = j2
        else:
            merged.append([kind, i1, i2, j1, j2])
    return merged


def _cleanup(ops, a: list[str], b: list[str]):
    """Fold short coincidental equalities into the changes around them.

    An equal run between two changes that is no longer (in characters) than
    the change on either side of it ("the", " ", ",") is noise for a reader:
    it becomes part of one change (as diff-match-patch's semantic cleanup).
    """
    if len(ops) < 3:
        return ops
    ca = [0, *accumulate(map(len, a))]
    cb = [0, *accumulate(map(len, b))]

    def size(op) -> int:
        return max(ca[op[2]] - ca[op[1]], cb[op[4]] - cb[op[3]])

    out: list[list] = []
    for op in ops:
        out.append(list(op))
        while (len(out) >= 3 and out[-1][0] == "replace" and out[-2][0] == "equal"
               and out[-3][0] == "replace"):
            eq = size(out[-2])
            if eq > size(out[-1]) or eq > size(out[-3]):
                break
            last = out.pop()
            out.pop()
            out[-1][2] = last[2]
            out[-1][4] = last[4]
    return out


def _diff_sequences(a: list[str], b: list[str], out: TextDiff, deadline: float) -> None:
    for tag, i1, i2, j1, j2 in _cleanup(_coalesce(_opcodes(a, b, deadline)), a, b):
        _emit(out, tag, a[i1:i2], b[j1:j2])


# Texts longer than this (either side) are diffed by line only.
MAX_WORD_DIFF_CHARS = 500_000
# Time budget of one diff, in seconds (diff-match-patch has the same idea).
TIMEOUT = 0.05


def diff_words(baseline: str | None, candidate: str | None, *, timeout: float = TIMEOUT) -> TextDiff:
    """Word-level diff of two texts (None counts as empty).

    Lines first (unique lines are the best anchors in long outputs), then
    the changed lines word by word. Past `timeout` seconds (pathological
    inputs only) what is left undiffed is marked as one change.
    """
    deadline = perf_counter() + timeout
    a = "" if baseline is None else str(baseline)
    b = "" if candidate is None else str(candidate)
    out = TextDiff()
    if a == b:
        _append(out.baseline, "equal", a)
        _append(out.candidate, "equal", b)
        return out
    la, lb = a.splitlines(keepends=True), b.splitlines(keepends=True)
    if max(len(a), len(b)) > MAX_WORD_DIFF_CHARS:
        _diff_sequences(la, lb, out, deadline)
        return out
    if len(la) <= 1 and len(lb) <= 1:
        _diff_sequences(tokenize(a), tokenize(b), out, deadline)
        return out
    for tag, i1, i2, j1, j2 in _coalesce(_opcodes(la, lb, deadline)):
        if tag == "equal":
            _emit(out, tag, la[i1:i2], lb[j1:j2])
        else:
            _diff_sequences(tokenize("".join(la[i1:i2])), tokenize("".join(lb[j1:j2])), out, deadline)
    return out


# --- invisible characters -------------------------------------------------

# Always shown: the bidi embedding / override / isolate controls, which can
# make text read differently from what it is ("Trojan Source").
BIDI_CONTROLS = {
    "\u202a": "LRE", "\u202b": "RLE", "\u202c": "PDF", "\u202d": "LRO", "\u202e": "RLO",
    "\u2066": "LRI", "\u2067": "RLI", "\u2068": "FSI", "\u2069": "PDI",
}
# Shown on request: zero-width and other invisible formatting characters.
# (ZWJ/ZWNJ and the direction marks are legitimate in many scripts.)
INVISIBLES = {
    "\u200b": "ZWSP", "\u200c": "ZWNJ", "\u200d": "ZWJ", "\u200e": "LRM", "\u200f": "RLM",
    "\u061c": "ALM", "\u2060": "WJ", "\ufeff": "BOM", "\u00ad": "SHY", "\u180e": "MVS",
    "\u2028": "LSEP", "\u2029": "PSEP", "\u00a0": "NBSP", "\u202f": "NNBSP",
}


_CONTROLS = {c: f"U+{c:04X}" for c in [*range(0x20), *range(0x7F, 0xA0)] if chr(c) not in "\n\t"}


@lru_cache(maxsize=8)
def _table(whitespace: bool, invisibles: bool, bidi: bool) -> dict[int, str]:
    table: dict[int, str] = {}
    if invisibles:
        table.update({c: f"⟨{name}⟩" for c, name in _CONTROLS.items()})
        table.update({ord(ch): f"⟨{name}⟩" for ch, name in INVISIBLES.items()})
    if bidi:
        table.update({ord(ch): f"⟨{name}⟩" for ch, name in BIDI_CONTROLS.items()})
    if whitespace:
        table.update({ord(" "): "·", ord("\t"): "→", ord("\n"): "↵\n"})
    return table


def make_visible(text: str, *, whitespace: bool = False, invisibles: bool = False,
                 bidi: bool = True) -> str:
    """Text with hidden characters made visible, for display only.

    whitespace: spaces as '·', tabs as '→', a newline as '↵' followed by the newline.
    invisibles: zero-width and formatting characters as ⟨ZWSP⟩, ⟨ZWJ⟩, ⟨NBSP⟩, …,
                and C0/C1 control characters as ⟨U+0007⟩.
    bidi:       bidi overrides / embeddings / isolates as ⟨RLO⟩, ⟨PDF⟩, … (on by default).
    """
    if not (whitespace or invisibles or bidi):
        return text
    return text.translate(_table(whitespace, invisibles, bidi))


def has_hidden_characters(text: str) -> bool:
    """True when `text` holds bidi controls or invisible characters worth a warning."""
    return _HIDDEN.search(text) is not None


_HIDDEN = re.compile("[" + "".join(re.escape(ch) for ch in [*BIDI_CONTROLS, *INVISIBLES, *map(chr, _CONTROLS)]) + "]")
