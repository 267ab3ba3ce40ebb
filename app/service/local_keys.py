"""The user's own SSH keys, for Settings ▸ Identity (no Qt here).

    keys = find_keys()                 # the ssh-agent's keys, then ~/.ssh/*.pub with the private key beside it
    key = create_key(comment="alice@example.com")   # a new ed25519 key, ~/.ssh/signoff_ed25519 (never overwrites)
    choice_for(key)                    # what settings.json keeps: the private key's path, or "agent:SHA256:…"

A key is shown the way `ssh-keygen -l` prints it: "256 SHA256:… comment (ED25519)".
Fingerprints are computed here (SHA-256 of the key blob, base64 without
padding, as OpenSSH does), so listing keys needs no OpenSSH tools; the agent's
keys are read with `ssh-add -L` when SSH_AUTH_SOCK is set.

The signer (app/service/signer.py) reads the choice through
signoff.settings.configured_signing_key(): SIGNOFF_SIGNING_KEY wins over it.
"""

from __future__ import annotations

import base64
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from signoff.core.errors import InputError
from signoff.core.signing import fingerprint
from signoff.settings import AGENT_PREFIX

DEFAULT_KEY_NAME = "signoff_ed25519"
AGENT = "ssh-agent"
TYPE_NAMES = {"ssh-ed25519": "ED25519", "ssh-rsa": "RSA", "ecdsa-sha2-nistp256": "ECDSA",
              "ecdsa-sha2-nistp384": "ECDSA", "ecdsa-sha2-nistp521": "ECDSA", "sk-ssh-ed25519@openssh.com": "ED25519-SK",
              "sk-ecdsa-sha2-nistp256@openssh.com": "ECDSA-SK", "ssh-dss": "DSA"}
FIXED_BITS = {"ssh-ed25519": 256, "sk-ssh-ed25519@openssh.com": 256, "ecdsa-sha2-nistp256": 256,
              "ecdsa-sha2-nistp384": 384, "ecdsa-sha2-nistp521": 521, "sk-ecdsa-sha2-nistp256@openssh.com": 256}


@dataclass(frozen=True)
class LocalKey:
    public_key: str              # the OpenSSH line: "ssh-ed25519 AAAA… comment"
    algorithm: str               # "ssh-ed25519"
    comment: str
    fingerprint: str             # "SHA256:…"
    bits: int
    where: str                   # "ssh-agent" or the private key's path
    private_path: Path | None    # None for an agent key

    @property
    def key_type(self) -> str:
        return TYPE_NAMES.get(self.algorithm, self.algorithm.upper())

    @property
    def listing(self) -> str:
        """As `ssh-keygen -l` prints it."""
        return f"{self.bits} {self.fingerprint} {self.comment or 'no comment'} ({self.key_type})"

    @property
    def choice(self) -> str:
        return choice_for(self)


def choice_for(key: LocalKey) -> str:
    return str(key.private_path) if key.private_path else f"{AGENT_PREFIX}{key.fingerprint}"


def _blob_bits(algorithm: str, blob: bytes) -> int:
    if algorithm in FIXED_BITS:
        return FIXED_BITS[algorithm]
    try:
        fields, pos = [], 0
        while pos < len(blob):   # string fields: uint32 length + bytes
            n = int.from_bytes(blob[pos:pos + 4], "big")
            fields.append(blob[pos + 4:pos + 4 + n])
            pos += 4 + n
        if algorithm == "ssh-rsa":      # name, e, n
            return int.from_bytes(fields[2], "big").bit_length()
        if algorithm == "ssh-dss":      # name, p, q, g, y
            return int.from_bytes(fields[1], "big").bit_length()
    except IndexError:
        pass
    return 0


def parse_public_key(line: str, where: str, private_path: Path | None = None) -> LocalKey | None:
    """One OpenSSH public key line, or None when it is not one."""
    parts = (line or "").strip().split(None, 2)
    if len(parts) < 2:
        return None
    algorithm, data = parts[0], parts[1]
    try:
        blob = base64.b64decode(data, validate=True)
    except ValueError:
        return None
    comment = parts[2].strip() if len(parts) > 2 else ""
    return LocalKey(public_key=" ".join(parts), algorithm=algorithm, comment=comment,
                    fingerprint=fingerprint(f"{algorithm} {data}"),
                    bits=_blob_bits(algorithm, blob), where=where, private_path=private_path)


