"""Where a non-git source takes its policy from (docs/trust.md, "Where the policy comes from").

Never from what is judged (the candidate folder, the candidate run): from a `--policy FILE`
that CI takes from its own checkout of the default branch, or from `--repo DIR` at its
default branch (or `--policy-ref REF`). Nothing given: a ConfigError saying how to give it.
"""

from __future__ import annotations

import os

from signoff.core.errors import ConfigError

CONFIG_FILE = "signoff.toml"
HOW = ("pass --policy FILE (signoff.toml from a checkout of the default branch) or --repo DIR "
       "(signoff.toml read at its default branch); a candidate's own signoff.toml never judges it")


def read_policy_file(path: str) -> str:
    full = os.path.abspath(os.path.expanduser(path))
    if not os.path.isfile(full):
        raise ConfigError(f"--policy {path}: no such file")
    try:
        with open(full, encoding="utf-8-sig") as f:
            return f.read()
    except UnicodeDecodeError:
        raise ConfigError(f"{full} is not UTF-8 text") from None


def policy_from_repo(repo: str, policy_ref: str = "", candidate_commit: str = "") -> tuple[str, str, str]:
    """(base text, candidate text or "", where) from a git repository: the protected base of
    `candidate_commit` when it is known there, else the head of the default branch / policy_ref."""
    from signoff.plugins.git import GitSource

    src = GitSource(repo, policy_ref=policy_ref)
    cand = None
    if candidate_commit:
        try:
            cand = src.resolve(candidate_commit)
        except Exception:   # the commit is not in this clone: the branch head still holds the policy
            cand = None
    if cand is not None:
        branch, base = src.policy_base(cand)
    else:
        found = (policy_ref, src.resolve(policy_ref)) if policy_ref else src._default_branch()
        if found is None:
            raise ConfigError(f"{src.path} has no default branch (origin/HEAD, main or master) to read {CONFIG_FILE} "
                              f"from; pass --policy-ref REF or --policy FILE")
        branch, base = found
    text = src._config_text_at(base)
    if not text:
        raise ConfigError(f"{CONFIG_FILE} not found on {branch} at {base.hexsha[:7]} in {src.path}: "
                          f"add {CONFIG_FILE} to {branch} first")
    candidate_text = src._config_text_at(cand) if cand is not None else ""
    return text, ("" if candidate_text == text else candidate_text), f"git {branch} {base.hexsha[:7]}"


def no_policy_error(what: str) -> ConfigError:
    return ConfigError(f"no policy for {what}: {HOW}")
