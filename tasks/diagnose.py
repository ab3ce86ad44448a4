"""sixsense_diagnose: a read-only report of everything the 6sense procedure depends on, and the next step.

Reads only: SOQL queries, describes, and Metadata API ``retrieve`` / ``listMetadata`` (SOAP POSTs that read).
Never a DML, a deploy, or a token value (``OauthToken.AccessToken``/``DeleteToken``/``RequestToken`` are never
selected).
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

from cumulusci.salesforce_api.exceptions import MetadataApiError
from cumulusci.salesforce_api.metadata import ApiListMetadata, ApiRetrieveUnpackaged
from lxml import etree

from .api_access_control import DetectApiAccessControl
from .common import (
    API_ENABLED,
    APPROVE_UNINSTALLED,
    MD_NS,
    OAUTH_USAGE_PATH,
    SixsenseOrgError,
    SixsenseTask,
    format_table,
    package_xml,
    parse_sf_datetime,
    soql_in,
    soql_quote,
)

# OauthToken: query() returns up to 500 rows per call, queryMore() continues to a hard cap of 2,500
# (salesforce-facts.md §4.1, OauthToken object reference).
OAUTH_TOKEN_ROW_CAP = 2500
# The only OauthToken fields diagnose ever selects (no AccessToken, DeleteToken, RequestToken).
TOKEN_FIELDS = "AppName, UserId, CreatedDate, LastUsedDate, UseCount, AppMenuItemId"
ORGANIZATION_SOQL = "SELECT Id, Name, OrganizationType, IsSandbox, InstanceName, TrialExpirationDate FROM Organization"


def app_tokens_where(names) -> str:
    """The OauthToken filter of the app ``names``."""
    return f"AppName IN {soql_in(names)}"


def token_count_soql(where: str) -> str:
    return f"SELECT COUNT() FROM OauthToken WHERE {where}"


def token_rows_soql(where: str, count: int) -> str:
    """OauthToken rows for ``where`` (never the secret fields); ``LIMIT`` the row cap past it."""
    limit = f" LIMIT {OAUTH_TOKEN_ROW_CAP}" if count > OAUTH_TOKEN_ROW_CAP else ""
    return f"SELECT {TOKEN_FIELDS} FROM OauthToken WHERE {where} ORDER BY CreatedDate{limit}"


def app_menu_items_soql(names, app_ids) -> str:
    where = [f"Name IN {soql_in(names)}", f"Label IN {soql_in(names)}"]
    if app_ids:
        where.append(f"ApplicationId IN {soql_in(app_ids)}")
    return (
        "SELECT Id, Name, Label, ApplicationId, IsUsingAdminAuthorization, Type FROM AppMenuItem "
        f"WHERE {' OR '.join(where)}"
    )


def eca_soql(names) -> str:
    """The packaged 6sense External Client App among ``names`` (DeveloperName or MasterLabel)."""
    names = soql_in(names)
    return (
        "SELECT Id, DeveloperName, MasterLabel, DistributionState FROM ExternalClientApplication "
        f"WHERE DeveloperName IN {names} OR MasterLabel IN {names}"
    )


NEW_FLOW = "sixsense_new_customer"
EXISTING_FLOW = "sixsense_existing_customer"
ECA_FLOW = "sixsense_eca"
MIGRATE_FLOW = "sixsense_migrate_to_eca"

#: The app's states, as reported in ``app.state`` and per candidate.
APP_STATES = ("never_used", "used", "installed", "admin_approved", "blocked")


def _lower_set(values) -> set[str]:
    return {str(v).lower() for v in values if v}


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


def recommend_model(diagnosis: dict) -> dict:
    """Which model the org is on and the flow to run (pure). ``{"model": "connected_app" |
    "external_client_app" | "both" | "neither", "flow": str, "why": str}``.

    The connected app counts when it is installed or has tokens; the 6sense ECA when its packaged
    ExternalClientApplication row exists (facts §6.3). 6sense supports only the ECA now (facts §0): orgs with
    neither start there; connected-app orgs finish the seed's procedure first if it is incomplete (their
    integration keeps running), then migrate; orgs with both finish the migration."""
    app = diagnosis.get("app") or {}
    eca = diagnosis.get("eca") or {}
    on_ca = bool(app.get("installed") or app.get("used"))
    on_eca = bool(eca.get("installed"))
    step = diagnosis.get("next_step") or {}
    if on_ca and on_eca:
        return {
            "model": "both",
            "flow": MIGRATE_FLOW,
            "why": "the connected app and the 6sense External Client App are both present: finish the migration "
            "(the ECA checks, then the removal of the connected app's access once confirmed).",
        }
    if on_eca:
        return {
            "model": "external_client_app",
            "flow": ECA_FLOW,
            "why": "the org uses the 6sense External Client App (the supported method).",
        }
    if on_ca:
        if step.get("flow") and not step.get("done"):
            return {
                "model": "connected_app",
                "flow": step["flow"],
                "why": "the org is on the 6sense connected app and its setup is incomplete; finish it to keep 6sense "
                f"syncing, then move to the External Client App with {MIGRATE_FLOW}.",
            }
        return {
            "model": "connected_app",
            "flow": MIGRATE_FLOW,
            "why": "the org is on the 6sense connected app, which 6sense no longer recommends; migrate to the "
            "External Client App (non-destructive: nothing is removed without confirmation).",
        }
    return {
        "model": "neither",
        "flow": ECA_FLOW,
        "why": "6sense has never connected here; new customers use the 6sense External Client App.",
    }


def next_step(diagnosis: dict) -> dict:
    """The next step of the seed's procedure for a diagnosis dict (pure; see ``Diagnose`` for the shape).

    Returns ``{"step": "Step 2: Install", "number": 2 | "Prerequisite" | None, "title": str,
    "task": "sixsense_install_connected_app" | None, "flow": "sixsense_new_customer" |
    "sixsense_existing_customer" | None, "command": "cci flow run ..." | "cci task run ..." | "",
    "task_command": "cci task run <task>" | "", "why": str, "text": str, "done": bool}``.

    Order follows the seed: prerequisite (setup access), step 1 (authorize as the setup user), step 2
    (install), step 3 (Permitted Users), step 4 (access), step 5 (reauthorize), step 6 (verify). A blocked app comes first (seed FAQ, OAUTH_APP_BLOCKED; field-cases C07).
    """
    app = diagnosis["app"]
    users = diagnosis["users"]
    acc = diagnosis["api_access_control"]
    setup = users.get("setup") or {}
    integration = users.get("integration") or {}
    tokens = diagnosis.get("tokens") or {}
    flow = EXISTING_FLOW if app.get("used_by_others") else NEW_FLOW

    def step(number, title, task, why, flow_name=flow):
        if isinstance(number, int):
            label = f"Step {number}: {title}"
        else:
            label = f"{number}: {title}" if number else title
        done = number == 6 and "complete" in why
        if done:
            flow_name = None
        if task and flow_name:
            command = f"cci flow run {flow_name}"
            text = f"{label} — run `cci flow run {flow_name}` (step {task})"
        elif task:
            command = f"cci task run {task}"
            text = f"{label} — run `cci task run {task}`"
        else:
            command = ""
            text = f"{label} — manual: {why}"
        return {
            "step": label,
            "number": number,
            "title": title,
            "task": task,
            "flow": flow_name if task else None,
            "command": command,
            "task_command": f"cci task run {task}" if task else "",
            "why": why,
            "text": text,
            "done": done,
        }

    if app.get("blocked"):
        if app.get("installed"):
            why = (
                "the app is blocked on Connected Apps OAuth Usage; select Unblock there "
                "(blocking ends all sessions and prevents new ones)."
            )
        else:
            why = (
                "the app is blocked on Connected Apps OAuth Usage; Install it (step 2), "
                "give the integration user access (step 4), then select Unblock."
            )
        return step(None, "Unblock the 6sense app on Connected Apps OAuth Usage", None, why, None)

    if not app.get("installed"):
        if not app.get("used"):
            sources = setup.get("approve_uninstalled_sources")
            if setup.get("found") and sources == []:
                return step(
                    "Prerequisite",
                    "give the setup user Approve Uninstalled Connected Apps",
                    "sixsense_assign_setup_access",
                    f"the setup user {setup.get('username')} does not hold CanApproveUninstalledApps "
                    "(only the standard System Administrator profile gets it automatically), so the "
                    "one-time authorization would fail with OAUTH_APPROVAL_ERROR_GENERIC.",
                    NEW_FLOW,
                )
            why = (
                "the app has never been used in this org (no OauthToken, no ConnectedApplication), so "
                "Salesforce does not list it on Connected Apps OAuth Usage yet."
            )
            if acc.get("enforcing"):
                why += (
                    " API Access Control is enforcing: Salesforce will deny the attempt (OAUTH_APP_BLOCKED) "
                    "and keep no token, but the attempt lists the app; if it was already made, go on with "
                    "step 2 (install)."
                )
            return step(
                1,
                "Authorize once as the setup user",
                "sixsense_authorize_setup_user",
                why,
                NEW_FLOW,
            )
        return step(
            2,
            "Install",
            "sixsense_install_connected_app",
            "the app is in use in this org (tokens exist) but not installed (no ConnectedApplication row); "
            "new authorizations are refused until it is installed.",
        )

    if not app.get("admin_approved"):
        return step(
            3,
            "Set Permitted Users to admin approved",
            "sixsense_set_permitted_users",
            "the app is installed but Permitted Users is 'All users may self-authorize' "
            "(ConnectedApplication.OptionsAllowAdminApprovedUsersOnly false). Changing it logs out the "
            "app's users.",
        )

    if not integration.get("provided"):
        if not app.get("access"):
            return step(
                4,
                "Give the integration user's permission set or profile access",
                "sixsense_grant_app_access",
                "the app is admin approved but no permission set or profile has access to it.",
            )
        return step(
            6,
            "Verify",
            "sixsense_verify",
            "the app is installed, admin approved and some permission sets or profiles have access; pass "
            "integration_username to check the integration user's access and token.",
        )
    if not integration.get("found"):
        return step(
            "Prerequisite",
            "fix the integration username",
            None,
            f"no user {integration.get('username')} in this org; check integration_username.",
            None,
        )
    if not integration.get("has_app_access"):
        return step(
            4,
            "Give the integration user's permission set or profile access",
            "sixsense_grant_app_access",
            f"none of {integration.get('username')}'s permission sets nor its profile has access to the app "
            "(no SetupEntityAccess row), so its authorization would fail with invalid_app_access.",
        )
    if tokens.get("integration_user") is None:
        return step(
            6,
            "Verify",
            "sixsense_verify",
            f"{integration.get('username')}'s OauthToken rows could not be read here (see the warnings), so "
            "whether it reauthorized after the policy change is unknown; the verification checks it.",
        )
    app_tokens = (tokens.get("integration_user") or {}).get("app") or {}
    if not app_tokens.get("after_policy_change"):
        return step(
            5,
            "Reauthorize in 6sense as the integration user",
            "sixsense_reauthorize_integration_user",
            f"{integration.get('username')} holds no token for the app created after the policy change; "
            "reauthorizing may log it out of Pardot / Sales Engagement (see its other tokens).",
        )
    return step(
        6,
        "Verify",
        "sixsense_verify",
        "setup complete: installed, admin approved, access granted, integration user reauthorized; run "
        "the verification for the record.",
    )


class Diagnose(SixsenseTask):
    task_docs = """
