"""Signoff: the human sign-off step of ML releases."""

import os

# pyarrow's allocator (mimalloc) keeps freed memory for a while by default. Opening a
# 1M-sample comparison frees ~250 MB of decode buffers at once; hand it back to the OS
# at once instead (set before pyarrow is first imported; a value set by the user wins).
os.environ.setdefault("MIMALLOC_PURGE_DELAY", "0")

__all__ = ["__version__"]


def __getattr__(name: str):
    # __version__ on first use: importlib.metadata costs more to import than `signoff status`
    # takes when it answers from the kept verdict (issue 16), which never asks for it.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            found = version("signoff")
        except PackageNotFoundError:  # running from a source tree that is not installed
            found = "0.0.0+unknown"
        globals()["__version__"] = found
        return found
    raise AttributeError(f"module 'signoff' has no attribute {name!r}")
