"""Plugin discovery through entry points, loaded lazily: a plugin module is imported when its
name is first asked for (`registry().source("files")` imports the files source only; the
others' heavy dependencies, GitPython, the MLflow client, requests, stay unimported). Asking for
all of a group (iterating `registry().sources`, `load_all()`) imports every one of it. A plugin
that fails to load is reported (PluginProblem in `problems`), never fatal: the others still
work. The plugins' additions to signoff.toml's schema (output types, sinks, sections, token
specs) are registered when everything is loaded: parsing a file that names one not registered
yet loads them (core.config's plugin loader), as does `load_all()`."""

from __future__ import annotations

import logging
import threading
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points

from . import credentials as _credentials
from . import settings as _settings
from .core import config as _config
from .core.errors import InputError
from .plugin_api import GROUP_RENDERERS, GROUP_SINKS, GROUP_SOURCES, GROUP_UI_EXTENSIONS

log = logging.getLogger(__name__)

_LOAD_LOCK = threading.RLock()   # the start-up worker and the GUI thread may both ask for a plugin


class PluginGroup(MutableMapping):
    """name -> plugin class of one entry-point group, each loaded when first asked for by name;
    iterating (or len) loads them all. A name whose plugin failed to load is absent (its
    problem is in `problems`). A class may also be set under a name (an application embedding
    Signoff, a test): it stands for that name until deleted."""

    def __init__(self, group: str, problems: list[str]):
        self.group = group
        self._problems = problems
        self._eps = None            # name -> EntryPoint, read from the metadata when first needed
        self._loaded: dict[str, type] = {}
        self._failed: set[str] = set()

    def declared(self) -> list[str]:
        """The names the installed metadata declares (loaded or not, broken or not)."""
        return sorted(self._entry_points())

    def _entry_points(self) -> dict:
        if self._eps is None:
            eps = {}
            for ep in entry_points(group=self.group):
                eps.setdefault(ep.name, ep)       # the first one wins, as when all were loaded in order
            self._eps = eps
        return self._eps

    def _load(self, name: str) -> type | None:
        with _LOAD_LOCK:
            if name in self._loaded:
                return self._loaded[name]
            ep = self._entry_points().get(name)
            if ep is None or name in self._failed:
                return None
            try:
                cls = ep.load()
            except Exception as exc:  # a broken plugin must not take the app down
                msg = f"plugin {name!r} ({self.group}) failed to load: {exc}"
                log.warning(msg)
                self._problems.append(msg)
                self._failed.add(name)
                return None
            self._loaded[name] = cls
            return cls

    def load_all(self) -> dict[str, type]:
        for name in self._entry_points():
            self._load(name)
        with _LOAD_LOCK:
            declared = [n for n in self._entry_points() if n in self._loaded]
            return {n: self._loaded[n] for n in declared + sorted(set(self._loaded) - set(declared))}

    def __setitem__(self, name: str, cls: type) -> None:
        with _LOAD_LOCK:
            self._loaded[name] = cls
            self._failed.discard(name)

    def __delitem__(self, name: str) -> None:
        with _LOAD_LOCK:
            if name not in self._loaded:
                raise KeyError(name)
            del self._loaded[name]   # a declared plugin is loaded again when next asked for

    def __getitem__(self, name: str) -> type:
        cls = self._loaded.get(name) or self._load(name)
        if cls is None:
            raise KeyError(name)
        return cls

    def __contains__(self, name) -> bool:
        return isinstance(name, str) and (name in self._loaded or self._load(name) is not None)

    def __iter__(self):
        return iter(self.load_all())

    def __len__(self) -> int:
        return len(self.load_all())

    def __repr__(self) -> str:
        return f"PluginGroup({self.group!r}, loaded={sorted(self._loaded)})"


