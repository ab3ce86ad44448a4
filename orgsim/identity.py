"""Who is who in the org: its identity and features, users and their permissions, and API sessions (access
and refresh tokens, authorization codes). Each rule cites ``../shared/docs/salesforce-facts.md`` ("facts §N").

:class:`Identity` is a part of ``platform.Org``; it reads and writes the org's ``store`` only.
"""

from __future__ import annotations

import secrets
from typing import Any

from orgsim import schema
from orgsim.errors import SalesforceError
from orgsim.store import Store


class Identity:
    """The org's identity, users, permissions and sessions. All methods take ``self.lock`` (the store's lock)."""

    def __init__(self, store: Store):
        self.store = store
        self.lock = store.lock

    # -- identity and features --------------------------------------------------------------------------

    @property
    def scenario(self) -> dict[str, Any]:
        return self.store.meta("scenario")

    @property
    def org_id(self) -> str:
        return self.store.meta("org_id")

    @property
    def app_name(self) -> str:
        """The 6sense connected app's name as this org sees it (scenario ``app.name``)."""
        return self.scenario["app"]["name"]

    def features(self) -> set[str]:
        """Org features that gate schema fields: ``api_access_control`` when Support provisioned it
        (facts §1.2: ``PermissionsUseAnyApiClient`` exists only then)."""
        return {"api_access_control"} if self.acc_provisioned else set()

    @property
    def acc_provisioned(self) -> bool:
        return bool(self.store.meta("acc", {}).get("provisioned"))

    @property
    def acc_enforcing(self) -> bool:
        """API Access Control "limit API access to only allowlisted connected apps" is on (facts §2)."""
        acc = self.store.meta("acc", {})
        return bool(acc.get("provisioned") and acc.get("enforcing"))

    @property
    def connected_app_metadata_retrievable(self) -> bool:
        """Scenario flag: whether the installed third-party app is visible to the Metadata API as a
        ``ConnectedApp`` (facts §6.1: "not established", so both behaviours are modelled)."""
        return bool(self.scenario["features"]["connected_app_metadata_retrievable"])

    def user(self, user_id: str) -> dict | None:
        return self.store.get("User", user_id)

    def user_by_username(self, username: str) -> dict | None:
        return self.store.find_one("User", Username=username)

    def permission_set_ids(self, user_id: str) -> list[str]:
        """The user's profile-owned permission set and every assigned one (facts §5: a profile is reached
        through its profile-owned PermissionSet; real orgs return a PermissionSetAssignment for it)."""
        rows = self.store.find("PermissionSetAssignment", AssigneeId=user_id)
        return [r["PermissionSetId"] for r in rows]

    def has_permission(self, user_id: str, permission: str) -> bool:
        """Whether the user holds a user permission (API name without ``Permissions``, e.g.
        ``CanApproveUninstalledApps``) through the profile or any assigned permission set (facts §1.1)."""
        column = "Permissions" + permission
        if column not in self.store.columns("PermissionSet"):
            return False
        for ps_id in self.permission_set_ids(user_id):
            row = self.store.get("PermissionSet", ps_id)
            if row and row.get(column):
                return True
        return False

    def known_user_permissions(self) -> set[str]:
        """User permission API names this org knows: the ``Permissions*`` fields of PermissionSet visible
        with the org's features, minus the prefix (facts §1.1 naming convention; ``UseAnyApiClient`` only
        where API Access Control is provisioned, facts §1.2)."""
        obj = schema.OBJECTS["PermissionSet"]
        return {
            f.name[len("Permissions") :]
            for f in schema.visible_fields(obj, self.features())
            if f.name.startswith("Permissions")
        }

    # -- sessions ---------------------------------------------------------------------------------------

    def issue_session(self, user_id: str, *, refresh: bool = True) -> dict[str, str]:
        """Mint an opaque access token (and refresh token) acting as ``user_id``."""
        access = f"{self.org_id[:15]}!{secrets.token_urlsafe(40)}"
        now = self.store.now()
        self.store.sim_put(
            "session",
            {"token": access, "kind": "access", "user_id": user_id, "created": now},
            bump=False,
        )
        out = {"access_token": access}
        if refresh:
            rt = "5Aep861" + secrets.token_urlsafe(60)
            self.store.sim_put(
                "session",
                {"token": rt, "kind": "refresh", "user_id": user_id, "created": now},
                bump=False,
            )
            out["refresh_token"] = rt
        return out

    def session_user(self, token: str | None) -> dict:
        """The active user an access token acts as. Raises ``SalesforceError`` 401 ``INVALID_SESSION_ID``
        "Session expired or invalid" for unknown tokens and inactive users, and 403 ``API_CURRENTLY_DISABLED``
        for users without ApiEnabled ("To make any API call, a user must have the API Enabled permission",
        facts §1.3)."""
        rows = self.store.sim_rows("session", token=token or "", kind="access") if token else []
        user = self.user(rows[0]["user_id"]) if rows else None
        if not user or not user.get("IsActive", 1):
            raise SalesforceError("INVALID_SESSION_ID", "Session expired or invalid", status=401)
        if not self.has_permission(user["Id"], "ApiEnabled"):
            raise SalesforceError(
                "API_CURRENTLY_DISABLED", "API is disabled for this User", status=403
            )
        return user

    def redeem(self, token: str, kind: str) -> dict | None:
        """The user behind a refresh token or a one-time authorization ``code`` (codes are consumed)."""
        rows = self.store.sim_rows("session", token=token, kind=kind)
        if not rows:
            return None
        if kind == "code":
            self.store.sim_delete("session", token=token)
        return self.user(rows[0]["user_id"])

    def issue_code(self, user_id: str) -> str:
        code = "aPrx" + secrets.token_urlsafe(24)
        self.store.sim_put(
            "session",
            {"token": code, "kind": "code", "user_id": user_id, "created": self.store.now()},
            bump=False,
        )
        return code

    # -- seed-time writes ---------------------------------------------------------------------------------

    def put(self, sobject: str, values: dict[str, Any]) -> str:
        """Seed-time insert: keeps only the columns this schema has (so the catalogue can grow or shrink)."""
        cols = self.store.columns(sobject)
        return self.store.insert(sobject, {k: v for k, v in values.items() if k in cols})

    def connected_user(self) -> dict:
        return self.user(self.store.meta("connected_user_id"))
