"""The connected-app lifecycle on Connected Apps OAuth Usage and Manage Connected Apps (facts §3, §4, §7):
the app's state, OAuth authorization and its tokens, Install, the Permitted Users policy, Block / Unblock,
and the admin-approved access rows. Each rule cites ``../shared/docs/salesforce-facts.md`` ("facts §N").

:class:`ConnectedApps` is a part of ``platform.Org`` (it uses ``Identity``'s users and permissions).
Apps that are not connected apps (the External Client App) answer ``authorize`` through
``registry.app_handler``.
"""

from __future__ import annotations

import datetime as _dt
import secrets
from typing import Any

from orgsim import registry
from orgsim.errors import ActionError
from orgsim.store import parse_datetime

#: facts §10.1 "Per-user token cap" (field-cases.md finding 8): Salesforce keeps 5 tokens per user per app and a
#: new authorization beyond it silently revokes the oldest (``grant_token``).
TOKENS_PER_USER_PER_APP = 5


class ConnectedApps:
    """Connected apps as the admin and the user see them: state, authorize, install, policy, block."""

    # -- the connected-app lifecycle (facts §3, §4, §7) -----------------------------------------------------

    def app_state(self, app: str | None = None) -> dict[str, Any]:
        """The app as OAuth Usage sees it: ``name, label, consumer_key, visible, blocked, installed,
        admin_approved, connected_application_id, app_menu_item_id, policy_modified, user_count``.
        Raises ``ActionError("unknown_app")`` for an app the org has never heard of."""
        name = app or self.app_name
        rows = self.store.sim_rows("app", name=name)
        if not rows:
            raise ActionError("unknown_app", f"no connected app named '{name}' in this org")
        row = rows[0]
        ca = self.store.find_one("ConnectedApplication", Name=name)
        ami = self.store.find_one("AppMenuItem", ApplicationId=ca["Id"]) if ca else None
        users = {t["UserId"] for t in self.store.find("OauthToken", AppName=row["label"])}
        return {
            "name": name,
            "label": row["label"],
            "consumer_key": row["consumer_key"],
            "visible": bool(row["visible"]),
            "blocked": bool(row["blocked"]),
            "installed": ca is not None,
            "admin_approved": bool(ca and ca.get("OptionsAllowAdminApprovedUsersOnly")),
            "connected_application_id": ca["Id"] if ca else None,
            "app_menu_item_id": ami["Id"] if ami else None,
            "policy_modified": ca.get("LastModifiedDate") if ca else None,
            "user_count": len(users),
        }

    def apps(self) -> list[dict[str, Any]]:
        return [self.app_state(r["name"]) for r in self.store.sim_rows("app")]

    def is_pre_authorized(self, user_id: str, app: str | None = None) -> bool:
        """Admin-approved access (facts §5): a SetupEntityAccess row from the user's profile-owned permission
        set or an assigned permission set to the app's ConnectedApplication."""
        state = self.app_state(app)
        if not state["installed"]:
            return False
        granted = {
            r["ParentId"]
            for r in self.store.find(
                "SetupEntityAccess", SetupEntityId=state["connected_application_id"]
            )
        }
        return bool(granted & set(self.permission_set_ids(user_id)))

    def authorize(self, username: str, app: str | None = None) -> dict[str, Any]:
        """The OAuth authorization of the app as ``username`` (what the user does in 6sense; facts §7.3).

        Outcomes, checked in this order:

        - the attempt makes the app visible on Connected Apps OAuth Usage, even when denied (facts §4.1:
          the page "also displays usage attempts that Salesforce automatically denied");
        - inactive, frozen or password-locked user -> ``invalid_grant`` (``Identity.login_refusal``: the
          user cannot log in, so the app is never asked);
        - blocked on OAuth Usage -> ``OAUTH_APP_BLOCKED`` "this app is blocked by admin" (facts §6.2, §7.3);
        - not installed and API Access Control enforcing -> ``OAUTH_APP_BLOCKED`` (facts §2, §7.1);
        - not installed and the user lacks CanApproveUninstalledApps (profile or any assigned permission set)
          -> ``OAUTH_APPROVAL_ERROR_GENERIC`` with error ``invalid_client`` / "app must be installed into org"
          (facts §7.2, §7.3; UseAnyApiClient no longer helps since Dec 2025, facts §1.3);
        - installed, admin-approved and the user not pre-authorized -> ``invalid_app_access`` "user is not
          admin approved to access this app" (facts §7.3);
        - otherwise an OauthToken row for the user and app (CreatedDate now, AppMenuItemId when installed,
          random AccessToken/DeleteToken). At most 5 per user per app: the oldest is revoked
          (facts §10.1 "Per-user token cap").

        Returns ``{"ok": True, "user_id", "app", "created"}``; raises :class:`ActionError`.
        """
        other = registry.app_authorizer(app)  # an app that is not a connected app (the 6sense ECA)
        if other is not None:
            with self.lock:
                return other(self, username)
        with self.lock:
            state = self.app_state(app)
            user = self.user_by_username(username)
            if not user:
                raise ActionError("invalid_grant", "authentication failure")
            login = self.login_refusal(user)  # the user logs in before the app is asked
            if login:
                raise ActionError(*login)
            refusal = self.authorization_refusal(state, user)
            if refusal:
                raise ActionError(*refusal)
            created = self.grant_token(user["Id"], state)
            return {"ok": True, "user_id": user["Id"], "app": state["name"], "created": created}

    def authorization_refusal(self, state: dict, user: dict) -> tuple[str, str] | None:
        """Why the org refuses ``user``'s authorization of the app ``state`` (:meth:`app_state`), as
        ``(error, error_description)``, or ``None``; the rules of :meth:`authorize`, in its order. The
        attempt makes the app visible on OAuth Usage even when refused (facts §4.1). Used by
        :meth:`authorize` and by the OAuth authorize endpoint for every client (``oauth.py``)."""
        if not state["visible"]:
            self._set_app(state["name"], visible=1)
        if state["blocked"]:
            return ("OAUTH_APP_BLOCKED", "this app is blocked by admin")
        if not state["installed"]:
            if self.acc_enforcing:
                return ("OAUTH_APP_BLOCKED", "this app is blocked by admin")
            if not self.has_permission(user["Id"], "CanApproveUninstalledApps"):
                return ("OAUTH_APPROVAL_ERROR_GENERIC", "app must be installed into org")
        elif state["admin_approved"] and not self.is_pre_authorized(user["Id"], state["name"]):
            return ("invalid_app_access", "user is not admin approved to access this app")
        return None

    def grant_token(
        self,
        user_id: str,
        state: dict,
        *,
        created: str | None = None,
        last_used: str | None = None,
        use_count: int = 1,
    ) -> str:
        created = created or self.store.now()
        values = {
            "Id": None,
            "AppName": state["label"],
            "UserId": user_id,
            "AppMenuItemId": state["app_menu_item_id"],
            "CreatedDate": created,
            "LastUsedDate": last_used or created,
            "UseCount": use_count,
            "AccessToken": secrets.token_hex(16),
            "DeleteToken": secrets.token_hex(16),
        }
        values = {k: v for k, v in values.items() if k in self.store.columns("OauthToken")}
        self.store.insert("OauthToken", values)
        tokens = sorted(
            self.store.find("OauthToken", UserId=user_id, AppName=state["label"]),
            key=lambda t: t["CreatedDate"],
        )
        for old in tokens[: max(0, len(tokens) - TOKENS_PER_USER_PER_APP)]:
            self.revoke_token(old)
        return created

    def revoke_token(self, token_row: dict) -> None:
        with self.lock:
            self.store.conn.execute(
                'DELETE FROM "OauthToken" WHERE DeleteToken = ?', (token_row["DeleteToken"],)
            )
            self.store.bump()

    def _set_app(self, name: str, **values) -> None:
        sets = ", ".join(f"{k} = ?" for k in values)
        with self.lock:
            self.store.conn.execute(
                f"UPDATE _sim_app SET {sets} WHERE name = ?", [*values.values(), name]
            )
            self.store.bump()

    def install(
        self, app: str | None = None, *, installed_at: str | None = None, by: str | None = None
    ) -> dict[str, Any]:
        """Install on Connected Apps OAuth Usage (facts §7.1). Only an app listed there can be installed
        (seed troubleshooting: "If you don't see the Install button, repeat Step 1"). Creates the
        ConnectedApplication row (``OptionsAllowAdminApprovedUsersOnly`` false: after Install the default is
        "All users may self-authorize", facts §7.1, §3) and an AppMenuItem (``Type`` ConnectedApplication,
        ``ApplicationId``, facts §4.2); the app's existing tokens gain that ``AppMenuItemId`` (facts §4.1).
        Its SetupAuditTrail entry (:meth:`audit`) is by ``by`` (a User Id), else the admin of the human steps."""
        with self.lock:
            state = self.app_state(app)
            if not state["visible"]:
                raise ActionError("not_visible", "app not listed on Connected Apps OAuth Usage")
            if state["installed"]:
                return {
                    "ok": True,
                    "already": True,
                    "connected_application_id": state["connected_application_id"],
                }
            ca_values = {
                "Name": state["name"],
                "OptionsAllowAdminApprovedUsersOnly": 0,
                **self.refresh_token_fields(state["name"]),
            }
            if installed_at:
                ca_values.update(
                    CreatedDate=installed_at,
                    LastModifiedDate=installed_at,
                    SystemModstamp=installed_at,
                )
            if by:
                ca_values.update(CreatedById=by, LastModifiedById=by)
            ca_values = {
                k: v
                for k, v in ca_values.items()
                if k in self.store.columns("ConnectedApplication")
            }
            ca_id = self.store.insert("ConnectedApplication", ca_values)
            ami_values = {
                "Name": state["name"],
                "Label": state["label"],
                "Type": "ConnectedApplication",
                "ApplicationId": ca_id,
                "IsUsingAdminAuthorization": 0,
                "IsVisible": 1,
                "IsAccessible": 1,
            }
            ami_values = {
                k: v for k, v in ami_values.items() if k in self.store.columns("AppMenuItem")
            }
            ami_id = self.store.insert("AppMenuItem", ami_values)
            with self.lock:
                self.store.conn.execute(
                    'UPDATE "OauthToken" SET AppMenuItemId = ? WHERE AppName = ?',
                    (ami_id, state["label"]),
                )
            self.audit(
                "Connected Apps",
                "connectedAppInstall",
                f"Installed connected app {state['label']}",
                at=installed_at,
                by=by,
            )
            return {"ok": True, "connected_application_id": ca_id}

    def refresh_token_fields(self, name: str) -> dict[str, Any]:
        """``RefreshTokenValidityPeriod`` and ``OptionsRefreshTokenValidityMetric`` of the app's
        ConnectedApplication row, from its refresh-token policy (``app_policies``, as ConnectedApp
        metadata shows it, facts §6.1): ``specific_lifetime:N:UNIT`` -> N, metric false (validity from
        issue); ``specific_inactivity:N:UNIT`` -> N, metric true ("evaluated based on when the token was
        last used", Object Reference "ConnectedApplication"); ``infinite`` and ``zero`` -> null, false."""
        policy = (self.store.meta("app_policies", {}).get(name) or {}).get(
            "refresh_token_policy", "infinite"
        )
        kind, _, rest = policy.partition(":")
        period = int(rest.split(":")[0]) if rest else None
        return {
            "RefreshTokenValidityPeriod": period,
            "OptionsRefreshTokenValidityMetric": int(kind == "specific_inactivity"),
        }

    def sync_refresh_token_fields(self, name: str) -> None:
        """After a policy change (a ConnectedApp deploy's ``oauthPolicy``): the installed app's row follows."""
        ca = self.store.find_one("ConnectedApplication", Name=name)
        if ca:
            self.store.update("ConnectedApplication", ca["Id"], self.refresh_token_fields(name))

    def audit(
        self,
        section: str,
        action: str,
        display: str,
        *,
        at: str | None = None,
        by: str | None = None,
    ) -> None:
        """A SetupAuditTrail entry (facts §10.4) for a Setup change: ``Section`` (the Setup menu section),
        ``Display`` (naming the app), ``Action`` (the values Salesforce writes for connected-app changes
        are not documented: UNCERTAIN, so clients should match Section and Display, as facts §10.4 says),
        ``CreatedDate`` (``at`` or now) and ``CreatedById``: ``by``, else the admin who does the human steps
        (scenario ``autopilot.setup_user``, the connected user by default). Salesforce keeps at least 180
        days: entries older than that (a scenario's past) are not written."""
        at = at or self.store.now()
        cutoff = _dt.datetime.now(_dt.UTC) - _dt.timedelta(days=180)
        if parse_datetime(at) < cutoff:
            return
        if by is None:
            admin = (self.scenario.get("autopilot") or {}).get("setup_user")
            user = self.user_by_username(admin) if admin else None
            by = (user or self.connected_user())["Id"]
        self.store.insert(
            "SetupAuditTrail",
            {
                "Action": action,
                "Section": section,
                "Display": display,
                "CreatedDate": at,
                "CreatedById": by,
            },
        )

    def set_policy(
        self,
        permitted_users: str,
        app: str | None = None,
        *,
        at: str | None = None,
        by: str | None = None,
    ) -> dict[str, Any]:
        """Edit Policies > Permitted Users (facts §3, §6.1, §7.1).

        ``admin_approved``: ``ConnectedApplication.OptionsAllowAdminApprovedUsersOnly`` true,
        ``AppMenuItem.IsUsingAdminAuthorization`` true, LastModifiedDate now, and the tokens of users who are
        not pre-authorized are revoked ("anyone using the app loses access" unless their profile or permission
        set authorizes it, facts §7.1); where the scenario sets ``features.admin_approval_revokes: all``, an
        actual switch revokes every token of the app (the vendor article's "the system logs out all users";
        facts §10.1: which text holds is UNCERTAIN). The rule is ``Identity.admin_approval_revokes``, shared
        with the ECA. ``all_users`` sets both flags back to false. Requires an installed app.
        """
        if permitted_users not in ("admin_approved", "all_users"):
            raise ActionError(
                "invalid_request", "permitted_users must be admin_approved or all_users"
            )
        with self.lock:
            state = self.app_state(app)
            if not state["installed"]:
                raise ActionError(
                    "not_installed", "install the app on Connected Apps OAuth Usage first"
                )
            flag = 1 if permitted_users == "admin_approved" else 0
            at = at or self.store.now()
            self.store.update(
                "ConnectedApplication",
                state["connected_application_id"],
                {
                    "OptionsAllowAdminApprovedUsersOnly": flag,
                    "LastModifiedDate": at,
                    "SystemModstamp": at,
                    **({"LastModifiedById": by} if by else {}),
                },
            )
            if state["app_menu_item_id"] and "IsUsingAdminAuthorization" in self.store.columns(
                "AppMenuItem"
            ):
                self.store.update(
                    "AppMenuItem", state["app_menu_item_id"], {"IsUsingAdminAuthorization": flag}
                )
            labels = {
                "admin_approved": "Admin approved users are pre-authorized",
                "all_users": "All users may self-authorize",
            }
            if bool(flag) != state["admin_approved"]:
                self.audit(
                    "Connected Apps",
                    "connectedAppPermittedUsers",
                    f"Changed Permitted Users for connected app {state['label']} to "
                    f"{labels[permitted_users]}",
                    at=at,
                    by=by,
                )
            revoked = 0
            if flag:
                for tok in self.store.find("OauthToken", AppName=state["label"]):
                    if self.admin_approval_revokes(
                        switched=not state["admin_approved"],
                        pre_authorized=self.is_pre_authorized(tok["UserId"], state["name"]),
                    ):
                        self.revoke_token(tok)
                        revoked += 1
            return {"ok": True, "permitted_users": permitted_users, "revoked_tokens": revoked}

    def block(self, app: str | None = None) -> dict[str, Any]:
        """Block on OAuth Usage: the app becomes a BlacklistedConsumer; "blocking ends all sessions and
        prevents new ones" (facts §6.2), so all its tokens are revoked."""
        with self.lock:
            state = self.app_state(app)
            if not state["visible"]:
                raise ActionError("not_visible", "app not listed on Connected Apps OAuth Usage")
            self._set_app(state["name"], blocked=1)
            tokens = self.store.find("OauthToken", AppName=state["label"])
            for tok in tokens:
                self.revoke_token(tok)
            return {"ok": True, "revoked_tokens": len(tokens)}

    def unblock(self, app: str | None = None) -> dict[str, Any]:
        """Unblock on OAuth Usage (facts §7.1: with API Access Control on, Install then Unblock)."""
        with self.lock:
            state = self.app_state(app)
            self._set_app(state["name"], blocked=0)
            return {"ok": True}

    def set_access(self, app: str, permission_set_ids: list[str]) -> None:
        """Replace the app's SetupEntityAccess rows with exactly these parents (ConnectedApp
        ``permissionSetName``/``profileName`` are full state, facts §6.1)."""
        state = self.app_state(app)
        ca_id = state["connected_application_id"]
        current = {
            r["ParentId"]: r for r in self.store.find("SetupEntityAccess", SetupEntityId=ca_id)
        }
        for parent, row in current.items():
            if parent not in permission_set_ids:
                self.store.delete("SetupEntityAccess", row["Id"])
        for parent in permission_set_ids:
            if parent not in current:
                self.store.insert(
                    "SetupEntityAccess",
                    {
                        "ParentId": parent,
                        "SetupEntityId": ca_id,
                        "SetupEntityType": "ConnectedApplication",
                    },
                )
