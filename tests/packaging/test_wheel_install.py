"""The built wheel, installed into a fresh virtual environment, works inside a model repository
whose own packages are named like our folders (issue 14: "an import name of our own").

The hostile project has `app/` and `plugins/` packages (common for serving code) and is run with
`PYTHONPATH=.`; a second one has a Streamlit-style `app.py` and a `resources.py` next to a
notebook. Before the move to `signoff`, both broke `signoff --version` with an ImportError.

The fresh environment gets Signoff from the wheel alone (`pip install --no-deps`); its
dependencies come from the test environment's site-packages through a .pth line, so the test
needs no network and takes seconds, while the product itself is only what the wheel installs.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from signoff.plugins.demo import demo_key_file, open_demo_workspace

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp / "dist"), str(ROOT)])
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (tmp / "dist").glob("signoff-*.whl")

    env_dir = tmp / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)])
    assert made.returncode == 0, made.stderr
    py = env_dir / "bin" / "python"
    purelib = _run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip()
    # The dependencies (PySide6, pyarrow, ...): the test environment's site-packages, added after the
    # fresh one's own; not processed as a site dir, so its editable signoff hook stays out.
    deps = [p for p in site.getsitepackages() if Path(p).is_dir()] or [sysconfig.get_paths()["purelib"]]
    Path(purelib, "_signoff_test_deps.pth").write_text("\n".join(deps) + "\n")
    installed = _run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q", str(wheel)])
    assert installed.returncode == 0, installed.stderr[-3000:]
    return env_dir


def _hostile_project(where: Path) -> Path:
    """A model repository with its own `app` and `plugins` packages, as serving code often has."""
    for pkg in ("app", "plugins"):
        (where / pkg).mkdir(parents=True)
        (where / pkg / "__init__.py").write_text(f'"""The model repository\'s own {pkg}."""\nNAME = "theirs"\n')
    (where / "app" / "cli.py").write_text("raise ImportError('the serving app, not signoff')\n")
    (where / "app" / "core.py").write_text("raise ImportError('the serving app, not signoff')\n")
    (where / "resources.py").write_text("raise ImportError('a notebook helper, not signoff')\n")
    return where


def _env(home: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNOFF_")}
    env.update(PYTHONPATH=".", SIGNOFF_HOME=str(home), HOME=str(home), **extra)
    return env


def test_the_wheel_runs_next_to_a_project_with_its_own_app_and_plugins(venv, tmp_path):
    proj = _hostile_project(tmp_path / "model-repo")
    home = tmp_path / "home"
    signoff = str(venv / "bin" / "signoff")

    def run(*args, user="ci@example.com", key=None):
        env = _env(home, SIGNOFF_USER=user, **({"SIGNOFF_SIGNING_KEY": str(key)} if key else {}))
        return _run([signoff, *args], cwd=proj, env=env)

    version = run("--version")
    assert version.returncode == 0 and version.stdout.startswith("signoff "), version.stderr
    as_module = _run([str(venv / "bin" / "python"), "-m", "signoff", "--version"], cwd=proj, env=_env(home))
    assert as_module.returncode == 0 and as_module.stdout == version.stdout, as_module.stderr
    # the installed package is the wheel's, not the checkout's folders
    where = _run([str(venv / "bin" / "python"), "-c", "import signoff, signoff.plugins, app; print(signoff.__file__); "
                  "print(signoff.plugins.__file__); print(app.NAME)"], cwd=proj, env=_env(home))
    ours, plugins, theirs = where.stdout.split()
    assert str(venv) in ours and str(venv) in plugins and theirs == "theirs", where.stderr

    # The command-line loop: demo data -> request -> show -> a signed decision -> status -> audit.
    demo = tmp_path / "demo"
    made = run("demo", "--no-gui", "--dir", str(demo))
    assert made.returncode == 0, made.stderr
    ws = open_demo_workspace(demo)
    req = run("request", "--sha", ws.candidate_sha, "--repo", str(ws.repo), "--json")
    assert req.returncode == 0, req.stderr
    assert json.loads(req.stdout)["status"] == "pending"
    shown = run("show", ws.candidate_sha, "--json")
    assert shown.returncode == 0, shown.stderr
    assert {es["eval_set"]: es["classes"] for es in json.loads(shown.stdout)["eval_sets"]} == ws.truth
    alice = "alice@example.com"
    decided = run("decide", ws.candidate_sha, "--decision", "approve", user=alice, key=demo_key_file(demo, alice))
    assert decided.returncode == 0, decided.stderr
    status = run("status", "--sha", ws.candidate_sha)
    assert status.returncode == 3 and status.stdout.startswith("pending"), status.stderr
    audit = run("audit", "verify")
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_the_wheel_runs_next_to_a_streamlit_app_py(venv, tmp_path):
    """A notebook folder with `app.py` (Streamlit's convention) and `plugins.py` on the path."""
    nb = tmp_path / "notebooks"
    nb.mkdir()
    (nb / "app.py").write_text("raise ImportError('a Streamlit app, not signoff')\n")
    (nb / "plugins.py").write_text("raise ImportError('not signoff either')\n")
    env = _env(tmp_path / "home")
    for cmd in ([str(venv / "bin" / "signoff"), "--help"], [str(venv / "bin" / "python"), "-m", "signoff", "config", "schema"]):
        done = _run(cmd, cwd=nb, env=env)
        assert done.returncode == 0, done.stderr
        assert "ImportError" not in done.stderr
