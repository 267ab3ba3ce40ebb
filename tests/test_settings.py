"""The settings file: versioned, only what was changed, migrated, and used by the CLI."""

from __future__ import annotations

import json

import pytest

from signoff.core.errors import SignoffError
from signoff.service.identity import resolve_user
from signoff.settings import SCHEMA_VERSION, Settings, load_settings, settings_path
from signoff.store.store import check_store_url
from tests.support.postgres import free_port, postgres_server  # noqa: F401  (session fixture)
from signoff.store.db import resolve_url


def test_only_what_the_user_changed_is_written(tmp_path):
    s = Settings(tmp_path / "settings.json")
    s.set("identity.user", "alice@example.com")
    s.set("appearance.theme", "system")            # the default: not written
    s.set("connections.git_repos", [])             # the default: not written
    s.save()
    assert json.loads((tmp_path / "settings.json").read_text()) == {
        "schema": SCHEMA_VERSION, "identity": {"user": "alice@example.com"}}
    s.set("identity.user", "")                     # back to the default: the key goes away
    s.set("appearance.theme", "dark")
    s.save()
    assert json.loads((tmp_path / "settings.json").read_text()) == {
        "schema": SCHEMA_VERSION, "appearance": {"theme": "dark"}}
    again = load_settings(tmp_path / "settings.json")
    assert again.get("appearance.theme") == "dark" and again.get("identity.user") == ""
    assert again.get("connections.git_repos") == []


def test_a_plugins_settings_come_with_its_defaults_and_an_older_file_keeps_them(tmp_path):
    """settings.py names no plugin: the MLflow plugin declares connections.mlflow_servers (default
    []) and the registry merges it; a file written before (when the app listed that key) still reads."""
    import signoff.settings as settings_module
    from signoff.registry import registry

    registry()
    assert "mlflow_servers" not in settings_module.DEFAULTS["connections"]
    fresh = Settings(tmp_path / "new.json")
    assert fresh.get("connections.mlflow_servers") == []
    assert set(fresh.get("connections")) >= {"git_repos", "forges", "mlflow_servers"}
    fresh.set("connections.mlflow_servers", [])                 # the plugin's default: not written
    fresh.save()
    assert json.loads((tmp_path / "new.json").read_text()) == {"schema": SCHEMA_VERSION}

    old = tmp_path / "old.json"
    servers = [{"name": "prod", "url": "https://mlflow.example.com"}]
    old.write_text(json.dumps({"schema": 1, "connections": {"mlflow_servers": servers, "git_repos": ["/src/m"]}}))
    s = load_settings(old)
    assert s.get("connections.mlflow_servers") == servers and s.get("connections.git_repos") == ["/src/m"]
    s.set("appearance.theme", "dark")
    s.save()
    assert json.loads(old.read_text())["connections"]["mlflow_servers"] == servers


def test_a_plugin_cannot_take_a_setting_the_app_or_another_plugin_defines(monkeypatch):
    import signoff.settings as settings_module

    monkeypatch.setattr(settings_module, "_registered", {})
    settings_module.register_defaults({"acme": {"greeting": "hello", "servers": []}})
    assert Settings(None).get("acme.greeting") == "hello" and settings_module.default("acme") == {
        "greeting": "hello", "servers": []}
    for taken in ({"connections": {"git_repos": ["x"]}}, {"appearance": {"theme": {"x": 1}}},
                  {"acme": {"greeting": "hi"}}):
        with pytest.raises(ValueError, match="already defined"):
            settings_module.register_defaults(taken)
    with pytest.raises(ValueError, match="sections of keys"):
        settings_module.register_defaults({"flat": 1})
    with pytest.raises(TypeError):
        settings_module.register_defaults({"acme2": {"when": object()}})
    assert settings_module.default("acme") == {"greeting": "hello", "servers": []}   # nothing of a refused tree
    with pytest.raises(KeyError):
        settings_module.default("nobody.key")


def test_an_unversioned_file_is_migrated_and_saved_in_the_new_form(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"user": "bob@example.com", "database_url": "sqlite:////tmp/x.db",
                                "theme": "light", "repos": ["/src/model"]}))
    s = load_settings(path)
    assert s.found_version == 0
    assert s.get("identity.user") == "bob@example.com" and s.get("store.url") == "sqlite:////tmp/x.db"
    assert s.get("appearance.theme") == "light" and s.get("connections.git_repos") == ["/src/model"]
    s.save()
    data = json.loads(path.read_text())
    assert data["schema"] == SCHEMA_VERSION and data["identity"] == {"user": "bob@example.com"}
    assert "user" not in data


def test_a_newer_file_keeps_what_this_version_does_not_know(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"schema": SCHEMA_VERSION + 1, "identity": {"user": "a@x"}, "future": {"k": 1}}))
    s = load_settings(path)
    s.set("appearance.theme", "dark")
    s.save()
    data = json.loads(path.read_text())
    assert data["schema"] == SCHEMA_VERSION + 1 and data["future"] == {"k": 1}


def test_a_broken_file_is_set_aside_and_reported(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text("{not json")
    s = load_settings(path)
    assert "not valid JSON" in s.problem and s.get("identity.user") == ""
    assert list(tmp_path.glob("settings.json.bad-*"))


def test_identity_and_store_come_from_the_settings_after_the_environment(monkeypatch, tmp_path):
    s = load_settings()
    assert s.path == settings_path()
    s.set("identity.user", "carol@example.com")
    s.set("store.url", f"sqlite:///{tmp_path}/team.db")
    s.save()
    assert resolve_user() == "carol@example.com"
    assert str(resolve_url()).endswith("team.db")
    monkeypatch.setenv("SIGNOFF_USER", "env@example.com")
    monkeypatch.setenv("SIGNOFF_DATABASE_URL", f"sqlite:///{tmp_path}/env.db")
    assert resolve_user() == "env@example.com"
    assert str(resolve_url()).endswith("env.db")
    assert resolve_user("flag@example.com") == "flag@example.com"


@pytest.mark.postgres
def test_test_connection_reaches_postgresql_and_names_what_failed(postgres_server):
    url = postgres_server.create_database("signoff_settings")
    assert check_store_url(url).startswith("connected to postgresql")
    bad = url.rsplit(":", 1)[0] + f":{free_port()}/nope"      # nothing listens there
    with pytest.raises(SignoffError, match="cannot open the review store"):
        check_store_url(bad)
    with pytest.raises(SignoffError, match="not a database URL"):
        check_store_url("not a url")


def test_test_connection_on_the_default_sqlite_file(tmp_path):
    assert "local (" in check_store_url("")
