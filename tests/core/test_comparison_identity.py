"""The bytes of a stored comparison for the same inputs do not change (issue 16): a comparison file
is named and verified by its SHA-256, and the lead's comparison identity rests on it, so the
request's compute may be made faster but must write the same file. The expected hashes are what
main wrote (b37f463, pyarrow 26.0.1) for generated Parquet inputs read as `signoff request` reads
them: in order and in another order with ids one side lacks, outputs with no value or equal to the
baseline's, several row groups (chunks). A different hash after a pyarrow upgrade is a change of
every comparison's identity too: say so, do not just update the constant."""

from __future__ import annotations

import hashlib
import io
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from signoff.core.compare import compare
from signoff.core.config import EvalSetSpec
from signoff.plugins.common.evalset import TableFile, build_eval_set
from signoff.store.comparison_files import write_comparison

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import scale_data  # noqa: E402

EXPECTED = {
    "in-order": "6da52b5d2df308d6b1b0455d00a1b0053b60a7e430b55b0205582b81b00b91ee",
    "reordered": "79e2be8e79cb9e82e87677240f2999ed028a7178864654ccba8478f3e731a4b8",
}


def _parquet(table: pa.Table, row_group: int) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, row_group_size=row_group)
    return sink.getvalue().to_pybytes()


def _inputs(case: str) -> dict[str, pa.Table]:
    tables = scale_data.generate(30_000)
    if case == "reordered":
        rng = np.random.default_rng(5)
        n = tables["samples"].num_rows
        base = tables["baseline"]
        outputs = base.column("output").to_numpy(zero_copy_only=False).astype(object)
        outputs[rng.choice(n, size=n // 100, replace=False)] = None
        tables["baseline"] = base.set_column(1, "output", pa.array(outputs, pa.string()))
        cand = tables["candidate"].take(pa.array(rng.permutation(n)))
        tables["candidate"] = cand.slice(0, n - n // 50)
    return tables


def stored_sha(case: str) -> str:
    tables = _inputs(case)
    spec = EvalSetSpec(name="support", samples="s.parquet", predictions="p.parquet", slices=("topic",))
    data = build_eval_set(spec, *(TableFile(f"{side}.parquet", _parquet(tables[side], 7_000))
                                  for side in ("samples", "baseline", "candidate")))
    out = io.BytesIO()
    sha = write_comparison(compare(data).arrow, out)
    assert sha == hashlib.sha256(out.getvalue()).hexdigest()
    return sha


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_the_stored_comparison_is_the_same_bytes(case):
    assert stored_sha(case) == EXPECTED[case], (
        f"the comparison file for the same inputs ({case}) changed: its SHA-256 is every stored "
        "comparison's identity (issue 16); find what changed the bytes")


if __name__ == "__main__":   # the expected hashes, with the code on sys.path (e.g. main's checkout)
    print({case: stored_sha(case) for case in sorted(EXPECTED)})
