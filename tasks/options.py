"""Task options: the common options' declarations, and the one parser every sixsense task uses.

A task declares its options in CumulusCI's ``task_options`` dict (what ``cci task info`` shows). An entry
with a ``"type"`` is parsed by :func:`parse_options` when the task is built, before it reads the org:

- ``bool``: True/False (any spelling ``process_bool_arg`` knows); default False;
- ``seconds``: a positive number of seconds (int when whole), at least the entry's ``"minimum"`` if any;
- ``list``: a comma-separated list (``process_list_arg``), empty entries dropped; a value of only commas is refused;
- ``text``: a string, stripped; empty is missing;
- ``path``: a report file path that can be written (checked without creating anything; the default too).

A given value is then passed to the entry's ``"check"`` (a callable ``(name, value) -> value`` raising
``SixsenseInputError``, as the parsers are), if any. A missing or empty value takes the entry's
``"default"`` (a callable is called; for ``bool``, ``auto`` is missing too). A value still holding a
``^^task.value`` reference is left for flowrunner to substitute: MetaDeploy and ``cci flow info`` build
steps without running the earlier ones. A bad value raises ``SixsenseInputError`` naming the option and the
fix, before anything is read or written.
"""

import os
import re
import sys
from pathlib import Path

from cumulusci.core.utils import process_bool_arg, process_list_arg

from .errors import SixsenseInputError
from .vendor import VENDOR

RETURN_VALUE_PREFIX = (
    "^^"  # an option still waiting for flowrunner's ^^ substitution (MetaDeploy freeze)
)

# PermissionSet.Name rules (PermissionSet object reference): letters, digits, underscores; begins with a
# letter; no "__"; does not end with "_"; at most 80 characters.
API_NAME_RE = re.compile(r"^[A-Za-z](?!.*__)[A-Za-z0-9_]{0,79}(?<!_)$")
# Connected app names seen in OauthToken.AppName / ConnectedApplication.Name: the label may hold spaces
# and punctuation, but no quotes, commas or control characters (commas separate the option's entries).
APP_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-()&]{0,79}$")
USERNAME_RE = re.compile(r"^[^@\s,']+@[^@\s,']+\.[^@\s,']+$")


def is_deferred(value) -> bool:
    """True for an option still holding a ``^^task.value`` reference (MetaDeploy freezes without running)."""
    return isinstance(value, str) and value.startswith(RETURN_VALUE_PREFIX)


def refuse_references_alone(options: dict) -> None:
    """``SixsenseInputError`` for an option of a task run alone (no flow) still holding a ``^^`` reference:
    only a flow fills those in, so the text was given by hand."""
    for name, value in options.items():
        if is_deferred(value):
            raise SixsenseInputError(
                f"Option {name} is {value!r}, a reference to another step's return value that only a flow "
                f"fills in; run alone, pass the value itself, e.g. -o {name} <value>."
            )


def stdin_is_tty() -> bool:
    return bool(sys.stdin and sys.stdin.isatty())


def default_interactive() -> bool:
    """Interactive when standard input is a terminal and ``CI`` is unset."""
    return stdin_is_tty() and not os.environ.get("CI")


def parse_bool_option(name: str, value) -> bool:
    """``value`` as a bool (``True``/``"false"``/``"1"``...), or ``SixsenseInputError`` naming ``name``."""
    try:
        return process_bool_arg(value)
    except TypeError:
        raise SixsenseInputError(
            f"Option {name} must be True or False, got {value!r}. Pass -o {name} True (or False)."
        ) from None


