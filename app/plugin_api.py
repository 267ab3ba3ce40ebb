"""What a plugin implements. Built-in and third-party plugins alike are found
through the entry-point groups below (see app/registry.py); every interface
has an in-memory double in tests/doubles.py.

Entry-point groups:
    signoff.sources        -> a Source subclass
    signoff.status_sinks   -> a StatusSink subclass
    signoff.renderers      -> a Renderer subclass
    signoff.ui_extensions  -> a UiExtension subclass (window parts a plugin adds, e.g. MLflow browsing)

A plugin owns its features: a source declares its `signoff request` options (CLI_OPTIONS,
from_cli), its `signoff inspect` options (INSPECT_OPTIONS) and its signoff.toml sections and
[[eval_sets]] keys (CONFIG_SECTIONS, EVAL_SET_KEYS); a sink its token variable,
default URL and display name; a renderer its output type. Nothing in app/ lists them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar

from signoff.core.config import EvalSetKey
from signoff.credentials import TokenSpec

if TYPE_CHECKING:  # pragma: no cover
    from signoff.core.model import LoadedInput
    from signoff.core.tasks import TaskState

GROUP_SOURCES = "signoff.sources"
GROUP_SINKS = "signoff.status_sinks"
GROUP_RENDERERS = "signoff.renderers"
GROUP_UI_EXTENSIONS = "signoff.ui_extensions"


@dataclass(frozen=True)
class CliOption:
    """One option of `signoff request --source NAME` a source declares. Its value reaches
    `Source.from_cli` under `key` (default: the flag without dashes, "-" -> "_"). Two sources
    may declare the same flag (e.g. --model): the first one's help is shown, each gets the value."""

    flag: str                 # "--baseline-dir"
    help: str = ""
    metavar: str | None = None
    key: str = ""
    repeat: bool = False      # may be given more than once: a list
    required: bool = False    # the source needs it: a clear usage error without it

    @property
    def name(self) -> str:
        return self.key or self.flag.lstrip("-").replace("-", "_")


@dataclass(frozen=True)
class RequestContext:
    """What `signoff request` knows besides a source's own options: the common flags."""

    repo: str = ""            # --repo, resolved ("" when not given)
    policy: str = ""          # --policy FILE, resolved ("" when not given)
    policy_ref: str = ""      # --policy-ref
    sha: str = ""             # --sha


class Source(ABC):
    """Loads the config, samples and both models' predictions for a request."""

    NAME: ClassVar[str]
    DESCRIPTION: ClassVar[str] = ""
    # Top-level sections of signoff.toml this plugin reads: name -> a msgspec.Struct (declared
    # with forbid_unknown_fields=True), or (Struct, build[, refine]) where build(decoded Struct or
    # None) makes what ProjectConfig.section(name) returns and refine(config, data) may adjust the
    # parsed config. Any plugin class may declare it; the registry registers them with
    # signoff.core.config.register_section when it loads the plugin.
    CONFIG_SECTIONS: ClassVar[dict[str, Any]] = {}
    # The options of `signoff request --source NAME` (see CliOption and from_cli).
    CLI_OPTIONS: ClassVar[tuple[CliOption, ...]] = ()
    # Keys it adds to signoff.toml's [[eval_sets]] (signoff.core.config.EvalSetKey, e.g. MLflow's `table`);
    # the registry registers them, and a set's values are `EvalSetSpec.key(name)`.
    EVAL_SET_KEYS: ClassVar[tuple[EvalSetKey, ...]] = ()
    # Its requests are commits of the git repository its locator names as `repo`: each posted status
    # also leaves a git note with the audit head and the commit's record there (app/service/anchors.py).
    NOTES_IN_REPO: ClassVar[bool] = False
    # A source that can be inspected (`production`): the options of `signoff inspect --source NAME`,
    # handed to `production` by their names. () : it cannot be.
    INSPECT_OPTIONS: ClassVar[tuple[CliOption, ...]] = ()

    @classmethod
    def from_cli(cls, options: dict, context: RequestContext) -> "Source":
        """The source for `signoff request --source NAME`: `options` holds the values of CLI_OPTIONS
        given (and what --locator JSON named). Default: a policy file given as `policy`, then
        from_locator(options). Raise InputError for bad input (one line, exit 2)."""
        if context.policy:
            options = {"policy": context.policy, **options}
        return cls.from_locator(options)

    # How the window names what a request of this source is about (the inbox's model and commit columns).
    @classmethod
    def model_name(cls, request, config_data: dict, default: str) -> str:
        """The model `request` is about; `config_data` is its signoff.toml as a dict, `default` the
        project's name there."""
        return default

    @classmethod
    def short_ref(cls, ref: str) -> str:
        """`ref` (a candidate or baseline) in a few characters, e.g. for "v3 vs v1"."""
        return (ref or "").strip()[:7]

    @classmethod
    def production(cls, *, since, now, **options) -> "Population":
        """`signoff inspect`: the production predictions in the window `since` (a timedelta or None)
        before `now`, for a source that can be inspected (files, MLflow traces); `options` are the
        values of its INSPECT_OPTIONS given, by name."""
        from signoff.core.errors import InputError

        raise InputError(f"the {cls.NAME} source cannot be inspected")

    @classmethod
    def inspection_write_backs(cls, inspection, estimate: dict, *, request_id: int) -> "list[WriteBack]":
        """Where an inspection of this source's production writes its estimate when it is kept (MLflow:
        tags on the production model version); `inspection` is the stored InspectionRecord, `estimate`
        the error rate with its interval (app/service/inspection.py `estimate`)."""
        return []

    @classmethod
    def from_locator(cls, locator: dict) -> "Source":
        """Rebuild the source from what a stored request remembers of it."""
        return cls(**locator)

    @abstractmethod
    def locator(self) -> dict:
        """JSON-able arguments that rebuild this source (stored with the request)."""

    @abstractmethod
    def load(self, *, candidate: str, baseline: str | None = None, task: "TaskState | None" = None) -> "LoadedInput":
        """Load everything for candidate vs baseline; raise SignoffError subclasses with clear messages."""

    # Optional write-backs to where the models live (MLflow: tags, alias, assessments). The
    # service enqueues what these return in the same transaction as the decision or label;
    # the outbox delivers each through the status sink it names (that sink's `deliver`).
    @classmethod
    def status_write_backs(cls, request, *, config, verdict, decision=None) -> "list[WriteBack]":
        """For a request whose status was just (re)evaluated: `decision` is the one just made, if any."""
        return []

    @classmethod
    def label_write_backs(cls, request, *, config, label) -> "list[WriteBack]":
        """For a label just saved (an empty label: just cleared)."""
        return []


