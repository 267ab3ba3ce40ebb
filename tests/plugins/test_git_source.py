"""The Git source on real repositories made with gitpython."""

from __future__ import annotations

import json
import time

import git
import numpy as np
import pytest

from signoff.core.compare import compare
from signoff.core.errors import ConfigError, InputError, NotFoundError
from signoff.core.tasks import Cancelled, TaskState
from signoff.plugin_api import Source
from signoff.plugins.git import GitSource
from signoff.plugins.common.tables import to_frame  # eval sets read by pyarrow stay Arrow (issue 16)

# A policy written out for tests that mean no review (signoff.toml must have one).
NO_REVIEW = "\n[policy]\nrequired = {}\nallow_unreviewed = true\n"


def classes(data) -> dict[str, str]:
    table = compare(data).table
    return dict(zip(table["id"], table["class"].astype(str)))


EXPECTED = {"s-0": "unchanged", "s-1": "improved", "s-2": "regressed", "s-3": "unchanged",
            "s-4": "changed", "s-5": "changed"}


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_happy_path_each_format(kit, tmp_path, fmt):
    h = kit.make_history(tmp_path / "repo", fmt)
    loaded = GitSource(h.path).load(candidate="feature")

    assert loaded.source == "git"
    assert loaded.candidate_ref == h.c4
    assert loaded.baseline_ref == h.c1  # merge-base with main, not c4's parent c3
    assert loaded.candidate_author == kit.AUTHOR
    assert loaded.title == "Candidate model v2"
    assert loaded.config.eval_sets[0].name == "texts"
    assert loaded.config_text == kit.SIGNOFF_TOML.format(ext=fmt)
    (data,) = loaded.eval_sets
    assert list(to_frame(data.samples)["id"]) == [s["id"] for s in kit.SAMPLES]
    assert dict(zip(to_frame(data.baseline)["id"], to_frame(data.baseline)["output"])) == {f"s-{i}": o for i, o in kit.BASE_OUT.items()}
    assert dict(zip(to_frame(data.candidate)["id"], to_frame(data.candidate)["output"])) == {f"s-{i}": o for i, o in kit.CAND_OUT.items()}
    assert to_frame(data.baseline)["score"].isna().all()
    assert data.warnings == []
    assert classes(data) == EXPECTED
    assert len(data.content_hash) == 64


def test_explicit_baseline_and_short_sha(history):
    loaded = GitSource(history.path).load(candidate=history.c4[:8], baseline=history.c3)
    assert (loaded.candidate_ref, loaded.baseline_ref) == (history.c4, history.c3)
    data = loaded.eval_sets[0]
    assert dict(zip(to_frame(data.baseline)["id"], to_frame(data.baseline)["output"]))["s-5"] == "half"


def test_candidate_on_default_branch_compares_with_its_parent(history):
    loaded = GitSource(history.path).load(candidate="main")
    assert (loaded.candidate_ref, loaded.baseline_ref) == (history.c2, history.c1)


def test_default_baseline_through_origin_head(history, tmp_path):
    clone = git.Repo.clone_from(history.path, tmp_path / "clone")
    clone.git.checkout("--detach", history.c4)
    clone.delete_head("main", force=True)  # only origin/HEAD -> origin/main is left to find
    loaded = GitSource(str(tmp_path / "clone")).load(candidate="origin/feature")
    assert loaded.baseline_ref == history.c1


def test_no_default_branch_asks_for_a_baseline(kit, tmp_path):
    repo = kit.init_repo(tmp_path / "r", branch="trunk")
    sha = kit.commit(repo, {"signoff.toml": "x = 1\n"}, "one")
    src = GitSource(repo.working_tree_dir)
    with pytest.raises(InputError, match="no default branch.*--baseline"):
        src.default_baseline(src.resolve(sha))


def test_first_commit_of_main_has_no_baseline(kit, tmp_path):
    repo = kit.init_repo(tmp_path / "r")
    sha = kit.commit(repo, {"a.txt": "a"}, "one")
    src = GitSource(repo.working_tree_dir)
    with pytest.raises(InputError, match="first commit"):
        src.default_baseline(src.resolve(sha))


