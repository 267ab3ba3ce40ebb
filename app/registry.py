"""Plugin discovery through entry points. A plugin that fails to load is
reported (PluginProblem), never fatal: the others still work."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib.metadata import entry_points

from . import credentials as _credentials
from . import settings as _settings
from .core import config as _config
from .core.errors import InputError
from .plugin_api import GROUP_RENDERERS, GROUP_SINKS, GROUP_SOURCES, GROUP_UI_EXTENSIONS

log = logging.getLogger(__name__)


@dataclass
class Registry:
    sources: dict[str, type] = field(default_factory=dict)
    sinks: dict[str, type] = field(default_factory=dict)
    renderers: dict[str, type] = field(default_factory=dict)
    ui_extensions: dict[str, type] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

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


def _load_group(group: str, table: dict, problems: list[str]) -> None:
    for ep in entry_points(group=group):
        try:
            table[ep.name] = ep.load()
        except Exception as exc:  # a broken plugin must not take the app down
            msg = f"plugin {ep.name!r} ({group}) failed to load: {exc}"
            log.warning(msg)
            problems.append(msg)


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
        _load_group(GROUP_SOURCES, reg.sources, reg.problems)
        _load_group(GROUP_SINKS, reg.sinks, reg.problems)
        _load_group(GROUP_RENDERERS, reg.renderers, reg.problems)
        _load_group(GROUP_UI_EXTENSIONS, reg.ui_extensions, reg.problems)
        _register_config(reg)
        _REGISTRY = reg
    return _REGISTRY


# Parsing a signoff.toml that names a plugin's output type, sink or section loads the plugins
# first (core cannot import this module; it is handed the loader instead).
_config.set_plugin_loader(registry)
_credentials.set_spec_loader(registry)
