"""Samples exported to CSV / JSONL / Parquet read back exactly, and load as a new eval set."""

from __future__ import annotations

import math

import numpy as np
import pytest

from signoff.cli.main import main
from signoff.core.config import EvalSetSpec
from signoff.core.errors import InputError
from signoff.core.model import Verdict
from signoff.service.export import export_samples, read_export
from signoff.service.review import ReviewService
from signoff.store.store import Store
from signoff.plugins.common.evalset import TableFile, build_eval_set
from signoff.plugins.common.tables import to_frame  # eval sets read by pyarrow stay Arrow (issue 16)
from tests.doubles import MARKUP, FakeReviewService
from tests.plugin_doubles import InMemorySource

FORMATS = ["csv", "jsonl", "parquet"]


def _same(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return a == b


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_round_trips_every_value(tmp_path, fmt):
    svc = FakeReviewService()
    svc.set_label(1, "support-replies", "s-004", verdict=Verdict.BOTH_WRONG, comment="a, \"quoted\"\nline")
    svc.user = "bob@example.com"
    svc.set_label(1, "support-replies", "s-004", verdict=Verdict.TIE)
    table = svc.comparison(1, "support-replies")
    path = tmp_path / f"out.{fmt}"
    result = export_samples(svc, 1, "support-replies", path)
    assert result.rows == len(table) and result.format == fmt

    back = read_export(path)
    assert list(back.columns[:6]) == ["eval_set", "id", "input", "reference", "topic", "lang"]
    assert list(back["id"]) == list(table["id"])                     # worst first, as the comparison
    for col in ("input", "reference", "baseline_output", "candidate_output", "topic", "lang"):
        for got, want in zip(back[col], table[col]):
            assert _same(got, None if want is None or (isinstance(want, float) and math.isnan(want)) else str(want)), col
    for col in ("baseline_score", "candidate_score", "delta"):
        assert np.allclose(back[col].to_numpy(float), table[col].to_numpy(float), equal_nan=True)
    assert list(back["class"]) == list(table["class"].astype(str))
    row = back[back["id"] == "s-004"].iloc[0]
    assert row["candidate_output"] == MARKUP                          # markup is data, kept as it is
    by_user = {lab["user"]: lab for lab in row["labels"]}
    assert by_user["alice@example.com"]["verdict"] == "both-wrong"
    assert by_user["alice@example.com"]["comment"] == "a, \"quoted\"\nline"
    assert by_user["bob@example.com"]["verdict"] == "tie"
    rtl = back[back["id"] == "s-005"].iloc[0]
    assert rtl["input"] == "كيف أغير كلمة المرور؟"
    hidden = back[back["id"] == "s-008"].iloc[0]
    assert hidden["candidate_output"] == "Call\u200b us\u202e now\u202c"


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_export_is_the_samples_file_of_a_new_eval_set(tmp_path, fmt):
    svc = FakeReviewService()
    path = tmp_path / f"hard.{fmt}"
    export_samples(svc, 1, "support-replies", path, classes={"regressed", "changed"}, labels="none")
    spec = EvalSetSpec(name="hard", samples=path.name, predictions="p.jsonl", slices=("topic", "lang"))
    preds = b'{"id": "s-001", "output": "x"}\n'
    data = build_eval_set(spec, TableFile(path.name, path.read_bytes()), TableFile("p.jsonl", preds),
                          TableFile("p.jsonl", preds))
    exported = read_export(path)
    assert list(to_frame(data.samples)["id"]) == list(exported["id"])
    assert list(to_frame(data.samples)["topic"]) == list(exported["topic"])
    assert set(exported["class"]) <= {"regressed", "changed"}


def test_export_of_chosen_ids_keeps_their_order_and_refuses_unknown_ones(tmp_path):
    svc = FakeReviewService()
    res = export_samples(svc, 1, "support-replies", tmp_path / "two.jsonl", ids=["s-010", "s-001"])
    assert list(read_export(res.path)["id"]) == ["s-010", "s-001"]
    with pytest.raises(InputError, match="no sample 'nope'"):
        export_samples(svc, 1, "support-replies", tmp_path / "x.jsonl", ids=["nope"])
    with pytest.raises(InputError, match=".csv, .jsonl or .parquet"):
        export_samples(svc, 1, "support-replies", tmp_path / "x.xlsx")


def test_image_bytes_go_to_parquet_only(tmp_path):
    svc = FakeReviewService()
    pq = export_samples(svc, 1, "photos", tmp_path / "p.parquet")
    assert isinstance(read_export(pq.path)["baseline_output_bytes"][0], bytes) and not pq.notes
    js = export_samples(svc, 1, "photos", tmp_path / "p.jsonl")
    assert "baseline_output_bytes" not in read_export(js.path).columns and "Parquet" in js.notes[0]


def test_samples_export_flag_on_the_cli(tmp_path, monkeypatch, capsys):
    ids = [f"s{i}" for i in range(4)]
    tables = {"qa": ({"id": ids, "input": ["a", "b", "c", "d"], "reference": ["a", "b", "c", "d"]},
                     {"id": ids, "output": ["a", "b", "x", "d"]},
                     {"id": ids, "output": ["a", "z", "c", "d"]})}
    with Store() as store:
        req = ReviewService(store, user="ci@example.com").create_request(InMemorySource(tables), sha="c1")
    out = tmp_path / "regressed.csv"
    monkeypatch.setenv("SIGNOFF_USER", "alice@example.com")
    assert main(["samples", str(req.id), "--class", "regressed", "--export", str(out)]) == 0
    back = read_export(out)
    assert list(back["id"]) == ["s1"] and back["candidate_output"][0] == "z"
    assert "exported 1 sample(s)" in capsys.readouterr().err
    assert main(["samples", str(req.id), "--export", str(tmp_path / "x.txt")]) == 2
