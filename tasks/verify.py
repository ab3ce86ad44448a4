"""sixsense_verify: check every step of the procedure in the org and write a JSON report."""

import io
from pathlib import Path

import click
from cumulusci.salesforce_api.exceptions import MetadataApiError
from cumulusci.salesforce_api.metadata import ApiRetrieveUnpackaged
from lxml import etree

from . import app_policy, procedure, resilience
from .app_resolution import PIN_FLOW, PIN_TASK, AppChoiceRequired
from .base import APPROVE_UNINSTALLED, SixsenseTask
from .check_report import CheckReport, Unreadable
from .errors import SixsenseOrgError
from .metadata_xml import MD_NS, POLICY_TEMPLATE, package_xml, read_policy_template
from .options import COMMON_OPTIONS, NO_WAIT_OPTIONS, bool_option, stdin_is_tty
from .queries import soql_in
from .token_loss import integration_user_token, pre_authorized_users
from .vendor import VENDOR


class VerifySetup(CheckReport, SixsenseTask):
    task_docs = f"""
Article step 6 and a check of every earlier step, by query: setup access (or the app already installed), app
installed (ConnectedApplication row), Permitted Users admin approved
(ConnectedApplication.OptionsAllowAdminApprovedUsersOnly), SetupEntityAccess from every entry of
``{POLICY_TEMPLATE.as_posix()}`` (permission sets and profiles) to this app's ConnectedApplication, the
integration user's assignments of the policy's permission sets, the app not blocked (BlacklistedConsumer
retrieve, where the org allows it), and, read after the Permitted Users change, an OauthToken the integration
user holds for the app now (the change deletes the tokens it revokes), the user pre-authorized now and the app
admin approved (no time comparison: a later policy edit must not fail a working setup).

Prints a table (check, expected, actual, result) and writes a JSON report (no tokens, only dates and
counts) and the same as a self-contained HTML page beside it (``.html``). A check is PASS, FAIL, UNREADABLE (a read it needs was refused or failed: "could not check", never
PASS) or SKIPPED (the org offers no way to read it). ``passed`` is True only when no check fails, none is
unreadable and no skip matters. Which skips matter:

- "app not blocked" SKIPPED (the org refuses the BlacklistedConsumer retrieve) does not matter when the
  integration user holds a token for the app, read now: blocking an app ends all its sessions and
  prevents new ones (Metadata API Developer Guide: "BlacklistedConsumer"), so that token shows the app is not blocked. Otherwise it
  matters (and the token check fails anyway).
- "refresh token policy" SKIPPED (the org does not list the installed app as ConnectedApp metadata, the only
  place Salesforce keeps it, and ConnectedApplication's validity fields cannot tell "valid until revoked"
  from "Expire refresh token immediately": FAIL on a fixed lifetime they show, UNREADABLE when refused)
  matters: an app that expires refresh tokens immediately must not verify. It stops mattering only on the
  operator's word, ``refresh_token_policy_checked True`` or a yes at a terminal, reported "confirmed by
  operator, not verifiable by API" (never PASS) and noted in the audit report; a policy the org does show is
  never overridden by that word.
- "IP relaxation" SKIPPED (not listed as metadata; ConnectedApplication has no such field) does not matter
  for ``passed`` (IP restrictions bind only users with login IP ranges or trusted-range enforcement), but the
  log names it and the report lists it under ``not_checked``: check it on Manage App Policies.
- Where the metadata is listed both are read and FAIL on "expire refresh token immediately", any absolute
  lifetime, an idle lifetime shorter than the vendor's own External Client App allows, or IP relaxation
  stricter than the desired policy. The metadata is not always the effective policy (Salesforce Help "Limit
  the Idle Refresh Token TTL": the developer's 30-day idle limit); the report says which it read.
- The app's session fields (ConnectedApplication ``OptionsHasSessionLevelPolicy``, ``MobileSessionTimeout``)
  are read and reported as information (log line and the report's ``session_policy``), never a check: the
  facts give them no documented effect on an API integration's sync.
- "setup user access" is checked only while the app is not installed; SKIPPED because the org's PermissionSet
  has no ``Permissions{APPROVE_UNINSTALLED}`` field (SOQL cannot tell) matters; SKIPPED because the app is
  installed (the permission is needed only to install it) does not.

Fails (non-zero exit) unless ``passed``, naming the step to run for each failed check, the read to retry for
each unreadable one, and what to check by hand for each skip that matters; when it passes with skips, the
log says which were skipped and why instead of "All checks passed". Read-only. In plan mode, shows the
checks against the org as it is now, never fails and writes no report (the plan's summary follows).

Return values: ``passed`` (bool), ``failed`` (FAIL check names), ``not_checked`` (UNREADABLE check names
and SKIPPED ones that matter), ``report_path``, ``html_path``.
    """
    requires_integration_user = True
    task_options = {
        **NO_WAIT_OPTIONS,
        "integration_username": {
            **SixsenseTask.task_options["integration_username"],
            "required": True,
        },
        "interactive": {
            **COMMON_OPTIONS["interactive"],
            "description": "True: at a terminal, ask about what the org cannot show by API (the "
            "refresh-token policy). False: never ask; such a check then holds the verification back until "
            "refresh_token_policy_checked says it was looked at. Default: True when standard input is a "
            "terminal and CI is unset.",
        },
        "refresh_token_policy_checked": bool_option(
            f"True when you have checked, on {app_policy.FIX_PAGE} of the app, that its Refresh Token "
            f"Policy is {app_policy.KEEPS_TOKENS}. Counts only where the org cannot show the policy by "
            "API; a policy the org shows is never overridden. In a flow: "
            "-o sixsense_verify__refresh_token_policy_checked True. Default: False (asked at a terminal "
            "when interactive)."
        ),
        "report_path": {
            "description": "Where to write the JSON report (directories are created). "
            "Default: .sixsense/verification.json",
            "type": "path",
            "default": ".sixsense/verification.json",
        },
    }

    def _run_task(self):
        self.checks = []
        policy = read_policy_template(self.project_config.repo_root)
        # A refused read stops the step: the integration user is required.
        integration = self._get_user(self.integration_username, "integration user")
        setup_user = self._get_users([self.setup_username]).get(self.setup_username.lower())
        try:
            apps = self._read_fact(self._connected_apps, self.app_names)
        except AppChoiceRequired as choice:
            # Which app is the vendor's is not known: no check of "the app" can pass or fail on it.
            self._add(
                "which app is the vendor's",
                "one installed candidate, the one in use",
                str(choice).split(". Candidates: ")[0],
                False,
                f"pin the name: {PIN_FLOW} (flow) or {PIN_TASK} (this task alone)",
            )
            apps = Unreadable(
                f"which connected app is {VENDOR.label}'s is not known (pin the name)"
            )
        app = apps if isinstance(apps, Unreadable) else (apps[0] if apps else None)

        self._check_setup_access(setup_user, app)
        self._check_installed(app)
        self._check_permitted_users(app)
        self._check_app_policies(policy, app)
        self._check_access(policy, integration, app)
        self._check_not_blocked()
        authorized = self._check_token(integration, app)
        if authorized:
            self._set_matters(
                "app not blocked",
                False,
                "the integration user's token for the app, read now, shows the app is not "
                "blocked (blocking ends all sessions and prevents new ones)",
            )

        self._finish(
            {
                "integration_username": self.integration_username,
                "setup_username": self.setup_username,
                "connected_app_names": self.app_names,
                "session_policy": self._session_policy(app),
            }
        )

    def _session_policy(self, app) -> str:
        """The app's session fields, read and reported as information, never a check (``app_policy.
        session_policy_text``: the facts give them no effect on the sync); logged, and in the report."""
        if isinstance(app, dict):
            text = app_policy.session_policy_text(self, app["Id"])
        else:
            text = f"not read: {app if isinstance(app, Unreadable) else 'app not installed'}"
        self.logger.info(f"Session policy (information, not a check): {text}")
        return text

    @staticmethod
    def _access_soql(parent_ids):
        """The connected-app access rows of ``parent_ids`` (the caller picks the app's)."""
        return (
            "SELECT ParentId, SetupEntityId FROM SetupEntityAccess "
            f"WHERE SetupEntityType = 'ConnectedApplication' AND ParentId IN {soql_in(parent_ids)}"
        )

    def _check_setup_access(self, setup_user, app):
        """Setup access: the setup user holds Approve Uninstalled Connected Apps, needed only until the app
        is installed (``app``: the ConnectedApplication row, None, or :class:`Unreadable`): once it is, the
        check is SKIPPED and does not matter (not PASS: nothing was checked)."""
        check, fix = "setup user access", "sixsense_assign_setup_access"
        if isinstance(app, dict):
            self._skip(
                check,
                f"{self.setup_username} holds {APPROVE_UNINSTALLED} until the app is installed",
                f"not checked: {app['Name']} is installed",
                "",
                matters=False,
                note="the permission is needed only to install the app",
            )
            return
        if setup_user is None:
            sources = []
        else:
            sources = self._read_fact(self._permission_sources, setup_user, APPROVE_UNINSTALLED)
        expected = f"{self.setup_username} holds {APPROVE_UNINSTALLED}"
        if isinstance(sources, list) and sources:
            self._add(check, expected, ", ".join(sources), True)
        elif isinstance(sources, Unreadable):
            self._add_unreadable(check, expected, sources)
        elif isinstance(app, Unreadable):
            self._add_unreadable(check, expected, f"whether the app is installed: {app}")
        elif sources is None:
            self._skip(
                check,
                expected,
                f"not checkable by SOQL: this org's PermissionSet has no Permissions{APPROVE_UNINSTALLED}",
                f"check in Setup that {self.setup_username} holds Approve Uninstalled Connected Apps, or "
                "run sixsense_assign_setup_access",
            )
        else:
            self._add(
                check,
                expected,
                "not held" if setup_user else f"no user {self.setup_username}",
                False,
                fix,
            )

    def _check_installed(self, app):
        check, expected = (
            "app installed",
            f"ConnectedApplication row for {' or '.join(self.app_names)}",
        )
        if isinstance(app, Unreadable):
            self._add_unreadable(check, expected, app)
            return
        self._add(
            check,
            expected,
            f"{app['Name']} ({app['Id']})" if app else "no row",
            bool(app),
            procedure.step("install").ref,
        )

    def _check_permitted_users(self, app):
        check, expected = "permitted users", "Admin approved users are pre-authorized"
        if isinstance(app, Unreadable):
            self._add_unreadable(check, expected, app)
            return
        approved = bool(app and app.get("OptionsAllowAdminApprovedUsersOnly"))
        self._add(
            check,
            expected,
            ("admin approved" if approved else "all users may self-authorize")
            if app
            else "app not installed",
            approved,
            procedure.step("permitted_users").ref,
        )

    def _check_app_policies(self, policy, app):
        """The app's refresh-token policy and IP relaxation, read from its ConnectedApp metadata (the only
        place Salesforce keeps IP relaxation, facts §10.4) and compared with the desired policy
        (``policy``: :func:`metadata_xml.read_policy_template`; ``app_policy.assess_*``). Not listed as
        metadata: the refresh-token policy is what ConnectedApplication's validity fields establish
        (``app_policy.assess_validity``), else SKIPPED like IP relaxation (does not matter, see the task's
        doc); a failed read: UNREADABLE; never PASS on a policy that was not read."""
        checks = (
            ("refresh token policy", "refresh_token_policy", app_policy.assess_refresh),
            ("IP relaxation", "ip_relaxation", app_policy.assess_ip),
        )
        fix = (
            f"{app_policy.FIX_PAGE}: set the policy to the desired one "
            f"({POLICY_TEMPLATE.as_posix()}), then "
            f"{procedure.step('reauthorize').ref} if the integration user's token has expired"
        )
        read = app  # not installed (None) or Unreadable: nothing more to read
        if isinstance(app, dict):
            try:
                read = app_policy.read_oauth_policy(self, app["Name"])
            except (SixsenseOrgError, MetadataApiError) as e:
                read = Unreadable(e)
            except Exception as e:  # noqa: BLE001 - cci's Metadata API client raises past _read (ExpatError)
                read = Unreadable(f"Metadata API read failed: {type(e).__name__}: {e}")
        for check, key, assess in checks:
            expected = policy.get(key) or "-"
            if isinstance(read, Unreadable):
                self._add_unreadable(check, expected, read)
            elif app is None:
                self._add(check, expected, "app not installed", False, fix)
            elif read is None and key == "refresh_token_policy":
                # What ConnectedApplication's validity fields establish (§3), else the operator's word.
                verdict = self._read_fact(app_policy.validity_verdict, self, app["Id"])
                if isinstance(verdict, Unreadable):
                    self._add_unreadable(check, expected, verdict)
                    continue
                ok, why = verdict
                if ok is None:
                    self._refresh_policy_by_hand(check, expected, app["Name"], why)
                else:
                    self._add(check, expected, why, ok, fix)
            elif read is None:
                self._skip(
                    check,
                    expected,
                    f"not readable: this org does not list {app['Name']} as ConnectedApp metadata, the "
                    "only place this policy is kept (ConnectedApplication has no IP relaxation)",
                    f"check it by hand on {app_policy.FIX_PAGE} of {app['Name']}",
                    matters=False,
                    note="an installed third-party app is usually not retrievable; the policy page shows it",
                )
            else:
                ok, why = assess(read[key], policy.get(key))
                if key == "refresh_token_policy" and ok:
                    why += f" (metadata; {app_policy.EFFECTIVE_POLICY_NOTE})"
                self._add(check, expected, f"{read[key]}: {why}", ok, fix)

    def _refresh_policy_by_hand(self, check, expected, app_name, why):
        """The refresh-token policy the org cannot show (``why``: what ConnectedApplication says): SKIPPED,
        mattering unless the operator checked it on the policy page (``refresh_token_policy_checked`` True,
        or yes at a terminal when ``interactive``, default no; noted in the audit report)."""
        by_hand = f"check it on {app_policy.FIX_PAGE} of {app_name}"
        unread = f"not readable: this org does not list {app_name} as ConnectedApp metadata; {why}"
        question = (
            f"{app_name}'s Refresh Token Policy cannot be read by API. On {app_policy.FIX_PAGE}, is it "
            f"{app_policy.KEEPS_TOKENS}?"
        )
        confirmed = self.options["refresh_token_policy_checked"]
        if confirmed:
            self._audit_note(
                confirmed=[
                    f"refresh_token_policy_checked True: {app_name}'s Refresh Token Policy keeps tokens"
                ]
            )
        elif (
            not self.plan
            and self.options["interactive"]
            and stdin_is_tty()
            and click.confirm(question)  # click's default: no
        ):
            confirmed = True
            self._record_confirmation(f"{app_name}'s Refresh Token Policy keeps refresh tokens")
        if not confirmed:
            self._skip(
                check,
                expected,
                unread,
                f"{by_hand} (an app that expires refresh tokens immediately stops {VENDOR.label}'s sync), "
                "then run again with -o refresh_token_policy_checked True (in a flow: "
                "-o sixsense_verify__refresh_token_policy_checked True)",
            )
            return
        self._skip(
            check,
            expected,
            f"confirmed by operator, not verifiable by API ({unread})",
            by_hand,
            matters=False,
            note="the operator checked it on the policy page (refresh_token_policy_checked)",
        )

    def _check_access(self, policy, integration, app):
        """Step 4: a SetupEntityAccess row from each policy entry (permission set, or profile through its
        profile-owned permission set) to *this* app, and each policy permission set assigned to the
        integration user."""
        fix = procedure.step("app_access").ref
        ps_rows = self._read_fact(self._permission_sets_by_name, policy["permission_sets"])
        profile_rows = []
        if policy["profiles"]:
            profile_rows = self._read_fact(
                self._query,
                "SELECT Id, Profile.Name FROM PermissionSet "
                f"WHERE IsOwnedByProfile = true AND Profile.Name IN {soql_in(policy['profiles'])}",
            )
        parents = {}
        if not isinstance(ps_rows, Unreadable):
            parents.update({r["Id"]: r for r in ps_rows.values()})
        if not isinstance(profile_rows, Unreadable):
            parents.update({r["Id"]: r for r in profile_rows})
        granted = set()
        if isinstance(app, Unreadable):
            granted = app
        elif app and parents:
            rows = self._read_fact(self._query, self._access_soql(list(parents)))
            granted = (
                rows
                if isinstance(rows, Unreadable)
                else {r["ParentId"] for r in rows if r["SetupEntityId"] == app["Id"]}
            )

        def access(check, parent_id, missing):
            """One "app access" check; ``parent_id`` None: the entry was not found (``missing`` says so)."""
            if parent_id is None:
                self._add(check, "SetupEntityAccess row", missing, False, fix)
            elif isinstance(granted, Unreadable):
                self._add_unreadable(check, "SetupEntityAccess row", granted)
            elif not app:
                self._add(check, "SetupEntityAccess row", "app not installed", False, fix)
            else:
                ok = parent_id in granted
                self._add(
                    check, "SetupEntityAccess row", "granted" if ok else "not granted", ok, fix
                )

        for name in policy["permission_sets"]:
            check = f"app access: permission set {name}"
            if isinstance(ps_rows, Unreadable):
                self._add_unreadable(check, "SetupEntityAccess row", ps_rows)
                continue
            row = ps_rows.get(name)
            access(check, row and row["Id"], "permission set missing (run sixsense_deploy_access)")
        for name in policy["profiles"]:
            check = f"app access: profile {name}"
            if isinstance(profile_rows, Unreadable):
                self._add_unreadable(check, "SetupEntityAccess row", profile_rows)
                continue
            ids = [r["Id"] for r in profile_rows if (r.get("Profile") or {}).get("Name") == name]
            access(check, ids[0] if ids else None, f"no profile {name} in this org")
        assigned = self._read_fact(self._assigned_permission_set_ids, integration["Id"])
        for name in policy["permission_sets"]:
            check, expected = f"assignment: {name}", f"assigned to {self.integration_username}"
            unreadable = next((f for f in (ps_rows, assigned) if isinstance(f, Unreadable)), None)
            if unreadable:
                self._add_unreadable(check, expected, unreadable)
                continue
            row = ps_rows.get(name)
            ok = bool(row and row["Id"] in assigned)
            self._add(check, expected, "assigned" if ok else "not assigned", ok, fix)

    def _check_not_blocked(self):
        check = "app not blocked"
        api_version = self.project_config.project__package__api_version
        try:
            zip_file = self._read(
                "Metadata retrieve",
                ApiRetrieveUnpackaged(
                    self, package_xml("BlacklistedConsumer", ["*"], api_version), api_version
                ),
            )
        except MetadataApiError as e:
            if "INVALID_TYPE" not in str(e):  # refused (e.g. INSUFFICIENT_ACCESS): could not read
                self._add_unreadable(check, "not on the blocked list", e)
                return
            self._skip(  # this org's Metadata API does not offer the type
                check,
                "not on the blocked list",
                f"not detectable ({e})",
                "check on Connected Apps OAuth Usage that the app is not blocked",
            )
            return
        except SixsenseOrgError as e:
            self._add_unreadable(check, "not on the blocked list", e)
            return
        except Exception as e:  # noqa: BLE001 - e.g. a 503 page where SOAP XML was due (ExpatError)
            # cci's Metadata API client raises these past _read's SalesforceError handling: the read
            # failed, so the fact is unknown (never "not blocked").
            hint = resilience.TRANSIENT_HINT if resilience.is_transient(e) else resilience.RUN_AGAIN
            self._add_unreadable(
                check,
                "not on the blocked list",
                f"Metadata retrieve failed: {type(e).__name__}: {e}. {hint}",
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
            check,
            "not on the blocked list (BlacklistedConsumer)",
            f"blocked: {', '.join(blocked)}" if blocked else "not blocked",
            not blocked,
            "Unblock the app on Connected Apps OAuth Usage",
        )

    def _check_token(self, integration, app) -> bool:
        """Steps 5/6, by query after the Permitted Users change: :func:`token_loss.integration_user_token` on
        the facts read here (one unreadable: "could not check", never PASS). True when the check passes."""
        check = "integration user authorized"
        user = self.integration_username
        expected = f"{user} holds a token for the app now, is pre-authorized, and the app is admin approved"
        tokens = self._read_fact(self._oauth_tokens, self.app_names, integration["Id"])
        pre = set()  # an unreadable app is reported below, before ``pre`` is used
        if isinstance(app, dict):
            pre = self._read_fact(pre_authorized_users, self, [app["Id"]], [integration["Id"]])
        unreadable = next((f for f in (app, tokens, pre) if isinstance(f, Unreadable)), None)
        if unreadable:
            self._add_unreadable(check, expected, unreadable)
            return False
        verdict = integration_user_token(app, tokens, pre, integration["Id"], self.app_names, user)
        self._add(check, expected, verdict.actual, verdict.ok, verdict.fix)
        return verdict.ok
