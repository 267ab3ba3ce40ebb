"""What can go wrong talking to an MLflow tracking server, each one clear line.

    SignoffError (signoff.core.errors)
     ├── MlflowUnreachable     no answer: refused, DNS, timeout, TLS    (retry helps)
     ├── MlflowServerError     5xx / 429, or an answer that is not the API's JSON (retry helps)
     └── InputError
          ├── MlflowAuthError  401 / 403: the credentials are missing or refused
          └── MlflowRequestError  the server said no (400, 404 ...) to what was asked
               └── MlflowNotFound   RESOURCE_DOES_NOT_EXIST: a model, version, alias, run, file

`retry` tells the outbox whether trying again later can help.
"""

from __future__ import annotations

from signoff.core.errors import InputError, NotFoundError, SignoffError, Unreachable


class MlflowError(SignoffError):
    retry = False
    status: int | None = None
    retry_after: float | None = None


class MlflowUnreachable(MlflowError, Unreachable):   # CLI exit 6
    retry = True


class MlflowServerError(MlflowError, Unreachable):   # CLI exit 6
    retry = True


class MlflowAuthError(MlflowError, InputError):
    # A token fixed later makes the write-back go through: the outbox keeps trying.
    retry = True


class MlflowRequestError(MlflowError, InputError):
    pass


class MlflowNotFound(MlflowRequestError, NotFoundError):
    pass