@dataclass
class Population:
    """What `Source.production` returns for `signoff inspect` (app/service/inspection.py): every
    prediction in the window (one row each: id, input, output, reference, timestamp, shadow_output,
    trace_id; columns a source does not have are left out) and where they came from."""

    frame: Any                  # a pandas DataFrame
    subject: str
    source: str
    tracking_uri: str = ""
    model: str = ""
    alias: str = ""
    version: str = ""
    experiment: str = ""
    files: str = ""
    title: str = ""
    # The sampled rows read in full (MLflow: the traces' inputs and outputs, read only for the
    # sample); None when `frame` holds them already.
    read_sampled: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class WriteBack:
    """One outbox entry a source asks for: delivered by the sink plugin `sink` through its
    `deliver(payload)`. A newer entry with the same `target` supersedes an older one."""

    sink: str
    target: str
    payload: dict


@dataclass(frozen=True)
class StatusUpdate:
    """One commit status to post. `state` is Signoff's: pending / approved / rejected."""

    repo: str
    sha: str
    state: str
    description: str
    context: str
    target_url: str = ""
    ref: str = ""        # the branch or tag of the commit, when known (GitLab attaches the status to it)


class DeliveryError(Exception):
    """Posting failed. `retry` says whether trying again later can help."""

    def __init__(self, message: str, *, retry: bool, retry_after: float | None = None):
        super().__init__(message)
        self.retry = retry
        self.retry_after = retry_after


@dataclass(frozen=True)
class ForgeAccount:
    """Who a forge token belongs to (for the identity check before a decision)."""

    forge: str                      # github / gitlab / gitea
    host: str
    login: str
    emails: tuple[str, ...] = ()    # the ones the forge shows for the token's user


class StatusSink(ABC):
    """Posts commit statuses to a forge (or records them locally).

    A sink that receives payloads of its own instead of commit statuses (e.g. the
    MLflow write-backs) also implements `deliver(payload: dict)`; publishing calls
    that when the sink has it, and `post(StatusUpdate)` otherwise."""

    NAME: ClassVar[str]
    DESCRIPTION_LIMIT: ClassVar[int] = 140
    # False for a sink that only delivers payloads of its own (the MLflow write-backs): it cannot be
    # signoff.toml's [status] sink. The registry registers the others as valid sinks.
    POSTS_COMMIT_STATUSES: ClassVar[bool] = True
    # Shown in Settings and messages ("" : NAME).
    DISPLAY_NAME: ClassVar[str] = ""
    # How its token is found (keyring per host, then these variables; app/credentials.py): the
    # token variable(s), the default API URL, where CI names the host. None: the sink takes no token
    # (Settings offers a token field for every sink that has one).
    TOKEN: ClassVar[TokenSpec | None] = None
    # "NAME:LOGIN" in [signers.keys] (docs/trust.md): a forge that publishes its users' SSH signing keys
    # says where (the API root, and the variable CI names it in) and implements `signing_keys`.
    SIGNING_KEYS_URL: ClassVar[str] = ""        # "": this sink's forge publishes none
    SIGNING_KEYS_URL_ENV: ClassVar[str] = ""

    # Anchors (app/service/anchors.py, docs/trust.md "Anchors"): a commit status carries the audit head
    # in its target_url or description whatever the sink; a sink that can read its statuses back
    # implements `current_status(StatusUpdate) -> dict | None` (the forges). A sink of payloads of its
    # own whose deliveries can carry it names where (ANCHOR_NAME, e.g. "tag signoff.audit_head") and
    # implements `with_anchor`, `anchor_place` and `read_anchor`.
    ANCHOR_NAME: ClassVar[str] = ""

    @classmethod
    def with_anchor(cls, payload: dict, anchor: str) -> dict | None:
        """A copy of `payload` (one of this sink's own) carrying `anchor` ("COUNT-HASH"), or None when
        this payload carries none."""
        return None

    @classmethod
    def anchor_place(cls, target: str) -> tuple[str, str, str] | None:
        """Where an anchor delivered to outbox `target` can be read back: (api_url, place, the place in
        words for `audit verify`), or None when that target carries none."""
        return None

    def read_anchor(self, place: str) -> str | None:
        """The anchor text at `place` (from anchor_place) now, None when there is none; DeliveryError
        when it cannot be read (listed as not checked, never as OK)."""
        raise NotImplementedError

    @classmethod
    def signing_keys(cls, api_url: str, login: str, *, timeout=None) -> list[str]:
        """The public key lines the forge publishes for `login`, asked with no token; DeliveryError
        when it cannot be asked (unreachable, an error status, a malformed answer)."""
        raise NotImplementedError

    @classmethod
    def create(cls, *, api_url: str = "", store: Any = None, **options) -> "StatusSink":
        return cls(api_url=api_url, store=store, **options)

    @abstractmethod
    def post(self, update: StatusUpdate) -> None:
        """Deliver one status, or raise DeliveryError."""

    def account(self) -> ForgeAccount | None:
        """The forge user the configured token belongs to; None when there is no
        token (or no forge). Raises DeliveryError when the forge cannot say."""
        return None


