"""Guided steps: the parts of the procedure Salesforce offers no API for.

Each step checks the org first ("already done" when it is), prints numbered org-specific instructions,
then either waits and polls (interactive) or stops the flow with ``ManualStepPending`` (non-interactive).
A step is done only when a query says so; the one exception (an authorization attempt that API Access
Control denies leaves no trace) is reported as "confirmed by operator, not verifiable by API".
"""

import math
import time
from datetime import UTC, datetime

import click

from . import procedure, setup_audit_trail, token_loss, user_checks
from .audit import now_iso
from .base import SixsenseTask, my_domain
from .errors import ConfirmationRequired, ManualStepPending, SixsenseOrgError
from .formatting import format_seconds, summarize_tokens
from .options import bool_option, stdin_is_tty
from .vendor import VENDOR

#: The share of the org's remaining daily API requests one guided wait may spend on its checks (each check is
#: one request or more): the org's integrations draw on the same allowance (Salesforce "API Request Limits and
#: Allocations"). Above it the wait checks less often; when not one check fits, it does not wait.
WAIT_API_SHARE = 0.01

RESUME_HINT = (
    "To resume: run the flow again after this step (finished steps are detected and skipped)."
)


class GuidedStep(SixsenseTask):
    """Base class. Subclasses implement ``_check()`` and ``_instructions()``; may override ``_prepare()``
    (lookups and validation before the first check) and ``_before_wait()`` (warnings)."""

    step_title = "manual step"
    requires_integration_user = False

    def _check(self) -> tuple[bool, str]:
        """Query the org: (done, detail). ``detail`` is a short phrase for the progress line."""
        raise NotImplementedError

    def _instructions(self) -> list[str]:
        """Numbered, org-specific instructions (without the numbers)."""
        raise NotImplementedError

    def _progress_subject(self) -> str:
        """What is being checked, e.g. ``OauthToken for sfdc_6sense_oauth_app by admin@example.com``."""
        raise NotImplementedError

    def _prepare(self):
        pass

    def _before_wait(self):
        pass

    def _run_task(self):
        if not self._already_done():
            self._guide()

    def _already_done(self) -> bool:
        """Check the org once; when it shows the step done, log "already done" and finish the task."""
        self._prepare()
        done, detail = self._check()
        self._last_detail = detail
        if done:
            self.logger.info(f"{self.step_title}: already done ({detail}).")
            self._finish("already done", detail)
        return done

    def _setup_evidence(self) -> setup_audit_trail.Evidence | None:
        """Where the org records this manual step (SetupAuditTrail), the entry that shows who did it and
        when, read once the step is verified or found already done (:func:`setup_audit_trail.for_step`);
        None where it records nothing."""
        return None

    def _guide(self):
        """Warn, print the instructions, then stop (non-interactive) or wait and verify (interactive).
        In plan mode: report "manual step remains" and return, so the flow continues."""
        self._guide_began = datetime.now(UTC)
        self._audit_note(before=getattr(self, "_last_detail", None))
        self._before_wait()
        instructions = self._format_instructions()
        if self.plan:
            self._plan_manual(self.step_title, instructions)
            self.return_values = {
                "done": False,
                "status": "manual step remains",
                "detail": getattr(self, "_last_detail", None) or "not yet",
            }
            self._audit_note(after="unchanged (plan)")
            return
        for line in instructions.splitlines():
            self.logger.info(line)
        if not self.options["interactive"]:
            raise ManualStepPending(
                f"Manual step pending: {self.step_title}.\n{instructions}\n{RESUME_HINT}"
            )
        detail = self._wait()
        if detail is not None:
            self._finish(getattr(self, "_wait_status", "verified"), detail)
            return
        raise ManualStepPending(
            f"Timed out after {format_seconds(self.options['wait_timeout'])} waiting for: "
            f"{self.step_title}.\n{instructions}\n{RESUME_HINT}"
        )

    def _wait(self) -> str | None:
        """Poll every poll_interval seconds until done or wait_timeout; logs a progress line per check.
        Returns the detail of the check that found the step done, or None when the wait timed out.

        The clock is real time (``time.monotonic``), so checks that take long count; where ``time.sleep``
        returned early (never on a real run; tests replace it), the seconds asked for count instead, so a
        wait always ends."""
        timeout = self.options["wait_timeout"]
        interval = self.options["poll_interval"]
        begun = time.monotonic()
        slept = 0
        elapsed = 0
        checks = 0
        started = now_iso()

        def record(outcome):
            self._audit_note(
                waits=[
                    {
                        "what": self._progress_subject(),
                        "started_at": started,
                        "finished_at": now_iso(),
                        "seconds": elapsed,
                        "timeout_seconds": timeout,
                        "poll_interval_seconds": interval,
                        "checks": checks,
                        "outcome": outcome,
                    }
                ]
            )

        while elapsed < timeout:
            try:
                paced = self._paced_interval(interval, timeout - elapsed)
            except ManualStepPending:
                record("stopped: the org's API allowance")
                raise
            if paced != interval:
                self.logger.info(
                    f"Checking every {format_seconds(paced)} instead of {format_seconds(interval)}: a wait "
                    f"spends at most {WAIT_API_SHARE:.0%} of the {self._remaining_api_requests()} API "
                    "requests the org has left today (Sforce-Limit-Info), which its integrations also need."
                )
                interval = paced
            step = min(interval, timeout - elapsed)
            time.sleep(step)
            slept += step
            elapsed = round(max(time.monotonic() - begun, slept), 3)
            checks += 1
            done, detail = self._check()
            self.logger.info(
                f"[{format_seconds(elapsed)} / {format_seconds(timeout)}] checking "
                f"{self._progress_subject()}: {detail if done else 'not yet'}"
            )
            if done:
                record(f"done: {detail}")
                return detail
        record("timed out")
        return None

    def _remaining_api_requests(self) -> int | None:
        """The org's API requests left today, from the ``Sforce-Limit-Info`` header of this step's last REST
        response (simple-salesforce's ``api_usage``; no request of its own), or None where the org reports
        none."""
        usage = (self.sf.api_usage or {}).get("api-usage")
        if usage is None:
            return None
        return max(0, int(usage.total) - int(usage.used))

    def _paced_interval(self, interval: float, seconds_left: float) -> float:
        """The seconds to wait before the next check: ``interval``, or longer so that the checks left in
        this wait (``seconds_left / interval``, one API request or more each) spend at most
        :data:`WAIT_API_SHARE` of the org's remaining daily API requests. Raises ``ManualStepPending`` when
        not even one check fits (nothing is written; the operator does the step and runs again). Where the
        org reports no usage, ``interval`` (at least ``poll_interval``'s floor) is the only bound."""
        remaining = self._remaining_api_requests()
        if remaining is None:
            return interval
        checks = int(remaining * WAIT_API_SHARE)
        if checks < 1:
            raise ManualStepPending(
                f"Not waiting for: {self.step_title}. The org has {remaining} API requests left today "
                f"(Sforce-Limit-Info), and a wait spends at most {WAIT_API_SHARE:.0%} of them: its "
                f"integrations, {VENDOR.label}'s sync among them, need the rest.\n"
                f"{self._format_instructions()}\n{RESUME_HINT}"
            )
        return max(interval, float(math.ceil(seconds_left / checks)))

    def _format_instructions(self) -> str:
        lines = [f"To do ({self.step_title}):"]
        lines += [f"  {i}. {text}" for i, text in enumerate(self._instructions(), 1)]
        return "\n".join(lines)

    def _finish(self, status: str, detail: str):
        self._log_table(
            self.step_title,
            [["check", "result"], [self._progress_subject(), f"{status}: {detail}"]],
        )
        self.return_values = {"done": True, "status": status, "detail": detail}
        evidence = None if status == "deployed" else self._setup_evidence()
        if evidence is not None:
            self.logger.info(f"Evidence: {evidence.text}")
            self.return_values["evidence"] = evidence.text
            self._audit_note(evidence=evidence.text)
        if status == "already done":
            self._audit_note(before=detail, after=detail, skipped=[f"already done: {detail}"])
        else:
            self._audit_note(after=f"{status}: {detail}")
            if status != "deployed":
                action = f"manual step done in Setup ({status})"
                change = {"object": self._progress_subject(), "action": action, "what": detail}
                if evidence is not None:
                    change["evidence"] = evidence.text
                self._audit_note(changed=[change])

    # -- shared lookups --------------------------------------------------------------------------------

    def _environment(self) -> str:
        """The vendor file's environment of this org: ``production``, or ``sandbox`` for sandboxes and
        scratch orgs (both log in through test.salesforce.com and are connected separately by the vendor)."""
        kind, _ = self._org_kind()
        return "production" if kind == "production" else "sandbox"

    def _login_text(self) -> str:
        """Where the operator signs in to this org: its My Domain login URL when cci is connected through My
        Domain (``https://acme.my.salesforce.com``, a sandbox ``https://acme--uat.sandbox.my.salesforce.com``),
        with the environment's login host as the alternative; else the login host alone
        (``https://login.salesforce.com`` for production, ``https://test.salesforce.com`` for a sandbox)."""
        environment = VENDOR.environments.get(self._environment()) or {}
        host = environment.get("login_host") or ""
        domain = my_domain(self._instance_url())
        if domain:
            return f"https://{domain}.my.salesforce.com (your My Domain; or {host})"
        return host

    def _vendor_instructions(self, step: str, **values) -> list[str]:
        """The operator's lines in the vendor's application for ``step`` (``datasets/vendors/*.yml``
        ``instructions``), for this org's kind (:meth:`_environment`), with ``instance_url``,
        ``oauth_usage_url``, ``login`` (:meth:`_login_text`) and ``values`` filled in."""
        return VENDOR.instruction_lines(
            step,
            self._environment(),
            instance_url=self._instance_url(),
            oauth_usage_url=self._oauth_usage_url(),
            login=self._login_text(),
            **values,
        )

    def _apps_text(self) -> str:
        return " or ".join(self.app_names)

    def _require_installed_app(self, apps: list[dict] | None = None) -> dict:
        """The first installed app among the names (``apps``: the rows just read, else read now), or
        ``SixsenseOrgError`` saying to install it first."""
        apps = self._connected_apps(self.app_names) if apps is None else apps
        if not apps:
            raise SixsenseOrgError(
                f"The {VENDOR.label} connected app ({self._apps_text()}) is not installed in this org: "
                f"install it first ({procedure.step('install').ref})."
            )
        return apps[0]


