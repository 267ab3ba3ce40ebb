"""Errors the user can act on.

    SignoffError                 one clear line for the user; never a traceback
     ├── InputError              bad input (files, ids, options): CLI exit 2
     │    └── ConfigError        signoff.toml is missing or wrong
     ├── NotFoundError           a request, revision or file that is not there
     ├── PolicyRefusal           the policy does not allow this action: CLI exit 4
     └── Unreachable             the store, the forge or the tracking server cannot be reached: CLI exit 6

The CLI's exit codes (README "Exit codes", docs/cli.md): 0 approved/ok, 1 rejected (or
does not verify), 2 bad input or usage, 3 pending, 4 refused by policy, 5 `wait` timed out,
6 store or forge unreachable, 70 internal error.
"""


class SignoffError(Exception):
    """Base class: its message is shown to the user as it is."""

    exit_code = 2


class InputError(SignoffError):
    exit_code = 2


class ConfigError(InputError):
    exit_code = 2


class NotFoundError(SignoffError):
    exit_code = 2


class PolicyRefusal(SignoffError):
    exit_code = 4


class Unreachable(SignoffError):
    """Something Signoff needs to talk to did not answer (retrying later can help)."""

    exit_code = 6
