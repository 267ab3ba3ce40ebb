"""`signoff request --engine`: the out-of-core engine reached from the command line (issue 16,
item 2). Through `signoff request` on the demo's text and label sets as Parquet files, either
engine stores what `signoff samples --json` and `show --json` print the same; the out-of-core
path refuses in one line what it cannot compare; auto picks it by the documented rule."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.json as pj
import pyarrow.parquet as pq
import pytest

from signoff.cli.main import main
from signoff.plugins.demo import SIGNOFF_TOML
from signoff.service import file_inputs

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo" / "data"
SETS = ("digits", "support-replies")   # label and text: what the out-of-core engine compares
SHA = "c0ffee" * 6 + "abcd"


def _policy() -> str:
    """The demo's policy with its text and label sets read from Parquet files."""
    head, rest = SIGNOFF_TOML.split('[[eval_sets]]\nname = "invoice-extraction"', 1)
    return head.replace(".jsonl", ".parquet") + "[policy]" + rest.split("[policy]", 1)[1]


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    root = tmp_path / "ws"
    for name in SETS:
        for part, folder in (("samples", "evals"), ("baseline", "base/predictions"), ("candidate", "cand/predictions")):
            (root / folder).mkdir(parents=True, exist_ok=True)
            table = pj.read_json(DEMO / name / f"{part}.jsonl")
            pq.write_table(table, root / folder / f"{name}.parquet")
    (root / "signoff.toml").write_text(_policy())
    monkeypatch.setenv("SIGNOFF_USER", "ci@example.com")
    return root


def run(capsys, *args) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def request(capsys, root: Path, home: Path, monkeypatch, *extra) -> tuple[int, str, str]:
    monkeypatch.setenv("SIGNOFF_HOME", str(home))
    return run(capsys, "request", "--sha", SHA, "--source", "files", "--samples", str(root), "--baseline-dir", "base",
               "--candidate-dir", "cand", "--policy", str(root / "signoff.toml"), "--change", "one", *extra)


def printed(capsys, monkeypatch, home: Path, request_id: str) -> tuple[list, dict]:
    monkeypatch.setenv("SIGNOFF_HOME", str(home))
    code, samples, err = run(capsys, "samples", request_id, "--json")
    assert code == 0, err
    code, show, err = run(capsys, "show", request_id, "--json")
    assert code == 0, err
    rows = [json.loads(line) for line in samples.splitlines() if line.strip()]
    summary = json.loads(show)
    for key in ("created_at", "updated_at"):   # the request's own times, not the comparison's
        summary["request"].pop(key, None)
    return rows, summary


def _rounded(value):
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _twist(root: Path) -> None:
    """support-replies with its own column names (mapped in signoff.toml), an extra field, ids on one
    side only and a NaN score counted as none: every loader path the engines must agree on."""
    for part, folder in (("samples", "evals"), ("baseline", "base/predictions"), ("candidate", "cand/predictions")):
        path = root / folder / "support-replies.parquet"
        table = pq.read_table(path)
        names = {"id": "uid", "output": "text"}
        table = table.rename_columns([names.get(c, c) for c in table.column_names])
        if part == "baseline":
            table = table.slice(3)
            table = table.set_column(table.column_names.index("score"), "score",
                                     pa.array([float("nan")] + table.column("score").to_pylist()[1:], pa.float64()))
        if part == "candidate":
            extra = pa.table({c: [table.column(c)[0].as_py()] for c in table.column_names})
            extra = extra.set_column(0, "uid", pa.array(["only-in-candidate"]))
            table = pa.concat_tables([table, extra.cast(table.schema)])
            table = table.append_column("latency_ms", pa.array(range(table.num_rows), pa.int64()))
        pq.write_table(table, path)
    policy = (root / "signoff.toml").read_text().replace(
        'predictions = "predictions/support-replies.parquet"\n',
        'predictions = "predictions/support-replies.parquet"\ncolumns = { id = "uid", output = "text" }\n'
        'non_finite_scores = "as-missing"\n')
    (root / "signoff.toml").write_text(policy)


