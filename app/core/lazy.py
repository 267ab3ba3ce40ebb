"""A module imported when first used, for the heavy libraries a command may not need.

`pd = lazy("pandas")` at the top of a module, then `pd.DataFrame(...)` as usual: pandas is
imported by the first attribute look-up, not when the module is. This keeps `signoff status`,
`wait`, `--version` and `--help` from paying for pandas, numpy and pyarrow when they read no
comparison (issue 16, docs/performance.md "Command-line start-up"). Annotations need
`from __future__ import annotations` (they are then never evaluated).
"""

from __future__ import annotations

import importlib


class _Lazy:
    __slots__ = ("_name",)

    def __init__(self, name: str):
        object.__setattr__(self, "_name", name)

    def __getattr__(self, attr: str):
        return getattr(importlib.import_module(self._name), attr)   # sys.modules caches it after the first

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def lazy(name: str):
    """`name` as a module whose import waits for its first use."""
    return _Lazy(name)