class AuthorizeSetupUser(GuidedStep):
    task_docs = f"""
Guided, article step 1: the setup user authorizes the {VENDOR.label} app once, from {VENDOR.label}, so that Salesforce lists
the app on Connected Apps OAuth Usage. Done when an OauthToken exists for the setup user and one of the app
names, or the app is already installed (a ConnectedApplication row exists). Refuses, before any request, a
setup user (``setup_username``, default the user cci is connected as) who is the integration user
(``integration_username``, required for that reason).

Where API Access Control is enforcing, Salesforce denies the attempt and leaves no token; the attempt
still makes the app appear on OAuth Usage. Then pass ``authorization_attempted True`` after making the
attempt (or confirm at the terminal); the step is reported "confirmed by operator, not verifiable by API".

Return values: done, status (already done | verified | confirmed by operator), detail.
    """
    step_title = procedure.step("authorize_setup_user").name
    # Required, so that the integration user given as setup_username is refused (issue 17 kind 6).
    requires_integration_user = True
    task_options = {
        **SixsenseTask.task_options,
        "authorization_attempted": bool_option(
            f"True when the operator has made the authorization attempt in {VENDOR.label} (needed "
            "where API Access Control denies it and leaves no token). Default: False."
        ),
        "api_access_control_enforcing": bool_option(
            "True where API Access Control is enforcing (from "
            "sixsense_detect_api_access_control.enforcing). Default: False."
        ),
    }

    def _progress_subject(self):
        return f"OauthToken for {self._apps_text()} by {self.setup_username}"

    def _prepare(self):
        self.setup_user = self._require_users(user_checks.SETUP)[user_checks.SETUP]
        # An installed app makes this step moot (step 2 is done). Read once: the operator's action here is
        # the authorization, so each poll then reads only the setup user's token (one query).
        self.installed = self._connected_apps(self.app_names)

    def _check(self):
        if self.installed:
            return True, f"{self.installed[0]['Name']} is installed"
        tokens = self._oauth_tokens(self.app_names, self.setup_user["Id"])
        if tokens:
            return True, f"{self.setup_username} holds a token for {tokens[0]['AppName']}"
        return False, "not yet"

    def _run_task(self):
        self._refuse_integration_user_as_setup_user()  # before any read, wait or instruction
        if self._already_done():
            return
        if self.options["authorization_attempted"]:
            self.logger.info(
                "No token for the setup user, but the operator confirmed the authorization attempt "
                "(authorization_attempted True)."
            )
            self._finish("confirmed by operator", "not verifiable by API")
            return
        self._guide()

    def _before_wait(self):
        if self.options["api_access_control_enforcing"]:
            self.logger.warning(
                "API Access Control is enforcing: Salesforce will deny this attempt and keep no token, "
                "but the attempt makes the app appear on Connected Apps OAuth Usage, which is what "
                f"'{procedure.step('install').name}' needs."
            )

    def _wait(self):
        if self.options["api_access_control_enforcing"] and stdin_is_tty():
            # A denied attempt leaves no token to poll for: ask the operator instead.
            if not click.confirm(
                f"Did you make the authorization attempt in {VENDOR.label} as {self.setup_username}?",
                default=False,
            ):
                raise ManualStepPending(
                    f"Not confirmed: {self.step_title}.\n{self._format_instructions()}\n{RESUME_HINT}"
                )
            self._record_confirmation(
                f"{self.setup_username} made the authorization attempt in {VENDOR.label}"
            )
            done, detail = self._check()
            if done:
                return detail
            self._wait_status = "confirmed by operator"
            return "not verifiable by API"
        return super()._wait()

    def _instructions(self):
        steps = self._vendor_instructions(
            "authorize_setup_user",
            setup_username=self.setup_username,
            integration_username=self.integration_username,  # required (requires_integration_user)
            apps=self._apps_text(),
        )
        if self.options["api_access_control_enforcing"]:
            steps.append(
                "API Access Control is enforcing, so Salesforce denies this attempt (OAUTH_APP_BLOCKED) and "
                "keeps no token. Once you made the attempt, confirm it: "
                "-o sixsense_authorize_setup_user__authorization_attempted True"
            )
        return steps


