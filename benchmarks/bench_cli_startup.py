"""Command-line start-up (issue 16 item 3): `signoff --version`, `--help` and `status --sha`
cold, next to the floors (`python -c pass`, `python -c "import sqlite3"`) measured in the same run.

Run: .venv/bin/python benchmarks/bench_cli_startup.py [--runs 5] [--postgres]

"Cold" here: every run is a new process (Python's module and import caches start empty; the
.pyc files on disk and the OS file cache stay warm, as they are for a user's second command).
The children write and read their .pyc files under a throwaway PYTHONPYCACHEPREFIX (a
PYTHONDONTWRITEBYTECODE in the environment would otherwise make every run compile Signoff's
modules, which an installed Signoff never does); one untimed run of each command fills it.
Each figure is the median of --runs wall-clock runs, from before the process starts to its exit.
The store (a throwaway SIGNOFF_HOME) holds one review request made by `signoff review
BASE CAND --policy signoff.toml --sha SHA` (3 samples, a policy without a regression bound);
with --postgres, a throwaway PostgreSQL database (tests/support/postgres.py) instead of SQLite.
`status --sha SHA` is timed twice: answered from the kept verdict (docs/trust.md "The kept
verdict"; kept by a first, untimed `status`), and evaluated (the kept row deleted before each run,
untimed; each run keeps it again). Then `python -X importtime` of the kept `status --sha` prints
the slowest imports (cumulative).
docs/performance.md "Command-line start-up" records the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.test_cli_review import BASE, CAND, POLICY  # noqa: E402  (the e2e tests' tiny request)
from tests.support.keys import with_signers  # noqa: E402
from tests.support import subprocess_pythonpath  # noqa: E402

SHA = "be0c" * 10
TARGET_S = 0.2


def timed(argv: list[str], env: dict, runs: int, before=None) -> tuple[float, list[float], int]:
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)   # .pyc files written
    times, code = [], 0
    for _ in range(runs):
        if before is not None:
            before()
        start = time.perf_counter()
        code = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, code


def top_imports(argv: list[str], env: dict, n: int = 15) -> list[tuple[int, int, str]]:
    p = subprocess.run([sys.executable, "-X", "importtime", *argv], env=env, capture_output=True, text=True)
    rows = []
    for line in p.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "self [us]" not in line:
            self_us, cum_us, name = line[len("import time:"):].split("|")
            rows.append((int(cum_us), int(self_us), name.rstrip()))
    top_level = [r for r in rows if len(r[2]) - len(r[2].lstrip()) <= 3]   # direct imports of the command
    return sorted(top_level, reverse=True)[:n]


def forget_kept(env: dict):
    """A function deleting every kept verdict of the benchmark's store (so `status` evaluates)."""
    def run() -> None:
        code = ("from sqlalchemy import text\nfrom signoff.store.db import make_engine, resolve_url\n"
                "e = make_engine(resolve_url())\nwith e.begin() as c: c.execute(text('DELETE FROM kept_verdicts'))\n"
                "e.dispose()")
        subprocess.run([sys.executable, "-c", code], env=env, check=True)
    return run


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--postgres", action="store_true", help="the store on a throwaway PostgreSQL server")
    args = ap.parse_args()
    server = None
    if args.postgres:
        from tests.support.postgres import PostgresServer, find_bin_dir

        server = PostgresServer(find_bin_dir())
        server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="signoff-bench-cli-") as tmp:
            return run(Path(tmp), args, server.create_database() if server else None)
    finally:
        if server is not None:
            server.stop()


def run(tmp_path: Path, args, database_url: str | None) -> int:
    env = {**os.environ, "HOME": str(tmp_path), "SIGNOFF_HOME": str(tmp_path / "home"),
           "SIGNOFF_USER": "ci@example.com",
           "PYTHONPATH": subprocess_pythonpath(), "PYTHONPYCACHEPREFIX": str(tmp_path / "pycache")}
    for name in ("SIGNOFF_DATABASE_URL", "SIGNOFF_SIGNING_KEY", "PYTHONDONTWRITEBYTECODE"):
        env.pop(name, None)
    if database_url:
        env["SIGNOFF_DATABASE_URL"] = database_url
    (tmp_path / "base.csv").write_text(BASE)
    (tmp_path / "cand.csv").write_text(CAND)
    (tmp_path / "signoff.toml").write_text(with_signers(POLICY))
    app = [sys.executable, "-m", "signoff"]
    made = subprocess.run([*app, "review", str(tmp_path / "base.csv"), str(tmp_path / "cand.csv"), "--no-gui",
                           "--policy", str(tmp_path / "signoff.toml"), "--sha", SHA],
                          env=env, capture_output=True, text=True)
    kept = subprocess.run([*app, "status", "--sha", SHA], env=env, capture_output=True, text=True)
    if made.returncode != 0 or kept.returncode != 3:
        print(made.stderr, kept.stderr, file=sys.stderr)
        return 1
    status = [*app, "status", "--sha", SHA]
    driver = ("python -c 'import psycopg' (the store's driver; the kept reader calls libpq)", [sys.executable, "-c", "import psycopg"])
    cases = [("python -c pass (floor)", [sys.executable, "-c", "pass"], None),
             ("python -c 'import sqlite3' (floor)", [sys.executable, "-c", "import sqlite3"], None),
             *([(*driver, None)] if database_url else []),
             ("python -c 'import sqlalchemy.orm' (the store's floor)", [sys.executable, "-c", "import sqlalchemy.orm"],
              None),
             ("signoff --version", [*app, "--version"], None),
             ("signoff --help", [*app, "--help"], None),
             ("signoff status --sha UNKNOWN (exit 2)", [*app, "status", "--sha", "0" * 40], None),
             ("signoff status --sha SHA (kept verdict)", status, None),
             ("signoff status --sha SHA (evaluated, kept again)", status, forget_kept(env))]
    load = os.getloadavg()[0]
    print(f"command-line start-up, median of {args.runs} new processes each (load average {load:.1f}, "
          f"{os.cpu_count()} cores, store: {'PostgreSQL' if database_url else 'SQLite'})")
    floor = None
    for label, argv, before in cases:
        median, times, code = timed(argv, env, args.runs, before)
        floor = floor or median
        runs = " ".join(f"{t * 1000:.0f}" for t in times)
        print(f"  {label:55s} {median * 1000:6.0f} ms  ({median / floor:4.1f}× floor; runs {runs} ms; exit {code})")
        if label.startswith("signoff status --sha SHA (kept"):
            verdict = "meets" if median <= TARGET_S else "misses"
            print(f"  {'':55s} target ≤ {TARGET_S * 1000:.0f} ms: {verdict}")
    print("slowest imports of `signoff status --sha SHA`, kept (cumulative / self, ms; python -X importtime):")
    for cum, self_us, name in top_imports(["-m", "signoff", "status", "--sha", SHA], env):
        print(f"  {cum / 1000:7.1f} {self_us / 1000:6.1f}  {name.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
