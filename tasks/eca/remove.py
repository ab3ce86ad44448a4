"""sixsense_remove_connected_app_access: after the ECA works, remove the old connected app's grants."""

from __future__ import annotations

import click

from .. import connected_user, token_loss
from ..base import SixsenseTask
from ..errors import SixsenseOrgError
from ..options import COMMON_OPTIONS, NO_WAIT_OPTIONS, PRODUCTION_OPTION, bool_option, stdin_is_tty
from ..queries import soql_in, soql_quote
from ..vendor import VENDOR
from .common import (
    ECA_OPTIONS,
    EcaMixin,
)


class RemoveConnectedAppAccess(EcaMixin, SixsenseTask):
    task_docs = f"""
Last step of the migration to the ECA, non-destructive by default. Only once the integration user holds a token
for the {VENDOR.label} ECA (it works through the ECA), lists what the old connected app still grants: its
SetupEntityAccess rows (profiles and permission sets pre-authorized for the connected app) and the setup user's
``{VENDOR.setup_permission_set}`` assignment (Approve Uninstalled Connected Apps, needed only for the connected app).
Before asking, lists the OAuth grants the removal makes stop working (on an admin-approved app, every token
of the app: its users lose their pre-authorization), one row per grant with user, created, last used, use
count, also in the audit's ``sessions_affected``; the terminal question names those used in the last 7 days.
Removes them only with ``remove_connected_app_access True`` or a confirmation at the terminal; otherwise
reports what it would remove and removes nothing. The connected app itself, its tokens and the permission sets
stay (uninstalling or revoking is a decision for {VENDOR.label} and the admin). Fails, removing nothing, when the
integration user holds no ECA token.

Return values: ``would_remove`` / ``removed`` (lists of descriptions), ``status``.
    """
    #: Deleting SetupEntityAccess and an assignment, and first reading the integration user's tokens, which
    #: another user's token needs (facts §10.1: both rights, ``connected_user.OTHERS_TOKENS_NEED``).
    connected_user_needs = (
        "view_setup",
        *connected_user.OTHERS_TOKENS_NEED,
        "manage_profiles_permission_sets",
    )
    requires_integration_user = True
    task_options = {
        **NO_WAIT_OPTIONS,
        "interactive": COMMON_OPTIONS["interactive"],  # its terminal confirmations
        "integration_username": {
            **SixsenseTask.task_options["integration_username"],
            "required": True,
        },
        **ECA_OPTIONS,
        "remove_connected_app_access": bool_option(
            "True: remove the connected app's access grants and the setup user's "
            f"{VENDOR.setup_permission_set} assignment (after the ECA check passes). Default: False (report "
            "only, or ask at a terminal)."
        ),
        "confirm_production": PRODUCTION_OPTION,
    }

    def _run_task(self):
        # It removes the setup user's Sixsense_Setup_Access assignment: never the integration user's.
        self._refuse_integration_user_as_setup_user()
        # Before the token read: without these rights the integration user's tokens are not visible, and
        # "no token" would be a read that could not see them, not their absence.
        self._require_connected_user_rights()
        integration = self._get_user(self.integration_username, "integration user")
        eca = self._eca()
        tokens = self._eca_tokens(eca, integration["Id"]) if eca else []
        if not tokens and not self.plan:
            raise SixsenseOrgError(
                f"Not removing anything: {self.integration_username} holds no token for the {VENDOR.label} External Client "
                f"App yet, so {VENDOR.label} may still depend on the connected app. Run sixsense_eca first."
            )
        grants = self._grants()
        rows = [["what", "record"]] + [[g["what"], g["id"]] for g in grants]
        if not grants:
            self.logger.info("The connected app grants nothing any more: nothing to remove.")
            self._audit_note(skipped=["no connected-app access left"])
            self.return_values = {"status": "nothing to remove", "would_remove": [], "removed": []}
            return
        self._log_table("Connected-app access that the ECA makes unnecessary", rows)
        descriptions = [g["what"] for g in grants]
        losses = self._losses(grants)
        if self.plan:
            for d in descriptions:
                self._plan_would(f"remove {d}")
            self.return_values = {
                "status": "would remove",
                "would_remove": descriptions,
                "removed": [],
            }
            return
        if not self._confirmed(len(grants), losses):
            self.logger.warning(
                "Nothing removed. To remove these, run again with "
                "-o sixsense_remove_connected_app_access__remove_connected_app_access True (flow) or "
                "-o remove_connected_app_access True (this task), or confirm at a terminal."
            )
            self._audit_note(skipped=[f"not confirmed: {d}" for d in descriptions])
            self.return_values = {
                "status": "not confirmed",
                "would_remove": descriptions,
                "removed": [],
            }
            return
        self._before_first_write(f"remove {len(grants)} connected-app access grant(s)")
        removed = []
        for g in grants:
            self._call(
                f"Delete {g['sobject']} {g['id']}", getattr(self.sf, g["sobject"]).delete, g["id"]
            )
            removed.append(g["what"])
        left = self._grants()
        if left:
            raise SixsenseOrgError(
                f"Still present after removal: {', '.join(g['what'] for g in left)}."
            )
        self._audit_note(
            changed=[
                {"object": g["sobject"], "action": "deleted", "what": g["what"]} for g in grants
            ]
        )
        self._log_table("Removed", [["what"]] + [[d] for d in removed])
        self.return_values = {"status": "removed", "would_remove": [], "removed": removed}

    def _losses(self, grants: list[dict]) -> list[dict]:
        """The OAuth grants the removal makes stop working, listed (log and audit ``sessions_affected``)
        before any confirmation: on an admin-approved app every user's access comes from the access grants
        removed here, so every token of the app is lost (``token_loss.lost_to_access_removal``, read whole
        past the row cap); on an app all users may self-authorize, none."""
        apps = [a for a in self._connected_apps(self.app_names) if a]
        removes_access = any(g["sobject"] == "SetupEntityAccess" for g in grants)
        if not removes_access or not any(a.get("OptionsAllowAdminApprovedUsersOnly") for a in apps):
            self.logger.info(
                "No OAuth grant is lost: the connected app is not admin approved, so its users do not "
                "depend on the access grants."
                if removes_access
                else "No OAuth grant is lost: no access grant of the connected app is removed."
            )
            return []
        losses = token_loss.lost_to_access_removal(self._oauth_tokens(self.app_names))
        self._audit_note(sessions_affected=losses)
        if losses:
            self._log_table(
                "Grants of the connected app the removal revokes", token_loss.table(losses)
            )
        else:
            self.logger.info("Nobody holds a token for the connected app: no grant is lost.")
        return losses

    def _confirmed(self, count: int, losses: list[dict] = ()) -> bool:
        """``remove_connected_app_access``, or yes at a terminal (the question names the lost grants used
        recently, which may be the live sync); False otherwise. Always asked: the removal is never made
        without it."""
        if self.options["remove_connected_app_access"]:
            return True
        recent = token_loss.recent(list(losses))
        used = (
            f", revoking {token_loss.describe(recent)}, used in the last {token_loss.RECENT_USE_DAYS} days"
            if recent
            else ""
        )
        if self.options["interactive"] and stdin_is_tty():
            if click.confirm(
                f"Remove these {count} connected-app access grant(s) now{used}?", default=False
            ):
                self._record_confirmation(f"remove {count} connected-app access grant(s){used}")
                return True
        return False

    def _grants(self) -> list[dict]:
        out = []
        apps = self._connected_apps(self.app_names)
        if apps:
            rows = self._query(
                "SELECT Id, ParentId, Parent.Name, Parent.IsOwnedByProfile, Parent.Profile.Name, SetupEntityId "
                f"FROM SetupEntityAccess WHERE SetupEntityId IN {soql_in([a['Id'] for a in apps])}"
            )
            names = {a["Id"]: a["Name"] for a in apps}
            for r in rows:
                parent = r.get("Parent") or {}
                who = (
                    f"profile {(parent.get('Profile') or {}).get('Name')}"
                    if parent.get("IsOwnedByProfile")
                    else f"permission set {parent.get('Name')}"
                )
                out.append(
                    {
                        "sobject": "SetupEntityAccess",
                        "id": r["Id"],
                        "what": f"access of {who} to {names.get(r['SetupEntityId'])}",
                    }
                )
        setup = self._get_users([self.setup_username]).get(self.setup_username.lower())
        if setup:
            rows = self._query(
                "SELECT Id FROM PermissionSetAssignment "
                f"WHERE AssigneeId = {soql_quote(setup['Id'])} AND PermissionSet.Name = {soql_quote(VENDOR.setup_permission_set)}"
            )
            out += [
                {
                    "sobject": "PermissionSetAssignment",
                    "id": r["Id"],
                    "what": f"{VENDOR.setup_permission_set} assigned to {self.setup_username}",
                }
                for r in rows
            ]
        return out
