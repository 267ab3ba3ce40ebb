"""Files to an interactive table, at 100k, 1M (and 10M) samples, next to the pyarrow floor (issue 16).

Run: `make bench` (or .venv/bin/python benchmarks/bench_scale.py [--sizes 100000 1000000 10000000]).

For each size it generates one eval set as Parquet files in the files source's layout
(benchmarks/scale_data.py: text as varied as model outputs, inputs ~80 characters, outputs ~100,
30% of the candidate's outputs differ), then, each in a new process (cold: Python's import caches
empty; the OS file cache warm, as for a second run):

  floor     python: pyarrow reads the three files, "outputs differ" and a class per row (numpy)
  request   `signoff request --source files ...`: files -> comparison stored
  window    the app's window opens that request: start-up -> table interactive (its own process,
            as benchmarks/bench_workbench.py measures it)
  review    `signoff review BASE CAND --samples SAMPLES`, the one-command path: one process from
            the files to the table interactive in the window (SIGNOFF_STARTUP_PROBE's
            `interactive` line), the request made while the window starts

Bytecode: the children write and read their .pyc files under a throwaway PYTHONPYCACHEPREFIX,
filled by compileall before anything is timed, as an installed Signoff ships them (a
PYTHONDONTWRITEBYTECODE in the environment would otherwise make every process compile
Signoff's modules: ~0.2 s a process that a user never pays; bench_cli_startup.py does the same).

and prints wall time and peak memory (the child's ru_maxrss, from os.wait4) of each, files ->
interactive (request + window) against the floor, the ratio, and the stored size per sample.

Fresh memory: it first prints what this machine charges for memory a process touches for the
first time (a child fills 1 GiB, then fills it again at once). On a virtual machine whose host
backs guest memory lazily and takes freed memory back within seconds (this project's 2-core
Firecracker VM: ~2.4 s of system time a GiB, against ~0.15 s once backed), every multi-GiB
process pays that, the floor included. `--warm-memory GIB` has a child touch GIB GiB just before
each timed process, so the timed process gets memory the host has backed, as on a machine
without that cost; the report says which way it ran.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

SHA = "5" * 40

FLOOR = r"""
import sys
import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
root = sys.argv[1]
samples = pq.read_table(f"{root}/evals/support.parquet")
base = pq.read_table(f"{root}/base/predictions/support.parquet")
cand = pq.read_table(f"{root}/cand/predictions/support.parquet")
differ = pc.fill_null(pc.not_equal(base.column("output"), cand.column("output")), True).to_numpy(zero_copy_only=False)
delta = cand.column("score").to_numpy() - base.column("score").to_numpy()
cls = np.select([~differ, delta > 0, delta < 0], [4, 3, 0], default=2).astype(np.int8)
print(samples.num_rows, int((cls != 4).sum()))
"""


LAST_CPU = [0.0, 0.0]   # user, system CPU seconds of the last process run() waited for
WARM_GIB = 0   # --warm-memory: GiB a child touches just before each timed process (0: cold, as the machine gives it)

TOUCH = r"""
import sys, time
import numpy as np
gib = int(sys.argv[1])
if gib < 0:   # the probe: 1 GiB touched fresh, then the same again at once (its pages still backed)
    times = []
    for _ in range(2):
        t = time.perf_counter()
        block = np.ones(1 << 30, dtype=np.uint8)
        times.append(time.perf_counter() - t)
        del block
    print("FRESH %.3f %.3f" % tuple(times))
else:
    blocks = [np.ones(1 << 30, dtype=np.uint8) for _ in range(gib)]
"""


def fresh_memory_probe() -> str:
    """This machine's cost of memory touched for the first time, in s/GiB: fresh, then backed."""
    out = subprocess.run([sys.executable, "-c", TOUCH, "-1"], capture_output=True, text=True, check=True).stdout
    fresh, backed = (float(x) for x in out.split("FRESH")[1].split())
    return f"fresh memory costs {fresh:.2f} s a GiB on first touch, {backed:.2f} s once backed (1 GiB filled twice)"


def warm_memory() -> None:
    """--warm-memory: a child touches WARM_GIB GiB and exits; the next process gets backed memory."""
    if WARM_GIB > 0:
        subprocess.run([sys.executable, "-c", TOUCH, str(WARM_GIB)], check=True)


