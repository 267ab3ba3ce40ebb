"""Forge tokens: in the OS keyring per forge host, environment variables as
the fallback for CI.

    keyring   service "signoff", user "<forge>@<host>"  (e.g. "github@api.github.com")
    env       the sink's variables (StatusSink.TOKEN: GITHUB_TOKEN, GITLAB_TOKEN, GITEA_TOKEN or FORGEJO_TOKEN, …)

Which variables hold a forge's token, where the environment says its host is and its public
default are the sink plugin's (a TokenSpec, `StatusSink.TOKEN`), not a list here: app/registry.py
registers each loaded sink's spec (`register_token_spec`); a forge name not registered yet makes
the lookup load the plugins once (`set_spec_loader`), then it has no variables (keyring only).

The keyring wins when it holds a token for the host; the variable is read
otherwise.

Tokens go only where they were meant to (docs/trust.md, "Tokens and hosts"):
- a keyring token is looked up by its exact host (with the port), so it is
  only ever sent to the host it was saved for;
- an ENVIRONMENT token is for the forge host the environment names
  (TokenSpec.host_env: GITHUB_API_URL; CI_API_V4_URL / CI_SERVER_URL;
  GITEA_API_URL / GITEA_SERVER_URL, or GITHUB_API_URL under Gitea/Forgejo
  Actions: runner_flags), else the public default (api.github.com, gitlab.com). It is never
  sent to a host that only signoff.toml [status] api_url names: that file is
  in the repository under review. A mismatch is `TokenLookup.refused`, one
  line naming both hosts and what to do;
- plain http:// carries a token only to a loopback host. A machine with no keyring backend (CI, containers) is normal:
reading falls back to the variable, and storing says what to do instead.

A token never leaves this module as a plain string by accident: `Token`
prints as `Token(****)`, so it cannot end up in a log line, an error
message, a report or the store. Only `reveal()` hands out the value, and
only the HTTP layer calls it (for the Authorization header).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit

from signoff.core.errors import InputError

log = logging.getLogger(__name__)

KEYRING_SERVICE = "signoff"


@dataclass(frozen=True)
class TokenSpec:
    """How a sink's token is found: what a sink plugin declares as `TOKEN` (app/plugin_api.py)."""

    forge: str                                # the keyring user's prefix: "<forge>@<host>" (the sink's name)
    env: tuple[str, ...] = ()                 # variables that may hold the token (CI), first set wins
    default_url: str = ""                     # the API URL when [status] api_url is empty ("": none, it must be given)
    host_env: tuple[str, ...] = ()            # variables naming the host an environment token is for, first set wins
    public_host: str = ""                     # ... and with none set: this host ("": none)
    runner_flags: tuple[str, ...] = ()        # e.g. GITEA_ACTIONS: when one is "true", runner_host_env name the host
    runner_host_env: tuple[str, ...] = ()
    host_aliases: tuple[tuple[str, str], ...] = ()   # (web host, API host) holding the same tokens


_specs: dict[str, TokenSpec] = {}
_spec_loader: dict[str, Any] = {"load": None, "done": False}


def register_token_spec(spec: TokenSpec) -> None:
    """A sink's TokenSpec (app/registry.py registers every loaded sink's)."""
    _specs[spec.forge] = spec


def set_spec_loader(load: Callable[[], Any] | None) -> None:
    """`load()` registers the installed sinks' specs; called once for a forge not registered yet."""
    _spec_loader["load"], _spec_loader["done"] = load, False


def token_spec(forge: "str | TokenSpec") -> TokenSpec:
    """The spec of a forge by name (loading the plugins once if needed); a spec is itself."""
    if isinstance(forge, TokenSpec):
        return forge
    if forge not in _specs and _spec_loader["load"] is not None and not _spec_loader["done"]:
        _spec_loader["done"] = True
        _spec_loader["load"]()
    return _specs.get(forge) or TokenSpec(forge)


LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


class CredentialError(InputError):
    """A token cannot be stored, read or is refused; the message says what to do."""


