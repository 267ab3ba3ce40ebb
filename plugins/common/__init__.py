"""Helpers the built-in sources share: reading tables and building eval sets
(`load_eval_sets`: the loop over a config's eval sets, given how a source reads a file)."""

from .evalset import ReadBytes, TableFile, build_eval_set, id_warnings, load_eval_sets
from .paths import clean_relpath
from .tables import read_table, table_format

__all__ = ["ReadBytes", "TableFile", "build_eval_set", "clean_relpath", "id_warnings", "load_eval_sets", "read_table",
           "table_format"]