def ssh_dir(home: Path | None = None) -> Path:
    return (Path(home) if home else Path.home()) / ".ssh"


def agent_keys() -> tuple[list[LocalKey], str]:
    """(the ssh-agent's keys, why none could be read or '')."""
    if not os.environ.get("SSH_AUTH_SOCK"):
        return [], "no ssh-agent is running (SSH_AUTH_SOCK is not set)"
    try:
        out = subprocess.run(["ssh-add", "-L"], capture_output=True, text=True, timeout=10)
    except FileNotFoundError:
        return [], "ssh-add is not installed, so the ssh-agent's keys cannot be listed"
    except (OSError, subprocess.SubprocessError) as exc:
        return [], f"the ssh-agent could not be asked ({type(exc).__name__})"
    if out.returncode == 1:              # "The agent has no identities."
        return [], "the ssh-agent holds no keys"
    if out.returncode != 0:
        return [], f"the ssh-agent could not be asked ({(out.stderr or '').strip() or out.returncode})"
    keys = [k for k in (parse_public_key(line, AGENT) for line in out.stdout.splitlines()) if k]
    return keys, ""


def file_keys(home: Path | None = None) -> list[LocalKey]:
    """~/.ssh/*.pub that have their private key beside them."""
    folder = ssh_dir(home)
    found = []
    try:
        pubs = sorted(folder.glob("*.pub"))
    except OSError:
        return []
    for pub in pubs:
        private = pub.with_suffix("")
        if not private.is_file():
            continue
        try:
            line = pub.read_text(encoding="utf-8").strip().splitlines()[0]
        except (OSError, UnicodeDecodeError, IndexError):
            continue
        key = parse_public_key(line, str(private), private)
        if key:
            found.append(key)
    return found


def find_keys(home: Path | None = None) -> tuple[list[LocalKey], str]:
    """(the user's keys: the agent's first, then files not already in the agent, a note on the agent or '')."""
    agent, note = agent_keys()
    files = file_keys(home)
    return agent + files, note


def find_choice(keys: list[LocalKey], choice: str) -> LocalKey | None:
    for key in keys:
        if key.choice == choice:
            return key
    return None


def free_key_path(home: Path | None = None) -> Path:
    """~/.ssh/signoff_ed25519, or signoff_ed25519_2, _3, … when that name is taken."""
    folder = ssh_dir(home)
    n = 1
    while True:
        path = folder / (DEFAULT_KEY_NAME if n == 1 else f"{DEFAULT_KEY_NAME}_{n}")
        if not path.exists() and not path.with_name(path.name + ".pub").exists():
            return path
        n += 1


def create_key(path: Path | None = None, *, comment: str = "", home: Path | None = None) -> LocalKey:
    """Make an ed25519 key (OpenSSH format, no passphrase: the file is readable by its owner only).
    Never overwrites a file: an existing PATH or PATH.pub is an InputError."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    path = Path(path).expanduser() if path else free_key_path(home)
    pub = path.with_name(path.name + ".pub")
    for p in (path, pub):
        if p.exists():
            raise InputError(f"{p} exists already: Signoff never overwrites a key; choose another name")
    comment = " ".join((comment or "").split())
    key = Ed25519PrivateKey.generate()
    private_bytes = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                      serialization.NoEncryption())
    public_line = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                serialization.PublicFormat.OpenSSH).decode()
    if comment:
        public_line += f" {comment}"
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)   # O_EXCL: never overwrite, even racing
        with os.fdopen(fd, "wb") as f:
            f.write(private_bytes)
        fd = os.open(pub, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(public_line + "\n")
    except FileExistsError as exc:
        raise InputError(f"{exc.filename} exists already: Signoff never overwrites a key") from None
    except OSError as exc:
        raise InputError(f"could not write the key to {path}: {exc.strerror or exc}") from None
    made = parse_public_key(public_line, str(path), path)
    assert made is not None
    return made
