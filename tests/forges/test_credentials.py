"""Tokens: keyring per forge host, environment fallback, a missing keyring
backend is a message, and a token never prints itself."""

from __future__ import annotations

import logging

import keyring
import pytest
from keyring.backends import fail

import signoff.registry  # noqa: F401  sets the loader of the sinks' token specs (found by forge name)
from signoff.credentials import (CredentialError, Token, delete_token, find_token, forge_host, keyring_user,
                             missing_token_message, store_token)


def test_tokens_are_kept_per_forge_host(memory_keyring):
    store_token("github", "https://api.github.com", "tok-public")
    store_token("github", "https://ghe.example.com/api/v3", "tok-enterprise")
    store_token("gitlab", "https://gitlab.example.com:8443", "tok-gitlab")
    assert find_token("github", "").token == Token("tok-public")            # default host
    assert find_token("github", "https://github.com").token == Token("tok-public")
    found = find_token("github", "https://ghe.example.com/api/v3/")
    assert (found.token, found.source, found.host) == (Token("tok-enterprise"), "keyring", "ghe.example.com")
    assert find_token("gitlab", "https://gitlab.example.com:8443/api/v4").token == Token("tok-gitlab")
    assert find_token("gitlab", "https://gitlab.example.com").token is None  # another port, another host
    assert ("signoff", "gitlab@gitlab.example.com:8443") in memory_keyring.data
    assert delete_token("github", "https://ghe.example.com/api/v3") is True
    assert delete_token("github", "https://ghe.example.com/api/v3") is False
    assert find_token("github", "https://ghe.example.com/api/v3").token is None


def test_environment_is_the_fallback_and_the_keyring_wins(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "from-env")
    monkeypatch.setenv("FORGEJO_TOKEN", "forgejo-env")
    found = find_token("github", "https://api.github.com")
    assert (found.token, found.source) == (Token("from-env"), "env GITHUB_TOKEN")
    monkeypatch.setenv("GITEA_SERVER_URL", "https://codeberg.org")   # Gitea has no public default: it is named
    assert find_token("gitea", "https://codeberg.org").source == "env FORGEJO_TOKEN"
    store_token("github", "https://api.github.com", "from-keyring")
    assert find_token("github", "https://api.github.com").source == "keyring"


def test_no_keyring_backend_is_a_message_not_a_crash(monkeypatch):
    keyring.set_keyring(fail.Keyring())
    found = find_token("gitlab", "https://gitlab.example.com")
    assert found.token is None and "no OS keyring is available" in found.problem
    assert "GITLAB_TOKEN" in missing_token_message(found) and "no OS keyring" in missing_token_message(found)
    with pytest.raises(CredentialError, match="cannot store the gitlab token: no OS keyring.*set GITLAB_TOKEN"):
        store_token("gitlab", "https://gitlab.example.com", "secret")
    assert delete_token("gitlab", "https://gitlab.example.com") is False
    monkeypatch.setenv("GITLAB_TOKEN", "ci-token")  # CI: no keyring, the variable works
    monkeypatch.setenv("CI_SERVER_URL", "https://gitlab.example.com")   # on the host GitLab CI names
    assert find_token("gitlab", "https://gitlab.example.com").token == Token("ci-token")


def test_a_broken_keyring_falls_back_to_the_environment(monkeypatch):
    class Locked(keyring.backend.KeyringBackend):
        priority = 1

        def get_password(self, service, username):
            raise RuntimeError("the collection is locked")

        def set_password(self, service, username, password):
            raise RuntimeError("the collection is locked")

        def delete_password(self, service, username):
            raise RuntimeError("the collection is locked")

    keyring.set_keyring(Locked())
    monkeypatch.setenv("GITEA_TOKEN", "env-token")
    monkeypatch.setenv("GITEA_SERVER_URL", "https://gitea.example.com")
    found = find_token("gitea", "https://gitea.example.com")
    assert found.token == Token("env-token") and "could not be read" in found.problem
    with pytest.raises(CredentialError, match="refused the gitea token.*GITEA_TOKEN"):
        store_token("gitea", "https://gitea.example.com", "x")


def test_a_token_never_prints_itself(caplog):
    token = Token("  ghp_supersecret  ")
    assert token.reveal() == "ghp_supersecret"
    caplog.set_level(logging.DEBUG)
    logging.getLogger("t").info("token %s in %r and %s", token, [token], {"t": token})
    assert "supersecret" not in caplog.text and "Token(****)" in caplog.text
    assert "supersecret" not in f"{token} {token!r}"
    with pytest.raises(CredentialError, match="empty"):
        Token("   ")


