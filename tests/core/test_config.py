import json
import re
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import signoff.registry  # noqa: F401  sets the plugins' loader: [mlflow] is the MLflow plugin's section
from signoff.core import config as config_module
from signoff.core.config import ProjectConfig, config_from_dict, json_schema, parse_config
from signoff.core.errors import ConfigError

GOOD = """
[[eval_sets]]
name = "intents"
samples = "evals/intents.jsonl"
predictions = "predictions/intents.jsonl"
type = "label"
slices = ["channel"]
columns = { id = "uid", output = "pred" }

[policy]
required = { sme = 2, qa = 1 }
min_changed_reviewed = 0.2
owners = ["quinn@example.com"]

[roles]
sme = ["Alice@Example.com", "bob@example.com"]
qa = ["quinn@example.com"]

[status]
sink = "github"
repo = "acme/model"

[signers]
allowed_signers = ".signoff/allowed_signers"
[signers.keys]
"alice@example.com" = ["ssh-ed25519 AAAAC3Nza alice"]
"bob@example.com" = ["github:bob"]
"""

# A small valid file; the error cases below change one line of it. Line numbers are of this text.
BASE = """\
[project]
name = "m"

[[eval_sets]]
name = "a"
samples = "s.jsonl"
predictions = "p.jsonl"

[policy]
required = { sme = 1 }
min_changed_reviewed = 0.5

[roles]
sme = ["alice@example.com"]
"""


def test_parses_the_product_sketch():
    c = parse_config(GOOD)
    es = c.eval_set("intents")
    assert (es.output_type, es.id_column, es.output_column, es.slices) == ("label", "uid", "pred", ("channel",))
    assert (es.type, es.columns["id"], es.columns["input"]) == ("label", "uid", "input")
    assert c.policy.required == {"sme": 2, "qa": 1} and c.policy.no_self_approval is True
    assert c.policy.owners == ("quinn@example.com",) and c.policy.allow_unreviewed is False
    assert c.roles_of("alice@example.com") == ["sme"]
    assert c.status.sink == "github" and c.status.context == "signoff/review"
    assert c.signers.keys == {"alice@example.com": ("ssh-ed25519 AAAAC3Nza alice",), "bob@example.com": ("github:bob",)}
    assert c.signers.allowed_signers == ".signoff/allowed_signers"
    assert c.error_categories[0] == "wrong label" and c.section("no-such-section") is None


def test_the_base_file_is_valid():
    assert parse_config(BASE).policy.min_changed_reviewed == 0.5


def _edit(old: str, new: str) -> str:
    assert old in BASE
    return BASE.replace(old, new)


@pytest.mark.parametrize("text, message", [
    (_edit("[policy]", "[polciy]"), "signoff.toml line 9: unknown section [polciy]; did you mean [policy]?"),
    (_edit("required =", "requird ="), "signoff.toml line 10: unknown key policy.requird; did you mean required?"),
    (BASE + '\n[status]\nsnk = "github"\n', "signoff.toml line 17: unknown key status.snk; did you mean sink?"),
    (_edit("[roles]", "[role]"), "signoff.toml line 13: unknown section [role]; did you mean [roles]?"),
    (_edit('name = "a"', 'name = "a"\ncolums = { id = "uid" }'),
     "signoff.toml line 6: unknown key eval_sets[0].colums; did you mean columns?"),
    (_edit('name = "a"', 'name = "a"\ncolumns = { idd = "uid" }'),
     "signoff.toml line 6: unknown key eval_sets[0].columns.idd; did you mean id?"),
    (BASE + "\n[whatever]\nx = 1\n", r"line 16: unknown section \[whatever\] \(valid: \[\[eval_sets\]\], \[policy\]"),
    (BASE + '\n[mlflow]\nmodell = "x"\n', "line 17: unknown key mlflow.modell; did you mean model?"),
])
def test_unknown_names_get_their_line_and_the_closest_valid_one(text, message):
    with pytest.raises(ConfigError) as exc:
        parse_config(text)
    assert exc.value.args[0].count("\n") == 0
    if message.startswith("signoff.toml"):
        assert str(exc.value) == message
    else:
        assert re.search(message, str(exc.value)), str(exc.value)