class Renderer(ABC):
    """Shows one output type: `create_view` returns an OutputView from the renderer SDK
    (signoff.ui.renderer_sdk, imported lazily: the package itself must not import Qt).

    What counts as 'unchanged' is the comparison's (signoff.core.normalise, per output type,
    vectorised over a whole eval set; an output type it does not know is compared as text),
    not the renderer's: a renderer only shows."""

    NAME: ClassVar[str]
    OUTPUT_TYPE: ClassVar[str]

    def create_view(self, parent=None):  # pragma: no cover - UI side
        raise NotImplementedError


@dataclass(frozen=True)
class ExtensionAction:
    """A window command a UI extension adds. The window puts it in `menu` (File, Edit, Review,
    View, Help, or a menu of its own) with its key and status tip, lists it in the shortcut sheet,
    and calls the extension's `trigger(id, host)` when it is chosen. An id or key a built-in
    command already has is not taken: the built-in wins, and the window says so once (log and
    status bar)."""

    id: str                   # unique, the plugin's name first: "mlflow.browse"
    text: str                 # the menu entry: "Browse MLflow…"
    shortcut: str = ""        # a QKeySequence string: "Ctrl+Shift+M"
    menu: str = "File"
    tip: str = ""             # the status tip


class UiExtension(ABC):
    """Window parts a plugin adds (entry-point group `signoff.ui_extensions`), e.g. the MLflow
    plugin's browser and its inbox section. The class itself must import no Qt (the registry and
    the CLI load it); its methods run in the window and may import Qt and signoff.ui.extension_sdk.

    The inbox calls `inbox_section(inbox)` once; the widget it returns (or None) sits under the
    request table, and the inbox calls its `refresh()` when the window refreshes (View ▸ Refresh,
    Settings changed), `set_requests(records)` when the listed requests change and `shutdown(wait)`
    when the window closes, each when the widget has it. The window builds a menu entry for each
    of ACTIONS and calls `trigger(action, host)` when it is chosen (from the menu, its key or a
    New review… tab); `host` is a signoff.ui.extension_sdk.ExtensionHost (the service, the
    window, `open_request(id)` for a request the extension created).

    Any plugin class may also declare SETTINGS_DEFAULTS: its keys in the user's settings file with
    their defaults, e.g. {"connections": {"mlflow_servers": []}} (the registry merges them into
    signoff.settings; a key the app or another plugin defines is refused and reported)."""

    NAME: ClassVar[str]
    ACTIONS: ClassVar[tuple[ExtensionAction, ...]] = ()
    # File ▸ New review… tabs: action id -> (tab title, what the tab says, its button's text); the
    # button closes the dialog and runs the action (e.g. the MLflow plugin's "open the browser").
    NEW_REVIEW: ClassVar[dict[str, tuple[str, str, str]]] = {}

    def inbox_section(self, inbox) -> Any:  # pragma: no cover - UI side
        return None

    def settings_section(self, settings) -> Any:  # pragma: no cover - UI side
        """A group for Settings ▸ Connections, or None; the dialog calls its `apply_to_settings(settings)`
        when accepted (the plugin's keys in the settings file are its own)."""
        return None

    def trigger(self, action: str, host) -> Any:  # pragma: no cover - UI side
        """Run one of ACTIONS. Returns the window part it opened (the host keeps the last one per
        action: tests and screenshots reach it), or None."""
        raise NotImplementedError(f"{type(self).__name__} has no action {action!r}")
