"""The MLflow plugin's pieces that need no server: references, logged tables,
column conventions, traces, signoff.toml [mlflow], write-back entries, the cache."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from signoff.core.config import parse_config
from signoff.core.errors import ConfigError, InputError
from signoff.core.model import Label, Status, Verdict
from signoff.plugins.mlflow.cache import ArtifactCache
from signoff.plugins.mlflow.config import mlflow_config, mlflow_spec
from signoff.plugins.mlflow.refs import parse_ref
from signoff.plugins.mlflow.tables import parse_logged_table, predictions_from_table, resolve_columns, samples_from_table
from signoff.plugins.mlflow.traces import any_value, trace_row
from signoff.plugins.mlflow.writeback import label_write_backs, status_write_backs

SPEC = mlflow_spec("digits", table="t.json", output_type="label")


# -- references ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, kind, fields", [
    ("models:/digits/3", "version", {"name": "digits", "version": "3"}),
    ("models:/team/digits/12", "version", {"name": "team/digits", "version": "12"}),
    ("models:/digits@champion", "alias", {"name": "digits", "alias": "champion"}),
    ("runs:/" + "a" * 32, "run", {"run_id": "a" * 32}),
    ("runs:/" + "a" * 32 + "/model", "run", {"run_id": "a" * 32}),
    ("b" * 32, "run", {"run_id": "b" * 32, "commit": "b" * 32}),     # a run id, else a commit
    ("C" * 40, "commit", {"commit": "c" * 40}),
    ("abc1234", "commit", {"commit": "abc1234"}),
])
def test_references(text, kind, fields):
    ref = parse_ref(text)
    assert ref.kind == kind and {k: getattr(ref, k) for k in fields} == fields


def test_a_bare_version_or_alias_needs_the_model():
    assert parse_ref("3", model="digits").version == "3"
    assert parse_ref("@champion", model="digits").alias == "champion"
    with pytest.raises(InputError, match="is none of"):
        parse_ref("@champion")


# -- logged tables ---------------------------------------------------------------------------------

def split_json(frame: pd.DataFrame) -> bytes:
    return frame.to_json(orient="split", index=False).encode()


def test_the_json_form_of_log_table_keeps_values_exact():
    frame = pd.DataFrame({"id": ["007", "8"], "output": [{"a": [1, 2]}, None], "score": [0.5, np.nan]})
    got = parse_logged_table(split_json(frame), "p.json", "p.json")
    assert got["id"].tolist() == ["007", "8"]
    assert got["output"].tolist() == [{"a": [1, 2]}, None]
    assert got["score"].iloc[0] == 0.5 and pd.isna(got["score"].iloc[1])


def test_the_parquet_form():
    buf = io.BytesIO()
    pd.DataFrame({"id": [1, 2], "output": ["x", "y"]}).to_parquet(buf, index=False)
    got = parse_logged_table(buf.getvalue(), "dir/p.parquet", "p (candidate)")
    assert got["id"].tolist() == [1, 2]


@pytest.mark.parametrize("data, path, message", [
    (b'[{"id": 1}]', "p.json", r"p \(candidate\): not a logged table; expected mlflow.log_table's JSON"),
    (b'{"columns": ["id"], "data": [[1], [2, 3]]}', "p.json", r"row 2 has 2 values for 1 columns"),
    (b'{"columns": ["id", "id"], "data": []}', "p.json", r"column names appear twice: id"),
    (b'{"columns": ', "p.json", r"not valid JSON \(line 1, column 13\)"),
    (b"\xff\xfe", "p.json", r"not UTF-8 text"),
    (b"PAR1 but not really", "p.parquet", r"p \(candidate\): not a valid Parquet file"),
])
def test_malformed_tables_say_what_is_wrong(data, path, message):
    with pytest.raises(InputError, match=message):
        parse_logged_table(data, path, "p (candidate)")


def test_columns_by_convention_as_mlflow_evaluate_writes_them():
    cols = ["id", "pixel_sum", "label", "prediction", "correct/score"]
    assert resolve_columns(SPEC, cols, "t") == {"id": "id", "output": "prediction", "reference": "label",
                                               "score": "correct/score", "input": None}
    raw = pd.DataFrame({"id": [1, 2], "pixel_sum": [3, 4], "label": [1, 2], "prediction": [1, 3],
                        "correct/score": [1.0, 0.0]})
    samples = samples_from_table(SPEC, raw, "t")
    assert samples["input"].tolist() == ['{"pixel_sum":3}', '{"pixel_sum":4}']   # the features, as the input
    assert samples["id"].tolist() == ["1", "2"]
    preds = predictions_from_table(SPEC, raw, "t")
    assert preds["score"].tolist() == [1.0, 0.0]


def test_named_columns_must_exist_and_an_id_is_required():
    with pytest.raises(InputError, match=r"t has no output column 'pred' named in signoff.toml \(its columns: id, y\)"):
        resolve_columns(mlflow_spec("x", table="t", output_column="pred"), ["id", "y"], "t")
    with pytest.raises(InputError, match=r"t has no id column \(looked for id, sample_id"):
        resolve_columns(SPEC, ["question", "answer"], "t")


def test_duplicate_ids_and_non_numeric_scores_are_named():
    raw = pd.DataFrame({"id": ["a", "a"], "output": [1, 2]})
    with pytest.raises(InputError, match="1 id appear more than once, e.g. a"):
        predictions_from_table(SPEC, raw, "t")
    raw = pd.DataFrame({"id": ["a", "b"], "output": [1, 2], "score": [0.5, "high"]})
    with pytest.raises(InputError, match=r"t row 2 \(id b\): 'score' must be a number, got 'high'"):
        predictions_from_table(SPEC, raw, "t")


def test_image_cells_are_refused_by_name():
    raw = pd.DataFrame({"id": ["a"], "output": [{"type": "image", "filepath": "table_images/x.png"}]})
    with pytest.raises(InputError, match=r"holds images logged as files \(row 1, id a\)"):
        predictions_from_table(SPEC, raw, "t")


# -- traces ------------------------------------------------------------------------------------

def test_opentelemetry_values():
    assert any_value({"kvlist_value": {"values": [{"key": "q", "value": {"string_value": "hi"}},
                                                  {"key": "n", "value": {"int_value": "3"}},
                                                  {"key": "xs", "value": {"array_value": {"values": [
                                                      {"double_value": 0.5}, {"bool_value": True}]}}}]}}) \
        == {"q": "hi", "n": 3, "xs": [0.5, True]}


def _info(assessments, **meta):
    return {"trace_id": "tr-1", "assessments": assessments, "trace_metadata": meta}


def _span(inputs, outputs):
    return [{"span_id": "s", "attributes": [{"key": "mlflow.spanInputs", "value": inputs},
                                            {"key": "mlflow.spanOutputs", "value": outputs}]}]


FEEDBACK = {"assessment_name": "exact_match", "source": {"source_type": "CODE"}, "feedback": {"value": 1.0}}
EXPECTED = {"assessment_name": "expected_response", "source": {"source_type": "HUMAN"}, "expectation": {"value": "4"}}
HUMAN_FEEDBACK = {"assessment_name": "signoff_review", "source": {"source_type": "HUMAN"}, "feedback": {"value": 0.0}}


def test_a_trace_becomes_one_row():
    spec = mlflow_spec("qa", traces=True)
    inputs = {"kvlist_value": {"values": [{"key": "id", "value": {"string_value": "q1"}},
                                          {"key": "question", "value": {"string_value": "2+2?"}}]}}
    row = trace_row(_info([FEEDBACK, EXPECTED, HUMAN_FEEDBACK]), _span(inputs, {"string_value": "4"}), spec, "qa")
    assert row == {"id": "q1", "input": "2+2?", "reference": "4", "output": "4", "score": 1.0, "trace_id": "tr-1"}


def test_without_an_id_the_inputs_hash_lines_the_rows_up():
    spec = mlflow_spec("qa", traces=True)
    a = trace_row(_info([]), _span({"string_value": "same"}, {"string_value": "x"}), spec, "qa")
    b = trace_row(_info([]), _span({"string_value": "same"}, {"string_value": "y"}), spec, "qa")
    assert a["id"] == b["id"] and a["id"].startswith("h:") and np.isnan(a["score"])


def test_yes_no_feedback_and_a_named_scorer():
    spec = mlflow_spec("qa", traces=True, score_column="judge")
    judge = {"assessment_name": "judge", "source": {"source_type": "LLM_JUDGE"}, "feedback": {"value": "yes"}}
    row = trace_row(_info([FEEDBACK, judge]), _span({"string_value": "q"}, {"string_value": "a"}), spec, "qa")
    assert row["score"] == 1.0
    with pytest.raises(InputError, match=r"qa: trace tr-1 has no scorer feedback named 'judge' .* its feedback: "
                                         r"exact_match"):
        trace_row(_info([FEEDBACK]), _span({"string_value": "q"}, {"string_value": "a"}), spec, "qa")


def test_cut_off_previews_are_not_used_as_outputs():
    spec = mlflow_spec("qa", traces=True)
    info = _info([], **{"mlflow.traceInputs": '{"q": "a long quest', "mlflow.traceOutputs": '"x"'})
    with pytest.raises(InputError, match="only holds cut-off previews"):
        trace_row(info, [], spec, "qa")


# -- signoff.toml [mlflow] -----------------------------------------------------------------------

MLFLOW_TOML = """
[mlflow]
tracking_uri = "http://mlflow:5000"
model = "digits"
baseline = "models:/digits@champion"
alias_on_approval = "approved"
experiments = ["ci"]
columns = { id = "uid", output = "pred" }

