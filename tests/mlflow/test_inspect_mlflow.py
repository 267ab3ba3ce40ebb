"""`signoff inspect` against the real MLflow test server: production traces logged by the real
mlflow client (tests/mlflow/fill_inspect.py), sampled with a seed, reviewed with signed labels
through the real CLI, and the estimate written back as tags on the production model version."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import requests
from statsmodels.stats.proportion import proportion_confint

from tests.support import keys
from tests.support.inspection import INSPECTION_POLICY

HERE = Path(__file__).resolve().parent
POLICY = INSPECTION_POLICY


@pytest.fixture(scope="module")
def prod(mlflow_server) -> dict:
    mlflow_server.wait_ready()
    p = subprocess.run([mlflow_server.python(), str(HERE / "fill_inspect.py"), "--tracking-uri", mlflow_server.url],
                       capture_output=True, text=True, env={**mlflow_server.env(), "MLFLOW_TRACKING_URI": mlflow_server.url},
                       timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    facts = json.loads(p.stdout.strip().splitlines()[-1])
    assert facts["traces"] == 35
    facts["url"] = mlflow_server.url
    return facts


@pytest.fixture
def policy(tmp_path) -> str:
    f = tmp_path / "default-branch" / "signoff.toml"
    f.parent.mkdir()
    f.write_text(POLICY)
    return str(f)


def _ids(cli, req: int) -> list[str]:
    code, out, err = cli("samples", str(req), "--json")
    assert code == 0, err
    return sorted(json.loads(line)["id"] for line in out.splitlines())


def test_inspection_of_the_champion_is_reviewed_and_written_back(prod, cli, policy, tmp_path):
    args = ("inspect", "--tracking-uri", prod["url"], "--model", prod["model"], "--alias", "champion",
            "--since", "7d", "--sample", "12", "--seed", "5", "--policy", policy, "--json")
    made = cli.json(*args)
    assert made["kind"] == "inspection" and made["version"] == prod["version"]
    assert (made["sample"], made["population"]) == (12, 30)   # the 5 traces of 10 days ago are out of the window
    ids = _ids(cli, made["id"])
    assert _ids(cli, cli.json(*args)["id"]) == ids          # same seed, same traces
    other = cli.json(*args[:-5], "--seed", "6", "--policy", policy, "--json")
    assert _ids(cli, other["id"]) != ids

    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(json.dumps({"eval_set": "production", "sample_id": sid, "correct": i >= 3,
                                          "error": "wrong answer" if i < 3 else ""}) + "\n"
                              for i, sid in enumerate(ids)))
    quinn = {"SIGNOFF_SIGNING_KEY": str(keys.key_file("quinn@example.com"))}
    code, _out, err = cli("label", str(made["id"]), "--from", str(labels), user="quinn@example.com", env=quinn)
    assert code == 0, err
    code, out, err = cli("decide", str(made["id"]), "--decision", "approve", user="quinn@example.com", env=quinn)
    assert code == 0, err
    assert "approved" in out

    shown = cli.json("show", str(made["id"]), "--json")
    est = shown["inspection"]["estimate"]
    low, high = proportion_confint(3, 12, alpha=0.05, method="wilson")
    assert (est["errors"], est["labeled"]) == (3, 12)
    assert (est["low"], est["high"]) == pytest.approx((low, high))
    assert shown["status"] == "approved" and shown["request"]["sha"] == ""

    mv = requests.get(f"{prod['url']}/api/2.0/mlflow/model-versions/get",
                      params={"name": prod["model"], "version": prod["version"]}, timeout=30).json()["model_version"]
    tags = {t["key"]: t["value"] for t in mv.get("tags", [])}
    assert float(tags["signoff.inspection.error_rate"]) == pytest.approx(0.25)
    assert tags["signoff.inspection.labels"] == "12"
    assert tags["signoff.inspection.request"] == str(made["id"])
    assert tags["signoff.inspection.interval"] == f"[{low:.6f}, {high:.6f}] wilson 0.95"
    assert "signoff.status" not in tags   # an inspection does not pretend to be a release decision

    # `signoff status --sha` never sees an inspection.
    code, _out, err = cli("status", "--sha", "0" * 40)
    assert code == 2 and "no review request" in err


def test_inspection_of_an_experiment_and_since(prod, cli, policy):
    every = cli.json("inspect", "--tracking-uri", prod["url"], "--experiment", prod["experiment"], "--sample", "100",
                     "--seed", "1", "--policy", policy, "--json")
    week = cli.json("inspect", "--tracking-uri", prod["url"], "--experiment", prod["experiment"], "--since", "7d",
                    "--sample", "100", "--seed", "1", "--policy", policy, "--json")
    assert (every["population"], week["population"]) == (35, 30)
    assert every["version"] == ""   # no model named: nothing to write back to


def test_inspection_without_a_policy_is_refused(prod, cli):
    code, _out, err = cli("inspect", "--tracking-uri", prod["url"], "--experiment", prod["experiment"])
    assert code == 2 and "no policy for an inspection" in err
