"""The renderer plugins (signoff.renderers): their packages import no Qt
(only `create_view` does, lazily), so the comparison engine and the CLI can
use `normalise`; and each normalise agrees with signoff.core.normalise."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from signoff.core.normalise import normalise
from signoff.registry import registry

ROOT = Path(__file__).resolve().parents[1]


def test_renderer_packages_import_without_qt():
    code = (
        "import sys, json\n"
        "from signoff.registry import registry\n"
        "reg = registry()\n"
        "names = sorted(reg.renderers)\n"
        "qt = [m for m in sys.modules if m.startswith(('PySide6', 'shiboken6'))]\n"
        "print(json.dumps({'names': names, 'qt': qt, 'problems': reg.problems}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"text", "json", "label", "image", "number"} <= set(result["names"])
    assert result["qt"] == [], result["qt"]


def test_each_renderer_normalises_like_the_comparison_engine():
    reg = registry()
    cases = {
        "text": [" A b ", "A b"],
        "json": ['{"b": 1, "a": [1, 2]}', '{"a":[1,2],"b":1}', "not json"],
        "label": [" cat ", "cat"],
        "number": ["3", "3.0", "x"],
        "image": [b"\x89PNG", b"other"],
    }
    for otype, values in cases.items():
        cls = reg.renderer_for(otype)
        core = normalise(pd.Series(values, dtype=object), otype).tolist()
        mine = [cls.normalise(v) for v in values]
        assert [m == n for m in mine for n in mine] == [a == b for a in core for b in core], otype