class InstallConnectedApp(GuidedStep):
    task_docs = f"""
Guided, article step 2: Install the {VENDOR.label} connected app on Connected Apps OAuth Usage (no API exists for this
click). Done when a ConnectedApplication row exists for one of the app names. If the app is not listed yet
(no token and no row), the instructions say to repeat step 1 (vendor troubleshooting).

Return values: done, status (already done | verified), detail, app_id, app_name.
    """
    step_title = procedure.step("install").name

    def _progress_subject(self):
        return f"ConnectedApplication {self._apps_text()}"

    def _check(self):
        apps = self._connected_apps(self.app_names)
        if apps:
            self._app = apps[0]
            return True, f"{apps[0]['Name']} installed ({apps[0]['Id']})"
        return False, "not yet"

    def _finish(self, status, detail):
        # Only once _check found the app (already done, or verified after the wait): _app is its row.
        super()._finish(status, detail)
        self.return_values.update({"app_id": self._app["Id"], "app_name": self._app["Name"]})

    def _setup_evidence(self):
        return setup_audit_trail.for_step(self, "install", [self._app["Name"]])

    def _instructions(self):
        tokens = self._oauth_tokens(self.app_names)
        steps = [
            f"In Salesforce, log in at {self._login_text()} as a System Administrator ({self.setup_username}).",
            f"Open Setup > Apps > Connected Apps > Connected Apps OAuth Usage: {self._oauth_usage_url()}",
            f"Locate the {VENDOR.label} connected app ({self._apps_text()}).",
            "Select Install next to the app name, then Install to confirm.",
        ]
        if not tokens:
            steps.append(
                "If the app is not listed or has no Install button, it was never used in this org: repeat "
                f"'{procedure.step('authorize_setup_user').name}' (cci task run sixsense_authorize_setup_user "
                f"-o integration_username {self.integration_username or '<integration username>'}) "
                "to make it visible, then install."
            )
        else:
            users = sorted({(t.get("User") or {}).get("Username") or t["UserId"] for t in tokens})
            steps.append(
                f"The app is in use here (tokens held by {', '.join(users)}), so it is listed on the page."
            )
        return steps


