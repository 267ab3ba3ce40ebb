"""Runs in the frozen app before app/__main__.py (PyInstaller runtime hook).

Programs from outside the bundle get the user's environment, not the bundle's.

On Linux, PyInstaller's bootloader points LD_LIBRARY_PATH at the bundle's own folder
(and keeps the user's value, if any, in LD_LIBRARY_PATH_ORIG). Every child process
inherits it, so the system's `git` (which GitPython runs for the git and demo sources)
would load the bundle's copies of libz, libpcre2, libcrypto… instead of its own: fine on
the build machine, "version `PCRE2_10.42' not found" on a newer one. So when a Python
subprocess starts a program that is not inside the bundle, and the caller did not set
its own LD_LIBRARY_PATH, the user's original value is restored for that child only.
Qt's own helper (QtWebEngineProcess, started by Qt, not by Python's subprocess) and
the app itself keep the bundle's libraries.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

_VAR = "LD_LIBRARY_PATH"


def system_env(env, bundle_dir: str, environ=os.environ):
    """The environment for a child process outside the bundle: `env` (None: os.environ)
    with LD_LIBRARY_PATH as the user had it before the bootloader changed it."""
    base = dict(environ if env is None else env)
    if base.get(_VAR) != environ.get(_VAR) or not str(base.get(_VAR, "")).startswith(bundle_dir):
        return env  # the caller chose its own value, or it is not the bootloader's: leave it
    original = environ.get(_VAR + "_ORIG")
    if original is None:
        base.pop(_VAR, None)
    else:
        base[_VAR] = original
    return base


def _program(args, executable, shell: bool) -> str | None:
    if shell:
        return None
    if executable:
        prog = os.fspath(executable)
    elif isinstance(args, (str, bytes, os.PathLike)):
        prog = os.fspath(args)
    else:
        try:
            prog = os.fspath(list(args)[0])
        except (IndexError, TypeError):
            return None
    if isinstance(prog, bytes):
        prog = os.fsdecode(prog)
    return prog if os.sep in prog else shutil.which(prog)


def _install(bundle_dir: str) -> None:
    original_init = subprocess.Popen.__init__

    def __init__(self, args, *rest, **kwargs):
        if len(rest) < 9:  # env is the 10th positional parameter; nobody passes it that way, but be safe
            prog = _program(args, kwargs.get("executable"), bool(kwargs.get("shell")))
            if prog is not None and not os.path.abspath(prog).startswith(bundle_dir + os.sep):
                kwargs["env"] = system_env(kwargs.get("env"), bundle_dir)
        original_init(self, args, *rest, **kwargs)

    subprocess.Popen.__init__ = __init__


if getattr(sys, "frozen", False) and sys.platform.startswith("linux") and hasattr(sys, "_MEIPASS"):
    _install(os.path.abspath(sys._MEIPASS))
