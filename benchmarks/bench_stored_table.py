"""What the stored per-sample table costs with and without issue 16's encodings, at 1M samples.

Run: .venv/bin/python benchmarks/bench_stored_table.py [--rows 1000000] [--repeat 3]

One comparison of benchmarks/scale_data.py's generated set (30% of the candidate's outputs
differ), then, alternating, its table written as a comparison file (write_parquet, zstd, row
groups for paging) and read back whole (read_columns, what opening it decodes) three ways:

  before     with a sample_hash column (what compare() stored before), whole candidate outputs
  no hash    without sample_hash, whole candidate outputs
  now        without sample_hash, candidate_output null where it equals the baseline's
             (candidate_same), put back on reading (signoff.core.stored_table.restore_outputs)

and the time compare() spent on the hashes before (sample_hashes over every row), for scale.
Prints medians; the machine's load beside them (the figures are only comparable in one run).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))

from signoff.core.compare import HASH_COLUMN, compare, row_hashes, sample_hashes  # noqa: E402
from signoff.core.config import EvalSetSpec  # noqa: E402
from signoff.core.stored_table import SAME_COLUMN, restore_outputs  # noqa: E402
from signoff.plugins.common.evalset import TableFile, build_eval_set  # noqa: E402
from signoff.store.comparison_files import read_columns, write_parquet  # noqa: E402

import scale_data  # noqa: E402


def _parquet(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    tables = scale_data.generate(args.rows)
    spec = EvalSetSpec(name="support", samples="s.parquet", predictions="p.parquet", slices=("topic",))
    data = build_eval_set(spec, *(TableFile(f"{side}.parquet", _parquet(tables[side]))
                                  for side in ("samples", "baseline", "candidate")))
    now = compare(data).arrow
    whole = restore_outputs(now)
    t0 = time.perf_counter()
    hashes = sample_hashes({c: whole.column(c).cast(pa.string()) for c in ("input", "reference", "baseline_output",
                                                                           "candidate_output")})
    t_hash = time.perf_counter() - t0
    tables = {"before": whole.append_column(HASH_COLUMN, pa.array(hashes, pa.large_string())),
              "no hash": whole, "now": now}
    print(f"{args.rows:,} rows; {int(now.column(SAME_COLUMN).to_numpy().sum()):,} candidate outputs equal to the "
          f"baseline's; sample_hashes over every row {t_hash:.2f} s")
    times: dict[str, dict[str, list[float]]] = {k: {"write": [], "read": []} for k in tables}
    sizes = {}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            for name, table in tables.items():
                path = os.path.join(tmp, name.replace(" ", "_") + ".parquet")
                t0 = time.perf_counter()
                write_parquet(table, path)
                times[name]["write"].append(time.perf_counter() - t0)
                sizes[name] = os.path.getsize(path)
                t0 = time.perf_counter()
                back = read_columns(pq.ParquetFile(path), None)
                times[name]["read"].append(time.perf_counter() - t0)
                assert back.column("candidate_output").equals(whole.column("candidate_output"))
    restore = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        restore_outputs(now)
        restore.append(time.perf_counter() - t0)
    print(f"restore_outputs (in the read above): {statistics.median(restore):.3f} s")
    picked = list(whole.column("id")[: 1000].to_pylist())
    few = row_hashes(restore_outputs(now.filter(pa.compute.is_in(now.column("id"), value_set=pa.array(picked)))))
    assert few == dict(zip(picked, hashes[:1000]))   # the same hashes, computed for 1,000 labelled rows only
    print(f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'table':10} {'file MB':>9} {'write s':>8} {'read s':>7}")
    for name in tables:
        print(f"{name:10} {sizes[name] / 1e6:9.1f} {statistics.median(times[name]['write']):8.2f} "
              f"{statistics.median(times[name]['read']):7.2f}")


if __name__ == "__main__":
    main()
