"""The whole review loop through the command line, as CI and a reviewer run it:
demo -> request -> show -> samples -> label -> decide -> status -> audit verify."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.support import subprocess_pythonpath

ROOT = Path(__file__).resolve().parents[2]


class Signoff:
    """The CLI as a reviewer runs it, as the README says: SIGNOFF_USER and, for the demo's
    reviewers, SIGNOFF_SIGNING_KEY=<demo>/keys/NAME (key=False: an impostor without it)."""

    def __init__(self, home: Path):
        self.home = home
        self.demo = home / "demo"
        self.env = {**os.environ, "SIGNOFF_HOME": str(home), "PYTHONPATH": subprocess_pythonpath()}
        self.env.pop("SIGNOFF_DATABASE_URL", None)
        self.env.pop("SIGNOFF_SIGNING_KEY", None)

    def popen(self, *args, user: str = "ci@example.com", key: bool = True):
        from signoff.plugins.demo import REVIEWERS, demo_key_file
        from tests.support import keys as test_keys

        env = {**self.env, "SIGNOFF_USER": user}
        if key and user in REVIEWERS.values() and demo_key_file(self.demo, user).exists():
            env["SIGNOFF_SIGNING_KEY"] = str(demo_key_file(self.demo, user))
        elif key and user in test_keys.REVIEWERS:   # hand-made repositories list the test keys (with_signers)
            env["SIGNOFF_SIGNING_KEY"] = str(test_keys.key_file(user))
        return subprocess.Popen([sys.executable, "-m", "signoff", *args], env=env, cwd=self.home,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def __call__(self, *args, user: str = "ci@example.com", timeout: float = 120, key: bool = True):
        p = self.popen(*args, user=user, key=key)
        out, err = p.communicate(timeout=timeout)
        return p.returncode, out, err


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    home = tmp_path_factory.mktemp("signoff-home")
    run = Signoff(home)
    demo_dir = home / "demo"
    code, out, err = run("demo", "--no-gui", "--dir", str(demo_dir))
    assert code == 0, err
    from signoff.plugins.demo import open_demo_workspace

    ws = open_demo_workspace(demo_dir)
    return run, ws


def test_demo_request_show_matches_the_known_truth(loop):
    run, ws = loop
    code, out, err = run("request", "--sha", ws.candidate_sha, "--repo", str(ws.repo), "--json")
    assert code == 0, err
    req = json.loads(out)
    assert req["status"] == "pending"
    assert req["description"].startswith("awaiting review: 0/2 SME, 0/1 QA")

    code, out, err = run("show", str(req["id"]), "--json")
    assert code == 0, err
    summary = json.loads(out)
    got = {es["eval_set"]: es["classes"] for es in summary["eval_sets"]}
    assert got == {name: truth for name, truth in ws.truth.items()}
    # the text form prints one row per eval set
    code, out, _ = run("show", str(req["id"]))
    assert code == 0 and all(name in out for name in ws.truth)


def test_label_decide_status_and_audit(loop):
    run, ws = loop
    sha = ws.candidate_sha
    code, out, err = run("samples", sha[:10], "--json")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == sum(sum(t.values()) for t in ws.truth.values())
    assert {"eval_set", "id", "class", "baseline_output", "candidate_output", "baseline_score", "candidate_score"} <= set(rows[0])

    code, out, _ = run("status", "--sha", sha)
    assert code == 3 and out.startswith("pending")

    verdict = {"regressed": "baseline", "improved": "candidate", "changed": "tie", "missing": "both-wrong"}
    labels = [{"eval_set": r["eval_set"], "sample_id": r["id"], "verdict": verdict[r["class"]]}
              for r in rows if r["class"] != "unchanged"]
    bad = run.home / "bad.jsonl"
    bad.write_text(json.dumps({"eval_set": "nope", "sample_id": "x", "verdict": "candidate"}) + "\n")
    code, _, err = run("label", sha, "--from", str(bad), user="alice@example.com")
    assert code == 2 and "no sample 'x' in eval set 'nope'" in err and "Traceback" not in err

    good = run.home / "labels.jsonl"
    good.write_text("".join(json.dumps(l) + "\n" for l in labels))
    code, _, err = run("label", sha, "--from", str(good), user="alice@example.com")
    assert code == 0, err

    code, _, err = run("decide", sha, "--decision", "approve", user="mallory@example.com")
    assert code == 4 and "holds no role" in err
    # three impostors: each demo reviewer's name without their key moves nothing
    for user in ("alice@example.com", "bob@example.com", "quinn@example.com"):
        code, _, err = run("decide", sha, "--decision", "approve", user=user, key=False)
        assert code == 4 and "no key to sign as" in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1
    code, out, _ = run("status", "--sha", sha)
    assert code == 3 and out.startswith("pending")
    for user in ("alice@example.com", "bob@example.com"):
        code, out, err = run("decide", sha, "--decision", "approve", "--comment", "looks good", user=user)
        assert code == 0, err
    code, out, _ = run("status", "--sha", sha, "--json")
    assert code == 3 and json.loads(out)["missing"] == ["0/1 QA"]

    code, out, err = run("decide", sha, "--decision", "reject", "--comment", "no", user="quinn@example.com")
    assert code == 0, err
    code, out, _ = run("status", "--sha", sha)
    assert code == 1 and "rejected by quinn@example.com (qa)" in out

    code, out, err = run("decide", sha, "--decision", "approve", "--comment", "fixed my mind", user="quinn@example.com")
    assert code == 0, err
    code, out, _ = run("status", "--sha", sha)
    assert code == 0 and out.startswith("approved")

    # the local sink received every state change, the last one 'approved'
    code, out, _ = run("publish")
    assert code == 0 and "waiting 0" in out

    code, out, _ = run("audit", "verify")
    assert code == 0, out
    code, out, _ = run("show", sha, "--json")
    assert json.loads(out)["decisions_not_counted"] == []
    db = run.home / "signoff.db"
    with sqlite3.connect(db) as con:
        con.execute("UPDATE audit_log SET actor = 'eve@example.com' WHERE seq = 3")   # 1 is the installation's key
    code, out, _ = run("audit", "verify")
    assert code == 1 and "entry 3" in out


def test_wait_times_out_while_pending_and_returns_once_approved(tmp_path):
    run = Signoff(tmp_path)
    code, out, err = run("demo", "--no-gui", "--dir", str(tmp_path / "demo"))
    assert code == 0, err
    from signoff.plugins.demo import open_demo_workspace

    ws = open_demo_workspace(tmp_path / "demo")
    sha = ws.candidate_sha
    t0 = time.monotonic()
    code, _, err = run("wait", "--sha", sha, "--timeout", "5", "--interval", "1")
    assert code == 5 and "timed out" in err
    assert 4.5 <= time.monotonic() - t0 < 30

    waiter = run.popen("wait", "--sha", sha, "--timeout", "120", "--interval", "0.5")
    try:
        # the demo policy needs 20% of changed samples labeled: label them all as one SME
        code, out, _ = run("samples", sha, "--json")
        rows = [json.loads(line) for line in out.splitlines() if json.loads(line)["class"] != "unchanged"]
        f = tmp_path / "l.jsonl"
        f.write_text("".join(json.dumps({"eval_set": r["eval_set"], "sample_id": r["id"], "verdict": "tie"}) + "\n" for r in rows))
        assert run("label", sha, "--from", str(f), user="bob@example.com")[0] == 0
        for user in ("alice@example.com", "bob@example.com", "quinn@example.com"):
            code, _, err = run("decide", sha, "--decision", "approve", user=user)
            assert code == 0, err
        out, err = waiter.communicate(timeout=60)
        assert waiter.returncode == 0, err
        assert "approved" in err
    finally:
        if waiter.poll() is None:
            waiter.kill()
