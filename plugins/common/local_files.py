"""A local input file's bytes for the loaders of the files and two-files sources (issue 16).

A Parquet file is mapped read-only instead of copied into new memory: pyarrow decodes it in
place and its SHA-256 runs over the same pages. At 10M samples the copy of 2.3 GB into fresh
pages cost 2-4 s of page faults on the 2-core machine, the map next to nothing
(docs/performance.md "Parquet inputs mapped, not copied"). Other formats are read as bytes
(their parsers and line numbers take bytes).

The hash and the parse each read the pages; a file rewritten between them would make the
recorded hash name other bytes than those compared. So `check_unchanged` (the loader calls it
once the file is parsed and hashed) compares the file's identity (device, inode, size, mtime and
ctime in nanoseconds: any write moves ctime) with the one taken when it was mapped, and refuses
when it changed. A file truncated while it is mapped ends the process (SIGBUS) before anything
is stored: docs/trust.md "Inputs read in place".
"""

from __future__ import annotations

import mmap
import os
import stat

from signoff.core.errors import InputError
from signoff.plugins.common.tables import table_format


class MappedFile(mmap.mmap):
    """A file's bytes, mapped read-only: the buffer protocol, len() and slices, as bytes give."""

    path: str
    identity: tuple


def read_file(path: str) -> bytes:
    """The bytes of the local file `path` (a MappedFile for a Parquet file); OSError as open/read raise."""
    with open(path, "rb") as f:
        st = os.fstat(f.fileno())
        if not (st.st_size and stat.S_ISREG(st.st_mode) and _is_parquet(path)):
            return f.read()
        try:
            mapped = MappedFile(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):   # a file system that cannot map: read as before
            return f.read()
    mapped.path, mapped.identity = path, _identity(st)
    return mapped


def check_unchanged(data) -> None:
    """Refuses a mapped file that changed since it was mapped (what was hashed may not be what was parsed)."""
    if not isinstance(data, MappedFile):
        return
    try:
        now = _identity(os.stat(data.path))
    except OSError:
        now = None
    if now != data.identity:
        raise InputError(f"{data.path} changed while Signoff read it: run again once it is completely written")


def _identity(st: os.stat_result) -> tuple:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _is_parquet(path: str) -> bool:
    try:
        return table_format(path) == "parquet"
    except InputError:   # an unknown format: the parser says so, from the bytes
        return False
