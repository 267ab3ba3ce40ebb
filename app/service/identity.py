"""Who is acting: SIGNOFF_USER, else git's user.email, else the login name."""

from __future__ import annotations

import getpass
import logging
import os
import socket
import subprocess

from app.core.errors import InputError, PolicyRefusal
from app.credentials import CredentialError
from app.plugin_api import DeliveryError, ForgeAccount, StatusSink
from app.registry import registry

log = logging.getLogger(__name__)


def resolve_user(explicit: str | None = None) -> str:
    if explicit:
        return explicit.strip()
    env = os.environ.get("SIGNOFF_USER", "").strip()
    if env:
        return env
    from app.settings import configured_user  # the Settings dialog's identity

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


def check_forge_identity(user: str, status) -> ForgeAccount | None:
    """Refuse (PolicyRefusal) when the token configured for `status` (a
    StatusConfig) belongs to someone else than `user`. Returns the ForgeAccount
    checked, or None when no token is configured (or the forge cannot be
    reached: the decision is recorded and posted later, and a warning says the
    check was not made)."""
    sink_cls = registry().sink(status.sink)
    if getattr(sink_cls, "account", None) is StatusSink.account:  # local sink: no forge, no account
        return None
    try:
        sink = sink_cls.create(api_url=status.api_url, store=None)
    except (DeliveryError, InputError) as exc:  # e.g. no api_url: no host, so no token to check against
        log.warning("the %s status sink is not usable (%s); the reviewer identity is not checked", status.sink, exc)
        return None
    try:
        account = sink.account()
    except DeliveryError as exc:
        if exc.retry:
            log.warning("could not check %s against the %s token's user (%s); recording the decision anyway",
                        user, status.sink, exc)
            return None
        raise CredentialError(f"cannot check who the {status.sink} token belongs to: {exc}") from None
    finally:
        if callable(getattr(sink, "close", None)):
            sink.close()
    if account is None:
        return None
    if not identity_matches(user, account):
        shown = f"{account.login}" + (f" ({', '.join(account.emails)})" if account.emails else "")
        raise PolicyRefusal(
            f"{user} may not decide here: the {account.forge} token for {account.host} belongs to {shown}. "
            f"Act as {account.login} (SIGNOFF_USER or --user) with {account.login} or one of its e-mails in "
            f"signoff.toml [roles], or use your own token")
    return account