def parse_positive_number(name: str, value) -> float:
    """``value`` as a positive finite number of seconds (int when whole), or ``SixsenseInputError``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = None
    if number is None or number != number or number <= 0 or number == float("inf"):
        raise SixsenseInputError(
            f"Option {name} must be a positive number of seconds, got {value!r}. Pass e.g. -o {name} 900."
        )
    return int(number) if number == int(number) else number


def check_file_path(option: str, value: str) -> str:
    """A report file path whose directory exists or can be created (checked without creating anything):
    ``SixsenseInputError`` naming the option otherwise, before the task reads or writes anything."""
    path = Path(value).expanduser()
    probe = Path.cwd() / path  # an absolute path stays itself (pathlib)
    if probe.is_dir():
        raise SixsenseInputError(
            f"{option} {value} is a directory; pass a file path, e.g. {value}/report.json."
        )
    probe = probe.parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK):
        raise SixsenseInputError(
            f"{option} {value} cannot be written: {probe} is not a writable directory. Pass a path under a "
            f"directory, e.g. -o {option} .sixsense/{Path(value).name}."
        )
    return value


def _parse_list(name: str, value) -> list[str]:
    values = [v for v in (process_list_arg(value) or []) if v]
    if not values:  # given, but only commas or spaces: not the same as leaving the default
        raise SixsenseInputError(
            f"Option {name} is empty (got {value!r}); pass one or more names separated by commas, or leave "
            "it out for the default."
        )
    return values


def check_username(name: str, value: str) -> str:
    """``check`` of an option naming one Salesforce user: ``value``, else ``SixsenseInputError`` naming the
    option ``name`` for a list of users (commas) or a value that is not a username."""
    if "," in value:
        raise SixsenseInputError(
            f"{name} names more than one user ({value}); give exactly one username, e.g. "
            f"-o {name} name@example.com."
        )
    if not USERNAME_RE.match(value):
        raise SixsenseInputError(
            f"{name} {value!r} is not a Salesforce username (they look like name@example.com); "
            f"pass one, e.g. -o {name} name@example.com."
        )
    return value


def check_api_names(name: str, values: list[str]) -> list[str]:
    """``check`` of a list of permission set API names (option ``name``): each a valid PermissionSet.Name
    (:data:`API_NAME_RE`), else ``SixsenseInputError`` naming the invalid ones."""
    bad = [n for n in values if not API_NAME_RE.match(n)]
    if bad:
        raise SixsenseInputError(
            f"{name} holds invalid permission set API name(s) {', '.join(bad)}: an API name begins "
            "with a letter and holds only letters, digits and single underscores (e.g. "
            f"{VENDOR.setup_permission_set}). Pass -o {name} {VENDOR.setup_permission_set}."
        )
    return values


_PARSERS = {
    "bool": parse_bool_option,
    "seconds": parse_positive_number,
    "list": _parse_list,
    "text": lambda name, value: str(value).strip() or None,
    "path": lambda name, value: check_file_path(name, str(value)),
}
_DEFAULTS = {"bool": False}


def parse_options(options: dict, task_options: dict) -> dict:
    """Parse ``options`` in place by the ``"type"`` of each ``task_options`` entry (see the module doc);
    entries without a type are left as given. Returns ``options``. Raises ``SixsenseInputError``."""
    for name, spec in task_options.items():
        kind = spec.get("type")
        if kind not in _PARSERS:
            continue
        value = options.get(name)
        if isinstance(value, str):
            value = value.strip()
        missing = (
            value is None or value == "" or value == [] or (kind == "bool" and value == "auto")
        )
        if missing:
            default = spec.get("default", _DEFAULTS.get(kind))
            default = default() if callable(default) else default
            if isinstance(default, list | tuple):
                default = list(default)
            elif kind == "path" and default:
                default = check_file_path(
                    name, default
                )  # a default report path must be writable too
            options[name] = default
        elif is_deferred(value):
            options[name] = value
        elif kind == "text" and not isinstance(value, str):
            options[name] = value
        else:
            value = _PARSERS[kind](name, value)
            if kind == "seconds" and value < spec.get("minimum", 0):
                raise SixsenseInputError(
                    f"Option {name} must be at least {spec['minimum']} seconds, got {value!r}: "
                    f"{spec.get('minimum_reason', 'a smaller value is refused')}. Pass e.g. -o {name} 10."
                )
            options[name] = spec["check"](name, value) if "check" in spec else value
    return options


# ---------------------------------------------------------------------------------------------------------
# The common options: given once to sixsense_validate_inputs in a flow, the later steps receive them.

COMMON_OPTIONS = {
    "integration_username": {
        "description": f"Username of the {VENDOR.label} integration user (the account {VENDOR.label} "
        "syncs data with).",
        "required": False,
        "type": "text",
        "check": check_username,
    },
    "setup_username": {
        "description": "Username of the setup user who makes the one-time authorization. "
        "Default: the user cci is connected as.",
        "type": "text",
        "check": check_username,
    },
    "connected_app_names": {
        "description": f"Comma-separated candidate names of the {VENDOR.label} connected app. "
        f"Default: {','.join(VENDOR.connected_app_names)}.",
        "type": "list",
        "default": VENDOR.connected_app_names,
    },
    "wait_timeout": {
        "description": "Seconds a guided step waits for the manual action before failing. Default: 900.",
        "type": "seconds",
        "default": 900,
    },
    "poll_interval": {
        "description": "Seconds between checks while a guided step waits, at least 1 (each check is one API "
        "request, counted against the org's daily allowance, which the vendor's sync also uses: a "
        "15-minute wait then makes at most 900). Default: 10.",
        "type": "seconds",
        "default": 10,
        "minimum": 1,
        "minimum_reason": "each check is one API request against the org's daily allowance",
    },
    "interactive": {
        "description": "True: print the instructions and wait, polling the org. False: check once and stop the "
        "flow with 'manual step pending'. Default: True when standard input is a terminal and CI is unset.",
        "type": "bool",
        "default": default_interactive,
    },
    "plan": {
        "description": "True: plan mode. Read the org and report what this step would change and which manual "
        "step remains; write nothing, wait for nothing. In a flow pass it once: "
        "-o sixsense_validate_inputs__plan True. Default: False.",
        "type": "bool",
    },
}

PLAN_OPTION = COMMON_OPTIONS["plan"]

#: The common options of a step that never waits for a person: without ``wait_timeout``, ``poll_interval``
#: and ``interactive``, so that cci's "Options:" log of the step shows no default it never uses.
NO_WAIT_OPTIONS = {
    k: v
    for k, v in COMMON_OPTIONS.items()
    if k not in ("wait_timeout", "poll_interval", "interactive")
}

#: The option of every task that writes to the org (and of sixsense_validate_inputs, which validates it once).
PRODUCTION_OPTION = {
    "description": "True: you confirm this run may write to a production org (Organization.IsSandbox false, "
    "not a scratch org). Without it, writes to production need a confirmation at a terminal; a "
    "non-interactive run stops before its first write. Sandboxes, scratch orgs, plan mode and read-only steps "
    "need nothing. In a flow pass it once: -o sixsense_validate_inputs__confirm_production True. "
    "Default: False.",
    "type": "bool",
}


def bool_option(description: str, default: bool = False) -> dict:
    """A ``task_options`` entry of type ``bool``."""
    return {"description": description, "type": "bool", "default": default}