def test_an_environment_token_goes_only_to_the_host_the_environment_names(monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ci-token")
    # no GITHUB_API_URL: the public default, never a host signoff.toml names
    assert find_token("github", "https://github.com").token == Token("ci-token")
    found = find_token("github", "http://127.0.0.1:8123")
    assert found.token is None and found.refused == (
        "GITHUB_TOKEN is for api.github.com (the public default), but signoff.toml [status] api_url names "
        "127.0.0.1:8123: save a token for that host with `signoff token set github --api-url URL`, "
        "or fix api_url on the default branch")
    assert missing_token_message(found) == found.refused
    monkeypatch.setenv("GITHUB_API_URL", "http://127.0.0.1:8123")    # what GitHub Actions on that host sets
    assert find_token("github", "http://127.0.0.1:8123/").token == Token("ci-token")
    refused = find_token("github", "https://api.github.com").refused
    assert "GITHUB_TOKEN is for 127.0.0.1:8123 (GITHUB_API_URL), but" in refused and "names api.github.com" in refused
    # GitLab CI: CI_API_V4_URL first, then CI_SERVER_URL, else gitlab.com
    monkeypatch.setenv("GITLAB_TOKEN", "gl-token")
    assert find_token("gitlab", "https://gitlab.com").token == Token("gl-token")
    monkeypatch.setenv("CI_SERVER_URL", "https://gitlab.example.com:8443")
    assert find_token("gitlab", "https://gitlab.example.com:8443").token == Token("gl-token")
    assert find_token("gitlab", "https://gitlab.com").token is None
    monkeypatch.setenv("CI_API_V4_URL", "https://other.example.com/api/v4")
    assert "GITLAB_TOKEN is for other.example.com (CI_API_V4_URL)" in find_token("gitlab", "https://gitlab.example.com:8443").refused
    # Gitea: no public default; GITEA_SERVER_URL, or Gitea/Forgejo Actions' GITHUB_API_URL
    monkeypatch.setenv("GITEA_TOKEN", "gt-token")
    refused = find_token("gitea", "https://gitea.example.com").refused
    assert "names no gitea host" in refused and "GITEA_SERVER_URL" in refused
    monkeypatch.setenv("GITHUB_API_URL", "https://gitea.example.com/api/v1")
    assert find_token("gitea", "https://gitea.example.com").token is None      # not under Gitea Actions
    monkeypatch.setenv("GITEA_ACTIONS", "true")
    assert find_token("gitea", "https://gitea.example.com").token == Token("gt-token")


def test_a_keyring_token_goes_only_to_its_exact_host(memory_keyring):
    store_token("gitea", "https://gitea.example.com", "tok")
    assert find_token("gitea", "https://gitea.example.com/api/v1").token == Token("tok")
    for other in ("https://gitea.example.com:8443", "https://evil.gitea.example.com", "https://gitea.example.com.evil.org",
                  "https://GITEA.example.com@evil.org"):
        assert find_token("gitea", other).token is None, other


def test_plain_http_carries_a_token_only_to_loopback(memory_keyring, monkeypatch):
    store_token("gitea", "http://gitea.example.com", "tok")
    store_token("gitea", "http://127.0.0.1:3000", "tok-local")
    found = find_token("gitea", "http://gitea.example.com")
    assert found.token is None and "not sent to gitea.example.com over plain http://" in found.refused
    assert find_token("gitea", "http://127.0.0.1:3000").token == Token("tok-local")
    from signoff.plugins.common.http import ForgeClient   # and the HTTP layer refuses it even when handed one
    client = ForgeClient(forge="gitea", base_url="http://gitea.example.com/api/v1", token=Token("tok"))
    assert "Authorization" not in client.session.headers
    client.close()


def test_host_names():
    assert forge_host("github", "") == "api.github.com"
    assert forge_host("gitea", "gitea.local:3000") == "gitea.local:3000"
    assert keyring_user("gitlab", "https://GitLab.Example.com/") == "gitlab@gitlab.example.com"
    with pytest.raises(CredentialError, match="api_url is empty"):
        forge_host("gitlab", "")


def test_token_command(github, capsys, monkeypatch):
    import io

    from signoff.cli.main import main

    monkeypatch.setattr("sys.stdin", io.StringIO(github.token + "\n"))   # never on the command line
    assert main(["token", "set", "github", "--api-url", github.url]) == 0
    assert main(["token", "show", "github", "--api-url", github.url, "--check"]) == 0
    out = capsys.readouterr().out
    assert "from keyring; belongs to octo (octo@example.com)" in out and github.token not in out
    assert main(["token", "delete", "github", "--api-url", github.url]) == 0
    assert main(["token", "show", "github", "--api-url", github.url]) == 1
    assert "no github token for 127.0.0.1" in capsys.readouterr().out
    keyring.set_keyring(fail.Keyring())
    monkeypatch.setattr("sys.stdin", io.StringIO("secret\n"))
    assert main(["token", "set", "gitlab", "--api-url", "https://gitlab.example.com"]) == 2
    assert "set GITLAB_TOKEN in the environment instead" in capsys.readouterr().err
