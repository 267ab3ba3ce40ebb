"""SSH signatures against the reference implementation: what we sign, OpenSSH's
`ssh-keygen -Y verify` accepts, and what `ssh-keygen -Y sign` (and a real ssh-agent)
signs, we verify; wrong keys, other content and other namespaces are refused."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from signoff.core.signing import (NAMESPACE, SignatureError, fingerprint, keys_for, parse_allowed_signers,
                              signature_key, statement_bytes, verify_statement)
from signoff.service.signer import AgentSigner, KeyFileSigner, SigningError, generate_key, signer_for

STATEMENT = {"type": "signoff/decision/v1", "request": 3, "content_hash": "ab" * 32, "user": "alice@example.com",
             "decision": "approve", "comment": "fine — ok", "at": "2026-12-06T20:00:00+00:00", "audit_position": 7}


def keygen(path: Path, kind: str = "ed25519", comment: str = "alice@example.com") -> Path:
    args = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", comment, "-f", str(path)]
    if kind == "rsa":
        args[4:4] = ["-b", "2048"]
    subprocess.run(args, check=True)
    return path


def ssh_verify(tmp: Path, data: bytes, signature: str, principal: str, pub_line: str, namespace=NAMESPACE) -> bool:
    allowed = tmp / "allowed"
    allowed.write_text(f"{principal} {pub_line}\n")
    sig = tmp / "sig"
    sig.write_text(signature)
    out = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", principal, "-n", namespace,
                          "-s", str(sig)], input=data, capture_output=True)
    return out.returncode == 0


@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
def test_our_signature_verifies_with_ssh_keygen(tmp_path, kind):
    key = keygen(tmp_path / "id", kind)
    signer = KeyFileSigner(key)
    data = statement_bytes(STATEMENT)
    sig = signer.sign(data)
    pub = (tmp_path / "id.pub").read_text().strip()
    assert ssh_verify(tmp_path, data, sig, "alice@example.com", pub)
    assert not ssh_verify(tmp_path, data + b" ", sig, "alice@example.com", pub)
    assert not ssh_verify(tmp_path, data, sig, "alice@example.com", pub, namespace="git")
    assert verify_statement(STATEMENT, sig, [pub]) == signer.fingerprint


@pytest.mark.parametrize("kind", ["ed25519", "rsa"])
def test_ssh_keygen_signature_verifies_with_ours(tmp_path, kind):
    key = keygen(tmp_path / "id", kind)
    data = statement_bytes(STATEMENT)
    (tmp_path / "msg").write_bytes(data)
    subprocess.run(["ssh-keygen", "-Y", "sign", "-q", "-f", str(key), "-n", NAMESPACE, str(tmp_path / "msg")],
                   check=True)
    sig = (tmp_path / "msg.sig").read_text()
    pub = (tmp_path / "id.pub").read_text().strip()
    assert verify_statement(STATEMENT, sig, [pub]).startswith("SHA256:")
    assert signature_key(sig).split()[:2] == pub.split()[:2]


def test_fingerprint_is_what_ssh_keygen_prints(tmp_path):
    keygen(tmp_path / "id")
    out = subprocess.run(["ssh-keygen", "-l", "-f", str(tmp_path / "id.pub")], capture_output=True, text=True,
                         check=True).stdout.split()[1]
    assert fingerprint((tmp_path / "id.pub").read_text()) == out


def test_refusals(tmp_path):
    alice = KeyFileSigner(keygen(tmp_path / "alice"))
    mallory = KeyFileSigner(keygen(tmp_path / "mallory", comment="mallory"))
    sig = alice.sign(statement_bytes(STATEMENT))
    with pytest.raises(SignatureError, match="not listed"):
        verify_statement(STATEMENT, sig, [mallory.public_key])
    with pytest.raises(SignatureError, match="does not verify"):
        verify_statement({**STATEMENT, "decision": "reject"}, sig, [alice.public_key])
    with pytest.raises(SignatureError, match="does not verify"):
        verify_statement({**STATEMENT, "request": 4}, sig, [alice.public_key])
    with pytest.raises(SignatureError, match="not signed"):
        verify_statement(STATEMENT, "", [alice.public_key])
    with pytest.raises(SignatureError):
        verify_statement(STATEMENT, "-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n",
                         [alice.public_key])
    with pytest.raises(SignatureError, match="no usable key"):
        verify_statement(STATEMENT, sig, [])
    # A signature made for git (another namespace) is no signature here.
    (tmp_path / "msg").write_bytes(statement_bytes(STATEMENT))
    subprocess.run(["ssh-keygen", "-Y", "sign", "-q", "-f", str(tmp_path / "alice"), "-n", "git",
                    str(tmp_path / "msg")], check=True)
    with pytest.raises(SignatureError):
        verify_statement(STATEMENT, (tmp_path / "msg.sig").read_text(), [alice.public_key])


def test_key_files_that_cannot_sign(tmp_path):
    with pytest.raises(SigningError, match="cannot read"):
        KeyFileSigner(tmp_path / "nope")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "secret", "-f", str(tmp_path / "locked")], check=True)
    with pytest.raises(SigningError, match="passphrase.*ssh-add"):
        KeyFileSigner(tmp_path / "locked")
    subprocess.run(["ssh-keygen", "-q", "-t", "ecdsa", "-N", "", "-f", str(tmp_path / "ec")], check=True)
    with pytest.raises(SigningError, match="ed25519"):
        KeyFileSigner(tmp_path / "ec")
    (tmp_path / "junk").write_text("hello")
    with pytest.raises(SigningError, match="not a private key"):
        KeyFileSigner(tmp_path / "junk")


def test_generate_key_is_usable_by_openssh_and_never_overwrites(tmp_path):
    signer = generate_key(tmp_path / "k" / "signoff_ed25519", "alice@example.com")
    assert oct(os.stat(tmp_path / "k" / "signoff_ed25519").st_mode & 0o777) == "0o600"
    pub = (tmp_path / "k" / "signoff_ed25519.pub").read_text().strip()
    assert pub.endswith("alice@example.com")
    subprocess.run(["ssh-keygen", "-l", "-f", str(tmp_path / "k" / "signoff_ed25519")], check=True,
                   capture_output=True)
    data = statement_bytes(STATEMENT)
    assert ssh_verify(tmp_path, data, signer.sign(data), "alice@example.com", pub)
    with pytest.raises(FileExistsError):
        generate_key(tmp_path / "k" / "signoff_ed25519")


@pytest.fixture
def agent(tmp_path, monkeypatch):
    sock = tmp_path / "agent.sock"
    out = subprocess.run(["ssh-agent", "-s", "-a", str(sock)], capture_output=True, text=True, check=True).stdout
    pid = int(out.split("SSH_AGENT_PID=")[1].split(";")[0])
    monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
    monkeypatch.delenv("SIGNOFF_SIGNING_KEY", raising=False)
    try:
        yield sock
    finally:
        os.kill(pid, signal.SIGTERM)


def test_agent_signer_signs_with_the_key_the_policy_lists(tmp_path, agent):
    other = keygen(tmp_path / "other", comment="other")
    alice = keygen(tmp_path / "alice")
    for k in (other, alice):
        subprocess.run(["ssh-add", "-q", str(k)], check=True, capture_output=True)
    alice_pub = (tmp_path / "alice.pub").read_text().strip()
    signer = signer_for("alice@example.com", [alice_pub])
    assert isinstance(signer, AgentSigner)
    data = statement_bytes(STATEMENT)
    sig = signer.sign(data)
    assert verify_statement(STATEMENT, sig, [alice_pub]) == fingerprint(alice_pub)
    assert ssh_verify(tmp_path, data, sig, "alice@example.com", alice_pub)
    nobody = KeyFileSigner(keygen(tmp_path / "nobody", comment="nobody")).public_key
    with pytest.raises(SigningError, match="none of the ssh-agent's 2 key"):
        signer_for("alice@example.com", [nobody])


def test_signer_for_prefers_the_key_file(tmp_path, monkeypatch):
    key = keygen(tmp_path / "id")
    monkeypatch.setenv("SIGNOFF_SIGNING_KEY", str(key))
    assert isinstance(signer_for("alice@example.com", []), KeyFileSigner)
    monkeypatch.delenv("SIGNOFF_SIGNING_KEY")
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    with pytest.raises(SigningError, match="no key to sign as alice@example.com"):
        signer_for("alice@example.com", [])


def test_allowed_signers_file(tmp_path):
    a = KeyFileSigner(keygen(tmp_path / "a")).public_key
    b = KeyFileSigner(keygen(tmp_path / "b", comment="b")).public_key
    text = (f"# team keys\nalice@example.com {a} laptop\n"
            f'*@example.com,!bob@example.com namespaces="signoff,git" {b}\n'
            f'carol@example.com namespaces="git" {a}\n')
    signers = parse_allowed_signers(text)
    assert keys_for("Alice@Example.com", signers) == [a, b]
    assert keys_for("bob@example.com", signers) == []
    assert keys_for("carol@example.com", signers) == [b]          # her git-only entry does not count here
    with pytest.raises(SignatureError, match="line 1: the valid-before option"):
        parse_allowed_signers(f'alice@example.com valid-before="20300101" {a}\n')
    with pytest.raises(SignatureError, match="line 2"):
        parse_allowed_signers(f"alice@example.com {a}\nbroken\n")