Read-only diagnosis of the 6sense connected-app setup, with the next step of the vendor procedure.

Reports:

- org: production / sandbox / scratch (Organization.IsSandbox, TrialExpirationDate, the org config), edition
  (OrganizationType), My Domain (from the instance URL), API version;
- API Access Control: provisioned (``PermissionsUseAnyApiClient`` in ``describe('PermissionSet')``) and
  enforcing (Metadata retrieve of ``Settings: ConnectedApp``, ``enableAdminApprovedAppsOnly``), facts §2;
- the setup and integration users: active, profile, licence, API Enabled, and where each holds
  CanApproveUninstalledApps (profile or which permission set);
- every candidate for the 6sense app (``connected_app_names``): OauthToken AppName, ConnectedApplication,
  AppMenuItem, blocked consumers (BlacklistedConsumer ``listMetadata``), with its state
  (never_used / used / installed / admin_approved / blocked), and the permission sets and profiles with
  access (SetupEntityAccess, facts §5);
- OauthToken: counted first (``SELECT COUNT()``), read only filtered by AppName / UserId, within the
  2,500-row cap (facts §4.1): the integration user's tokens for the app (count, first created, last used)
  and for other apps (Pardot, Sales Engagement can be disturbed by reauthorization);
- the next step and the flow or task that does it.

