"""Which engine compares a request's eval sets, and files as the out-of-core engine's inputs
(issue 16, item 2).

A source that can hand its eval sets over as local files offers
`input_files(candidate=, baseline=, task=, hashed=)`: what `load` gives, each eval set an
EvalSetFiles (its spec, its three files, its content hash unless hashed=False), nothing read
(plugins/files). The engine is chosen on the unhashed files; only the out-of-core path hashes
them (the memory path hashes what it reads). Engines:

  memory       the source loads the eval sets, signoff.core.compare compares them (any output type)
  out-of-core  DuckDB over the Parquet files (app/service/out_of_core.py), with a memory limit,
               spilling to disk; refused in one line when DuckDB is missing, the source has no
               files to give, a file is not Parquet or an output type is json/image
  auto         out of core when the inputs are Parquet files of text/label/number eval sets and
               their Arrow size (the Parquet footers' uncompressed sizes) times MEMORY_FACTOR is
               more than the memory available (MemAvailable), or than SIGNOFF_OUT_OF_CORE_ABOVE
               bytes when that is set (then DuckDB missing is refused in one line, not tried in
               memory); else memory

MEMORY_FACTOR: the in-memory request peaked at ~2.9x its inputs' Arrow size at 1M samples
(1,359 MiB for 451 MiB); since the inputs are freed as they are compared, ~2x (~900 MiB; 10M:
7.2 GiB; docs/performance.md). 3 keeps room for the window of `signoff review`, which holds the
comparison in the same process.

The files are taken as the spec describes them: MappedInputs maps the configured columns to the
canonical ones in SQL views, with the loaders' checks (id types, blank ids, ids in common) and
warnings (ids on one side only, scores counted as none), so the stored table and summary are
the in-memory engine's (tests/test_out_of_core.py, tests/test_request_engines.py).
"""

from __future__ import annotations

import os
from pathlib import Path

from signoff.core.errors import InputError
from signoff.core.model import EvalSetFiles, LoadedInput

ENGINES = ("auto", "memory", "out-of-core")
ENV_ABOVE = "SIGNOFF_OUT_OF_CORE_ABOVE"
MEMORY_FACTOR = 3
_INTEGERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")
EXAMPLES = 5                       # ids a warning lists, as the loaders' (plugins/common/evalset.py)


def load(source, engine: str, *, candidate: str, baseline: str | None, task) -> LoadedInput:
    """The source's eval sets for the engine chosen: EvalSetData (memory) or EvalSetFiles."""
    engine = "out-of-core" if engine == "duckdb" else (engine or "auto")
    if engine not in ENGINES:
        raise InputError(f"unknown comparison engine {engine!r}: use one of {', '.join(ENGINES)}")
    files_of = getattr(source, "input_files", None)
    if engine == "memory" or (engine == "auto" and files_of is None):
        return source.load(candidate=candidate, baseline=baseline, task=task)
    if files_of is None:
        raise InputError(f"--engine out-of-core: the {source.NAME} source does not hand its eval sets over as "
                         "files (the out-of-core engine compares Parquet files: --source files); use --engine memory")
    files = files_of(candidate=candidate, baseline=baseline, task=task, hashed=False)
    why_not = _not_out_of_core(files.eval_sets)
    if engine == "auto" and (why_not or not too_big(files.eval_sets)):
        return source.load(candidate=candidate, baseline=baseline, task=task)
    why_not = why_not or _no_duckdb()   # imported only when it is to run
    if why_not:
        raise InputError(f"{'--engine out-of-core' if engine == 'out-of-core' else 'the inputs do not fit in memory'}: "
                         f"{why_not}; use --engine memory")
    return files_of(candidate=candidate, baseline=baseline, task=task, hashed=True)


def _no_duckdb() -> str:
    try:
        import duckdb  # noqa: F401
    except ImportError:
        return "DuckDB is not installed (pip install duckdb)"
    return ""


def _not_out_of_core(sets: list[EvalSetFiles]) -> str:
    """Why these eval sets cannot be compared out of core ("" when they can; DuckDB aside)."""
    from .out_of_core import OUTPUT_TYPES

    for es in sets:
        if es.spec.output_type not in OUTPUT_TYPES:
            return (f"eval set {es.spec.name!r} has {es.spec.output_type} outputs, compared in memory only "
                    f"(the out-of-core engine takes {', '.join(OUTPUT_TYPES)})")
        for path in (es.samples, es.baseline, es.candidate):
            with open(path, "rb") as f:
                if f.read(4) != b"PAR1":
                    return f"{path} is not a Parquet file (the out-of-core engine reads Parquet only)"
    return ""