def run(argv: list[str], env: dict, *, until: str | None = None, check: bool = True,
        timed: bool = True) -> tuple[float, float, str]:
    """Wall seconds (from before the process starts to its exit, or to a stdout line starting with
    `until`), its peak memory in MiB, and its stdout. `timed`: a figure of the report (warmed
    first under --warm-memory); set-up steps pass False."""
    if timed:
        warm_memory()
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    out, stop = [], None
    for line in proc.stdout:
        out.append(line)
        if until and stop is None and line.startswith(until):
            stop = time.perf_counter()
    _pid, status, usage = os.wait4(proc.pid, 0)
    end = time.perf_counter()
    LAST_CPU[:] = [usage.ru_utime, usage.ru_stime]
    proc.returncode = os.waitstatus_to_exitcode(status)
    if check and proc.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed with exit {proc.returncode}:\n{''.join(out)}")
    return (stop or end) - t0, usage.ru_maxrss / 1024, "".join(out)


def window(home: str, request_id: int) -> None:
    """The window's process: start-up, open the request, print INTERACTIVE when the table is."""
    from PySide6.QtWidgets import QApplication

    from signoff.service.review import ReviewService
    from signoff.store.store import Store
    from signoff.ui.app import create_main_window

    app = QApplication.instance() or QApplication([])
    store = Store()
    service = ReviewService(store, user="alice@example.com")
    service.list_requests = lambda: []   # the inbox would open its first request itself
    win = create_main_window(service)
    win.resize(1400, 900)
    win.show()
    app.processEvents()
    loaded = []
    win.comparisonLoaded.connect(lambda *a: loaded.append(1))
    t0 = time.perf_counter()
    win.open_request(request_id)
    while not loaded:
        app.processEvents()
        time.sleep(0.001)
    app.processEvents()
    # the window's resident memory when the table is interactive (the peak counts what follows too)
    with open("/proc/self/statm") as f:
        rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    print(f"INTERACTIVE open {time.perf_counter() - t0:.3f} rss {rss:.0f}", flush=True)
    # Then what a reviewer does first: a class filter (to it and back, twice) and a substring
    # search over the inputs and outputs (a word, an id, back to none), each until painted.
    filters = []
    for cls in ("regressed", "regressed", "improved", "improved"):
        t1 = time.perf_counter()
        win.filter_to_class(cls)
        app.processEvents()
        filters.append(time.perf_counter() - t1)
    # A paged comparison's search paints its hits in parts: the first part's time too.
    done, part = [], []
    win.filtersApplied.connect(lambda: done.append(time.perf_counter()))
    win.filters.partShown.connect(lambda: part.append(time.perf_counter()))
    searches, firsts = [], []
    for needle in ("refund", "s0012345", ""):
        done.clear()
        part.clear()
        t1 = time.perf_counter()
        win.set_search(needle)
        while not done and time.perf_counter() - t1 < 120:
            app.processEvents()
            time.sleep(0.0005)
        app.processEvents()
        if needle:
            searches.append(time.perf_counter() - t1)
            firsts.append((part or done)[0] - t1)
    print(f"FILTER {statistics.median(filters):.4f} SEARCH {statistics.median(searches):.4f} "
          f"{' '.join(f'{t:.4f}' for t in searches)} FIRST {statistics.median(firsts):.4f}", flush=True)
    win.shutdown()
    store.close()


def review_one_process(root: Path, work: Path, env: dict) -> dict:
    """`signoff review` of the same files in one cold process, to its table interactive: a local
    review (the bench's signoff.toml lists eval sets, which a review's policy may not), signed
    with a throwaway key, in a store that exists."""
    home = work / "home-review"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir()
    key = work / "review-key"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    renv = {**env, "SIGNOFF_HOME": str(home), "SIGNOFF_USER": "alice@example.com", "SIGNOFF_SIGNING_KEY": str(key),
            "SIGNOFF_CONFIG_DIR": str(home / "config"), "SIGNOFF_STARTUP_PROBE": "1"}
    run([sys.executable, "-m", "signoff", "status", "--sha", "0" * 40], renv, check=False, timed=False)
    review_s, review_mb, out = run([sys.executable, "-m", "signoff", "review",
                                    str(root / "base" / "predictions" / "support.parquet"),
                                    str(root / "cand" / "predictions" / "support.parquet"),
                                    "--samples", str(root / "evals" / "support.parquet")], renv, until="interactive")
    if "interactive" not in out:
        raise SystemExit(f"signoff review did not reach an interactive table:\n{out}")
    probe = dict(line.split(" ", 1) for line in out.splitlines() if line.split(" ", 1)[0] in ("shown", "interactive"))
    shutil.rmtree(home, ignore_errors=True)
    return {"review_s": review_s, "review_mb": review_mb, "review_shown_s": float(probe["shown"])}


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def generate(n: int, root: Path) -> None:
    """The data, written by a process of its own: the parent stays small, so a child's ru_maxrss
    (which counts what the parent held when it forked) is the child's own."""
    import scale_data

    tables = scale_data.generate(n)
    scale_data.write_workspace(root, tables)
    print(f"ARROW {sum(t.nbytes for t in tables.values())}")


