"""sixsense_validate_inputs: check every common option against the org before any step writes."""

from . import audit, connected_user, procedure, user_checks
from .audit import DEFAULT_AUDIT_DIR, resolve_audit_dir
from .base import SixsenseTask
from .errors import SixsenseInputError
from .options import APP_NAME_RE, PRODUCTION_OPTION, bool_option, is_deferred
from .vendor import VENDOR


class ValidateInputs(SixsenseTask):
    task_docs = f"""
Validates the common options of the {VENDOR.label} flows against the org, before anything is written, and returns
them normalized so later steps receive them with ``^^sixsense_validate_inputs.<option>``.

Checks: the user cci is connected as holds the admin rights the procedure needs (Modify All Data or Modify
Metadata Through Metadata API Functions, View Setup and Configuration, Manage Users, Customize Application,
Manage Profiles and Permission Sets, through its profile or permission sets; docs/salesforce-permissions.md),
else it stops at once naming each missing permission; each option names one user; the setup user is not the
integration user (the vendor article forbids the integration user doing the one-time authorization) and the
integration user is not the user cci is connected as; both users can authorize (``tasks/user_checks.py``):
they exist, are active, are not frozen and not locked out (UserLogin); the integration user has API access
(API Enabled through the profile or a permission set, on a licence that allows it);
``connected_app_names`` is a non-empty list of plausible connected app names; ``wait_timeout`` and
``poll_interval`` are positive numbers of seconds; ``interactive``, ``plan``, ``confirm_reauthorization`` and
``confirm_production`` are True or False; ``audit_dir`` is a directory that can be created. All problems are reported together in one
error; nothing is written to the org. Read-only.

Within a flow, this first step starts the run's audit report (``<audit_dir>/<timestamp>-<flow>.json`` and
``.md``), which every later step updates as it ends, successfully or not.

Return values (strings, for ``^^``): integration_username, setup_username, connected_app_names
(comma-joined), wait_timeout, poll_interval, interactive ("True"/"False"), integration_user_id,
setup_user_id, integration_profile, plan ("True"/"False"), confirm_reauthorization ("True"/"False"),
confirm_production ("True"/"False"), audit_dir, audit_report (the JSON path of the run's audit report, within a flow).
    """
    task_options = {
        **SixsenseTask.task_options,
        "integration_username": {
            **SixsenseTask.task_options["integration_username"],
            "required": True,
        },
        "audit_dir": {
            "description": "Directory of the flow's audit report (JSON and Markdown, one pair per run, named "
            f"<timestamp>-<flow>-<id>). A relative path is relative to the project folder (where "
            f"cumulusci.yml is). Default: {DEFAULT_AUDIT_DIR}",
            "type": "text",
            "default": DEFAULT_AUDIT_DIR,
        },
        "confirm_reauthorization": bool_option(
            f"True: you accept that '{procedure.step('reauthorize').name}' may log the integration user out "
            "of other Salesforce integrations it holds tokens for (Pardot, Sales Engagement). "
            "Needed when not confirming at a terminal and the integration user holds such tokens; passed to "
            "sixsense_reauthorize_integration_user. Default: False."
        ),
        "confirm_production": {
            **PRODUCTION_OPTION,
            "description": PRODUCTION_OPTION["description"]
            + " Passed to the steps that write (deploy, assignments, access, Metadata ETL, ECA install and "
            "policies, access removal).",
        },
    }
    requires_integration_user = True

    def _init_options(self, kwargs):
        super()._init_options(kwargs)
        if not is_deferred(self.options["audit_dir"]):
            # One folder for relative paths, here and where the report is written (audit.resolve_audit_dir).
            self.options["audit_dir"] = str(
                resolve_audit_dir(self.project_config, self.options["audit_dir"])
            )

    def _run_task(self):
        problems = []
        integration = self.integration_username
        setup = self.setup_username
        names = self.app_names

        # One username per user option, and a non-empty connected_app_names: refused when the options are
        # parsed (tasks/options.py, check_username and the list parser), before this runs.
        # The setup user is the integration user, or the integration user is the connected user.
        problems += user_checks.same_user_problems(
            setup,
            integration,
            self.org_config.username,
            setup_defaulted=not self.options.get("setup_username"),
        )
        bad_names = [n for n in names if not APP_NAME_RE.match(n)]
        if bad_names:
            problems.append(
                f"connected_app_names holds implausible connected app name(s): {', '.join(map(repr, bad_names))}. "
                "Names are letters, digits, spaces, '_', '-', '.', separated by commas."
            )
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            problems.append(f"connected_app_names lists {', '.join(duplicates)} more than once.")
        if self.options["poll_interval"] > self.options["wait_timeout"]:
            problems.append(
                f"poll_interval ({self.options['poll_interval']} s) is longer than wait_timeout "
                f"({self.options['wait_timeout']} s); the guided steps would never check twice."
            )
        if problems:
            raise SixsenseInputError(self._format(problems))

        # Before anything else reads Setup objects: a connected user without admin rights cannot read
        # them either, and must be stopped with one message naming what it lacks (tasks/connected_user.py).
        admin_rows = self._check_connected_user()
        if getattr(self, "flow", None) is not None:  # the later steps need not read them again
            audit.flow_run(self.flow).rights_checked.update(connected_user.BY_KEY)

        checked = self._check_users(
            {user_checks.INTEGRATION: integration, user_checks.SETUP: setup}
        )
        rows = [["check", "value", "result"], *admin_rows, *checked.rows]
        problems += checked.problems
        found = checked.users
        rows.append(["connected_app_names", ", ".join(names), "ok"])
        rows.append(
            [
                "wait_timeout / poll_interval",
                f"{self.options['wait_timeout']} s / {self.options['poll_interval']} s",
                "ok",
            ]
        )
        rows.append(["interactive", str(self.options["interactive"]), "ok"])
        rows.append(["confirm_production", str(self.options["confirm_production"]), "ok"])
        self._log_table("Inputs", rows)
        if problems:
            raise SixsenseInputError(self._format(problems))

        integration_user = found[user_checks.INTEGRATION]
        setup_user = found[user_checks.SETUP]
        self.return_values = {
            "integration_username": integration_user["Username"],
            "setup_username": setup_user["Username"],
            "connected_app_names": ",".join(names),
            "wait_timeout": str(self.options["wait_timeout"]),
            "poll_interval": str(self.options["poll_interval"]),
            "interactive": str(bool(self.options["interactive"])),
            "integration_user_id": integration_user["Id"],
            "setup_user_id": setup_user["Id"],
            "integration_profile": (integration_user.get("Profile") or {}).get("Name") or "",
            "plan": str(bool(self.plan)),
            "confirm_reauthorization": str(bool(self.options["confirm_reauthorization"])),
            "confirm_production": str(bool(self.options["confirm_production"])),
            "audit_dir": str(self.options["audit_dir"]),
        }
        from .audit import run_for

        run = run_for(self, create=False)
        if run:
            self.return_values["audit_report"] = str(run.json_path)
        if self.plan:
            self.logger.info(
                "Plan mode: every step reads the org and reports what it would change; nothing is written."
            )
        self.logger.info("Inputs are valid. Nothing was written.")

    @staticmethod
    def _format(problems):
        if len(problems) == 1:
            return problems[0]
        return "The inputs have problems; nothing was written:\n" + "\n".join(
            f"  - {p}" for p in problems
        )