@dataclass
class Registry:
    problems: list[str] = field(default_factory=list)
    sources: PluginGroup = field(init=False)
    sinks: PluginGroup = field(init=False)
    renderers: PluginGroup = field(init=False)
    ui_extensions: PluginGroup = field(init=False)

    def __post_init__(self):
        self.sources = PluginGroup(GROUP_SOURCES, self.problems)
        self.sinks = PluginGroup(GROUP_SINKS, self.problems)
        self.renderers = PluginGroup(GROUP_RENDERERS, self.problems)
        self.ui_extensions = PluginGroup(GROUP_UI_EXTENSIONS, self.problems)
        self._all_loaded = False

    def groups(self) -> dict[str, PluginGroup]:
        return {g.group: g for g in (self.sources, self.sinks, self.renderers, self.ui_extensions)}

    def load_all(self) -> Registry:
        """Every plugin of every group, and what they add to signoff.toml's schema registered
        (`signoff plugins`, `config check`/`schema`, a file naming a plugin's section)."""
        with _LOAD_LOCK:
            if not self._all_loaded:
                for group in self.groups().values():
                    group.load_all()
                _register_config(self)
                self._all_loaded = True
        return self

    def source(self, name: str) -> type:
        return self._get(self.sources, name, "source")

    def sink(self, name: str) -> type:
        return self._get(self.sinks, name, "status sink")

    def token_sinks(self) -> dict[str, type]:
        """name -> sink class, for the sinks that take a token (a TokenSpec): Settings and
        `signoff token` offer these."""
        return {name: cls for name, cls in sorted(self.sinks.items())
                if isinstance(getattr(cls, "TOKEN", None), _credentials.TokenSpec)}

    def renderer_for(self, output_type: str) -> type | None:
        """The renderer plugin that shows `output_type` (by its OUTPUT_TYPE, else by
        entry-point name); None when no installed renderer does."""
        for cls in self.renderers.values():
            if getattr(cls, "OUTPUT_TYPE", None) == output_type:
                return cls
        return self.renderers.get(output_type)

    def _get(self, table: dict, name: str, what: str) -> type:
        try:
            return table[name]
        except KeyError:
            extra = f" ({'; '.join(self.problems)})" if self.problems else ""
            raise InputError(f"no {what} plugin named {name!r}; installed: {', '.join(sorted(table)) or 'none'}{extra}") from None


def _register_config(reg: Registry) -> None:
    """Tell signoff.toml's schema what the plugins add: output types (renderers), status sinks
    that post commit statuses, and the sections a plugin declares in CONFIG_SECTIONS; tell the
    settings file the keys a plugin declares in SETTINGS_DEFAULTS."""
    config = _config
    config.reset_registered()
    _settings.reset_registered()
    config.register_output_types(*(getattr(cls, "OUTPUT_TYPE", None) or name for name, cls in reg.renderers.items()))
    config.register_sinks(*(name for name, cls in reg.sinks.items() if getattr(cls, "POSTS_COMMIT_STATUSES", True)))
    for cls in reg.sinks.values():
        spec = getattr(cls, "TOKEN", None)
        if isinstance(spec, _credentials.TokenSpec):
            _credentials.register_token_spec(spec)
    for name, cls in reg.sources.items():
        try:
            config.register_eval_set_keys(*(getattr(cls, "EVAL_SET_KEYS", None) or ()))
        except (TypeError, ValueError) as exc:   # a broken plugin must not take the app down
            reg.problems.append(f"plugin {name!r}: its [[eval_sets]] keys not registered: {exc}")
    settings_of: set[type] = set()
    for group in (reg.sources, reg.sinks, reg.renderers, reg.ui_extensions):
        for name, cls in group.items():
            for section, spec in (getattr(cls, "CONFIG_SECTIONS", None) or {}).items():
                struct, *hooks = spec if isinstance(spec, tuple) else (spec,)   # (Struct[, build[, refine]])
                try:
                    config.register_section(section, struct, *hooks)
                except (TypeError, ValueError) as exc:   # a broken plugin must not take the app down
                    msg = f"plugin {name!r}: config section [{section}] not registered: {exc}"
                    log.warning(msg)
                    reg.problems.append(msg)
            if getattr(cls, "SETTINGS_DEFAULTS", None) and cls not in settings_of:   # a class in two groups: once
                settings_of.add(cls)
                try:
                    _settings.register_defaults(cls.SETTINGS_DEFAULTS)
                except (TypeError, ValueError) as exc:
                    msg = f"plugin {name!r}: its settings not registered: {exc}"
                    log.warning(msg)
                    reg.problems.append(msg)


_REGISTRY: Registry | None = None


def registry(refresh: bool = False) -> Registry:
    global _REGISTRY
    if _REGISTRY is None or refresh:
        reg = Registry()
        if refresh:   # a plugin installed or removed meanwhile: scan and register everything again
            reg.load_all()
        _REGISTRY = reg
    return _REGISTRY


def load_all_plugins() -> Registry:
    return registry().load_all()


# Parsing a signoff.toml that names a plugin's output type, sink or section loads the plugins
# first (core cannot import this module; it is handed the loader instead).
_config.set_plugin_loader(load_all_plugins)
_credentials.set_spec_loader(load_all_plugins)
