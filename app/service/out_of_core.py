"""The comparison out of core (issue 16, item 2): the same per-sample table and summary as
signoff.core.compare.compare, computed by DuckDB over Parquet inputs with a memory limit,
spilling to disk, for eval sets larger than memory. docs/architecture.md "Comparisons larger
than memory" shows COMPARISON_SQL (the whole comparison in one statement) so a team can run it
on its own warehouse engine for still larger sets.

Inputs: three Parquet files in the canonical shape the loaders produce (plugins/common/evalset.py):
  samples    id, input, reference (either may be absent), slice columns
  baseline   id, output, score (NULL: none given; NaN/±inf: not finite), extra prediction fields
  candidate  the same
Output types text, label and number; json and image outputs compare in memory only (their
normalisation is Python's). The table carries no `sample_hash` column: as compare()'s, it is
marked (signoff.core.stored_table.HASH_KEY) for the hashes to be computed from its columns for
the samples a label needs (signoff.core.compare.row_hashes).

Choosing (choose_engine): "memory", "duckdb", or "auto": DuckDB when the in-memory engine would
not fit, by app/service/file_inputs.py's rule (`signoff request --engine` uses the same).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from signoff.core.compare import BASE_COLUMNS, PREDICTION_PREFIXES
from signoff.core.stored_table import HASH_KEY, ON_DEMAND, same_as_baseline
from signoff.core.config import EvalSetSpec
from signoff.core.errors import InputError
from signoff.core.model import SEVERITY, ChangeClass
from signoff.store.comparison_files import ARROW_BYTES_KEY, MAX_ROWS, MIN_ROWS, ROW_GROUP_BYTES, dictionary_columns
from signoff.store.frames import META_KEY

ENGINES = ("auto", "memory", "duckdb")
OUTPUT_TYPES = ("text", "label", "number")
MEMORY_LIMIT = "3GB"          # DuckDB's own limit; it spills beyond it (100M short samples: 3.5 GiB peak; 2 GB ran out)
STREAM_ROWS = 262_144          # rows per batch hashed and written

# What str.strip() strips (Python's whitespace), as an RE2 class: a label is compared stripped.
_WS = r"[\t\n\x{0b}\x{0c}\r\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
KEY_SQL = {
    # text: the value as text; label: stripped; number: the number where it parses, else the text
    "text": "CAST({x} AS VARCHAR)",
    "label": "regexp_replace(CAST({x} AS VARCHAR), '^" + _WS + "+|" + _WS + "+$', '', 'g')",
    "number": "CASE WHEN TRY_CAST({x} AS DOUBLE) IS NOT NULL THEN 'n:' || CAST(TRY_CAST({x} AS DOUBLE) AS VARCHAR) "
              "ELSE 't:' || CAST({x} AS VARCHAR) END",
}

# The comparison in one statement (s, b, c NOT MATERIALIZED: read again from the Parquet where used,
# never held in memory whole). Inputs: views samples, baseline, candidate, each with `rn`,
# the row's place in its file. {placeholders}: the output type's key (KEY_SQL), the sign of a
# better score (1 or -1), the slice and extra columns. Row order of the result: worst first
# (severity, then the biggest drop in score), then the eval set's own order (samples, then ids
# only the baseline has, then ids only the candidate has).
COMPARISON_SQL = """
WITH s AS NOT MATERIALIZED (SELECT CAST(id AS VARCHAR) AS id, * EXCLUDE (id) FROM samples),
b AS NOT MATERIALIZED (SELECT CAST(id AS VARCHAR) AS id, * EXCLUDE (id) FROM baseline),
c AS NOT MATERIALIZED (SELECT CAST(id AS VARCHAR) AS id, * EXCLUDE (id) FROM candidate),
ids AS (
    SELECT id, 0 AS src, rn FROM s
    UNION ALL SELECT id, 1, rn FROM b WHERE NOT EXISTS (SELECT 1 FROM s WHERE s.id = b.id)
    UNION ALL SELECT id, 2, rn FROM c WHERE NOT EXISTS (SELECT 1 FROM s WHERE s.id = c.id)
                                        AND NOT EXISTS (SELECT 1 FROM b WHERE b.id = c.id)
),
joined AS (
    SELECT ids.id, ids.src, ids.rn,
           s.id IS NOT NULL AS in_s, b.id IS NOT NULL AS in_b, c.id IS NOT NULL AS in_c,
           {input} AS input, {reference} AS reference,
           CAST(b.output AS VARCHAR) AS baseline_output, CAST(c.output AS VARCHAR) AS candidate_output,
           CAST({b_score} AS DOUBLE) AS b_given, CAST({c_score} AS DOUBLE) AS c_given{slices}{extras}
    FROM ids LEFT JOIN s ON s.id = ids.id LEFT JOIN b ON b.id = ids.id LEFT JOIN c ON c.id = ids.id
),
keyed AS (
    SELECT *, {bkey} AS bkey, {ckey} AS ckey, {rkey} AS rkey FROM joined
),
scored AS (
    SELECT *,
        CASE WHEN b_given IS NULL
             THEN CASE WHEN reference IS NOT NULL AND in_b THEN CASE WHEN bkey = rkey THEN 1.0 ELSE 0.0 END END
             WHEN isfinite(b_given) THEN b_given END AS baseline_score,
        CASE WHEN c_given IS NULL
             THEN CASE WHEN reference IS NOT NULL AND in_c THEN CASE WHEN ckey = rkey THEN 1.0 ELSE 0.0 END END
             WHEN isfinite(c_given) THEN c_given END AS candidate_score
    FROM keyed
),
classed AS (
    SELECT *, candidate_score - baseline_score AS delta,
        CASE WHEN NOT (in_s AND in_b AND in_c) THEN 'missing'
             WHEN bkey IS NOT DISTINCT FROM ckey THEN 'unchanged'
             WHEN {sign} * (candidate_score - baseline_score) > 0 THEN 'improved'
             WHEN {sign} * (candidate_score - baseline_score) < 0 THEN 'regressed'
             ELSE 'changed' END AS class
    FROM scored
)
SELECT id, class,
    CAST(CASE class {severity} ELSE 9 END AS TINYINT) AS severity,
    CASE WHEN NOT in_s THEN 'eval set' WHEN NOT in_b AND NOT in_c THEN 'both'
         WHEN NOT in_b THEN 'baseline' WHEN NOT in_c THEN 'candidate' ELSE '' END AS missing_side,
    input, reference, baseline_output, candidate_output,
    COALESCE(baseline_score, 'NaN'::DOUBLE) AS baseline_score,
    COALESCE(candidate_score, 'NaN'::DOUBLE) AS candidate_score,
    COALESCE(delta, 'NaN'::DOUBLE) AS delta{slice_names}{extra_names}
