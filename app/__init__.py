"""Signoff: the human sign-off step of ML releases."""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("signoff")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
