"""Helpers the built-in sources share: reading tables and building eval sets."""

from .evalset import ReadBytes, TableFile, build_eval_set, id_warnings
from .paths import clean_relpath
from .tables import read_table, table_format

__all__ = ["ReadBytes", "TableFile", "build_eval_set", "clean_relpath", "id_warnings", "read_table", "table_format"]
