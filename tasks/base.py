"""The base of every sixsense_* task: common options, audit and plan mode, the production guard, lookups.

Every task follows the rules of ``docs/architecture.md`` and the shared design brief: verify by query,
query before writing, validate every input before the first write, never select or log a token
(``OauthToken.AccessToken``/``DeleteToken``/``RequestToken`` are never queried). Every call that reaches
Salesforce goes through the wrapper in ``resilience.py``.
"""

import logging
from collections.abc import Sequence
from urllib.parse import urlparse

import click
from cumulusci.tasks.salesforce import BaseSalesforceApiTask

from . import app_resolution, audit, connected_user, token_loss, user_checks
from .errors import ConfirmationRequired, SixsenseInputError
from .formatting import format_table
from .options import (
    COMMON_OPTIONS,
    RETURN_VALUE_PREFIX,
    default_interactive,
    is_deferred,
    parse_options,
    refuse_references_alone,
    stdin_is_tty,
)
from .queries import (
    assigned_permission_sets_soql,
    permission_sources_soql,
    soql_in,
)
from .resilience import SalesforceCalls

# Salesforce names the lookups use (PermissionSet/Profile ``Permissions<X>`` fields; Setup paths).
APPROVE_UNINSTALLED = "CanApproveUninstalledApps"
API_ENABLED = "ApiEnabled"
USE_ANY_API_CLIENT = "UseAnyApiClient"
OAUTH_USAGE_PATH = "/lightning/setup/ConnectedAppsUsage/home"
ORGANIZATION_KIND_FIELDS = ("Name", "IsSandbox", "TrialExpirationDate")
ORGANIZATION_KIND_SOQL = f"SELECT {', '.join(ORGANIZATION_KIND_FIELDS)} FROM Organization"

#: The log line format when cci's log goes to a pipe or a file (a CI log): cci's own timestamp, then the
#: message, never wrapped or padded.
PIPED_LOG_FORMAT = "[%(asctime)s] %(message)s"
PIPED_LOG_DATEFMT = "%m/%d/%y %H:%M:%S"


def refuse_misplaced_flow_options(flow) -> None:
    """``SixsenseInputError`` for a ``-o <task>__<option>`` given to ``cci flow run`` that no step would
    use: cci passes runtime options by task name and ignores the ones a task does not declare, so a
    misplaced option is otherwise lost without a word. The message names the steps that take the option.
    Each given value is also parsed as its step will parse it (:func:`options.parse_options`), and a ``^^``
    reference must name a step of the flow: cci builds a step only when it starts, after the earlier steps'
    writes. Called by the run's first sixsense step, before anything is read or written."""
    steps = [s for s in getattr(flow, "steps", None) or [] if getattr(s, "task_class", None)]
    by_task: dict[str, set[str]] = {}
    for step in steps:
        by_task.setdefault(step.task_name, set()).update(step.task_class.task_options)
    problems = []
    for task, options in sorted((getattr(flow, "runtime_options", None) or {}).items()):
        for option in sorted(options or {}):
            if task in by_task and option in by_task[task]:
                continue
            takers = sorted(t for t, declared in by_task.items() if option in declared)
            where = (
                f"the flow has no step {task}"
                if task not in by_task
                else f"{task} takes no option {option}"
            )
            hint = f"; the steps that take it: {', '.join(takers)}" if takers else ""
            problems.append(f"-o {task}__{option}: {where}{hint}.")
    if problems:
        raise SixsenseInputError(
            f"Options of this run that no step of {getattr(flow, 'name', None) or 'the flow'} uses "
            f"(nothing was read or written): {' '.join(problems)}"
        )
    specs = {s.task_name: s.task_class.task_options for s in steps}
    for task, options in sorted((getattr(flow, "runtime_options", None) or {}).items()):
        for option, value in sorted((options or {}).items()):
            given = f"-o {task}__{option}"
            if is_deferred(value):
                source = value[len(RETURN_VALUE_PREFIX) :].rsplit(".", 1)[0].rsplit(".", 1)[-1]
                if "." not in value or source not in by_task:
                    raise SixsenseInputError(
                        f"{given} {value}: a ^^ reference names a step of the flow and one of its return "
                        f"values (^^<step>.<value>) and {source} is not a step of this flow; pass the "
                        f"value itself, e.g. {given} <value> (nothing was read or written)."
                    )
                continue
            try:  # the step parses it only when it starts, after the earlier steps' writes
                parse_options({option: value}, {option: specs[task][option]})
            except SixsenseInputError as error:
                text = str(error).replace(f"-o {option} ", f"{given} ")
                raise SixsenseInputError(f"{given}: {text} (nothing was read or written)") from None


