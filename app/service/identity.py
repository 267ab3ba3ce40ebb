"""Who is acting: SIGNOFF_USER, else git's user.email, else the login name."""

from __future__ import annotations

import getpass
import os
import socket
import subprocess


def resolve_user(explicit: str | None = None) -> str:
    if explicit:
        return explicit.strip()
    env = os.environ.get("SIGNOFF_USER", "").strip()
    if env:
        return env
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
