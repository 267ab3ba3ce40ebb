"""The built-in demo: a real git repository with four eval sets and two
models' predictions, built the same way (same SHAs) on every machine.

    main                 c1  Dana Scientist: eval sets, signoff.toml, baseline predictions
    candidate/model-v2   c2  Dana Scientist: the candidate's predictions (checked out)

The data comes from resources/demo/data/ (made by resources/demo/build_demo_data.py
with scikit-learn; nothing here needs it). Image paths in the eval sets and
predictions are relative to the repository root; the image outputs live at
the same paths on both branches (images/outputs/<id>.png), each commit
holding its own model's pictures.

`truth` is the expected count of each change class per eval set, computed
by the data script independently of signoff.core.compare.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import ClassVar

import git

from signoff.core.errors import InputError
from signoff.plugins.git import GitSource
from signoff.resources import ROOT as RESOURCES_ROOT

__all__ = ["DEMO_SETS", "REVIEWERS", "DemoSource", "DemoWorkspace", "build_demo_workspace", "demo_dir_default",
           "demo_key_file", "demo_public_key", "load_truth", "open_demo_workspace"]

DATA_DIR = RESOURCES_ROOT / "demo" / "data"
MARKER = "signoff-demo.json"          # in .git/: what build_demo_workspace made, for open_demo_workspace
MARKER_VERSION = 1

BASELINE_BRANCH = "main"
CANDIDATE_BRANCH = "candidate/model-v2"
AUTHOR = git.Actor("Dana Scientist", "dana@example.com")
BASELINE_DATE = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)
CANDIDATE_DATE = datetime(2024, 5, 2, 15, 30, tzinfo=timezone.utc)
BASELINE_MESSAGE = "Baseline: support model v1 with its eval sets and predictions\n"
CANDIDATE_MESSAGE = ("Candidate model v2: retrained classifier, new reply and extraction prompts, larger denoiser\n\n"
                     "Predictions regenerated on every eval set by CI.\n")

# name -> output type, in the order of signoff.toml.
DEMO_SETS = {"digits": "label", "support-replies": "text", "invoice-extraction": "json", "digit-denoise": "image"}
IMAGE_SET = "digit-denoise"
IMAGE_DIRS = {"input": "images/inputs", "reference": "images/references", "output": "images/outputs"}

SIGNOFF_TOML = """\
# Policy as code: who must sign off, and on what. Read at the candidate revision.

[project]
name = "support-model (demo)"

[[eval_sets]]
name = "digits"
samples = "evals/digits.jsonl"
predictions = "predictions/digits.jsonl"
type = "label"              # score: the predicted probability of the true digit
slices = ["stroke", "digit_group"]

[[eval_sets]]
name = "support-replies"
samples = "evals/support-replies.jsonl"
predictions = "predictions/support-replies.jsonl"
type = "text"               # score: token-level F1 against the reference reply
slices = ["channel", "topic"]

[[eval_sets]]
name = "invoice-extraction"
samples = "evals/invoice-extraction.jsonl"
predictions = "predictions/invoice-extraction.jsonl"
type = "json"               # no score column: 1 for an exact match with the reference, else 0
slices = ["language", "layout"]

[[eval_sets]]
name = "digit-denoise"
samples = "evals/digit-denoise.jsonl"
predictions = "predictions/digit-denoise.jsonl"
type = "image"              # score: PSNR in dB against the clean image
slices = ["noise"]
higher_is_better = true

[policy]
required = { sme = 2, qa = 1 }
min_changed_reviewed = 0.2
all_regressions_reviewed = false
no_self_approval = true

# The digits set must also show, at 95% confidence, that the candidate is worse than the
# baseline on at most 3% of its samples (docs/statistics.md): label the sample Signoff serves.
[policy.bounds.digits]
max_regression_rate = 0.03
confidence = 0.95

[roles]
sme = ["alice@example.com", "bob@example.com"]
qa = ["quinn@example.com"]

[labels]
errors = ["wrong label", "hallucination", "wrong detail", "formatting", "unsafe markup", "other"]

[status]
sink = "local"
repo = "demo/support-model"
context = "signoff/review"
"""

# The demo's reviewers and their keys (docs/trust.md). The keys come from fixed seeds so the
# demo has the same SHAs everywhere: they are NOT secret, never use them outside the demo.
REVIEWERS = {"alice": "alice@example.com", "bob": "bob@example.com", "quinn": "quinn@example.com"}
KEYS_DIR = "keys"


def _demo_private_key(user: str):
    import hashlib

    from cryptography.hazmat.primitives.asymmetric import ed25519

    return ed25519.Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(f"signoff demo key (public, demo only): {user}".encode()).digest())


def demo_public_key(user: str) -> str:
    from cryptography.hazmat.primitives import serialization

    line = _demo_private_key(user).public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                             serialization.PublicFormat.OpenSSH).decode()
    return f"{line} {user} (signoff demo)"


def _signers_toml() -> str:
    lines = ["", "[signers.keys]   # each reviewer's public key: made by `signoff demo` in <demo>/keys/"]
    lines += [f'"{email}" = ["{demo_public_key(email)}"]' for email in REVIEWERS.values()]
    return "\n".join(lines) + "\n"


SIGNOFF_TOML += _signers_toml()

README = """\
# support-model (Signoff demo)

