"""Which public keys prove who a reviewer is (docs/trust.md, "Who counts: keys and signatures").

The request's policy (signoff.toml at the protected base) lists, per reviewer, in
`[signers.keys]`: inline OpenSSH public key lines, or `github:LOGIN` / `gitlab:LOGIN` (the
signing keys that forge publishes for that user); `[signers] allowed_signers` names a file in
git's allowed-signers format (read at the base revision by the source, handed over as text).

`resolve_reviewer_keys` turns all of that into {user: [OpenSSH public key lines]}, stored with
the request when it is made. Forge keys are fetched without any token (the endpoints are
public), from the forge host the base policy's [status] names for that forge, else the one the
environment names (GITHUB_API_URL, CI_API_V4_URL), else the public default; each fetch is cached
in the store with its time and recorded in the audit log.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta, timezone

from signoff.core.config import ProjectConfig
from signoff.core.errors import InputError, PolicyRefusal

log = logging.getLogger(__name__)

MAX_AGE = timedelta(hours=1)      # forge keys older than this are fetched again when their owner decides
KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
             "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com")


class ForgeKeysUnavailable(Exception):
    """The forge could not be asked (unreachable, an error status, a malformed answer)."""


def key_forges() -> dict[str, type]:
    """The sink plugins whose forge publishes its users' signing keys (SIGNING_KEYS_URL): "NAME:LOGIN"."""
    from signoff.registry import registry

    return {name: cls for name, cls in registry().sinks.items() if getattr(cls, "SIGNING_KEYS_URL", "")}


def forge_spec(spec: str) -> tuple[str, str] | None:
    """('github', 'bob') for "github:bob"; None for an inline key line."""
    head, sep, login = spec.strip().partition(":")
    if sep and " " not in spec.strip() and head.lower() in key_forges():
        return head.lower(), login.strip()
    return None


def key_specs(config: ProjectConfig) -> dict[str, tuple[str, ...]]:
    return dict(config.signers.keys)


def forge_api_url(forge: str, config: ProjectConfig) -> str:
    """Where `forge`'s published keys are asked for: the base policy's [status] api_url when its sink
    is that forge, else the host the environment names, else the public default."""
    status = config.status
    if status.sink == forge and status.api_url:
        return status.api_url.rstrip("/")
    sink = key_forges()[forge]
    env = os.environ.get(sink.SIGNING_KEYS_URL_ENV, "").strip() if sink.SIGNING_KEYS_URL_ENV else ""
    return (env or sink.SIGNING_KEYS_URL).rstrip("/")


def parse_allowed_signers(text: str, where: str = "the allowed-signers file"):
    """The entries of git's allowed-signers format (app/core/signing.py) that may sign in the
    "signoff" namespace; InputError naming the line for one we cannot read."""
    from signoff.core.signing import SignatureError, parse_allowed_signers as parse

    try:
        return [e for e in parse(text, where) if e.for_namespace()]
    except SignatureError as exc:
        raise InputError(str(exc)) from None


def fetch_forge_keys(forge: str, api_url: str, login: str, *, timeout=None) -> list[str]:
    """The SSH signing keys `forge` publishes for `login` (its sink plugin asks, with no token)."""
    from signoff.plugin_api import DeliveryError

    sink = key_forges().get(forge)
    if sink is None:
        raise ForgeKeysUnavailable(f"cannot fetch {forge}:{login}'s signing keys: no installed sink publishes them")
    try:
        keys = sink.signing_keys(api_url, login, timeout=timeout)
    except DeliveryError as exc:
        raise ForgeKeysUnavailable(f"cannot fetch {forge}:{login}'s signing keys from {api_url}: {exc}") from None
    return [_key_line(k) for k in keys if isinstance(k, str) and _key_line(k)]


def _key_line(text: str) -> str:
    """'type base64' of a public key line (its comment dropped), or '' if it is not one."""
    from signoff.core.signing import SignatureError, normalise_key

    parts = text.strip().split()
    if len(parts) < 2 or parts[0] not in KEY_TYPES:
        return ""
    try:
        return normalise_key(text)
    except SignatureError:
        return ""


