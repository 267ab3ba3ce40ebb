"""Forge tokens: in the OS keyring per forge host, environment variables as
the fallback for CI.

    keyring   service "signoff", user "<forge>@<host>"  (e.g. "github@api.github.com")
    env       GITHUB_TOKEN, GITLAB_TOKEN, GITEA_TOKEN (or FORGEJO_TOKEN)

The keyring wins when it holds a token for the host; the variable is read
otherwise. A machine with no keyring backend (CI, containers) is normal:
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
from urllib.parse import urlsplit

from app.core.errors import InputError

log = logging.getLogger(__name__)

KEYRING_SERVICE = "signoff"
FORGE_ENV: dict[str, tuple[str, ...]] = {
    "github": ("GITHUB_TOKEN",),
    "gitlab": ("GITLAB_TOKEN",),
    "gitea": ("GITEA_TOKEN", "FORGEJO_TOKEN"),
}
DEFAULT_API_URL = {"github": "https://api.github.com"}


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


def forge_host(forge: str, api_url: str) -> str:
    """The host (with a port when given) that a token belongs to: tokens are per forge host."""
    url = (api_url or DEFAULT_API_URL.get(forge, "")).strip()
    if not url:
        raise CredentialError(f"[status] api_url is empty: a {forge} token belongs to a host (e.g. https://{forge}.example.com)")
    parts = urlsplit(url if "://" in url else f"https://{url}")
    if not parts.hostname:
        raise CredentialError(f"[status] api_url {api_url!r} names no host")
    host = parts.hostname.lower()
    if host == "github.com":  # the web host and the API host hold the same tokens
        host = "api.github.com"
    return f"{host}:{parts.port}" if parts.port else host


def keyring_user(forge: str, api_url: str) -> str:
    return f"{forge}@{forge_host(forge, api_url)}"


def env_names(forge: str) -> tuple[str, ...]:
    return FORGE_ENV.get(forge, ())


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


def find_token(forge: str, api_url: str) -> TokenLookup:
    """The token for this forge host: the keyring first, then the environment."""
    host = forge_host(forge, api_url)
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
    for name in env_names(forge):
        value = os.environ.get(name, "").strip()
        if value:
            return TokenLookup(forge, host, Token(value), f"env {name}", problem)
    return TokenLookup(forge, host, None, "", problem)


def missing_token_message(lookup: TokenLookup) -> str:
    names = " or ".join(env_names(lookup.forge)) or "a token variable"
    why = f" ({lookup.problem})" if lookup.problem else ""
    return (f"no {lookup.forge} token for {lookup.host}: store one in Settings (OS keyring) or set {names}{why}")


def store_token(forge: str, api_url: str, token: str) -> None:
    """Save the token in the OS keyring (the settings dialog calls this)."""
    secret = Token(token)
    problem = keyring_unavailable()
    names = " or ".join(env_names(forge))
    if problem:
        raise CredentialError(f"cannot store the {forge} token: {problem}; set {names} in the environment instead")
    import keyring

    try:
        keyring.set_password(KEYRING_SERVICE, keyring_user(forge, api_url), secret.reveal())
    except Exception as exc:
        raise CredentialError(f"the OS keyring refused the {forge} token ({type(exc).__name__}); "
                              f"set {names} in the environment instead") from None
    log.info("stored the %s token for %s in the OS keyring", forge, forge_host(forge, api_url))


def delete_token(forge: str, api_url: str) -> bool:
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
        raise CredentialError(f"the OS keyring could not delete the {forge} token ({type(exc).__name__})") from None
    return True
