"""sixsense_verify: check every step of the procedure in the org and write a JSON report."""

import io
import json
from datetime import UTC, datetime
from pathlib import Path

from cumulusci.core.exceptions import CumulusCIFailure
from cumulusci.salesforce_api.exceptions import MetadataApiError
from lxml import etree

from .common import (
    APPROVE_UNINSTALLED,
    MD_NS,
    POLICY_TEMPLATE,
    SixsenseTask,
    assigned_permission_sets_soql,
    check_file_path,
    connected_apps_soql,
    oauth_tokens_soql,
    parse_sf_datetime,
    permission_sources_soql,
    read_policy_template,
    soql_in,
)
from .metadata_read import ApiRetrieve, package_xml


class VerificationFailed(CumulusCIFailure):
    """At least one check failed; the message names the step to run for each."""


class CheckReport:
    """What every verification task shares: collect checks, then log the table, note the audit, and (outside
    plan mode) write the JSON report and fail naming the step to run for each failed check.

    A check is ``{"check", "expected", "actual", "result": PASS|FAIL|SKIPPED, "fix"}``; the report is
    ``{"generated_at", "org_id", "instance_url", **fields, "passed", "checks"}`` (no tokens: only names, dates
    and counts). Needs ``self.options["report_path"]`` (relative paths are under the repo root).
    """

    report_title = "6sense verification"

    def _add(self, check, expected, actual, ok, fix, result=None):
        self.checks.append(
            {
                "check": check,
                "expected": expected,
                "actual": actual,
                "result": result or ("PASS" if ok else "FAIL"),
                "fix": "" if ok else fix,
            }
        )

    def _finish(self, report_fields: dict) -> None:
        """End the task: table, audit note, return values; then the report and the verdict."""
        self._log_table(
            self.report_title,
            [["check", "expected", "actual", "result"]]
            + [[c["check"], c["expected"], c["actual"], c["result"]] for c in self.checks],
        )
        failed = [c for c in self.checks if c["result"] == "FAIL"]
        failed_names = [c["check"] for c in failed]
        self._audit_note(after={"passed": not failed, "failed": failed_names})
        self.return_values = {"passed": not failed, "failed": failed_names, "report_path": ""}
        if self.plan:
            self.logger.info(
                f"Plan: {len(failed)} of {len(self.checks)} checks fail in the org as it is now; the steps "
                "above would address them. No report written."
            )
            return
        path = Path(self.options["report_path"])
        if not path.is_absolute():
            path = Path(self.project_config.repo_root or ".") / path
        path.parent.mkdir(parents=True, exist_ok=True)
        report = {
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "org_id": self.org_config.org_id,
            "instance_url": self._instance_url(),
            **report_fields,
            "passed": not failed,
            "checks": self.checks,
        }
        path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        self.return_values["report_path"] = str(path)
        if failed:
            raise VerificationFailed(
                "Verification failed:\n"
                + "\n".join(f"  - {c['check']}: {c['actual']}; run {c['fix']}" for c in failed)
                + f"\nReport: {path}"
            )
        self.logger.info(f"All checks passed. Report: {path}")


