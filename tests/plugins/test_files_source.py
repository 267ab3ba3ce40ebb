"""The local-files source: a root with the samples, two folders of predictions."""

from __future__ import annotations

import json

import pytest

from signoff.core.compare import compare
from signoff.core.errors import ConfigError, InputError, NotFoundError
from signoff.core.tasks import Cancelled, TaskState
from signoff.plugins.files import FilesSource


@pytest.fixture
def workspace(kit, tmp_path):
    return kit.files_workspace(tmp_path, "csv")


def test_happy_path(kit, workspace):
    src = FilesSource(str(workspace), "runs/v1", "runs/v2", policy=str(workspace / "signoff.toml"))
    loaded = src.load(candidate="abc123")
    # the commit named is the request's (issue 15: `status --sha` finds it); the folders name the title
    assert (loaded.source, loaded.candidate_ref, loaded.baseline_ref) == ("files", "abc123", "v1")
    assert loaded.title == "v2 vs v1"
    assert loaded.candidate_author == ""
    assert loaded.config_text == kit.SIGNOFF_TOML.format(ext="csv")
    (data,) = loaded.eval_sets
    table = compare(data).table
    got = dict(zip(table["id"], table["class"].astype(str)))
    assert got == {"s-0": "unchanged", "s-1": "improved", "s-2": "regressed", "s-3": "unchanged",
                   "s-4": "changed", "s-5": "changed"}


def test_locator_round_trip(workspace):
    src = FilesSource(str(workspace), "runs/v1", "runs/v2", policy=str(workspace / "signoff.toml"))
    loc = json.loads(json.dumps(src.locator()))
    assert loc == {"root": str(workspace), "baseline_dir": str(workspace / "runs/v1"),
                   "candidate_dir": str(workspace / "runs/v2"), "policy": str(workspace / "signoff.toml")}
    assert FilesSource.from_locator(loc).load(candidate="x").eval_sets[0].content_hash == \
        src.load(candidate="x").eval_sets[0].content_hash


def test_config_in_the_candidate_folder_is_shown_never_applied(kit, workspace):
    mine = kit.SIGNOFF_TOML.format(ext="csv").replace("sme = 1", "sme = 0")
    kit.write(workspace, {"runs/v2/signoff.toml": mine})
    loaded = FilesSource(str(workspace), "runs/v1", "runs/v2", policy=str(workspace / "signoff.toml")).load(candidate="x")
    assert loaded.config.policy.required == {"sme": 1}
    assert loaded.config_text == kit.SIGNOFF_TOML.format(ext="csv")
    assert loaded.candidate_config_text == mine


def test_no_policy_given_says_how_to_give_one(workspace):
    with pytest.raises(ConfigError, match="no policy for .*pass --policy FILE .* or --repo DIR"):
        FilesSource(str(workspace), "runs/v1", "runs/v2").load(candidate="x")
    with pytest.raises(ConfigError, match="--policy .*absent.toml: no such file"):
        FilesSource(str(workspace), "runs/v1", "runs/v2", policy=str(workspace / "absent.toml")).load(candidate="x")


def test_policy_from_a_repository_at_its_default_branch(kit, workspace, tmp_path):
    repo = kit.init_repo(tmp_path / "policy-repo")
    kit.commit(repo, {"signoff.toml": kit.SIGNOFF_TOML.format(ext="csv")}, "policy")
    repo.create_head("feature").checkout()
    kit.commit(repo, {"signoff.toml": "[policy]\n"}, "not on main")
    loaded = FilesSource(str(workspace), "runs/v1", "runs/v2", policy_repo=repo.working_tree_dir).load(candidate="x")
    assert loaded.config_text == kit.SIGNOFF_TOML.format(ext="csv")


def test_missing_predictions_file(workspace):
    (workspace / "runs/v1/predictions/texts.csv").unlink()
    with pytest.raises(NotFoundError, match=r"predictions/texts.csv does not exist in .*runs/v1 \(baseline\)"):
        FilesSource(str(workspace), "runs/v1", "runs/v2", policy=str(workspace / "signoff.toml")).load(candidate="x")


