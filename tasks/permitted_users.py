"""sixsense_set_permitted_users: Permitted Users = "Admin approved users are pre-authorized" (article step 3)."""

from datetime import datetime

import click
from cumulusci.core.config import TaskConfig
from cumulusci.salesforce_api.exceptions import MetadataApiError
from cumulusci.salesforce_api.metadata import ApiListMetadata
from cumulusci.tasks.metadata_etl.base import MetadataSingleEntityTransformTask
from cumulusci.utils.xml.metadata_tree import MetadataElement

from . import audit, connected_user, procedure, setup_audit_trail, token_loss
from .base import SixsenseTask
from .errors import ConfirmationRequired
from .formatting import parse_sf_datetime
from .guided import GuidedStep
from .metadata_xml import POLICY_TEMPLATE, read_policy_template
from .options import PRODUCTION_OPTION, bool_option, stdin_is_tty
from .resilience import SalesforceCalls


def ensure_child(parent: MetadataElement, tag: str) -> MetadataElement:
    """The first ``tag`` child of ``parent``, created in alphabetical position if missing (Metadata API
    types list their fields in that order)."""
    child = parent.find(tag)
    if child is not None:
        return child
    siblings = [c for c in parent._element if isinstance(c.tag, str)]
    for sibling in siblings:
        if sibling.tag.split("}")[-1] > tag:
            return parent.insert(parent._element.index(sibling), tag)
    return parent.append(tag)


def merge_policy(metadata: MetadataElement, policy: dict) -> list:
    """Merge the desired policy (``read_policy_template``) into a retrieved ConnectedApp, in place.

    Sets ``oauthConfig/isAdminApproved`` (Permitted Users), the ``oauthPolicy`` values the template has,
    and adds missing ``permissionSetName``/``profileName`` entries (never removes the org's own entries).
    Returns the list of changes (empty when the app already matches).
    """
    changes = []

    def set_text(parent, tag, value):
        element = ensure_child(parent, tag)
        if (element.text or "").strip() != value:
            changes.append(f"{parent.tag}/{tag}: {element.text!r} -> {value!r}")
            element.text = value

    if policy.get("is_admin_approved"):
        set_text(ensure_child(metadata, "oauthConfig"), "isAdminApproved", "true")
    for tag, key in (
        ("ipRelaxation", "ip_relaxation"),
        ("refreshTokenPolicy", "refresh_token_policy"),
    ):
        if policy.get(key):
            set_text(ensure_child(metadata, "oauthPolicy"), tag, policy[key])
    for tag, key in (("permissionSetName", "permission_sets"), ("profileName", "profiles")):
        have = {(e.text or "").strip() for e in metadata.findall(tag)}
        for name in policy.get(key, []):
            if name not in have:
                if metadata.findall(tag):
                    metadata.append(tag, name)
                else:
                    ensure_child(metadata, tag).text = name
                changes.append(f"{tag}: + {name}")
    return changes


class MergeConnectedAppPolicy(SalesforceCalls, MetadataSingleEntityTransformTask):
    """Metadata ETL: retrieve the ConnectedApp(s) in ``api_names``, merge the policy template, deploy.
    Used by ``sixsense_set_permitted_users``; not registered as a task of its own."""

    entity = "ConnectedApp"
    task_options = {
        **MetadataSingleEntityTransformTask.task_options,
        "policy": {"description": "The parsed policy template (dict); internal."},
    }

    def _transform_entity(self, metadata: MetadataElement, api_name: str):
        self.changes = merge_policy(metadata, self.options["policy"])
        for change in self.changes:
            self.logger.info(f"{api_name}: {change}")
        return metadata if self.changes else None

    def _run_task(self):
        self.changes = []
        super()._run_task()


