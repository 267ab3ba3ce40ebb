"""The out-of-core comparison (app/service/out_of_core.py, DuckDB over Parquet) at 1M and 10M
samples (100M with --with-100m): time and peak memory, each run in a process of its own, next
to the in-memory engine (compare_files engine="memory") where it fits, and the growth per row.

    python benchmarks/bench_out_of_core.py [--sizes 1000000,10000000] [--with-100m] [--memory-limit 3GB]
                                           [--memory-engine-up-to 1000000] [--dir DIR]

Synthetic eval set: short outputs (~20 characters), ids "s0000001", input and reference ~20
characters, one slice; the candidate differs from the baseline on 30% of the samples; scores
given for half the rows (the rest derived from the reference); 0.1% of ids only in the samples.
Inputs are written once per size as canonical Parquet (the engine's input contract).
Peak memory: the child's ru_maxrss (os.wait4), the whole process (Python, pyarrow, DuckDB).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

CHUNK = 1_000_000


def _text(prefix: str, nums) -> pa.Array:
    return pc.binary_join_element_wise(prefix, pc.cast(nums, pa.string()), "")


def generate(n: int, folder: Path) -> tuple[Path, Path, Path]:
    """Canonical inputs of n samples, written chunk by chunk (memory stays at one chunk)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{part}.parquet" for part in ("samples", "baseline", "candidate")]
    if all(p.is_file() for p in paths):
        return tuple(paths)
    writers = [None, None, None]
    rng = np.random.default_rng(1)
    try:
        for lo in range(0, n, CHUNK):
            i = pa.array(np.arange(lo, min(n, lo + CHUNK), dtype=np.int64))
            m = len(i)
            ids = _text("s", i)
            samples = pa.table({"id": ids, "input": _text("how is order nr ", pc.bit_wise_and(i, 4095)),
                                "reference": _text("ships on day ", pc.bit_wise_and(i, 15)),
                                "region": pa.array(np.array(["eu", "us", "apac"])[rng.integers(0, 3, m)])})
            base_out = _text("ships on day ", pc.bit_wise_and(pc.add(i, 3), 15))
            differs = pa.array(rng.random(m) < 0.3)
            cand_out = pc.if_else(differs, _text("ships in week ", pc.bit_wise_and(i, 7)), base_out)
            keep = pa.array(rng.random(m) > 0.001)   # 0.1% of ids only in the samples

            def preds(out):
                score = pa.array(np.where(rng.random(m) < 0.5, rng.random(m).round(3), np.nan), from_pandas=True)
                return pa.table({"id": ids, "output": out, "score": score}).filter(keep)

            for k, table in enumerate((samples, preds(base_out), preds(cand_out))):
                if writers[k] is None:
                    writers[k] = pq.ParquetWriter(str(paths[k]), table.schema, compression="zstd")
                writers[k].write_table(table)
    finally:
        for w in writers:
            if w is not None:
                w.close()
    return tuple(paths)


def _child(engine: str, folder: str, memory_limit: str) -> None:
    from signoff.core.config import EvalSetSpec
    from signoff.service import out_of_core as ooc

    spec = EvalSetSpec(name="bench", samples="s", predictions="p", output_type="text", slices=("region",))
    paths = [Path(folder) / f"{p}.parquet" for p in ("samples", "baseline", "candidate")]
    start = time.perf_counter()
    if engine == "duckdb":
        result = ooc.compare_parquet(spec, *paths, out=Path(folder) / "out.parquet", memory_limit=memory_limit)
        rows, summary = result.rows, result.summary
        size = os.path.getsize(result.path)
    else:
        _, summary, table = ooc.compare_files(spec, *paths, engine="memory")
        rows, size = len(table), 0
    print(json.dumps({"seconds": time.perf_counter() - start, "rows": rows, "classes": summary["classes"],
                      "file_bytes": size}))


def run(engine: str, folder: Path, memory_limit: str) -> dict:
    proc = subprocess.Popen([sys.executable, __file__, "--child", engine, str(folder), memory_limit],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{engine} at {folder.name} failed:\n{err[-2000:]}")
    found = json.loads(out.strip().splitlines()[-1])
    found["peak_bytes"] = usage.ru_maxrss * 1024
    return found


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1000000,10000000")
    p.add_argument("--with-100m", action="store_true")
    p.add_argument("--memory-limit", default="3GB")
    p.add_argument("--memory-engine-up-to", type=int, default=1_000_000)
    p.add_argument("--dir", default="")
    p.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0
    sizes = [int(s) for s in args.sizes.split(",")] + ([100_000_000] if args.with_100m else [])
    base = Path(args.dir or tempfile.mkdtemp(prefix="signoff-bench-ooc-"))
    print(f"inputs in {base}; DuckDB memory_limit {args.memory_limit}; {os.cpu_count()} cores")
    print("| samples | engine | time | peak memory | per 1M samples | result file |")
    print("|---|---|---|---|---|---|")
    results = {}
    for n in sizes:
        t0 = time.perf_counter()
        folder = base / str(n)
        generate(n, folder)
        gen = time.perf_counter() - t0
        engines = ["duckdb"] + (["memory"] if n <= args.memory_engine_up_to else [])
        for engine in engines:
            r = run(engine, folder, args.memory_limit)
            results[(n, engine)] = r
            print(f"| {n:,} | {engine} | {r['seconds']:.1f} s | {r['peak_bytes'] / 2**30:.2f} GiB | "
                  f"{r['seconds'] / (n / 1e6):.2f} s | {r['file_bytes'] / 2**20:.0f} MiB |"
                  + (f" (inputs generated in {gen:.0f} s)" if engine == "duckdb" else ""), flush=True)
    duck = sorted((n, r) for (n, e), r in results.items() if e == "duckdb")
    for (n1, r1), (n2, r2) in zip(duck, duck[1:]):
        print(f"growth {n1:,} -> {n2:,}: time x{r2['seconds'] / r1['seconds']:.1f} for x{n2 / n1:.0f} rows; "
              f"per row {r1['seconds'] / n1 * 1e6:.2f} -> {r2['seconds'] / n2 * 1e6:.2f} us; "
              f"peak {r1['peak_bytes'] / 2**30:.2f} -> {r2['peak_bytes'] / 2**30:.2f} GiB")
    if (1_000_000, "memory") in results and (1_000_000, "duckdb") in results:
        m, d = results[(1_000_000, "memory")], results[(1_000_000, "duckdb")]
        assert m["classes"] == d["classes"], (m["classes"], d["classes"])
        print(f"1M: the same classes from both engines {d['classes']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
