"""The table's compact codes (app/ui/sample_columns.py): the same rows, codes and counts as the
numpy/pandas calls they replace, in a fraction of their scratch memory (issue 16: the 10M-row
paged open). Chunk size made small so the chunked paths are exercised."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from signoff.ui import sample_columns as sc


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(-1, 6), max_size=300), st.integers(1, 64))
def test_categories_factorize_as_pandas_did(codes, chunk):
    sc.CHUNK_ROWS, old = chunk, sc.CHUNK_ROWS
    try:
        cats = ["billing", "shipping", "other", "ünïcode", "", "x", "y"]
        series = pd.Series(pd.Categorical.from_codes(np.array(codes, dtype=np.int8), categories=cats))
        column = sc._Categories(series)
        got_codes, got_uniques = column.factorized()
        want_codes, present = pd.factorize(column.codes)     # what it computed before
        want_uniques = ["(none)" if c < 0 else cats[c] for c in present]
        assert got_codes.tolist() == want_codes.tolist() and got_uniques.tolist() == want_uniques
        assert got_codes.dtype == np.int8
        assert sc.code_counts(got_codes, len(got_uniques)).tolist() == \
            np.bincount(want_codes[want_codes >= 0], minlength=len(want_uniques)).tolist()
    finally:
        sc.CHUNK_ROWS = old