def test_missing_folder(workspace):
    with pytest.raises(InputError, match="candidate folder .*runs/v3 does not exist"):
        FilesSource(str(workspace), "runs/v1", "runs/v3")


def test_cancel(workspace):
    task = TaskState()
    task.cancel()
    with pytest.raises(Cancelled):
        FilesSource(str(workspace), "runs/v1", "runs/v2", policy=str(workspace / "signoff.toml")).load(candidate="x", task=task)


def test_image_set(kit, tmp_path):
    red, blue = kit.png_bytes((255, 0, 0)), kit.png_bytes((0, 0, 255))
    kit.write(tmp_path, {
        "signoff.toml": '[[eval_sets]]\nname = "pics"\ntype = "image"\nsamples = "s.jsonl"\npredictions = "p.jsonl"\n'
                        '\n[policy]\nrequired = {}\nallow_unreviewed = true\n',
        "s.jsonl": kit.table_bytes([{"id": "a", "input": "img/a.png", "reference": "img/a_ref.png"}], "jsonl"),
        "img/a.png": red, "img/a_ref.png": blue,
        "base/p.jsonl": kit.table_bytes([{"id": "a", "output": "out/a.png"}], "jsonl"), "base/out/a.png": red,
        "cand/p.jsonl": kit.table_bytes([{"id": "a", "output": "out/a.png"}], "jsonl"), "cand/out/a.png": blue,
    })
    data = FilesSource(str(tmp_path), "base", "cand", policy=str(tmp_path / "signoff.toml")).load(candidate="x").eval_sets[0]
    assert data.samples["input_bytes"][0] == red and data.samples["reference_bytes"][0] == blue
    assert data.baseline["output_bytes"][0] == red and data.candidate["output_bytes"][0] == blue
    assert compare(data).table["class"].astype(str).tolist() == ["improved"]


# -- the files source: its own options, --sha honoured, its own change key ---------------------

def test_request_files_source_with_options_honours_sha(kit, tmp_path, capsys, monkeypatch):
    from signoff.cli.main import main
    from tests.support.keys import with_signers

    def run(*args):
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    kit.write(tmp_path, {
        "signoff.toml": with_signers(kit.SIGNOFF_TOML.format(ext="csv")),
        "evals/texts.csv": kit.table_bytes(kit.SAMPLES, "csv"),
        "runs/v1/predictions/texts.csv": kit.table_bytes(kit.predictions(kit.BASE_OUT), "csv"),
        "runs/v2/predictions/texts.csv": kit.table_bytes(kit.predictions(kit.CAND_OUT), "csv"),
    })
    monkeypatch.setenv("SIGNOFF_USER", "ci@example.com")
    sha = "ab12" * 10
    code, out, err = run("request", "--sha", sha, "--source", "files", "--samples", str(tmp_path),
                         "--baseline-dir", str(tmp_path / "runs/v1"), "--candidate-dir", str(tmp_path / "runs/v2"),
                         "--policy", str(tmp_path / "signoff.toml"), "--json")
    assert code == 0, err
    first = json.loads(out)
    assert first["sha"] == sha
    assert run("status", "--sha", sha)[0] == 3
    # the old JSON locator still works, and makes a request with its own change key
    locator = json.dumps({"root": str(tmp_path), "baseline_dir": "runs/v1", "candidate_dir": "runs/v2"})
    code, out, err = run("request", "--sha", sha, "--source", "files", "--locator", locator,
                         "--policy", str(tmp_path / "signoff.toml"), "--json")
    assert code == 0, err
    from signoff.store.store import Store

    keys = {r.change_key for r in Store().requests_for_sha(sha)}
    assert len(keys) == 2 and all(k.startswith(f"files:{sha}:") for k in keys)
    code, _, err = run("request", "--sha", sha, "--source", "files", "--policy", str(tmp_path / "signoff.toml"))
    assert code == 2 and "--baseline-dir DIR and --candidate-dir DIR" in err and err.count("\n") == 1
