"""How a comparison file is written (app/store/comparison_files.py, issue 16 item 2): the format
in use (Arrow IPC, zstd on every core, hashed while written) next to the alternatives weighed,
on a real comparison table: `bench_scale.py`'s generated eval set, compared by the engine.

    python benchmarks/bench_comparison_files.py [--n 1000000]

For each way: write + SHA-256 (best of 2); the window's whole read of it (ComparisonFiles.read:
decoded while its hash is checked on the other core; best of 2); the file's size.
Then the codec question in CPU seconds (getrusage: not moved by other work on the machine), for
the IPC codecs weighed: write_comparison, a paged open (hash checked, resident columns read) and a
complete search (every record batch's text decoded two ahead, a substring matched); medians.
Parquet is written as the store wrote it before (row groups for paging, dictionary only for
dictionary columns) and, where said, hashed by reading the file back as the store did.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))


def comparison_table(n: int, work: Path) -> pa.Table:
    import scale_data

    from signoff.core.compare import compare
    from signoff.plugins.files import FilesSource

    root = scale_data.write_workspace(work / "ws", scale_data.generate(n))
    source = FilesSource(str(root), "base", "cand", policy=str(root / "signoff.toml"))
    return compare(source.load().eval_sets[0]).arrow


def sha_of(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(8 << 20):
            h.update(chunk)
    return h.hexdigest()


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def codec_cpu(table: pa.Table, work: Path, rounds: int = 4) -> None:
    """The stored codec against lz4 and faster zstd levels, in CPU seconds, rounds alternated."""
    import pyarrow.compute as pc

    from signoff.store import comparison_files as cf

    kept = cf.IPC_COMPRESSION
    codecs = [kept, ("lz4", None), ("zstd", -1), ("zstd", -3)]
    cpu = {c: {"write": [], "open": [], "search": []} for c in codecs}
    sizes = {}
    try:
        for _ in range(rounds):
            for codec in codecs:
                cf.IPC_COMPRESSION = codec
                path = work / f"codec-{codec[0]}{codec[1]}.arrow"
                c0 = _cpu()
                with open(path, "wb") as f:
                    sha = cf.write_comparison(table, f)
                cpu[codec]["write"].append(_cpu() - c0)
                sizes[codec] = os.path.getsize(path)
                cf.ComparisonFiles._verified.clear()
                c0 = _cpu()
                source, check = cf.ComparisonFiles.open_checking(path.as_uri(), sha)
                pages = cf.ComparisonPages(source, check=check)
                pages.resident(["id", "class", "severity", "delta"])
                pages.verified()
                cpu[codec]["open"].append(_cpu() - c0)
                c0 = _cpu()
                for _start, group in pages.batches(["input", "baseline_output", "candidate_output"], stored=True,
                                                   ahead=2):
                    for column in group.columns:   # the text (stored=True adds the "same" flags)
                        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
                            pc.sum(pc.match_substring(column, "zebra", ignore_case=True))
                cpu[codec]["search"].append(_cpu() - c0)
    finally:
        cf.IPC_COMPRESSION = kept
    print(f"codecs, CPU seconds, medians of {rounds}:")
    for codec in codecs:
        m = {k: statistics.median(v) for k, v in cpu[codec].items()}
        label = f"IPC {codec[0]} {codec[1]}" + (" (kept)" if codec == kept else "")
        print(f"  {label:20s} write+hash {m['write']:5.2f}   "
              f"open {m['open']:5.2f}   complete search {m['search']:5.2f}   {sizes[codec] / 2**20:5.0f} MiB", flush=True)


def main() -> int:
    from signoff.store import comparison_files as cf

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    args = ap.parse_args()
    with open("/proc/loadavg") as f:
        print(f"comparison files: {os.cpu_count()} cores, load average {' '.join(f.read().split()[:3])}")
    with tempfile.TemporaryDirectory(prefix="signoff-files-bench-") as tmp:
        work = Path(tmp)
        table = comparison_table(args.n, work)
        out = str(work / "out")
        rows = cf.row_group_rows(table)
        print(f"{table.num_rows:,} samples, {table.nbytes / 2**20:.0f} MiB as Arrow, {table.num_columns} columns, "
              f"{rows:,} rows per row group / record batch")

        def parquet(compression="zstd", level=None, sink=None):
            pq.write_table(table, sink or out, row_group_size=rows, compression=compression, compression_level=level,
                           use_dictionary=cf.dictionary_columns(table.schema))

        def parquet_hashed(**kw):
            s = cf._HashingSink(open(out, "wb"))
            parquet(sink=s, **kw)
            s.f.close()

        def arrow(compression="zstd", level=1, threads=True, hashed=True):
            options = ipc.IpcWriteOptions(compression=pa.Codec(compression, level), use_threads=threads)
            with open(out, "wb") as f:
                sink = cf._HashingSink(f) if hashed else f
                with pa.PythonFile(sink, mode="w") as o, ipc.new_file(o, table.schema, options=options) as w:
                    for b in table.to_batches(max_chunksize=rows):
                        w.write_batch(b)
            if not hashed:
                sha_of(out)

        def now():
            with open(out, "wb") as f:
                cf.write_comparison(table, f)

        cases = [
            ("Parquet zstd-1, hash by reading back (before)", lambda: (parquet(), sha_of(out))),
            ("Parquet zstd-1, hashed while written", parquet_hashed),
            ("Parquet zstd-(-3), hashed while written", lambda: parquet_hashed(level=-3)),
            ("Parquet lz4, hashed while written", lambda: parquet_hashed(compression="lz4")),
            ("Arrow IPC zstd-1, both cores, hashed (write_comparison)", now),
            ("Arrow IPC zstd-1, both cores, hash by reading back", lambda: arrow(hashed=False)),
            ("Arrow IPC zstd-1, one core, hashed", lambda: arrow(threads=False)),
            ("Arrow IPC lz4, both cores, hashed", lambda: arrow("lz4_frame", None)),
        ]
        for name, write in cases:
            w = r = float("inf")
            for _ in range(2):
                t0 = time.perf_counter()
                write()
                w = min(w, time.perf_counter() - t0)
            sha = sha_of(out)
            for _ in range(2):
                cf.ComparisonFiles._verified.clear()   # the hash checked again, as in a new window
                t0 = time.perf_counter()
                cf.ComparisonFiles.read(Path(out).as_uri(), sha)
                r = min(r, time.perf_counter() - t0)
            print(f"  {name:58s} write+hash {w:5.2f} s   window's read {r:5.2f} s   {os.path.getsize(out) / 2**20:5.0f} MiB",
                  flush=True)
        codec_cpu(table, work)
    with open("/proc/loadavg") as f:
        print(f"load average at the end: {' '.join(f.read().split()[:3])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