class SetPermittedUsers(GuidedStep):
    task_docs = f"""
Article step 3: sets the app's Permitted Users to "Admin approved users are pre-authorized". Done when
``ConnectedApplication.OptionsAllowAdminApprovedUsersOnly`` is true.

Switching revokes the grants of users without pre-authorization (Salesforce Help on Permitted Users; the vendor article says
all users are logged out), so the task first lists every grant of the app it revokes, read whole past the
2,500-row cap: user, app, created, last used, use count and why ("no pre-authorization", or "may be lost:
pre-authorized, Salesforce's texts differ"), in the log and the audit's ``sessions_affected``. Where one
of them was used in the last 7 days (it may be the live sync), the guided step too needs ``confirm_logout
True`` or a confirmation at the terminal before its instructions. Where the org
lists the app as ``ConnectedApp`` metadata (``listMetadata``), it retrieves it, merges the desired policy
``{POLICY_TEMPLATE.as_posix()}`` and deploys it (Metadata ETL), then verifies by query; this write needs
``confirm_logout True`` or a confirmation at the terminal. Where the app cannot be retrieved (the usual
case for an app installed from OAuth Usage), it is a guided step: instructions with the deep link, then
wait and verify. Fails with "install first" when the app is not installed.

In plan mode: lists the grants that would be lost (asking nothing) and reports the ETL deploy it would
make, or the manual step that remains; writes nothing.

Return values: done, status (already done | deployed | verified | would deploy | manual step remains),
detail, method (etl | guided | none).
    """
    connected_user_needs = ("view_setup", "metadata_api")
    step_title = procedure.step("permitted_users").name
    task_options = {
        **SixsenseTask.task_options,
        "confirm_logout": bool_option(
            "True: you accept that switching Permitted Users revokes the tokens of the app's users without "
            "pre-authorization and, per the vendor article, may log out all its users (needed, "
            "when not confirming at a terminal, for the Metadata ETL write, and for the guided step where "
            "a grant it revokes was used in the last 7 days). Default: False."
        ),
        "confirm_production": PRODUCTION_OPTION,
    }

    def _progress_subject(self):
        name = (self.app or {}).get("Name") or " or ".join(self.app_names)
        return f"ConnectedApplication.OptionsAllowAdminApprovedUsersOnly of {name}"

    def _prepare(self):
        self.policy = read_policy_template(self.project_config.repo_root)
        self.method = "none"
        self.app = None  # the installed app, found by the first check

    def _check(self):
        apps = self._connected_apps(self.app_names)
        if self.app is None:
            if not apps and self.plan:  # plan: the app is installed by an earlier (manual) step
                return False, "the app is not installed yet (an earlier step)"
            self.app = self._require_installed_app(apps)
        rows = [a for a in apps if a["Id"] == self.app["Id"]]
        if rows and rows[0].get("OptionsAllowAdminApprovedUsersOnly"):
            self.app = rows[0]
            return True, f"{self.app['Name']} is admin approved"
        return False, "all users may self-authorize"

    def _finish(self, status, detail):
        super()._finish(status, detail)
        self.return_values["method"] = self.method

    def _setup_evidence(self):
        names = [self.app["Name"]] if self.app else self.app_names
        return setup_audit_trail.for_step(self, "permitted_users", names)

    def _run_task(self):
        if self._already_done():
            return
        detail = self._last_detail
        self._warn_logout()
        member = self._retrievable_member() if self.app else None
        if member and self.plan:
            self.method = "etl"
            self._audit_note(before=detail)
            self._plan_would(
                f"set Permitted Users of {self.app['Name']} to 'Admin approved users are pre-authorized' "
                f"(Metadata ETL of ConnectedApp {member}"
                + ("" if self.options["confirm_logout"] else "; needs confirm_logout True")
                + ")"
            )
            self.return_values = {
                "done": False,
                "status": "would deploy",
                "detail": detail,
                "method": "etl",
            }
            return
        if member:
            self._confirm_logout()
            self._before_first_write(f"deploy the Permitted Users change of {self.app['Name']}")
            self.method = "etl"
            self._run_etl(member)
            done, detail = self._check()
            if done:
                self._audit_note(
                    before=self._last_detail,
                    changed=[
                        {
                            "object": "ConnectedApp",
                            "action": "deployed",
                            "what": f"{member}: Permitted Users admin approved",
                            "details": getattr(self, "_etl_changes", []),
                        }
                    ],
                )
                self._finish("deployed", f"{detail} (Metadata ETL, verified by query)")
                return
            self.logger.warning(
                "The ConnectedApp deploy succeeded but the org does not report the app as admin approved; "
                "set it by hand:"
            )
        self.method = "guided"
        self._guide()

    def _warn_logout(self):
        """List, before anything is written or instructed, every grant of the app the switch revokes (read
        whole, ``token_loss``): users without pre-authorization lose theirs (facts §10.1); pre-authorized
        users' grants are listed as "may be lost" (the vendor article says all users are logged out). The
        same rows go to the audit's ``sessions_affected``."""
        tokens = self._oauth_tokens(self.app_names)
        name = self.app["Name"] if self.app else " or ".join(self.app_names)
        pre_authorized = token_loss.pre_authorized_users(
            self, [self.app["Id"]] if self.app else [], [t["UserId"] for t in tokens]
        )
        self._losses = token_loss.lost_to_admin_approval(tokens, pre_authorized)
        self.logger.warning(
            "Setting Permitted Users to 'Admin approved users are pre-authorized' revokes the grants of "
            f"{name} held by users without pre-authorization (their profile or a permission set granted the "
            "app); the vendor article says all users are logged out, so pre-authorized users' grants may be "
            "lost too. They must authorize again. The integration user is given access first "
            f"('{procedure.step('app_access').name}'); whether its token survived is read after the switch "
            f"in '{procedure.step('reauthorize').name}', which asks for a reauthorization only if it did not."
        )
        self._audit_note(sessions_affected=self._losses)
        if self._losses:
            self._log_table(
                "Grants the Permitted Users change revokes", token_loss.table(self._losses)
            )
        # Other users' tokens may be hidden from cci's user (facts §10.1): an empty list is then not "none".
        self._tokens_hidden = connected_user.others_tokens_hidden(self)
        if self._tokens_hidden:
            self._audit_note(sessions_unreadable=self._tokens_hidden)
            self.logger.warning(
                f"Could not read other users' OAuth tokens ({self._tokens_hidden}): which grants the change "
                "revokes is unknown, not none. Review them on Setup > Connected Apps OAuth Usage."
            )
        elif not self._losses:
            self.logger.info("Nobody holds a token for the app now: no grant is lost.")

    def _recent_losses(self) -> list[dict]:
        """The lost grants used recently (``token_loss.recent``), but the setup user's grants made during
        this flow run: its one-time authorization of article step 1, minutes earlier, which article step 5
        replaces, is part of the procedure, not a live sync, and needs no consent. Anyone else's grant made
        during a run (a long wait, for instance) may be a live sync and still needs it."""
        recent = token_loss.recent(getattr(self, "_losses", []))
        run = audit.run_for(self, create=False)
        began = datetime.fromisoformat(run.data["started_at"]) if run else None
        if began is None:
            return recent
        setup = self.setup_username.lower()

        def procedures_own(x: dict) -> bool:
            created = parse_sf_datetime(x.get("created"))
            return (
                created is not None and created >= began and (x.get("user") or "").lower() == setup
            )

        return [x for x in recent if not procedures_own(x)]

    def _before_wait(self):
        """Guided path: a lost grant used recently may be the live sync, so consent comes before the
        instructions (plan mode records the need and asks nothing)."""
        recent = self._recent_losses()
        hidden = getattr(self, "_tokens_hidden", None)
        if not (recent or hidden) or getattr(self, "_logout_confirmed", False):
            return
        if self.plan:
            if not self.options["confirm_logout"]:
                why = (
                    f"the change revokes {token_loss.describe(recent)}, used in the last "
                    f"{token_loss.RECENT_USE_DAYS} days"
                    if recent
                    else "the grants it revokes could not be read"
                )
                self._plan_would(f"need confirm_logout True ({why})")
            return
        self._confirm_logout()

    def _retrievable_member(self):
        """The ConnectedApp metadata name of the app if ``listMetadata`` lists it, else None."""
        try:
            listing = self._read("listMetadata", ApiListMetadata(self, "ConnectedApp"))
        except MetadataApiError as e:
            self.logger.info(f"listMetadata ConnectedApp failed ({e}); using the guided step.")
            return None
        names = {n.lower() for n in [self.app["Name"], *self.app_names]}
        for item in listing.get("ConnectedApp", []):
            if (item.get("fullName") or "").lower() in names:
                return item["fullName"]
        self.logger.info(
            f"{self.app['Name']} is not retrievable as ConnectedApp metadata in this org; "
            "Permitted Users is set in Setup (guided step)."
        )
        return None

    def _confirm_logout(self):
        """Consent to the switch (the Metadata ETL write always; the guided step where a lost grant was used
        recently): ``confirm_logout``, else a terminal question, else ``ConfirmationRequired``."""
        recent = self._recent_losses()
        used = (
            f"; it revokes {token_loss.describe(recent)}, used in the last "
            f"{token_loss.RECENT_USE_DAYS} days (it may be the live sync)"
            if recent
            else ""
        )
        if getattr(self, "_tokens_hidden", None):
            used += f"; which grants it revokes could not be read ({self._tokens_hidden})"
        # What the step knows (facts §10.1): users without pre-authorization lose their tokens; the vendor
        # article says all users may be logged out. The grants at stake are the ones _warn_logout listed.
        effect = (
            "revoking the tokens of its users without pre-authorization (the vendor article says it may "
            "log out all users of the app; the grants listed above are the ones at stake)"
        )
        if self.options["confirm_logout"]:
            self._logout_confirmed = True
            return
        if self.options["interactive"] and stdin_is_tty():
            if click.confirm(
                f"Switch {self.app['Name']} to admin approved users now, {effect}{used}?",
                default=False,
            ):
                self._record_confirmation(
                    f"switch {self.app['Name']} to admin approved users, {effect}{used}"
                )
                self._logout_confirmed = True
                return
        raise ConfirmationRequired(
            f"Not changed: switching {self.app['Name']} to 'Admin approved users are pre-authorized' revokes "
            "the tokens of users without pre-authorization, and the vendor article says it may log out all "
            f"users of the app; the grants listed above are the ones at stake{used}. Confirm with "
            "-o sixsense_set_permitted_users__confirm_logout True (or run interactively), then run the flow "
            "again. Nothing was written or instructed."
        )

    def _run_etl(self, member):
        task = MergeConnectedAppPolicy(
            self.project_config,
            TaskConfig({"options": {"api_names": member, "managed": False, "policy": self.policy}}),
            self.org_config,
            logger=self.logger,
        )
        task()
        self._etl_changes = list(task.changes)
        if not task.changes:
            self.logger.info("The retrieved ConnectedApp already matches the policy template.")

    def _instructions(self):
        return [
            "In Salesforce, log in as a System Administrator.",
            f"Open Setup > Apps > Connected Apps > Connected Apps OAuth Usage: {self._oauth_usage_url()}",
            f"Locate {(self.app or {}).get('Name') or ' or '.join(self.app_names)} and select Manage App "
            "Policies, then Edit Policies.",
            "Under OAuth Policies, set Permitted Users to 'Admin approved users are pre-authorized'.",
            "Select OK to confirm (Salesforce revokes the tokens of users without pre-authorization; the "
            "vendor article says it may log out all users of the app), then Save.",
        ]
