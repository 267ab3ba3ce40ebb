"""Helpers for the source tests: real git repositories and real files.

Tests reach them through the `kit` fixture, never `from conftest import`:
other test folders have a conftest.py too, and the module name would clash.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from types import SimpleNamespace

import git
import pandas as pd
import pytest
from PIL import Image

AUTHOR = "dana@example.com"

SIGNOFF_TOML = """
[[eval_sets]]
name = "texts"
samples = "evals/texts.{ext}"
predictions = "predictions/texts.{ext}"

[policy]
required = {{ sme = 1 }}

[roles]
sme = ["alice@example.com"]
"""


def table_bytes(records: list[dict], fmt: str) -> bytes:
    """records written as a JSONL, CSV or Parquet file."""
    if fmt == "jsonl":
        return "".join(json.dumps(r) + "\n" for r in records).encode()
    frame = pd.DataFrame.from_records(records)
    if fmt == "csv":
        return frame.to_csv(index=False).encode()
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def png_bytes(color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (2, 2), color).save(buf, format="PNG")
    return buf.getvalue()


def write(root: Path, files: dict[str, bytes | str]) -> None:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)


def files_workspace(root: Path, fmt: str) -> Path:
    """The files source's layout under `root`: the policy, the samples, runs/v1 (baseline) and runs/v2."""
    write(root, {
        "signoff.toml": SIGNOFF_TOML.format(ext=fmt),
        f"evals/texts.{fmt}": table_bytes(SAMPLES, fmt),
        f"runs/v1/predictions/texts.{fmt}": table_bytes(predictions(BASE_OUT), fmt),
        f"runs/v2/predictions/texts.{fmt}": table_bytes(predictions(CAND_OUT), fmt),
    })
    return root


def init_repo(path: Path, branch: str = "main") -> git.Repo:
    repo = git.Repo.init(path, initial_branch=branch)
    with repo.config_writer() as cw:
        cw.set_value("user", "name", "Dana")
        cw.set_value("user", "email", AUTHOR)
    return repo


def commit(repo: git.Repo, files: dict[str, bytes | str], message: str, remove: tuple[str, ...] = ()) -> str:
    root = Path(repo.working_tree_dir)
    write(root, files)
    if files:
        repo.index.add(list(files))
    if remove:
        repo.index.remove(list(remove), working_tree=True)
    return repo.index.commit(message).hexsha


SAMPLES = [{"id": f"s-{i}", "input": f"question {i}", "reference": f"answer {i}", "lang": "en" if i % 2 else "de"}
           for i in range(6)]


def predictions(outputs: dict[int, str]) -> list[dict]:
    return [{"id": f"s-{i}", "output": out} for i, out in sorted(outputs.items())]


BASE_OUT = {0: "answer 0", 1: "wrong", 2: "answer 2", 3: "answer 3", 4: "x", 5: "y"}
# vs baseline: 0 unchanged, 1 improved, 2 regressed, 3 unchanged, 4 changed (both wrong), 5 changed
CAND_OUT = {0: "answer 0", 1: "answer 1", 2: "oops", 3: "answer 3", 4: "z", 5: "w"}


class History:
    """main: c1 (baseline predictions), c2 (unrelated); feature from c1: c3, c4 (candidate predictions).

    merge-base(c4, main) is c1, c4's first parent is c3: the two differ on purpose.
    """

    def __init__(self, repo: git.Repo, c1: str, c2: str, c3: str, c4: str):
        self.repo, self.c1, self.c2, self.c3, self.c4 = repo, c1, c2, c3, c4
        self.path = repo.working_tree_dir


def make_history(path: Path, fmt: str = "jsonl") -> History:
    repo = init_repo(path)
    c1 = commit(repo, {
        "signoff.toml": SIGNOFF_TOML.format(ext=fmt),
        f"evals/texts.{fmt}": table_bytes(SAMPLES, fmt),
        f"predictions/texts.{fmt}": table_bytes(predictions(BASE_OUT), fmt),
    }, "baseline model")
    c2 = commit(repo, {"README.md": "hello\n"}, "docs on main")
    repo.create_head("feature", c1).checkout()
    c3 = commit(repo, {f"predictions/texts.{fmt}": table_bytes(predictions(BASE_OUT | {5: "half"}), fmt)}, "wip")
    c4 = commit(repo, {f"predictions/texts.{fmt}": table_bytes(predictions(CAND_OUT), fmt)}, "Candidate model v2")
    repo.heads.main.checkout()
    return History(repo, c1, c2, c3, c4)


@pytest.fixture
def history(tmp_path) -> History:
    return make_history(tmp_path / "repo")


@pytest.fixture
def kit() -> SimpleNamespace:
    return SimpleNamespace(
        AUTHOR=AUTHOR, SIGNOFF_TOML=SIGNOFF_TOML, SAMPLES=SAMPLES, BASE_OUT=BASE_OUT, CAND_OUT=CAND_OUT,
        table_bytes=table_bytes, png_bytes=png_bytes, write=write, init_repo=init_repo, commit=commit,
        predictions=predictions, make_history=make_history, files_workspace=files_workspace,
    )
