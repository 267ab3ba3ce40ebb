"""The demo workspace: a real, reproducible git repository whose change-class
counts are known in advance (resources/demo/data/truth.json, computed by the
data script with a plain loop) and must be what the engine finds."""

from __future__ import annotations

import importlib.util
import io
import json
import os
from pathlib import Path

import git
import pytest
from PIL import Image

from signoff.core.compare import compare
from signoff.core.config import parse_config
from signoff.core.errors import InputError
from signoff.core.model import ChangeClass
from signoff.plugins.demo import (CANDIDATE_BRANCH, DATA_DIR, DEMO_SETS, DemoSource, DemoWorkspace, build_demo_workspace,
                          demo_dir_default, load_truth, open_demo_workspace)
from signoff.plugins.git import GitSource

N_IMAGES = 120


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> DemoWorkspace:
    return build_demo_workspace(tmp_path_factory.mktemp("demo") / "workspace")


@pytest.fixture(scope="module")
def comparisons(ws):
    loaded = DemoSource(str(ws.repo)).load(candidate=ws.candidate_sha)
    return loaded, {e.spec.name: (e, compare(e)) for e in loaded.eval_sets}


def tree_files(repo: git.Repo, sha: str) -> dict[str, bytes]:
    return {b.path: b.data_stream.read() for b in repo.commit(sha).tree.traverse() if b.type == "blob"}


def test_building_twice_gives_the_same_shas(ws, tmp_path):
    again = build_demo_workspace(tmp_path / "again")
    assert (again.baseline_sha, again.candidate_sha) == (ws.baseline_sha, ws.candidate_sha)
    assert again.truth == ws.truth == load_truth()


