"""Who signs: a reviewer's own SSH key, from a key file or the ssh-agent (docs/trust.md).

    Signer                  .public_key ("TYPE BASE64 comment"), .fingerprint, .sign(bytes) -> armored SSHSIG
     ├── KeyFileSigner      a private key file, signed in-process (cryptography)
     └── AgentSigner        a key held by the ssh-agent, signed by OpenSSH's own `ssh-keygen -Y sign`

signer_for(user, allowed_keys) picks one: SIGNOFF_SIGNING_KEY (a private key file), else
the key chosen in Settings ▸ Identity, else the first agent key the policy lists for the
user. The SSHSIG wire format is built with the sshsig package's types, so ours and
`ssh-keygen -Y verify` read the same bytes (tests check both ways).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from signoff.core.errors import PolicyRefusal
from signoff.core.signing import NAMESPACE, fingerprint, normalise_key

SIGNING_KEY_ENV = "SIGNOFF_SIGNING_KEY"


class SigningError(PolicyRefusal):
    """No key to sign with, or the key cannot sign: refused (exit 4), one line saying what to do."""


class Signer:
    public_key: str = ""

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)

    def sign(self, data: bytes) -> str:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> str:
        return self.fingerprint


def _to_be_signed(data: bytes) -> bytes:
    from sshsig.sshsig import SshsigWrapper

    return SshsigWrapper(namespace=NAMESPACE.encode(), hash_algo=b"sha512",
                         hash=hashlib.sha512(data).digest()).to_bytes()


def _ssh_string(b: bytes) -> bytes:
    return len(b).to_bytes(4, "big") + b


class KeyFileSigner(Signer):
    """A private key file in OpenSSH (or PEM) format without a passphrase; ed25519 or RSA."""

    def __init__(self, path: str | os.PathLike):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

        self.path = Path(path).expanduser()
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise SigningError(f"cannot read the signing key {self.path}: {exc.strerror or exc}") from None
        try:
            key = (serialization.load_ssh_private_key(data, password=None) if b"OPENSSH PRIVATE KEY" in data
                   else serialization.load_pem_private_key(data, password=None))
        except TypeError:  # encrypted
            raise SigningError(f"the signing key {self.path} is protected by a passphrase: add it to the ssh-agent "
                               f"(ssh-add {self.path}) and leave {SIGNING_KEY_ENV} unset") from None
        except (ValueError, Exception) as exc:  # noqa: BLE001 - cryptography raises several kinds for bad files
            raise SigningError(f"{self.path} is not a private key Signoff can use ({exc})") from None
        if not isinstance(key, (ed25519.Ed25519PrivateKey, rsa.RSAPrivateKey)):
            raise SigningError(f"{self.path}: only ed25519 and RSA keys can sign off (make one with "
                               f"ssh-keygen -t ed25519)")
        self._key = key
        line = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                             serialization.PublicFormat.OpenSSH).decode()
        self.public_key = normalise_key(line)

    def sign(self, data: bytes) -> str:
        import base64

        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ed25519, padding
        from sshsig.sshsig import SshsigSignature

        message = _to_be_signed(data)
        if isinstance(self._key, ed25519.Ed25519PrivateKey):
            algo, raw = b"ssh-ed25519", self._key.sign(message)
        else:
            algo, raw = b"rsa-sha2-512", self._key.sign(message, padding.PKCS1v15(), hashes.SHA512())
        sig = SshsigSignature.__new__(SshsigSignature)
        sig.public_key = base64.b64decode(self.public_key.split()[1])
        sig.namespace = NAMESPACE.encode()
        sig.hash_algo = b"sha512"
        sig.signature = _ssh_string(algo) + _ssh_string(raw)
        return sig.to_armored()

    def describe(self) -> str:
        return f"{self.fingerprint} ({self.path})"


def _ssh_keygen() -> str:
    exe = shutil.which("ssh-keygen")
    if not exe:
        raise SigningError("signing with the ssh-agent needs OpenSSH's ssh-keygen, which is not on PATH; "
                           f"install OpenSSH, or set {SIGNING_KEY_ENV} to a private key file")
    return exe


class AgentSigner(Signer):
    """A key the ssh-agent holds (SSH_AUTH_SOCK), signed by `ssh-keygen -Y sign -U`: the
    private key never leaves the agent, as with git's signed commits."""

    def __init__(self, public_key: str):
        self.public_key = normalise_key(public_key)

    def sign(self, data: bytes) -> str:
        with tempfile.TemporaryDirectory(prefix="signoff-sign-") as tmp:
            pub = Path(tmp) / "key.pub"
            pub.write_text(self.public_key + "\n")
            try:
                out = subprocess.run([_ssh_keygen(), "-Y", "sign", "-U", "-q", "-n", NAMESPACE, "-f", str(pub)],
                                     input=data, capture_output=True, timeout=60)
            except subprocess.TimeoutExpired:
                raise SigningError("the ssh-agent did not sign within 60 s (a hardware key waiting for a touch?)") from None
            if out.returncode != 0:
                err = out.stderr.decode(errors="replace").strip().splitlines()
                raise SigningError(f"the ssh-agent could not sign with {self.fingerprint}: "
                                   f"{err[-1] if err else 'ssh-keygen failed'}")
            return out.stdout.decode()

    def describe(self) -> str:
        return f"{self.fingerprint} (ssh-agent)"


