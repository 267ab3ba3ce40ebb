"""A 10M-sample comparison opens paged, with memory bounded by the documented budget (issue 16,
"Done means"; docs/performance.md "Comparisons as files"). Not timed: the figure is memory.

The comparison is written and opened in processes of their own (tests/ui/paged_open.py), so the
growth measured is the open's alone: from the resident set before it to the peak after the
table is filled, the first sample read, a class filter applied and an id looked up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.gui, pytest.mark.slow]

ROWS = 10_000_000
HELPER = str(Path(__file__).with_name("paged_open.py"))


def _run(*args: str, env: dict) -> str:
    out = subprocess.run([sys.executable, HELPER, *args], env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip().splitlines()[-1]


def test_a_10m_sample_comparison_opens_within_its_page_budget(tmp_path):
    env = {**os.environ, "SIGNOFF_HOME": str(tmp_path / "home"), "QT_QPA_PLATFORM": "offscreen"}
    db = str(tmp_path / "signoff.db")
    request_id = _run("write", db, str(ROWS), env=env)
    found = json.loads(_run("open", db, request_id, env=env))
    assert found["paged"] and found["rows"] == ROWS and found["visible"] == ROWS // 5
    last_regressed = ROWS // 5 - 1   # the class filter's last row
    assert found["first"] == "how is my order no 0" and found["last"] == f"ships on day num {last_regressed & 127}"
    assert found["late"] == [[f"s{pos}", f"how is my order no {pos & 8191}", f"ships on day num {pos & 127}"]
                             for pos in (ROWS // 2 + 12_345, ROWS - 1)]   # each its own row's text
    # The budget: the resident columns + 32 bytes a row + the pages' 64 MiB + 128 MiB; whole, the
    # same table would take over 2 GB.
    assert found["growth"] <= found["budget"] < 1_000_000_000, found