def child_env(work: Path) -> dict:
    """The children's environment: Signoff importable, its bytecode compiled once under `work`."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (os.environ.get("PYTHONPATH", ""), str(ROOT)) if p),
           "PYTHONPYCACHEPREFIX": str(work / "pycache")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if not (work / "pycache").exists():
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "app"), str(ROOT / "plugins"),
                        str(ROOT / "resources")], env=env, check=True, stdout=subprocess.DEVNULL)
    return env


def measure(n: int, work: Path, skip_window: bool, repeat: int = 1, engine: str = "auto") -> dict:
    env = child_env(work)
    root = work / f"ws-{n}"
    gen_s, _mb, out = run([sys.executable, __file__, "--generate", str(n), str(root)], env, timed=False)
    arrow_bytes = int(out.split("ARROW")[1].split()[0])
    print(f"\n{n:,} samples: generated in {gen_s:.1f} s; Parquet files {dir_size(root) / 2**20:.0f} MiB, "
          f"{arrow_bytes / 2**20:.0f} MiB as Arrow ({arrow_bytes / n:.0f} bytes per sample)")
    rows = []
    for _ in range(repeat):   # the floor and the request alternate: both see the same load
        floor_s, floor_mb, _ = run([sys.executable, "-c", FLOOR, str(root)], env)
        floor_sys = LAST_CPU[1]
        home = work / f"home-{n}"
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir()
        henv = {**env, "SIGNOFF_HOME": str(home), "SIGNOFF_USER": "ci@example.com"}
        # The store exists (as in CI, where it is the team's): its creation and migrations are not timed.
        run([sys.executable, "-m", "signoff", "status", "--sha", "0" * 40], henv, check=False, timed=False)
        before = dir_size(home)
        request_s, request_mb, out = run([sys.executable, "-m", "signoff", "request", "--source", "files",
                                          "--samples", str(root), "--baseline-dir", str(root / "base"),
                                          "--candidate-dir", str(root / "cand"), "--policy",
                                          str(root / "signoff.toml"), "--sha", SHA,
                                          *(["--engine", engine] if engine != "auto" else [])], henv)
        request_user, request_sys = LAST_CPU
        request_id = int(out.strip().splitlines()[-1])
        row = {"n": n, "floor_s": floor_s, "floor_mb": floor_mb, "floor_sys_s": floor_sys, "request_s": request_s, "request_mb": request_mb,
               "request_user_s": request_user, "request_sys_s": request_sys,
               "stored_per_sample": (dir_size(home) - before) / n}
        if not skip_window:
            win_s, win_mb, out = run([sys.executable, __file__, "--window", str(home), str(request_id)], henv,
                                     until="INTERACTIVE")
            fs = out.split("FILTER")[1].split()
            opened = out.split("INTERACTIVE open")[1].split()
            row.update(window_s=win_s, window_mb=win_mb, open_s=float(opened[0]), open_mb=float(opened[2]),
                       filter_s=float(fs[0]), search_s=float(fs[2]),
                       search_first_s=float(out.split("FIRST")[1].split()[0]))
            row.update(review_one_process(root, work, env))
        rows.append(row)
    row = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    row["n"] = n
    if repeat > 1:
        requests = ", ".join("%.1f" % r["request_s"] for r in rows)
        floors = ", ".join("%.1f" % r["floor_s"] for r in rows)
        print(f"  (median of {repeat} runs; request {requests} s; floor {floors} s)")
    report(row)
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(home, ignore_errors=True)
    return row


def report(r: dict) -> None:
    print(f"  floor (pyarrow read + outputs differ + class), whole process: {r['floor_s'] * 1000:7.0f} ms, "
          f"peak {r['floor_mb']:6.0f} MiB, system CPU {r['floor_sys_s']:.1f} s")
    print(f"  signoff request (files -> comparison stored):                 {r['request_s'] * 1000:7.0f} ms, "
          f"peak {r['request_mb']:6.0f} MiB ({r['request_s'] / r['floor_s']:.1f}x floor time, "
          f"{r['request_mb'] / r['floor_mb']:.2f}x floor memory; target <= 1.2x)"
          + ("; 10M target <= 25 s" if r["n"] >= 10_000_000 else ""))
    print(f"  the request's CPU (both cores): user {r['request_user_s']:.1f} s, system {r['request_sys_s']:.1f} s "
          "(system: mostly the kernel's cost of fresh memory; see the top)")
    print(f"  stored per sample (what the request added to the store):       {r['stored_per_sample']:7.0f} bytes")
    if "window_s" in r:
        total = r["request_s"] + r["window_s"]
        print(f"  window: start-up + open -> interactive:                       {r['window_s'] * 1000:7.0f} ms, "
              f"peak {r['window_mb']:6.0f} MiB (open alone {r['open_s'] * 1000:.0f} ms, {r['open_mb']:.0f} MiB resident "
              "when interactive; peak counts the filter and search)"
              + ("; 10M target: open <= 2 s" if r["n"] >= 10_000_000 else ""))
        print(f"  window: class filter, painted (median of 4):                  {r['filter_s'] * 1000:7.0f} ms"
              + ("  (10M target <= 300 ms)" if r["n"] >= 10_000_000 else ""))
        print(f"  window: substring search, complete (median of 2 needles):     {r['search_s'] * 1000:7.0f} ms"
              + ("  (10M target <= 300 ms)" if r["n"] >= 10_000_000 else ""))
        print(f"  window: substring search, first hits painted (paged: a part): {r['search_first_s'] * 1000:7.0f} ms")
        target = {100_000: 0.6, 1_000_000: 2.0}.get(r["n"])
        print(f"  files -> interactive table (request + window):                {total * 1000:7.0f} ms = "
              f"{total / r['floor_s']:.1f}x floor (target <= 3x" + (f" and <= {target:g} s)" if target else ")"))
    if "review_s" in r:
        print(f"  files -> interactive table, one process (`signoff review`):   {r['review_s'] * 1000:7.0f} ms = "
              f"{r['review_s'] / r['floor_s']:.1f}x floor, peak {r['review_mb']:6.0f} MiB "
              f"(start-up window shown at {r['review_shown_s'] * 1000:.0f} ms)")


def _available_gib() -> float:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 2**20
    return 0.0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 10_000_000],
                    help="sample counts (default: 100000 1000000 10000000; 10M needs ~12 GiB of memory "
                         "available and is left out, said so, when there is less)")
    ap.add_argument("--no-window", action="store_true", help="the request and the floor only")
    ap.add_argument("--engine", default="auto", choices=("auto", "memory", "out-of-core"),
                    help="`signoff request --engine` (default: auto, as a user runs it)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per size, medians reported (default 3)")
    ap.add_argument("--warm-memory", type=int, default=0, metavar="GIB",
                    help="touch GIB GiB in a child just before each timed process (default 0: cold; see the top)")
    ap.add_argument("--window", nargs=2, metavar=("HOME", "REQUEST"), help=argparse.SUPPRESS)
    ap.add_argument("--generate", nargs=2, metavar=("N", "DIR"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.generate:
        generate(int(args.generate[0]), Path(args.generate[1]))
        return 0
    if args.window:
        os.environ["SIGNOFF_HOME"] = args.window[0]
        window(args.window[0], int(args.window[1]))
        return 0
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    global WARM_GIB
    WARM_GIB = max(0, args.warm_memory)
    print(f"signoff scale benchmark: {os.cpu_count()} cores, load average {load} at the start, "
          f"engine {args.engine}")
    print(f"{fresh_memory_probe()}; timed processes: "
          + (f"warmed ({WARM_GIB} GiB touched just before each)" if WARM_GIB else "cold (memory as the machine gives it)"))
    work = Path(tempfile.mkdtemp(prefix="signoff-scale-"))
    try:
        for n in args.sizes:
            if n >= 10_000_000 and _available_gib() < 1.2 * n / 1e6:   # the request ~0.75 GiB a million, + margin
                print(f"\n{n:,} samples: left out: {_available_gib():.0f} GiB of memory available, "
                      f"the in-memory request takes ~{0.75 * n / 1e6:.0f} GiB (--sizes to choose)")
                continue
            # 10M: one run (a few minutes each step)
            measure(n, work, args.no_window, 1 if n >= 10_000_000 else args.repeat, args.engine)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    with open("/proc/loadavg") as f:
        print(f"load average at the end: {' '.join(f.read().split()[:3])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
