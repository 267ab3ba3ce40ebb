"""Errors the user can act on.

    SignoffError                 one clear line for the user; never a traceback
     ├── InputError              bad input (files, ids, options): CLI exit 2
     │    └── ConfigError        signoff.toml is missing or wrong
     ├── NotFoundError           a request, revision or file that is not there
     └── PolicyRefusal           the policy does not allow this action: CLI exit 4
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
