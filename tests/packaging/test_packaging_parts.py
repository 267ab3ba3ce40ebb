"""The parts of the packaging that need no build (seconds): the metadata check the spec
runs, the runtime hook's environment for programs outside the bundle, the About
dialog's version, the desktop entry and the icons. The bundle itself: test_bundle.py."""

from __future__ import annotations

import configparser
import importlib.util
import shutil
import subprocess
import sys
from importlib.metadata import EntryPoint, distribution, version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "packaging"))
import bundle_manifest  # noqa: E402


def _load_runtime_hook():
    spec = importlib.util.spec_from_file_location("rthook_signoff", ROOT / "packaging" / "runtime_hooks" / "rthook_signoff.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)   # not frozen: defines the functions, patches nothing
    return module


# -- the metadata the bundle carries ------------------------------------------------------

def test_installed_metadata_matches_pyproject():
    """What the spec checks before building: a stale editable install fails here first."""
    bundle_manifest.check_metadata(distribution("signoff"), ROOT / "pyproject.toml")


class _FakeDist:
    def __init__(self, eps, version="0.1.0"):
        self.entry_points = [EntryPoint(name=n, value=v, group=g) for g, n, v in eps]
        self.version = version


def test_stale_metadata_is_refused(tmp_path: Path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "signoff"\nversion = "0.2.0"\n'
                         '[project.scripts]\nsignoff = "signoff.__main__:main"\n'
                         '[project.entry-points."signoff.sources"]\ngit = "signoff.plugins.git:GitSource"\n'
                         'new = "plugins.new:NewSource"\n')
    stale = _FakeDist([("console_scripts", "signoff", "signoff.__main__:main"),
                       ("signoff.sources", "git", "signoff.plugins.git:GitSource")], version="0.1.0")
    with pytest.raises(SystemExit) as err:
        bundle_manifest.check_metadata(stale, pyproject)
    assert "[signoff.sources] new = plugins.new:NewSource" in str(err.value)
    assert "installed version 0.1.0, pyproject.toml says 0.2.0" in str(err.value)
    fresh = _FakeDist([("console_scripts", "signoff", "signoff.__main__:main"), ("signoff.sources", "git", "signoff.plugins.git:GitSource"),
                       ("signoff.sources", "new", "plugins.new:NewSource")], version="0.2.0")
    bundle_manifest.check_metadata(fresh, pyproject)
    assert bundle_manifest.builtin_plugins(pyproject) == {"signoff.sources": ["git", "new"]}


def test_nothing_the_app_imports_is_excluded():
    """The excludes must not cut off a runtime dependency of the app."""
    from importlib.metadata import requires

    runtime = {r.split(";")[0].split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip().lower()
               for r in requires("signoff") or [] if "extra ==" not in r}
    assert not runtime & {m.lower() for m in bundle_manifest.EXCLUDED}


# -- the runtime hook ---------------------------------------------------------------------

def test_programs_outside_the_bundle_get_the_users_library_path():
    hook = _load_runtime_hook()
    bundle = "/opt/signoff/_internal"
    environ = {"LD_LIBRARY_PATH": bundle, "PATH": "/usr/bin"}
    env = hook.system_env(None, bundle, environ)
    assert "LD_LIBRARY_PATH" not in env and env["PATH"] == "/usr/bin"

    environ = {"LD_LIBRARY_PATH": f"{bundle}:/usr/local/lib", "LD_LIBRARY_PATH_ORIG": "/usr/local/lib"}
    assert hook.system_env(dict(environ, GIT_DIR="x"), bundle, environ)["LD_LIBRARY_PATH"] == "/usr/local/lib"

    own = {"LD_LIBRARY_PATH": "/caller/choice"}
    assert hook.system_env(own, bundle, environ) is own          # the caller's own value stays

    plain = {"PATH": "/usr/bin"}
    assert hook.system_env(None, bundle, plain) is None           # not frozen-looking: nothing to change


def test_runtime_hook_patches_nothing_outside_the_bundle():
    before = subprocess.Popen.__init__
    _load_runtime_hook()
    assert subprocess.Popen.__init__ is before


# -- what the user sees -------------------------------------------------------------------

def test_about_dialog_shows_the_metadata_version(qtbot):
    from signoff.ui.about_dialog import AboutDialog, about_details, app_icon, details_text

    dialog = AboutDialog()
    qtbot.addWidget(dialog)
    assert dialog.version_label.text() == f"Version {version('signoff')}"
    assert about_details()["Version"] == version("signoff")
    assert "Python package" in about_details()["Running as"]
    assert details_text().startswith("Signoff\nVersion: ")
    assert not app_icon().isNull() and len(app_icon().availableSizes()) >= 5


def test_help_menu_opens_the_about_dialog(qtbot):
    from signoff.ui.app import create_main_window
    from tests.doubles import FakeReviewService

    window = create_main_window(FakeReviewService())
    qtbot.addWidget(window)
    action = window.actions_by_id["help.about"]
    assert action in window.menuBar().actions()[-1].menu().actions()     # the Help menu
    action.trigger()
    qtbot.waitUntil(lambda: window.about_dialog is not None and window.about_dialog.isVisible())
    assert window.about_dialog.version_label.text() == f"Version {version('signoff')}"
    window.about_dialog.close()
    assert not window.windowIcon().isNull()


def test_desktop_entry_is_valid_and_names_a_shipped_icon():
    path = ROOT / "packaging" / "linux" / "signoff.desktop"
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(path, encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Exec"] == "signoff" and entry["Type"] == "Application" and entry["Terminal"] == "false"
    icons = ROOT / "resources" / "icons"
    assert (icons / f"{entry['Icon']}.svg").is_file()
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        assert (icons / f"{entry['Icon']}-{size}.png").is_file()
    validator = shutil.which("desktop-file-validate")
    if validator is None:
        pytest.fail("desktop-file-validate is not installed (scripts/bootstrap.sh --test installs it)")
    proc = subprocess.run([validator, str(path)], capture_output=True, text=True)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


def test_icons_are_square_pngs_of_their_size():
    from PIL import Image

    for png in sorted((ROOT / "resources" / "icons").glob("signoff-*.png")):
        size = int(png.stem.split("-")[1])
        with Image.open(png) as im:
            assert im.size == (size, size) and im.mode == "RGBA", png.name
