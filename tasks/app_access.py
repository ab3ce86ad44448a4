"""sixsense_grant_app_access: the integration user's permission set (and optionally profile) gets the app."""

from cumulusci.tasks.salesforce.users.permsets import AssignPermissionSets

from . import procedure, resilience, user_checks
from .base import SixsenseTask
from .errors import SixsenseInputError, SixsenseOrgError
from .metadata_xml import POLICY_TEMPLATE, read_policy_template
from .options import COMMON_OPTIONS, NO_WAIT_OPTIONS, PRODUCTION_OPTION, bool_option
from .queries import assigned_permission_sets_soql, soql_in, soql_quote
from .vendor import VENDOR


class GrantAppAccess(SixsenseTask):
    task_docs = f"""
Article step 4: gives the integration user access to the installed {VENDOR.label} connected app, so it can authorize
once Permitted Users is "Admin approved users are pre-authorized".

The access list is the app's desired policy, ``{POLICY_TEMPLATE.as_posix()}``: each ``permissionSetName``
and ``profileName`` entry gets a ``SetupEntityAccess`` row (ParentId = the permission set, or the profile's
own permission set; SetupEntityId = the ConnectedApplication Id). The permission sets of the list are
assigned to the integration user (PermissionSetAssignment, matched by Username). With
``include_integration_profile True`` the integration user's profile gets access as well.
Only what is missing is written; a second run writes nothing. Fails with "install first" when the app is
not installed. In plan mode, lists the rows it would create (given the earlier steps' plan: the app
installed, the permission sets deployed) and writes nothing.

Return values: ``setup_entity_access_created`` (list of "parent -> app"), ``assignments_created`` (list of
"permission set -> user"), ``created`` (int); in plan mode ``would_create`` (int).
    """
    connected_user_needs = ("view_setup", "manage_users", "manage_profiles_permission_sets")
    requires_integration_user = True
    task_options = {
        **NO_WAIT_OPTIONS,
        "interactive": COMMON_OPTIONS[
            "interactive"
        ],  # the production guard's terminal confirmation
        "integration_username": {
            **SixsenseTask.task_options["integration_username"],
            "required": True,
        },
        "include_integration_profile": bool_option(
            "True: also give the integration user's profile access to the app (through the "
            "profile's own permission set). Default: False."
        ),
        "confirm_production": PRODUCTION_OPTION,
    }

    def _run_task(self):
        # 1. Read and validate everything.
        policy = read_policy_template(self.project_config.repo_root)
        user = self._require_users(user_checks.INTEGRATION)[user_checks.INTEGRATION]
        apps = self._connected_apps(self.app_names)
        if not apps and self.plan:
            # Plan: the app is installed by an earlier (manual) step; its Id is not known yet.
            apps = [{"Id": None, "Name": self.app_names[0] + " (once installed)"}]
        if not apps:
            raise SixsenseOrgError(
                f"The {VENDOR.label} connected app ({' or '.join(self.app_names)}) is not installed: install it first "
                f"({procedure.step('install').ref}), then run this step again."
            )
        parents = self._resolve_parents(policy, user)
        known_apps = [a["Id"] for a in apps if a["Id"]]
        known_parents = [p["Id"] for p in parents if p["Id"]]
        access_soql = (
            "SELECT Id, ParentId, SetupEntityId FROM SetupEntityAccess "
            f"WHERE SetupEntityId IN {soql_in(known_apps)} AND ParentId IN {soql_in(known_parents)}"
        )
        assigned_soql = assigned_permission_sets_soql(user["Id"])
        existing = self._query(access_soql) if known_apps and known_parents else []
        have = {(r["ParentId"], r["SetupEntityId"]) for r in existing}
        to_create = [
            (parent, app)
            for app in apps
            for parent in parents
            if (parent["Id"], app["Id"]) not in have
        ]
        assigned = {r["PermissionSetId"] for r in self._query(assigned_soql)}
        to_assign = [
            p["Name"]
            for p in parents
            if p["kind"] == "permission set" and (not p["Id"] or p["Id"] not in assigned)
        ]
        before = {
            "setup_entity_access": sorted(
                f"{p['label']} -> {a['Name']}"
                for a in apps
                for p in parents
                if (p["Id"], a["Id"]) in have
            ),
            "assignments": sorted(
                f"{p['Name']} -> {user['Username']}"
                for p in parents
                if p["kind"] == "permission set" and p["Id"] and p["Id"] in assigned
            ),
        }
        self._audit_note(before=before)
        if self.plan:
            for parent, app in to_create:
                self._plan_would(f"create SetupEntityAccess {parent['label']} -> {app['Name']}")
            for name in to_assign:
                self._plan_would(f"create PermissionSetAssignment {name} -> {user['Username']}")
            if not to_create and not to_assign:
                self.logger.info("already done: the access list of the app policy is in place.")
                self._audit_note(skipped=["already done: access list in place"], after=before)
            self.return_values = {
                "setup_entity_access_created": [],
                "assignments_created": [],
                "created": 0,
                "would_create": len(to_create) + len(to_assign),
            }
            return

        # 2. Write only what is missing.
        if to_create or to_assign:
            self._before_first_write(f"grant the integration user access to the {VENDOR.label} app")
        rows = [["grant", "to", "action"]]
        created_access = [f"{p['label']} -> {a['Name']}" for p, a in to_create]

        verify_soql = (
            "SELECT ParentId, SetupEntityId FROM SetupEntityAccess "
            f"WHERE SetupEntityId IN {soql_in(a['Id'] for a in apps)} "
            f"AND ParentId IN {soql_in(p['Id'] for p in parents)}"
        )

        def access_missing():  # called after the inserts: their verification
            got = {(r["ParentId"], r["SetupEntityId"]) for r in self._query(verify_soql)}
            return [(p, a) for p, a in to_create if (p["Id"], a["Id"]) not in got]

        def insert_access(todo):
            for parent, app in todo:
                # SetupEntityType is derived by Salesforce from the Id; it is not createable.
                self.sf.SetupEntityAccess.create(
                    {"ParentId": parent["Id"], "SetupEntityId": app["Id"]}
                )

        if to_create:
            # Idempotent: each try re-queries, then inserts only what is still missing; the last query
            # is the verification.
            self._call(
                "Insert SetupEntityAccess",
                resilience.converge,
                "Insert SetupEntityAccess",
                access_missing,
                insert_access,
                initial=to_create,
                logger=self.logger,
                on_give_up=lambda reason: SixsenseOrgError(
                    "SetupEntityAccess not found after insert: "
                    + ", ".join(f"{p['label']} -> {a['Name']}" for p, a in access_missing())
                    + f" ({reason}). {resilience.TRANSIENT_HINT}"
                ),
            )
        for app in apps:
            for parent in parents:
                action = (
                    "created"
                    if f"{parent['label']} -> {app['Name']}" in created_access
                    else "already done"
                )
                rows.append([f"access to {app['Name']}", parent["label"], action])
        created_assignments = []
        if to_assign:
            self._assign(to_assign, user["Id"], {p["Name"]: p["Id"] for p in parents})
            created_assignments = [f"{n} -> {user['Username']}" for n in to_assign]
        for p in parents:
            if p["kind"] == "permission set":
                action = "created" if p["Name"] in to_assign else "already done"
                rows.append([f"assignment of {p['Name']}", user["Username"], action])

        # 3. Verify by query.
        # (done by resilience.converge above: its last query found every row it inserted)
        self._log_table("App access", rows)
        self._audit_note(
            changed=[
                {"object": "SetupEntityAccess", "action": "created", "what": c}
                for c in created_access
            ]
            + [
                {"object": "PermissionSetAssignment", "action": "created", "what": c}
                for c in created_assignments
            ],
            after={
                "setup_entity_access": sorted(
                    set(before["setup_entity_access"]) | set(created_access)
                ),
                "assignments": sorted(set(before["assignments"]) | set(created_assignments)),
            },
        )
        if not to_create and not to_assign:
            self._audit_note(skipped=["already done: access list in place"])
            self.logger.info("already done: the access list of the app policy is in place.")
        self.return_values = {
            "setup_entity_access_created": created_access,
            "assignments_created": created_assignments,
            "created": len(created_access) + len(created_assignments),
        }

    def _resolve_parents(self, policy, user):
        """PermissionSet rows that must hold access: ``[{Id, Name, kind, label}]``."""
        parents = []
        names = policy["permission_sets"]
        found = self._permission_sets_by_name(names)
        missing = [n for n in names if n not in found]
        if missing and self.plan:
            # Plan: deployed by sixsense_deploy_access earlier in the flow.
            found = {**found, **{n: {"Id": None} for n in missing}}
            missing = []
        if missing:
            raise SixsenseOrgError(
                f"Permission set(s) {', '.join(missing)} of the app policy not found in the org: deploy "
                "them first (cci task run sixsense_deploy_access)."
            )
        for name in names:
            parents.append(
                {
                    "Id": found[name]["Id"],
                    "Name": name,
                    "kind": "permission set",
                    "label": f"permission set {name}",
                }
            )
        profiles = list(policy["profiles"])
        profile_rows = []
        if profiles:
            profile_rows = self._query(
                "SELECT Id, ProfileId, Profile.Name FROM PermissionSet "
                f"WHERE IsOwnedByProfile = true AND Profile.Name IN {soql_in(profiles)}"
            )
            got = {(r.get("Profile") or {}).get("Name") for r in profile_rows}
            missing = [p for p in profiles if p not in got]
            if missing:
                raise SixsenseInputError(
                    f"Profile(s) {', '.join(missing)} named in {POLICY_TEMPLATE.as_posix()} do not exist in this org."
                )
        if self.options["include_integration_profile"] and user.get("ProfileId"):
            profile_rows += [
                r
                for r in self._query(
                    "SELECT Id, ProfileId, Profile.Name FROM PermissionSet "
                    f"WHERE IsOwnedByProfile = true AND ProfileId = {soql_quote(user['ProfileId'])}"
                )
                if r["Id"] not in {p["Id"] for p in profile_rows}
            ]
        for r in profile_rows:
            name = (r.get("Profile") or {}).get("Name")
            parents.append(
                {"Id": r["Id"], "Name": name, "kind": "profile", "label": f"profile {name}"}
            )
        return parents

    # CumulusCI's AssignPermissionSets insert (sObject Collections, its results table and its error on a
    # record not saved), run in this step with its own session as sixsense_assign_setup_access does: a whole
    # inner cci task would refresh the session again and re-read the user and the permission sets this
    # step has just read.
    assignment_name = AssignPermissionSets.assignment_name
    assignment_lookup = AssignPermissionSets.assignment_lookup
    assignment_child_relationship = AssignPermissionSets.assignment_child_relationship
    _insert_assignments = AssignPermissionSets._insert_assignments
    _process_composite_results = AssignPermissionSets._process_composite_results

    def _assign(self, api_names, user_id, by_name):
        """Insert the missing PermissionSetAssignments of ``user_id`` (``api_names``: names of ``by_name``,
        ``{Name: Id}``) with CumulusCI's AssignPermissionSets insert; verified by query."""

        def not_assigned():
            assigned = self._assigned_permission_set_ids(user_id)
            return [n for n in api_names if by_name[n] not in assigned]

        def insert(todo):
            records = []
            for name in todo:
                self.logger.info(f'Assigning Permission Set "{name}" to {user_id}.')
                records.append(
                    {
                        "attributes": {"type": self.assignment_name},
                        "AssigneeId": user_id,
                        self.assignment_lookup: by_name[name],
                    }
                )
            self._insert_assignments(records)

        # Idempotent: each try re-queries the assignments, then inserts only the missing ones. Verified by
        # query like every write: cci's insert trusts the answer.
        self._call(
            "Permission set assignment",
            resilience.converge,
            "Permission set assignment",
            not_assigned,
            insert,
            initial=list(api_names),
            logger=self.logger,
            on_give_up=lambda reason: SixsenseOrgError(
                f"{', '.join(not_assigned())} is still not assigned to {self.integration_username} "
                f"({reason}). {resilience.TRANSIENT_HINT}"
            ),
        )
