"""The user's settings: a small versioned JSON file in the config dir (no Qt).

    settings = load_settings()            # $SIGNOFF_CONFIG_DIR or the per-user config dir
    settings.get("identity.user")         # "" when not set
    settings.set("store.url", "postgresql://…")
    settings.save()

The file holds only what the user changed: a value set back to its default
is removed, so a later default reaches everyone who never touched it.

    {"schema": 1, "identity": {"user": "alice@example.com"}, "appearance": {"theme": "dark"}}

`schema` is the file's version. Older files are migrated on load (see
MIGRATIONS) and written in the new form at the next save; a file from a
newer Signoff is read as far as it is understood and never overwritten
without the keys it had. A file that is not valid JSON is set aside as
settings.json.bad-<time> and reported, never fatal.

What wins where two places say something (PRODUCT.md):
    identity:  --user  >  SIGNOFF_USER  >  settings identity.user  >  git user.email
    signing key: SIGNOFF_SIGNING_KEY  >  settings identity.signing_key  (configured_signing_key())
    store:     SIGNOFF_DATABASE_URL  >  settings store.url  >  SQLite in SIGNOFF_HOME
    comparison files: SIGNOFF_COMPARISONS  >  settings store.comparisons  >  next to the SQLite store

A plugin's own keys come with their defaults from the plugin (SETTINGS_DEFAULTS, merged by
the registry through `register_defaults`): this module names no plugin.

Window geometry and splitter state are not here: they live in QSettings
(app/ui/layout.py), which is made for Qt's own binary state.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
ENV_CONFIG_DIR = "SIGNOFF_CONFIG_DIR"
FILE_NAME = "settings.json"
THEMES = ("system", "light", "dark")
INBOX_SCOPES = ("all", "mine")
ENV_SIGNING_KEY = "SIGNOFF_SIGNING_KEY"
AGENT_PREFIX = "agent:"     # identity.signing_key for a key held by the ssh-agent: "agent:SHA256:<fingerprint>"

DEFAULTS: dict[str, Any] = {
    "identity": {"user": "", "signing_key": ""},   # signing_key: a private key file, or "agent:SHA256:…"
    "store": {"url": "", "comparisons": ""},   # comparisons: where comparison files go (path or URI)
    "connections": {
        "git_repos": [],          # ["/path/to/model-repo", …]
        "forges": [],             # [{"forge": "github", "api_url": "https://api.github.com"}, …] (tokens: keyring)
    },
    "appearance": {"theme": "system"},
    "inbox": {"scope": "all"},
}
_MISSING = object()
# The keys plugins add (their SETTINGS_DEFAULTS, merged by app/registry.py through
# register_defaults), e.g. the MLflow plugin's connections.mlflow_servers: this module names no plugin.
_registered: dict[str, Any] = {}


def _leaves(tree: dict, prefix: str = ""):
    for name, value in tree.items():
        if isinstance(value, dict) and value:
            yield from _leaves(value, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", value


def register_defaults(tree: dict) -> None:
    """A plugin's settings with their defaults, {"section": {"key": default}}, merged with the
    app's. A key the app or another plugin already defines is refused (ValueError), nothing of
    the tree is taken then; a default must be JSON (it is what the file would hold)."""
    if not isinstance(tree, dict) or not all(isinstance(v, dict) for v in tree.values()):
        raise ValueError("settings defaults are sections of keys, e.g. {'connections': {'x': []}}")
    leaves = dict(_leaves(tree))
    for key, value in leaves.items():
        parts = key.split(".")
        for n in range(1, len(parts) + 1):   # the key itself, or a value where it would need a section
            for defined in (DEFAULTS, _registered):
                found = _get(defined, ".".join(parts[:n]), _MISSING)
                if found is not _MISSING and (n == len(parts) or not isinstance(found, dict)):
                    raise ValueError(f"the setting {key} is already defined")
        json.dumps(value)   # TypeError for what the file could not hold
    for key, value in leaves.items():
        parts = key.split(".")
        cur = _registered
        for part in parts[:-1]:
            cur = cur.setdefault(part, {})
        cur[parts[-1]] = copy.deepcopy(value)


def reset_registered() -> None:
    """Forget the plugins' defaults (the registry registers them again when it reloads)."""
    _registered.clear()


def _v0_to_v1(data: dict) -> dict:
    """The first sketch had flat keys: user, database_url, theme, repos."""
    out: dict[str, Any] = {}
    if data.get("user"):
        out.setdefault("identity", {})["user"] = str(data["user"])
    if data.get("database_url"):
        out.setdefault("store", {})["url"] = str(data["database_url"])
    if data.get("theme") in THEMES:
        out.setdefault("appearance", {})["theme"] = data["theme"]
    if isinstance(data.get("repos"), list):
        out.setdefault("connections", {})["git_repos"] = [str(r) for r in data["repos"]]
    return out


# version n -> function that turns a version-n dict into a version n+1 dict
MIGRATIONS: dict[int, Callable[[dict], dict]] = {0: _v0_to_v1}


def config_dir() -> Path:
    env = os.environ.get(ENV_CONFIG_DIR, "").strip()
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir("signoff", appauthor=False))


def settings_path() -> Path:
    return config_dir() / FILE_NAME


