"""A third party's source, sink, renderer and UI extension, each a tiny package installed in the test
(`pip install --no-deps --target TMP`, never into the venv), work end to end without a
line of app/ knowing them (issue 14: plugins own their features):

- the source `acme` brings its own `signoff request` option (--acme-dir) and its own
  signoff.toml section ([acme-tool]); the schema stays strict for everything else;
- the sink `acme-chat` declares its token variable and default URL: the CLI loop's statuses
  reach it, with the token from ACME_CHAT_TOKEN;
- the renderer shows the new output type `waveform` in the window, and `signoff review --type`
  takes it;
- the UI extension's command (Tools ▸ Acme hello…, Ctrl+Alt+H) is in the window's menus and
  runs, reading the setting the extension declares with its default (acme.greeting).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support import subprocess_pythonpath
from tests.support.keys import key_file, with_signers

SOURCE = {
    "acme_source/__init__.py": '''
        """A third-party source: eval sets from one JSON file per model in --acme-dir."""
        import hashlib
        import json
        import os

        import msgspec
        import pandas as pd

        from signoff.core.config import parse_config
        from signoff.core.model import EvalSetData, LoadedInput
        from signoff.plugin_api import CliOption, Source


        class AcmeToml(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, frozen=True):
            """[acme-tool]: which file of --acme-dir holds the waveforms."""
            data_file: str = "waves.json"


        class AcmeSource(Source):
            NAME = "acme"
            CLI_OPTIONS = (CliOption("--acme-dir", "acme: the folder of waves.json", metavar="DIR", required=True),)
            CONFIG_SECTIONS = {"acme-tool": AcmeToml}

            def __init__(self, acme_dir, policy=""):
                self.acme_dir, self.policy = os.path.abspath(acme_dir), policy

            def locator(self):
                return {"acme_dir": self.acme_dir, "policy": self.policy}

            def load(self, *, candidate, baseline=None, task=None):
                text = open(self.policy, encoding="utf-8").read()
                config = parse_config(text, self.policy)
                section = config.section("acme-tool") or AcmeToml()
                raw = open(os.path.join(self.acme_dir, section.data_file), "rb").read()
                data = json.loads(raw)
                sets = [EvalSetData(spec=spec, samples=pd.DataFrame(data["samples"]),
                                    baseline=pd.DataFrame(data["baseline"]), candidate=pd.DataFrame(data["candidate"]),
                                    content_hash=hashlib.sha256(raw).hexdigest())
                        for spec in config.eval_sets]
                return LoadedInput(config=config, source=self.NAME, locator=self.locator(), candidate_ref=candidate,
                                   baseline_ref=baseline or "previous", candidate_author="", eval_sets=sets,
                                   title=f"acme waves ({section.data_file})", config_text=text)
    ''',
    "pyproject.toml": '''
        [project]
        name = "acme-source"
        version = "1.0"
        [project.entry-points."signoff.sources"]
        acme = "acme_source:AcmeSource"
        [tool.setuptools]
        packages = ["acme_source"]
    ''',
}

SINK = {
    "acme_sink/__init__.py": '''
        """A third-party status sink: appends each status to $ACME_CHAT_LOG (never the token)."""
        import json
        import os

        from signoff.credentials import find_token
        from signoff.plugin_api import DeliveryError, StatusSink, TokenSpec


        class AcmeChatSink(StatusSink):
            NAME = "acme-chat"
            DISPLAY_NAME = "Acme Chat"
            TOKEN = TokenSpec("acme-chat", env=("ACME_CHAT_TOKEN",), default_url="https://chat.acme.test",
                              public_host="chat.acme.test")

            def __init__(self, *, api_url="", store=None, **_options):
                self.api_url = api_url or self.TOKEN.default_url

            def post(self, update):
                found = find_token(self.TOKEN, self.api_url)
                if found.token is None:
                    raise DeliveryError(f"no acme-chat token for {found.host}", retry=False)
                with open(os.environ["ACME_CHAT_LOG"], "a", encoding="utf-8") as f:
                    f.write(json.dumps({"sha": update.sha, "state": update.state, "host": found.host,
                                        "token_from": found.source}) + "\\n")
    ''',
    "pyproject.toml": '''
        [project]
        name = "acme-sink"
        version = "1.0"
        [project.entry-points."signoff.status_sinks"]
        acme-chat = "acme_sink:AcmeChatSink"
        [tool.setuptools]
        packages = ["acme_sink"]
    ''',
}

RENDERER = {
    "acme_waves/__init__.py": '''
        """A third-party renderer for the output type `waveform` (no Qt here; the view is lazy)."""
        from signoff.plugin_api import Renderer


        class WaveRenderer(Renderer):
            NAME = "waves"
            OUTPUT_TYPE = "waveform"

            def create_view(self, parent=None):
                from .view import WaveView

                return WaveView(parent)
    ''',
    "acme_waves/view.py": '''
        from PySide6.QtWidgets import QVBoxLayout

        from signoff.ui.renderer_sdk import OutputView, as_text, plain_label, side_title


        class WaveView(OutputView):
            """Each side's waveform as its number of points (text only, as the SDK asks)."""

            def __init__(self, parent=None):
                super().__init__(parent)
                self.lines = [plain_label(""), plain_label("")]
                lay = QVBoxLayout(self)
                for line in self.lines:
                    lay.addWidget(line)

            def show_sample(self, shown):
                self.shown = shown
                for line, side in zip(self.lines, shown.sides):
                    points = as_text(side.output).split()
                    line.setText(f"{side_title(side)}: {len(points)} points")

            def clear(self):
                super().clear()
                for line in self.lines:
                    line.setText("")

            def text_content(self):
                return "\\n".join(line.text() for line in self.lines)
    ''',
    "pyproject.toml": '''
        [project]
        name = "acme-waves"
        version = "1.0"
        [project.entry-points."signoff.renderers"]
        waves = "acme_waves:WaveRenderer"
        [tool.setuptools]
        packages = ["acme_waves"]
    ''',
}

UI = {
    "acme_ui/__init__.py": '''
        """A third-party UI extension: Tools ▸ Acme hello… and a setting of its own (no Qt here)."""
        from signoff.plugin_api import ExtensionAction, UiExtension


        class AcmeUi(UiExtension):
            NAME = "acme-ui"
            ACTIONS = (ExtensionAction("acme.hello", "Acme hello…", "Ctrl+Alt+H", menu="Tools",
                                       tip="greets the reviewer"),)
            SETTINGS_DEFAULTS = {"acme": {"greeting": "hello"}}

            def trigger(self, action, host):
                from .dialog import HelloDialog

                dialog = HelloDialog(host)
                dialog.open()
                return dialog
    ''',
    "acme_ui/dialog.py": '''
        from PySide6.QtWidgets import QDialog, QVBoxLayout

        from signoff.ui.extension_sdk import load_settings, plain_label


        class HelloDialog(QDialog):
            def __init__(self, host):
                super().__init__(host.window)
                self.label = plain_label(f"{load_settings().get('acme.greeting')}, {host.service.user}")
                QVBoxLayout(self).addWidget(self.label)
    ''',
    "pyproject.toml": '''
        [project]
        name = "acme-ui"
        version = "1.0"
        [project.entry-points."signoff.ui_extensions"]
        acme-ui = "acme_ui:AcmeUi"
        [tool.setuptools]
        packages = ["acme_ui"]
    ''',
}

POLICY = """
[[eval_sets]]
name = "waves"
type = "waveform"
samples = "-"
predictions = "-"

[policy]
required = { sme = 1 }

[roles]
sme = ["alice@example.com"]

[status]
sink = "acme-chat"
repo = "acme/model"

[acme-tool]
data_file = "waves.json"
"""

WAVES = {
    "samples": [{"id": "w1", "input": "hum"}, {"id": "w2", "input": "beep"}],
    "baseline": [{"id": "w1", "output": "1 2 3"}, {"id": "w2", "output": "4 5"}],
    "candidate": [{"id": "w1", "output": "1 2 3"}, {"id": "w2", "output": "4 5 6 7"}],
}
SHA = "c0ffee" * 6 + "abcd"


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The four packages, built and installed into one folder (the test's PYTHONPATH adds it)."""
    root = tmp_path_factory.mktemp("third-party")
    target = root / "site"
    for name, files in (("source", SOURCE), ("sink", SINK), ("renderer", RENDERER), ("ui", UI)):
        src = root / name
        for rel, text in files.items():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            (src / rel).write_text(textwrap.dedent(text).lstrip())
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                        "--target", str(target), str(src)], check=True, capture_output=True, text=True)
    return target


@pytest.fixture
def project(tmp_path) -> Path:
    (tmp_path / "waves").mkdir()
    (tmp_path / "waves" / "waves.json").write_text(json.dumps(WAVES))
    (tmp_path / "signoff.toml").write_text(with_signers(POLICY))
    return tmp_path


def _run(installed: Path, home: Path, *args, user="ci@example.com", key=False):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(installed), subprocess_pythonpath()]),
           "SIGNOFF_HOME": str(home / "signoff-home"), "SIGNOFF_USER": user,
           "ACME_CHAT_TOKEN": "t0ken", "ACME_CHAT_LOG": str(home / "chat.log")}
    env.pop("SIGNOFF_DATABASE_URL", None)
    if key:
        env["SIGNOFF_SIGNING_KEY"] = str(key_file(user))
    p = subprocess.run([sys.executable, "-m", "signoff", *args], env=env, cwd=home, capture_output=True, text=True,
                       timeout=180)
    return p.returncode, p.stdout, p.stderr


def test_the_cli_loop_with_a_third_party_source_and_sink(installed, project):
    run = lambda *a, **k: _run(installed, project, *a, **k)   # noqa: E731
    # the source's own option and section, in --help and in the schema; strict for the rest
    code, out, err = run("request", "--help")
    assert code == 0 and "--acme-dir" in out, err
    code, out, err = run("config", "schema")
    assert code == 0 and "acme-tool" in json.loads(out)["properties"], err
    assert run("config", "check", str(project / "signoff.toml"))[0] == 0
    (project / "typo.toml").write_text(with_signers(POLICY).replace("[acme-tool]", "[acme-tol]"))
    code, _, err = run("config", "check", str(project / "typo.toml"))
    assert code == 2 and "unknown section [acme-tol]; did you mean [acme-tool]?" in err
    code, _, err = run("request", "--sha", SHA, "--source", "acme", "--policy", str(project / "signoff.toml"))
    assert code == 2 and "--acme-dir DIR" in err and err.count("\n") == 1
    code, _, err = run("request", "--sha", SHA, "--source", "git", "--acme-dir", "waves")
    assert code == 2 and "--acme-dir is for --source acme, not git" in err

    code, out, err = run("request", "--sha", SHA, "--source", "acme", "--acme-dir", "waves",
                         "--policy", str(project / "signoff.toml"), "--json")
    assert code == 0, err
    req = json.loads(out)
    assert req["status"] == "pending"
    code, out, err = run("samples", str(req["id"]), "--json")
    assert code == 0, err
    code, _, err = run("label", str(req["id"]), "waves", "w2", "--verdict", "candidate", user="alice@example.com", key=True)
    assert code == 0, err
    code, _, err = run("decide", str(req["id"]), "--decision", "approve", user="alice@example.com", key=True)
    assert code == 0, err
    assert run("status", "--sha", SHA)[0] == 0

    posted = [json.loads(line) for line in (project / "chat.log").read_text().splitlines()]
    assert [p["state"] for p in posted][0] == "pending" and posted[-1]["state"] == "approved"
    assert {p["host"] for p in posted} == {"chat.acme.test"}                 # the sink's default URL
    assert {p["token_from"] for p in posted} == {"env ACME_CHAT_TOKEN"}      # its token variable
    assert "t0ken" not in (project / "chat.log").read_text()


def test_signoff_review_takes_a_renderer_plugins_output_type(installed, project):
    run = lambda *a, **k: _run(installed, project, *a, **k)   # noqa: E731
    for side in ("baseline", "candidate"):
        rows = [{"id": s["id"], "input": "x", "output": o["output"]} for s, o in zip(WAVES["samples"], WAVES[side])]
        (project / f"{side}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, out, err = run("review", "--help")
    assert code == 0 and "waveform" in out, err
    code, out, err = run("review", "baseline.jsonl", "candidate.jsonl", "--type", "waveform", "--no-gui", "--json",
                         user="alice@example.com", key=True)
    assert code == 0, err
    made = json.loads(out)
    assert made["type"] == "waveform" and made["eval_sets"][0]["classes"]["changed"] == 1
    code, _, err = run("review", "baseline.jsonl", "candidate.jsonl", "--type", "wavefrom", "--no-gui")
    assert code == 2 and "waveform" in err and err.count("\n") == 1


@pytest.mark.gui
def test_the_window_shows_the_new_output_type_and_the_extensions_command(installed, project, qtbot, monkeypatch):
    from signoff.registry import registry

    monkeypatch.syspath_prepend(str(installed))
    monkeypatch.setenv("ACME_CHAT_TOKEN", "t0ken")
    monkeypatch.setenv("ACME_CHAT_LOG", str(project / "chat.log"))
    monkeypatch.setenv("SIGNOFF_USER", "alice@example.com")
    try:
        reg = registry(refresh=True)
        assert {"acme", "acme-chat", "waves"} <= set(reg.sources) | set(reg.sinks) | set(reg.renderers), reg.problems
        assert "acme-ui" in reg.ui_extensions, reg.problems
        from signoff.service.review import ReviewService
        from signoff.store.store import Store
        from signoff.ui.app import create_main_window

        service = ReviewService(Store(), user="alice@example.com")
        source = reg.source("acme")(str(project / "waves"), policy=str(project / "signoff.toml"))
        req = service.create_request(source, sha=SHA)
        window = create_main_window(service)
        qtbot.addWidget(window)
        window.show()
        try:
            with qtbot.waitSignal(window.comparisonLoaded, timeout=20_000):
                assert window.inbox.select(req.id)
            window.select_row(window.model.row_of("w2"))
            view = window.detail.view
            assert type(view).__name__ == "WaveView" and window.detail.view_problem == ""
            assert view.text_content().splitlines() == ["BASELINE: 2 points", "CANDIDATE: 4 points"]
            # the extension's command: in its menu with its key, and it runs
            hello = window.actions_by_id["acme.hello"]
            tools = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Tools")
            assert hello in tools.actions() and hello.shortcut().toString() == "Ctrl+Alt+H"
            assert "Acme hello…" in window.shortcut_text()
            hello.trigger()
            dialog = window.extension_windows["acme.hello"]
            assert dialog.isVisible() and dialog.label.text() == "hello, alice@example.com"
            dialog.reject()
        finally:
            window.shutdown()
        # Settings ▸ Forge tokens offers the sink by its name, with its default URL and display name
        from signoff.ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog()
        qtbot.addWidget(dialog)
        combo = dialog.forge_combo
        names = [combo.itemText(i) for i in range(combo.count())]
        assert {"github", "gitlab", "gitea", "acme-chat"} <= set(names) and "local" not in names
        combo.setCurrentText("acme-chat")
        assert dialog.api_edit.text() == "https://chat.acme.test"
        assert dialog.token_status.text().startswith("A Acme Chat token for chat.acme.test is set (env ACME_CHAT_TOKEN).")
    finally:
        monkeypatch.undo()
        registry(refresh=True)   # the other tests see the built-in plugins only
