"""Shared pieces of the sixsense_* tasks: common options, org lookups, SOQL quoting, errors, log tables.

Every task in this package follows the rules of ``docs/architecture.md`` and the shared design brief:
verify by query, query before writing, validate every input before the first write, never select or log a
token (``OauthToken.AccessToken``/``DeleteToken``/``RequestToken`` are never queried).
"""

import os
import re
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

import click
from cumulusci.core.exceptions import CumulusCIFailure, TaskOptionsError
from cumulusci.core.utils import process_bool_arg, process_list_arg
from cumulusci.tasks.salesforce import BaseSalesforceApiTask
from lxml import etree

from .resilience import SalesforceCalls, SixsenseOrgError, format_salesforce_error

__all__ = [
    "SixsenseOrgError",
    "format_salesforce_error",
]  # defined with the wrapper (resilience.py)

# ---------------------------------------------------------------------------------------------------------
# Names (Salesforce API names and repository paths). Options override the app names; nothing else is
# org-specific.

DEFAULT_APP_NAMES = ["sfdc_6sense_oauth_app", "sfdc_6sense_integration_connected_app"]
SETUP_PERMISSION_SET = "Sixsense_Setup_Access"
INTEGRATION_PERMISSION_SET = "Sixsense_Integration_Access"
APPROVE_UNINSTALLED = "CanApproveUninstalledApps"
API_ENABLED = "ApiEnabled"
USE_ANY_API_CLIENT = "UseAnyApiClient"
POLICY_TEMPLATE = Path("unpackaged", "app_policy", "connectedApps", "Sixsense.connectedApp")
MD_NS = "http://soap.sforce.com/2006/04/metadata"
OAUTH_USAGE_PATH = "/lightning/setup/ConnectedAppsUsage/home"
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


# ---------------------------------------------------------------------------------------------------------
# Errors


class SixsenseInputError(TaskOptionsError):
    """An option value the user can fix. Raised before any write; the message names the fix."""


class ManualStepPending(CumulusCIFailure):
    """A guided step is not done yet. cci exits non-zero and prints the instructions and how to resume."""


class ConfirmationRequired(CumulusCIFailure):
    """A disruptive write needs an explicit option (non-interactive) or a confirmation at the terminal."""


# ---------------------------------------------------------------------------------------------------------
# Pure helpers


def format_table(title: str, rows: list[Sequence], max_width: int = 100) -> list[str]:
    """Plain table lines: title, header, rule, rows (cells ``str()``-ed; None is blank). When the table
    would be wider than ``max_width`` (cci's console wraps long log lines), each row becomes a block:
    the first cell, then ``header: value`` lines indented below it."""
    cells = [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells if i < len(r)) for i in range(len(cells[0]))]

    def line(row):
        return "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip()

    if sum(widths) + 2 * (len(widths) - 1) <= max_width:
        return [title, line(cells[0]), "  ".join("-" * w for w in widths)] + [
            line(r) for r in cells[1:]
        ]
    out = [title]
    header = cells[0]
    for row in cells[1:]:
        out.append(f"- {row[0]}")
        out += [f"    {h}: {v}" for h, v in zip(header[1:], row[1:], strict=False)]
    return out