@pytest.mark.parametrize("twisted", [False, True], ids=["demo", "mapped-columns-and-one-sided-ids"])
def test_either_engine_prints_the_same_through_signoff_request(workspace, tmp_path, capsys, monkeypatch, twisted):
    if twisted:
        _twist(workspace)
    found = {}
    for engine in ("memory", "out-of-core"):
        home = tmp_path / f"home-{engine}"
        code, out, err = request(capsys, workspace, home, monkeypatch, "--engine", engine)
        assert code == 0, err
        found[engine] = printed(capsys, monkeypatch, home, out.strip().splitlines()[-1])
    memory, ooc = found["memory"], found["out-of-core"]
    assert len(memory[0]) > 100
    assert _rounded(ooc[0]) == _rounded(memory[0])
    assert _rounded(ooc[1]) == _rounded(memory[1])
    if twisted:
        warnings = [w for es in memory[1]["eval_sets"] for w in es.get("warnings", [])]
        assert any("only in the candidate" in w for w in warnings) and any("NaN or infinite" in w for w in warnings)


def test_auto_goes_out_of_core_when_the_inputs_would_not_fit(workspace, tmp_path, capsys, monkeypatch):
    used = []
    real = file_inputs.compare
    monkeypatch.setattr(file_inputs, "compare", lambda es, *a, **k: used.append(es.spec.name) or real(es, *a, **k))
    monkeypatch.setenv(file_inputs.ENV_ABOVE, str(10**12))   # fits: memory
    code, _out, err = request(capsys, workspace, tmp_path / "h1", monkeypatch)
    assert code == 0, err
    assert used == []
    monkeypatch.setenv(file_inputs.ENV_ABOVE, "1000")        # does not: out of core
    code, _out, err = request(capsys, workspace, tmp_path / "h2", monkeypatch)
    assert code == 0, err
    assert used == list(SETS)


def test_the_rule_reads_the_parquet_footers(workspace):
    from signoff.plugins.files import FilesSource

    files = FilesSource(str(workspace), "base", "cand", policy=str(workspace / "signoff.toml")).input_files()
    size = file_inputs.arrow_bytes(files.eval_sets)
    by_hand = 0
    for es in files.eval_sets:
        for path in (es.samples, es.baseline, es.candidate):
            meta = pq.ParquetFile(path).metadata
            by_hand += sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    assert size == by_hand > 0
    assert file_inputs.available_memory() > 0


def test_out_of_core_refuses_what_it_cannot_compare_in_one_line(workspace, tmp_path, capsys, monkeypatch):
    # a JSON Lines input
    jsonl = workspace / "cand" / "predictions" / "digits.parquet"
    table = pq.read_table(jsonl)
    jsonl.write_bytes(b"\n".join(json.dumps(r).encode() for r in table.to_pylist()))
    code, out, err = request(capsys, workspace, tmp_path / "h", monkeypatch, "--engine", "out-of-core")
    assert code == 2 and out == ""
    assert re.fullmatch(r"signoff: --engine out-of-core: \S+digits.parquet is not a Parquet file \(the out-of-core "
                        r"engine reads Parquet only\); use --engine memory\n", err), err
    # DuckDB missing
    pq.write_table(table, jsonl)
    monkeypatch.setitem(__import__("sys").modules, "duckdb", None)
    code, out, err = request(capsys, workspace, tmp_path / "h", monkeypatch, "--engine", "out-of-core")
    assert code == 2 and err == ("signoff: --engine out-of-core: DuckDB is not installed (pip install duckdb); "
                                 "use --engine memory\n")
    monkeypatch.setenv(file_inputs.ENV_ABOVE, "1000")   # auto, the inputs too big for memory: refused too
    code, out, err = request(capsys, workspace, tmp_path / "h", monkeypatch)
    assert code == 2 and err == ("signoff: the inputs do not fit in memory: DuckDB is not installed (pip install "
                                 "duckdb); use --engine memory\n")
    monkeypatch.setenv(file_inputs.ENV_ABOVE, str(10**12))   # they fit: DuckDB is not needed
    code, out, err = request(capsys, workspace, tmp_path / "h", monkeypatch)
    assert code == 0, err