def test_the_directory_must_be_new_or_empty(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="is not empty"):
        build_demo_workspace(tmp_path / "full")
    assert os.listdir(tmp_path / "full") == ["notes.txt"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is a file"):
        build_demo_workspace(tmp_path / "file")
    with pytest.raises(InputError, match="cannot build the demo in"):
        build_demo_workspace(tmp_path / "file" / "below")
    assert (tmp_path / "file").read_text() == "x"
    (tmp_path / "empty").mkdir()
    assert build_demo_workspace(tmp_path / "empty").repo == (tmp_path / "empty").resolve()


def test_history_branches_and_authors(ws):
    repo = git.Repo(ws.repo)
    assert repo.active_branch.name == CANDIDATE_BRANCH == ws.candidate_branch
    assert repo.heads["main"].commit.hexsha == ws.baseline_sha
    assert repo.heads[CANDIDATE_BRANCH].commit.hexsha == ws.candidate_sha
    cand = repo.commit(ws.candidate_sha)
    assert [p.hexsha for p in cand.parents] == [ws.baseline_sha]
    assert repo.commit(ws.baseline_sha).parents == ()
    for c in (cand, cand.parents[0]):
        assert (c.author.name, c.author.email) == ("Dana Scientist", "dana@example.com")
        assert (c.committer.name, c.committer.email) == ("Dana Scientist", "dana@example.com")
    assert not repo.is_dirty(untracked_files=True)


def test_files_at_each_revision(ws):
    repo = git.Repo(ws.repo)
    base, cand = tree_files(repo, ws.baseline_sha), tree_files(repo, ws.candidate_sha)
    assert set(base) == set(cand)
    expected = {"signoff.toml", "README.md"} | {f"{d}/{n}.jsonl" for d in ("evals", "predictions") for n in DEMO_SETS}
    assert expected <= set(base)
    for folder in ("images/inputs", "images/references", "images/outputs"):
        assert sum(p.startswith(folder + "/") and p.endswith(".png") for p in base) == N_IMAGES
    assert len(base) == len(expected) + 3 * N_IMAGES

    changed = {p for p in base if base[p] != cand[p]}
    assert changed == {f"predictions/{n}.jsonl" for n in DEMO_SETS} | {p for p in base if p.startswith("images/outputs/")}
    for name in DEMO_SETS:
        assert base[f"evals/{name}.jsonl"] == (DATA_DIR / name / "samples.jsonl").read_bytes()
        assert base[f"predictions/{name}.jsonl"] == (DATA_DIR / name / "baseline.jsonl").read_bytes()
        assert cand[f"predictions/{name}.jsonl"] == (DATA_DIR / name / "candidate.jsonl").read_bytes()

    # Every image path the image set names is a 32x32 grayscale PNG at the revision that reads it.
    samples = [json.loads(line) for line in base["evals/digit-denoise.jsonl"].decode().splitlines()]
    for rev, files in (("baseline", base), ("candidate", cand)):
        for line in files["predictions/digit-denoise.jsonl"].decode().splitlines():
            img = Image.open(io.BytesIO(files[json.loads(line)["output"]]))
            assert (img.size, img.mode) == ((32, 32), "L"), rev
    for s in samples:
        assert s["input"] in base and s["reference"] in base


def test_signoff_toml_parses(ws):
    config = parse_config((ws.repo / "signoff.toml").read_text())
    assert {s.name: s.output_type for s in config.eval_sets} == DEMO_SETS
    assert config.eval_set("support-replies").slices == ("channel", "topic")
    assert config.policy.required == {"sme": 2, "qa": 1}
    assert config.policy.min_changed_reviewed == 0.2
    assert config.policy.all_regressions_reviewed is False and config.policy.no_self_approval is True
    assert config.roles == {"sme": ("alice@example.com", "bob@example.com"), "qa": ("quinn@example.com",)}
    assert (config.status.sink, config.status.context, config.status.repo) == ("local", "signoff/review",
                                                                                "demo/support-model")
    assert config.error_categories


def test_the_engine_finds_the_known_truth(ws, comparisons):
    loaded, results = comparisons
    assert (loaded.candidate_ref, loaded.baseline_ref) == (ws.candidate_sha, ws.baseline_sha)  # merge-base with main
    assert loaded.candidate_author == "dana@example.com"
    got = {name: result.summary["classes"] for name, (_, result) in results.items()}
    assert got == ws.truth
    # Every class shows up somewhere, missing included, and says so in a warning.
    assert all(sum(t[c.value] for t in ws.truth.values()) > 0 for c in ChangeClass)
    data, result = results["support-replies"]
    assert result.summary["classes"]["missing"] == 5
    assert any("only in the baseline" in w for w in data.warnings)
    assert any("only in the candidate" in w for w in data.warnings)
    assert set(result.table.loc[result.table["class"] == "missing", "missing_side"]) == {"baseline", "candidate"}


def test_json_outputs_that_differ_only_in_layout_are_unchanged(comparisons):
    _, results = comparisons
    table = results["invoice-extraction"][1].table
    unchanged = table[table["class"] == "unchanged"]
    relaid = unchanged[unchanged["baseline_output"] != unchanged["candidate_output"]]
    assert len(relaid) > 50
    # Not JSON at all (a fenced block, a cut-off object) is compared as text and scores 0.
    fenced = table[table["candidate_output"].str.startswith("```")]
    assert len(fenced) and (fenced["candidate_score"] == 0).all()


def test_hostile_outputs_are_in_the_data(comparisons):
    _, results = comparisons
    outputs = list(results["support-replies"][1].table["candidate_output"].dropna())
    for needle in ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<b>", "\u200b", "תודה", "شكراً", "😊"):
        assert any(needle in o for o in outputs), needle
    assert max(map(len, outputs)) >= 20_000


def test_slices_and_scores(comparisons):
    _, results = comparisons
    assert set(results["digits"][1].summary["slices"]) == {"stroke", "digit_group"}
    assert set(results["digit-denoise"][1].summary["slices"]["noise"]) == {"low", "high"}
    digits = results["digits"][1].table
    assert digits["baseline_score"].between(0, 1).all() and digits["candidate_score"].between(0, 1).all()
    # Two different wrong digits: the probability of the true digit still says which is better.
    wrong = digits[(digits["baseline_output"] != digits["reference"]) & (digits["candidate_output"] != digits["reference"])
                   & (digits["baseline_output"] != digits["candidate_output"])]
    assert len(wrong) and set(wrong["class"]) <= {"improved", "regressed"}
    assert results["invoice-extraction"][1].summary["metrics"]["candidate_mean_score"] is not None


def test_truth_file_agrees_with_the_data_files():
    """The script's own plain loop, run again over the committed files."""
    spec = importlib.util.spec_from_file_location("build_demo_data", DATA_DIR.parent / "build_demo_data.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    import pyarrow.parquet as pq

    blobs = pq.read_table(DATA_DIR / "digit-denoise" / "images.parquet").to_pydict()
    images = {(i, k): b for i, k, b in zip(blobs["id"], blobs["kind"], blobs["png"])}
    truth = load_truth()
    for name, kind in DEMO_SETS.items():
        rows = {part: [json.loads(line) for line in (DATA_DIR / name / f"{part}.jsonl").read_text().splitlines()]
                for part in ("samples", "baseline", "candidate")}
        counts = script.expected_counts(kind, rows["samples"], rows["baseline"], rows["candidate"], images)
        assert counts == truth[name], name
    assert sum(p.stat().st_size for p in DATA_DIR.rglob("*") if p.is_file()) < 3_000_000


def test_open_demo_workspace(ws, tmp_path):
    assert open_demo_workspace(ws.repo) == ws
    assert open_demo_workspace(tmp_path) is None
    assert open_demo_workspace(tmp_path / "nowhere") is None
    git.Repo.init(tmp_path / "other")
    assert open_demo_workspace(tmp_path / "other") is None


def test_demo_dir_default_is_in_the_data_dir():
    assert demo_dir_default() == Path(os.environ["SIGNOFF_HOME"]) / "demo"


def test_demo_source_is_the_git_source(ws, comparisons):
    assert issubclass(DemoSource, GitSource) and DemoSource.NAME == "demo"
    source = DemoSource.from_locator({"repo": str(ws.repo)})
    assert source.locator() == {"repo": str(ws.repo)}
    assert source.resolve(CANDIDATE_BRANCH).hexsha == ws.candidate_sha
    assert comparisons[0].source == "demo"