[[eval_sets]]
name = "digits"
table = "predictions/digits.json"
type = "label"

[[eval_sets]]
name = "qa"
traces = true
columns = { id = "qid" }

[policy]
required = { sme = 1 }

[roles]
sme = ["alice@example.com"]
"""

# signoff.toml needs a written policy; the cases below are about [mlflow] and the eval sets.
POLICY = '\n[policy]\nrequired = {}\nallow_unreviewed = true\n'


def test_the_mlflow_section_and_table_eval_sets():
    c = parse_config(MLFLOW_TOML)
    mc = mlflow_config(c)   # [mlflow] is the MLflow plugin's section (plugins/mlflow/config.py)
    assert (mc.tracking_uri, mc.model, mc.alias_on_approval, mc.experiments) == \
        ("http://mlflow:5000", "digits", "approved", ("ci",))
    digits, qa = c.eval_sets
    assert (digits.key("table"), digits.samples, digits.id_column, digits.output_column) == \
        ("predictions/digits.json", "", "uid", "pred")
    assert qa.key("traces") and qa.id_column == "qid" and qa.output_column == "pred"
    assert mlflow_config(parse_config('[[eval_sets]]\nname="a"\nsamples="s"\npredictions="p"\n' + POLICY)).model == ""


@pytest.mark.parametrize("text, message", [
    ('[mlflow]\nmodell = "x"\n[[eval_sets]]\nname="a"\ntable="t.json"\n',
     r"^signoff.toml line 2: unknown key mlflow.modell; did you mean model\?$"),
    ('[mlflow]\ncolumns = { label = "y" }\n[[eval_sets]]\nname="a"\ntable="t.json"\n',
     r"line 2: unknown key mlflow.columns.label \(valid: id, input, reference, output, score\)"),
    ('[[eval_sets]]\nname="a"\ntable="t.json"\ntraces=true\n', "line 4: eval_sets.0. gives both 'table' and 'traces'"),
    ('[[eval_sets]]\nname="a"\ntraces="yes"\n', r"line 3: eval_sets\[0\].traces must be a boolean, got a string"),
    ('[[eval_sets]]\nname="a"\nsamples="s"\n', r"missing 'predictions' \(or 'table' / 'traces' for an MLflow source\)"),
])
def test_bad_mlflow_config(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(text + POLICY)


# -- write-backs ---------------------------------------------------------------------------------

def _request(version="2", **extra):
    cand = {"run_id": "r" * 32, "experiment_id": "1", "model": "digits" if version else "", "version": version}
    return SimpleNamespace(id=7, sha="c" * 40, locator={"tracking_uri": "http://m:5000", "resolved": {"candidate": cand}},
                           **extra)


def _verdict(status):
    return SimpleNamespace(status=status, description="awaiting review: 1/2 SME")


def test_each_decision_tags_the_version_and_approval_moves_the_alias():
    config = parse_config(MLFLOW_TOML)
    decision = SimpleNamespace(user="quinn@example.com", role="qa", kind=SimpleNamespace(value="approve"))
    pending = status_write_backs(_request(), config=config, verdict=_verdict(Status.PENDING), decision=decision)
    assert [w.payload["kind"] for w in pending] == ["tags"]
    assert pending[0].payload["tags"] == {"signoff.status": "pending", "signoff.request": "7",
                                          "signoff.description": "awaiting review: 1/2 SME",
                                          "signoff.decided_by": "quinn@example.com (qa): approve"}
    assert pending[0].target == "mlflow|http://m:5000|tags|models:/digits/2"
    approved = status_write_backs(_request(), config=config, verdict=_verdict(Status.APPROVED), decision=decision)
    assert [(w.payload["kind"], w.target) for w in approved][1] == ("alias", "mlflow|http://m:5000|alias|digits@approved")
    # A run without a registered version: run tags, no alias.
    run_only = status_write_backs(_request(version=""), config=config, verdict=_verdict(Status.APPROVED))
    assert [w.payload["kind"] for w in run_only] == ["tags"] and run_only[0].target.endswith("runs:/" + "r" * 32)


def test_labels_go_back_only_for_trace_eval_sets():
    config = parse_config(MLFLOW_TOML)
    label = Label(request_id=7, eval_set="qa", sample_id="q1", user="alice@example.com", verdict=Verdict.TIE,
                  comment="close")
    [wb] = label_write_backs(_request(), config=config, label=label)
    assert wb.payload["value"] == {"verdict": "tie", "correct": None, "error": None}
    assert wb.payload["rationale"] == "close" and wb.payload["id_column"] == "qid"
    cleared = Label(request_id=7, eval_set="qa", sample_id="q1", user="alice@example.com")
    assert label_write_backs(_request(), config=config, label=cleared)[0].payload["value"] is None
    table_label = Label(request_id=7, eval_set="digits", sample_id="1", user="a", verdict=Verdict.TIE)
    assert label_write_backs(_request(), config=config, label=table_label) == []


# -- the cache ---------------------------------------------------------------------------------

def test_the_cache_checks_size_and_content(tmp_path):
    cache = ArtifactCache(tmp_path)
    with cache.temp_file() as f:
        f.write(b"hello")
    import hashlib

    blob = cache.commit("http://m", "run", "p.json", tmp_path / "tmp" / f.name.rsplit("/", 1)[-1],
                        hashlib.sha256(b"hello").hexdigest(), 5)
    assert cache.lookup("http://m", "run", "p.json", 5) == blob
    assert cache.lookup("http://m", "run", "p.json", 6) is None      # appended to since (log_table appends)
    assert cache.lookup("http://m", "other", "p.json", 5) is None
    blob.write_bytes(b"HELLO")                                        # corrupted on disk
    assert cache.lookup("http://m", "run", "p.json", 5) is None
    assert json.loads(next((tmp_path / "index").iterdir()).read_text())["path"] == "p.json"


def test_browsing_makes_the_status_local():
    from signoff.plugins.mlflow.browse import local_status

    text = MLFLOW_TOML + '\n[status]\nsink = "github"\nrepo = "acme/m"  # the forge\n\n[labels]\nerrors = ["x"]\n'
    config = parse_config(local_status(text))
    assert (config.status.sink, config.status.repo, config.error_categories) == ("local", "", ("x",))
    assert parse_config(local_status(MLFLOW_TOML)).status.context == "signoff/browse"


def test_a_server_policy_that_is_not_there_is_one_line_before_any_call(tmp_path):
    from signoff.core.errors import ConfigError
    from signoff.plugins.mlflow import source_for_versions

    gone = str(tmp_path / "nowhere" / "signoff.toml")
    with pytest.raises(ConfigError, match=r"^the policy .*nowhere/signoff.toml is neither a signoff.toml file nor a "
                                          r"git repository here; fix the server's policy in Settings"):
        source_for_versions("http://127.0.0.1:9", "m", "2", "1", policy=gone)   # nothing listens: never asked


def test_the_look_only_policy_parses_and_is_recognised():
    from signoff.plugins.mlflow.browse import LOOK_ONLY_POLICY, is_look_only

    text = '[[eval_sets]]\nname = "t"\ntable = "t.json"\ntype = "text"\n' + LOOK_ONLY_POLICY
    config = parse_config(text)
    assert is_look_only(config) and config.status.sink == "local"
    mc = mlflow_config(config)
    assert not (mc.tags_on_decision or mc.alias_on_approval or mc.assessments)
    assert not is_look_only(parse_config(MLFLOW_TOML))


def test_the_public_surface():
    import signoff.plugins.mlflow as pkg

    functions = {"default_config_text", "list_models", "list_versions", "run_info", "source_for_versions",
                 "version_commits", "versions_awaiting_review"}
    classes = {n for n in vars(pkg) if n[:1].isupper()}
    assert set(pkg.__all__) == classes | functions


def test_the_tags_write_back_carries_the_audit_head_to_the_model_version(tmp_path):
    """The audit chain's head goes out with each tags write-back as `signoff.audit_head` (docs/trust.md
    "Anchors"), and the sink sets it on the model version like the other tags."""
    from signoff.service.anchors import anchor_payload
    from signoff.store.store import Store
    from signoff.plugins.mlflow.writeback import ANCHOR_TAG as MLFLOW_TAG, MlflowSink

    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    try:
        store.append_audit(actor="ci@example.com", action="note", request_id=None, payload={})
        count, digest = store.audit_head()
        config = parse_config(MLFLOW_TOML)
        [tags] = status_write_backs(_request(), config=config, verdict=_verdict(Status.PENDING))
        payload = anchor_payload(store, SimpleNamespace(sink=tags.sink, payload=tags.payload))
        assert payload["tags"][MLFLOW_TAG] == f"{count}-{digest}" and payload["_anchor"] == {"count": count,
                                                                                             "hash": digest}
        assert MLFLOW_TAG not in tags.payload["tags"]           # the queued entry itself is left as it was
    finally:
        store.close()

    calls = []

    class Client:
        uri = "http://m:5000"

        def set_model_version_tag(self, model, version, key, value):
            calls.append((model, version, key, value))

    sink = MlflowSink()
    sink._client = Client()
    sink.deliver(payload)
    assert ("digits", "2", MLFLOW_TAG, f"{count}-{digest}") in calls
    assert ("digits", "2", "signoff.status", "pending") in calls