@pytest.mark.parametrize("text, message", [
    (_edit("sme = 1", 'sme = "two"'), "signoff.toml line 10: policy.required.sme must be an integer, got a string ('two')"),
    (_edit("min_changed_reviewed = 0.5", "min_changed_reviewed = true"),
     "signoff.toml line 11: policy.min_changed_reviewed must be a number, got a boolean (true)"),
    (_edit('sme = ["alice@example.com"]', 'sme = "alice@example.com"'),
     "signoff.toml line 14: roles.sme must be an array, got a string ('alice@example.com')"),
    (_edit('name = "m"', "name = 3"), "signoff.toml line 2: project.name must be a string, got an integer (3)"),
    (_edit('predictions = "p.jsonl"', 'predictions = "p.jsonl"\nhigher_is_better = "yes"'),
     "signoff.toml line 8: eval_sets[0].higher_is_better must be a boolean, got a string ('yes')"),
    (BASE + '\n[signers.keys]\n"alice@example.com" = "ssh-ed25519 AAAA"\n',
     "signoff.toml line 17: signers.keys.\"alice@example.com\" must be an array, got a string ('ssh-ed25519 AAAA')"),
    (BASE + "\n[labels]\nerrors = [1]\n", "signoff.toml line 17: labels.errors[0] must be a string, got an integer (1)"),
    ("policy = 1\n" + _edit("[policy]", "[x]"), "signoff.toml line 1: [policy] must be a table, got an integer (1)"),
    (BASE + "\nwhen = 1979-05-27\n", "signoff.toml line 16: roles.when must be an array, got a date/time (1979-05-27)"),
    (_edit("sme = 1", "sme = -1"), "signoff.toml line 10: policy.required.sme must be >= 0, got -1"),
    (_edit("0.5", "2"), "signoff.toml line 11: policy.min_changed_reviewed is a share between 0 and 1, got 2"),
])
def test_a_wrong_type_names_key_line_expected_and_got(text, message):
    with pytest.raises(ConfigError) as exc:
        parse_config(text)
    assert str(exc.value) == message


