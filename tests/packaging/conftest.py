"""One PyInstaller build per test session, started as early as possible.

When the session has tests that use the `bundle` fixture (tests/packaging/test_bundle.py),
the build starts in the background as soon as collection is done, at a low CPU
priority (nice 10: the tests that run meanwhile get the CPU first, the build takes
what is left), and those tests are moved to the end of the run, so the build overlaps
the rest of the suite instead of adding its minutes to it. `-m packaging` alone waits
for the build, as before. The bundle goes to a temp dir, removed after the session.

The build time and the bundle size are printed at the end of the run (section
"packaging"); docs/performance.md keeps the figures.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT = 25 * 60
NICE = 10
_FIGURES: dict[str, str] = {}


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


class BackgroundBuild:
    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.dir: Path | None = None
        self.started = 0.0
        self.result: tuple[Path | None, str] | None = None   # (executable, failure message)

    def start(self) -> None:
        if self.proc is not None:
            return
        self.dir = Path(tempfile.mkdtemp(prefix="signoff-bundle-"))
        env = dict(os.environ)
        env["PYINSTALLER_CONFIG_DIR"] = str(self.dir / "pyinstaller-cache")   # a cold build, like CI's
        cmd = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
               "--distpath", str(self.dir / "dist"), "--workpath", str(self.dir / "build"),
               str(ROOT / "packaging" / "signoff.spec")]
        self.log = self.dir / "build.log"
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True,
                                         preexec_fn=lambda: os.nice(NICE))
        self.started = time.monotonic()

    def wait(self) -> Path:
        if self.result is None:
            self.start()
            waited_from = time.monotonic()
            try:
                rc = self.proc.wait(timeout=max(1.0, BUILD_TIMEOUT - (time.monotonic() - self.started)))
            except subprocess.TimeoutExpired:
                self.stop()
                rc = "timeout"
            seconds = time.monotonic() - self.started
            folder = self.dir / "dist" / "signoff"
            exe = folder / "signoff"
            if rc != 0 or not exe.is_file():
                tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-40:]) if self.log.exists() else ""
                self.result = (None, f"PyInstaller failed ({rc}); last lines of its log:\n{tail}")
            else:
                self.result = (exe, "")
                waited = time.monotonic() - waited_from
                _FIGURES["build time"] = (f"{seconds:.0f} s wall from start to finish (PyInstaller, cold, nice {NICE}, "
                                          f"{os.cpu_count()} cores, alongside the other tests); the tests waited {waited:.0f} s for it")
                _FIGURES["bundle size"] = f"{_size(folder) / 2**20:.0f} MiB ({sum(1 for _ in folder.rglob('*'))} files)"
        exe, failure = self.result
        if exe is None:
            pytest.fail(failure, pytrace=False)
        return exe

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()

    def cleanup(self) -> None:
        self.stop()
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)


_BUILD = BackgroundBuild()


def _uses_bundle(item: pytest.Item) -> bool:
    return "bundle" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(session, config, items):
    # The bundle tests last, so that the build started below has the whole run to finish.
    mine = [i for i in items if _uses_bundle(i)]
    if mine and not os.environ.get("SIGNOFF_TEST_BUNDLE"):
        items[:] = [i for i in items if not _uses_bundle(i)] + mine


def pytest_collection_finish(session):
    if not session.config.option.collectonly and not os.environ.get("SIGNOFF_TEST_BUNDLE") \
            and any(_uses_bundle(i) for i in session.items):
        _BUILD.start()


def pytest_sessionfinish(session, exitstatus):
    _BUILD.cleanup()


@pytest.fixture(scope="session")
def packaging_figures() -> dict[str, str]:
    """Fill it with 'what: value' lines; they are printed in a 'packaging' section after the run."""
    return _FIGURES


@pytest.fixture(scope="session")
def bundle() -> Path:
    """The bundle's `signoff` executable, built once per session from the working tree.

    SIGNOFF_TEST_BUNDLE=/path/to/dist/signoff/signoff reuses a bundle you built yourself
    (for working on these tests); nothing sets it, so the test command always builds."""
    reuse = os.environ.get("SIGNOFF_TEST_BUNDLE")
    if reuse:
        exe = Path(reuse)
        assert exe.is_file(), f"SIGNOFF_TEST_BUNDLE={reuse} is not a file"
        _FIGURES["bundle"] = f"reused {exe} (SIGNOFF_TEST_BUNDLE), not built"
        return exe
    return _BUILD.wait()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _FIGURES:
        terminalreporter.section("packaging")
        for key, value in _FIGURES.items():
            terminalreporter.write_line(f"{key}: {value}")
