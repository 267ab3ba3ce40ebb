"""Issue 16 item 3: `signoff --version`, `--help`, `status` and `wait` import only what they use.

Not timed (benchmarks/bench_cli_startup.py times them): each command runs in a new process with
`-X importtime`, and the modules it imported are checked, so the light start-up cannot silently
regress when someone adds a module-level `import pandas` on the path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_cli_review import POLICY, files, run
from tests.support.keys import with_signers
from tests.support import subprocess_pythonpath

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "pyarrow", "numpy", "alembic", "statsmodels", "scipy")


def imported(*args: str) -> tuple[int, set[str]]:
    """The exit code of `python -m signoff ARGS` in a new process, and the top-level packages it imported."""
    env = {**os.environ, "PYTHONPATH": subprocess_pythonpath()}
    p = subprocess.run([sys.executable, "-X", "importtime", "-m", "signoff", *args], env=env, capture_output=True,
                       text=True, timeout=120)
    names = {line.split("|")[-1].strip().split(".")[0] for line in p.stderr.splitlines()
             if line.startswith("import time:") and "|" in line}
    return p.returncode, names


# -X importtime does not list what importlib.import_module imports (entry points load that way).
MODULES_AT_EXIT = """import json, sys
from signoff.__main__ import main
code = main(sys.argv[2:])
with open(sys.argv[1], "w") as f:
    json.dump(sorted(sys.modules), f)
sys.exit(code)
"""


def modules_at_exit(tmp_path: Path, *args: str) -> tuple[int, set[str]]:
    """The exit code of `signoff ARGS` in a new process, and every module it had imported at the end."""
    env = {**os.environ, "PYTHONPATH": subprocess_pythonpath()}
    out = tmp_path / "modules.json"
    p = subprocess.run([sys.executable, "-c", MODULES_AT_EXIT, str(out), *args], env=env, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0 or out.exists(), p.stderr
    return p.returncode, set(json.loads(out.read_text()))


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["status", "--help"]])
def test_version_and_help_import_nothing_heavy(args):
    code, names = imported(*args)
    assert code == 0
    assert not names & {*HEAVY, "sqlalchemy", "msgspec", "requests", "cryptography"}, sorted(names & {*HEAVY, "sqlalchemy"})


def test_status_and_wait_of_an_unknown_commit_read_the_store_without_pandas_or_alembic():
    from signoff.store.store import Store

    Store().close()   # the store exists, at head (a new one is migrated, with alembic: once)
    code, names = imported("status", "--sha", "0123456789abcdef")
    # read with the standard library's sqlite3 (app/store/kept_read.py): not even SQLAlchemy
    assert code == 2 and "sqlite3" in names and "sqlalchemy" not in names
    assert not names & set(HEAVY), sorted(names & set(HEAVY))
    code, names = imported("wait", "--sha", "0123456789abcdef", "--timeout", "0")
    assert code == 5 and not names & set(HEAVY), sorted(names & set(HEAVY))


def test_status_of_a_request_runs_no_migration_and_no_plugin_registry(tmp_path, capsys, monkeypatch):
    """A store at head opens without alembic; the verdict is the policy's, as `status` always showed
    (it loads the comparison's ids and classes for coverage: pandas and pyarrow, not alembic)."""
    base, cand = files(tmp_path)
    policy = tmp_path / "signoff.toml"
    policy.write_text(with_signers(POLICY))
    sha = "5eed" * 10
    monkeypatch.setenv("SIGNOFF_USER", "ci@example.com")
    assert run(capsys, "review", base, cand, "--no-gui", "--policy", str(policy), "--sha", sha)[0] == 0
    code, names = imported("status", "--sha", sha)
    assert code == 3
    assert "alembic" not in names and "plugins" not in names and "statsmodels" not in names, sorted(names)


def test_a_files_request_imports_the_files_source_alone(tmp_path, monkeypatch):
    """The plugin registry loads a plugin by its name (app/registry.py): `request --source files`
    imports neither the other sources (git, demo, MLflow) nor the forge sinks' HTTP clients, nor
    Qt, scikit-learn or the regression bound's statistics."""
    from tests.plugins import conftest as kit
    from tests.support.keys import with_signers

    kit.write(tmp_path, {
        "signoff.toml": with_signers(kit.SIGNOFF_TOML.format(ext="csv")),
        "evals/texts.csv": kit.table_bytes(kit.SAMPLES, "csv"),
        "v1/predictions/texts.csv": kit.table_bytes(kit.predictions(kit.BASE_OUT), "csv"),
        "v2/predictions/texts.csv": kit.table_bytes(kit.predictions(kit.CAND_OUT), "csv"),
    })
    monkeypatch.setenv("SIGNOFF_USER", "ci@example.com")
    code, names = modules_at_exit(tmp_path, "request", "--sha", "ab12" * 10, "--source", "files", "--samples",
                                  str(tmp_path), "--baseline-dir", str(tmp_path / "v1"), "--candidate-dir",
                                  str(tmp_path / "v2"), "--policy", str(tmp_path / "signoff.toml"))
    assert code == 0
    plugins = {n for n in names if n.startswith("signoff.plugins.")}
    assert "signoff.plugins.files" in plugins and "signoff.plugins.common.evalset" in plugins
    # and the status sink the policy names (local): the request posts "pending" through it
    assert all(n.startswith(("signoff.plugins.files", "signoff.plugins.common", "signoff.plugins.local"))
               for n in plugins), sorted(plugins)
    assert "signoff.plugins.common.forge_sink" not in plugins and "signoff.plugins.common.http" not in plugins
    tops = {n.split(".")[0] for n in names}
    assert not tops & {"git", "requests", "sklearn", "PySide6", "statsmodels", "scipy", "mlflow"}, sorted(tops)
    assert "signoff.ui" not in names and "signoff.cli.main" in names
