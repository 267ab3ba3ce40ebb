"""Test-wide setup: Qt offscreen, every test in its own home, no leaked threads.

Fixtures for the store and the PostgreSQL server live next to the tests that
use them (tests/support/); this file only holds what every test needs.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

# Variables that point Signoff, Git, Qt or platformdirs at the developer's own
# files; each test gets a fresh tmp dir for them instead.
_XDG_DIRS = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR")
THREAD_GRACE_SECONDS = 2.0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "real_signer: no test key for the acting user (tests/conftest.py)")
    # Before anything imports Qt: no display needed, and QtWebEngine's
    # Chromium sandbox does not run as root (CI machines are root).
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The checkout's root directory (where pyproject.toml is)."""
    return REPO_ROOT


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Each test starts with an empty SIGNOFF_HOME and HOME and no identity.

    SIGNOFF_DATABASE_URL and SIGNOFF_USER are unset, so a test that needs a
    store or a user says so itself (and never touches the developer's store).
    HOME is fresh too, so no ~/.gitconfig: set GIT_* identity variables or
    SIGNOFF_USER in the test that needs one.
    """
    base = tmp_path_factory.mktemp("env")
    home = base / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SIGNOFF_HOME", str(base / "signoff-home"))
    monkeypatch.delenv("SIGNOFF_DATABASE_URL", raising=False)
    monkeypatch.delenv("SIGNOFF_USER", raising=False)
    for name in _XDG_DIRS:
        d = base / name.lower()
        d.mkdir(mode=0o700)  # Qt insists on 0700 for XDG_RUNTIME_DIR
        monkeypatch.setenv(name, str(d))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("SIGNOFF_SIGNING_KEY", raising=False)
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)   # no developer's agent keys in tests
    yield


@pytest.fixture(autouse=True)
def _reviewer_keys(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """Each test reviewer holds their own key (tests/support/keys.py), as if their ssh-agent had it:
    the service signs with the acting user's key, which the test configs list. A test marked
    `real_signer` gets the real look-up instead (SIGNOFF_SIGNING_KEY, else the agent, here none):
    impostors, wrong keys, the CLI loop with the demo's key files."""
    if request.node.get_closest_marker("real_signer"):
        yield
        return
    from signoff.service import signer as signer_module
    from tests.support import keys

    real = signer_module.signer_for

    def own_key(user, allowed_keys=None):
        if os.environ.get("SIGNOFF_SIGNING_KEY"):
            return real(user, allowed_keys)
        return keys.signer(user)

    monkeypatch.setattr(signer_module, "signer_for", own_key)
    yield


@pytest.fixture(autouse=True)
def _no_leaked_threads(request: pytest.FixtureRequest):
    """Fail a test that leaves a non-daemon thread running that it started.

    A thread still alive after a short grace join would keep the process (or
    the app at exit) waiting; stop and join workers in the test or fixture.
    """
    before = set(threading.enumerate())
    yield
    started = [t for t in threading.enumerate() if t not in before and not t.daemon and t.is_alive()]
    deadline = time.monotonic() + THREAD_GRACE_SECONDS
    for t in started:
        t.join(max(0.0, deadline - time.monotonic()))
    leaked = [t for t in started if t.is_alive()]
    if leaked:
        names = ", ".join(f"{t.name!r} (target {getattr(t, '_target', None)!r})" for t in leaked)
        pytest.fail(f"{request.node.nodeid} left {len(leaked)} non-daemon thread(s) running: {names}", pytrace=False)