def test_a_source_without_files_is_refused_out_of_core(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SIGNOFF_USER", "ci@example.com")
    code, _out, err = run(capsys, "request", "--sha", SHA, "--source", "git", "--repo", str(tmp_path),
                          "--engine", "out-of-core")
    assert code != 0 and len(err.strip().splitlines()) == 1


def test_a_blank_id_is_refused_out_of_core(workspace, tmp_path, capsys, monkeypatch):
    path = workspace / "base" / "predictions" / "support-replies.parquet"
    table = pq.read_table(path)
    pq.write_table(table.set_column(0, "id", pa.array(["  "] + table.column("id").to_pylist()[1:])), path)
    code, out, err = request(capsys, workspace, tmp_path / "h", monkeypatch, "--engine", "out-of-core")
    assert code == 2 and "row 1: the sample id is missing or blank" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("samples", [True, False], ids=["samples-file", "samples-from-the-candidate"])
def test_signoff_review_of_two_parquet_files_either_engine(workspace, tmp_path, capsys, monkeypatch, samples):
    """`signoff review BASE CAND` of Parquet files: the columns guessed from the files' schemas, and
    either engine stores the same samples and summary (the requests' content hashes differ: the
    in-memory path hashes the samples as the JSONL it makes of them)."""
    name = "support-replies"
    base, cand = workspace / "base/predictions" / f"{name}.parquet", workspace / "cand/predictions" / f"{name}.parquet"
    if not samples:   # the candidate file carries the samples' input and reference
        s = pq.read_table(workspace / "evals" / f"{name}.parquet").select(["id", "input", "reference"])
        for path in (base, cand):
            pq.write_table(pq.read_table(path).join(s, "id").sort_by("id"), path)
    extra = ["--samples", str(workspace / "evals" / f"{name}.parquet")] if samples else []
    found = {}
    for engine in ("memory", "out-of-core"):
        home = tmp_path / f"home-{engine}"
        monkeypatch.setenv("SIGNOFF_HOME", str(home))
        code, out, err = run(capsys, "review", str(base), str(cand), *extra, "--no-gui", "--json", "--engine", engine)
        assert code == 0, err
        got = json.loads(out)
        assert got["columns"]["output"] == "output" and got["type"] == "text"
        rows, summary = printed(capsys, monkeypatch, home, str(got["id"]))
        del summary["request"]   # its own random label and the content hash; the rest is the comparison's
        found[engine] = rows, summary
    assert len(found["memory"][0]) > 100
    assert _rounded(found["out-of-core"][0]) == _rounded(found["memory"][0])
    assert _rounded(found["out-of-core"][1]) == _rounded(found["memory"][1])


def test_the_out_of_core_file_is_written_beside_the_comparisons_and_renamed_into_place(
        workspace, tmp_path, capsys, monkeypatch):
    """No copy of a file of gigabytes, and none in the system's temp (often a RAM disk): the engine
    writes into the comparisons folder and the store renames it to its hash. A refused comparison
    leaves nothing behind."""
    import os
    import tempfile

    written = []
    real = file_inputs.compare

    def spy(es, *a, **k):
        name, summary, path = real(es, *a, **k)
        written.append((path, os.stat(path).st_ino))
        return name, summary, path

    monkeypatch.setattr(file_inputs, "compare", spy)
    system_temp = tmp_path / "system-temp"
    system_temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_temp))
    home = tmp_path / "h"
    code, _out, err = request(capsys, workspace, home, monkeypatch, "--engine", "out-of-core")
    assert code == 0, err
    stored = {p.stat().st_ino: p for p in home.rglob("*.parquet")}
    assert len(written) == len(SETS)
    for path, inode in written:
        assert stored[inode].name.endswith(".parquet") and stored[inode].parent.parent == path.parent
        assert not path.exists()
    assert list(system_temp.iterdir()) == []
    assert list(home.rglob("incoming-*")) == []

    table_path = workspace / "base" / "predictions" / "support-replies.parquet"
    table = pq.read_table(table_path)
    pq.write_table(table.set_column(0, "id", pa.array(["  "] + table.column("id").to_pylist()[1:])), table_path)
    code, _out, err = request(capsys, workspace, home, monkeypatch, "--engine", "out-of-core", "--change", "two")
    assert code == 2 and "blank" in err
    assert list(home.rglob("incoming-*")) == [] and list(system_temp.iterdir()) == []
