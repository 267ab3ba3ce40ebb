"""Colours and words for change classes and statuses (plain data, no Qt).

Lives in core so the report (no Qt) and the UI share it; signoff.ui.palette re-exports it.

Okabe-Ito, a palette that stays distinguishable with the common kinds of
colour blindness. A colour never stands alone: every use pairs it with the
class word (and a symbol in the table), so print and screen readers work.
The same table serves the charts and the HTML report.
"""

from __future__ import annotations

# class -> (hex colour, symbol)
CLASS_STYLE: dict[str, tuple[str, str]] = {
    "regressed": ("#D55E00", "▼"),   # vermillion
    "missing": ("#CC79A7", "∅"),     # reddish purple
    "changed": ("#E69F00", "◆"),     # orange
    "improved": ("#009E73", "▲"),    # bluish green
    "unchanged": ("#999999", "="),   # grey
}

STATUS_STYLE: dict[str, tuple[str, str]] = {
    "pending": ("#E69F00", "●"),
    "approved": ("#009E73", "✓"),
    "rejected": ("#D55E00", "✗"),
}

# Diff marks: a tint (alpha blended, so it reads on light and dark themes)
# plus strike-through / underline, so colour is never the only cue.
DELETE_TINT = (213, 94, 0, 70)      # vermillion, translucent
INSERT_TINT = (0, 114, 178, 70)     # blue, translucent

VERDICT_WORDS = {
    "candidate": "candidate better",
    "baseline": "baseline better",
    "tie": "tie",
    "both-wrong": "both wrong",
}


def class_colour(name: str) -> str:
    return CLASS_STYLE.get(str(name), ("#999999", "?"))[0]


def class_symbol(name: str) -> str:
    return CLASS_STYLE.get(str(name), ("#999999", "?"))[1]


def relative_luminance(colour: str) -> float:
    """WCAG 2 relative luminance of "#rrggbb"."""
    c = colour.lstrip("#")
    channels = [int(c[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in channels]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio (1..21); AA asks 4.5 for text."""
    a, b = sorted((relative_luminance(foreground), relative_luminance(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)
