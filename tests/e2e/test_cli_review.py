"""Issue 15: two files, one command (`signoff review`), the files source's own options, and a
command line CI can rely on: one test per exit code, --json shapes, completion. The README's
"Quick start with your own files" commands run as they are printed."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from signoff.cli.main import main
from tests.support.keys import with_signers
from tests.support import subprocess_pythonpath

ROOT = Path(__file__).resolve().parents[2]

BASE = "id,question,expected,prediction,score\n1,2+2,4,4,1.0\n2,capital of France,Paris,Lyon,0.0\n3,sky,blue,blue,1.0\n"
CAND = "id,question,expected,prediction,score\n1,2+2,4,4,1.0\n2,capital of France,Paris,Paris,1.0\n3,sky,blue,green,0.0\n"
POLICY = """
[policy]
required = { sme = 1 }
min_changed_reviewed = 0.0
all_regressions_reviewed = false

[roles]
sme = ["alice@example.com"]
"""


def files(tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "baseline.csv").write_text(BASE)
    (tmp_path / "candidate.csv").write_text(CAND)
    return str(tmp_path / "baseline.csv"), str(tmp_path / "candidate.csv")


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def quickstart_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- quickstart: own-files -->\s*```sh\n(.*?)```", text, re.S)
    assert m, "README.md has no block marked 'quickstart: own-files'"
    return [ln.split("  #")[0].strip() for ln in m.group(1).splitlines() if ln.strip()]


@pytest.mark.real_signer
def test_readme_quick_start_with_own_files_reaches_an_approved_local_review(tmp_path):
    files(tmp_path)
    key = tmp_path / ".ssh" / "id_ed25519"
    key.parent.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    env = {**os.environ, "HOME": str(tmp_path), "SIGNOFF_HOME": str(tmp_path / "signoff-home"),
           "PYTHONPATH": subprocess_pythonpath(),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    outputs = []
    for line in quickstart_commands():
        done = subprocess.run(["bash", "-e", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, (line, done.stderr)
        if line.startswith("export "):   # the README's export: for the lines after it
            for name, value in (p.split("=", 1) for p in shlex.split(line)[1:]):
                env[name] = os.path.expanduser(value.replace("~", str(tmp_path), 1))
        outputs.append((line, done.stdout, done.stderr))
    review = next(o for o in outputs if o[0].startswith("signoff review"))
    assert review[1].splitlines()[0] == "1"
    assert "columns: id=id, input=question, reference=expected, output=prediction, score=score" in review[2]
    assert "local review, not a release gate" in review[2] and "--policy" in review[2]
    show = outputs[-1][1]
    assert "status: approved — local review, not a release gate: approved: 1/1 REVIEWER" in show
    # the local store holds the only status, local, saying so
    check = subprocess.run([sys.executable, "-m", "signoff", "show", "1", "--json"], env=env, capture_output=True,
                           text=True, timeout=120)
    assert json.loads(check.stdout)["status"] == "approved"
    samples = next(o for o in outputs if o[0].startswith("signoff samples"))
    assert "green" in samples[1]


def test_a_local_review_is_never_a_gate(tmp_path, capsys, monkeypatch):
    base, cand = files(tmp_path)
    monkeypatch.setenv("SIGNOFF_USER", "alice@example.com")
    code, out, err = run(capsys, "review", base, cand, "--no-gui", "--json")
    assert code == 0, err
    data = json.loads(out)
    # about no commit: a comparison whose refs are fields, never encoded in sha (issue 14)
    assert data["local"] and data["type"] == "text"
    assert (data["sha"], data["kind"], data["candidate"], data["baseline"]) == ("", "comparison", "candidate.csv",
                                                                                "baseline.csv")
    assert run(capsys, "decide", str(data["id"]), "--decision", "approve")[0] == 0
    from sqlalchemy import text

    from signoff.service.kept_verdict import refusal_of
    from signoff.service.review import ReviewService
    from signoff.store.store import Store

    store = Store()
    req = store.get_request(data["id"])
    assert req.change_key.startswith("local review ") and req.change_key != req.sha
    statuses = store.local_statuses(None)
    assert [s["state"] for s in statuses] == ["pending", "approved"]
    assert all(s["description"].startswith("local review, not a release gate: ") for s in statuses)
    assert {s["context"] for s in statuses} == {"signoff/local-review"}
    items = store.outbox_items(states=("waiting", "delivered", "failed"))
    assert items and {i.sink for i in items} == {"local"}   # posted nowhere else
    service = ReviewService(store, user="alice@example.com")
    config = service.config(data["id"])
    assert config.roles == {"reviewer": ("alice@example.com",)} and "alice@example.com" in config.signers.keys
    assert "is a local review, not a release gate" in refusal_of(service, req)   # by its kind and its policy
    # No SHA finds it; a review migrated from before (0011_local_refs: kind "comparison", its old sha text
    # kept) is found by that text and refused: not a release gate
    label = "local review 1a2b3c4d: candidate.csv vs baseline.csv"
    with store._engine.begin() as conn:
        conn.execute(text("UPDATE requests SET sha = :s WHERE id = :i"), {"s": label, "i": data["id"]})
    for cmd in (["status", "--sha", label], ["wait", "--sha", label, "--timeout", "1"], ["verify", "--sha", label]):
        code, _, err = run(capsys, *cmd)
        assert code == 4 and "local review, not a release gate" in err, (cmd, err)
    # --sha without a policy is refused: a local review is about no commit
    code, _, err = run(capsys, "review", base, cand, "--no-gui", "--sha", "a" * 40)
    assert code == 2 and "--policy FILE" in err


def test_review_with_a_policy_and_a_sha_is_a_request_wait_finds(tmp_path, capsys, monkeypatch):
    base, cand = files(tmp_path)
    policy = tmp_path / "signoff.toml"
    policy.write_text(with_signers(POLICY))
    sha = "c0ffee" * 6 + "abcd"
    monkeypatch.setenv("SIGNOFF_USER", "ci@example.com")
    code, out, err = run(capsys, "review", base, cand, "--no-gui", "--policy", str(policy), "--sha", sha, "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["sha"] == sha and not data["local"] and data["status"] == "pending"
    code, out, _ = run(capsys, "wait", "--sha", sha, "--timeout", "0.2", "--interval", "0.1", "--json")
    assert code == 5 and json.loads(out)["timed_out"] is True and json.loads(out)["request"] == data["id"]
    monkeypatch.setenv("SIGNOFF_USER", "alice@example.com")
    assert run(capsys, "decide", sha, "--decision", "approve")[0] == 0
    code, out, _ = run(capsys, "wait", "--sha", sha, "--timeout", "5", "--json")
    assert code == 0 and json.loads(out)["status"] == "approved"
    # a second review of the same commit: its own change key, decisions do not carry over
    code, out, _ = run(capsys, "review", base, cand, "--no-gui", "--policy", str(policy), "--sha", sha, "--json")
    assert code == 0 and json.loads(out)["status"] == "pending"


def test_review_guesses_and_takes_columns(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SIGNOFF_USER", "alice@example.com")
    (tmp_path / "a.jsonl").write_text("".join(json.dumps({"uid": i, "prompt": f"p{i}", "pred": i % 2}) + "\n"
                                              for i in range(4)))
    (tmp_path / "b.jsonl").write_text("".join(json.dumps({"uid": i, "prompt": f"p{i}", "pred": 1}) + "\n"
                                              for i in range(4)))
    code, _, err = run(capsys, "review", str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl"), "--no-gui")
    assert code == 2 and "no id column" in err and "--id COL" in err
    code, out, err = run(capsys, "review", str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl"), "--no-gui", "--json",
                         "--id", "uid", "--output", "pred")
    assert code == 0, err
    data = json.loads(out)
    assert data["columns"] == {"id": "uid", "output": "pred", "input": "prompt"} and data["type"] == "number"
    assert "id=uid (given)" in err and "input=prompt" in err
    code, _, err = run(capsys, "review", str(tmp_path / "a.jsonl"), str(tmp_path / "nope.jsonl"), "--no-gui")
    assert code == 2 and "nope.jsonl" in err


# -- exit codes: one test each ----------------------------------------------------------------

@pytest.fixture
def pending(tmp_path, capsys, monkeypatch):
    base, cand = files(tmp_path)
    policy = tmp_path / "signoff.toml"
    policy.write_text(with_signers(POLICY))
    sha = "d00d" * 10
    monkeypatch.setenv("SIGNOFF_USER", "ci@example.com")
    assert run(capsys, "review", base, cand, "--no-gui", "--policy", str(policy), "--sha", sha)[0] == 0
    return sha


def test_exit_0_approved(pending, capsys, monkeypatch):
    monkeypatch.setenv("SIGNOFF_USER", "alice@example.com")
    code, out, _ = run(capsys, "decide", pending, "--decision", "approve", "--json")
    assert code == 0 and json.loads(out)["counted"] is True
    assert run(capsys, "status", "--sha", pending)[0] == 0


def test_exit_1_rejected(pending, capsys, monkeypatch):
    monkeypatch.setenv("SIGNOFF_USER", "alice@example.com")
    assert run(capsys, "decide", pending, "--decision", "reject")[0] == 0
    assert run(capsys, "status", "--sha", pending)[0] == 1
    assert run(capsys, "wait", "--sha", pending, "--timeout", "1")[0] == 1


def test_exit_2_bad_input_and_unknown_commit(capsys, tmp_path):
    code, out, err = run(capsys, "status", "--sha", "feed" * 10)
    assert code == 2 and err == f"signoff: no review request for commit {'feed' * 10}\n" and out == ""
    code, _, err = run(capsys, "status", "--sha", "  ")
    assert code == 2 and err.startswith("signoff: --sha is empty") and err.count("\n") == 1
    assert run(capsys, "review", str(tmp_path / "x.csv"), str(tmp_path / "y.csv"), "--no-gui")[0] == 2
    assert run(capsys, "no-such-command")[0] == 2


def test_review_of_a_bad_file_is_one_line_and_stores_nothing(tmp_path, capsys, monkeypatch):
    """The files are read on a thread while the store opens (issue 16): their error is still one
    line, exit 2, and no request; a store that cannot be opened is the error reported first."""
    monkeypatch.setenv("SIGNOFF_USER", "alice@example.com")
    base, cand = files(tmp_path)
    Path(cand).write_text("id,question,expected,prediction,score\n1,2+2,4,4,1.0\n,sky,blue,green,0.0\n")  # blank id
    code, out, err = run(capsys, "review", base, cand, "--no-gui")
    assert code == 2 and out == "" and err.startswith("signoff: ") and err.count("\n") == 1, err
    assert "every row needs an id" in err
    from signoff.store.store import Store

    store = Store()
    try:
        assert store.list_requests() == []
    finally:
        store.close()
    monkeypatch.setenv("SIGNOFF_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/signoff")
    code, _, err = run(capsys, "review", base, cand, "--no-gui")
    assert code == 6 and err.startswith("signoff: ") and err.count("\n") == 1 and "blank" not in err, err


def test_exit_3_pending(pending, capsys):
    code, out, _ = run(capsys, "status", "--sha", pending, "--json")
    assert code == 3 and json.loads(out)["status"] == "pending"


def test_exit_4_refused_by_policy(pending, capsys, monkeypatch):
    monkeypatch.setenv("SIGNOFF_USER", "mallory@example.com")   # in no role, no key listed
    code, _, err = run(capsys, "decide", pending, "--decision", "approve")
    assert code == 4 and err.count("\n") >= 1


def test_exit_5_wait_timed_out(pending, capsys):
    code, out, err = run(capsys, "wait", "--sha", pending, "--timeout", "0.2", "--interval", "0.1")
    assert code == 5 and "timed out after 0.2 s" in err


def test_exit_6_store_unreachable(capsys, monkeypatch):
    monkeypatch.setenv("SIGNOFF_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/signoff")
    code, _, err = run(capsys, "status", "--sha", "a" * 40)
    assert code == 6 and err.startswith("signoff: ") and err.count("\n") == 1


def test_exit_70_internal_error(capsys, monkeypatch):
    import signoff.cli.main as cli

    def broken(args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli, "cmd_publish", broken)
    code, _, err = run(capsys, "publish")
    assert code == 70 and err == "signoff: internal error: RuntimeError: a bug (run with -v for details)\n"


# -- --json shapes and completion -------------------------------------------------------------

def test_json_on_label_publish_and_audit_verify(pending, capsys, monkeypatch):
    monkeypatch.setenv("SIGNOFF_USER", "alice@example.com")
    code, out, err = run(capsys, "label", pending, "candidate", "3", "--verdict", "baseline", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["labels"] == 1 and data["recorded"][0]["verdict"] == "baseline" and data["status"] == "pending"
    code, out, _ = run(capsys, "publish", "--json")
    assert code == 0 and set(json.loads(out)) == {"delivered", "waiting", "failed", "errors", "failed_for_good"}
    code, out, _ = run(capsys, "audit", "verify", "--json")
    assert code == 0 and json.loads(out)["intact"] is True
    code, out, _ = run(capsys, "verify", "--sha", pending, "--json")
    assert code == 1 and json.loads(out)["verified"] is False and json.loads(out)["sha"] == pending


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion(shell, capsys):
    code, out, _ = run(capsys, "completion", shell)
    assert code == 0 and "review" in out and "--baseline-dir" in out
