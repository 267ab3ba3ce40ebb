"""The layering contract: everything CI and scripts run imports no Qt.

app/core, app/store, app/service, app/cli, the top-level app modules (the
`signoff` entry point, plugin API, registry) and the plugins other than
renderers must import without PySide6 or shiboken6. Only app/ui and
plugins/renderers may import Qt (renderers lazily, in create_view).

The packages are walked at run time, so new modules are checked as they appear.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Directories whose modules must stay Qt-free, and the parts that may use Qt.
QT_FREE_DIRS = ("app/core", "app/store", "app/service", "app/cli", "app/report", "plugins")
QT_FREE_TOP_LEVEL = ("app",)  # app/*.py itself (not its subpackages)
# Renderers' views and a plugin's window parts (UI extensions) are Qt; their packages' __init__ are not
# (tests/test_renderer_plugins.py loads every plugin group without Qt).
QT_ALLOWED = ("app/ui", "plugins/renderers", "plugins/mlflow/ui")
QT_MODULES = ("PySide6", "shiboken6")


def _skipped_dir(path: Path) -> bool:
    rel = path.relative_to(ROOT).as_posix()
    if any(rel == a or rel.startswith(a + "/") for a in QT_ALLOWED):
        return True
    if path.name == "__pycache__":
        return True
    # Alembic's env.py and revision scripts run only inside alembic.
    return (path / "script.py.mako").exists() or (path.name == "versions" and (path.parent / "script.py.mako").exists())


def qt_free_files(*, top_level: bool = True) -> list[Path]:
    files: list[Path] = []
    for d in QT_FREE_DIRS:
        base = ROOT / d
        if not base.is_dir():
            continue
        stack = [base]
        while stack:
            cur = stack.pop()
            if _skipped_dir(cur):
                continue
            for p in sorted(cur.iterdir()):
                if p.is_dir():
                    stack.append(p)
                elif p.suffix == ".py":
                    files.append(p)
    for d in QT_FREE_TOP_LEVEL if top_level else ():
        files.extend(sorted((ROOT / d).glob("*.py")))
    return sorted(set(files))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


# Runs in a fresh interpreter: imports each module in turn and records, with an
# import hook, where the first request for Qt came from and under which module.
_CHECK = textwrap.dedent(
    """
    import importlib, json, sys, traceback

    QT = {qt!r}
    ROOT = {root!r}
    sys.path.insert(0, ROOT)
    sys.argv = ["layering-check"]
    hits = []

    class QtSpy:
        current = None
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in QT and not hits:
                frames = [f for f in traceback.extract_stack() if f.filename.startswith(ROOT)]
                where = [f"{{f.filename[len(ROOT) + 1:]}}:{{f.lineno}}" for f in frames]
                hits.append({{"module": QtSpy.current, "qt": name, "where": where}})
            return None

    sys.meta_path.insert(0, QtSpy())
    errors = {{}}
    for mod in {modules!r}:
        QtSpy.current = mod
        try:
            importlib.import_module(mod)
        except BaseException as exc:
            errors[mod] = f"{{type(exc).__name__}}: {{exc}}"
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in QT)
    print(json.dumps({{"hits": hits, "loaded": loaded, "errors": errors}}))
    """
)


def _import_check(modules: list[str]) -> dict:
    code = _CHECK.format(qt=QT_MODULES, root=str(ROOT), modules=modules)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, f"the import check itself failed:\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_qt_free_modules_do_not_import_qt():
    modules = [module_name(p) for p in qt_free_files()]
    assert modules, "found no modules to check (wrong ROOT?)"
    result = _import_check(modules)
    hits, errors = result["hits"], result["errors"]
    if hits or result["loaded"]:
        # Once Qt is loaded, later imports of it are invisible: check every
        # module from the first offender on in a fresh interpreter of its own.
        first = modules.index(hits[0]["module"]) if hits else 0
        hits = hits[:1]
        for mod in modules[first + 1:]:
            hits += _import_check([mod])["hits"]

    problems = []
    for hit in hits:
        via = " -> ".join(hit["where"]) or "(outside the repo)"
        problems.append(f"importing {hit['module']} pulled in {hit['qt']} via {via}")
    if result["loaded"] and not problems:
        problems.append(f"Qt modules were loaded: {', '.join(result['loaded'])}")
    for mod, err in errors.items():
        problems.append(f"{mod} does not import, so its layering cannot be checked: {err}")
    assert not problems, "Qt-free layers must not import Qt (see docs/architecture.md):\n" + "\n".join(problems)


_QT_IMPORT = re.compile(r"^\s*(?:import|from)\s+(?:PySide6|shiboken6)\b", re.MULTILINE)


def test_no_qt_import_statements_in_qt_free_layers():
    """Fast static check: also catches imports inside functions that the import
    test does not execute. The top-level app modules are left out: `signoff`
    with no command opens the window, so app/__main__.py may import Qt lazily."""
    offenders = []
    for path in qt_free_files(top_level=False):
        text = path.read_text(encoding="utf-8")
        for m in _QT_IMPORT.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            offenders.append(f"{path.relative_to(ROOT)}:{line}: {m.group(0).strip()}")
    assert not offenders, "Qt imported in a Qt-free layer (Qt belongs in app/ui):\n" + "\n".join(offenders)


def _tool(name: str) -> str:
    exe = Path(sys.executable).with_name(name)
    return str(exe) if exe.exists() else name


def test_import_contracts(tmp_path):
    """The layer contracts in pyproject.toml ([tool.importlinter]): core, store, service, plugins, cli, report, no cycles.

    import-linter walks package folders, so it reads a tree of links laid out like the installed
    wheel (packaging/import_tree.py): app/ as signoff/, plugins/ as signoff/plugins/."""
    sys.path.insert(0, str(ROOT / "packaging"))
    try:
        from import_tree import build_import_tree
    finally:
        sys.path.remove(str(ROOT / "packaging"))
    tree = build_import_tree(tmp_path / "tree")
    proc = subprocess.run([_tool("lint-imports"), "--no-cache"], capture_output=True, text=True, cwd=ROOT, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(tree)})
    assert proc.returncode == 0, "a layer contract is broken (pyproject.toml [tool.importlinter]):\n" + proc.stdout[-6000:] + proc.stderr[-2000:]


def test_ruff_clean():
    """ruff with the small config in pyproject.toml ([tool.ruff]) over the code, tests and benchmarks."""
    proc = subprocess.run([_tool("ruff"), "check", "--no-cache", "app", "plugins", "tests", "benchmarks"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, "ruff found problems (fix them, or `ruff check --fix`):\n" + proc.stdout[-6000:] + proc.stderr[-2000:]


# --- one import name of our own (issue 14 item 1) ---------------------------------------------------

_OLD_NAMES = re.compile(r"^\s*(?:from|import)\s+(?:app|plugins|resources)(?:\.|\s|$)", re.M)


def test_code_imports_the_product_name_only():
    """Code, tests and benchmarks import `signoff...`, never the folder names `app`, `plugins` or
    `resources`: with the checkout on sys.path those would load a second copy of a module."""
    offenders = []
    for d in ("app", "plugins", "resources", "tests", "benchmarks", "packaging", "scripts"):
        for path in sorted((ROOT / d).rglob("*.py")):
            if "node_modules" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            for m in _OLD_NAMES.finditer(text):
                offenders.append(f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}: {m.group(0).strip()}")
    assert not offenders, "import the product name (signoff, signoff.plugins, signoff.resources):\n" + "\n".join(offenders)


def test_the_package_list_covers_every_folder():
    """pyproject.toml lists the packages by their import names (package-dir cannot be searched):
    every folder with an __init__.py under app/, plugins/ and resources/ is in the list, and no more."""
    import tomllib
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    expected = set()
    for folder, name in {v: k for k, v in conf["package-dir"].items()}.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder).parts
            if "__pycache__" not in rel:
                expected.add(".".join((name, *rel)))
    assert set(conf["packages"]) == expected