def soql_quote(value: str) -> str:
    """A SOQL string literal: backslash and single quote escaped (SOQL reference, "Quoted String Escape
    Sequences"). ``soql_quote("O'Brien")`` -> ``'O\\'Brien'``."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def soql_in(values: Iterable[str]) -> str:
    """``('a', 'b')`` for ``WHERE x IN ...``; values are quoted with ``soql_quote``."""
    return "(" + ", ".join(soql_quote(v) for v in values) + ")"


def connected_apps_soql(names: Iterable[str]) -> str:
    """The installed apps among ``names`` (ConnectedApplication; read-only object)."""
    return (
        "SELECT Id, Name, CreatedDate, LastModifiedDate, OptionsAllowAdminApprovedUsersOnly "
        f"FROM ConnectedApplication WHERE Name IN {soql_in(names)}"
    )


def oauth_tokens_soql(names: Iterable[str] | None = None, user_id: str | None = None) -> str:
    """OauthToken rows of the app ``names`` and/or one user; never the token values."""
    where = []
    if names:
        where.append(f"AppName IN {soql_in(names)}")
    if user_id:
        where.append(f"UserId = {soql_quote(user_id)}")
    soql = (
        "SELECT AppName, UserId, User.Username, CreatedDate, LastUsedDate, UseCount, AppMenuItemId "
        "FROM OauthToken"
    )
    return soql + (" WHERE " + " AND ".join(where) if where else "")


def assigned_permission_sets_soql(user_id: str) -> str:
    """The PermissionSetId of every assignment of ``user_id``."""
    return (
        "SELECT PermissionSetId FROM PermissionSetAssignment "
        f"WHERE AssigneeId = {soql_quote(user_id)}"
    )


def permission_sources_soql(user_id: str, permission: str) -> str:
    """The assignments through which ``user_id`` holds ``Permissions<permission>``."""
    return (
        "SELECT PermissionSet.Name, PermissionSet.IsOwnedByProfile, PermissionSet.Profile.Name "
        f"FROM PermissionSetAssignment WHERE AssigneeId = {soql_quote(user_id)} "
        f"AND PermissionSet.Permissions{permission} = true"
    )


def parse_sf_datetime(value: str | None) -> datetime | None:
    """Parse ``2025-01-31T12:00:00.000+0000`` (REST) into an aware datetime; None stays None."""
    if not value:
        return None
    value = value.replace("Z", "+0000")
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    raise SixsenseOrgError(f"Unexpected datetime from Salesforce: {value!r}")


def format_seconds(seconds: float) -> str:
    """``75`` -> ``01:15``; ``3725`` -> ``62:05`` (minutes:seconds)."""
    seconds = int(seconds)
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def is_deferred(value) -> bool:
    """True for an option still holding a ``^^task.value`` reference (MetaDeploy freezes without running)."""
    return isinstance(value, str) and value.startswith(RETURN_VALUE_PREFIX)


def default_interactive() -> bool:
    """Interactive when standard input is a terminal and ``CI`` is unset."""
    return bool(sys.stdin and sys.stdin.isatty()) and not os.environ.get("CI")


def stdin_is_tty() -> bool:
    return bool(sys.stdin and sys.stdin.isatty())


def parse_bool_option(name: str, value) -> bool:
    try:
        return process_bool_arg(value)
    except TypeError:
        raise SixsenseInputError(
            f"Option {name} must be True or False, got {value!r}. Pass -o {name} True (or False)."
        ) from None


def parse_positive_number(name: str, value) -> float:
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
    probe = path if path.is_absolute() else Path.cwd() / path
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
            "directory, e.g. -o report_path .sixsense/verification.json."
        )
    return value


def package_xml(md_type: str, members, api_version: str) -> str:
    """A package.xml (manifest) of one metadata type for CumulusCI's ``ApiRetrieveUnpackaged``:
    ``members`` (names, or ``["*"]``), API version ``api_version`` ("65.0"). One element per line: cci's
    class strips ``<Package ...>`` line by line."""
    lines = "".join(f"        <members>{m}</members>\n" for m in members)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Package xmlns="http://soap.sforce.com/2006/04/metadata">\n'
        f"    <types>\n{lines}        <name>{md_type}</name>\n    </types>\n"
        f"    <version>{api_version}</version>\n</Package>\n"
    )


def read_policy_template(repo_root) -> dict[str, list[str]]:
    """The access list of the app's desired policy (``unpackaged/app_policy``).

    Returns ``{"permission_sets": [...], "profiles": [...], "is_admin_approved": bool, "ip_relaxation":
    str|None, "refresh_token_policy": str|None}``. Invalid permission set API names raise
    ``SixsenseInputError``.
    """
    path = Path(repo_root or ".", POLICY_TEMPLATE)
    if not path.exists():
        raise SixsenseInputError(f"The app policy template {POLICY_TEMPLATE} is missing.")
    tree = etree.parse(str(path))
    ns = {"md": MD_NS}

    def texts(xpath):
        return [t.strip() for t in tree.xpath(xpath, namespaces=ns) if t and t.strip()]

    permission_sets = texts("/md:ConnectedApp/md:permissionSetName/text()")
    profiles = texts("/md:ConnectedApp/md:profileName/text()")
    bad = [n for n in permission_sets if not API_NAME_RE.match(n)]
    if bad:
        raise SixsenseInputError(
            f"{POLICY_TEMPLATE}: invalid permission set API name(s) {', '.join(bad)}. An API name begins "
            "with a letter and holds only letters, digits and single underscores."
        )
    approved = texts("/md:ConnectedApp/md:oauthConfig/md:isAdminApproved/text()")
    ip = texts("/md:ConnectedApp/md:oauthPolicy/md:ipRelaxation/text()")
    refresh = texts("/md:ConnectedApp/md:oauthPolicy/md:refreshTokenPolicy/text()")
    return {
        "permission_sets": permission_sets,
        "profiles": profiles,
        "is_admin_approved": bool(approved) and approved[0].lower() == "true",
        "ip_relaxation": ip[0] if ip else None,
        "refresh_token_policy": refresh[0] if refresh else None,
    }


# ---------------------------------------------------------------------------------------------------------
# Options

COMMON_OPTIONS = {
    "integration_username": {
        "description": "Username of the 6sense integration user (the account 6sense syncs data with).",
        "required": False,
    },
    "setup_username": {
        "description": "Username of the setup user who makes the one-time authorization (seed step 1). "
        "Default: the user cci is connected as.",
    },
    "connected_app_names": {
        "description": "Comma-separated candidate names of the 6sense connected app. "
        f"Default: {','.join(DEFAULT_APP_NAMES)}.",
    },
    "wait_timeout": {
        "description": "Seconds a guided step waits for the manual action before failing. Default: 900.",
    },
    "poll_interval": {
        "description": "Seconds between checks while a guided step waits. Default: 10.",
    },
    "interactive": {
        "description": "True: print the instructions and wait, polling the org. False: check once and stop the "
        "flow with 'manual step pending'. Default: True when standard input is a terminal and CI is unset.",
    },
    "plan": {
        "description": "True: plan mode. Read the org and report what this step would change and which manual "
        "step remains; write nothing, wait for nothing. In a flow pass it once: "
        "-o sixsense_validate_inputs__plan True. Default: False.",
    },
}

PLAN_OPTION = COMMON_OPTIONS["plan"]

#: The option of every task that writes to the org (and of sixsense_validate_inputs, which validates it once).
PRODUCTION_OPTION = {
    "description": "True: you confirm this run may write to a production org (Organization.IsSandbox false, "
    "not a scratch org). Without it, writes to production need a confirmation at a terminal; a "
    "non-interactive run stops before its first write. Sandboxes, scratch orgs, plan mode and read-only steps "
    "need nothing. In a flow pass it once: -o sixsense_validate_inputs__confirm_production True. "
    "Default: False.",
}


def production_guard_message(org_name: str | None = None) -> str:
    """The one line a non-interactive write to production stops with (names the option and the way out)."""
    org = f" ({org_name})" if org_name else ""
    return (
        f"Not written: this org{org} is a production org and no one confirmed at a terminal. Pass "
        "-o sixsense_validate_inputs__confirm_production True (flow) or -o confirm_production True (this "
        "task alone), or run at a terminal to confirm; plan mode (plan True) previews without writing. "
        "Nothing was written."
    )


def init_production_option(options: dict) -> None:
    """Parse ``confirm_production`` in place (missing: False; ``^^`` references stay for flowrunner)."""
    value = options.get("confirm_production")
    if value in (None, ""):
        options["confirm_production"] = False
    elif not is_deferred(value):
        options["confirm_production"] = parse_bool_option("confirm_production", value)


class SixsenseOrgMixin(SalesforceCalls):
    """Org lookups shared by every sixsense task. Needs ``self.sf`` (simple_salesforce), ``self.logger``,
    ``self.org_config``. Every call that reaches Salesforce goes through the wrapper
    (``resilience.SalesforceCalls``: ``_query``/``_read``/``_call``), so a ``SalesforceError`` surfaces as
    ``errorCode: message``."""

    # -- audit and plan mode (tasks/audit.py) ----------------------------------------------------------
    # Within a flow, each step's start and end (ok or not) is recorded in the run's audit report.

    def __init__(self, *args, **kwargs):
        try:
            super().__init__(*args, **kwargs)
        except Exception as error:
            # Options refused while cci constructs the step: record it, then re-raise.
            if kwargs.get("flow") is not None:
                from .audit import run_for

                try:
                    run = run_for(self)
                except OSError:  # the refused option may be audit_dir itself: keep its clear error
                    run = None
                if run:
                    run.init_failed(self, error)
            raise

    def __call__(self):
        from .audit import run_for

        run = run_for(self)
        if run is None:
            return super().__call__()
        entry = run.begin(self)
        try:
            result = super().__call__()
        except BaseException as error:
            run.end(self, entry, error)
            if self.plan:
                self._log_plan_summary(run)
            raise
        run.end(self, entry)
        if self.plan and self._is_last_step():
            self._log_plan_summary(run)
        return result

    @property
    def plan(self) -> bool:
        value = (getattr(self, "options", None) or {}).get("plan")
        return value is True or (isinstance(value, str) and value.strip().lower() == "true")

    def _is_last_step(self) -> bool:
        steps = getattr(self.flow, "steps", None) or []
        return bool(steps) and str(steps[-1].step_num) == str(self.stepnum)

    def _log_plan_summary(self, run):
        for line in run.plan_summary_lines():
            self.logger.info(line)
        self.logger.info(f"Audit report: {run.json_path}")

    def _audit_note(self, **fields):
        """Record audit facts of this step: ``before``/``after`` (state), ``changed``/``skipped``/``waits``/
        ``plan``/``manual_steps_remaining``/``sessions_affected`` (lists, appended)."""
        notes = self.__dict__.setdefault("audit_notes", {"plan_mode": self.plan})
        for key, value in fields.items():
            if isinstance(value, list):
                notes.setdefault(key, []).extend(value)
            else:
                notes[key] = value

    def _plan_would(self, text: str):
        """Plan mode: log and record one change this step would make."""
        self.logger.info(f"PLAN: would {text}")
        self._audit_note(plan=[text])

    def _plan_manual(self, title: str, instructions: str = ""):
        """Plan mode: log and record a manual step that remains; the flow continues."""
        self.logger.info(f"manual step remains: {title}")
        for line in instructions.splitlines():
            self.logger.info(line)
        self._audit_note(manual_steps_remaining=[title])

    def _audit_return_values(self) -> dict:
        return dict(getattr(self, "return_values", None) or {})

    # -- production guard ------------------------------------------------------------------------------

    def _org_kind(self) -> tuple[str, str | None]:
        """(``production`` | ``sandbox`` | ``scratch``, the org's name), read once per task."""
        if not hasattr(self, "_org_kind_cache"):
            from .diagnose import org_kind

            rows = self._query("SELECT Name, IsSandbox, TrialExpirationDate FROM Organization")
            org = rows[0] if rows else {}
            scratch = bool((getattr(self.org_config, "config", None) or {}).get("scratch"))
            self._org_kind_cache = (org_kind(org, self._instance_url(), scratch), org.get("Name"))
        return self._org_kind_cache

    #: False where ``interactive`` is an option of the CumulusCI task underneath with another meaning (the
    #: package install's own prompt): the guard then asks whenever standard input is a terminal.
    interactive_option_is_ours = True

    def _confirm_production(self, what: str) -> None:
        """Call right before the first write. On a production org the write needs ``confirm_production``
        True or a confirmation at a terminal (asked once per flow run); otherwise ``ConfirmationRequired``
        stops the step with one line, before anything is written. Plan mode, sandboxes and scratch orgs pass."""
        options = getattr(self, "options", None) or {}
        if self.plan or options.get("confirm_production") is True:
            return
        from .audit import flow_run

        flow = getattr(self, "flow", None)
        if flow is not None and flow_run(flow).production_confirmed:
            return
        kind, name = self._org_kind()
        if kind != "production":
            return
        interactive = options.get("interactive") if self.interactive_option_is_ours else None
        if interactive in (None, "", "auto"):
            interactive = default_interactive()
        if interactive is True and stdin_is_tty():
            if click.confirm(
                f"{name or 'This org'} is a production org. Write to it ({what}) and in the later steps "
                "of this run?",
                default=False,
            ):
                if flow is not None:
                    flow_run(flow).production_confirmed = True
                self.options["confirm_production"] = True
                org = f" {name}" if name else ""
                self._record_confirmation(
                    f"write to the production org{org} ({what}) and in the later steps of this run"
                )
                return
        raise ConfirmationRequired(production_guard_message(name))

    def _record_confirmation(self, what: str) -> None:
        """Log, and note in the audit report (``confirmed``), a consent given at the terminal."""
        self.logger.info(f"Confirmed at the terminal: {what}.")
        self._audit_note(confirmed=[f"at the terminal: {what}"])

    # -- low level -------------------------------------------------------------------------------------

    def _query(self, soql: str) -> list[dict]:
        """All records of a SOQL query (``query_all``; follows nextRecordsUrl)."""
        return self._read("Query", self.sf.query_all, soql)["records"]

    def _total(self, soql: str) -> int:
        """``totalSize`` of a query (for ``SELECT COUNT() ...``)."""
        return int(self._read("Query", self.sf.query, soql).get("totalSize") or 0)

    def _describe_fields(self, sobject: str) -> set:
        """Field names of ``describe(sobject)``, read once per task (several lookups of a step ask)."""
        describes = self.__dict__.setdefault("_describes", {})
        if sobject not in describes:
            describe = self._read(f"describe {sobject}", getattr(self.sf, sobject).describe)
            describes[sobject] = {f["name"] for f in describe["fields"]}
        return describes[sobject]

    def _has_permission_field(self, permission: str, sobject: str = "PermissionSet") -> bool:
        return f"Permissions{permission}" in self._describe_fields(sobject)

    # -- users -----------------------------------------------------------------------------------------

    def _get_users(self, usernames: Sequence[str]) -> dict[str, dict]:
        """User rows keyed by lowercased Username (SOQL ``=`` on Username is case-insensitive), one query.

        Fields: Id, Username, Name, IsActive, ProfileId, Profile.Name, Profile.UserLicense.Name and the
        Profile.Permissions<X> flags that ``describe('Profile')`` has (ApiEnabled, CanApproveUninstalledApps).
        """
        if not usernames:
            return {}
        return {r["Username"].lower(): r for r in self._query(self._users_soql(usernames))}

    def _users_soql(self, usernames: Sequence[str]) -> str:
        """The query of :meth:`_get_users`."""
        perm_fields = [
            f"Profile.Permissions{p}"
            for p in (API_ENABLED, APPROVE_UNINSTALLED)
            if self._has_permission_field(p, "Profile")
        ]
        fields = [
            "Id",
            "Username",
            "Name",
            "IsActive",
            "ProfileId",
            "Profile.Name",
            "Profile.UserLicense.Name",
        ] + perm_fields
        return f"SELECT {', '.join(fields)} FROM User WHERE Username IN {soql_in(usernames)}"

    def _get_user(self, username: str, role: str) -> dict:
        """One active user by Username, or ``SixsenseInputError`` naming the role and the fix."""
        user = self._get_users([username]).get(username.lower())
        if not user:
            raise SixsenseInputError(
                f"The {role} {username} does not exist in this org. Check the username "
                f"(-o {role.replace(' ', '_')}name ...)."
            )
        if not user.get("IsActive"):
            raise SixsenseInputError(
                f"The {role} {username} is inactive. Activate the user in Setup > Users, or pick another user."
            )
        return user

    def _assignments_soql(
        self,
        user_ids: Sequence[str],
        permissions: Sequence[str] = (APPROVE_UNINSTALLED, API_ENABLED),
    ) -> str:
        flags = [
            f"PermissionSet.Permissions{p}" for p in permissions if self._has_permission_field(p)
        ]
        return (
            "SELECT AssigneeId, PermissionSetId, PermissionSet.Name, PermissionSet.IsOwnedByProfile, "
            f"PermissionSet.Profile.Name{''.join(', ' + f for f in flags)} "
            f"FROM PermissionSetAssignment WHERE AssigneeId IN {soql_in(user_ids)}"
        )

    def _assignments(
        self,
        user_ids: Sequence[str],
        permissions: Sequence[str] = (APPROVE_UNINSTALLED, API_ENABLED),
    ) -> dict[str, list[dict]]:
        """Every PermissionSetAssignment of ``user_ids``, in one query: ``{user id: [row]}``, each row with
        PermissionSetId, PermissionSet.Name, .IsOwnedByProfile, .Profile.Name and the
        ``PermissionSet.Permissions<X>`` flags of ``permissions`` that the org's describe has. Pass a user's
        rows to :meth:`_permission_sources` to tell several permissions apart without more queries."""
        rows = self._query(self._assignments_soql(user_ids, permissions))
        out: dict[str, list[dict]] = {user_id: [] for user_id in user_ids}
        for row in rows:
            out.setdefault(row["AssigneeId"], []).append(row)
        return out

    def _assigned_permission_set_ids(self, user_id: str) -> set[str]:
        """Ids of the permission sets assigned to ``user_id`` (``assigned_permission_sets_soql``)."""
        return {r["PermissionSetId"] for r in self._query(assigned_permission_sets_soql(user_id))}

    def _permission_sources(
        self, user: dict, permission: str, assignments: list[dict] | None = None
    ) -> list[str] | None:
        """Where ``user`` gets a user permission from: ``["profile System Administrator",
        "permission set Some_Set"]``; ``[]`` when not held; ``None`` when the org's describe has no
        ``Permissions<permission>`` field (cannot tell by SOQL). ``assignments``: the user's rows from
        :meth:`_assignments` (read with ``permission``); without them, one query."""
        if not self._has_permission_field(permission):
            return None
        sources = []
        profile = user.get("Profile") or {}
        if profile.get(f"Permissions{permission}"):
            sources.append(f"profile {profile.get('Name')}")
        if assignments is None:
            rows = self._query(permission_sources_soql(user["Id"], permission))
        else:
            rows = [
                r
                for r in assignments
                if (r.get("PermissionSet") or {}).get(f"Permissions{permission}")
            ]
        for row in rows:
            ps = row.get("PermissionSet") or {}
            if ps.get("IsOwnedByProfile"):
                source = f"profile {(ps.get('Profile') or {}).get('Name') or profile.get('Name')}"
            else:
                source = f"permission set {ps.get('Name')}"
            if source not in sources:
                sources.append(source)
        return sources

    # -- the connected app -----------------------------------------------------------------------------

    def _connected_apps(self, names: Sequence[str]) -> list[dict]:
        """ConnectedApplication rows (installed apps) among ``names``: Id, Name, CreatedDate,
        LastModifiedDate, OptionsAllowAdminApprovedUsersOnly. Read-only object."""
        return self._query(connected_apps_soql(names))

    def _oauth_tokens(
        self, names: Sequence[str] | None = None, user_id: str | None = None
    ) -> list[dict]:
        """OauthToken rows for the app names and/or one user. Never selects AccessToken, DeleteToken or
        RequestToken. Needs Customize Application to see other users' tokens."""
        return self._query(oauth_tokens_soql(names, user_id))

    def _permission_sets_by_name(self, names: Sequence[str]) -> dict[str, dict]:
        """``{Name: {Id, Name, Label}}`` of the permission sets among ``names`` that exist (one query)."""
        if not names:
            return {}
        rows = self._query(
            f"SELECT Id, Name, Label FROM PermissionSet WHERE Name IN {soql_in(names)}"
        )
        return {r["Name"]: r for r in rows}

    def _instance_url(self) -> str:
        return (self.org_config.instance_url or "").rstrip("/")

    def _oauth_usage_url(self) -> str:
        return self._instance_url() + OAUTH_USAGE_PATH

    # -- output ----------------------------------------------------------------------------------------

    def _log_table(self, title: str, rows: list[Sequence]):
        """Log a short table (header row first) through the task logger, one line per row."""
        for line in format_table(title, rows):
            self.logger.info(line)


class SixsenseTask(SixsenseOrgMixin, BaseSalesforceApiTask):
    """Base of the sixsense_* tasks: the common options, parsed once in ``_init_options`` without touching
    the org (MetaDeploy freezes steps with ``org_config=None``)."""

    task_options = COMMON_OPTIONS
    # Which common options a subclass cannot run without (checked in _validate_options).
    requires_integration_user = False

    def _init_options(self, kwargs):
        super()._init_options(kwargs)
        opts = self.options
        for name in ("integration_username", "setup_username"):
            value = opts.get(name)
            opts[name] = value.strip() if isinstance(value, str) and value.strip() else None
        names = opts.get("connected_app_names")
        if not is_deferred(names):
            names = process_list_arg(names) if names else list(DEFAULT_APP_NAMES)
            opts["connected_app_names"] = [n for n in names if n]
        for name, default in (("wait_timeout", 900), ("poll_interval", 10)):
            value = opts.get(name)
            if value in (None, ""):
                opts[name] = default
            elif not is_deferred(value):
                opts[name] = parse_positive_number(name, value)
        interactive = opts.get("interactive")
        if interactive in (None, "", "auto"):
            opts["interactive"] = default_interactive()
        elif not is_deferred(interactive):
            opts["interactive"] = parse_bool_option("interactive", interactive)
        plan = opts.get("plan")
        if plan in (None, ""):
            opts["plan"] = False
        elif not is_deferred(plan):
            opts["plan"] = parse_bool_option("plan", plan)

    def _validate_options(self):
        super()._validate_options()
        if self.requires_integration_user and not self.options.get("integration_username"):
            raise SixsenseInputError(
                "integration_username is required. In a flow pass it once: "
                "-o sixsense_validate_inputs__integration_username <username>; "
                "for this task alone: -o integration_username <username>."
            )

    # -- resolved values (need the org) ----------------------------------------------------------------

    @property
    def app_names(self) -> list[str]:
        return self.options["connected_app_names"]

    @property
    def setup_username(self) -> str:
        return self.options.get("setup_username") or self.org_config.username

    @property
    def integration_username(self) -> str | None:
        return self.options.get("integration_username")

    def _refuse_integration_user_as_setup_user(self) -> None:
        """``SixsenseInputError`` (one line, nothing read or written) when the setup user (``setup_username``,
        default the user cci is connected as) is the integration user: the vendor article forbids the
        integration user doing the one-time authorization. Call first in tasks that act for the setup user."""
        integration = self.integration_username
        setup = self.setup_username
        if not integration or not setup or integration.lower() != setup.lower():
            return
        who = "" if self.options.get("setup_username") else ", the user cci is connected as"
        raise SixsenseInputError(
            f"The setup user ({setup}{who}) is the integration user: the vendor article requires the "
            "one-time authorization (step 1) by a setup user who is not the integration user. Pass "
            "-o setup_username <admin username> (this task alone) or "
            "-o sixsense_validate_inputs__setup_username <admin username> (flow). Nothing was written."
        )

    def _bool_option(self, name: str, default: bool = False) -> bool:
        value = self.options.get(name)
        if value in (None, ""):
            return default
        return parse_bool_option(name, value)


def summarize_tokens(tokens: list[dict]) -> list[tuple[str, str, int]]:
    """``[(username, app name, token count)]`` sorted, for warnings before disruptive steps."""
    counts: dict[tuple[str, str], int] = {}
    for t in tokens:
        key = ((t.get("User") or {}).get("Username") or t.get("UserId"), t.get("AppName"))
        counts[key] = counts.get(key, 0) + 1
    return sorted((u, a, n) for (u, a), n in counts.items())