@pytest.mark.parametrize("text, message", [
    ("[[eval_sets]\n", "signoff.toml line 1: not valid TOML"),
    ("", r"no \[\[eval_sets\]\]"),
    ('[[eval_sets]]\nname="a"\nsamples="s"\npredictions="p"\n', r"signoff.toml: no \[policy\] section"),
    (_edit('predictions = "p.jsonl"\n', ""), r"line 4: eval_sets\[0\] is missing 'predictions'"),
    (_edit('name = "a"', 'name = "a"\ntype = "video"'),
     "line 6: eval_sets.0..type must be one of text, json, label, image, number, got 'video'$"),
    (_edit('name = "a"', 'name = "a"\ntype = "lable"'), "got 'lable'; did you mean label[?]$"),
    (BASE + '\n[status]\nsink = "jira"\n', "line 17: status.sink must be one of local, github, gitlab, gitea, got 'jira'"),
    (BASE + '\n[status]\nsink = "githb"\n', "got 'githb'; did you mean github[?]$"),
    (BASE + '\n[status]\nsink = "mlflow"\n', "status.sink must be one of"),   # the MLflow sink posts no statuses
    (BASE.replace("[[eval_sets]]", "[[eval_sets]]\nname = \"a\"\nsamples = \"s\"\npredictions = \"p\"\n\n[[eval_sets]]", 1),
     "eval set name 'a' is used twice"),
])
def test_bad_files_get_a_clear_message(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(text)


# -- fail closed: the policy ---------------------------------------------------------------------

@pytest.mark.parametrize("required", ["{}", "{ sme = 0 }"])
def test_a_policy_without_approvals_must_say_allow_unreviewed(required):
    text = _edit("required = { sme = 1 }", f"required = {required}")
    with pytest.raises(ConfigError, match=r"^signoff.toml line 10: policy.required asks for no approval; .*"
                                          "allow_unreviewed = true"):
        parse_config(text)
    ok = parse_config(text.replace("[policy]\n", "[policy]\nallow_unreviewed = true\n"))
    assert ok.policy.allow_unreviewed is True


def test_a_policy_section_with_no_required_key_is_no_approval_either():
    with pytest.raises(ConfigError, match=r"line 9: policy.required asks for no approval"):
        parse_config(_edit("required = { sme = 1 }\n", ""))


def test_a_missing_policy_is_an_error():
    text = BASE.split("[policy]")[0]
    with pytest.raises(ConfigError, match=r"^signoff.toml: no \[policy\] section: .*allow_unreviewed = true"):
        parse_config(text)


def test_a_required_role_needs_members():
    with pytest.raises(ConfigError, match=r"^signoff.toml line 10: policy.required names role 'sme', but \[roles\] "
                                          "does not list its people"):
        parse_config(_edit('sme = ["alice@example.com"]', 'qa = ["q@example.com"]'))
    with pytest.raises(ConfigError, match=r"^signoff.toml line 14: roles.sme lists nobody, but policy.required "
                                          "needs 1 approval\\(s\\) by 'sme'; add its members$"):
        parse_config(_edit('sme = ["alice@example.com"]', "sme = []"))
    with pytest.raises(ConfigError, match=r"line 10: .*names role 'smes'.*; did you mean sme\?"):
        parse_config(_edit("sme = 1", "smes = 1"))


@pytest.mark.parametrize("text", ["a = " + "[" * 5000 + "]" * 5000, "a = " + "{b=" * 3000 + "1" + "}" * 3000])
def test_deep_nesting_is_a_config_error(text):
    with pytest.raises(ConfigError, match="nested too deeply"):
        parse_config(text)


def test_the_where_names_the_file_and_revision():
    with pytest.raises(ConfigError, match=r"^signoff.toml at abc1234 line 9: unknown section \[polciy\]"):
        parse_config(_edit("[policy]", "[polciy]"), "signoff.toml at abc1234")


def test_lines_are_found_in_inline_tables_dotted_keys_and_after_multiline_strings():
    text = BASE.replace('[project]\nname = "m"\n', '[project]\nname = """\n[policy]\nx = 1\n"""\n')
    text = text.replace("required = { sme = 1 }", 'required.sme = 1\n"required".qa = "x"')
    with pytest.raises(ConfigError, match=r"^signoff.toml line 14: policy.required.qa must be an integer"):
        parse_config(text)
    crlf = _edit("[policy]", "[polciy]").replace("\n", "\r\n")
    with pytest.raises(ConfigError, match=r"line 9: unknown section \[polciy\]"):
        parse_config(crlf)


def test_second_eval_set_errors_point_at_it():
    text = BASE.replace("[policy]", '[[eval_sets]]\nname = "b"\ntable = "t.json"\ntrace = true\n\n[policy]')
    with pytest.raises(ConfigError, match=r"^signoff.toml line 12: unknown key eval_sets\[1\].trace; did you mean traces\?"):
        parse_config(text)


def test_config_from_dict_has_no_lines_but_the_same_rules():
    with pytest.raises(ConfigError, match=r"^here: unknown key policy.requird; did you mean required\?"):
        config_from_dict({"eval_sets": [{"name": "a", "samples": "s", "predictions": "p"}],
                          "policy": {"requird": {}}}, "here")
    with pytest.raises(ConfigError, match="expected a table"):
        config_from_dict([], "here")  # type: ignore[arg-type]


def test_the_policy_says_so_when_no_review_is_needed():
    from signoff.core.policy import Coverage, evaluate

    config = parse_config(_edit("required = { sme = 1 }", "required = {}\nallow_unreviewed = true")
                          .replace("min_changed_reviewed = 0.5", ""))
    verdict = evaluate(config, decisions=[], coverage=Coverage(), content_hash="h")
    assert verdict.status.value == "approved"
    assert verdict.description == "approved without human review (policy.allow_unreviewed)"


# -- plugins: output types, sinks, sections ------------------------------------------------------

class PagesToml(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
    """[pages]: a test plugin's section."""

    url: str = ""


@pytest.fixture
def plugin_state(monkeypatch):
    monkeypatch.setattr(config_module, "_output_types", list(config_module._output_types))
    monkeypatch.setattr(config_module, "_sinks", list(config_module._sinks))
    monkeypatch.setattr(config_module, "_sections", dict(config_module._sections))
    monkeypatch.setattr(config_module, "_eval_set_keys", dict(config_module._eval_set_keys))
    monkeypatch.setattr(config_module, "_schema_cache", {})
    yield config_module


def test_plugins_register_output_types_sinks_and_sections(plugin_state):
    text = (_edit('name = "a"', 'name = "a"\ntype = "audio"') + '\n[status]\nsink = "jira"\n'
            + '\n[pages]\nurl = "https://x"\n')
    without_pages = text.split("\n[pages]")[0]
    with pytest.raises(ConfigError, match="type must be one of"):
        parse_config(without_pages)
    plugin_state.register_output_types("audio")
    with pytest.raises(ConfigError, match="sink must be one of"):
        parse_config(without_pages)
    plugin_state.register_sinks("jira")
    assert parse_config(without_pages).status.sink == "jira"
    with pytest.raises(ConfigError, match=r"unknown section \[pages\]"):
        parse_config(text)
    plugin_state.register_section("pages", PagesToml, lambda raw: raw.url if raw else None)
    config = parse_config(text)
    assert (config.eval_sets[0].type, config.status.sink, config.section("pages")) == ("audio", "jira", "https://x")
    assert parse_config(BASE).section("pages") is None
    with pytest.raises(ConfigError, match=r"line 21: unknown key pages.ur; did you mean url\?"):
        parse_config(text.replace("url =", "ur ="))
    assert "pages" in json_schema()["properties"]
    with pytest.raises(ValueError):
        plugin_state.register_section("policy", PagesToml)


def test_the_registry_registers_what_the_plugins_add(plugin_state):
    from signoff.registry import registry

    reg = registry(refresh=True)
    assert "mlflow" in reg.sinks and "mlflow" not in config_module.sinks()   # write-backs only
    assert set(config_module.output_types()) >= {"text", "json", "label", "image", "number"}
    assert parse_config(BASE + '\n[mlflow]\nmodel = "m"\n').section("mlflow").model == "m"   # the MLflow plugin's


def test_a_source_declares_the_eval_set_keys_it_reads(plugin_state):
    """Core knows no source's [[eval_sets]] keys (the MLflow source declares `table`, `traces`, `dataset`):
    a plugin's key is accepted once registered, strict otherwise, and may stand in for the paths."""
    from signoff.core.config import EvalSetKey

    text = BASE.replace("[policy]", '[[eval_sets]]\nname = "w"\nbucket = "s3://waves"\n\n[policy]')
    with pytest.raises(ConfigError, match=r"unknown key eval_sets\[1\].bucket"):
        parse_config(text)
    plugin_state.register_eval_set_keys(EvalSetKey("bucket", str, "acme: the bucket", paths=True, owner="Acme"))
    w = parse_config(text).eval_set("w")
    assert (w.key("bucket"), w.key("table", "none"), w.samples) == ("s3://waves", "none", "")
    assert "bucket" in json_schema()["$defs"]["EvalSetToml"]["properties"]
    with pytest.raises(ConfigError, match=r"is missing 'samples' \(or 'table' / 'traces' for an MLflow source; "
                                          r"'bucket' for an Acme source\)"):
        parse_config(text.replace('bucket = "s3://waves"', 'predictions = "p"'))
    with pytest.raises(ValueError):
        plugin_state.register_eval_set_keys(EvalSetKey("samples"))   # a core key stays core's


def test_mlflow_columns_default_only_what_the_set_leaves_out():
    text = BASE.replace("[policy]", '[[eval_sets]]\nname = "t"\ntable = "t.json"\ncolumns = { id = "qid" }\n\n'
                                    '[mlflow]\ncolumns = { id = "uid", output = "pred" }\n\n[policy]')
    t = parse_config(text).eval_set("t")
    assert (t.id_column, t.output_column, t.input_column) == ("qid", "pred", "input")
    assert parse_config(text).eval_set("a").output_column == "output"   # a file set: no MLflow defaults


# -- the schema file -----------------------------------------------------------------------------

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "resources" / "schema" / "signoff.schema.json"


def test_the_shipped_json_schema_is_what_the_code_generates(plugin_state):
    shipped = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert shipped == json_schema(), "run: signoff config schema > resources/schema/signoff.schema.json"
    assert shipped["required"] == ["eval_sets", "policy"] and shipped["additionalProperties"] is False
    assert set(shipped["properties"]) == {"project", "eval_sets", "policy", "roles", "labels", "status",
                                          "signers", "mlflow"}
    policy = shipped["$defs"]["PolicyToml"]["properties"]
    assert {"required", "owners", "allow_unreviewed"} <= set(policy)


# -- never another exception ---------------------------------------------------------------------

_keys = st.sampled_from(["policy", "required", "sme", "roles", "eval_sets", "name", "samples", "predictions",
                         "type", "columns", "id", "status", "sink", "signers", "keys", "mlflow", "labels",
                         "errors", "allow_unreviewed", "min_changed_reviewed", "table", "traces", "x"]) | st.text(max_size=8)
_scalars = (st.booleans() | st.integers() | st.floats() | st.text(max_size=10) | st.dates() | st.datetimes())
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=4),
                       max_leaves=12)