def test_bare_repository(history, tmp_path):
    bare = git.Repo.clone_from(history.path, tmp_path / "bare.git", bare=True)
    src = GitSource(bare.git_dir)
    loaded = src.load(candidate="feature")
    assert (loaded.candidate_ref, loaded.baseline_ref) == (history.c4, history.c1)
    assert classes(loaded.eval_sets[0]) == EXPECTED


def test_locator_rebuilds_the_source(history):
    src = GitSource(history.path + "/evals")  # a subfolder finds the top of the repository
    assert src.locator() == {"repo": history.path}
    again = GitSource.from_locator(json.loads(json.dumps(src.locator())))
    assert isinstance(again, Source) and again.NAME == "git"
    assert again.load(candidate=history.c4).candidate_ref == history.c4


def test_progress_names_file_and_revision(history):
    seen = []
    GitSource(history.path).load(candidate="feature", task=TaskState(lambda m, f: seen.append((m, f))))
    messages = [m for m, _ in seen]
    assert f"reading predictions/texts.jsonl at {history.c1[:7]}" in messages
    assert f"reading predictions/texts.jsonl at {history.c4[:7]}" in messages
    fractions = [f for _, f in seen if f is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_cancel_raises_cancelled(history):
    def on_progress(message, fraction):
        if "predictions" in message:
            task.cancel()

    task = TaskState(on_progress)
    with pytest.raises(Cancelled):
        GitSource(history.path).load(candidate="feature", task=task)


def test_bad_json_line_names_file_line_and_side(kit, history):
    repo = history.repo
    repo.heads.feature.checkout()
    lines = kit.table_bytes(kit.predictions(kit.CAND_OUT), "jsonl").decode().splitlines()
    lines[2] = '{"id": "s-2", "output": "oops"'  # unclosed object on line 3
    kit.commit(repo, {"predictions/texts.jsonl": "\n".join(lines) + "\n"}, "broken")
    with pytest.raises(InputError) as err:
        GitSource(history.path).load(candidate="feature", baseline=history.c1)
    msg = str(err.value)
    assert "predictions/texts.jsonl" in msg and "line 3" in msg and "not valid JSON" in msg
    assert "candidate" in msg


def test_duplicate_ids(kit, history):
    repo = history.repo
    repo.heads.feature.checkout()
    rows = kit.predictions(kit.CAND_OUT) + [{"id": "s-1", "output": "again"}, {"id": "s-4", "output": "again"}]
    kit.commit(repo, {"predictions/texts.jsonl": kit.table_bytes(rows, "jsonl")}, "dups")
    with pytest.raises(InputError, match=r"predictions/texts.jsonl \(candidate [0-9a-f]{7}\): 2 ids appear more than once, e.g. s-1, s-4"):
        GitSource(history.path).load(candidate="feature")


def test_file_missing_at_the_baseline(kit, history):
    repo = history.repo
    repo.heads.feature.checkout()
    toml = (history.repo.working_tree_dir + "/signoff.toml")
    extra = open(toml).read() + '\n[[eval_sets]]\nname = "new"\nsamples = "evals/new.jsonl"\npredictions = "predictions/new.jsonl"\n'
    kit.commit(repo, {"signoff.toml": extra, "evals/new.jsonl": kit.table_bytes(kit.SAMPLES, "jsonl"),
                  "predictions/new.jsonl": kit.table_bytes(kit.predictions(kit.CAND_OUT), "jsonl")}, "new set")
    with pytest.raises(NotFoundError, match=f"predictions/new.jsonl does not exist at {history.c1[:7]} \\(baseline\\)"):
        GitSource(history.path).load(candidate="feature")


def test_ids_in_one_model_only_are_warned_and_missing(kit, history):
    repo = history.repo
    repo.heads.feature.checkout()
    cand = {k: v for k, v in kit.CAND_OUT.items() if k not in (4, 5)}
    kit.commit(repo, {"predictions/texts.jsonl": kit.table_bytes(kit.predictions(cand | {9: "extra"}), "jsonl")}, "fewer")
    data = GitSource(history.path).load(candidate="feature").eval_sets[0]
    assert "2 sample ids are only in the baseline predictions, e.g. s-4, s-5" in data.warnings
    assert "1 sample ids are only in the candidate predictions, e.g. s-9" in data.warnings
    assert "1 prediction ids are not in the eval set's samples, e.g. s-9" in data.warnings
    got = classes(data)
    assert got["s-4"] == got["s-5"] == got["s-9"] == "missing"
    assert got["s-1"] == "improved"
    assert compare(data).summary["warnings"] == data.warnings


def test_scores_from_the_predictions(kit, history):
    repo = history.repo
    repo.heads.feature.checkout()
    rows = [{"id": f"s-{i}", "output": "o", "score": i / 10} for i in range(6)]
    kit.commit(repo, {"predictions/texts.jsonl": kit.table_bytes(rows, "jsonl")}, "scored")
    data = GitSource(history.path).load(candidate="feature").eval_sets[0]
    assert np.allclose(to_frame(data.candidate)["score"], [i / 10 for i in range(6)])


def test_image_set(kit, tmp_path):
    red, blue, green = kit.png_bytes((255, 0, 0)), kit.png_bytes((0, 0, 255)), kit.png_bytes((0, 255, 0))
    toml = ('[[eval_sets]]\nname = "pics"\ntype = "image"\nsamples = "evals/pics.jsonl"\n'
            'predictions = "predictions/pics.jsonl"\n' + NO_REVIEW)
    samples = [{"id": "a", "input": "img/in/a.png", "reference": "img/ref/a.png"},
               {"id": "b", "input": "img/in/b.png", "reference": "img/ref/b.png"}]
    repo = kit.init_repo(tmp_path / "r")
    base = kit.commit(repo, {
        "signoff.toml": toml, "evals/pics.jsonl": kit.table_bytes(samples, "jsonl"),
        "img/in/a.png": red, "img/in/b.png": red, "img/ref/a.png": blue, "img/ref/b.png": green,
        "img/out/a.png": blue, "img/out/b.png": red,
        "predictions/pics.jsonl": kit.table_bytes([{"id": "a", "output": "img/out/a.png"},
                                               {"id": "b", "output": "./img/out/b.png"}], "jsonl"),
    }, "baseline")
    cand = kit.commit(repo, {"img/out/a.png": red, "img/out/b.png": green}, "candidate images")

    data = GitSource(repo.working_tree_dir).load(candidate=cand, baseline=base).eval_sets[0]
    assert list(data.samples["input_bytes"]) == [red, red]
    assert list(data.samples["reference_bytes"]) == [blue, green]
    assert list(data.baseline["output_bytes"]) == [blue, red]    # read at the baseline revision
    assert list(data.candidate["output_bytes"]) == [red, green]  # read at the candidate revision
    assert classes(data) == {"a": "regressed", "b": "improved"}

    # A changed image (same table files) changes the content hash.
    other = kit.commit(repo, {"img/out/a.png": green}, "another image")
    again = GitSource(repo.working_tree_dir).load(candidate=other, baseline=base).eval_sets[0]
    assert again.content_hash != data.content_hash

    # A missing image names the path and the revision.
    gone = kit.commit(repo, {}, "drop an image", remove=("img/out/b.png",))
    with pytest.raises(NotFoundError, match=f"img/out/b.png does not exist at {gone[:7]} \\(candidate\\)"):
        GitSource(repo.working_tree_dir).load(candidate=gone, baseline=base)


def test_unknown_revision(history):
    with pytest.raises(NotFoundError, match="unknown revision 'nope'"):
        GitSource(history.path).load(candidate="nope")
    with pytest.raises(NotFoundError, match="unknown revision 'deadbeef'"):
        GitSource(history.path).load(candidate="feature", baseline="deadbeef")


def test_not_a_repository(tmp_path):
    with pytest.raises(InputError, match="is not a git repository"):
        GitSource(str(tmp_path))
    with pytest.raises(InputError, match="no such directory"):
        GitSource(str(tmp_path / "absent"))


def test_missing_signoff_toml(kit, tmp_path):
    repo = kit.init_repo(tmp_path / "r")
    first = kit.commit(repo, {"a.txt": "a"}, "one")
    sha = kit.commit(repo, {"b.txt": "b"}, "two")
    with pytest.raises(ConfigError, match=f"signoff.toml not found on main at {first[:7]} .*add signoff.toml to main first"):
        GitSource(repo.working_tree_dir).load(candidate=sha)


def test_no_policy_on_the_default_branch_even_if_the_candidate_has_one(kit, tmp_path):
    repo = kit.init_repo(tmp_path / "r")
    kit.commit(repo, {"a.txt": "a"}, "one")
    repo.create_head("feature").checkout()
    cand = kit.commit(repo, {"signoff.toml": kit.SIGNOFF_TOML.format(ext="jsonl")}, "bring my own policy")
    with pytest.raises(ConfigError, match="signoff.toml not found on main .*add signoff.toml to main first"):
        GitSource(repo.working_tree_dir).load(candidate=cand)


def test_bad_signoff_toml(kit, history):
    repo = history.repo
    sha = kit.commit(repo, {"signoff.toml": "[[eval_sets]\nname = "}, "broken toml on main")
    repo.create_head("later", sha).checkout()
    kit.commit(repo, {"x.txt": "x"}, "on top")
    with pytest.raises(ConfigError, match=f"signoff.toml at {sha[:7]} \\(main\\).*not valid TOML"):
        GitSource(history.path).load(candidate="later")
    # A broken signoff.toml on the candidate does not judge it: it is shown as a change, never applied.
    repo.heads.feature.checkout()
    kit.commit(repo, {"signoff.toml": "[policy]\nrequired = { sme = 1 }\n"}, "no sets")
    loaded = GitSource(history.path).load(candidate="feature")
    assert loaded.candidate_config_text == "[policy]\nrequired = { sme = 1 }\n"
    assert [e.spec.name for e in loaded.eval_sets] == ["texts"]


def test_path_outside_the_repository_is_refused(kit, history):
    repo = history.repo
    repo.heads.feature.checkout()
    toml = '[[eval_sets]]\nname = "t"\nsamples = "../secrets.jsonl"\npredictions = "p.jsonl"\n' + NO_REVIEW
    kit.commit(repo, {"signoff.toml": toml}, "escape")
    with pytest.raises(InputError, match="points outside the repository"):
        GitSource(history.path).load(candidate="feature")


def test_default_change_key(history):
    src = GitSource(history.path)
    assert src.default_change_key(history.c4) == "feature"
    assert src.default_change_key(history.c2) == history.c2  # main is the default branch, not a change
    assert src.default_change_key(history.c3) == history.c3  # no branch head there


def test_200k_row_predictions(kit, tmp_path):
    n = 200_000
    repo = kit.init_repo(tmp_path / "big")
    toml = '[[eval_sets]]\nname = "big"\nsamples = "s.jsonl"\npredictions = "p.jsonl"\n' + NO_REVIEW
    samples = "".join(f'{{"id": "s-{i}", "input": "text {i}", "reference": "{i % 3}", "bucket": "{i % 7}"}}\n'
                      for i in range(n))
    base = kit.commit(repo, {"signoff.toml": toml, "s.jsonl": samples,
                         "p.jsonl": "".join(f'{{"id": "s-{i}", "output": "{i % 3}", "score": 1.0}}\n'
                                            for i in range(n))}, "base")
    cand = kit.commit(repo, {"p.jsonl": "".join(f'{{"id": "s-{i}", "output": "{i % 2}", "score": {float(i % 2 == i % 3)}}}\n'
                                            for i in range(n))}, "cand")
    start = time.perf_counter()
    loaded = GitSource(repo.working_tree_dir).load(candidate=cand, baseline=base)
    elapsed = time.perf_counter() - start
    print(f"\nloaded 3 x {n} JSONL rows from git in {elapsed:.2f}s")
    data = loaded.eval_sets[0]
    assert len(data.samples) == len(data.baseline) == len(data.candidate) == n
    assert data.warnings == []