def keep_log_lines_whole() -> None:
    """When cci's log goes to a pipe or a file, write it as plain lines, so no URL, option name or
    instruction is broken in two and no line is padded (rich wraps at 80 columns and pads to the width
    without a terminal). cci installs one ``rich.logging.RichHandler`` on the ``cumulusci`` logger
    (``cumulusci/cli/logger.py``); it is swapped for a ``logging.StreamHandler`` on the same stream. A
    terminal keeps cci's handler."""
    from rich.logging import RichHandler

    logger = logging.getLogger("cumulusci")
    for handler in list(logger.handlers):
        console = getattr(handler, "console", None)
        if isinstance(handler, RichHandler) and console is not None and not console.is_terminal:
            plain = logging.StreamHandler(console.file)
            plain.setLevel(handler.level)
            plain.setFormatter(logging.Formatter(PIPED_LOG_FORMAT, PIPED_LOG_DATEFMT))
            logger.removeHandler(handler)
            logger.addHandler(plain)


def org_kind(organization: dict, instance_url: str, scratch_config: bool = False) -> str:
    """``production``, ``sandbox`` or ``scratch``.

    Scratch: the org config says so (``cci org scratch``), or the My Domain host is ``*.scratch.my.salesforce.com``,
    or the org is a sandbox-flagged org with a trial expiration date (scratch orgs report ``IsSandbox`` true
    and a ``TrialExpirationDate``). Sandbox: ``Organization.IsSandbox``. Otherwise production.
    """
    host = urlparse(instance_url or "").hostname or ""
    if scratch_config or ".scratch.my.salesforce.com" in host:
        return "scratch"
    if organization.get("IsSandbox"):
        return "scratch" if organization.get("TrialExpirationDate") else "sandbox"
    return "production"


def my_domain(instance_url: str) -> str | None:
    """The My Domain name of ``https://acme.my.salesforce.com`` (``acme``; sandbox ``acme--uat.sandbox``), or
    None when the instance URL is not a My Domain URL (e.g. ``na224.salesforce.com`` or a simulator)."""
    host = urlparse(instance_url or "").hostname or ""
    marker = ".my.salesforce.com"
    if marker in host:
        return host.split(marker)[0]
    return None


def production_guard_message(org_name: str | None = None) -> str:
    """The one line a non-interactive write to production stops with (names the option and the way out)."""
    org = f" ({org_name})" if org_name else ""
    return (
        f"Not written: this org{org} is a production org and no one confirmed at a terminal. Pass "
        "-o sixsense_validate_inputs__confirm_production True (flow) or -o confirm_production True (this "
        "task alone), or run at a terminal to confirm; plan mode (plan True) previews without writing. "
        "Nothing was written."
    )


