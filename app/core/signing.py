"""SSH signatures (OpenSSH's SSHSIG, namespace "signoff"): what a reviewer signs and how
it is checked. Pure: no I/O (the signers that reach an ssh-agent or a key file live in
app/service/signer.py). See docs/trust.md.

A *statement* is a dict; its signed bytes are its canonical JSON (app/core/hashing.py).
Every statement names its kind ("signoff/decision/v1", "signoff/labels/v1", ...), the
request, the content hash and the time, so a signature cannot be replayed onto other content.

Verification is the `sshsig` package's (a port of `ssh-keygen -Y verify`, packaged by
Debian): ed25519 and RSA keys. The namespace is what git's is for commits: a signature
made for Signoff is no signature of a commit or of anything else, and the other way round.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import hashlib
from dataclasses import dataclass

from .hashing import canonical_json

NAMESPACE = "signoff"
SUPPORTED_KEY_TYPES = ("ssh-ed25519", "ssh-rsa")


class SignatureError(Exception):
    """A signature is missing, malformed, or does not verify against the allowed keys."""


def statement_bytes(statement: dict) -> bytes:
    """The exact bytes that are signed: canonical JSON, UTF-8."""
    return canonical_json(statement).encode("utf-8")


def _key_blob(public_key: str) -> tuple[str, bytes]:
    parts = str(public_key).strip().split()
    if len(parts) < 2:
        raise SignatureError(f"not an OpenSSH public key: {public_key[:40]!r}")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError(f"not an OpenSSH public key (bad base64): {public_key[:40]!r}") from None
    return parts[0], blob


def fingerprint(public_key: str) -> str:
    """'SHA256:…' of an OpenSSH public key line, as `ssh-keygen -l` prints it."""
    _, blob = _key_blob(public_key)
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def normalise_key(public_key: str) -> str:
    """'TYPE BASE64' without the comment: how keys are compared and stored."""
    kind, blob = _key_blob(public_key)
    return f"{kind} {base64.b64encode(blob).decode()}"


def parse_public_key(public_key: str):
    """The sshsig PublicKey of an OpenSSH line; SignatureError if it is not one we verify."""
    from sshsig import PublicKey

    kind, _ = _key_blob(public_key)
    if kind not in SUPPORTED_KEY_TYPES:
        raise SignatureError(f"{kind} keys are not supported for signing off (use ssh-ed25519 or ssh-rsa)")
    try:
        return PublicKey.from_openssh_str(normalise_key(public_key))
    except (ValueError, NotImplementedError) as exc:
        raise SignatureError(f"not a usable public key ({exc}): {public_key[:40]!r}") from None


def verify_statement(statement: dict, signature: str, allowed_keys: list[str]) -> str:
    """The fingerprint of the allowed key (OpenSSH public key lines) that made `signature`
    (armored SSHSIG, namespace NAMESPACE) over statement_bytes(statement); SignatureError otherwise."""
    return verify_bytes(statement_bytes(statement), signature, allowed_keys)


def verify_bytes(data: bytes, signature: str, allowed_keys: list[str]) -> str:
    import sshsig

    if not signature or not str(signature).strip():
        raise SignatureError("not signed")
    allowed = []
    for k in allowed_keys:
        try:
            allowed.append(parse_public_key(k))
        except SignatureError:
            continue  # an unusable listed key cannot have made a signature we accept
    if not allowed:
        raise SignatureError("no usable key is listed for this signer")
    try:
        key = sshsig.verify(data, signature, allowed, namespace=NAMESPACE)
    except sshsig.InvalidSignature as exc:
        text = str(exc)
        if "not of allowed signer" in text:
            raise SignatureError("signed with a key that is not listed for this signer") from None
        raise SignatureError(f"the signature does not verify ({text or 'invalid'})") from None
    except (ValueError, NotImplementedError) as exc:
        raise SignatureError(f"unreadable signature ({exc})") from None
    return key.sha256_str()


def signature_key(signature: str) -> str:
    """The public key (OpenSSH line) embedded in an armored SSHSIG, not verified."""
    from sshsig.sshsig import SshsigSignature

    try:
        blob = SshsigSignature.from_armored(signature).public_key
    except (ValueError, NotImplementedError, TypeError):  # malformed input: no key
        return ""
    kind = blob[4:4 + int.from_bytes(blob[:4], "big")].decode("ascii", "replace")
    return f"{kind} {base64.b64encode(blob).decode()}"


# -- git's allowed-signers format (ssh-keygen(1), ALLOWED SIGNERS) -----------------

@dataclass(frozen=True)
class AllowedSigner:
    principals: tuple[str, ...]      # patterns, e.g. "alice@example.com", "*@example.com", "!bob@example.com"
    key: str                         # "TYPE BASE64"
    namespaces: tuple[str, ...] = () # empty: any namespace

    def matches(self, principal: str) -> bool:
        p = principal.strip().lower()
        hit = False
        for pattern in self.principals:
            neg = pattern.startswith("!")
            pat = pattern[1:] if neg else pattern
            if fnmatch.fnmatchcase(p, pat.lower()):
                if neg:
                    return False
                hit = True
        return hit

    def for_namespace(self, namespace: str = NAMESPACE) -> bool:
        return not self.namespaces or any(fnmatch.fnmatchcase(namespace, n) for n in self.namespaces)


def parse_allowed_signers(text: str, where: str = "allowed_signers") -> list[AllowedSigner]:
    """Entries of an allowed-signers file; SignatureError naming the line for what we do not
    support (cert-authority, valid-before/after: refused rather than half-honoured)."""
    from sshsig.allowed_signers import AllowedSigner as _Parsed

    out: list[AllowedSigner] = []
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            parsed = _Parsed.parse(line)
        except (ValueError, NotImplementedError) as exc:
            raise SignatureError(f"{where} line {n}: not an allowed-signers entry ({exc})") from None
        options = parsed.options or {}
        for unsupported in ("cert-authority", "valid-before", "valid-after"):
            if unsupported in options:
                raise SignatureError(f"{where} line {n}: the {unsupported} option is not supported by Signoff; "
                                     f"list plain keys")
        ns = options.get("namespaces")
        out.append(AllowedSigner(
            principals=tuple(p for p in parsed.principals.split(",") if p),
            key=normalise_key(f"{parsed.key_type} {parsed.base64_key}"),
            namespaces=tuple(x.strip() for x in ns.split(",")) if ns else (),
        ))
    return out


def keys_for(principal: str, signers: list[AllowedSigner], namespace: str = NAMESPACE) -> list[str]:
    """The keys an allowed-signers file lists for `principal` in `namespace`."""
    return [s.key for s in signers if s.for_namespace(namespace) and s.matches(principal)]