def _get(tree: dict, key: str, default=None):
    cur: Any = tree
    for part in key.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return default
        cur = cur[part]
    return cur


def default(key: str):
    value = _get(DEFAULTS, key, _MISSING)
    plugins = _get(_registered, key, _MISSING)
    if isinstance(value, dict) and isinstance(plugins, dict):   # a section both define: the app's and the plugins' keys
        value = {**value, **plugins}
    elif value is _MISSING:
        value = plugins
    if value is _MISSING:
        if key.split(".")[0] not in DEFAULTS and key.split(".")[0] not in _registered:
            raise KeyError(f"no setting {key!r}")
        value = None
    return copy.deepcopy(value)


def migrate(data: dict) -> tuple[dict, int]:
    """(data in the current schema, the version it had)."""
    version = data.get("schema", 0)
    if not isinstance(version, int) or version < 0:
        version = 0
    found = version
    body = {k: v for k, v in data.items() if k != "schema"}
    while version < SCHEMA_VERSION:
        body = MIGRATIONS[version](body)
        version += 1
    return body, found


class Settings:
    def __init__(self, path: Path | None = None, values: dict | None = None, *, problem: str = "",
                 found_version: int = SCHEMA_VERSION):
        self.path = Path(path) if path else settings_path()
        self.values: dict = values or {}      # only what the user changed
        self.problem = problem                # why the file could not be read, shown in the dialog
        self.found_version = found_version

    def get(self, key: str):
        return copy.deepcopy(_get(self.values, key, default(key)))

    def is_set(self, key: str) -> bool:
        return _get(self.values, key, _MISSING) is not _MISSING

    def set(self, key: str, value) -> None:
        """Set a value; the default value removes the key (the file keeps only changes)."""
        if key == "appearance.theme" and value not in THEMES:
            raise ValueError(f"theme must be one of {', '.join(THEMES)}")
        parts = key.split(".")
        if value == default(key):
            self._remove(parts)
            return
        cur = self.values
        for part in parts[:-1]:
            cur = cur.setdefault(part, {})
        cur[parts[-1]] = copy.deepcopy(value)

    def _remove(self, parts: list[str]) -> None:
        chain = [self.values]
        for part in parts[:-1]:
            nxt = chain[-1].get(part)
            if not isinstance(nxt, dict):
                return
            chain.append(nxt)
        chain[-1].pop(parts[-1], None)
        for i in range(len(parts) - 2, -1, -1):   # drop sections left empty
            if not chain[i + 1]:
                chain[i].pop(parts[i], None)

    def to_json(self) -> str:
        return json.dumps({"schema": max(SCHEMA_VERSION, self.found_version), **self.values}, indent=2,
                          ensure_ascii=False, sort_keys=True) + "\n"

    def save(self) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(self.to_json(), encoding="utf-8")
        os.replace(tmp, self.path)
        return self.path


def load_settings(path: Path | None = None) -> Settings:
    path = Path(path) if path else settings_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings(path)
    except OSError as exc:
        return Settings(path, problem=f"{path}: could not be read ({exc.strerror or exc}); using the defaults")
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        aside = path.with_name(f"{path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            os.replace(path, aside)
            where = f"; it was moved to {aside}"
        except OSError:
            where = ""
        log.warning("settings file %s is not valid JSON: %s", path, exc)
        return Settings(path, problem=f"{path} was not valid JSON ({exc}){where}; using the defaults")
    body, found = migrate(data)
    return Settings(path, body, found_version=found)


def configured_user() -> str:
    """identity.user from the settings file ('' when unset or unreadable)."""
    try:
        return str(load_settings().get("identity.user") or "").strip()
    except Exception:  # settings must never stop the CLI
        return ""


@dataclass(frozen=True)
class SigningKeyChoice:
    """The key Signoff signs with, as the user chose it (Settings ▸ Identity) or SIGNOFF_SIGNING_KEY says.

    Exactly one of `path` (a private key file) and `agent_fingerprint` ("SHA256:…", a key the
    ssh-agent holds) is set. `source` is "SIGNOFF_SIGNING_KEY" or "settings"."""

    path: Path | None
    agent_fingerprint: str
    source: str


def configured_signing_key() -> SigningKeyChoice | None:
    """SIGNOFF_SIGNING_KEY (a private key file) when set, else settings identity.signing_key, else None
    (then the signer takes the agent key the policy lists for the user)."""
    env = os.environ.get(ENV_SIGNING_KEY, "").strip()
    if env:
        return SigningKeyChoice(Path(env).expanduser(), "", ENV_SIGNING_KEY)
    try:
        value = str(load_settings().get("identity.signing_key") or "").strip()
    except Exception:  # settings must never stop the CLI
        return None
    if not value:
        return None
    if value.startswith(AGENT_PREFIX):
        return SigningKeyChoice(None, value[len(AGENT_PREFIX):], "settings")
    return SigningKeyChoice(Path(value).expanduser(), "", "settings")


def configured_store_url() -> str:
    try:
        return str(load_settings().get("store.url") or "").strip()
    except Exception:
        return ""


def configured_comparisons() -> str:
    """Where comparison files go (app/store/comparison_files.py): a path or URI, "" for the default."""
    try:
        return str(load_settings().get("store.comparisons") or "").strip()
    except Exception:
        return ""
