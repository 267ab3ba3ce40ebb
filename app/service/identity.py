"""Who is acting: SIGNOFF_USER, else git's user.email, else the login name."""

from __future__ import annotations

import getpass
import hashlib
import logging
import os
import socket
import subprocess
from dataclasses import dataclass, replace

from signoff.core.errors import InputError, PolicyRefusal
from signoff.core.model import IDENTITY_CHECKED, IDENTITY_REFUSED, IDENTITY_SKIPPED, IDENTITY_UNCHECKED
from signoff.credentials import CredentialError
from signoff.plugin_api import DeliveryError, ForgeAccount, StatusSink
from signoff.registry import registry

log = logging.getLogger(__name__)


def resolve_user(explicit: str | None = None) -> str:
    if explicit:
        return explicit.strip()
    env = os.environ.get("SIGNOFF_USER", "").strip()
    if env:
        return env
    from signoff.settings import configured_user  # the Settings dialog's identity

    configured = configured_user()
    if configured:
        return configured
    try:
        out = subprocess.run(["git", "config", "--get", "user.email"], capture_output=True, text=True, timeout=5)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        name = getpass.getuser()
    except Exception:  # no login name in some containers
        name = "unknown"
    return f"{name}@{socket.gethostname()}"


# -- the forge account behind a configured token ------------------------------
# Where a forge token is configured for the repository's [status] sink, the
# acting identity must be that token's user: its login or one of the e-mails
# the forge shows for it. Roles still come from signoff.toml [roles], which may
# list e-mails or forge logins (see docs/ci-recipes.md, "Identity").

def identity_matches(user: str, account: ForgeAccount) -> bool:
    u = user.strip().lower()
    return u == account.login.lower() or u in {e.lower() for e in account.emails}


@dataclass(frozen=True)
class IdentityCheck:
    """What the forge identity check of one decision found (app/core/model.py IDENTITY_*)."""

    state: str = ""          # "" (no token: no check) / checked / unchecked / refused / skipped
    forge: str = ""          # whose token: "github", ...
    note: str = ""           # what it found, in words
    token: str = ""          # token_tag() of the token it was made with
    account: ForgeAccount | None = None


def token_tag(token) -> str:
    """A tag that tells one token from another without keeping it: the check of a waiting
    decision is made only with the token the decision was made with."""
    return hashlib.sha256(b"signoff/identity-token/v1\0" + token.reveal().encode("utf-8")).hexdigest()[:32]


def token_account(status) -> IdentityCheck:
    """Who the token configured for `status` (a StatusConfig) belongs to, as an IdentityCheck
    with no verdict on a user yet: state "" (no token), skipped, unchecked, or "account"."""
    sink_cls = registry().sink(status.sink)
    if getattr(sink_cls, "account", None) is StatusSink.account:  # local sink: no forge, no account
        return IdentityCheck()
    forge = getattr(sink_cls, "FORGE", status.sink)
    try:
        sink = sink_cls.create(api_url=status.api_url, store=None)
    except (DeliveryError, InputError) as exc:  # e.g. no api_url: no host, so no token to check against
        log.warning("the %s status sink is not usable (%s); the reviewer identity is not checked", status.sink, exc)
        return IdentityCheck()
    try:
        token = getattr(sink, "token", None)
        refused = getattr(sink, "_refused", "")
        if token is None:
            if refused:  # a token that is not for this host is no token for this check: say so
                return IdentityCheck(IDENTITY_SKIPPED, forge, f"identity not checked against a {forge} token: {refused}")
            return IdentityCheck()
        tag = token_tag(token)
        try:
            account = sink.account()
        except DeliveryError as exc:
            if exc.retry:   # fails closed: the decision waits, unchecked, and does not count
                log.warning("could not check the %s token's account (%s)", forge, exc)
                return IdentityCheck(IDENTITY_UNCHECKED, forge, str(exc), tag)
            raise CredentialError(f"cannot check who the {forge} token belongs to: {exc}") from None
    finally:
        if callable(getattr(sink, "close", None)):
            sink.close()
    if account is None:
        return IdentityCheck()
    return IdentityCheck("account", forge, "", tag, account)


def judge(user: str, found: IdentityCheck) -> IdentityCheck:
    """`found` (from token_account) as the check of `user`: checked or refused when the forge said
    who the token belongs to; otherwise as it is."""
    account = found.account
    if found.state != "account" or account is None:
        return found
    shown = f"{account.login}" + (f" ({', '.join(account.emails)})" if account.emails else "")
    if identity_matches(user, account):
        return replace(found, state=IDENTITY_CHECKED, note=f"the {account.forge} token for {account.host} is {shown}'s")
    return replace(found, state=IDENTITY_REFUSED,
                   note=f"the {account.forge} token for {account.host} belongs to {shown}, not {user}")


def check_forge_identity(user: str, status) -> IdentityCheck:
    """The check made when `user` decides: PolicyRefusal when the token configured for `status`
    belongs to someone else. Otherwise the IdentityCheck to record with the decision: checked,
    "" (no token), skipped (the only token is for another host: nothing to check, said so), or
    unchecked (the forge cannot be reached: the decision is recorded but does not count until
    checked; docs/trust.md "Forge identity check")."""
    check = judge(user, token_account(status))
    if check.state == IDENTITY_REFUSED:
        account = check.account
        shown = f"{account.login}" + (f" ({', '.join(account.emails)})" if account.emails else "")
        raise PolicyRefusal(
            f"{user} may not decide here: the {account.forge} token for {account.host} belongs to {shown}. "
            f"Act as {account.login} (SIGNOFF_USER or --user) with {account.login} or one of its e-mails in "
            f"signoff.toml [roles], or use your own token")
    return check