class VerifySetup(CheckReport, SixsenseTask):
    task_docs = f"""
Seed step 6 and a check of every earlier step, by query: setup access (or the app already installed), app
installed (ConnectedApplication row), Permitted Users admin approved
(ConnectedApplication.OptionsAllowAdminApprovedUsersOnly), SetupEntityAccess for every entry of
``{POLICY_TEMPLATE.as_posix()}``, the integration user's permission set assignments, the app not blocked
(BlacklistedConsumer retrieve, where the org allows it), and an OauthToken of the integration user for the
app created after the policy change.

Prints a table (check, expected, actual, result) and writes a JSON report (no tokens, only dates and
counts). Fails (non-zero exit) if any check fails, naming the step to run. Read-only. In plan mode, shows
the checks against the org as it is now, never fails and writes no report (the plan's summary follows).

Return values: ``passed`` (bool), ``failed`` (list of check names), ``report_path``.
    """
    requires_integration_user = True
    task_options = {
        **SixsenseTask.task_options,
        "integration_username": {
            **SixsenseTask.task_options["integration_username"],
            "required": True,
        },
        "report_path": {
            "description": "Where to write the JSON report (directories are created). "
            "Default: .sixsense/verification.json",
        },
    }

    def _init_options(self, kwargs):
        super()._init_options(kwargs)
        self.options["report_path"] = (
            self.options.get("report_path") or ".sixsense/verification.json"
        )
        self.options["report_path"] = check_file_path(
            "report_path", str(self.options["report_path"])
        )

    def _run_task(self):
        self.checks = []
        policy = read_policy_template(self.project_config.repo_root)
        integration = self._get_user(self.integration_username, "integration user")
        setup_user = self._get_users([self.setup_username]).get(self.setup_username.lower())
        self._read_checks_ahead(policy, integration, setup_user)
        apps = self._connected_apps(self.app_names)
        app = apps[0] if apps else None

        # Prerequisite: setup access (only needed until the app is installed).
        sources = self._permission_sources(setup_user, APPROVE_UNINSTALLED) if setup_user else []
        if app:
            actual = "app installed; " + (
                ", ".join(sources) if sources else "not held (no longer needed)"
            )
            self._add(
                "setup user access",
                "Approve Uninstalled Connected Apps, or app installed",
                actual,
                True,
                "",
            )
        else:
            held = bool(sources) or sources is None
            self._add(
                "setup user access",
                f"{self.setup_username} holds {APPROVE_UNINSTALLED}",
                ", ".join(sources or []) or ("not checkable" if sources is None else "not held"),
                held,
                "sixsense_assign_setup_access",
            )

        # Step 2: installed.
        self._add(
            "app installed",
            f"ConnectedApplication row for {' or '.join(self.app_names)}",
            f"{app['Name']} ({app['Id']})" if app else "no row",
            bool(app),
            "sixsense_install_connected_app (step 2)",
        )

        # Step 3: Permitted Users.
        approved = bool(app and app.get("OptionsAllowAdminApprovedUsersOnly"))
        self._add(
            "permitted users",
            "Admin approved users are pre-authorized",
            ("admin approved" if approved else "all users may self-authorize")
            if app
            else "app not installed",
            approved,
            "sixsense_set_permitted_users (step 3)",
        )

        # Step 4: access list and assignments.
        self._check_access(policy, integration, app)

        # Not blocked.
        self._check_not_blocked()

        # Step 5/6: integration user's token after the policy change.
        tokens = self._oauth_tokens(self.app_names, integration["Id"])
        changed = parse_sf_datetime(app.get("LastModifiedDate")) if app else None
        fresh = [
            t
            for t in tokens
            if changed is None or (parse_sf_datetime(t.get("CreatedDate")) or changed) > changed
        ]
        if fresh:
            actual = f"{len(fresh)} token(s), newest created {max(t['CreatedDate'] for t in fresh)}"
        elif tokens:
            actual = f"{len(tokens)} token(s), all created before the policy change {app.get('LastModifiedDate')}"
        else:
            actual = "no token"
        self._add(
            "integration user authorized",
            f"{self.integration_username} holds a token for the app, created after the policy change",
            actual,
            bool(fresh) and bool(app),
            "sixsense_reauthorize_integration_user (step 5)",
        )

        self._finish(
            {
                "integration_username": self.integration_username,
                "setup_username": self.setup_username,
                "connected_app_names": self.app_names,
            }
        )

    def _read_checks_ahead(self, policy, integration, setup_user):
        """The checks' queries in one round trip (``_read_ahead``, REST Composite): the installed app, the
        setup user's permission sources, the access rows of the policy's permission sets, the integration
        user's assignments and tokens."""
        soqls = [
            connected_apps_soql(self.app_names),
            assigned_permission_sets_soql(integration["Id"]),
            oauth_tokens_soql(self.app_names, integration["Id"]),
        ]
        if setup_user and self._has_permission_field(APPROVE_UNINSTALLED):
            soqls.append(permission_sources_soql(setup_user["Id"], APPROVE_UNINSTALLED))
        parents = self._permission_sets_by_name(policy["permission_sets"])
        if parents and not policy["profiles"]:
            soqls.append(self._access_soql([r["Id"] for r in parents.values()]))
        self._read_ahead(soqls)

    @staticmethod
    def _access_soql(parent_ids):
        """The connected-app access rows of ``parent_ids`` (the caller picks the app's)."""
        return (
            "SELECT ParentId, SetupEntityId FROM SetupEntityAccess "
            f"WHERE SetupEntityType = 'ConnectedApplication' AND ParentId IN {soql_in(parent_ids)}"
        )

    def _check_access(self, policy, integration, app):
        fix = "sixsense_grant_app_access (step 4)"
        ps_rows = self._permission_sets_by_name(policy["permission_sets"])
        profile_rows = []
        if policy["profiles"]:
            profile_rows = self._query(
                "SELECT Id, Profile.Name FROM PermissionSet "
                f"WHERE IsOwnedByProfile = true AND Profile.Name IN {soql_in(policy['profiles'])}"
            )
        parents = {r["Id"]: f"permission set {r['Name']}" for r in ps_rows.values()}
        parents.update(
            {r["Id"]: f"profile {(r.get('Profile') or {}).get('Name')}" for r in profile_rows}
        )
        granted = set()
        if app and parents:
            granted = {
                r["ParentId"]
                for r in self._query(self._access_soql(list(parents)))
                if r["SetupEntityId"] == app["Id"]
            }
        for name in policy["permission_sets"]:
            row = ps_rows.get(name)
            actual = (
                "permission set missing (run sixsense_deploy_access)"
                if not row
                else (
                    "granted"
                    if row["Id"] in granted
                    else ("app not installed" if not app else "not granted")
                )
            )
            self._add(
                f"app access: permission set {name}",
                "SetupEntityAccess row",
                actual,
                bool(row and row["Id"] in granted),
                fix,
            )
        for name in policy["profiles"]:
            ids = [r["Id"] for r in profile_rows if (r.get("Profile") or {}).get("Name") == name]
            ok = bool(ids) and ids[0] in granted
            self._add(
                f"app access: profile {name}",
                "SetupEntityAccess row",
                "granted" if ok else "not granted",
                ok,
                fix,
            )
        assigned = self._assigned_permission_set_ids(integration["Id"])
        for name in policy["permission_sets"]:
            row = ps_rows.get(name)
            ok = bool(row and row["Id"] in assigned)
            self._add(
                f"assignment: {name}",
                f"assigned to {self.integration_username}",
                "assigned" if ok else "not assigned",
                ok,
                fix,
            )

    def _check_not_blocked(self):
        api_version = self.project_config.project__package__api_version
        try:
            zip_file = self._read(
                "Metadata retrieve",
                ApiRetrieve(
                    self, package_xml("BlacklistedConsumer", ["*"], api_version), api_version
                ),
            )
        except MetadataApiError as e:
            self._add(
                "app not blocked",
                "not on the blocked list",
                f"not detectable ({e})",
                True,
                "",
                "SKIPPED",
            )
            return
        blocked = []
        for name in zip_file.namelist():
            if not name.startswith("blacklistedConsumers/"):
                continue
            root = etree.parse(io.BytesIO(zip_file.read(name))).getroot()
            labels = {
                t.strip()
                for t in root.xpath(
                    "/md:BlacklistedConsumer/md:consumerName/text() | "
                    "/md:BlacklistedConsumer/md:masterLabel/text()",
                    namespaces={"md": MD_NS},
                )
            }
            if labels & set(self.app_names) or Path(name).stem in self.app_names:
                blocked.append(Path(name).stem)
        self._add(
            "app not blocked",
            "not on the blocked list (BlacklistedConsumer)",
            f"blocked: {', '.join(blocked)}" if blocked else "not blocked",
            not blocked,
            "Unblock the app on Connected Apps OAuth Usage",
        )
