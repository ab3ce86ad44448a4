"""sixsense_assign_setup_access: the setup user gets Approve Uninstalled Connected Apps, unless it holds it."""

from cumulusci.core.exceptions import CumulusCIException
from cumulusci.tasks.salesforce.users.permsets import AssignPermissionSets

from . import resilience, user_checks
from .base import APPROVE_UNINSTALLED, SixsenseTask
from .errors import SixsenseOrgError
from .options import PRODUCTION_OPTION, check_api_names, parse_options
from .queries import soql_in
from .resilience import SalesforceCalls
from .vendor import VENDOR


class AssignPermissionSetsByUsername(SalesforceCalls, AssignPermissionSets):
    """CumulusCI's ``assign_permission_sets`` with users matched by Username instead of Alias (aliases are
    not unique; usernames are). Same composite insert, same skip of existing assignments."""

    task_options = {
        "api_names": AssignPermissionSets.task_options["api_names"],
        "usernames": {
            "description": "Usernames of the target users, separated by commas. Default: the running user.",
            "type": "list",
            "default": [],
        },
    }

    def _init_options(self, kwargs):
        super()._init_options(kwargs)
        parse_options(
            self.options, {"usernames": self.task_options.get("usernames") or {"type": "list"}}
        )

    def _usernames(self):
        return self.options.get("usernames") or [self.org_config.username]

    def _query_existing_assignments(self):
        result = self.sf.query(
            f"SELECT Id,(SELECT {AssignPermissionSets.assignment_lookup} FROM "
            f"{AssignPermissionSets.assignment_child_relationship}) "
            f"FROM User WHERE Username IN {soql_in(self._usernames())}"
        )
        if result["totalSize"] == 0:
            raise CumulusCIException(
                f"No users were found with the username(s) {', '.join(self._usernames())}."
            )
        return result["records"]


