"""The candidate's output is stored as null where it equals the baseline's (issue 16), and every reader
gets the full column back from the store's read-back: the window's model (whole and paged, through the
real service), `signoff samples --json`, `show --json`, `samples --export` and `report` give the same
output for a comparison stored with that encoding and for the same comparison stored without it (as
comparisons stored before it are)."""

from __future__ import annotations

import json
import re

import pyarrow as pa
import pytest
from sqlalchemy import update

from signoff.cli.main import main
from signoff.core import compare as compare_module
from signoff.core.stored_table import SAME_COLUMN
from signoff.plugins.demo import DemoSource, build_demo_workspace
from signoff.service import review
from signoff.service.review import ReviewService
from signoff.store.comparison_files import ComparisonFiles
from signoff.store.schema import Comparison
from signoff.store.store import Store

pytestmark = pytest.mark.gui


def _window(service, rid: int, eval_set: str) -> list[dict]:
    """What the window's model gives for every row: the sample's detail, and the rows a search finds."""
    from signoff.ui.sample_model import SampleTableModel

    model = SampleTableModel()
    model.set_frame(service.comparison_view(rid, eval_set))
    rows = [json.dumps(model.sample(r), sort_keys=True, default=repr) for r in range(model.rowCount())]
    model.set_filter(search="the")
    return [*rows, model.visible_count()]


def _readers(tmp_path, capsys, monkeypatch, rid: int, eval_sets: list[str], tag: str) -> dict:
    out = {}
    for paged in (False, True):
        monkeypatch.setattr(review, "PAGED_ABOVE_BYTES", 0 if paged else 512 << 20)
        service = ReviewService(Store(), user="alice@example.com")   # nothing cached
        out[f"window paged={paged}"] = {e: _window(service, rid, e) for e in eval_sets}
    for args in (["samples", str(rid), "--json"], ["show", str(rid), "--json"]):
        assert main(args) == 0
        out[args[0]] = capsys.readouterr().out
    for ext in ("jsonl", "csv"):
        path = tmp_path / f"{tag}.{ext}"
        assert main(["samples", str(rid), "--export", str(path)]) == 0
        out[f"export {ext}"] = path.read_bytes()
    report = tmp_path / f"{tag}.html"
    assert main(["report", str(rid), "-o", str(report)]) == 0
    capsys.readouterr()
    out["report"] = re.sub(r"\d{4}-\d\d-\d\dT?[\d:. ]*(UTC|Z|\+00:00)?", "<time>", report.read_text())
    return out


def _raw(uri: str) -> pa.Table:
    """A comparison file as stored (no read-back), Arrow IPC or Parquet by its magic bytes."""
    from signoff.store.comparison_files import open_source

    return open_source(pa.memory_map(uri.removeprefix("file://"))).read()


def test_every_reader_sees_the_same_with_and_without_the_encoding(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SIGNOFF_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SIGNOFF_USER", "alice@example.com")
    ws = build_demo_workspace(tmp_path / "demo")
    store = Store()
    rec = ReviewService(store, user="ci@example.com").create_request(DemoSource(str(ws.repo)), sha=ws.candidate_sha)
    assert len(rec.eval_sets) >= 4
    encoded = 0
    for name in rec.eval_sets:
        uri, _sha = store._comparison_source(rec.id, name)[1]
        stored = _raw(uri)
        if SAME_COLUMN in stored.column_names:
            encoded += 1
            assert stored.column(SAME_COLUMN).to_numpy().any()
    assert encoded >= 3   # text, JSON, label (image outputs are bytes columns: not encoded)
    with_encoding = _readers(tmp_path, capsys, monkeypatch, rec.id, rec.eval_sets, "encoded")

    # the same comparisons as the engine stored them before: whole candidate outputs
    monkeypatch.setattr(compare_module, "same_as_baseline", lambda table: table)
    plain = {d.spec.name: compare_module.compare(d).arrow
             for d in DemoSource(str(ws.repo)).load(candidate=ws.candidate_sha).eval_sets}
    files = ComparisonFiles(store.comparisons_location())
    for name in rec.eval_sets:
        uri, sha = files.put(plain[name])
        with store._write() as s:
            s.execute(update(Comparison).where(Comparison.request_id == rec.id, Comparison.eval_set == name)
                      .values(table_uri=uri, table_sha256=sha))
        assert SAME_COLUMN not in _raw(uri).column_names
    without = _readers(tmp_path, capsys, monkeypatch, rec.id, rec.eval_sets, "plain")
    assert with_encoding.keys() == without.keys()
    for key in with_encoding:
        assert with_encoding[key] == without[key], key


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string(), pa.binary(), pa.large_binary()])
def test_the_stored_candidate_keeps_no_bytes_under_its_nulls(kind):
    """Where the candidate's output equals the baseline's it is stored as null with nothing under
    it (the file would otherwise carry the text twice), and restore_outputs gives the column back."""
    from signoff.core.stored_table import restore_outputs, same_as_baseline

    base = pa.chunked_array([pa.array(["same one", "was", None, "same two"], kind),
                             pa.array(["x" * 50, "y"], kind)])
    cand = pa.chunked_array([pa.array(["same one", "now", None, "same two"], kind), pa.array(["x" * 50, "z"], kind)])
    table = pa.table({"baseline_output": base, "candidate_output": cand})
    stored = same_as_baseline(table)
    assert stored.column(SAME_COLUMN).to_pylist() == [True, False, False, True, True, False]
    col = stored.column("candidate_output")
    assert col.to_pylist() == [None, "now", None, None, None, "z"] if kind in (pa.string(), pa.large_string()) \
        else col.to_pylist() == [None, b"now", None, None, None, b"z"]
    for chunk in col.chunks:
        chunk.validate(full=True)
        assert chunk.buffers()[2].size == sum(len(v) for v in chunk.to_pylist() if v is not None)
    assert restore_outputs(stored).equals(table)
