"""SSH signatures (OpenSSH's SSHSIG, namespace "signoff"): what a reviewer signs and how
it is checked. Pure: no I/O (the signers that reach an ssh-agent or a key file live in
app/service/signer.py). See docs/trust.md.

A *statement* is a dict; its signed bytes are its canonical JSON (app/core/hashing.py).
Every statement names its kind ("signoff/decision/v1", "signoff/labels/v1", ...), the
request, the content hash and the time, so a signature cannot be replayed onto other content.
"""

from __future__ import annotations

NAMESPACE = "signoff"


class SignatureError(Exception):
    """A signature is missing, malformed, or does not verify against the allowed keys."""


def statement_bytes(statement: dict) -> bytes:
    """The exact bytes that are signed: canonical JSON, UTF-8."""
    raise NotImplementedError


def fingerprint(public_key: str) -> str:
    """'SHA256:…' of an OpenSSH public key line, as `ssh-keygen -l` prints it."""
    raise NotImplementedError


def verify_statement(statement: dict, signature: str, allowed_keys: list[str]) -> str:
    """The fingerprint of the allowed key (OpenSSH public key lines) that made `signature`
    (armored SSHSIG, namespace NAMESPACE) over statement_bytes(statement); SignatureError otherwise."""
    raise NotImplementedError