def arrow_bytes(sets: list[EvalSetFiles]) -> int:
    """About what the inputs take as Arrow: their Parquet footers' uncompressed sizes."""
    return parquet_arrow_bytes(list(dict.fromkeys(p for es in sets for p in (es.samples, es.baseline, es.candidate))))


def parquet_arrow_bytes(paths) -> int:
    import pyarrow.parquet as pq

    total = 0
    for path in paths:
        meta = pq.ParquetFile(path).metadata
        total += sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    return total


def available_memory() -> int:
    """MemAvailable (bytes) on Linux; else the physical memory; 0 when unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def too_big(sets: list[EvalSetFiles]) -> bool:
    """The documented rule (module docstring): the in-memory engine would not fit."""
    return needs_out_of_core(arrow_bytes(sets))


def needs_out_of_core(inputs_arrow_bytes: int) -> bool:
    needed = inputs_arrow_bytes * MEMORY_FACTOR
    above = os.environ.get(ENV_ABOVE)
    if above:
        return needed > int(above)
    room = available_memory()
    return bool(room) and needed > room


def compare(es: EvalSetFiles, warnings: list[str] | None = None, scratch: str | None = None
            ) -> tuple[str, dict, Path]:
    """(eval set name, summary, the comparison's Parquet file) of one eval set out of core; the
    file is written in `scratch` (Store.comparison_scratch: where the store renames it from) or
    the system's temp. A failed comparison leaves no file behind."""
    import tempfile

    from .out_of_core import compare_parquet

    fd, name = tempfile.mkstemp(suffix=".parquet.tmp", prefix="incoming-", dir=scratch)
    os.close(fd)
    out = Path(name)
    try:
        result = compare_parquet(es.spec, es.samples, es.baseline, es.candidate, warnings=warnings,
                                 mapped=MappedInputs(es.sample_columns), out=out)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    return es.spec.name, result.summary, result.path


def _q(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _examples(ids: list) -> str:
    return ", ".join(str(i) for i in ids[:EXAMPLES]) + (", ..." if len(ids) > EXAMPLES else "")


class MappedInputs:
    """The files as the spec describes them, as the canonical views the comparison SQL reads
    (samples: id, input, reference, slices; predictions: id, output, score, extra fields; each
    with `rn`), mapped and checked as plugins/common/evalset.py's loaders map and check them."""

    def __init__(self, sample_columns: tuple[str, ...] | None = None):
        self.sample_columns = sample_columns

    def views(self, con, spec, samples, baseline, candidate) -> list[str]:
        """Create the views; the loaders' warnings. InputError (one line) for what they refuse."""
        for view, path in (("samples", samples), ("baseline", baseline), ("candidate", candidate)):
            types = {r[0]: r[1] for r in
                     con.execute(f"DESCRIBE SELECT * FROM read_parquet({_lit(str(path))})").fetchall()}
            if view == "samples" and self.sample_columns is not None:
                types = {c: t for c, t in types.items() if c in self.sample_columns}
            select = (self._samples(spec, types, str(path)) if view == "samples"
                      else self._predictions(spec, types, str(path)))
            con.execute(f"CREATE VIEW {view} AS SELECT {select}, file_row_number AS rn "
                        f"FROM read_parquet({_lit(str(path))}, file_row_number = true)")
            self._check_ids(con, view, str(path))
        self._check_shared(con, spec, baseline, candidate)
        return self._id_warnings(con) + self._no_score_warnings(con, spec)

    @staticmethod
    def _require(types: dict, column: str, what: str, path: str) -> None:
        if column not in types:
            raise InputError(f"{path} has no {what} column {column!r} (its columns: {', '.join(types)}); "
                             f"set columns.{what} in signoff.toml if it is named differently")

    def _id(self, spec, types: dict, path: str) -> str:
        self._require(types, spec.id_column, "id", path)
        kind = types[spec.id_column].upper()
        if kind not in ("VARCHAR", *_INTEGERS):
            raise InputError(f"{path}: id column {spec.id_column!r} holds {kind}; the out-of-core engine takes text or "
                             "whole-number ids (use --engine memory)")
        return f"CAST({_q(spec.id_column)} AS VARCHAR) AS id"

    def _samples(self, spec, types: dict, path: str) -> str:
        from signoff.core.sample_columns import other_sample_columns

        cols = [self._id(spec, types, path)]
        self._require(types, spec.input_column, "input", path)
        cols.append(f"{_q(spec.input_column)} AS input")
        cols.append(f"{_q(spec.reference_column)} AS reference" if spec.reference_column in types
                    else "CAST(NULL AS VARCHAR) AS reference")
        cols += [f"{_q(col)} AS {_q(name)}" for col, name in other_sample_columns(spec, list(types), path).items()]
        return ", ".join(cols)

    def _predictions(self, spec, types: dict, path: str) -> str:
        cols = [self._id(spec, types, path)]
        self._require(types, spec.output_column, "output", path)
        cols.append(f"{_q(spec.output_column)} AS output")
        if spec.score_column in types:
            kind = types[spec.score_column].upper()
            if kind not in ("DOUBLE", "FLOAT", '"NULL"', "NULL", *_INTEGERS):
                raise InputError(f"{path}: score column {spec.score_column!r} holds {kind}; the out-of-core engine "
                                 "takes numeric scores (use --engine memory)")
            cols.append(f"CAST({_q(spec.score_column)} AS DOUBLE) AS score")
        mapped = {spec.id_column, spec.output_column, spec.score_column}
        for col in types:
            if col in mapped or col.endswith("_bytes"):
                continue
            cols.append(f"{_q(col)} AS {_q('extra_' + col if col in ('id', 'output', 'score') else col)}")
        return ", ".join(cols)

    @staticmethod
    def _check_ids(con, view: str, path: str) -> None:
        from .out_of_core import _WS

        bad = con.execute(f"SELECT rn FROM {view} WHERE id IS NULL OR regexp_matches(id, '^{_WS}*$') "
                          "ORDER BY rn LIMIT 1").fetchall()
        if bad:
            raise InputError(f"{path} row {bad[0][0] + 1}: the sample id is missing or blank; every row needs an id")

    @staticmethod
    def _check_shared(con, spec, baseline, candidate) -> None:
        """As the loaders: two models with no sample in common compare nothing."""
        shared = con.execute("SELECT 1 FROM baseline b WHERE EXISTS (SELECT 1 FROM candidate c WHERE c.id = b.id) "
                             "LIMIT 1").fetchall()
        if shared:
            return

        def some(view):
            ids = [r[0] for r in con.execute(f"SELECT id FROM {view} ORDER BY rn LIMIT {EXAMPLES + 1}").fetchall()]
            return _examples(ids) if ids else "none, it has no rows"
        raise InputError(f"eval set {spec.name!r}: the candidate's predictions {candidate} (candidate) and the "
                         f"baseline's {baseline} (baseline) have no sample id in common (candidate ids: "
                         f"{some('candidate')}; baseline ids: {some('baseline')}); check the id column and that "
                         "both files are the same eval set")

    @staticmethod
    def _id_warnings(con) -> list[str]:
        """plugins/common/evalset.py id_warnings: ids only one side has, sorted, a few named."""
        checks = [
            ("SELECT DISTINCT id FROM baseline x WHERE NOT EXISTS (SELECT 1 FROM candidate y WHERE y.id = x.id)",
             "sample ids are only in the baseline predictions"),
            ("SELECT DISTINCT id FROM candidate x WHERE NOT EXISTS (SELECT 1 FROM baseline y WHERE y.id = x.id)",
             "sample ids are only in the candidate predictions"),
            ("SELECT id FROM baseline x WHERE NOT EXISTS (SELECT 1 FROM samples y WHERE y.id = x.id) UNION "
             "SELECT id FROM candidate x WHERE NOT EXISTS (SELECT 1 FROM samples y WHERE y.id = x.id)",
             "prediction ids are not in the eval set's samples"),
            ("SELECT DISTINCT id FROM samples x WHERE NOT EXISTS (SELECT 1 FROM baseline y WHERE y.id = x.id) "
             "AND NOT EXISTS (SELECT 1 FROM candidate y WHERE y.id = x.id)",
             "samples have no prediction from either model"),
        ]
        out = []
        for sql, text in checks:
            n, first = con.execute(f"WITH x AS ({sql}) SELECT (SELECT count(*) FROM x), "
                                   f"(SELECT list(id) FROM (SELECT id FROM x ORDER BY id LIMIT {EXAMPLES + 1}))"
                                   ).fetchall()[0]
            if n:
                out.append(f"{n} {text}, e.g. {_examples(first)}")
        return out

    @staticmethod
    def _no_score_warnings(con, spec) -> list[str]:
        if spec.non_finite_scores != "as-missing":
            return []
        out = []
        for side in ("baseline", "candidate"):
            if "score" not in [r[0] for r in con.execute(f"DESCRIBE {side}").fetchall()]:
                continue
            where = f"FROM {side} WHERE score IS NOT NULL AND NOT isfinite(score)"
            n = con.execute(f"SELECT count(*) {where}").fetchall()[0][0]
            if n:
                ids = [r[0] for r in con.execute(f"SELECT id {where} ORDER BY rn LIMIT {EXAMPLES + 1}").fetchall()]
                out.append(f"{n} {side} score{'s are' if n > 1 else ' is'} NaN or infinite and "
                           f"count{'' if n > 1 else 's'} as no score (non_finite_scores = \"as-missing\"), "
                           f"e.g. {_examples(ids)}")
        return out