FROM classed
ORDER BY severity, COALESCE({sign} * delta, 0.0), src, rn
"""


@dataclass
class OutOfCoreResult:
    path: Path           # the per-sample table as Parquet (row groups for paging; hashes on demand)
    summary: dict        # as signoff.core.compare.summarise gives it
    rows: int
    slice_columns: list[str]


def compare_files(spec: EvalSetSpec, samples: str | Path, baseline: str | Path, candidate: str | Path, *,
                  engine: str = "auto", warnings: list[str] | None = None, out: str | Path | None = None):
    """Compare canonical Parquet inputs with the engine chosen (choose_engine): (engine used,
    summary, the table: a DataFrame from compare(), or the Path of the out-of-core engine's
    file). Either goes to Store.add_request as the comparison's table."""
    used = choose_engine([samples, baseline, candidate], engine)
    if used == "duckdb":
        result = compare_parquet(spec, samples, baseline, candidate, out=out, warnings=warnings)
        return used, result.summary, result.path
    from signoff.core.compare import compare
    from signoff.core.model import EvalSetData

    frames, no_score = [], {}
    for side, path in (("samples", samples), ("baseline", baseline), ("candidate", candidate)):
        table = pq.read_table(path)
        if side != "samples" and "score" in table.column_names:
            score = pc.cast(table.column("score"), pa.float64())
            bad = pc.and_(pc.is_valid(score), pc.invert(pc.is_finite(score)))
            if pc.any(bad).as_py():
                first = pc.index(bad, True).as_py()
                what = f"{side} predictions"
                if spec.non_finite_scores != "as-missing":
                    raise InputError(f"{what} (id {table.column('id')[first]}): 'score' is {score[first].as_py()!r}, "
                                     "not a finite number; fix the score, or set non_finite_scores = \"as-missing\" "
                                     f"on eval set {spec.name!r} in signoff.toml to count such scores as no score")
                no_score[side] = [str(v) for v in pc.filter(table.column("id"), bad).to_pylist()]
        frames.append(table.to_pandas())
    frames = [f.assign(id=f["id"].astype(str)) for f in frames]
    data = EvalSetData(spec=spec, samples=frames[0], baseline=frames[1], candidate=frames[2], content_hash="",
                       warnings=list(warnings or []), no_score=no_score)
    result = compare(data)
    return used, result.summary, result.table


