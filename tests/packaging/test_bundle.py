"""The PyInstaller bundle, built from packaging/signoff.spec and run as a user would.

    make test PYTEST_ARGS="-m packaging"       # only these (the build takes minutes)
    make test PYTEST_ARGS="-m 'not packaging'" # everything else

One build per test session, into a temp dir, from the working tree: the test command
builds it, it never trusts an older dist/. (For iterating on these tests only,
SIGNOFF_TEST_BUNDLE=/path/to/dist/signoff/signoff reuses a bundle you built yourself;
nothing sets it by default.)

The bundle and the installed package each build the demo and run the same commands in
their own SIGNOFF_HOME; the JSON they print must be the same, ids and timestamps aside.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytestmark = [pytest.mark.packaging, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "packaging"))
from bundle_manifest import EXCLUDED, builtin_plugins  # noqa: E402

INSTALLED = Path(sys.executable).with_name("signoff")   # the venv's console script
RUN_TIMEOUT = 180
VOLATILE_KEYS = {"id", "request", "created_at", "updated_at", "decided_at", "at", "time", "timestamp"}


# -- running -------------------------------------------------------------------------------

def _env(home: Path, **extra: str) -> dict[str, str]:
    """Everything the app reads from the user's account points into `home` (these session
    fixtures run before tests/conftest.py's per-test isolation)."""
    env = dict(os.environ)
    env.pop("SIGNOFF_DATABASE_URL", None)
    env.update({"HOME": str(home), "SIGNOFF_HOME": str(home / "signoff-home"), "SIGNOFF_USER": "alice@example.com",
                "GIT_CONFIG_NOSYSTEM": "1", "QT_QPA_PLATFORM": "offscreen", "QTWEBENGINE_DISABLE_SANDBOX": "1"})
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR"):
        d = home / "xdg" / name.lower()
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        env[name] = str(d)
    env.update(extra)
    return env


def run(exe: Path, args: list[str], home: Path, timeout: float = RUN_TIMEOUT, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(exe), *args], cwd=home, env=_env(home, **extra), capture_output=True, text=True,
                          timeout=timeout)


def _stable(value):
    """JSON without what differs between two runs of the same commands: ids and timestamps."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE_KEYS and not k.endswith("_at")}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


def _scenario(exe: Path, home: Path) -> dict:
    """Demo, a second request, show, samples, status, a decision, status again: outputs and exit codes."""
    home.mkdir(parents=True)
    out: dict = {}
    # git as GitPython runs it, through a wrapper that notes the library path git gets.
    wrapper = home / "git-wrapper.sh"
    wrapper.write_text('#!/bin/sh\nprintf "%s\\n" "${LD_LIBRARY_PATH-(unset)}" >> "$(dirname "$0")/git-env.log"\n'
                       f'exec {shutil.which("git")} "$@"\n')
    wrapper.chmod(0o755)

    def step(name: str, args: list[str], *, as_json: bool = True, user: str = "alice@example.com"):
        key = {"SIGNOFF_SIGNING_KEY": str(demo / "keys" / user.split("@")[0])} if args[0] == "decide" else {}
        proc = run(exe, args, home, SIGNOFF_USER=user, GIT_PYTHON_GIT_EXECUTABLE=str(wrapper), **key)
        out[name] = {"rc": proc.returncode}
        if as_json:
            assert proc.stdout.strip(), f"{exe} {' '.join(args)}: no output (rc {proc.returncode}); stderr:\n{proc.stderr}"
            if args[0] == "samples":
                out[name]["json"] = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
            else:
                out[name]["json"] = json.loads(proc.stdout)
        else:
            out[name]["stdout"] = proc.stdout
        out[name]["stderr"] = proc.stderr
        return proc

    demo = home / "demo"
    proc = step("demo", ["demo", "--no-gui", "--dir", str(demo)], as_json=False)
    assert proc.returncode == 0, f"{exe} demo --no-gui failed:\n{proc.stdout}\n{proc.stderr}"
    sha = subprocess.run(["git", "-C", str(demo), "rev-parse", "HEAD"], capture_output=True, text=True,
                         check=True).stdout.strip()
    out["sha"] = sha
    proc = step("request", ["request", "--sha", sha, "--repo", str(demo), "--json"])
    assert proc.returncode == 0, proc.stderr
    rid = str(out["request"]["json"]["id"])
    step("show", ["show", rid, "--json"])
    step("samples", ["samples", rid, "--class", "regressed", "--json"])
    step("status", ["status", "--sha", sha, "--json"])
    step("decide", ["decide", rid, "--decision", "reject", "--comment", "regressions in digits"], as_json=False,
         user="bob@example.com")
    step("status after", ["status", "--sha", sha, "--json"])
    step("audit", ["audit", "verify"], as_json=False)
    log = home / "git-env.log"
    out["git library paths"] = log.read_text().splitlines() if log.exists() else []
    return out


@pytest.fixture(scope="session")
def both(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """The scenario with the installed package and with the bundle, side by side (two cores)."""
    base = tmp_path_factory.mktemp("scenario")
    with ThreadPoolExecutor(max_workers=2) as pool:
        installed = pool.submit(_scenario, INSTALLED, base / "installed")
        frozen = pool.submit(_scenario, bundle, base / "bundle")
        result = {"installed": installed.result(), "bundle": frozen.result()}
    result["bundle"]["home"] = base / "bundle"
    return result


# -- tests ---------------------------------------------------------------------------------

def test_version_comes_from_the_metadata(bundle: Path, tmp_path: Path):
    from importlib.metadata import version

    proc = run(bundle, ["--version"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"signoff {version('signoff')}"


def test_demo_and_cli_match_the_installed_package(both: dict[str, dict]):
    installed, bundled = both["installed"], both["bundle"]
    assert bundled["sha"] == installed["sha"], "the demo repository must have the same SHAs"
    for name in ("demo", "request", "show", "samples", "status", "decide", "status after", "audit"):
        assert bundled[name]["rc"] == installed[name]["rc"], (
            f"{name}: exit code {bundled[name]['rc']} in the bundle, {installed[name]['rc']} installed\n"
            f"bundle stderr:\n{bundled[name]['stderr']}")
        if "json" in installed[name]:
            assert _stable(bundled[name]["json"]) == _stable(installed[name]["json"]), f"{name} --json differs"
    # The contract's exit codes, not only the same ones.
    assert installed["status"]["rc"] == 3 and installed["status"]["json"]["status"] == "pending"
    assert installed["status after"]["rc"] == 1 and installed["status after"]["json"]["status"] == "rejected"
    assert installed["samples"]["json"], "the demo has regressed samples"
    assert "audit log intact" in bundled["audit"]["stdout"]


def test_git_gets_the_users_library_path_not_the_bundles(bundle: Path, both: dict[str, dict]):
    """packaging/runtime_hooks/rthook_signoff.py: the bootloader's LD_LIBRARY_PATH stays in the bundle."""
    seen = both["bundle"]["git library paths"]
    assert seen, "the bundle's demo and request ran no git through the wrapper"
    internal = str(bundle.parent)
    assert not [p for p in seen if internal in p], f"git ran with the bundle's libraries first: {sorted(set(seen))}"