def _toml(data: dict) -> str:
    """A TOML text for `data` (inline tables; enough for the property below)."""
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return "nan" if v != v else ("inf" if v == float("inf") else "-inf" if v == float("-inf") else repr(v))
        if isinstance(v, (int,)):
            return str(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{json.dumps(k)} = {value(x)}" for k, x in v.items()) + "}"
        return v.isoformat()
    return "\n".join(f"{json.dumps(k)} = {value(v)}" for k, v in data.items()) + "\n"


def _only_config_errors(text: str) -> None:
    try:
        result = parse_config(text)
    except ConfigError as exc:
        assert "\n" not in str(exc)
    else:
        assert isinstance(result, ProjectConfig)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(_keys, _values, max_size=6))
def test_any_toml_document_gives_a_config_or_a_config_error(data):
    _only_config_errors(_toml(data))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list('[]{}="\'.,#\n\r\t abc123_-\\') + ["policy", "eval_sets", '"""', "'''",
                                                                          "required", "sme", "true"]), max_size=60)
       .map("".join) | st.text(max_size=60))
def test_any_text_gives_a_config_or_a_config_error(text):
    _only_config_errors(text)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(BASE.split("\n")).flatmap(lambda line: st.tuples(st.just(line), st.text(max_size=12))))
def test_any_edit_of_a_valid_file_gives_a_config_or_a_config_error(edit):
    line, new = edit
    _only_config_errors(BASE.replace(line, new, 1) if line else BASE + new)
