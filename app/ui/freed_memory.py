"""Hand memory freed by a big read back to the system, so the window's footprint is what it holds.

Opening a comparison decodes a file, restores columns and converts them: transient buffers as
large as the columns themselves. Once freed, Arrow's allocator (mimalloc or jemalloc) and glibc's
malloc keep those pages for reuse, so the process's resident memory stays near the open's peak
(at 1M samples ~40 MB above what the table holds; docs/performance.md). Both are asked to return
them: Arrow's pool through `release_unused`, glibc through `malloc_trim` where the C library is
glibc (elsewhere this part does nothing). Called on the worker after an open and after the search
index is built; never on the GUI thread (a trim can take a few milliseconds)."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.lru_cache(maxsize=1)
def _malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        return getattr(libc, "malloc_trim", None)
    except OSError:
        return None


def hand_back_freed_memory() -> None:
    from signoff.core.compare import release_freed   # Arrow's pool: the request does the same

    release_freed()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
