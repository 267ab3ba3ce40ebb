"""`signoff config check [FILE]` and `signoff config schema`."""

import json
from pathlib import Path

from signoff.cli.main import main
from signoff.core.config import json_schema
from signoff.plugins.demo import SIGNOFF_TOML as DEMO_TOML

POLICY = """\
[[eval_sets]]
name = "intents"
samples = "evals/intents.jsonl"
predictions = "predictions/intents.jsonl"
type = "label"

[policy]
required = { sme = 2, qa = 1 }
min_changed_reviewed = 0.2
all_regressions_reviewed = true
owners = ["quinn@example.com"]

[roles]
sme = ["alice@example.com", "bob@example.com"]
qa = ["quinn@example.com"]

[signers.keys]
"alice@example.com" = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHhY alice"]
"quinn@example.com" = ["github:quinn"]
"""


def test_check_prints_the_policy_in_words(tmp_path, capsys, monkeypatch):
    (tmp_path / "signoff.toml").write_text(POLICY)
    monkeypatch.chdir(tmp_path)
    assert main(["config", "check"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "signoff.toml: valid"
    assert "needs 2 approvals by sme (alice@example.com, bob@example.com)" in out
    assert "needs 1 approval by qa (quinn@example.com)" in out
    assert "at least 20% of the changed samples must be labeled" in out
    assert "every regressed sample must be labeled" in out
    assert "an author of the candidate may not approve it" in out
    assert "a change to signoff.toml needs the approval of a policy owner: quinn@example.com" in out
    assert "reviewers with keys in [signers]: alice@example.com, quinn@example.com" in out
    assert "reviewers with no key in [signers]: bob@example.com: their decisions will not count" in out


def test_check_json(tmp_path, capsys):
    path = tmp_path / "policy.toml"
    path.write_text(POLICY)
    assert main(["config", "check", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["valid"] is True and data["required"] == {"sme": 2, "qa": 1}
    assert data["reviewers_without_keys"] == ["bob@example.com"] and data["owners"] == ["quinn@example.com"]
    assert data["eval_sets"] == [{"name": "intents", "type": "label"}]


def test_a_bad_file_is_one_line_and_exit_2(tmp_path, capsys):
    path = tmp_path / "signoff.toml"
    path.write_text(POLICY.replace("[policy]", "[polciy]"))
    assert main(["config", "check", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"signoff: {path} line 7: unknown section [polciy]; did you mean [policy]?\n"
    path.write_text(POLICY.replace("required =", "requird ="))
    assert main(["config", "check", str(path)]) == 2
    assert capsys.readouterr().err == f"signoff: {path} line 8: unknown key policy.requird; did you mean required?\n"
    assert main(["config", "check", str(tmp_path / "nope.toml")]) == 2
    assert "nope.toml: no such file" in capsys.readouterr().err


def test_unreviewed_is_said_in_words(tmp_path, capsys):
    path = tmp_path / "signoff.toml"
    path.write_text(POLICY.split("[policy]")[0] + "[policy]\nrequired = {}\nallow_unreviewed = true\n")
    assert main(["config", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "needs no approval: releases ship without human review (policy.allow_unreviewed = true)" in out
    assert "no policy owners" in out


def test_the_demo_policy_checks(tmp_path, capsys):
    path = tmp_path / "signoff.toml"
    path.write_text(DEMO_TOML)
    assert main(["config", "check", str(path)]) == 0
    assert "needs 2 approvals by sme" in capsys.readouterr().out


def test_schema_prints_the_shipped_file(capsys):
    assert main(["config", "schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    shipped = Path(__file__).resolve().parents[1] / "resources" / "schema" / "signoff.schema.json"
    assert printed == json_schema() == json.loads(shipped.read_text(encoding="utf-8"))


def test_the_reference_example_is_valid(tmp_path, capsys):
    doc = (Path(__file__).resolve().parents[1] / "docs" / "configuration.md").read_text(encoding="utf-8")
    example = doc.split("## A complete example")[1].split("```toml\n")[1].split("```")[0]
    path = tmp_path / "signoff.toml"
    path.write_text(example)
    assert main(["config", "check", str(path)]) == 0
    assert "(unless .signoff/allowed_signers lists them): quinn@example.com: their decisions will not count" \
        in capsys.readouterr().out
