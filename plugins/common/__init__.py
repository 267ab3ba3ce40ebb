"""Helpers the built-in sources share: reading tables and building eval sets
(`load_eval_sets`: the loop over a config's eval sets, given how a source reads a file).

The names below are imported when first used (PEP 562): the forge sinks import
`signoff.plugins.common.forge_sink` / `.http`, which must not pull in pandas through
`evalset` (a `status` posting to GitHub needs no table reader)."""

from importlib import import_module

_WHERE = {"ReadBytes": "evalset", "TableFile": "evalset", "build_eval_set": "evalset", "id_warnings": "evalset",
          "load_eval_sets": "evalset", "clean_relpath": "paths", "read_table": "tables", "table_format": "tables"}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
