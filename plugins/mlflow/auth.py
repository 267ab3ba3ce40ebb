"""Credentials for a tracking server, in this order:

1. the OS keyring: a token stored for the server's host (service "signoff",
   user "mlflow@HOST[:PORT]", see app/credentials.py; the app's Browse MLflow
   dialog stores it with `store_token("mlflow", tracking_uri, token)`), sent
   as a bearer token;
2. MLFLOW_TRACKING_TOKEN: a bearer token (what the mlflow client reads too);
3. MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD: basic auth
   (MLflow's own `--app-name basic-auth` server).

None of them: no Authorization header (a server without auth). Secrets stay
in `Credentials`, which never prints them.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

from signoff.credentials import Token, TokenSpec, find_token

KEYRING_FORGE = "mlflow"
# Keyring only: the variables below are read here, as bearer or basic credentials.
KEYRING_SPEC = TokenSpec(KEYRING_FORGE)
ENV_TOKEN = "MLFLOW_TRACKING_TOKEN"
ENV_USER = "MLFLOW_TRACKING_USERNAME"
ENV_PASSWORD = "MLFLOW_TRACKING_PASSWORD"


@dataclass(frozen=True)
class Credentials:
    kind: str = "none"              # none / bearer / basic
    source: str = ""                # "keyring", "env MLFLOW_TRACKING_TOKEN", ... (for messages)
    secret: Token | None = None     # the bearer token, or "user:password" for basic

    def headers(self) -> dict[str, str]:
        if self.secret is None:
            return {}
        if self.kind == "bearer":
            return {"Authorization": f"Bearer {self.secret.reveal()}"}
        encoded = base64.b64encode(self.secret.reveal().encode("utf-8")).decode("ascii")
        return {"Authorization": f"Basic {encoded}"}

    def __repr__(self) -> str:
        return f"Credentials({self.kind}, from {self.source or 'nowhere'})"


NO_CREDENTIALS = Credentials()


def credentials_for(tracking_uri: str) -> Credentials:
    lookup = find_token(KEYRING_SPEC, tracking_uri)
    if lookup.token is not None:
        return Credentials("bearer", lookup.source or "keyring", lookup.token)
    token = os.environ.get(ENV_TOKEN, "").strip()
    if token:
        return Credentials("bearer", f"env {ENV_TOKEN}", Token(token))
    user = os.environ.get(ENV_USER, "").strip()
    password = os.environ.get(ENV_PASSWORD, "")
    if user:
        return Credentials("basic", f"env {ENV_USER}/{ENV_PASSWORD}", Token(f"{user}:{password}"))
    return NO_CREDENTIALS


HOW_TO_AUTHENTICATE = (f"set {ENV_TOKEN} (bearer token) or {ENV_USER} and {ENV_PASSWORD} (basic auth), "
                       f"or store a token for this server in the OS keyring "
                       f"(in the app: File ▸ Browse MLflow… ▸ Token…)")
