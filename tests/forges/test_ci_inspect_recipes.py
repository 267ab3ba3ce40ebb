"""The scheduled-inspection recipes in docs/ci-recipes.md, run: their `signoff` lines, verbatim,
in bash, with INSPECT_SOURCE pointing at a drop of prediction files (the MLflow variant of
`signoff inspect` is tested against a real server in tests/mlflow/test_inspect_mlflow.py)."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone

import pytest

from tests.forges.test_ci_recipes import BIN, bash, recipe, signoff_lines
from tests.support.keys import with_signers
from tests.support import subprocess_pythonpath

POLICY = with_signers("""
[policy]
required = { qa = 1 }
min_changed_reviewed = 0

[roles]
qa = ["quinn@example.com"]
""")


@pytest.mark.parametrize("name,job,seed_var", [("inspect-github", "inspect", "GITHUB_RUN_ID"),
                                                ("inspect-gitlab", "inspect", "CI_PIPELINE_ID")])
def test_inspect_recipe_runs(name, job, seed_var, tmp_path):
    doc = recipe(name)
    job_def = doc["jobs"][job] if "jobs" in doc else doc[job]
    lines = signoff_lines(job_def)
    assert lines and all(ln.startswith("signoff inspect ") for ln in lines)
    if name == "inspect-github":
        assert doc.get(True, doc.get("on"))["schedule"]
    else:
        assert "schedule" in job_def["rules"][0]["if"]
    work = tmp_path / "checkout"
    (work / "drop").mkdir(parents=True)
    (work / "signoff.toml").write_text(POLICY)
    now = datetime.now(timezone.utc).isoformat()
    (work / "drop" / "p.jsonl").write_text("".join(
        json.dumps({"id": f"p{i}", "input": f"q{i}", "output": f"a{i}", "timestamp": now}) + "\n" for i in range(30)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGNOFF_", "MLFLOW_"))}
    env.update(PATH=f"{BIN}:{env.get('PATH', '')}", PYTHONPATH=subprocess_pythonpath(), SIGNOFF_HOME=str(tmp_path / "home"),
               SIGNOFF_USER="ci@example.com", INSPECT_SOURCE="--files drop", **{seed_var: "4242"})
    for line in lines:
        p = bash(line, work, env)
        assert p.returncode == 0, p.stderr
        made = json.loads(p.stdout)
        assert made["kind"] == "inspection" and made["seed"] == 4242 and made["sample"] == 30
