"""The local-files source, for setups without git: two folders of prediction
files side by side.

    FilesSource(root, baseline_dir, candidate_dir)

- The policy (`signoff.toml`) never comes from what is judged: `policy` (a file CI takes
  from its own checkout of the default branch: `--policy FILE`) or `policy_repo` (a git
  repository, read at its default branch: `--repo DIR`); neither: a ConfigError saying so.
  A `signoff.toml` in `candidate_dir` is the candidate's own: shown as a diff, never applied.
- Samples (and, for image sets, input/reference images) are resolved against `root`.
- Predictions (and output images) are resolved against `baseline_dir` and
  `candidate_dir`, each at the same relative path the eval set names.
- Relative `baseline_dir` / `candidate_dir` are taken relative to `root`.
- The refs are the folder names; the author is unknown (""), so the policy's
  no-self-approval rule cannot match anybody; content hashes come from the bytes.

`input_files` hands the same eval sets over as their files, unread, for the out-of-core
engine (app/service/file_inputs.py picks it for inputs larger than memory allows).

The `candidate`/`baseline` arguments of `load` do not pick files here (the
folders do); they only name the request: `signoff request --sha SHA` makes the
request's commit SHA (so `status`/`wait --sha` find it). Each request gets its own
change key (`default_change_key`).

Two single files (`signoff review A B`) are plugins/files/pair.py's FilePairSource,
rebuilt from its locator through FilesSource.from_locator.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import replace
from typing import ClassVar

from signoff.core.config import ProjectConfig, parse_config
from signoff.core.errors import ConfigError, InputError, NotFoundError
from signoff.core.model import LoadedInput
from signoff.core.policy_change import added_specs
from signoff.core.tasks import TaskState
from signoff.plugin_api import CliOption, RequestContext, Source
from signoff.plugins.common import clean_relpath, load_eval_sets
from signoff.plugins.common.evalset import eval_set_files
from signoff.plugins.common.local_files import read_file
from signoff.plugins.common.policy import no_policy_error, policy_from_repo, read_policy_file

CONFIG_FILE = "signoff.toml"

__all__ = ["FilesSource"]


class FilesSource(Source):
    """Eval sets and predictions as plain files in local folders."""

    NAME: ClassVar[str] = "files"
    DESCRIPTION: ClassVar[str] = "CSV / JSONL / Parquet files in a baseline and a candidate folder"

    CLI_OPTIONS: ClassVar[tuple[CliOption, ...]] = (
        CliOption("--baseline-dir", "files: the folder of the baseline's predictions", metavar="DIR", required=True),
        CliOption("--candidate-dir", "files: the folder of the candidate's predictions", metavar="DIR", required=True),
        CliOption("--samples", "files: the folder the eval sets' samples paths are relative to (default: .)",
                  metavar="DIR", key="root"),
    )

    INSPECT_OPTIONS: ClassVar[tuple[CliOption, ...]] = (
        CliOption("--files", "files: prediction files (.jsonl/.csv/.parquet): id, input, output, [reference], "
                             "[timestamp], [shadow_output]", metavar="DIR_OR_FILE", required=True),
    )

    @classmethod
    def from_cli(cls, options: dict, context: RequestContext) -> Source:
        """The policy: --policy FILE, else --repo DIR at its default branch (or --policy-ref)."""
        locator = {"root": ".", **options}
        if context.policy:
            locator["policy"] = context.policy
        elif context.repo:
            locator["policy_repo"] = context.repo
        if context.policy_ref:
            locator["policy_ref"] = context.policy_ref
        return cls.from_locator(locator)

    def __init__(self, root: str, baseline_dir: str, candidate_dir: str, policy: str = "", policy_repo: str = "",
                 policy_ref: str = ""):
        self.policy = os.path.abspath(os.path.expanduser(policy)) if policy else ""
        self.policy_repo = os.path.abspath(os.path.expanduser(policy_repo)) if policy_repo else ""
        self.policy_ref = (policy_ref or "").strip()
        self.root = _existing_dir(os.path.abspath(os.path.expanduser(str(root))), "root")
        self.baseline_dir = _existing_dir(os.path.join(self.root, os.path.expanduser(str(baseline_dir))), "baseline")
        self.candidate_dir = _existing_dir(os.path.join(self.root, os.path.expanduser(str(candidate_dir))), "candidate")
        self._dirs = {"samples": self.root, "baseline": self.baseline_dir, "candidate": self.candidate_dir}

    @classmethod
    def production(cls, *, since, now, files: str = "", **_options):
        """`signoff inspect --files DIR_OR_FILE`: the prediction files as the production population."""
        from .production import from_files

        return from_files(files, since=since, now=now)

    @staticmethod
    def policy_text(policy: str = "", repo: str = "", policy_ref: str = "", *, what: str = "") -> tuple[str, str]:
        """(text, where) of the policy for `what` (e.g. "an inspection"): `--policy FILE`, else
        `--repo DIR` at its default branch (or `policy_ref`); never the data's."""
        if policy:
            return read_policy_file(policy), policy
        if repo:
            text, _candidate, where = policy_from_repo(repo, policy_ref)
            return text, where
        raise no_policy_error(what)

    @classmethod
    def short_ref(cls, ref: str) -> str:
        """A file's or folder's name (a local review's refs) whole up to 24 characters; a commit's 7."""
        ref = (ref or "").strip()
        if len(ref) == 40 and all(c in "0123456789abcdef" for c in ref):
            return ref[:7]
        return ref if len(ref) <= 24 else ref[:23] + "…"

    # Two single files (plugins/files/pair.py), for File ▸ New review… without importing this plugin.
    @staticmethod
    def guess_columns(baseline: str, candidate: str, **kwargs):
        """The column roles of two prediction files, as `signoff review` guesses them (pair.Guess)."""
        from .pair import guess_columns

        return guess_columns(baseline, candidate, **kwargs)

    @staticmethod
    def preview_rows(path: str, n: int = 5) -> tuple[list[str], list[list[str]]]:
        """(column names, the first `n` rows as text) of a prediction file."""
        from .pair import _read

        head = (frame := _read(path)).head(n)
        rows = [["" if v is None else str(v) for v in row] for row in head.itertuples(index=False, name=None)]
        return [str(c) for c in frame.columns], rows

    @classmethod
    def pair(cls, baseline: str, candidate: str, *, columns: dict[str, str], output_type: str, samples: str = "",
             name: str = "", policy_file: str = "", config_text: str = "", policy_where: str = "") -> Source:
        """A review of two files: the policy from `policy_file` when given, else `config_text`."""
        from .pair import FilePairSource

        if policy_file:
            config_text, policy_where = read_policy_file(policy_file), os.path.realpath(os.path.expanduser(policy_file))
        return FilePairSource(baseline, candidate, samples_file=samples, columns=columns, output_type=output_type,
                              name=name, config_text=config_text, policy_where=policy_where)

    @classmethod
    def from_locator(cls, locator: dict) -> Source:
        """Rebuild from a stored locator; a two-files review (plugins/files/pair.py) has its own."""
        if "candidate_file" in locator:
            from .pair import FilePairSource

            return FilePairSource.from_locator(locator)
        return cls(**locator)

    def default_change_key(self, candidate_ref: str) -> str:
        """Each request its own change key: two folders are not two versions of one branch, so
        decisions and labels never carry over from another request by accident (`--change KEY`
        names a shared one)."""
        return f"files:{candidate_ref}:{uuid.uuid4().hex[:12]}"

    def locator(self) -> dict:
        loc = {"root": self.root, "baseline_dir": self.baseline_dir, "candidate_dir": self.candidate_dir}
        for key in ("policy", "policy_repo", "policy_ref"):
            if getattr(self, key):
                loc[key] = getattr(self, key)
        return loc

    def load(self, *, candidate: str = "", baseline: str | None = None, task: TaskState | None = None) -> LoadedInput:
        return self._loaded(candidate, baseline, task, lambda config, task: load_eval_sets(
            config, self.read_bytes, task=task, config_file=CONFIG_FILE))

    def input_files(self, *, candidate: str = "", baseline: str | None = None, task: TaskState | None = None,
                    hashed: bool = True) -> LoadedInput:
        """What `load` gives, each eval set as its three files (EvalSetFiles), not read (content
        hashes "" unless `hashed`)."""
        return self._loaded(candidate, baseline, task, lambda config, task: eval_set_files(
            config, self._file, hashed=hashed, task=task, config_file=CONFIG_FILE))

    def _loaded(self, candidate: str, baseline: str | None, task: TaskState | None, sets_of) -> LoadedInput:
        task = task or TaskState()
        task.report(f"reading {CONFIG_FILE}", 0.0)
        config, config_text = self._config()
        candidate_text = self._candidate_text()
        candidate_text = "" if candidate_text == config_text else candidate_text
        added = added_specs(config, candidate_text)
        load_config = replace(config, eval_sets=(*config.eval_sets, *added)) if added else config
        sets = sets_of(load_config, task)
        return LoadedInput(
            config=config, source=self.NAME, locator=self.locator(),
            # the commit named (--sha), else the folder's name: `status --sha` / `wait --sha` find it
            candidate_ref=candidate or os.path.basename(self.candidate_dir),
            baseline_ref=baseline or os.path.basename(self.baseline_dir),
            candidate_author="", eval_sets=sets,
            title=f"{os.path.basename(self.candidate_dir)} vs {os.path.basename(self.baseline_dir)}",
            config_text=config_text, candidate_config_text=candidate_text,
        )

    def read_config(self) -> ProjectConfig:
        return self._config()[0]

    def _config(self) -> tuple[ProjectConfig, str]:
        """The parsed policy and its text (stored with the request): never the candidate folder's."""
        if self.policy:
            text, where = read_policy_file(self.policy), self.policy
        elif self.policy_repo:
            text, _, where = policy_from_repo(self.policy_repo, self.policy_ref)
        else:
            raise no_policy_error(f"the files in {self.candidate_dir}")
        return parse_config(text, where=where), text

    def _candidate_text(self) -> str:
        path = os.path.join(self.candidate_dir, CONFIG_FILE)
        if not os.path.isfile(path):
            return ""
        try:
            with open(path, encoding="utf-8-sig") as f:
                return f.read()
        except UnicodeDecodeError:
            raise ConfigError(f"{path} is not UTF-8 text") from None

    def _file(self, side: str, path: str) -> str:
        """The file of `path` (relative) in the folder of `side`: samples, baseline or candidate."""
        folder = self._dirs[side]
        full = os.path.join(folder, clean_relpath(path))
        if not os.path.isfile(full):
            raise NotFoundError(f"{path} does not exist in {folder} ({side})")
        return full

    def read_bytes(self, side: str, path: str) -> bytes:
        """The bytes of `path` (relative) in the folder of `side`: samples, baseline or candidate."""
        full = self._file(side, path)
        try:
            return read_file(full)
        except OSError as exc:
            raise InputError(f"cannot read {full} ({side}): {exc.strerror}") from None


def _existing_dir(path: str, what: str) -> str:
    path = os.path.abspath(path)
    if not os.path.isdir(path):
        raise InputError(f"{what} folder {path} does not exist")
    return path