A made-up model repository for trying Signoff. `main` holds the baseline
model's predictions; the branch `candidate/model-v2` holds the candidate's.
`signoff.toml` says which eval sets to compare and who must sign off.

| eval set | output | samples | score |
|---|---|---|---|
| digits | label | scikit-learn's handwritten digits, 8x8, as text | probability of the true digit |
| support-replies | text | customer messages and the ideal reply | token F1 against the reference |
| invoice-extraction | json | invoice text and {vendor, date, total, currency} | exact match |
| digit-denoise | image | noisy 32x32 digits (images/) and the clean ones | PSNR (dB) |

Some outputs contain markup, right-to-left text, zero-width characters,
emoji and very long text on purpose: Signoff must show them as plain text.

Try it:

    signoff request --sha candidate/model-v2 --repo .

Act as a reviewer with their key (made by `signoff demo` in keys/, listed in signoff.toml [signers]):

    SIGNOFF_USER=alice@example.com SIGNOFF_SIGNING_KEY=keys/alice signoff decide 1 --decision approve
"""


@dataclass(frozen=True)
class DemoWorkspace:
    repo: Path
    baseline_sha: str
    candidate_sha: str
    candidate_branch: str = CANDIDATE_BRANCH
    # eval set -> {unchanged, changed, improved, regressed, missing: count}
    truth: dict[str, dict[str, int]] = field(default_factory=dict)


class DemoSource(GitSource):
    """The Git source, on the demo workspace's repository."""

    NAME: ClassVar[str] = "demo"

    @classmethod
    def workspace(cls, directory: str = "", *, task=None) -> "tuple[DemoSource, str, str]":
        """(source, candidate sha, baseline sha) of the demo workspace in `directory` (default: the
        data dir's), built the first time: what `signoff demo` and File ▸ New review… open."""
        where = Path(directory) if directory else demo_dir_default()
        ws = open_demo_workspace(where)
        if ws is None:
            if task is not None:
                task.report("building the demo workspace", 0.05)
            ws = build_demo_workspace(where)
        return cls(str(ws.repo)), ws.candidate_sha, ws.baseline_sha
    DESCRIPTION: ClassVar[str] = "the built-in demo: a git repository made by `signoff demo`"


def load_truth() -> dict[str, dict[str, int]]:
    """The expected change-class counts per eval set (resources/demo/data/truth.json)."""
    return json.loads(_data_file("truth.json").read_text(encoding="utf-8"))


def demo_dir_default() -> Path:
    """Where `signoff demo` builds its workspace when no --dir is given: <data dir>/demo."""
    from signoff.store.db import data_dir  # the one place that knows SIGNOFF_HOME and platformdirs

    return data_dir() / "demo"


def open_demo_workspace(directory: str | Path) -> DemoWorkspace | None:
    """The workspace build_demo_workspace made in `directory`, or None if it holds none."""
    path = Path(directory).expanduser().resolve()
    marker = path / ".git" / MARKER
    if not marker.is_file():
        return None
    try:
        info = json.loads(marker.read_text(encoding="utf-8"))
        if info.get("version") != MARKER_VERSION:
            return None
        repo = git.Repo(path)
        for sha in (info["baseline_sha"], info["candidate_sha"]):
            repo.commit(sha)
    except (OSError, ValueError, KeyError, git.exc.GitError):
        return None
    return DemoWorkspace(repo=path, baseline_sha=info["baseline_sha"], candidate_sha=info["candidate_sha"],
                         candidate_branch=info["candidate_branch"], truth=info["truth"])


def build_demo_workspace(directory: str | Path) -> DemoWorkspace:
    """Create the demo repository in `directory` (new or empty) and return what it holds.

    The same SHAs on every run: fixed contents, author, committer and dates.
    """
    path = Path(directory).expanduser().resolve()
    try:
        if path.exists() and not path.is_dir():
            raise InputError(f"{path} is a file; the demo needs an empty or new directory")
        if path.is_dir() and any(path.iterdir()):
            raise InputError(f"{path} is not empty; the demo needs an empty or new directory")
    except OSError as exc:
        raise InputError(f"cannot use {path} for the demo: {exc.strerror or exc}") from None
    truth = load_truth()
    images = _read_images()
    created = not path.exists()
    try:
        path.mkdir(parents=True, exist_ok=True)
        baseline, candidate = _build_repo(path, images)
        _write_keys(path)
        marker = {"version": MARKER_VERSION, "baseline_sha": baseline, "candidate_sha": candidate,
                  "candidate_branch": CANDIDATE_BRANCH, "truth": truth}
        (path / ".git" / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    except (OSError, git.exc.GitError) as exc:
        _empty(path, remove=created)      # leave the directory as it was, so the next try can use it
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc).strip().splitlines()[0]
        raise InputError(f"cannot build the demo in {path}: {detail}") from None
    return DemoWorkspace(repo=path, baseline_sha=baseline, candidate_sha=candidate,
                         candidate_branch=CANDIDATE_BRANCH, truth=truth)