def _forge_keys(store, forge: str, api_url: str, login: str, *, actor: str, max_age: timedelta | None,
                fetch=fetch_forge_keys) -> list[str]:
    """Cached keys if younger than max_age (None: any cached keys do), else fetched (and cached).
    Unreachable forge: the cached keys, however old; none cached: ForgeKeysUnavailable."""
    cached = store.forge_keys(forge, api_url, login)
    now = datetime.now(timezone.utc)
    if cached is not None and (max_age is None or now - cached[1] <= max_age):
        return cached[0]
    try:
        keys = fetch(forge, api_url, login)
    except ForgeKeysUnavailable as exc:
        if cached is not None:
            log.warning("%s; using the keys fetched at %s", exc, cached[1].isoformat(timespec="seconds"))
            return cached[0]
        raise
    store.save_forge_keys(forge, api_url, login, keys, actor=actor, fetched_at=now)
    return keys


def keys_for_user(user: str, config: ProjectConfig, allowed_signers: list, store, *, actor: str,
                  max_age: timedelta | None = MAX_AGE, fetch=fetch_forge_keys,
                  problems: list[str] | None = None) -> list[str]:
    lines: list[str] = []
    for listed, specs in config.signers.keys.items():
        if listed.strip().lower() != user.strip().lower():
            continue
        for spec in specs:
            forge = forge_spec(spec)
            if forge is None:
                line = _key_line(spec)
                if line:
                    lines.append(line)
                elif problems is not None:
                    problems.append(f"{user}: not an OpenSSH public key line: {spec[:40]!r}")
                continue
            try:
                lines.extend(_forge_keys(store, forge[0], forge_api_url(forge[0], config), forge[1], actor=actor,
                                         max_age=max_age, fetch=fetch))
            except ForgeKeysUnavailable as exc:
                if problems is None:
                    raise
                problems.append(str(exc))
    from signoff.core.signing import keys_for

    lines.extend(keys_for(user, allowed_signers or []))
    return list(dict.fromkeys(lines))


def resolve_reviewer_keys(config: ProjectConfig, allowed_signers_text: str, store, *, actor: str,
                          fetch=fetch_forge_keys) -> dict[str, list[str]]:
    """{user: [key lines]} for everyone the policy names (roles, owners, [signers.keys]). A forge that
    cannot be reached leaves that reviewer with the keys cached earlier, or none (logged): their
    decisions then wait until the keys can be fetched (refresh_user_keys)."""
    signers = parse_allowed_signers(allowed_signers_text, config.signers.allowed_signers or "the allowed-signers file")
    people = {p for members in config.roles.values() for p in members}
    people |= set(config.signers.keys) | set(getattr(config.policy, "owners", ()) or ())
    people |= {p for e in signers for p in e.principals if not any(c in p for c in "*?!")}
    result: dict[str, list[str]] = {}
    for user in sorted(people, key=str.lower):
        problems: list[str] = []
        keys = keys_for_user(user, config, signers, store, actor=actor, max_age=None, fetch=fetch, problems=problems)
        for p in problems:
            log.warning("reviewer keys: %s", p)
        if keys:
            result[user.lower()] = keys
    return result


def uses_forge(user: str, config: ProjectConfig) -> bool:
    return any(forge_spec(s) for u, specs in config.signers.keys.items() if u.lower() == user.lower() for s in specs)


def refresh_user_keys(user: str, config: ProjectConfig, stored: list[str], store, *, allowed_signers: list | None = None,
                      fetch=fetch_forge_keys) -> list[str]:
    """The keys of a reviewer about to decide: the stored ones, with their forge keys fetched again when
    the cache is older than an hour. Fail closed: the forge unreachable and nothing cached, and no
    other key listed -> PolicyRefusal with one line."""
    if not uses_forge(user, config):
        return stored
    problems: list[str] = []
    inline = keys_for_user(user, config, allowed_signers or [], store, actor=user, max_age=MAX_AGE, fetch=fetch,
                           problems=problems)
    keys = list(dict.fromkeys([*inline, *stored]))
    if not keys and problems:
        raise PolicyRefusal(f"{user}'s keys could not be checked, so the decision waits: {problems[0]}; "
                            f"try again when the forge can be reached")
    return keys
