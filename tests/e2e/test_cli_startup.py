"""Issue 16 item 3: `signoff --version`, `--help`, `status` and `wait` import only what they use.

Not timed (benchmarks/bench_cli_startup.py times them): each command runs in a new process with
`-X importtime`, and the modules it imported are checked, so the light start-up cannot silently
regress when someone adds a module-level `import pandas` on the path."""

from __future__ import annotations

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


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["status", "--help"]])
def test_version_and_help_import_nothing_heavy(args):
    code, names = imported(*args)
    assert code == 0
    assert not names & {*HEAVY, "sqlalchemy", "msgspec", "requests", "cryptography"}, sorted(names & {*HEAVY, "sqlalchemy"})


def test_status_and_wait_of_an_unknown_commit_read_the_store_without_pandas_or_alembic():
    from signoff.store.store import Store

    Store().close()   # the store exists, at head (a new one is migrated, with alembic: once)
    code, names = imported("status", "--sha", "0123456789abcdef")
    assert code == 2 and "sqlalchemy" in names            # it did open the store
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