# -- helpers ---------------------------------------------------------------------------

def _build_repo(path: Path, images: dict[tuple[str, str], bytes]) -> tuple[str, str]:
    """The two commits; returns (baseline SHA, candidate SHA). Leaves the candidate branch checked out."""
    repo = git.Repo.init(path, initial_branch=BASELINE_BRANCH)
    with repo.config_writer() as cw:                 # keep user config from changing bytes or SHAs
        cw.set_value("core", "autocrlf", "false")
        cw.set_value("i18n", "commitEncoding", "UTF-8")

    files = [_write(path / "signoff.toml", SIGNOFF_TOML.encode()), _write(path / "README.md", README.encode())]
    for name in DEMO_SETS:
        files.append(_copy(name, "samples.jsonl", path / "evals" / f"{name}.jsonl"))
        files.append(_copy(name, "baseline.jsonl", path / "predictions" / f"{name}.jsonl"))
    for (sample_id, kind), data in sorted(images.items()):
        if kind in ("input", "reference", "baseline"):
            folder = IMAGE_DIRS["output" if kind == "baseline" else kind]
            files.append(_write(path / folder / f"{sample_id}.png", data))
    baseline = _commit(repo, path, files, BASELINE_MESSAGE, BASELINE_DATE)

    repo.head.reference = repo.create_head(CANDIDATE_BRANCH, baseline)
    changed = [_copy(name, "candidate.jsonl", path / "predictions" / f"{name}.jsonl") for name in DEMO_SETS]
    for (sample_id, kind), data in sorted(images.items()):
        if kind == "candidate":
            changed.append(_write(path / IMAGE_DIRS["output"] / f"{sample_id}.png", data))
    candidate = _commit(repo, path, changed, CANDIDATE_MESSAGE, CANDIDATE_DATE)
    return baseline, candidate


def _write_keys(path: Path) -> None:
    """<demo>/keys/NAME (private, mode 600) and NAME.pub for each reviewer; kept out of git."""
    from cryptography.hazmat.primitives import serialization

    folder = path / KEYS_DIR
    folder.mkdir(exist_ok=True)
    for name, email in REVIEWERS.items():
        data = _demo_private_key(email).private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                                      serialization.NoEncryption())
        fd = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        (folder / f"{name}.pub").write_text(demo_public_key(email) + "\n", encoding="utf-8")
    exclude = path / ".git" / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    with exclude.open("a", encoding="utf-8") as fh:
        fh.write(f"/{KEYS_DIR}/\n")


def demo_key_file(workspace: Path | str, user: str) -> Path:
    """The private key file of a demo reviewer (an e-mail or a name: alice, bob, quinn)."""
    name = next((n for n, e in REVIEWERS.items() if user in (n, e)), user)
    return Path(workspace) / KEYS_DIR / name


def _empty(path: Path, remove: bool) -> None:
    """Undo a failed build: delete what it wrote (and the directory itself if it made it)."""
    if not path.is_dir():
        return
    if remove:
        shutil.rmtree(path, ignore_errors=True)
        return
    for child in path.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def _data_file(*parts: str) -> Path:
    path = DATA_DIR.joinpath(*parts)
    if not path.is_file():
        raise InputError(f"the demo data file {path} is missing; rebuild it with "
                         f"resources/demo/build_demo_data.py or reinstall Signoff")
    return path


def _read_images() -> dict[tuple[str, str], bytes]:
    """(sample id, kind) -> PNG bytes; kind is input, reference, baseline or candidate."""
    import pyarrow.parquet as pq   # only for the image set: loading the plugin stays light

    table = pq.read_table(_data_file(IMAGE_SET, "images.parquet")).to_pydict()
    return {(i, k): bytes(b) for i, k, b in zip(table["id"], table["kind"], table["png"])}


def _write(target: Path, data: bytes) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def _copy(eval_set: str, name: str, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_data_file(eval_set, name), target)
    return target


_PLAIN_GIT = {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def _commit(repo: git.Repo, root: Path, files: list[Path], message: str, when: datetime) -> str:
    # Regular files only (mode 100644), whatever the umask says about the executable bit.
    for f in files:
        os.chmod(f, 0o644)
    # One `git add` for all files: index.add would start one `git hash-object` per file (seconds).
    # The user's global and system git config (excludes, attributes, filters) must not change what
    # is stored: the same bytes everywhere, so the same SHAs.
    repo.git.add("--force", "--", *(f.relative_to(root).as_posix() for f in files), env=_PLAIN_GIT)
    commit = repo.index.commit(message, author=AUTHOR, committer=AUTHOR, author_date=when, commit_date=when,
                               skip_hooks=True)
    return commit.hexsha
