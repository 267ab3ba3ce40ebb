"""Test helpers shared across test folders (real servers, not mocks)."""

import os as _os
from pathlib import Path as _Path

REPO_ROOT = _Path(__file__).resolve().parents[2]


def subprocess_pythonpath() -> str:
    """PYTHONPATH for a `python -m signoff` child: what this process was given (a worktree's
    packaging/import_tree.py links, which make `signoff` import that checkout), then the checkout
    for `tests.support`. Replacing PYTHONPATH with the checkout alone would let the editable
    install's import hook pick another checkout's code."""
    return _os.pathsep.join(p for p in (_os.environ.get("PYTHONPATH", ""), str(REPO_ROOT)) if p)
