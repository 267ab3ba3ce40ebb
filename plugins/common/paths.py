"""Paths written in signoff.toml or in eval-set rows: relative, with forward
slashes, and never leaving the repository (or folder) they are read from."""

from __future__ import annotations

import posixpath

from signoff.core.errors import InputError


def clean_relpath(path: str, what: str = "path") -> str:
    """`path` normalised ("./a//b" -> "a/b"); InputError if absolute or escaping with "..".

    what: how messages name the path, e.g. "signoff.toml eval_sets[0].samples".
    """
    text = str(path).strip().replace("\\", "/")
    norm = posixpath.normpath(text) if text else ""
    if not norm or norm == "." or norm.startswith("/") or (len(norm) > 1 and norm[1] == ":"):
        raise InputError(f"{what} {path!r} must be a relative path")
    if norm == ".." or norm.startswith("../"):
        raise InputError(f"{what} {path!r} points outside the repository")
    return norm
