"""Overrides the pyarrow hook of pyinstaller-hooks-contrib (hooks in packaging/hooks take precedence).

The stock hook collects every pyarrow submodule and every shared library in the wheel.
Signoff uses pyarrow for Parquet, JSON and compute (and pandas for its string columns);
it never talks Arrow Flight, S3/GCS/HDFS/Azure file systems, ORC or CUDA, which carry
about 60 MB of libraries (libarrow_flight alone is 31 MB). The module names left out here
are also in the spec's excludes (packaging/bundle_manifest.py: PYARROW_UNUSED), so an
optional `try: import pyarrow._s3fs` inside pyarrow does not pull them back.
"""

import os
import sys

from PyInstaller.utils.hooks import collect_data_files, collect_dynamic_libs, collect_submodules

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bundle_manifest import PYARROW_UNUSED, PYARROW_UNUSED_LIBS  # noqa: E402


def _used(name: str) -> bool:
    return not any(name == m or name.startswith(m + ".") for m in PYARROW_UNUSED)


hiddenimports = collect_submodules("pyarrow", filter=_used)
# Headers, Cython sources and tests are for building against pyarrow, not for running it. (Every
# non-Python file counts as data here, the shared libraries too: the unused ones are left out by name.)
datas = collect_data_files("pyarrow", excludes=["include", "include/**", "src", "src/**", "tests", "tests/**",
                                                "**/*.pxd", "**/*.pyx", "**/*.pxi", "**/*.h", "**/*.cc"]
                           + [f"{lib}*" for lib in PYARROW_UNUSED_LIBS])
binaries = [(src, dest) for src, dest in collect_dynamic_libs("pyarrow")
            if not any(os.path.basename(src).startswith(lib) for lib in PYARROW_UNUSED_LIBS)]