Writes a JSON and a Markdown report (no token values) and logs a table. Never writes to the org. As a step
of a flow (step 2 of both), the reports default to ``<audit_dir>/<run>-diagnosis.json|md`` next to the
run's audit report.

Return values (dict): ``org``, ``api_access_control`` {provisioned, enforcing, signals}, ``users``
{setup, integration}, ``app`` {state, names, candidates, installed, admin_approved, blocked, used, access},
``tokens`` {app_total, integration_user {app, other_apps}, setup_user {app}}, ``next_step`` {step, number,
task, flow, command, why, text, done}, ``warnings`` (list), ``json_path``, ``markdown_path``.
    """
    task_options = {
        **{
            k: v
            for k, v in SixsenseTask.task_options.items()
            if k in ("integration_username", "setup_username", "connected_app_names", "plan")
        },
        "json_path": {
            "description": "Where to write the JSON report. Default: .sixsense/diagnosis.json"
        },
        "markdown_path": {
            "description": "Where to write the Markdown report. Default: .sixsense/diagnosis.md"
        },
    }

    default_json_path = ".sixsense/diagnosis.json"
    default_markdown_path = ".sixsense/diagnosis.md"

    def _init_options(self, kwargs):
        # Parses options only: must not touch the org (MetaDeploy freezes steps with org_config=None).
        super()._init_options(kwargs)
        self._paths_defaulted = not (
            self.options.get("json_path") or self.options.get("markdown_path")
        )
        self.options["json_path"] = self.options.get("json_path") or self.default_json_path
        self.options["markdown_path"] = (
            self.options.get("markdown_path") or self.default_markdown_path
        )

    # -- main ------------------------------------------------------------------------------------------

    def _run_task(self):
        from .audit import run_for

        run = run_for(self, create=False)
        if run and getattr(self, "_paths_defaulted", False):
            # In a flow: next to the run's audit report, so each run keeps its own diagnosis.
            self.options["json_path"] = str(run.json_path.with_name(f"{run.run_id}-diagnosis.json"))
            self.options["markdown_path"] = str(run.md_path.with_name(f"{run.run_id}-diagnosis.md"))
        diagnosis = self.diagnose()
        self._audit_note(
            before={
                "app": diagnosis["app"].get("state"),
                "next step": diagnosis["next_step"]["text"],
            }
        )
        self._log_report(diagnosis)
        json_path, md_path = self._write_reports(diagnosis)
        diagnosis["json_path"] = str(json_path)
        diagnosis["markdown_path"] = str(md_path)
        self.logger.info(f"Next: {diagnosis['next_step']['text']}")
        rec = diagnosis["recommendation"]
        self.logger.info(f"Model: {rec['model']}; recommended flow: {rec['flow']} ({rec['why']})")
        self.logger.info(f"Reports: {json_path}, {md_path}")
        self.return_values = diagnosis

    def diagnose(self) -> dict:
        """Collect every fact (read-only) and compute the next step. Sections that the org refuses to
        answer (missing permission, object not available) are reported in ``warnings`` and left empty."""
        self.warnings: list[str] = []
        diagnosis = {
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "org": self._org_facts(),
            "api_access_control": self._api_access_control(),
        }
        users = self._user_facts()
        diagnosis["users"] = users
        app, tokens = self._app_facts(users)
        diagnosis["app"] = app
        diagnosis["tokens"] = tokens
        integration = users.get("integration") or {}
        if integration.get("found"):
            integration["has_app_access"], integration["app_access_via"] = self._user_access(
                integration, app
            )
        diagnosis["eca"] = self._eca_facts(users)
        diagnosis["warnings"] = self.warnings
        self._add_warnings(diagnosis)
        diagnosis["next_step"] = next_step(diagnosis)
        diagnosis["recommendation"] = recommend_model(diagnosis)
        return diagnosis

    def _cci_organization(self) -> dict | None:
        """The Organization record cci read when it refreshed the session this run
        (``OrgConfig.organization_sobject``), when it has every field diagnose reports; else None."""
        org = getattr(self.org_config, "organization_sobject", None)
        fields = (
            "Id",
            "Name",
            "OrganizationType",
            "IsSandbox",
            "InstanceName",
            "TrialExpirationDate",
        )
        if isinstance(org, dict) and all(f in org for f in fields):
            return {f: org[f] for f in fields}
        return None

    def _eca_facts(self, users: dict) -> dict:
        """The 6sense External Client App (standard SOQL, facts §6.3): installed (packaged
        ExternalClientApplication row), Permitted Users, the integration user's token count. An org whose API
        does not know these objects reports ``readable`` false (no warning: older orgs lack them)."""
        from .eca import DEFAULT_ECA_NAMES

        try:
            rows = self._query(eca_soql(DEFAULT_ECA_NAMES))
            if not rows:
                return {"readable": True, "installed": False}
            eca = rows[0]
            policy = self._query(
                "SELECT PermittedUsersPolicyType FROM ExtlClntAppOauthPlcyCnfg "
                f"WHERE ExternalClientApplicationId = {soql_quote(eca['Id'])}"
            )
            integration = users.get("integration") or {}
            tokens = 0
            if integration.get("found"):
                tokens = self._count(
                    f"AppName = {soql_quote(eca['MasterLabel'])} AND UserId = {soql_quote(integration['id'])}"
                )
        except SixsenseOrgError:
            return {"readable": False, "installed": False}
        return {
            "readable": True,
            "installed": True,
            "name": eca["MasterLabel"],
            "distribution_state": eca.get("DistributionState"),
            "permitted_users": (policy[0] if policy else {}).get("PermittedUsersPolicyType"),
            "integration_user_tokens": tokens,
        }

    # -- sections --------------------------------------------------------------------------------------

    def _safe(self, what: str, fn, default=None):
        try:
            return fn()
        except (SixsenseOrgError, MetadataApiError) as e:
            self.warnings.append(f"{what}: not readable ({e})")
            return default

    def _org_facts(self) -> dict:
        cci_org = self._cci_organization()
        rows = (
            [cci_org]
            if cci_org
            else self._safe("Organization", lambda: self._query(ORGANIZATION_SOQL), [])
        )
        org = rows[0] if rows else {}
        instance_url = self._instance_url()
        return {
            "id": org.get("Id") or self.org_config.org_id,
            "name": org.get("Name"),
            "edition": org.get("OrganizationType"),
            "kind": org_kind(org, instance_url, bool(self.org_config.config.get("scratch"))),
            "is_sandbox": bool(org.get("IsSandbox")),
            "instance_name": org.get("InstanceName"),
            "trial_expiration": org.get("TrialExpirationDate"),
            "instance_url": instance_url,
            "my_domain": my_domain(instance_url),
            "api_version": str(self.project_config.project__package__api_version),
            "connected_username": self.org_config.username,
        }

    def _api_access_control(self) -> dict:
        provisioned = bool(
            self._safe(
                "describe PermissionSet",
                lambda: self._has_permission_field("UseAnyApiClient"),
                False,
            )
        )
        # Same reading as sixsense_detect_api_access_control (one implementation of the retrieve).
        enforcing, signal = DetectApiAccessControl._retrieve_enforcing(self)
        return {
            "provisioned": provisioned,
            "enforcing": bool(enforcing),
            "signals": {
                "describe PermissionSet": "PermissionsUseAnyApiClient "
                + ("present: provisioned" if provisioned else "absent: not provisioned"),
                "Settings:ConnectedApp": signal,
            },
        }

    def _resolve_setup_username(self) -> str | None:
        if self.options.get("setup_username"):
            return self.options["setup_username"]
        if self.org_config.username:
            return self.org_config.username
        user_id = self.org_config.user_id
        if user_id:
            rows = self._safe(
                "User",
                lambda: self._query(f"SELECT Username FROM User WHERE Id = {soql_quote(user_id)}"),
                [],
            )
            if rows:
                return rows[0]["Username"]
        return None

    def _user_facts(self) -> dict:
        setup_username = self._resolve_setup_username()
        integration_username = self.integration_username
        wanted = [u for u in (setup_username, integration_username) if u]
        found = self._safe("User", lambda: self._get_users(wanted), {}) if wanted else {}
        users = {
            "setup": self._describe_user(setup_username, found, "setup user"),
            "integration": self._describe_user(integration_username, found, "integration user"),
        }
        if not integration_username:
            self.warnings.append(
                "integration_username not given: the integration user's access and tokens are not checked."
            )
        if (
            setup_username
            and integration_username
            and setup_username.lower() == integration_username.lower()
        ):
            self.warnings.append(
                "The setup user and the integration user are the same user; the seed forbids the integration "
                "user doing the one-time authorization (step 1)."
            )
        return users

    def _user_assignments(self, found: dict) -> dict[str, list[dict]]:
        """The assignments of every user in ``found`` (one query for all of them, read once per run)."""
        if not hasattr(self, "_assignments_by_user"):
            self._assignments_by_user = self._assignments([r["Id"] for r in found.values()])
        return self._assignments_by_user

    def _describe_user(self, username: str | None, found: dict, role: str) -> dict:
        if not username:
            return {"provided": False, "username": None, "found": False}
        row = found.get(username.lower())
        if not row:
            self.warnings.append(f"The {role} {username} does not exist in this org.")
            return {"provided": True, "username": username, "found": False}
        profile = row.get("Profile") or {}
        assignments = self._safe(
            f"{role} permissions", lambda: self._user_assignments(found)[row["Id"]], None
        )
        approve = self._safe(
            f"{role} permissions",
            lambda: self._permission_sources(row, APPROVE_UNINSTALLED, assignments),
            None,
        )
        api = self._safe(
            f"{role} permissions",
            lambda: self._permission_sources(row, API_ENABLED, assignments),
            None,
        )
        info = {
            "provided": True,
            "username": row["Username"],
            "found": True,
            "id": row["Id"],
            "name": row.get("Name"),
            "active": bool(row.get("IsActive")),
            "profile": profile.get("Name"),
            "licence": (profile.get("UserLicense") or {}).get("Name"),
            "api_enabled": None if api is None else bool(api),
            "api_enabled_sources": api,
            "can_approve_uninstalled_apps": None if approve is None else bool(approve),
            "approve_uninstalled_sources": approve,
            "is_connected_user": bool(
                self.org_config.username
                and row["Username"].lower() == self.org_config.username.lower()
            ),
        }
        if not info["active"]:
            self.warnings.append(f"The {role} {username} is inactive.")
        return info

    # -- the app ---------------------------------------------------------------------------------------

    def _app_facts(self, users: dict) -> tuple[dict, dict]:
        names = list(self.app_names)
        lower_names = _lower_set(names)
        candidates: dict[str, dict] = {}

        def cand(name: str) -> dict:
            key = name.lower()
            if key not in candidates:
                candidates[key] = {
                    "name": name,
                    "sources": [],
                    "connected_application_id": None,
                    "installed": False,
                    "installed_date": None,
                    "admin_approved": False,
                    "policy_modified": None,
                    "app_menu_items": [],
                    "token_count": 0,
                    "token_user_count": 0,
                    "blocked": False,
                }
            return candidates[key]

        def add_source(c, source):
            if source not in c["sources"]:
                c["sources"].append(source)

        # ConnectedApplication: a row exists once the app is installed (facts §3). Read-only object.
        apps = self._safe("ConnectedApplication", lambda: self._connected_apps(names), []) or []
        apps_by_id = {a["Id"]: a for a in apps}

        # AppMenuItem: App Launcher items, linked to ConnectedApplication by ApplicationId (facts §4.2).
        menu_items = self._app_menu_items(names, list(apps_by_id))
        missing_app_ids = [
            m["ApplicationId"]
            for m in menu_items
            if m.get("ApplicationId") and m["ApplicationId"] not in apps_by_id
        ]
        if missing_app_ids:
            extra = self._safe(
                "ConnectedApplication",
                lambda: self._query(
                    "SELECT Id, Name, CreatedDate, LastModifiedDate, OptionsAllowAdminApprovedUsersOnly "
                    f"FROM ConnectedApplication WHERE Id IN {soql_in(missing_app_ids)}"
                ),
                [],
            )
            apps_by_id.update({a["Id"]: a for a in extra})
        for a in apps_by_id.values():
            c = cand(a["Name"])
            add_source(c, "ConnectedApplication")
            c.update(
                connected_application_id=a["Id"],
                installed=True,
                installed_date=a.get("CreatedDate"),
                admin_approved=bool(a.get("OptionsAllowAdminApprovedUsersOnly")),
                policy_modified=a.get("LastModifiedDate"),
            )
        for m in menu_items:
            owner = apps_by_id.get(m.get("ApplicationId"))
            name = owner["Name"] if owner else (m.get("Name") or m.get("Label"))
            c = cand(name)
            add_source(c, "AppMenuItem")
            c["app_menu_items"].append(
                {
                    "id": m.get("Id"),
                    "name": m.get("Name"),
                    "label": m.get("Label"),
                    "is_using_admin_authorization": m.get("IsUsingAdminAuthorization"),
                }
            )

        # OauthToken for the app names (AppName is the app's label, facts §4.1): count first. A token must
        # be newer than the policy change (ConnectedApplication.LastModifiedDate, as
        # sixsense_reauthorize_integration_user and sixsense_verify read it).
        policy_changed = max(
            (a.get("LastModifiedDate") or "" for a in apps_by_id.values()), default=""
        )
        tokens_info, app_tokens = self._app_tokens(names, users, policy_changed or None)
        for t in app_tokens:
            c = cand(t["AppName"])
            add_source(c, "OauthToken")
        for c in candidates.values():
            mine = [t for t in app_tokens if (t.get("AppName") or "").lower() == c["name"].lower()]
            c["token_count"] = len(mine)
            c["token_user_count"] = len({t.get("UserId") for t in mine})
        for name, count in (tokens_info.get("app_counts") or {}).items():
            c = cand(name)
            add_source(c, "OauthToken")
            c["token_count"] = max(c["token_count"], count)

        # Blocked consumers (BlacklistedConsumer metadata, facts §6.2).
        blocked, blocked_detectable = self._blocked_apps(lower_names | set(candidates))
        for name in blocked:
            c = cand(name)
            add_source(c, "BlacklistedConsumer")
            c["blocked"] = True

        # SetupEntityAccess: who has access to each installed candidate (facts §5).
        access = self._app_access([c["connected_application_id"] for c in candidates.values()])
        for c in candidates.values():
            c["access"] = [a for a in access if a["app_id"] == c["connected_application_id"]]
            c["state"] = self._candidate_state(c)
        for name in names:
            cand(name)["state"] = self._candidate_state(cand(name))

        rank = {"blocked": 0, "admin_approved": 1, "installed": 2, "used": 3, "never_used": 4}
        ordered = sorted(
            candidates.values(),
            key=lambda c: (
                rank[c["state"]],
                c["name"].lower() not in lower_names,
                c["name"].lower(),
            ),
        )
        primary = ordered[0] if ordered else None
        setup_id = (users.get("setup") or {}).get("id")
        token_users = {t.get("UserId") for t in app_tokens}
        used = any(c["token_count"] for c in candidates.values())
        app = {
            "names": names,
            "primary": primary["name"] if primary else None,
            "state": self._overall_state(candidates.values()),
            "used": used,
            "used_by_others": bool(token_users - {setup_id, None})
            or bool(tokens_info.get("app_total", 0) > len(app_tokens)),
            "installed": any(c["installed"] for c in candidates.values()),
            "admin_approved": any(
                c["installed"] and c["admin_approved"] for c in candidates.values()
            ),
            "blocked": any(c["blocked"] for c in candidates.values()),
            "blocked_detectable": blocked_detectable,
            "access": access,
            "candidates": ordered,
            "oauth_usage_url": self._instance_url() + OAUTH_USAGE_PATH,
        }
        if not used and not app["installed"]:
            self.warnings.append(
                "No token and no installed row for the app: either it was never used here, or an attempt was "
                "denied (a denied attempt lists the app on OAuth Usage but leaves nothing the API can read)."
            )
        return app, tokens_info

    @staticmethod
    def _candidate_state(c: dict) -> str:
        if c["blocked"]:
            return "blocked"
        if c["installed"] and c["admin_approved"]:
            return "admin_approved"
        if c["installed"]:
            return "installed"
        if c["token_count"]:
            return "used"
        return "never_used"

    @staticmethod
    def _overall_state(candidates) -> str:
        states = {c["state"] for c in candidates}
        for state in ("blocked", "admin_approved", "installed", "used"):
            if state in states:
                return state
        return "never_used"

    def _app_menu_items(self, names: list[str], app_ids: list[str]) -> list[dict]:
        return (
            self._safe(
                "AppMenuItem",
                lambda: self._query(app_menu_items_soql(names, app_ids)),
                [],
            )
            or []
        )

    def _count(self, where: str) -> int:
        """``SELECT COUNT() FROM OauthToken WHERE ...`` (totalSize of a COUNT() query)."""
        return self._total(token_count_soql(where))

    def _read_tokens(self, where: str, count: int) -> list[dict]:
        """OauthToken rows for ``where`` (never the secret fields), at most the 2,500-row cap."""
        if count == 0:
            return []
        if count > OAUTH_TOKEN_ROW_CAP:  # token_rows_soql limits the rows to the cap
            self.warnings.append(
                f"{count} OauthToken rows match ({where}); Salesforce returns at most {OAUTH_TOKEN_ROW_CAP}, "
                "so per-user figures below come from user-filtered queries."
            )
        return self._query(token_rows_soql(where, count))

    def _app_tokens(
        self, names: list[str], users: dict, policy_changed: str | None
    ) -> tuple[dict, list[dict]]:
        """OauthToken facts: ``app_total`` (COUNT() for the app names), ``app_counts`` (per name, only past
        the row cap), ``integration_user`` {app: summary, other_apps: [{app, count, last_used}]},
        ``setup_user`` {app: summary}; and the app's token rows (secret fields never selected)."""
        info: dict = {
            "app_total": 0,
            "app_counts": {},
            "integration_user": None,
            "setup_user": None,
        }
        app_where = app_tokens_where(names)

        all_app_rows: list[bool] = []  # set once every token row of the app was read

        def read_app():
            total = self._count(app_where)
            info["app_total"] = total
            if total <= OAUTH_TOKEN_ROW_CAP:
                rows = self._read_tokens(app_where, total)
                all_app_rows.append(True)
                return rows
            # Too many to read: one COUNT() per name, rows only per user (below).
            for name in names:
                info["app_counts"][name] = self._count(f"AppName = {soql_quote(name)}")
            return []

        app_tokens = self._safe("OauthToken", read_app, []) or []
        setup = users.get("setup") or {}
        integration = users.get("integration") or {}

        def user_tokens(user: dict, all_apps: bool) -> dict:
            uid = user["id"]
            where = f"UserId = {soql_quote(uid)}"
            if not all_apps and all_app_rows:
                rows = [t for t in app_tokens if t.get("UserId") == uid]  # every app row was read
            else:
                if not all_apps:
                    where = f"{app_where} AND {where}"
                rows = self._read_tokens(where, self._count(where))
            mine = [r for r in rows if (r.get("AppName") or "").lower() in _lower_set(names)]
            others: dict[str, dict] = {}
            for r in rows:
                if r in mine:
                    continue
                o = others.setdefault(
                    r.get("AppName"), {"app": r.get("AppName"), "count": 0, "last_used": None}
                )
                o["count"] += 1
                if (r.get("LastUsedDate") or "") > (o["last_used"] or ""):
                    o["last_used"] = r.get("LastUsedDate")
            return {
                "app": self._summarize(mine, policy_changed),
                "other_apps": sorted(others.values(), key=lambda o: o["app"] or ""),
            }

        if integration.get("found"):
            info["integration_user"] = self._safe(
                "OauthToken (integration user)", lambda: user_tokens(integration, True), None
            )
        if setup.get("found"):
            result = self._safe("OauthToken (setup user)", lambda: user_tokens(setup, False), None)
            info["setup_user"] = {"app": result["app"]} if result else None
        return info, app_tokens

    @staticmethod
    def _summarize(rows: list[dict], policy_changed: str | None) -> dict:
        if not rows:
            return {
                "count": 0,
                "first_created": None,
                "last_created": None,
                "last_used": None,
                "use_count": 0,
                "after_policy_change": False,
            }
        created = sorted(r.get("CreatedDate") or "" for r in rows)
        last_used = max((r.get("LastUsedDate") or "" for r in rows), default="") or None
        changed = parse_sf_datetime(policy_changed) if policy_changed else None
        fresh = [
            r
            for r in rows
            if changed is None or (parse_sf_datetime(r.get("CreatedDate")) or changed) > changed
        ]
        return {
            "count": len(rows),
            "first_created": created[0] or None,
            "last_created": created[-1] or None,
            "last_used": last_used,
            "use_count": sum(int(r.get("UseCount") or 0) for r in rows),
            "after_policy_change": bool(fresh),
        }

    def _blocked_apps(self, names: set[str]) -> tuple[list[str], bool]:
        """Names among ``names`` on the org's blocked list: ``listMetadata(BlacklistedConsumer)`` (a read),
        then, for entries whose fullName is not one of the names, a retrieve to compare consumerName and
        masterLabel. Returns (blocked names, detectable)."""
        api_version = self.project_config.project__package__api_version
        try:
            listed = self._read(
                "listMetadata",
                ApiListMetadata(self, "BlacklistedConsumer", as_of_version=api_version),
            )
        except MetadataApiError as e:
            self.warnings.append(
                f"Blocked apps (BlacklistedConsumer listMetadata) not readable: {e}"
            )
            return [], False
        entries = [
            e.get("fullName")
            for e in (listed or {}).get("BlacklistedConsumer", [])
            if e.get("fullName")
        ]
        blocked = [n for n in entries if n.lower() in names]
        others = [n for n in entries if n.lower() not in names]
        if others:
            try:
                zip_file = self._read(
                    "Metadata retrieve",
                    ApiRetrieveUnpackaged(
                        self,
                        package_xml("BlacklistedConsumer", others, api_version),
                        api_version,
                    ),
                )
            except MetadataApiError as e:
                self.warnings.append(
                    f"Blocked apps (BlacklistedConsumer retrieve) not readable: {e}"
                )
                return blocked, True
            for file_name in zip_file.namelist():
                if not file_name.startswith("blacklistedConsumers/"):
                    continue
                root = etree.parse(io.BytesIO(zip_file.read(file_name))).getroot()
                labels = root.xpath(
                    "/md:BlacklistedConsumer/md:consumerName/text() | /md:BlacklistedConsumer/md:masterLabel/text()",
                    namespaces={"md": MD_NS},
                )
                hit = [label.strip() for label in labels if label.strip().lower() in names]
                if hit and hit[0] not in blocked:
                    blocked.append(hit[0])
        return blocked, True

    def _app_access(self, app_ids: list[str | None]) -> list[dict]:
        ids = [i for i in app_ids if i]
        if not ids:
            return []
        rows = self._safe(
            "SetupEntityAccess",
            lambda: self._query(
                "SELECT Id, ParentId, Parent.Name, Parent.Label, Parent.IsOwnedByProfile, Parent.Profile.Name, "
                f"SetupEntityId FROM SetupEntityAccess WHERE SetupEntityId IN {soql_in(ids)}"
            ),
            [],
        )
        out = []
        for r in rows or []:
            parent = r.get("Parent") or {}
            is_profile = bool(parent.get("IsOwnedByProfile"))
            out.append(
                {
                    "type": "profile" if is_profile else "permission set",
                    "name": (parent.get("Profile") or {}).get("Name")
                    if is_profile
                    else parent.get("Name"),
                    "parent_id": r.get("ParentId"),
                    "app_id": r.get("SetupEntityId"),
                }
            )
        return sorted(out, key=lambda a: (a["type"], a["name"] or ""))

    def _user_access(self, user: dict, app: dict) -> tuple[bool, list[str]]:
        """Whether one of the user's permission sets (assigned, or its profile's own) has access to an
        installed candidate app; and through which."""
        if not app.get("access"):
            return False, []
        mine = (
            self._safe(
                "PermissionSetAssignment",
                lambda: self._assigned_permission_set_ids(user["id"]),
                set(),
            )
            or set()
        )
        profile_rows = self._safe(
            "PermissionSet",
            lambda: self._query(
                "SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = true "
                f"AND Profile.Name = {soql_quote(user.get('profile') or '')}"
            ),
            [],
        )
        mine |= {r["Id"] for r in profile_rows or []}
        via = [f"{a['type']} {a['name']}" for a in app["access"] if a["parent_id"] in mine]
        return bool(via), sorted(set(via))

    def _add_warnings(self, diagnosis: dict):
        integration = diagnosis["users"].get("integration") or {}
        others = ((diagnosis.get("tokens") or {}).get("integration_user") or {}).get(
            "other_apps"
        ) or []
        if others:
            self.warnings.append(
                "Reauthorizing the integration user may log it out of other integrations it holds tokens for: "
                + ", ".join(f"{o['app']} ({o['count']})" for o in others)
                + ". Reauthorize those if they stop syncing."
            )
        if integration.get("found") and integration.get("profile") == "System Administrator":
            self.warnings.append(
                "The integration user has the System Administrator profile; a dedicated least-privilege "
                "integration user is recommended."
            )
        if integration.get("found") and integration.get("api_enabled") is False:
            self.warnings.append(
                f"The integration user {integration['username']} has no API Enabled permission (profile or "
                "permission set): 6sense cannot sync through it."
            )

    # -- output ----------------------------------------------------------------------------------------

    def _rows(self, d: dict) -> list[tuple[str, list[list]]]:
        """Sections of (title, table rows with a header first) shared by the log and the Markdown."""
        org, acc, app = d["org"], d["api_access_control"], d["app"]
        sections = [
            (
                "Org",
                [
                    ["fact", "value"],
                    ["name", org.get("name")],
                    ["id", org.get("id")],
                    ["kind", org.get("kind")],
                    ["edition", org.get("edition")],
                    ["My Domain", org.get("my_domain") or "not a My Domain URL"],
                    ["instance URL", org.get("instance_url")],
                    ["API version", org.get("api_version")],
                ],
            ),
            (
                "API Access Control",
                [["signal", "says"]]
                + [[k, v] for k, v in acc["signals"].items()]
                + [["result", f"provisioned={acc['provisioned']}, enforcing={acc['enforcing']}"]],
            ),
        ]
        user_rows = [
            [
                "role",
                "username",
                "active",
                "profile",
                "licence",
                "API enabled",
                "Approve Uninstalled Apps",
            ]
        ]
        for role in ("setup", "integration"):
            u = d["users"].get(role) or {}
            if not u.get("provided"):
                user_rows.append([role, "(not given)", "", "", "", "", ""])
            elif not u.get("found"):
                user_rows.append([role, u.get("username"), "NOT FOUND", "", "", "", ""])
            else:
                approve = u.get("approve_uninstalled_sources")
                user_rows.append(
                    [
                        role,
                        u["username"],
                        "yes" if u["active"] else "NO",
                        u.get("profile"),
                        u.get("licence"),
                        _yes_no(u.get("api_enabled")),
                        "not checkable" if approve is None else (", ".join(approve) or "no"),
                    ]
                )
        sections.append(("Users", user_rows))
        cand_rows = [
            ["candidate", "state", "seen in", "installed", "admin approved", "tokens", "access"]
        ]
        for c in app["candidates"]:
            cand_rows.append(
                [
                    c["name"],
                    c["state"],
                    ", ".join(c["sources"]) or "-",
                    _yes_no(c["installed"]),
                    _yes_no(c["admin_approved"]) if c["installed"] else "-",
                    c["token_count"],
                    ", ".join(f"{a['type']} {a['name']}" for a in c.get("access") or []) or "-",
                ]
            )
        sections.append((f"6sense app (state: {app['state']})", cand_rows))
        iu = (d.get("tokens") or {}).get("integration_user")
        if iu:
            a = iu["app"]
            token_rows = [
                ["app", "tokens", "first created", "last used"],
                ["6sense app", a["count"], _day(a["first_created"]), _day(a["last_used"])],
            ] + [[o["app"], o["count"], "", _day(o["last_used"])] for o in iu["other_apps"]]
            sections.append((f"Tokens of {d['users']['integration']['username']}", token_rows))
        return sections

    def _log_report(self, d: dict):
        for title, rows in self._rows(d):
            for line in format_table(title, rows):
                self.logger.info(line)
            self.logger.info("")
        for w in d["warnings"]:
            self.logger.warning(w)

    def _markdown(self, d: dict) -> str:
        out = [
            "# 6sense connected app: diagnosis",
            "",
            f"Generated {d['generated_at']} for {d['org'].get('instance_url')}. Read-only; no token values.",
            "",
            f"**Next step:** {d['next_step']['text']}",
            "",
            f"**Model:** {d['recommendation']['model']}; **recommended flow:** `cci flow run "
            f"{d['recommendation']['flow']}` ({d['recommendation']['why']})",
            "",
            f"Why: {d['next_step']['why']}",
            "",
        ]
        for title, rows in self._rows(d):
            out += [f"## {title}", ""]
            out.append("| " + " | ".join(str(c) for c in rows[0]) + " |")
            out.append("|" + "---|" * len(rows[0]))
            for row in rows[1:]:
                out.append(
                    "| "
                    + " | ".join("" if c is None else str(c).replace("|", "\\|") for c in row)
                    + " |"
                )
            out.append("")
        if d["warnings"]:
            out += ["## Warnings", ""] + [f"- {w}" for w in d["warnings"]] + [""]
        return "\n".join(out)

    def _audit_return_values(self) -> dict:
        d = self.return_values or {}
        return {
            "next_step": (d.get("next_step") or {}).get("text"),
            "app_state": (d.get("app") or {}).get("state"),
            "model": (d.get("recommendation") or {}).get("model"),
            "warnings": d.get("warnings") or [],
            "json_path": d.get("json_path"),
            "markdown_path": d.get("markdown_path"),
        }

    def _path(self, option: str) -> Path:
        path = Path(self.options[option])
        if not path.is_absolute():
            path = Path(self.project_config.repo_root or ".") / path
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def _write_reports(self, d: dict) -> tuple[Path, Path]:
        json_path = self._path("json_path")
        md_path = self._path("markdown_path")
        json_path.write_text(json.dumps(d, indent=2, default=str) + "\n", encoding="utf-8")
        md_path.write_text(self._markdown(d), encoding="utf-8")
        return json_path, md_path


def _day(value: str | None) -> str:
    """``2025-10-03T10:00:00.000+0000`` -> ``2025-10-03`` for narrow tables (reports keep the full value)."""
    return value[:10] if value else "-"


def _yes_no(value) -> str:
    if value is None:
        return "?"
    return "yes" if value else "no"