class Token:
    """A secret that does not print itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        value = (value or "").strip()
        if not value:
            raise CredentialError("an empty token is no token")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Token(****)"

    __str__ = __repr__

    def __eq__(self, other) -> bool:
        return isinstance(other, Token) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class TokenLookup:
    """What was found for one forge host, and where (for the settings dialog)."""

    forge: str
    host: str
    token: Token | None
    source: str = ""         # "keyring", "env GITHUB_TOKEN", or "" when none
    problem: str = ""        # e.g. the keyring is unavailable (reading fell back to the environment)
    refused: str = ""        # a token exists but may not go to this host (token is then None): why, what to do


def forge_host(forge: "str | TokenSpec", api_url: str) -> str:
    """The host (with a port when given) that a token belongs to: tokens are per forge host."""
    spec = token_spec(forge)
    forge = spec.forge
    url = (api_url or spec.default_url).strip()
    if not url:
        raise CredentialError(f"[status] api_url is empty: a {forge} token belongs to a host (e.g. https://{forge}.example.com)")
    parts = urlsplit(url if "://" in url else f"https://{url}")
    if not parts.hostname:
        raise CredentialError(f"[status] api_url {api_url!r} names no host")
    host = dict(spec.host_aliases).get(parts.hostname.lower(), parts.hostname.lower())
    return f"{host}:{parts.port}" if parts.port else host


def keyring_user(forge: "str | TokenSpec", api_url: str) -> str:
    return f"{token_spec(forge).forge}@{forge_host(forge, api_url)}"


def env_names(forge: "str | TokenSpec") -> tuple[str, ...]:
    return token_spec(forge).env


def keyring_unavailable() -> str:
    """Why the OS keyring cannot be used here, or '' when it can."""
    try:
        import keyring
        from keyring.backends import fail
    except Exception as exc:  # the package itself is broken
        return f"the keyring package does not load ({type(exc).__name__}: {exc})"
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        return ("no OS keyring is available on this machine (no Secret Service, KWallet, macOS Keychain "
                "or Windows Credential Locker)")
    return ""


def _runner_host_vars(spec: TokenSpec) -> tuple[str, ...]:
    """E.g. Gitea's act_runner and Forgejo's runner set GITHUB_API_URL / GITHUB_SERVER_URL
    (to the instance's own URL) and GITEA_ACTIONS=true / FORGEJO_ACTIONS=true."""
    if any(os.environ.get(flag, "").lower() == "true" for flag in spec.runner_flags):
        return spec.runner_host_env
    return ()


def env_token_host(forge: "str | TokenSpec") -> tuple[str, str]:
    """(the host an environment token of `forge` is for, the variable that says so).

    ("", "") when the environment names none and the forge has no public default."""
    spec = token_spec(forge)
    for name in spec.host_env + _runner_host_vars(spec):
        value = os.environ.get(name, "").strip()
        if value:
            try:
                return forge_host(spec, value), name
            except CredentialError:
                return "", name
    public = spec.public_host
    return public, ("the public default" if public else "")


def is_loopback(hostname: str) -> bool:
    """`hostname` without a port (urlsplit(...).hostname)."""
    name = (hostname or "").strip("[]").lower()
    return name in LOOPBACK_HOSTS or name.startswith("127.")


def _plain_http_refusal(forge: str, api_url: str, host: str) -> str:
    url = (api_url or "").strip()
    if url.lower().startswith("http://") and not is_loopback(urlsplit(url).hostname or ""):
        return (f"the {forge} token is not sent to {host} over plain http:// (anyone on the way could read it): "
                f"set [status] api_url to https://{host} on the default branch")
    return ""


def _env_mismatch(spec: TokenSpec, name: str, host: str) -> str:
    forge = spec.forge
    env_host, said_by = env_token_host(spec)
    hosts = " / ".join(spec.host_env) or "the forge's URL variable"
    if not env_host:
        where = (f"{name} names no host ({said_by} is not a URL)" if said_by
                 else f"the environment names no {forge} host for {name} (set {hosts})")
        return (f"{where}, so it is not sent to {host}, which signoff.toml [status] api_url names: "
                f"set {hosts} to that instance's URL, or save a token for it with "
                f"`signoff token set {forge} --api-url URL`")
    return (f"{name} is for {env_host} ({said_by}), but signoff.toml [status] api_url names {host}: "
            f"save a token for that host with `signoff token set {forge} --api-url URL`, "
            f"or fix api_url on the default branch")


def find_token(forge: "str | TokenSpec", api_url: str) -> TokenLookup:
    """The token for this forge host: the keyring entry saved for exactly this host,
    then an environment token when the environment names this host (see the module doc)."""
    spec = token_spec(forge)
    forge = spec.forge
    host = forge_host(spec, api_url)
    refusal = _plain_http_refusal(forge, api_url, host)
    if refusal:
        return TokenLookup(forge, host, None, "", "", refusal)
    problem = keyring_unavailable()
    if not problem:
        import keyring

        try:
            value = keyring.get_password(KEYRING_SERVICE, f"{forge}@{host}")
        except Exception as exc:  # a locked or broken keyring must not stop CI using the variable
            problem = f"the OS keyring could not be read ({type(exc).__name__})"
            value = None
        if value:
            return TokenLookup(forge, host, Token(value), "keyring")
    for name in spec.env:
        value = os.environ.get(name, "").strip()
        if value:
            if env_token_host(spec)[0] != host:
                return TokenLookup(forge, host, None, "", problem, _env_mismatch(spec, name, host))
            return TokenLookup(forge, host, Token(value), f"env {name}", problem)
    return TokenLookup(forge, host, None, "", problem)


def missing_token_message(lookup: TokenLookup) -> str:
    if lookup.refused:
        return lookup.refused
    names = " or ".join(env_names(lookup.forge)) or "a token variable"
    why = f" ({lookup.problem})" if lookup.problem else ""
    return (f"no {lookup.forge} token for {lookup.host}: store one in Settings (OS keyring) or set {names}{why}")


def store_token(forge: "str | TokenSpec", api_url: str, token: str) -> None:
    """Save the token in the OS keyring (the settings dialog calls this)."""
    spec = token_spec(forge)
    forge = spec.forge
    secret = Token(token)
    problem = keyring_unavailable()
    names = " or ".join(spec.env) or "a token variable"
    if problem:
        raise CredentialError(f"cannot store the {forge} token: {problem}; set {names} in the environment instead")
    import keyring

    try:
        keyring.set_password(KEYRING_SERVICE, keyring_user(spec, api_url), secret.reveal())
    except Exception as exc:
        raise CredentialError(f"the OS keyring refused the {forge} token ({type(exc).__name__}); "
                              f"set {names} in the environment instead") from None
    log.info("stored the %s token for %s in the OS keyring", forge, forge_host(spec, api_url))


def delete_token(forge: "str | TokenSpec", api_url: str) -> bool:
    """Remove the keyring entry; False when there was none (or no keyring)."""
    if keyring_unavailable():
        return False
    import keyring
    from keyring.errors import PasswordDeleteError

    try:
        keyring.delete_password(KEYRING_SERVICE, keyring_user(forge, api_url))
    except PasswordDeleteError:
        return False
    except Exception as exc:
        raise CredentialError(f"the OS keyring could not delete the {token_spec(forge).forge} token ({type(exc).__name__})") from None
    return True
