"""Bad input through the real command line (`python -m signoff`): one clear line and
exit 2, or a quiet, correct result; never a traceback or an internal error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

TOML = """
[[eval_sets]]
name = "t"
samples = "evals/t.jsonl"
predictions = "predictions/t.jsonl"
type = "{type}"
{extra}

[policy]
required = {{ sme = 1 }}

[roles]
sme = ["alice@example.com"]
"""


from tests.support.keys import key_file, with_signers  # noqa: E402  (labels are signed by their maker)
from tests.support import subprocess_pythonpath


def _strict(text: str):
    """json.loads that refuses NaN / Infinity, as jq and JSON.parse do."""
    def refuse(token):
        raise AssertionError(f"non-standard JSON token {token}")
    return json.loads(text, parse_constant=refuse)


class Workspace:
    def __init__(self, root: Path, samples: list[str], base: list[str], cand: list[str], *, type="text", extra=""):
        self.root = root
        for rel, lines in (("evals/t.jsonl", samples), ("base/predictions/t.jsonl", base),
                           ("cand/predictions/t.jsonl", cand)):
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("\n".join(lines) + "\n")
        (root / "signoff.toml").write_text(with_signers(TOML.format(type=type, extra=extra)))
        self.home = root / "home"
        self.home.mkdir()
        self.env = {**os.environ, "SIGNOFF_HOME": str(self.home), "PYTHONPATH": subprocess_pythonpath(),
                    "SIGNOFF_USER": "ci@example.com", "SIGNOFF_SIGNING_KEY": str(key_file("ci@example.com"))}
        self.env.pop("SIGNOFF_DATABASE_URL", None)

    def argv(self, *args) -> list[str]:
        return [sys.executable, "-m", "signoff", *args]

    def run(self, *args, timeout: float = 180):
        p = subprocess.run(self.argv(*args), env=self.env, cwd=self.root, capture_output=True, text=True,
                           timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def request(self, sha: str = "c" * 40):
        locator = json.dumps({"root": str(self.root), "baseline_dir": "base", "candidate_dir": "cand"})
        return self.run("request", "--sha", sha, "--source", "files", "--locator", locator,
                        "--policy", str(self.root / "signoff.toml"))   # as CI passes it from its checkout of main


def sample(i, **kw) -> str:
    return json.dumps({"id": f"s-{i}", "input": f"q{i}", "reference": "r", **kw})


def pred(i, output="r", **kw) -> str:
    return json.dumps({"id": f"s-{i}", "output": output, **kw})


def test_request_prints_the_warnings_show_prints(tmp_path):
    ws = Workspace(tmp_path, [sample(i) for i in range(3)], [pred(i) for i in range(3)],
                   [pred(i) for i in range(3)] + [pred(9)])
    code, out, err = ws.request()
    assert code == 0, err
    req = out.strip()
    warning = "warning (t): 1 sample ids are only in the candidate predictions, e.g. s-9"
    assert warning in err
    code, out, _ = ws.run("show", req)
    assert code == 0 and warning in out


def test_samples_into_a_closed_pipe_exits_quietly(tmp_path):
    n = 3000   # about 1 MB of JSON lines: far more than a pipe holds, so the writer meets the closed end
    ws = Workspace(tmp_path, [sample(i) for i in range(n)], [pred(i, "a" * 150) for i in range(n)],
                   [pred(i, "b" * 150) for i in range(n)])
    code, out, err = ws.request()
    assert code == 0, err
    cmd = " ".join(map(str, ws.argv("samples", out.strip(), "--json")))
    p = subprocess.run(["bash", "-c", f'{cmd} | head -1; echo "exit=${{PIPESTATUS[0]}}" >&2'], env=ws.env,
                       cwd=ws.root, capture_output=True, text=True, timeout=180)
    assert len(p.stdout.splitlines()) == 1 and _strict(p.stdout)["eval_set"] == "t"
    assert p.stderr.strip() == "exit=141"    # 128 + SIGPIPE, as `yes | head -1`; and not a word more


@pytest.mark.parametrize("token", ["NaN", "Infinity", "1e400"])
def test_non_finite_score_is_one_line_and_exit_2(tmp_path, token):
    ws = Workspace(tmp_path, [sample(i) for i in range(2)], [pred(i, score=1) for i in range(2)],
                   [pred(0, score=1), f'{{"id": "s-1", "output": "r", "score": {token}}}'])
    code, out, err = ws.request()
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0
    assert err.startswith("signoff: predictions/t.jsonl (candidate) line 2 (id s-1): 'score' is ")
    assert 'non_finite_scores = "as-missing"' in err


def test_opted_in_non_finite_scores_leave_the_json_outputs_standard(tmp_path):
    ws = Workspace(tmp_path, [sample(i) for i in range(2)], [pred(i, score=0.5) for i in range(2)],
                   ['{"id": "s-0", "output": "r", "score": NaN}', '{"id": "s-1", "output": "x", "score": -Infinity}'],
                   extra='non_finite_scores = "as-missing"')
    code, out, err = ws.request()
    assert code == 0, err
    assert "2 candidate scores are NaN or infinite and count as no score" in err
    req = out.strip()
    code, out, err = ws.run("samples", req, "--json")
    assert code == 0, err
    rows = [_strict(line) for line in out.splitlines()]
    assert [r["candidate_score"] for r in rows] == [None, None]
    code, out, err = ws.run("show", req, "--json")
    assert code == 0, err
    (es,) = _strict(out)["eval_sets"]
    assert es["non_finite_scores"] == {"baseline": 0, "candidate": 2}
    assert es["metrics"]["candidate_mean_score"] is None


def test_no_shared_ids_is_one_line_naming_both_files(tmp_path):
    ws = Workspace(tmp_path, [sample(i) for i in range(2)], [pred(i) for i in range(2)],
                   [pred(i) for i in range(5, 7)])
    code, _, err = ws.request()
    assert code == 2
    assert err.startswith("signoff: eval set 't': the candidate's predictions predictions/t.jsonl (candidate) and "
                          "the baseline's predictions/t.jsonl (baseline) have no sample id in common")


def test_deeply_nested_json_in_an_output_string(tmp_path):
    deep = "[" * 100_000 + "1" + "]" * 100_000
    ws = Workspace(tmp_path, [sample(i) for i in range(2)], [pred(0, '{"a": 1}'), pred(1, deep, score=1)],
                   [pred(0, '{"a": 1}'), pred(1, deep.replace("1", "2"), score=0)], type="json")
    code, out, err = ws.request()
    assert code == 0, err
    req = out.strip()
    code, out, err = ws.run("samples", req, "--json")
    assert code == 0, err
    rows = {r["id"]: r for r in map(_strict, out.splitlines())}
    assert rows["s-1"]["class"] == "regressed" and rows["s-0"]["class"] == "unchanged"
    code, out, err = ws.run("show", req, "--json")
    assert code == 0, err
    code, out, err = ws.run("label", req, "t", "s-1", "--verdict", "baseline")
    assert code == 0, err
    report = tmp_path / "r.html"
    code, out, err = ws.run("report", req, "-o", str(report))
    assert code == 0, err
    html = report.read_text()
    assert "1 of 1 regressions labeled" in html and "[[[[[[" in html and "more characters not shown" in html
