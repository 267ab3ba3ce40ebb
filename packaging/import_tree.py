"""The installed package layout (`signoff`, `signoff.plugins`, `signoff.resources`) as a tree of
symbolic links into the checkout's folders (`app/`, `plugins/`, `resources/`).

pyproject.toml maps the folders to one import name (`[tool.setuptools] package-dir`). An installed
wheel nests them for real; an editable install resolves the names with setuptools' import hook,
which tools that walk folders (PyInstaller's analysis, import-linter) do not see. For those, and for
running a second checkout (a git worktree) against a shared virtual environment, this builds the
same nesting out of links:

    python packaging/import_tree.py DEST      # then: PYTHONPATH=DEST python -m signoff ...

Edits in the checkout show through at once (the links point at the folders); a new module at
the top of app/ needs the tree rebuilt (it is cheap: one link per entry).

The tree also holds a `signoff` dist-info with this checkout's entry points (pyproject.toml
`[project.entry-points.*]`), so the plugins a checkout declares (a new group too) are the ones
found: importlib.metadata takes the first `signoff` distribution on sys.path. Its version is
pyproject.toml's.
"""

from __future__ import annotations

import os
import shutil
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# folder in the checkout -> where it sits under the import name (pyproject.toml package-dir)
MAPPING = {"app": "signoff", "plugins": "signoff/plugins", "resources": "signoff/resources"}


def build_import_tree(dest: Path, root: Path = ROOT, *, dist_info: bool = True) -> Path:
    """Make DEST/signoff/... as links into ROOT; returns DEST (the directory to put on sys.path).
    `dist_info`: also the checkout's entry points as a dist-info (a worktree's plugins are found
    without reinstalling); the PyInstaller build leaves it out and ships what pip installed."""
    dest = Path(dest)
    top = dest / "signoff"
    if top.exists() or top.is_symlink():
        shutil.rmtree(top)
    top.mkdir(parents=True)
    for folder, target in MAPPING.items():
        where = dest / target
        where.mkdir(parents=True, exist_ok=True)
        for entry in sorted((root / folder).iterdir()):
            if entry.name == "__pycache__" or (where / entry.name).exists():
                continue
            os.symlink(entry, where / entry.name, target_is_directory=entry.is_dir())
    for old in dest.glob("signoff-*.dist-info"):
        shutil.rmtree(old)
    if dist_info:
        _write_dist_info(dest, root)
    return dest


def _write_dist_info(dest: Path, root: Path) -> None:
    """DEST/signoff-VERSION.dist-info: METADATA and the checkout's entry_points.txt."""
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    ver = project["version"]
    info = dest / f"signoff-{ver}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: signoff\nVersion: {ver}\n", encoding="utf-8")
    groups = {"console_scripts": project.get("scripts", {}), **project.get("entry-points", {})}
    (info / "entry_points.txt").write_text(
        "".join(f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in eps.items()) + "\n"
                for group, eps in groups.items() if eps), encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python packaging/import_tree.py DEST")
    print(build_import_tree(Path(sys.argv[1])))
