"""`signoff token`: forge tokens in the OS keyring, for machines without the
window (the settings dialog does the same through app/credentials.py).

    signoff token set FORGE [--api-url URL]      the token is read from stdin, never from the command line
    signoff token show FORGE [--api-url URL] [--check]   where it comes from; --check: whose it is
    signoff token delete FORGE [--api-url URL]

Exit codes: 0 done / found, 1 no token (show), 2 bad input or keyring problem.
"""

from __future__ import annotations

import getpass
import sys

from signoff.credentials import (CredentialError, delete_token, find_token, forge_host, missing_token_message,
                                 store_token)


def _read_token() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("token (input hidden): ")
    return sys.stdin.readline()


def _known_forge(name: str) -> None:
    """FORGE is a sink plugin that takes a token (it declares a TokenSpec), asked of the registry."""
    from signoff.registry import registry

    forges = registry().token_sinks()
    if name not in forges:
        raise CredentialError(f"no sink plugin {name!r} takes a token; these do: {', '.join(forges) or 'none'}")


def cmd_token(args) -> int:
    _known_forge(args.forge)
    api_url = args.api_url or ""
    host = forge_host(args.forge, api_url)
    if args.token_command == "set":
        store_token(args.forge, api_url, _read_token())
        print(f"stored the {args.forge} token for {host} in the OS keyring")
        return 0
    if args.token_command == "delete":
        removed = delete_token(args.forge, api_url)
        print(f"{'deleted' if removed else 'there was no'} {args.forge} token for {host} in the OS keyring")
        return 0
    found = find_token(args.forge, api_url)
    if found.token is None:
        print(missing_token_message(found))
        return 1
    line = f"{args.forge} token for {host}: from {found.source}"
    if args.check:
        from signoff.plugin_api import DeliveryError
        from signoff.registry import registry

        try:
            account = registry().sink(args.forge).create(api_url=api_url, store=None).account()
        except DeliveryError as exc:
            raise CredentialError(f"{line}; the forge did not say whose it is: {exc}") from None
        emails = f" ({', '.join(account.emails)})" if account and account.emails else ""
        line += f"; belongs to {account.login}{emails}" if account else ""
    print(line)
    return 0


def add_token_parser(sub, parser_class) -> None:
    s = sub.add_parser("token", help="forge tokens in the OS keyring (set / show / delete)")
    tsub = s.add_subparsers(dest="token_command", parser_class=parser_class, required=True)
    for name, text in (("set", "store a token (read from stdin) in the OS keyring"),
                       ("show", "say where the token comes from (keyring or environment)"),
                       ("delete", "remove the token from the OS keyring")):
        t = tsub.add_parser(name, help=text)
        t.add_argument("forge", help="the sink: github, gitlab, gitea, or one a plugin adds")
        t.add_argument("--api-url", help="the forge's API URL as in signoff.toml [status] api_url "
                                         "(default for github: https://api.github.com)")
        if name == "show":
            t.add_argument("--check", action="store_true", help="ask the forge who the token belongs to")
        t.set_defaults(func=cmd_token)
