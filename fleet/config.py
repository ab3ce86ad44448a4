"""The fleet file (YAML): which orgs, how to reach each, what to run; validated before any org is touched.

Shape (README: Fleet)::

    concurrency: 4                       # orgs at once, >= 1
    retries: {count: 2, backoff_seconds: 10}   # transient faults: attempts after the first, first delay
    timeout_seconds: 1800                # one org's cci process, then "failed: timed out"
    orgs:
      - name: acme-prod                  # unique; the row's name and the per-org report's file name
        cci_org: acme_prod               # an org of the user's cci keychain ...
        # env: CUMULUSCI_ORG_acme_prod   # ... or the environment variable holding its org JSON
        integration_username: sixsense.integration@acme.com
        flow: sixsense_eca               # one of the project's sixsense_* flows (cumulusci.yml)
        options: {confirm_production: true}   # per org only; never fleet-wide

No secret belongs in the file: an org is named (keychain org or environment variable), never given. An SFDX
auth URL goes through the sf CLI's own login (``sf org login sfdx-url``) and ``cci org import``; this module
never reads one. Every problem raises :class:`FleetFileError` with one message naming the entry.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

ENV_PREFIX = "CUMULUSCI_ORG_"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
ENV_RE = re.compile(rf"^{ENV_PREFIX}[A-Za-z0-9_]+$")
USERNAME_RE = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")

FLEET_KEYS = {"concurrency", "retries", "timeout_seconds", "orgs"}
RETRY_KEYS = {"count", "backoff_seconds"}
ORG_KEYS = {"name", "cci_org", "env", "integration_username", "flow", "options"}
#: Per-org options, passed to the flow's first step (sixsense_validate_inputs__<key>), which passes them on.
#: ``interactive`` is not among them: a fleet never waits at a terminal (it is always False); nor is ``plan``
#: (a planned run writes nothing yet ends "ok": it would read as done; ``fleet diagnose`` is the read-only view).
ORG_OPTIONS = {
    "setup_username": str,
    "connected_app_names": str,
    "confirm_production": bool,
    "confirm_reauthorization": bool,
    "wait_timeout": int,
    "poll_interval": int,
    "refresh_token_policy_checked": bool,
}
#: Per-org options of a later step, not of the first one: option -> the step (task) that takes it. The flow
#: must have that step. ``refresh_token_policy_checked``: the operator looked at the connected app's policy
#: page, where the org cannot show its refresh-token policy by API (README: real orgs).
STEP_OPTIONS = {"refresh_token_policy_checked": "sixsense_verify"}
#: Keys that would put a secret in the file: refused with how to do it instead.
SECRET_HINT = (
    "secrets never go in the fleet file: log the org in with cci (`cci org connect`, or the sf CLI's "
    "`sf org login sfdx-url` for an SFDX auth URL, then `cci org import`) and name it with cci_org, or put "
    f"its org JSON in an environment variable {ENV_PREFIX}<name> and name that with env"
)
SECRET_KEYS = re.compile(r"token|secret|password|auth_?url|sfdx|sfdxurl|key", re.IGNORECASE)

DEFAULT_TIMEOUT = 1800
MAX_BACKOFF = 600


class FleetFileError(ValueError):
    """The fleet file is unusable; ``str()`` is one line naming the file and the entry."""


@dataclass(frozen=True)
class Org:
    """One org of the fleet. ``cci_org`` is the name cci knows it by (for ``env`` orgs: the variable's name
    after ``CUMULUSCI_ORG_``, lower-cased, as CumulusCI's keychain names it); ``env`` the variable or None."""

    name: str
    cci_org: str
    env: str | None
    integration_username: str
    flow: str
    options: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """Names only (no org JSON, no token): safe as a Prefect task parameter."""
        return asdict(self)


@dataclass(frozen=True)
class Fleet:
    """A validated fleet: ``retry_delays`` are the seconds before each retry (bounded, doubling)."""

    path: str
    concurrency: int
    retries: int
    retry_delays: list[int]
    timeout_seconds: int
    orgs: list[Org]


def project_flows(project_root: Path) -> dict[str, set[str]]:
    """The project's sixsense_* flows, from ``cumulusci.yml``: flow -> the tasks of its steps."""
    data = yaml.safe_load((project_root / "cumulusci.yml").read_text(encoding="utf-8")) or {}
    return {
        name: {(s or {}).get("task") for s in ((flow or {}).get("steps") or {}).values()}
        for name, flow in (data.get("flows") or {}).items()
        if name.startswith("sixsense_")
    }


def _int(value, where: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FleetFileError(f"{where} must be a whole number, got {value!r}")
    if value < minimum:
        raise FleetFileError(f"{where} must be at least {minimum}, got {value}")
    return value


def _unknown(keys, allowed: set[str], where: str) -> None:
    for key in keys:
        if key in allowed:
            continue
        hint = f" ({SECRET_HINT})" if SECRET_KEYS.search(str(key)) else ""
        raise FleetFileError(
            f"{where}: unknown key {key!r}; allowed: {', '.join(sorted(allowed))}{hint}"
        )


def _options(raw, where: str) -> dict:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise FleetFileError(f"{where}: options must be a mapping of option: value")
    out = {}
    for key, value in raw.items():
        if key == "interactive":
            raise FleetFileError(
                f"{where}: options.interactive is not allowed: a fleet never waits at a terminal "
                "(an org at a manual step is reported waiting, with its instructions)"
            )
        if key not in ORG_OPTIONS:
            hint = f" ({SECRET_HINT})" if SECRET_KEYS.search(str(key)) else ""
            raise FleetFileError(
                f"{where}: unknown option {key!r}; allowed: {', '.join(sorted(ORG_OPTIONS))}{hint}"
            )
        kind = ORG_OPTIONS[key]
        if kind is bool and not isinstance(value, bool):
            raise FleetFileError(f"{where}: options.{key} must be true or false, got {value!r}")
        if kind is int:
            value = _int(value, f"{where}: options.{key}", 1)
        if kind is str and not isinstance(value, str):
            raise FleetFileError(f"{where}: options.{key} must be text, got {value!r}")
        out[key] = value
    return out


def _org(raw, index: int, flows: dict[str, set[str]], environ) -> Org:
    where = f"orgs[{index}]"
    if not isinstance(raw, dict):
        raise FleetFileError(f"{where}: each org must be a mapping (name, cci_org or env, ...)")
    name = raw.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise FleetFileError(
            f"{where}: name must be letters, digits, '.', '_' or '-' (at most 80), got {name!r}"
        )
    where = f"orgs[{index}] ({name})"
    _unknown(raw, ORG_KEYS, where)
    cci_org, env = raw.get("cci_org"), raw.get("env")
    if (cci_org is None) == (env is None):
        raise FleetFileError(f"{where}: give exactly one of cci_org (a keychain org) or env")
    if cci_org is not None:
        if not isinstance(cci_org, str) or not NAME_RE.match(cci_org):
            raise FleetFileError(f"{where}: cci_org must be a cci org name, got {cci_org!r}")
        org_name = cci_org
    else:
        if not isinstance(env, str) or not ENV_RE.match(env):
            raise FleetFileError(
                f"{where}: env must name an environment variable {ENV_PREFIX}<name> (letters, digits, "
                f"_), got {env!r}"
            )
        value = environ.get(env)
        if not value:
            raise FleetFileError(f"{where}: environment variable {env} is not set (or is empty)")
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):  # never quote the value: it holds tokens
            raise FleetFileError(
                f"{where}: environment variable {env} does not hold an org JSON object "
                "(what CumulusCI's environment keychain reads)"
            )
        org_name = env[len(ENV_PREFIX) :].lower()
    user = raw.get("integration_username")
    if not isinstance(user, str) or not USERNAME_RE.match(user):
        raise FleetFileError(
            f"{where}: integration_username must be one Salesforce username (name@example.com), "
            f"got {user!r}"
        )
    flow = raw.get("flow")
    if flow not in flows:
        raise FleetFileError(f"{where}: unknown flow {flow!r}; one of: {', '.join(sorted(flows))}")
    options = _options(raw.get("options"), where)
    for key, step in STEP_OPTIONS.items():
        if key in options and step not in flows[flow]:
            raise FleetFileError(
                f"{where}: options.{key} is for {step}, a step {flow} does not have"
            )
    return Org(name, org_name, env, user, flow, options)


def parse(text: str, path: str, project_root: Path, environ=None) -> Fleet:
    """Validate a fleet file's text. Raises :class:`FleetFileError` (the first problem, naming the entry)."""
    environ = os.environ if environ is None else environ
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise FleetFileError(f"fleet file {path}: not valid YAML{at}") from None
    if not isinstance(data, dict):
        raise FleetFileError(f"fleet file {path}: must be a mapping with an orgs list")
    try:
        _unknown(data, FLEET_KEYS, "top level")
        concurrency = _int(data.get("concurrency", 1), "concurrency", 1)
        retries_raw = data.get("retries") or {}
        if not isinstance(retries_raw, dict):
            raise FleetFileError("retries must be a mapping {count, backoff_seconds}")
        _unknown(retries_raw, RETRY_KEYS, "retries")
        retries = _int(retries_raw.get("count", 0), "retries.count", 0)
        backoff = _int(retries_raw.get("backoff_seconds", 10), "retries.backoff_seconds", 0)
        if retries > 10:
            raise FleetFileError(f"retries.count must be at most 10, got {retries}")
        timeout = _int(data.get("timeout_seconds", DEFAULT_TIMEOUT), "timeout_seconds", 1)
        raw_orgs = data.get("orgs")
        if not isinstance(raw_orgs, list) or not raw_orgs:
            raise FleetFileError("orgs must be a non-empty list")
        flows = project_flows(project_root)
        orgs, seen, targets = [], {}, {}
        for index, raw in enumerate(raw_orgs):
            org = _org(raw, index, flows, environ)
            if org.name in seen:
                raise FleetFileError(
                    f"orgs[{index}] ({org.name}): duplicate org name (also orgs[{seen[org.name]}])"
                )
            if org.cci_org in targets:
                raise FleetFileError(
                    f"orgs[{index}] ({org.name}): reaches the same org as orgs[{targets[org.cci_org]}] "
                    f"(cci org {org.cci_org})"
                )
            seen[org.name], targets[org.cci_org] = index, index
            orgs.append(org)
    except FleetFileError as e:
        raise FleetFileError(f"fleet file {path}: {e}") from None
    delays = [min(backoff * 2**i, MAX_BACKOFF) for i in range(retries)]
    return Fleet(str(path), concurrency, retries, delays, timeout, orgs)


def load(path: str | Path, project_root: Path, environ=None) -> Fleet:
    """Read and validate the fleet file at ``path``; a missing file is a :class:`FleetFileError` too."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise FleetFileError(f"fleet file {path}: cannot read it ({e.strerror})") from None
    return parse(text, str(path), project_root, environ)