def choose_engine(paths, engine: str = "auto") -> str:
    """"memory" or "duckdb" for the Parquet inputs at `paths`: as asked, or by their Arrow size."""
    if engine not in ENGINES:
        raise InputError(f"unknown comparison engine {engine!r}: use one of {', '.join(ENGINES)}")
    if engine != "auto":
        return engine
    from .file_inputs import needs_out_of_core, parquet_arrow_bytes

    return "duckdb" if needs_out_of_core(parquet_arrow_bytes(paths)) else "memory"


def _quote(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _columns(con, view: str) -> list[str]:
    return [row[0] for row in con.execute(f"DESCRIBE {view}").fetchall()]


def comparison_sql(spec: EvalSetSpec, sample_cols: list[str], baseline_cols: list[str],
                   candidate_cols: list[str]) -> tuple[str, list[str], list[str]]:
    """(the statement for these inputs, slice columns, extra prediction columns)."""
    if spec.output_type not in OUTPUT_TYPES:
        raise InputError(f"eval set {spec.name!r}: the out-of-core comparison handles output types "
                         f"{', '.join(OUTPUT_TYPES)}; {spec.output_type!r} outputs are compared in memory")
    skip = {"id", "input", "reference", "input_bytes", "reference_bytes", "rn"}
    slices = ([c for c in spec.slices if c in sample_cols] if spec.slices
              else [c for c in sample_cols if c not in skip])
    slices = [c for c in slices if c not in BASE_COLUMNS and not str(c).startswith(PREDICTION_PREFIXES)]
    extras = []
    for side, cols in (("b", baseline_cols), ("c", candidate_cols)):
        prefix = "baseline_" if side == "b" else "candidate_"
        extras += [(side, c, prefix + c) for c in cols if c not in ("id", "output", "score", "output_bytes", "rn")]
    key = KEY_SQL[spec.output_type]
    severity = " ".join(f"WHEN {_literal(c.value)} THEN {n}" for c, n in SEVERITY.items())
    sql = COMPARISON_SQL.format(
        input="s.input" if "input" in sample_cols else "CAST(NULL AS VARCHAR)",
        reference="s.reference" if "reference" in sample_cols else "CAST(NULL AS VARCHAR)",
        b_score="b.score" if "score" in baseline_cols else "NULL",
        c_score="c.score" if "score" in candidate_cols else "NULL",
        slices="".join(f", s.{_quote(c)} AS {_quote(c)}" for c in slices),
        extras="".join(f", {side}.{_quote(c)} AS {_quote(out)}" for side, c, out in extras),
        bkey=key.replace("{x}", "baseline_output"), ckey=key.replace("{x}", "candidate_output"),
        rkey=key.replace("{x}", "reference"),
        sign="1.0" if spec.higher_is_better else "-1.0", severity=severity,
        slice_names="".join(f", {_quote(c)}" for c in slices),
        extra_names="".join(f", {_quote(out)}" for _, _, out in extras))
    return sql, slices, [out for _, _, out in extras]


def _check(con, spec: EvalSetSpec, view: str, what: str, score: bool) -> None:
    dup = [r[0] for r in con.execute(f"SELECT CAST(id AS VARCHAR) FROM {view} GROUP BY 1 HAVING count(*) > 1 "
                                     "ORDER BY min(rn) LIMIT 5").fetchall()]
    if dup:
        raise InputError(f"{spec.name}: duplicate sample ids in the {what}: {', '.join(map(str, dup))}")
    if score and spec.non_finite_scores != "as-missing":
        bad = con.execute(f"SELECT CAST(id AS VARCHAR), score FROM {view} WHERE score IS NOT NULL AND "
                          "NOT isfinite(CAST(score AS DOUBLE)) ORDER BY rn LIMIT 1").fetchall()
        if bad:
            raise InputError(f"{what} (id {bad[0][0]}): 'score' is {bad[0][1]!r}, not a finite number; fix the score, "
                             f"or set non_finite_scores = \"as-missing\" on eval set {spec.name!r} in signoff.toml "
                             "to count such scores as no score")


def _target_schema(schema: pa.Schema) -> pa.Schema:
    """The types the in-memory comparison stores (app/store/frames.py): class a dictionary of
    int8, text as large_string."""
    fields = []
    for f in schema:
        if f.name == "class":
            fields.append(pa.field("class", pa.dictionary(pa.int8(), pa.large_string())))
        elif pa.types.is_string(f.type) or pa.types.is_large_string(f.type) or pa.types.is_string_view(f.type):
            fields.append(pa.field(f.name, pa.large_string()))
        else:
            fields.append(f)
    return pa.schema(fields)


CLASS_DICTIONARY = pa.array([c.value for c in ChangeClass], pa.large_string())


def _finish(batch: pa.RecordBatch, schema: pa.Schema) -> pa.Table:
    cols = []
    for f in schema:
        col = batch.column(f.name)
        if f.name == "class":
            col = pa.DictionaryArray.from_arrays(pc.cast(pc.index_in(col, value_set=CLASS_DICTIONARY), pa.int8()),
                                                 CLASS_DICTIONARY)
        elif col.type != f.type:
            col = col.cast(f.type)
        cols.append(col)
    return pa.Table.from_arrays(cols, schema=schema)


def compare_parquet(spec: EvalSetSpec, samples: str | Path, baseline: str | Path, candidate: str | Path, *,
                    out: str | Path | None = None, warnings: list[str] | None = None,
                    memory_limit: str = MEMORY_LIMIT, temp_dir: str | Path | None = None,
                    threads: int | None = None, mapped=None) -> OutOfCoreResult:
    """Compare out of core: the per-sample table written to `out` (a temporary file when None)
    as Parquet with row groups for paging, and its summary. InputError for what compare()
    refuses too (duplicate ids, a non-finite score under non_finite_scores = "error").

    `mapped`: None for inputs in the canonical shape; else the files as the spec describes
    them (app/service/file_inputs.py: `mapped.views(con, ...)` maps their columns and checks
    them as the loaders do, returning the loaders' warnings)."""
    import duckdb

    out = Path(out) if out is not None else Path(tempfile.mkstemp(suffix=".parquet")[1])
    spill = tempfile.TemporaryDirectory(prefix="signoff-duckdb-", dir=temp_dir)   # DuckDB's spill, removed after
    con = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": spill.name,
                                 "preserve_insertion_order": False, **({"threads": threads} if threads else {})})
    try:
        if mapped is None:
            for view, path in (("samples", samples), ("baseline", baseline), ("candidate", candidate)):
                con.execute(f"CREATE VIEW {view} AS SELECT * EXCLUDE (file_row_number), file_row_number AS rn "
                            f"FROM read_parquet({_literal(str(path))}, file_row_number = true)")
        else:
            warnings = [*(warnings or []), *mapped.views(con, spec, samples, baseline, candidate)]
        cols = {v: _columns(con, v) for v in ("samples", "baseline", "candidate")}
        _check(con, spec, "samples", "samples", False)
        _check(con, spec, "baseline", "baseline predictions", "score" in cols["baseline"])
        _check(con, spec, "candidate", "candidate predictions", "score" in cols["candidate"])
        sql, slices, _extras = comparison_sql(spec, cols["samples"], cols["baseline"], cols["candidate"])
        no_score = {}
        if spec.non_finite_scores == "as-missing":
            for side in ("baseline", "candidate"):
                if "score" in cols[side]:
                    n = con.execute(f"SELECT count(*) FROM {side} WHERE score IS NOT NULL AND "
                                    "NOT isfinite(CAST(score AS DOUBLE))").fetchall()[0][0]
                    no_score[side] = int(n)
        reader = con.sql(sql).to_arrow_reader(STREAM_ROWS)
        gathered = _Summary(slices)
        rows = _write(reader, out, gathered)
        summary = gathered.result(spec.name, warnings)
        if spec.non_finite_scores == "as-missing":
            summary["non_finite_scores"] = {side: no_score.get(side, 0) for side in ("baseline", "candidate")}
        return OutOfCoreResult(out, summary, rows, slices)
    finally:
        con.close()
        spill.cleanup()


