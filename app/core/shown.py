"""What a diff view is given to show for one sample (pure, no Qt).

A row of the comparison table becomes a `Shown`: the input and reference,
and two `Side`s, left and right. Normally left is the baseline and right the
candidate. In blind mode the two are "A" and "B" in an order that looks
random but is the same every time for a sample (a hash of request, eval set
and sample id), and nothing in a Side's shown parts (name, score) says
which model it is; `Side.model` keeps that for mapping a verdict back.

Also here: `blind_candidate_first` (the order), `verdict_for_side`,
`looks_preformatted` (monospace input), and `raw_fields` (the raw view:
every stored value, escaped, with its type).
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from .compare import BASE_COLUMNS

MODELS = ("baseline", "candidate")


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    try:
        import pandas as pd

        return value is pd.NA or value is pd.NaT
    except Exception:  # pragma: no cover
        return False


def blind_candidate_first(request_id: Any, eval_set: str, sample_id: str) -> bool:
    """True when the candidate is shown as A (on the left) in blind mode.

    Stable per sample (the same on every machine and every run) and about
    half of the samples each way.
    """
    digest = hashlib.sha256(f"signoff-blind\x1f{request_id}\x1f{eval_set}\x1f{sample_id}".encode()).digest()
    return bool(digest[0] & 1)


@dataclass(frozen=True)
class Side:
    model: str                      # "baseline" or "candidate" (not to be shown in blind mode)
    name: str                       # what the view calls it: "BASELINE" / "CANDIDATE", or "A" / "B"
    output: Any = None
    output_bytes: Any = None
    score: float | None = None      # None when unknown, or hidden (blind mode)
    extras: Mapping[str, Any] = field(default_factory=dict)   # other prediction columns (confidence, …)

    @property
    def has_output(self) -> bool:
        return not is_missing(self.output) or isinstance(self.output_bytes, (bytes, bytearray, memoryview))


@dataclass(frozen=True)
class Shown:
    sample_id: str
    input: Any
    reference: Any
    left: Side
    right: Side
    blind: bool = False
    output_type: str = "text"
    input_bytes: Any = None
    reference_bytes: Any = None
    change_class: str = ""          # "" in blind mode for improved / regressed (they would tell the sides apart)

    @property
    def sides(self) -> tuple[Side, Side]:
        return self.left, self.right

    def side_of(self, model: str) -> Side:
        return self.left if self.left.model == model else self.right


def _score(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def prediction_extras(row: Mapping[str, Any], model: str) -> dict[str, Any]:
    """The extra prediction columns of one model (`baseline_confidence` -> {"confidence": …})."""
    prefix = f"{model}_"
    skip = {f"{model}_output", f"{model}_score", f"{model}_output_bytes"}
    out = {}
    for key in row.keys():
        k = str(key)
        if k.startswith(prefix) and k not in skip and k not in BASE_COLUMNS:
            value = row[key]
            if not is_missing(value):
                out[k[len(prefix):]] = value
    return out


def shown_sample(row: Mapping[str, Any], *, output_type: str = "text", blind: bool = False,
                 request_id: Any = None, eval_set: str = "") -> Shown:
    sid = str(row.get("id", ""))

    def side(model: str, name: str) -> Side:
        return Side(model=model, name=name, output=row.get(f"{model}_output"),
                    output_bytes=row.get(f"{model}_output_bytes"),
                    score=None if blind else _score(row.get(f"{model}_score")),
                    extras=prediction_extras(row, model))

    cls = str(row.get("class", "") or "")
    if blind:
        if blind_candidate_first(request_id, eval_set, sid):
            left, right = side("candidate", "A"), side("baseline", "B")
        else:
            left, right = side("baseline", "A"), side("candidate", "B")
        if cls in ("improved", "regressed"):
            cls = "changed"
    else:
        left, right = side("baseline", "BASELINE"), side("candidate", "CANDIDATE")
    return Shown(sample_id=sid, input=row.get("input"), reference=row.get("reference"), left=left, right=right,
                 blind=blind, output_type=output_type, input_bytes=row.get("input_bytes"),
                 reference_bytes=row.get("reference_bytes"), change_class=cls)


def side_names(shown: Shown) -> dict[str, str]:
    """model -> the name shown for it ("candidate" -> "A" in blind mode)."""
    return {shown.left.model: shown.left.name, shown.right.model: shown.right.name}


# --- monospace input ------------------------------------------------------------------

_BOX = re.compile(r"[─│┌┐└┘├┤┬┴┼═║╔╗╚╝█▓▒░|+\-]{3,}")


def looks_preformatted(text: Any) -> bool:
    """True for input laid out with spaces: ASCII art, aligned columns, code, tables.

    Several lines, and either lines indented or with inner runs of 2+
    spaces, box/table rules, or mostly symbols rather than words.
    """
    if not isinstance(text, str) or "\n" not in text:
        return False
    lines = [ln for ln in text.splitlines() if ln.strip()][:200]
    if len(lines) < 3:
        return False
    aligned = sum(1 for ln in lines if re.search(r"\S {2,}\S", ln) or ln.startswith(("  ", "\t")))
    rules = sum(1 for ln in lines if _BOX.search(ln))
    chars = "".join(lines)
    symbols = sum(1 for c in chars if not (c.isalnum() or c.isspace()))
    return aligned >= max(2, len(lines) // 3) or rules >= 2 or (symbols > 0.4 * max(1, len(chars.replace(" ", ""))))


# --- raw view -----------------------------------------------------------------------

RAW_LIMIT = 20_000          # characters of one value's repr shown in the raw view


@dataclass(frozen=True)
class RawField:
    name: str
    type: str
    text: str       # repr-like: strings escaped (\n, \u200b, …), bytes summarised


def raw_text(value: Any, *, limit: int = RAW_LIMIT) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        head = repr(data[:48])
        return f"{len(data):,} bytes: {head}{' …' if len(data) > 48 else ''}"
    text = repr(value)
    if len(text) > limit:
        text = text[:limit] + f" … ({len(text) - limit:,} more characters)"
    return text


def type_name(value: Any) -> str:
    if value is None:
        return "None"
    mod = type(value).__module__
    name = type(value).__name__
    return name if mod in ("builtins", "numpy") else f"{mod.split('.')[0]}.{name}"


def raw_fields(row: Mapping[str, Any], *, blind: bool = False, shown: Shown | None = None) -> list[RawField]:
    """Every stored value of the row, as the store has it. In blind mode the two
    models' columns are renamed A_… / B_… after the shown order, and what
    tells them apart (scores, Δscore, the improved/regressed class) is held back."""
    names: dict[str, str] = {}
    if blind and shown is not None:
        names = {shown.left.model: "A", shown.right.model: "B"}
    out: list[RawField] = []
    held_back = []
    for key in row.keys():
        k = str(key)
        value = row[key]
        if blind:
            if k in ("baseline_score", "candidate_score", "delta", "severity"):
                held_back.append(k)
                continue
            if k == "class":
                value = shown.change_class if shown is not None else "changed"
            for model, letter in names.items():
                if k.startswith(model + "_"):
                    k = letter + k[len(model):]
        out.append(RawField(k, type_name(value), raw_text(value)))
    if blind:
        # The two models' fields in A, B order, whatever the stored order.
        out.sort(key=lambda f: (0 if not f.name.startswith(("A_", "B_")) else 1, f.name[:2]))
        if held_back:
            out.append(RawField("(blind mode)", "", f"held back: {', '.join(held_back)}"))
    return out