class ReauthorizeIntegrationUser(GuidedStep):
    task_docs = f"""
Guided, article step 5: reauthorize in {VENDOR.label} as the integration user, only where still needed. Done, by query
after the Permitted Users change, when ``token_loss.integration_user_token`` holds: the integration user holds an
OauthToken for the app now (the change deletes the tokens it revokes, so a row read after it survived it or is
newer), is pre-authorized now (an assigned permission set or its profile has a SetupEntityAccess row for the app)
and Permitted Users is admin approved. A token that survived the change needs no reauthorization ("token
survived the switch"); one is asked for only where the integration user holds none (the move from the setup
user's connection, or the change revoked it), so Salesforce's per-user token cap revokes none of its grants.
Not admin approved, or not pre-authorized: stops naming that step (sixsense_set_permitted_users,
sixsense_grant_app_access) before any instruction; in plan mode the step remains.
Before waiting, lists the integration user's tokens for other apps (Pardot, Sales Engagement: reauthorizing may
log it out of them; also the audit's ``sessions_affected``). Where it holds any, the step needs
``confirm_reauthorization True`` (in a flow: ``-o sixsense_validate_inputs__confirm_reauthorization True``) or a
confirmation at a terminal; otherwise it stops with "confirmation required" before printing the instructions.
Plan mode lists them and records the confirmation it would need. Not installed: "install first" (plan mode: the
step remains).

Return values: done, status (already done | verified | manual step remains), detail.
    """
    step_title = procedure.step("reauthorize").name
    requires_integration_user = True
    task_options = {
        **SixsenseTask.task_options,
        "integration_username": {
            **SixsenseTask.task_options["integration_username"],
            "required": True,
        },
        "confirm_reauthorization": bool_option(
            "True: you accept that reauthorizing may log the integration user out of the other Salesforce "
            "integrations it holds tokens for (Pardot, Sales Engagement; listed first). Needed when not "
            "confirming at a terminal and it holds such tokens. Default: False."
        ),
    }

    def _progress_subject(self):
        return f"OauthToken for {self._apps_text()} by {self.integration_username}"

    def _prepare(self):
        self.integration_user = self._require_users(user_checks.INTEGRATION)[
            user_checks.INTEGRATION
        ]
        if self.plan and not self._connected_apps(self.app_names):
            self.app = None  # plan: installed by an earlier (manual) step
            return
        self.app = self._require_installed_app()

    def _check(self):
        """Whose token is there now, read after the Permitted Users change: ``token_loss.integration_user_token``
        on all the user's tokens (one query; ``_before_wait`` lists the other apps'). ``_blocker``: the earlier
        step to run where a reauthorization cannot help (not admin approved, not pre-authorized)."""
        app, user_id = self.app, self.integration_user["Id"]
        self._user_tokens = self._oauth_tokens(user_id=user_id) if app else None
        pre = token_loss.pre_authorized_users(self, [app["Id"]], [user_id]) if app else set()
        verdict = token_loss.integration_user_token(
            app, self._user_tokens or [], pre, user_id, self.app_names, self.integration_username
        )
        self._blocker = None
        if verdict.step in ("permitted_users", "app_access"):
            self._blocker = (
                f"{verdict.actual}; a reauthorization cannot fix this: run {verdict.fix} first"
            )
        return verdict.ok, verdict.actual

    def _before_wait(self):
        """List the other apps' sessions the reauthorization may disturb (Pardot, Sales Engagement), in the log
        and the audit, and ask for consent where there are any; its own app's grants lose none (it is asked
        only where the user holds no token for the app). Runs before the instructions: nothing is instructed
        without the consent. Where an earlier step must run first (``_blocker``), stops naming it."""
        if self._blocker and not self.plan:
            raise SixsenseOrgError(f"{self.step_title}: {self._blocker}. Nothing was written.")
        tokens = self._user_tokens  # set by _check, which always runs first
        if tokens is None:  # plan mode before the app is installed: _check did not query
            tokens = self._oauth_tokens(user_id=self.integration_user["Id"])
        wanted = {n.lower() for n in self.app_names}
        others = summarize_tokens(
            [t for t in tokens if (t.get("AppName") or "").lower() not in wanted]
        )
        if others:
            self.logger.warning(
                "Reauthorizing may log the integration user out of other Salesforce integrations such as "
                "Pardot and Sales Engagement; reauthorize those if they stop syncing."
            )
            self._log_table(
                f"Other apps' sessions the reauthorization may touch ({self.integration_username})",
                [["app", "tokens", "effect"]]
                + [[app, n, "may be logged out"] for _, app, n in others],
            )
        self._audit_note(
            sessions_affected=[
                {"user": u, "app": a, "tokens": n, "effect": "may be logged out"}
                for u, a, n in others
            ]
        )
        if others:
            self._confirm_reauthorization(sorted({a for _, a, _ in others}))

    def _confirm_reauthorization(self, other_apps):
        """Consent to the reauthorization: ``confirm_reauthorization``, else a terminal question, else
        ``ConfirmationRequired`` (nothing written or instructed). Plan mode records the need, asks nothing."""
        effect = f"may log it out of {', '.join(other_apps)}"
        if self.options["confirm_reauthorization"]:
            return
        if self.plan:
            self._plan_would(
                f"need confirm_reauthorization True (reauthorizing as {self.integration_username} {effect})"
            )
            return
        if self.options["interactive"] and stdin_is_tty():
            if click.confirm(
                f"Reauthorize as {self.integration_username}, which {effect}?",
                default=False,
            ):
                self._record_confirmation(
                    f"reauthorize as {self.integration_username}, which {effect}"
                )
                return
        raise ConfirmationRequired(
            f"Not started: reauthorizing as {self.integration_username} in {VENDOR.label} {effect}. Confirm "
            "with -o sixsense_validate_inputs__confirm_reauthorization True (flow) or -o "
            "confirm_reauthorization True (this task alone), or run interactively at a terminal, then run "
            "again. Nothing was written."
        )

    def _instructions(self):
        return self._vendor_instructions(
            "reauthorize_integration_user",
            integration_username=self.integration_username,
            apps=(self.app or {}).get("Name") or self._apps_text(),
        )
