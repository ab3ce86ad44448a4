"""Who is who in the org: its identity and features, users and their permissions, and API sessions (access
and refresh tokens, authorization codes). Each rule cites ``../shared/docs/salesforce-facts.md`` ("facts §N").

:class:`Identity` is a part of ``platform.Org``; it reads and writes the org's ``store`` only.
"""

from __future__ import annotations

import hmac
import secrets
import time
from typing import Any

from orgsim import schema
from orgsim.errors import ActionError, SalesforceError
from orgsim.store import Store

#: The clients the tool logs in with (facts §10.1: CumulusCI's built-in connected app, or the sf CLI's):
#: app name -> (consumer key, callback URLs). CumulusCI's key and callback are cumulusci's
#: ``DEFAULT_CONNECTED_APP`` (cumulusci/core/keychain/base_project_keychain.py); the sf CLI's client id is
#: ``PlatformCLI`` with callback ``http://localhost:1717/OauthRedirect`` (@salesforce/core's default OAuth
#: options). Both are public clients (no secret). Their labels on OAuth Usage are UNCERTAIN.
TOOL_CLIENTS: dict[str, tuple[str, list[str]]] = {
    "CumulusCI": (
        "3MVG9i1HRpGLXp.or6OVlWVWyn8DXi9xueKNM4npq_AWh.yqswojK9sE5WY7f.biP0w7bNJIENfXc7JMDZGO1",
        ["http://localhost:7788/callback"],
    ),
    "Salesforce CLI": ("PlatformCLI", ["http://localhost:1717/OauthRedirect"]),
}
#: The client ``cci`` is connected through in every simulated org (``server.start``'s session).
TOOL_CLIENT = "CumulusCI"
#: Seconds an authorization code stays valid (RFC 6749 §4.1.2 recommends at most 10 minutes).
AUTH_CODE_LIFETIME_S = 600


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

    @property
    def admin_approval_revokes_all(self) -> bool:
        """Scenario flag ``features.admin_approval_revokes: all``: the Permitted Users switch to admin approved
        revokes every token of the app, as the vendor article says ("the system logs out all users"); by
        default only the tokens of users without pre-authorization (facts §7.1). Facts §10.1: which text holds
        is UNCERTAIN, so both are modelled and the tool checks by query whose tokens survived."""
        return self.scenario["features"].get("admin_approval_revokes") == "all"

    def admin_approval_revokes(self, *, switched: bool, pre_authorized: bool) -> bool:
        """Whether setting an app's Permitted Users to admin approved revokes one user's token of it: the one
        rule for a connected app (``ConnectedApps.set_policy``) and the 6sense ECA (``eca.set_policies``,
        ``AdminApprovedPreAuthorized``) alike. A user without pre-authorization always loses it ("anyone using
        the app loses access" unless their profile or permission set authorizes it, facts §7.1, VERIFIED for
        ECAs); where :attr:`admin_approval_revokes_all`, an actual switch (``switched``: it was
        self-authorize) revokes every token ("the system logs out all users", the vendor article; facts
        §10.1: which text holds is UNCERTAIN). Setting it again when already admin approved logs nobody
        out who is pre-authorized."""
        return not pre_authorized or (switched and self.admin_approval_revokes_all)

    def user(self, user_id: str) -> dict | None:
        return self.store.get("User", user_id)

    def user_by_username(self, username: str) -> dict | None:
        return self.store.find_one("User", Username=username)

    def count_api_request(self) -> tuple[int, int]:
        """Count one API request against the org's daily allowance; returns ``(used, allowance)`` for the
        ``Sforce-Limit-Info: api-usage=used/allowance`` header (REST API Developer Guide "Limit Info
        Header": "the daily API usage for the organization ... The first number is the number of API calls
        used, and the second number is the API limit"). The allowance is the scenario's
        ``org.daily_api_requests``; the count starts at ``org.api_requests_used`` and never rolls over
        during a run (a simulator run is far shorter than Salesforce's 24-hour window).

        Past the allowance the request is refused and not counted: 403 ``REQUEST_LIMIT_EXCEEDED``
        "TotalRequests Limit exceeded." (VERIFIED-3P: the status and body seen from real orgs, e.g.
        gist rickysaltzer/4542457, SalesforceLabs/OrgCheck#181; the REST status-code table lists 403
        for exceeded request limits). Real orgs may allow short bursts past the allowance (the header's
        ``api-bursts``); the simulator refuses at once (UNCERTAIN which an org does on a given day)."""
        org = self.scenario["org"]
        allowance = org.get("daily_api_requests", 100_000)
        used = self.store.meta("api_usage", org.get("api_requests_used", 0))
        if used >= allowance:
            raise SalesforceError(
                "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", status=403
            )
        self.store.set_meta("api_usage", used + 1)  # not a change of the org: no version bump
        return used + 1, allowance

    def api_usage(self) -> tuple[int, int]:
        """``(used, allowance)`` without counting (see :meth:`count_api_request`)."""
        org = self.scenario["org"]
        return (
            self.store.meta("api_usage", org.get("api_requests_used", 0)),
            org.get("daily_api_requests", 100_000),
        )

    def login_refusal(self, user: dict) -> tuple[str, str] | None:
        """Why ``user`` cannot log in (a new OAuth authorization or token grant), as ``(error,
        error_description)``, or ``None``: inactive -> ``invalid_grant`` "inactive user" (restforce#303);
        frozen or password-locked (its UserLogin row: "If a user's account is frozen, they can't log in",
        Object Reference "UserLogin"; locked "because of too many login failures") -> ``invalid_grant``
        "authentication failure" (the wording for these two is UNCERTAIN). Sessions issued before a freeze
        stay valid here (UNCERTAIN: no source says a freeze ends them)."""
        if not user.get("IsActive", 1):
            return ("invalid_grant", "inactive user")
        login = self.store.find_one("UserLogin", UserId=user["Id"])
        if login and (login.get("IsFrozen") or login.get("IsPasswordLocked")):
            return ("invalid_grant", "authentication failure")
        return None

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

    # -- OAuth clients (facts §10.1; docs/salesforce-oauth-metadata.md) -----------------------------------

    def _oauth_tables(self) -> None:
        """``_sim_grant(token, client_key, redirect_uri, delete_token, issued)``: which client a session,
        refresh token or authorization code belongs to, the redirect URI a code was issued for, the
        OauthToken row (``DeleteToken``) an authorization created, and when (epoch seconds). Created on
        first use (a state file written before this table existed gains it)."""
        if getattr(self, "_grant_table", False):
            return
        self._grant_table = True
        with self.lock:
            self.store.conn.execute(
                "CREATE TABLE IF NOT EXISTS _sim_grant (token TEXT PRIMARY KEY, client_key TEXT, "
                "redirect_uri TEXT, delete_token TEXT, issued REAL)"
            )

    def register_oauth_client(
        self,
        consumer_key: str,
        name: str,
        *,
        secret: str | None,
        callback_urls: list[str],
        certificate: str | None = None,
    ) -> None:
        """Register a client the token endpoint accepts: ``name`` is its app on Connected Apps OAuth Usage
        (a ``_sim_app`` row), ``secret`` ``None`` for a public client (CumulusCI's built-in app and the sf
        CLI have none), ``callback_urls`` the redirect URIs it may use, ``certificate`` the PEM a JWT
        bearer assertion must be signed for (``None``: the app does not use digital signatures)."""
        clients = dict(self.store.meta("oauth_clients", {}))
        clients[consumer_key] = {
            "name": name,
            "secret": secret,
            "callback_urls": list(callback_urls),
            "certificate": certificate,
        }
        self.store.set_meta("oauth_clients", clients)

    def oauth_client(self, consumer_key: str | None) -> dict | None:
        """The registered client ``{"consumer_key", "name", "secret", "callback_urls", "certificate"}``,
        or ``None`` for a client id this org does not know."""
        entry = self.store.meta("oauth_clients", {}).get(consumer_key or "")
        return {"consumer_key": consumer_key, **entry} if entry else None

    def set_client_certificate(self, consumer_key: str, certificate_pem: str) -> None:
        """Upload a certificate to a client's "Use digital signatures" setting (JWT bearer flow).
        Raises :class:`ActionError` ``invalid_client_id`` for an unknown client."""
        client = self.oauth_client(consumer_key)
        if client is None:
            raise ActionError("invalid_client_id", "client identifier invalid")
        self.register_oauth_client(
            consumer_key,
            client["name"],
            secret=client["secret"],
            callback_urls=client["callback_urls"],
            certificate=certificate_pem,
        )

    def check_client(
        self, client_id: str | None, client_secret: str | None, *, secret_required: bool
    ) -> dict:
        """The registered client for a token request, or :class:`ActionError`:

        - unknown or missing ``client_id`` -> ``invalid_client_id`` "client identifier invalid" (Salesforce's
          400 body, quoted in omniphx/forrest#184 and restforce/restforce#46);
        - a wrong secret, or none where one is required -> ``invalid_client`` "invalid client credentials"
          (restforce/restforce#338). A public client (no secret) that sends one is refused the same way
          (UNCERTAIN: when in doubt, refuse);
        - a client whose app is blocked on Connected Apps OAuth Usage (a BlacklistedConsumer) ->
          ``app_blocked`` "this app is blocked by admin" (facts §6.2: "Blocking ends all sessions and prevents
          new ones", and that error body). Which Salesforce checks first, the block or the grant (a block also
          revokes the app's refresh tokens), is not documented: the client is checked before its grant here,
          as ``invalid_client_id`` is, so a refresh through a blocked app says ``app_blocked``.
        """
        client = self.oauth_client(client_id)
        if client is None:
            raise ActionError("invalid_client_id", "client identifier invalid")
        self.refuse_blocked_client(client)
        expected = client["secret"]
        if client_secret:
            if expected is None or not hmac.compare_digest(
                client_secret.encode(), expected.encode()
            ):
                raise ActionError("invalid_client", "invalid client credentials")
        elif expected is not None and secret_required:
            raise ActionError("invalid_client", "invalid client credentials")
        return client

    def refuse_blocked_client(self, client: dict) -> None:
        """:class:`ActionError` ``app_blocked`` "this app is blocked by admin" when ``client``'s app is
        blocked on Connected Apps OAuth Usage (facts §6.2); every grant checks it (:meth:`check_client`, the
        JWT bearer grant)."""
        app = self.store.sim_rows("app", name=client["name"])
        if app and app[0]["blocked"]:
            raise ActionError("app_blocked", "this app is blocked by admin")

    def client_allowlisted(self, user_id: str, consumer_key: str) -> bool:
        """Whether API Access Control lets ``user_id`` call the API through this client (facts §2, §1.3):
        the user holds Use Any API Client ("unrestricted API access under API Access Control", KB 005228838),
        or the client's app is installed, set to "Admin approved users are pre-authorized" and the user is
        pre-authorized through the profile or a permission set (SetupEntityAccess, facts §5)."""
        if self.has_permission(user_id, "UseAnyApiClient"):
            return True
        client = self.oauth_client(consumer_key)
        if client is None:
            return False
        state = self.app_state(client["name"])  # ConnectedApps, composed into platform.Org
        return bool(
            state["installed"]
            and state["admin_approved"]
            and self.is_pre_authorized(user_id, client["name"])
        )

    # -- sessions ---------------------------------------------------------------------------------------

    def issue_session(
        self,
        user_id: str,
        *,
        refresh: bool = True,
        client_key: str | None = None,
        authorization: bool = False,
        delete_token: str | None = None,
    ) -> dict[str, str]:
        """Mint an opaque access token (and refresh token) acting as ``user_id``.

        ``client_key``: the client the session belongs to (API Access Control applies to it,
        :meth:`session_user`); ``None`` only for sessions the tests mint directly, which belong to no client.
        ``authorization``: a new authorization of that client by the user: it creates an OauthToken row for
        the user and the client's app (facts §4.1), capped per user per app (facts §10.1: the oldest is
        revoked, and then its refresh token and sessions stop working). ``delete_token``: the OauthToken row
        of the earlier authorization a refreshed session comes from."""
        access = f"{self.org_id[:15]}!{secrets.token_urlsafe(40)}"
        now = self.store.now()
        if client_key is not None:
            self._oauth_tables()
            if authorization:
                state = self.app_state(self.oauth_client(client_key)["name"])
                created = self.grant_token(
                    user_id, state
                )  # ConnectedApps, composed into platform.Org
                row = self.store.find_one(
                    "OauthToken", UserId=user_id, AppName=state["label"], CreatedDate=created
                )
                delete_token = row["DeleteToken"] if row else None
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
        if client_key is not None:
            for token in out.values():
                self.store.sim_put(
                    "grant",
                    {
                        "token": token,
                        "client_key": client_key,
                        "delete_token": delete_token,
                        "issued": time.time(),
                    },
                    bump=False,
                )
        return out

    def grant_of(self, token: str | None) -> dict | None:
        """The ``_sim_grant`` row of a session, refresh token or code (``None`` for a client-less one)."""
        self._oauth_tables()
        rows = self.store.sim_rows("grant", token=token or "")
        return rows[0] if rows else None

    def _grant_revoked(self, grant: dict | None) -> bool:
        """A session or refresh token whose OauthToken row was revoked (cap, block, policy change) is dead."""
        if not grant or not grant.get("delete_token"):
            return False
        return self.store.find_one("OauthToken", DeleteToken=grant["delete_token"]) is None

    def session_user(self, token: str | None, *, api: bool = True) -> dict:
        """The active user an access token acts as. Raises ``SalesforceError`` 401 ``INVALID_SESSION_ID``
        "Session expired or invalid" for unknown tokens, inactive users and sessions whose OauthToken row
        was revoked, and 403 ``API_CURRENTLY_DISABLED`` for users without ApiEnabled ("To make any API
        call, a user must have the API Enabled permission", facts §1.3).

        ``api`` (REST, Tooling, Metadata SOAP, Setup pages): where API Access Control is enforcing and the
        session's client is not allowlisted for the user (:meth:`client_allowlisted`), 401
        ``INVALID_SESSION_ID`` "This session is not valid for use with the REST API" (facts §10.1). The
        OAuth userinfo and identity endpoints pass ``api=False`` (UNCERTAIN whether Salesforce refuses
        them too; cci reads userinfo before its first REST call, so the REST refusal is what it meets)."""
        rows = self.store.sim_rows("session", token=token or "", kind="access") if token else []
        user = self.user(rows[0]["user_id"]) if rows else None
        grant = self.grant_of(token) if user else None
        if not user or not user.get("IsActive", 1) or self._grant_revoked(grant):
            raise SalesforceError("INVALID_SESSION_ID", "Session expired or invalid", status=401)
        if not self.has_permission(user["Id"], "ApiEnabled"):
            raise SalesforceError(
                "API_CURRENTLY_DISABLED", "API is disabled for this User", status=403
            )
        if (
            api
            and grant
            and self.acc_enforcing
            and not self.client_allowlisted(user["Id"], grant["client_key"])
        ):
            raise SalesforceError(
                "INVALID_SESSION_ID",
                "This session is not valid for use with the REST API",
                status=401,
            )
        return user

    def redeem_refresh_token(self, token: str, client: dict) -> tuple[dict, str | None]:
        """``(user, delete_token)`` for a refresh-token grant by ``client``, or :class:`ActionError`
        ``invalid_grant`` "expired access/refresh token" (Salesforce's body for a refresh token it does not
        honour: unknown, revoked with its OauthToken row, or issued to another client). A use updates the
        OauthToken row's ``LastUsedDate`` and ``UseCount`` (facts §4.1) without counting as an org change."""
        rows = self.store.sim_rows("session", token=token or "", kind="refresh")
        grant = self.grant_of(token) if rows else None
        user = self.user(rows[0]["user_id"]) if rows else None
        if (
            user is None
            or (grant is not None and grant["client_key"] != client["consumer_key"])
            or self._grant_revoked(grant)
        ):
            raise ActionError("invalid_grant", "expired access/refresh token")
        delete_token = grant.get("delete_token") if grant else None
        if delete_token:
            with self.lock:
                self.store.conn.execute(
                    'UPDATE "OauthToken" SET LastUsedDate = ?, UseCount = COALESCE(UseCount, 0) + 1 '
                    "WHERE DeleteToken = ?",
                    (self.store.now(), delete_token),
                )
        return user, delete_token

    def redeem_code(self, code: str, client: dict, redirect_uri: str | None) -> dict:
        """The user behind an authorization code, for ``client`` at ``redirect_uri``. A code is single-use
        (consumed by any attempt) and lives ``AUTH_CODE_LIFETIME_S`` seconds (RFC 6749 §4.1.2: "A maximum
        authorization code lifetime of 10 minutes is RECOMMENDED"; the client "MUST NOT use the
        authorization code more than once"). :class:`ActionError`: ``invalid_grant`` "invalid authorization
        code" (unknown, used, or issued to another client), ``invalid_grant`` "expired authorization code"
        (UNCERTAIN wording), and ``redirect_uri_mismatch`` "redirect_uri must match configuration" when the
        redirect URI differs from the one the code was issued for (petewarden/salesforce_restphp_example#1)."""
        rows = self.store.sim_rows("session", token=code or "", kind="code")
        grant = self.grant_of(code) if rows else None
        if rows:
            self.store.sim_delete("session", token=code)
            self.store.sim_delete("grant", token=code)
        if not rows or not grant or grant["client_key"] != client["consumer_key"]:
            raise ActionError("invalid_grant", "invalid authorization code")
        if time.time() - (grant["issued"] or 0) > AUTH_CODE_LIFETIME_S:
            raise ActionError("invalid_grant", "expired authorization code")
        if (redirect_uri or "") != (grant["redirect_uri"] or ""):
            raise ActionError("redirect_uri_mismatch", "redirect_uri must match configuration")
        user = self.user(rows[0]["user_id"])
        if user is None:
            raise ActionError("invalid_grant", "invalid authorization code")
        return user

    def issue_code(self, user_id: str, client_key: str, redirect_uri: str) -> str:
        """A one-time authorization code for ``client_key`` and ``redirect_uri`` (see :meth:`redeem_code`)."""
        self._oauth_tables()
        code = "aPrx" + secrets.token_urlsafe(24)
        self.store.sim_put(
            "session",
            {"token": code, "kind": "code", "user_id": user_id, "created": self.store.now()},
            bump=False,
        )
        self.store.sim_put(
            "grant",
            {
                "token": code,
                "client_key": client_key,
                "redirect_uri": redirect_uri,
                "issued": time.time(),
            },
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
