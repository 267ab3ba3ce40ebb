"""app/ui/freed_memory.py: the open's freed buffers handed back, on any C library."""

from __future__ import annotations

import pyarrow as pa

from signoff.ui import freed_memory


def test_handing_back_works_with_or_without_glibc(monkeypatch):
    for trim in (freed_memory._malloc_trim(), None):    # glibc here; a C library without malloc_trim
        monkeypatch.setattr(freed_memory, "_malloc_trim", lambda t=trim: t)
        before = pa.total_allocated_bytes()      # what other tests' tables still hold
        big = pa.array(["x" * 100] * 200_000)
        assert pa.total_allocated_bytes() > before + 19_000_000
        del big
        freed_memory.hand_back_freed_memory()
        assert pa.total_allocated_bytes() <= before