def _write(reader: pa.RecordBatchReader, out: Path, summary: _Summary) -> int:
    schema = _target_schema(reader.schema)
    meta = {META_KEY: b"{}", HASH_KEY: ON_DEMAND}   # no object columns to decode; sample hashes on demand
    writer = None
    rows = nbytes = 0
    group_rows = None
    try:
        for batch in reader:
            table = _finish(batch, schema)
            summary.add(table)
            # The candidate's output null where it is the baseline's, as the in-memory engine stores it
            # (signoff.core.stored_table: every reader restores it); at 100M short outputs, ~1/3 off the file.
            stored = same_as_baseline(table)
            if writer is None:
                writer = pq.ParquetWriter(str(out), stored.schema.with_metadata(meta), compression="zstd",
                                          use_dictionary=dictionary_columns(stored.schema))
                per_row = stored.nbytes / max(stored.num_rows, 1)
                group_rows = int(min(MAX_ROWS, max(MIN_ROWS, ROW_GROUP_BYTES // max(per_row, 1))))
            writer.write_table(stored.replace_schema_metadata(meta), row_group_size=group_rows)
            rows += table.num_rows
            nbytes += stored.nbytes
        if writer is None:   # no rows at all
            empty = same_as_baseline(schema.empty_table()).replace_schema_metadata(meta)
            writer = pq.ParquetWriter(str(out), empty.schema, compression="zstd")
            writer.write_table(empty)
        writer.add_key_value_metadata({ARROW_BYTES_KEY.decode(): str(nbytes)})
    finally:
        if writer is not None:
            writer.close()
    return rows


class _Summary:
    """signoff.core.compare.summarise's dict, gathered batch by batch while the table streams to
    its file (one pass, nothing held but the sums). Means are sums over counts of the scores
    known, as pandas' mean, outside the missing class."""

    def __init__(self, slices: list[str]):
        self.slices = slices
        self.groups: dict[tuple[str, str], list] = {}   # (slice column or "", value) -> [counts per class, sums]

    def add(self, table: pa.Table) -> None:
        known = pc.not_equal(table.column("class").cast(pa.large_string()), "missing")
        cols = {"cls": table.column("class").cast(pa.large_string())}
        for side in ("baseline", "candidate"):
            score = table.column(f"{side}_score")
            cols[side] = pc.if_else(pc.and_(known, pc.invert(pc.is_nan(score))), score, None)
        for col in ["", *self.slices]:
            key = (pa.repeat("", table.num_rows) if not col
                   else pc.fill_null(table.column(col).cast(pa.large_string()), "(none)"))
            part = pa.table({"k": key, **cols})
            agg = part.group_by(["k", "cls"]).aggregate([("cls", "count"), ("baseline", "sum"), ("baseline", "count"),
                                                         ("candidate", "sum"), ("candidate", "count")])
            for k, cls, n, bsum, bn, csum, cn in zip(*(agg.column(c).to_pylist() for c in (
                    "k", "cls", "cls_count", "baseline_sum", "baseline_count", "candidate_sum", "candidate_count"))):
                g = self.groups.setdefault((col, k), [{c.value: 0 for c in ChangeClass}, 0.0, 0, 0.0, 0])
                g[0][cls] += n
                g[1] += bsum or 0.0
                g[2] += bn
                g[3] += csum or 0.0
                g[4] += cn

    @staticmethod
    def _entry(g) -> dict:
        classes, bsum, bn, csum, cn = g
        b = bsum / bn if bn else None
        c = csum / cn if cn else None
        return {"samples": sum(classes.values()), "classes": classes,
                "metrics": {"baseline_mean_score": b, "candidate_mean_score": c,
                            "mean_score_delta": None if b is None or c is None else c - b}}

    def result(self, name: str, warnings: list[str] | None) -> dict:
        whole = self._entry(self.groups.get(("", ""), [{c.value: 0 for c in ChangeClass}, 0.0, 0, 0.0, 0]))
        summary = {"eval_set": name, "samples": whole["samples"], "classes": whole["classes"],
                   "metrics": whole["metrics"], "slices": {}, "warnings": list(warnings or [])}
        for col in self.slices:
            keys = sorted(k for c, k in self.groups if c == col)
            summary["slices"][col] = {k: self._entry(self.groups[(col, k)]) for k in keys}
        return summary
