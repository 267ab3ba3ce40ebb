"""The renderer plugins (signoff.renderers): their packages import no Qt
(only `create_view` does, lazily), so the CLI can list them; what counts as
unchanged is the comparison's (signoff.core.normalise), not a renderer's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path



ROOT = Path(__file__).resolve().parents[1]


def test_renderer_packages_import_without_qt():
    code = (
        "import sys, json\n"
        "from signoff.registry import registry\n"
        "reg = registry()\n"
        "names = sorted(reg.renderers)\n"
        "assert 'mlflow' in reg.ui_extensions, reg.problems   # UI extensions load without Qt too\n"
        "qt = [m for m in sys.modules if m.startswith(('PySide6', 'shiboken6'))]\n"
        "print(json.dumps({'names': names, 'qt': qt, 'problems': reg.problems}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"text", "json", "label", "image", "number"} <= set(result["names"])
    assert result["qt"] == [], result["qt"]


