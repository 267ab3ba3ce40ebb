"""Two prediction files, one eval set: what `signoff review BASELINE CANDIDATE` compares.

    guess = guess_columns(BASELINE, CANDIDATE, samples=None, given={"output": "pred"})
    source = FilePairSource(BASELINE, CANDIDATE, samples="", columns=guess.columns,
                            output_type=guess.output_type, config_text=POLICY_TEXT)

Columns are guessed by the same conventions as MLflow tables (plugins/common/conventions.py
CONVENTIONS): id, input, reference, output, score; `given` (--id, --input, ...) wins. The two
files must be the same format (.csv, .jsonl or .parquet) with the same column names for the
roles. The samples (id, input, reference, and a samples file's other columns as slices) are
taken from `samples` when given, else from the candidate file; either way they are handed to
the comparison as a table made here, JSONL (Parquet when they come from a Parquet file): its
bytes, and so the content hash, depend only on those columns. The policy is `config_text` (a
--policy file, or the implicit local policy of app/core/local_review.py), to which this eval
set is appended: a policy that lists eval sets of its own is refused (they name files of a
repository, not these two).
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field
from typing import ClassVar

from signoff.core.config import output_types, parse_config
from signoff.core.errors import ConfigError, InputError
from signoff.core.model import LoadedInput
from signoff.core.tasks import TaskState
from signoff.plugin_api import Source
from signoff.plugins.common.tables import read_table, table_format

ROLES = ("id", "input", "reference", "output", "score")
SAMPLES_NAME = "samples.jsonl"
SAMPLES_PARQUET = "samples.parquet"


@dataclass
class Guess:
    columns: dict[str, str]                 # role -> column (roles the files do not have are left out)
    guessed: dict[str, str] = field(default_factory=dict)   # what was guessed (not given)
    output_type: str = "text"
    type_guessed: bool = False

    def describe(self) -> str:
        parts = [f"{r}={self.columns[r]}" + ("" if r in self.guessed else " (given)") if r in self.columns
                 else f"{r}=(none)" for r in ROLES]
        kind = f"type={self.output_type}" + (" (guessed)" if self.type_guessed else " (given)")
        return "columns: " + ", ".join(parts) + f"; {kind}"


def _read(path: str) -> "pd.DataFrame":  # noqa: F821 - pandas only here
    if not os.path.isfile(path):
        raise InputError(f"{path}: no such file")
    table_format(path)   # .csv, .jsonl, .parquet: else one clear line
    with open(path, "rb") as f:
        return read_table(f.read(), os.path.basename(path), where=f"({path})")


class _Columns:
    """A file's column names and whether each holds numbers: from a Parquet file's schema alone
    (a file too big for memory is never read to guess), else from the file read."""

    def __init__(self, path: str):
        if path.lower().endswith(".parquet") and os.path.isfile(path):
            import pyarrow as pa
            import pyarrow.parquet as pq

            try:
                schema = pq.read_schema(path)
            except (pa.ArrowException, OSError):
                schema = None
            if schema is not None:
                self.columns = list(schema.names)
                self._numeric = {f.name for f in schema if pa.types.is_integer(f.type) or pa.types.is_floating(f.type)}
                return
        import pandas as pd

        frame = _read(path)
        self.columns = list(frame.columns)
        self._numeric = {c for c in frame.columns
                         if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])}

    def numeric(self, column: str) -> bool:
        return column in self._numeric


def _is_parquet(path: str) -> bool:
    return os.path.splitext(path)[1].lower() == ".parquet"


def guess_columns(baseline: str, candidate: str, *, samples: str = "", given: dict[str, str] | None = None,
                  output_type: str = "") -> Guess:
    """The column of each role, by the MLflow tables' conventions unless `given`; the output type
    (`number` when both files' outputs are numbers, else `text`) unless given."""
    from signoff.plugins.common.conventions import CONVENTIONS

    given = {k: v for k, v in (given or {}).items() if v}
    if output_type and output_type not in output_types(load=True):   # a renderer plugin's own types too
        raise InputError(f"--type must be one of {', '.join(output_types())}, got {output_type!r}")
    if os.path.splitext(baseline)[1].lower() != os.path.splitext(candidate)[1].lower():
        raise InputError(f"{baseline} and {candidate} are different formats: give two .csv, two .jsonl or two "
                         f".parquet files")
    frames = {"baseline": _Columns(baseline), "candidate": _Columns(candidate)}
    common = [c for c in frames["candidate"].columns if c in set(frames["baseline"].columns)]
    sample_cols = list(_Columns(samples).columns) if samples else common
    columns: dict[str, str] = {}
    guessed: dict[str, str] = {}
    taken: set[str] = set()
    for role in ("id", "output", "reference", "score", "input"):
        pool = common if role in ("id", "output", "score") else sample_cols
        if role in given:
            col = given[role]
            where = ([baseline, candidate] if role in ("id", "output", "score") else [samples or candidate])
            for path, cols in ((p, (sample_cols if p == samples else frames["baseline" if p == baseline else "candidate"].columns))
                               for p in where):
                if col not in cols:
                    raise InputError(f"{path} has no column {col!r} (--{role}); its columns: {', '.join(map(str, cols))}")
            columns[role] = col
        else:
            col = next((c for c in CONVENTIONS[role] if c in pool and c not in taken), None)
            if role == "score" and col is None:
                metric = [c for c in pool if str(c).endswith("/score")]
                col = metric[0] if len(metric) == 1 else None
            if col is not None:
                columns[role] = guessed[role] = col
        if role in columns:
            taken.add(columns[role])
    for role in ("id", "output"):
        if role not in columns:
            raise InputError(f"no {role} column in both {baseline} and {candidate} (looked for "
                             f"{', '.join(CONVENTIONS[role])}; columns in both: {', '.join(map(str, common)) or 'none'}); "
                             f"name it with --{role} COL")
    if "input" not in columns:
        raise InputError(f"no input column in {samples or candidate} (looked for {', '.join(CONVENTIONS['input'])}); "
                         f"name it with --input COL, or give the eval set's samples with --samples FILE")
    if samples and columns["id"] not in sample_cols:
        raise InputError(f"{samples} has no id column {columns['id']!r} (the predictions' id); its columns: "
                         f"{', '.join(map(str, sample_cols))}")
    kind, type_guessed = output_type, False
    if not kind:
        numeric = all(f.numeric(columns["output"]) for f in frames.values())
        kind, type_guessed = ("number" if numeric else "text"), True
    return Guess(columns=columns, guessed=guessed, output_type=kind, type_guessed=type_guessed)


def eval_set_toml(name: str, predictions: str, columns: dict[str, str], output_type: str,
                  samples: str = SAMPLES_NAME) -> str:
    mapping = ", ".join(f"{role} = {json.dumps(col)}" for role, col in columns.items())
    return (f"\n[[eval_sets]]\nname = {json.dumps(name)}\nsamples = {json.dumps(samples)}\n"
            f"predictions = {json.dumps(predictions)}\ntype = {json.dumps(output_type)}\ncolumns = {{ {mapping} }}\n")


class FilePairSource(Source):
    """One eval set from two prediction files (and optionally a samples file). Its NAME is the
    files source's: FilesSource.from_locator rebuilds it from its locator."""

    NAME: ClassVar[str] = "files"
    DESCRIPTION: ClassVar[str] = "two prediction files (CSV / JSONL / Parquet)"

    def __init__(self, baseline_file: str, candidate_file: str, *, config_text: str, columns: dict[str, str],
                 output_type: str = "text", samples_file: str = "", name: str = "", policy_where: str = ""):
        self.baseline_file = os.path.abspath(os.path.expanduser(baseline_file))
        self.candidate_file = os.path.abspath(os.path.expanduser(candidate_file))
        self.samples_file = os.path.abspath(os.path.expanduser(samples_file)) if samples_file else ""
        for path in (self.baseline_file, self.candidate_file, self.samples_file):
            if path and not os.path.isfile(path):
                raise InputError(f"{path}: no such file")
        self.columns = dict(columns)
        self.output_type = output_type
        self.name = name or os.path.splitext(os.path.basename(self.candidate_file))[0]
        self.policy_where = policy_where or "the review's policy"
        try:
            listed = tomllib.loads(config_text).get("eval_sets") or []
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{self.policy_where}: not valid TOML: {exc}") from None
        if listed:
            names = ", ".join(str(e.get("name", "?")) if isinstance(e, dict) else "?" for e in listed)
            raise InputError(f"{self.policy_where} lists eval sets of its own ({names}): "
                             f"`signoff review` compares the two files it is given; use a policy without [[eval_sets]], "
                             f"or `signoff request --source files` for a repository's eval sets")
        self.policy_text = config_text
        self.predictions = os.path.basename(self.candidate_file)
        # Samples from a Parquet file are handed over as Parquet (their columns selected by Arrow);
        # as JSONL through pandas they took ~15 µs a row, 1.5 s at 100k samples.
        self.samples_name = (SAMPLES_PARQUET if _is_parquet(self.samples_file or self.candidate_file)
                             else SAMPLES_NAME)
        self.config_text = config_text.rstrip("\n") + "\n" + eval_set_toml(self.name, self.predictions, self.columns,
                                                                           output_type, self.samples_name)
        parse_config(self.config_text, where=self.policy_where)   # the whole policy, checked strictly now

    def locator(self) -> dict:
        loc = {"baseline_file": self.baseline_file, "candidate_file": self.candidate_file, "columns": self.columns,
               "output_type": self.output_type, "name": self.name, "config_text": self.policy_text,
               "policy_where": self.policy_where}
        if self.samples_file:
            loc["samples_file"] = self.samples_file
        return loc

    @classmethod
    def from_locator(cls, locator: dict) -> "FilePairSource":
        loc = dict(locator)
        return cls(loc.pop("baseline_file"), loc.pop("candidate_file"), **loc)

    def load(self, *, candidate: str = "", baseline: str | None = None, task: TaskState | None = None) -> LoadedInput:
        from signoff.plugins.common import load_eval_sets

        task = task or TaskState()
        config = parse_config(self.config_text, where=self.policy_where)
        sets = load_eval_sets(config, self.read_bytes, task=task, config_file="the review")
        return self._loaded(config, sets, candidate, baseline)

    def _loaded(self, config, sets: list, candidate: str, baseline: str | None) -> LoadedInput:
        cand, base = os.path.basename(self.candidate_file), os.path.basename(self.baseline_file)
        return LoadedInput(config=config, source=self.NAME, locator=self.locator(),
                           candidate_ref=candidate or cand, baseline_ref=baseline or base, candidate_author="",
                           eval_sets=sets, title=f"{cand} vs {base}", config_text=self.config_text,
                           candidate_config_text="")

    def input_files(self, *, candidate: str = "", baseline: str | None = None, task: TaskState | None = None,
                    hashed: bool = True) -> LoadedInput:
        """What `load` gives, the eval set as its files, not read (the out-of-core engine's inputs:
        app/service/file_inputs.py). The samples are the samples file's columns, or the candidate
        file's id, input and reference; their content hash is of that file's bytes (`load` hashes
        the JSONL it makes of them: the two engines' requests differ in that hash alone); ""
        unless `hashed`."""
        from signoff.core.hashing import combine_hashes
        from signoff.core.model import EvalSetFiles
        from signoff.plugins.common.evalset import file_sha256

        config = parse_config(self.config_text, where=self.policy_where)
        spec = config.eval_sets[0]
        samples = self.samples_file or self.candidate_file
        keep = None if self.samples_file else tuple(self.columns[r] for r in ("id", "input", "reference")
                                                    if r in self.columns)
        content = combine_hashes([f"samples:{file_sha256(samples)}", f"baseline:{file_sha256(self.baseline_file)}",
                                  f"candidate:{file_sha256(self.candidate_file)}"]) if hashed else ""
        sets = [EvalSetFiles(spec, samples, self.baseline_file, self.candidate_file, content, keep)]
        return self._loaded(config, sets, candidate, baseline)

    def read_bytes(self, side: str, path: str) -> bytes:
        if side == "samples" and path == self.samples_name:
            return self._samples_bytes()
        if side in ("baseline", "candidate") and path == self.predictions:
            return _bytes(self.baseline_file if side == "baseline" else self.candidate_file)
        # image files named in the tables: beside the file of that side
        folder = os.path.dirname({"samples": self.samples_file or self.candidate_file, "baseline": self.baseline_file,
                                  "candidate": self.candidate_file}[side])
        from signoff.plugins.common import clean_relpath

        return _bytes(os.path.join(folder, clean_relpath(path)))

    def _samples_bytes(self) -> bytes:
        """The samples as JSONL: id, input, reference (the mapped names) and, from a samples
        file, its other columns (slices)."""
        path = self.samples_file or self.candidate_file
        if self.samples_name == SAMPLES_PARQUET:
            if self.samples_file:   # every column kept (the others are slices): the file as it is
                return _bytes(path)
            return _parquet_samples(path, self.columns)
        frame = _read(path)
        keep = [self.columns[r] for r in ("id", "input", "reference") if r in self.columns and self.columns[r] in frame]
        if self.samples_file:
            keep += [c for c in frame.columns if c not in keep]
        return frame[keep].to_json(orient="records", lines=True, force_ascii=False).encode("utf-8")


def _parquet_samples(path: str, columns: dict[str, str]) -> bytes:
    """The samples of a candidate Parquet file as Parquet bytes: id, input, reference (the mapped
    names), as _samples_bytes keeps them (its outputs and scores are no slices)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
        keep = [columns[r] for r in ("id", "input", "reference") if r in columns and columns[r] in names]
        table = pq.read_table(path, columns=keep)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"{path}: not a readable Parquet file: {str(exc).splitlines()[0]}") from None
    sink = pa.BufferOutputStream()
    pq.write_table(table.replace_schema_metadata(None), sink, compression="none")
    return sink.getvalue().to_pybytes()


def _bytes(path: str) -> bytes:
    from signoff.plugins.common.local_files import read_file

    try:
        return read_file(path)
    except FileNotFoundError:
        from signoff.core.errors import NotFoundError

        raise NotFoundError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