class AssignSetupAccess(SixsenseTask, AssignPermissionSetsByUsername):
    task_docs = f"""
Gives the setup user the ``{VENDOR.setup_permission_set}`` permission set (Approve Uninstalled Connected Apps and
API Enabled; with API Access Control also Use Any API Client), which the one-time authorization of the
uninstalled app needs (vendor prerequisite). Skipped, and reported, when the user already holds
Approve Uninstalled Connected Apps through its profile (the standard System Administrator profile has it)
or another permission set. Users are matched by Username. ``integration_username`` is required, so that the
integration user given as ``setup_username`` is refused before any write. Idempotent: an existing assignment is
"already done". In plan mode, reports the assignment it would create and writes nothing.

Return values: ``assigned`` (bool: this run created the assignment), ``held_through`` (where the user gets
the permission from, e.g. "profile System Administrator" or "permission set {VENDOR.setup_permission_set}").
    """
    connected_user_needs = ("view_setup", "manage_users")
    # Required, so that the integration user given as setup_username is refused before any write (issue 17
    # kind 6): without it, this task alone cannot tell the integration user from an admin.
    requires_integration_user = True
    task_options = {
        "setup_username": SixsenseTask.task_options["setup_username"],
        "integration_username": SixsenseTask.task_options["integration_username"],
        "api_names": {
            "description": f"Permission set(s) that carry the setup access. Default: {VENDOR.setup_permission_set}.",
            "type": "list",
            "check": check_api_names,
        },
        "plan": SixsenseTask.task_options["plan"],
        "confirm_production": PRODUCTION_OPTION,
    }

    def _init_options(self, kwargs):
        kwargs = dict(kwargs or {})
        if not (self.task_config.options or {}).get("api_names") and not kwargs.get("api_names"):
            kwargs["api_names"] = VENDOR.setup_permission_set
        super()._init_options(
            kwargs
        )  # api_names: a list of valid API names (options.check_api_names)

    def _usernames(self):
        return [self.setup_username]

    def _nothing_to_assign(self, rows, user, held, action, skipped):
        """The user already holds the permission (``held``: through what): log the table, note the audit,
        set the return values; nothing is written."""
        rows.append([user["Username"], APPROVE_UNINSTALLED, held, action])
        self._log_table("Setup access", rows)
        self._audit_note(
            before=f"holds {APPROVE_UNINSTALLED} through {held}",
            after=f"holds {APPROVE_UNINSTALLED} through {held}",
            skipped=[skipped],
        )
        self.return_values = {"assigned": False, "held_through": held}

    def _run_task(self):
        api_names = self.options["api_names"]
        user = self._require_users(user_checks.SETUP)[user_checks.SETUP]
        permission_sets = self._permission_sets_by_name(api_names)
        missing = [n for n in api_names if n not in permission_sets]
        if missing and self.plan:
            # Plan: deployed by sixsense_deploy_access earlier in the flow.
            permission_sets = {**permission_sets, **{n: {"Id": None} for n in missing}}
            missing = []
        if missing:
            raise SixsenseOrgError(
                f"Permission set(s) {', '.join(missing)} not found in the org: deploy them first "
                "(cci task run sixsense_deploy_access)."
            )
        ours = {f"permission set {n}" for n in api_names}
        assignments = self._assignments([user["Id"]], [APPROVE_UNINSTALLED])[user["Id"]]
        sources = self._permission_sources(user, APPROVE_UNINSTALLED, assignments)
        if sources is None:
            self.logger.warning(
                "The org's PermissionSet describe has no PermissionsCanApproveUninstalledApps field; "
                "cannot tell whether the profile grants it, so the permission set is assigned."
            )
            sources = []
        others = [s for s in sources if s not in ours]
        assigned_ids = {r["PermissionSetId"] for r in assignments}
        already = [n for n in api_names if permission_sets[n]["Id"] in assigned_ids]
        rows = [["user", "permission", "held through", "action"]]
        if others:
            held = ", ".join(others)
            self.logger.info(
                f"{user['Username']} already holds {APPROVE_UNINSTALLED} through {held}; "
                f"{', '.join(api_names)} not assigned."
            )
            self._nothing_to_assign(
                rows,
                user,
                held,
                "none (already held)",
                f"{', '.join(api_names)} not assigned: already held through {held}",
            )
            return
        if len(already) == len(api_names):
            held = ", ".join(f"permission set {n}" for n in api_names)
            self.logger.info(f"already done: {user['Username']} has {', '.join(api_names)}.")
            self._nothing_to_assign(
                rows,
                user,
                held,
                "none (already done)",
                f"already done: {', '.join(api_names)} assigned",
            )
            return
        todo = [n for n in api_names if n not in already]
        self._audit_note(before=f"{user['Username']} does not hold {APPROVE_UNINSTALLED}")
        if self.plan:
            for name in todo:
                self._plan_would(f"create PermissionSetAssignment {name} -> {user['Username']}")
            self.return_values = {"assigned": False, "held_through": "", "would_assign": todo}
            return
        self._before_first_write(f"assign {', '.join(todo)} to {user['Username']}")

        # Writes: CumulusCI's AssignPermissionSets (composite insert of the missing assignments only).
        # Idempotent: each try re-queries and inserts only what is still missing (resilience.converge).
        def not_assigned():
            assigned_ids = self._assigned_permission_set_ids(user["Id"])
            return [n for n in api_names if permission_sets[n]["Id"] not in assigned_ids]

        self._call(
            "Permission set assignment",
            resilience.converge,
            "Permission set assignment",
            not_assigned,
            lambda _todo: AssignPermissionSets._run_task(self),
            initial=[n for n in api_names if n not in already],
            logger=self.logger,
            on_give_up=lambda reason: SixsenseOrgError(
                f"{', '.join(not_assigned())} is still not assigned to {user['Username']} ({reason}). "
                f"{resilience.TRANSIENT_HINT}"
            ),
        )
        held = ", ".join(f"permission set {n}" for n in api_names)
        rows.append([user["Username"], APPROVE_UNINSTALLED, held, "assigned"])
        self._log_table("Setup access", rows)
        self._audit_note(
            after=f"holds {APPROVE_UNINSTALLED} through {held}",
            changed=[
                {
                    "object": "PermissionSetAssignment",
                    "action": "created",
                    "what": f"{n} -> {user['Username']}",
                }
                for n in todo
            ],
        )
        self.return_values = {"assigned": True, "held_through": held}
