"""Reviewer keys for tests: ed25519 keys made from fixed seeds (the same on every run, so
configs that list them are constants), written once per test process as OpenSSH private key
files, and the signoff.toml [signers.keys] that lists them.

    signer("alice@example.com")            a KeyFileSigner with alice's key
    signers_toml()                         '[signers.keys]' listing alice, bob, quinn, ... (not mallory)
    with_signers(config_text)              the config with that table appended
    key_file("alice@example.com", gen=1)   another key of alice's, listed nowhere (a wrong key)
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

# Everyone the test configs name in a role, an owner list or as an author; mallory has no key listed.
REVIEWERS = ("alice@example.com", "bob@example.com", "quinn@example.com", "carol@example.com",
             "dana@example.com", "erin@example.com", "ci@example.com", "sam@example.com", "qa@example.com",
             "sme@example.com", "alice", "bob", "quinn", "octocat")


def private_key(user: str, gen: int = 0) -> ed25519.Ed25519PrivateKey:
    seed = hashlib.sha256(f"signoff test key {gen}: {user.lower()}".encode()).digest()
    return ed25519.Ed25519PrivateKey.from_private_bytes(seed)


def public_line(user: str, gen: int = 0) -> str:
    pub = private_key(user, gen).public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                           serialization.PublicFormat.OpenSSH).decode()
    return f"{pub} {user}"


@lru_cache(maxsize=None)
def _folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="signoff-test-keys-"))
    atexit.register(shutil.rmtree, folder, True)   # one a test process: they piled up in /tmp
    return folder


@lru_cache(maxsize=None)
def key_file(user: str, gen: int = 0) -> Path:
    path = _folder() / f"{user.replace('@', '_at_')}.{gen}"
    data = private_key(user, gen).private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                                serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    (path.parent / (path.name + ".pub")).write_text(public_line(user, gen) + "\n")
    return path


def signer(user: str, gen: int = 0):
    from signoff.service.signer import KeyFileSigner

    return KeyFileSigner(key_file(user, gen))


def signers_toml(users=REVIEWERS) -> str:
    lines = ["[signers.keys]"]
    lines += [f'"{u}" = ["{public_line(u)}"]' for u in users]
    return "\n".join(lines) + "\n"


def with_signers(config_text: str, users=REVIEWERS) -> str:
    """`config_text` with [signers.keys] for `users` appended (unchanged if it has [signers] already)."""
    if "[signers" in config_text:
        return config_text
    return config_text.rstrip("\n") + "\n\n" + signers_toml(users)
