"""Signoff: the human sign-off step of ML releases."""

import os
from importlib.metadata import PackageNotFoundError, version as _version

# pyarrow's allocator (mimalloc) keeps freed memory for a while by default. Opening a
# 1M-sample comparison frees ~250 MB of decode buffers at once; hand it back to the OS
# at once instead (set before pyarrow is first imported; a value set by the user wins).
os.environ.setdefault("MIMALLOC_PURGE_DELAY", "0")

try:
    __version__ = _version("signoff")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