def agent_keys() -> list[str]:
    """Public keys the ssh-agent holds ('TYPE BASE64 comment'); [] when there is no agent."""
    from .local_keys import agent_keys as listed

    return [k.public_key for k in listed()[0]]


def signer_for(user: str, allowed_keys: list[str] | None = None) -> Signer:
    """The signer for `user`: SIGNOFF_SIGNING_KEY, else Settings ▸ Identity's key (a file, or an
    agent key by fingerprint), else an agent key the policy lists for the user (`allowed_keys`;
    None: the agent's first key). SigningError when there is none."""
    from signoff.settings import configured_signing_key

    choice = configured_signing_key()
    if choice is not None and choice.path is not None:
        return KeyFileSigner(choice.path)
    held = agent_keys()
    if choice is not None:  # an agent key chosen in Settings ▸ Identity
        for line in held:
            if fingerprint(line) == choice.agent_fingerprint:
                return AgentSigner(line)
        raise SigningError(f"the key chosen in Settings ▸ Identity ({choice.agent_fingerprint}) is not in the "
                           f"ssh-agent now: add it (ssh-add) or choose another")
    wanted = {normalise_key(k) for k in (allowed_keys or [])}
    for line in held:
        try:
            key = normalise_key(line)
        except Exception:  # noqa: BLE001 - an agent line we cannot read
            continue
        if allowed_keys is None or key in wanted:
            return AgentSigner(key)
    if held and allowed_keys is not None:
        raise SigningError(f"none of the ssh-agent's {len(held)} key(s) is listed for {user} in signoff.toml "
                           f"[signers]: ask a policy owner to add yours, or set {SIGNING_KEY_ENV}")
    raise SigningError(f"no key to sign as {user}: set {SIGNING_KEY_ENV} to your private key file, load your key "
                       f"into the ssh-agent, or choose one in Settings ▸ Identity")


def generate_key(path: str | os.PathLike, comment: str = "") -> KeyFileSigner:
    """A new ed25519 key at `path` (private, mode 600, no passphrase) and `path`.pub; never
    overwrites a file that exists (FileExistsError)."""
    from signoff.core.errors import InputError

    from .local_keys import create_key

    path = Path(path).expanduser()
    for p in (path, path.with_name(path.name + ".pub")):
        if p.exists():
            raise FileExistsError(f"{p} exists already; choose another name")
    try:
        create_key(path, comment=comment)
    except InputError as exc:
        raise SigningError(str(exc)) from None
    return KeyFileSigner(path)
