"""What goes into the bundle and what must not: shared by packaging/signoff.spec
(at build time) and tests/packaging/test_bundle.py (which checks the result).

No PyInstaller and no Qt imports here, so the test can use it in the normal venv.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

# Top-level modules that must not be in the bundle. Each is either a test tool, another Qt
# binding, a GUI toolkit we do not use, or a heavy library only the demo-data builder or a
# development tool needs. PyInstaller's `excludes` stops the import analysis at these names.
EXCLUDED = {
    # tests
    "pytest": "test runner", "_pytest": "test runner", "pytestqt": "test plugin", "pluggy": "pytest's plugin system",
    "iniconfig": "pytest's config reader", "py": "pytest's old helper package", "hypothesis": "tests",
    # other Qt bindings (PyInstaller refuses two bindings in one bundle anyway)
    "PyQt5": "other Qt binding", "PyQt6": "other Qt binding", "PySide2": "other Qt binding", "shiboken2": "PySide2",
    # toolkits and notebooks
    "tkinter": "Tk GUI", "_tkinter": "Tk GUI", "IPython": "notebooks", "ipykernel": "notebooks",
    "jupyter_client": "notebooks", "notebook": "notebooks",
    # heavy and unused at run time
    "matplotlib": "plots (pandas.plotting imports it lazily)", "sklearn": "demo-data builder only",
    "mlflow": "the MLflow source speaks REST, not the mlflow package",
    "pygments": "only mako's error-page highlighting (alembic generating scripts), never at run time",
    # build tools
    "PyInstaller": "the builder itself", "setuptools": "build tool", "pip": "installer", "wheel": "build tool",
}


# pyarrow parts Signoff never uses (packaging/hooks/hook-pyarrow.py): Arrow Flight, remote file
# systems, ORC, CUDA, its own tests. Module names, and the shared libraries only they load.
PYARROW_UNUSED = (
    "pyarrow.flight", "pyarrow._flight", "pyarrow.cuda", "pyarrow._cuda", "pyarrow._s3fs", "pyarrow._gcsfs",
    "pyarrow._hdfs", "pyarrow._azurefs", "pyarrow.orc", "pyarrow._orc", "pyarrow._dataset_orc",
    "pyarrow.tests", "pyarrow._pyarrow_cpp_tests",
    "pyarrow.libarrow_python_flight",   # a .so that pkgutil lists as a module: it would pull in libarrow_flight
)
PYARROW_UNUSED_LIBS = ("libarrow_flight", "libarrow_python_flight", "libarrow_s3", "libarrow_cuda",
                       "libarrow_python_cuda")


def excluded_modules() -> list[str]:
    """Everything the spec passes to PyInstaller's `excludes`."""
    return sorted(EXCLUDED) + list(PYARROW_UNUSED)


def _declared_entry_points(pyproject: Path) -> set[tuple[str, str, str]]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    declared = {("console_scripts", name, value) for name, value in project.get("scripts", {}).items()}
    declared |= {("gui_scripts", name, value) for name, value in project.get("gui-scripts", {}).items()}
    for group, table in project.get("entry-points", {}).items():
        declared |= {(group, name, value.strip()) for name, value in table.items()}
    return declared


def check_metadata(dist, pyproject: Path) -> None:
    """Refuse to build with installed metadata that is not the source's.

    The bundle carries the installed distribution's dist-info (copy_metadata). With an
    editable install (`pip install -e .`) that metadata is written at install time, so a
    plugin added to pyproject.toml since then would be missing from the bundle's plugin
    list without this check.
    """
    declared = _declared_entry_points(pyproject)
    installed = {(ep.group, ep.name, ep.value.strip()) for ep in dist.entry_points}
    version = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"].get("version")
    problems = []
    if declared != installed:
        for group, name, value in sorted(declared - installed):
            problems.append(f"declared in pyproject.toml but not installed: [{group}] {name} = {value}")
        for group, name, value in sorted(installed - declared):
            problems.append(f"installed but not in pyproject.toml: [{group}] {name} = {value}")
    if version is not None and dist.version != version:
        problems.append(f"installed version {dist.version}, pyproject.toml says {version}")
    if problems:
        raise SystemExit("signoff.spec: the installed signoff metadata does not match pyproject.toml "
                         "(re-run `bash scripts/bootstrap.sh --test`, or `pip install -e '.[dev]'`):\n  "
                         + "\n  ".join(problems))


def builtin_plugins(pyproject: Path) -> dict[str, list[str]]:
    """group -> sorted plugin names, as pyproject.toml declares them (groups signoff.*)."""
    out: dict[str, list[str]] = {}
    for group, name, _value in _declared_entry_points(pyproject):
        if group.startswith("signoff."):
            out.setdefault(group, []).append(name)
    return {g: sorted(names) for g, names in sorted(out.items())}