class SixsenseOrgMixin(SalesforceCalls):
    """Org lookups shared by every sixsense task. Needs ``self.sf`` (simple_salesforce), ``self.logger``,
    ``self.org_config``. Every call that reaches Salesforce goes through the wrapper
    (``resilience.SalesforceCalls``: ``_query``/``_read``/``_call``), so a ``SalesforceError`` surfaces as
    ``errorCode: message``."""

    # -- audit and plan mode (tasks/audit.py) ----------------------------------------------------------
    # Within a flow, each step's start and end (ok or not) is recorded in the run's audit report.

    def _init_options(self, kwargs):
        # Parses options only: must not touch the org (MetaDeploy freezes steps with org_config=None).
        super()._init_options(kwargs)
        parse_options(self.options, self._option_specs())

    def _option_specs(self) -> dict:
        """The ``task_options`` entries :func:`options.parse_options` parses (by their ``type``)."""
        return self.task_options

    def __init__(self, *args, **kwargs):
        try:
            super().__init__(*args, **kwargs)
        except Exception as error:
            # Options refused while cci constructs the step: record it, then re-raise.
            if kwargs.get("flow") is not None:
                try:
                    run = audit.run_for(self)
                except OSError:  # the refused option may be audit_dir itself: keep its clear error
                    run = None
                if run:
                    run.init_failed(self, error)
            raise

    def __call__(self):
        keep_log_lines_whole()
        flow = getattr(self, "flow", None)
        first_step = flow is not None and audit.flow_run(flow).audit is None
        if first_step:
            refuse_misplaced_flow_options(flow)
        elif flow is None:
            refuse_references_alone(self.options)
        run = audit.run_for(self)
        if run is None:
            return super().__call__()
        entry = run.begin(self)
        try:
            result = super().__call__()
        except BaseException as error:
            self._note_api_usage(run)
            run.end(self, entry, error)
            self._log_run_summary(run)
            raise
        self._note_api_usage(run)
        run.end(self, entry)
        if self._is_last_step():
            self._log_run_summary(run)
        return result

    def _note_api_usage(self, run) -> None:
        """Hand the org's last ``Sforce-Limit-Info`` reading of this step's REST session to the audit run."""
        sf = self.__dict__.get("sf")
        usage = (getattr(sf, "api_usage", None) or {}).get("api-usage")
        run.note_api_usage(usage)

    def _log_run_summary(self, run) -> None:
        """The end of a run (last step, or the step it stopped at): the plan summary in plan mode, else what
        changed, what was done, what is left, the API usage and the report."""
        lines = run.plan_summary_lines() if self.plan else run.summary_lines()
        for line in lines:
            self.logger.info(line)
        if self.plan:
            self.logger.info(f"Audit report: {run.json_path}")

    @property
    def plan(self) -> bool:
        value = (getattr(self, "options", None) or {}).get("plan")
        return value is True or (isinstance(value, str) and value.strip().lower() == "true")

    def _is_last_step(self) -> bool:
        steps = getattr(self.flow, "steps", None) or []
        return bool(steps) and str(steps[-1].step_num) == str(self.stepnum)

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
        """(``production`` | ``sandbox`` | ``scratch``, the org's name), read once per task: from the
        Organization record cci read when it refreshed this task's session (``OrgConfig.organization_sobject``,
        as diagnose does), else by query (``ORGANIZATION_KIND_SOQL``)."""
        if not hasattr(self, "_org_kind_cache"):
            org = getattr(self.org_config, "organization_sobject", None)
            if not (isinstance(org, dict) and all(f in org for f in ORGANIZATION_KIND_FIELDS)):
                rows = self._query(ORGANIZATION_KIND_SOQL)
                org = rows[0] if rows else {}
            scratch = bool((getattr(self.org_config, "config", None) or {}).get("scratch"))
            self._org_kind_cache = (org_kind(org, self._instance_url(), scratch), org.get("Name"))
        return self._org_kind_cache

    #: The connected user's rights this step needs before it writes (``connected_user.REQUIREMENTS`` keys).
    connected_user_needs: tuple[str, ...] = ()

    def _require_connected_user_rights(self) -> None:
        """Stop with ``SixsenseInputError`` naming each missing permission unless the connected user holds
        the rights this step needs (:attr:`connected_user_needs`). Each need is read once per flow run
        (``sixsense_validate_inputs`` checks all of them at the start of the flows) or, run alone, once per
        task run. Read-only. Called by :meth:`_before_first_write`, and first thing by a step whose reads
        already need the rights (a Metadata API retrieve)."""
        flow = getattr(self, "flow", None)
        if flow is not None:
            checked = audit.flow_run(flow).rights_checked
        else:
            checked = self.__dict__.setdefault("_rights_checked", set())
        needs = [key for key in self.connected_user_needs if key not in checked]
        if needs:
            self._check_connected_user(needs)
            checked.update(needs)

    def _check_connected_user(self, needs: Sequence[str] | None = None) -> list[list[str]]:
        """``connected_user.check_connected_user`` for ``needs`` (None: every requirement): its table rows
        when the rights are held, else the table logged and ``SixsenseInputError`` naming each missing
        permission."""
        rows, problem = connected_user.check_connected_user(self, needs)
        if problem:
            self._log_table("Connected user", [["check", "value", "result"], *rows])
            raise SixsenseInputError(problem)
        return rows

    def _before_first_write(self, what: str) -> None:
        """Call right before the step's first write (``what`` names it): the connected user's rights
        (:meth:`_require_connected_user_rights`: a step run alone, or in a flow of one's own without
        ``sixsense_validate_inputs``, stops here naming each missing permission), then the production guard
        (:meth:`_confirm_production`). Nothing is written before both pass."""
        self._require_connected_user_rights()
        self._confirm_production(what)

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
        flow = getattr(self, "flow", None)
        if flow is not None and audit.flow_run(flow).production_confirmed:
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
                    audit.flow_run(flow).production_confirmed = True
                self.options["confirm_production"] = True
                org = f" {name}" if name else ""
                self._record_confirmation(
                    f"write to the production org{org} ({what}) and in the later steps of this run"
                )
                return
        raise ConfirmationRequired(production_guard_message(name))

    def _record_confirmation(self, what: str) -> None:
        """Log, and note in the audit report (the step's ``confirmed``, and the run's ``consent`` with the
        time and the OS user), a consent given at the terminal."""
        self.logger.info(f"Confirmed at the terminal: {what}.")
        self._audit_note(confirmed=[f"at the terminal: {what}"])
        run = audit.run_for(self, create=False)
        if run is not None:
            run.record_consent(self, what)

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
        """One active user by Username (one query), or ``SixsenseInputError`` naming the role and the fix."""
        user = self._get_users([username]).get(username.lower())
        if not user:
            raise SixsenseInputError(user_checks.missing_user(role, username))
        if not user.get("IsActive"):
            raise SixsenseInputError(user_checks.inactive_user(role, username))
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
        """The vendor's installed app among ``names``: ``[]`` or one ConnectedApplication row (Id, Name,
        CreatedDate, LastModifiedDate, OptionsAllowAdminApprovedUsersOnly; read-only object), the one in use
        (``app_resolution.resolve``); ``app_resolution.AppChoiceRequired`` when that cannot be told apart."""
        return app_resolution.resolve(self, names)

    def _oauth_tokens(
        self, names: Sequence[str] | None = None, user_id: str | None = None
    ) -> list[dict]:
        """Every OauthToken row for the app names and/or one user, read whole (``token_loss.read_tokens``,
        never a token value): ``TokensUnreadable`` rather than a short list, or than none where another
        user's tokens may be hidden from the connected user (``connected_user.others_tokens_hidden``)."""
        return token_loss.read_tokens(self, names, user_id)

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

    def _option_specs(self) -> dict:
        return {**COMMON_OPTIONS, **self.task_options}

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
        default the user cci is connected as) is the integration user (the vendor article forbids the
        integration user doing the one-time authorization), or when the integration user is the user cci is
        connected as (``user_checks.same_user_problems``). Call first in tasks that take a user."""
        problems = user_checks.same_user_problems(
            self.setup_username,
            self.integration_username,
            self.org_config.username,
            setup_defaulted=not self.options.get("setup_username"),
        )
        user_checks.refuse(problems)

    def _require_users(self, *roles: str) -> dict[str, dict]:
        """The users of ``roles`` (``user_checks.SETUP`` / ``user_checks.INTEGRATION``) by role, after
        checking that each can authorize (exists, active, not frozen, not locked out; the integration user
        with API access and not the connected user; the setup user not the integration user). Otherwise
        ``SixsenseInputError`` with one message per problem, before any write. Read-only: User, UserLogin
        and, for the integration user, PermissionSetAssignment queries."""
        if user_checks.SETUP in roles:
            self._refuse_integration_user_as_setup_user()
        else:  # the setup user is not this task's: only "the integration user is the connected user"
            problems = user_checks.same_user_problems(
                None, self.integration_username, self.org_config.username, setup_defaulted=True
            )
            user_checks.refuse(problems)
        wanted = {
            user_checks.SETUP: self.setup_username,
            user_checks.INTEGRATION: self.integration_username,
        }
        checked = self._check_users({role: wanted[role] for role in roles if wanted[role]})
        checked.raise_problems()
        return checked.users

    def _check_users(self, usernames: dict[str, str]) -> user_checks.UserCheck:
        """``user_checks.check_users`` with this task's readers (no refusal: the caller decides)."""
        return user_checks.check_users(
            self._query,
            usernames,
            get_users=self._get_users,
            api_sources=lambda user: self._permission_sources(user, API_ENABLED),
        )