def test_plugin_discovery_lists_every_builtin_plugin(bundle: Path, tmp_path: Path):
    frozen = run(bundle, ["plugins", "--json"], tmp_path)
    assert frozen.returncode == 0, f"a plugin failed to load in the bundle:\n{frozen.stdout}\n{frozen.stderr}"
    installed = run(INSTALLED, ["plugins", "--json"], tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    got, want = json.loads(frozen.stdout), json.loads(installed.stdout)
    assert got == want
    for group, names in builtin_plugins(ROOT / "pyproject.toml").items():
        loaded = got["groups"].get(group, {}).get("loaded") or got["groups"].get(group, {}).get("declared") or []
        assert sorted(names) == sorted(set(names) & set(loaded)), f"{group}: pyproject declares {names}, bundle has {loaded}"


def test_gui_starts_opens_the_demo_request_renders_charts_and_quits(bundle: Path, both: dict[str, dict]):
    """In the bundle's own store (the scenario's demo and requests): window, request, About, charts."""
    home = both["bundle"]["home"]
    proc = run(bundle, ["--self-test-gui"], home, timeout=300)
    report = proc.stdout + "\n--- stderr ---\n" + proc.stderr[-4000:]
    assert proc.returncode == 0, report
    for step in ("window", "open request", "about", "window charts", "plotly in QtWebEngine"):
        assert f"self-test: ok {step}:" in proc.stdout, report
    charts = next(line for line in proc.stdout.splitlines() if line.startswith("self-test: ok window charts:"))
    assert "skipped" not in charts, "the window has a Charts tab: its charts must be drawn, not skipped"


def test_nothing_that_is_not_needed_is_bundled(bundle: Path):
    from importlib.metadata import version

    from PyInstaller.archive.readers import pkg_archive_contents

    modules = pkg_archive_contents(str(bundle), recursive=True)
    top = {name.split(".")[0].split("/")[0] for name in modules}
    internal = bundle.parent / "_internal"
    top |= {p.name.split(".")[0] for p in internal.iterdir()} if internal.is_dir() else set()
    present = sorted(name for name in EXCLUDED if name in top)
    assert not present, f"excluded from the bundle, yet there: {present}"
    assert not list(internal.glob("PySide6/Qt/qml/*")), "QML plugins are not needed (packaging/hooks/hook-PySide6.QtQml.py)"
    # What must be there for the app to work from files:
    assert (internal / "signoff" / "store" / "migrations" / "env.py").is_file()
    assert list((internal / "signoff" / "store" / "migrations" / "versions").glob("*.py"))
    assert (internal / "signoff" / "resources" / "demo" / "data" / "truth.json").is_file()
    # signoff's metadata: the dist-info pip installed (entry points, version), and only that one.
    assert [p.name for p in internal.glob("signoff[-.]*")] == [f"signoff-{version('signoff')}.dist-info"]
    assert (internal / f"signoff-{version('signoff')}.dist-info" / "entry_points.txt").is_file()
    assert list(internal.glob("plotly/package_data/plotly.min.js"))
    assert list(internal.glob("PySide6/Qt/libexec/QtWebEngineProcess"))
