"""Diagnose's facts about the org and the users: organization, API Access Control, users, the ECA.

Read-only: SOQL, describes, a Metadata API retrieve. Each section the org refuses is reported in
``warnings`` and left empty (``_safe``): "could not read" is never "absent".
"""

from __future__ import annotations

from cumulusci.salesforce_api.exceptions import MetadataApiError

from .. import app_policy, procedure, user_checks
from ..api_access_control import RETRIEVE_FAILED, DetectApiAccessControl
from ..base import (
    API_ENABLED,
    APPROVE_UNINSTALLED,
    my_domain,
    org_kind,
)
from ..errors import SixsenseOrgError
from ..queries import (
    ORGANIZATION_SOQL,
    eca_soql,
    soql_quote,
)
from ..vendor import VENDOR

#: ExtlClntAppOauthPlcyCnfg columns diagnose reads (SOQL names of facts §10.2), where describe lists them.
ECA_POLICY_COLUMNS = (
    "PermittedUsersPolicyType",
    "IpRelaxationPolicyType",
    "RefreshTokenPolicyType",
    "RefreshTokenValidityPeriod",
    "RefreshTokenValidityUnit",
)


class OrgUserFacts:
    """Mixin of :class:`tasks.diagnose.task.Diagnose` (needs ``SixsenseOrgMixin`` and ``self.warnings``)."""

    def _cci_organization(self) -> dict | None:
        """The Organization record cci read when it refreshed the session this run
        (``OrgConfig.organization_sobject``), when it has every field diagnose reports; else None."""
        org = getattr(self.org_config, "organization_sobject", None)
        fields = (
            "Id",
            "Name",
            "OrganizationType",
            "IsSandbox",
            "InstanceName",
            "TrialExpirationDate",
        )
        if isinstance(org, dict) and all(f in org for f in fields):
            return {f: org[f] for f in fields}
        return None

    def _eca_facts(self, users: dict) -> dict:
        """The 6sense External Client App (standard SOQL, facts §6.3): installed (packaged
        ExternalClientApplication row), Permitted Users, the integration user's token count, and the policies
        that can break the sync as ``app_policy`` judges the connected app's: the refresh-token policy
        (``refresh_ok``/``refresh_why``) and IP relaxation (``ip_relaxation`` as SOQL gives it,
        ``ip_ok``/``ip_why``; Enforce adds a warning, as for the connected app). A column the org's describe
        does not list is "could not read", never a value. A refused or failed read gives ``readable`` false
        and "External Client App" in the ``unreadable`` list, ``INVALID_TYPE`` included: the objects exist
        from API 60.0 (facts §3) and this project calls 65.0, so the org hides them from the connected user
        (docs/salesforce-permissions.md R6); it never means "no ECA"."""
        try:
            rows = self._query(eca_soql(VENDOR.eca_names))
            if not rows:
                return {"readable": True, "installed": False}
            eca = rows[0]
            # Columns of facts §10.2, read only where the org's describe lists them.
            listed = self._describe_fields("ExtlClntAppOauthPlcyCnfg")
            columns = [c for c in ECA_POLICY_COLUMNS if c in listed] or ["Id"]
            policy = self._query(
                f"SELECT {', '.join(columns)} FROM ExtlClntAppOauthPlcyCnfg "
                f"WHERE ExternalClientApplicationId = {soql_quote(eca['Id'])}"
            )
            integration = users.get("integration") or {}
            tokens = 0
            if integration.get("found"):
                tokens = self._count(
                    f"AppName = {soql_quote(eca['MasterLabel'])} AND UserId = {soql_quote(integration['id'])}"
                )
        except SixsenseOrgError as error:
            # Could not read is not absent: INVALID_TYPE too (the object is hidden from this user).
            hint = (
                " (the connected user is not shown the object: it needs View Setup and Configuration)"
                if "INVALID_TYPE" in str(error)
                else ""
            )
            self._not_readable(
                "External Client App", f"External Client App: not readable ({error}){hint}"
            )
            return {"readable": False, "installed": False}
        row = policy[0] if policy else {}
        out = {
            "readable": True,
            "installed": True,
            "name": eca["MasterLabel"],
            "distribution_state": eca.get("DistributionState"),
            "permitted_users": row.get("PermittedUsersPolicyType"),
            "integration_user_tokens": tokens,
            "refresh_token_policy": None,
            "refresh_ok": None,
            "refresh_why": "could not read: the org's ExtlClntAppOauthPlcyCnfg has no RefreshTokenPolicyType",
            "ip_relaxation": row.get("IpRelaxationPolicyType")
            if "IpRelaxationPolicyType" in columns
            else "could not read: the org's ExtlClntAppOauthPlcyCnfg has no IpRelaxationPolicyType",
            "ip_ok": None,
            "ip_why": "could not read: the org's ExtlClntAppOauthPlcyCnfg has no IpRelaxationPolicyType",
        }
        if "IpRelaxationPolicyType" in columns and row:
            # 6sense asks for no IP relaxation on its ECA (facts §0): judged against the default, Enforce.
            out["ip_ok"], out["ip_why"] = app_policy.assess_ip(
                app_policy.eca_ip_value(row.get("IpRelaxationPolicyType")), None
            )
            if out["ip_ok"] is False:
                self.warnings.append(
                    f"The {VENDOR.label} External Client App's IP relaxation: {out['ip_why']}; check it in "
                    "External Client App Manager > Edit Policies."
                )
            elif app_policy.eca_ip_value(row.get("IpRelaxationPolicyType")) == "ENFORCE":
                self.warnings.append(
                    f"The {VENDOR.label} External Client App enforces IP restrictions: {VENDOR.label}'s token "
                    "refreshes fail if the integration user's profile has Login IP Ranges that exclude its "
                    "servers; then relax IP restrictions (or for refresh tokens) in External Client App "
                    "Manager > Edit Policies."
                )
        if "RefreshTokenPolicyType" in columns and row:
            value = app_policy.eca_refresh_value(
                row.get("RefreshTokenPolicyType"),
                row.get("RefreshTokenValidityPeriod"),
                row.get("RefreshTokenValidityUnit"),
            )
            desired = app_policy.eca_refresh_value(
                VENDOR.eca_policies.get("refreshTokenPolicyType"),
                VENDOR.eca_policies.get("refreshTokenValidityPeriod"),
                VENDOR.eca_policies.get("refreshTokenValidityUnit"),
            )
            out["refresh_token_policy"] = value
            out["refresh_ok"], out["refresh_why"] = app_policy.assess_refresh(value, desired)
            if out["refresh_ok"] is False:
                self.warnings.append(
                    f"The {VENDOR.label} External Client App's refresh-token policy breaks the sync: "
                    f"{out['refresh_why']}; run sixsense_set_eca_policies (External Client App Manager > "
                    "Edit Policies)."
                )
        return out

    # -- sections --------------------------------------------------------------------------------------

    def _safe(self, what: str, fn, default=None):
        try:
            return fn()
        except (SixsenseOrgError, MetadataApiError) as e:
            self._not_readable(what, f"{what}: not readable ({e})")
            return default

    def _not_readable(self, section: str, warning: str) -> None:
        """Record that ``section`` could not be read: its warning, and its name in ``self.unreadable``
        (the diagnosis's ``unreadable`` list, which the preflight reads)."""
        self.warnings.append(warning)
        if section not in self.unreadable:
            self.unreadable.append(section)

    def _org_facts(self) -> dict:
        cci_org = self._cci_organization()
        rows = (
            [cci_org]
            if cci_org
            else self._safe("Organization", lambda: self._query(ORGANIZATION_SOQL), [])
        )
        org = rows[0] if rows else {}
        instance_url = self._instance_url()
        return {
            "id": org.get("Id") or self.org_config.org_id,
            "name": org.get("Name"),
            "edition": org.get("OrganizationType"),
            "kind": org_kind(org, instance_url, bool(self.org_config.config.get("scratch"))),
            "is_sandbox": bool(org.get("IsSandbox")),
            "instance_name": org.get("InstanceName"),
            "trial_expiration": org.get("TrialExpirationDate"),
            "instance_url": instance_url,
            "my_domain": my_domain(instance_url),
            "api_version": str(self.project_config.project__package__api_version),
            "connected_username": self.org_config.username,
        }

    def _api_access_control(self) -> dict:
        provisioned = bool(
            self._safe(
                "describe PermissionSet",
                lambda: self._has_permission_field("UseAnyApiClient"),
                False,
            )
        )
        # Same reading as sixsense_detect_api_access_control (one implementation of the retrieve).
        enforcing, signal = DetectApiAccessControl._retrieve_enforcing(self)
        if signal.startswith(RETRIEVE_FAILED):
            self.unreadable.append("Settings:ConnectedApp")
        return {
            "provisioned": provisioned,
            "enforcing": bool(enforcing),
            "signals": {
                "describe PermissionSet": "PermissionsUseAnyApiClient "
                + ("present: provisioned" if provisioned else "absent: not provisioned"),
                "Settings:ConnectedApp": signal,
            },
        }

    def _resolve_setup_username(self) -> str | None:
        if self.options.get("setup_username"):
            return self.options["setup_username"]
        if self.org_config.username:
            return self.org_config.username
        user_id = self.org_config.user_id
        if user_id:
            rows = self._safe(
                "User",
                lambda: self._query(f"SELECT Username FROM User WHERE Id = {soql_quote(user_id)}"),
                [],
            )
            if rows:
                return rows[0]["Username"]
        return None

    def _user_facts(self) -> dict:
        setup_username = self._resolve_setup_username()
        integration_username = self.integration_username
        wanted = [u for u in (setup_username, integration_username) if u]
        # None: the User query was refused or failed, so whether the users exist is unknown (not "absent").
        found = self._safe("User", lambda: self._get_users(wanted), None) if wanted else {}
        users = {
            "setup": self._describe_user(setup_username, found, "setup user"),
            "integration": self._describe_user(integration_username, found, "integration user"),
        }
        users["problems"] = self._user_problems(setup_username, integration_username)
        if not integration_username:
            self.warnings.append(
                "integration_username not given: the integration user's access and tokens are not checked."
            )
        if (
            setup_username
            and integration_username
            and setup_username.lower() == integration_username.lower()
        ):
            self.warnings.append(
                "The setup user and the integration user are the same user; the seed forbids the integration "
                f"user doing '{procedure.step('authorize_setup_user').name}'."
            )
        return users

    def _user_problems(self, setup: str | None, integration: str | None) -> list[str]:
        """Why the users cannot authorize, as the flows refuse them before any write (``user_checks``: the
        same person twice, the integration user as the connected user, missing, inactive, frozen, locked
        out, no API access); each with its fix. A state that could not be read is listed in ``unreadable``,
        never taken as fine."""
        problems = user_checks.same_user_problems(
            setup,
            integration,
            self.org_config.username,
            setup_defaulted=not self.options.get("setup_username"),
        )
        usernames = {
            role: name
            for role, name in ((user_checks.SETUP, setup), (user_checks.INTEGRATION, integration))
            if name
        }
        if not usernames:
            return problems
        checked = self._safe("user states", lambda: self._check_users(usernames), None)
        if checked is None:
            return problems
        for check, value, result in checked.rows:
            if result == "not checked":
                self._not_readable("user states", f"{check}: {value}")
        return problems + checked.problems

    def _user_assignments(self, found: dict) -> dict[str, list[dict]]:
        """The assignments of every user in ``found`` (one query for all of them, read once per run)."""
        if not hasattr(self, "_assignments_by_user"):
            self._assignments_by_user = self._assignments([r["Id"] for r in found.values()])
        return self._assignments_by_user

    def _describe_user(self, username: str | None, found: dict | None, role: str) -> dict:
        """``found``: the users read by username, or None when the read failed (then ``"found"`` is None:
        unknown, never "does not exist")."""
        if not username:
            return {"provided": False, "username": None, "found": False}
        if found is None:
            return {"provided": True, "username": username, "found": None}
        row = found.get(username.lower())
        if not row:
            self.warnings.append(f"The {role} {username} does not exist in this org.")
            return {"provided": True, "username": username, "found": False}
        profile = row.get("Profile") or {}
        assignments = self._safe(
            f"{role} permissions", lambda: self._user_assignments(found)[row["Id"]], None
        )
        approve = self._safe(
            f"{role} permissions",
            lambda: self._permission_sources(row, APPROVE_UNINSTALLED, assignments),
            None,
        )
        api = self._safe(
            f"{role} permissions",
            lambda: self._permission_sources(row, API_ENABLED, assignments),
            None,
        )
        info = {
            "provided": True,
            "username": row["Username"],
            "found": True,
            "id": row["Id"],
            "name": row.get("Name"),
            "active": bool(row.get("IsActive")),
            "profile": profile.get("Name"),
            "licence": (profile.get("UserLicense") or {}).get("Name"),
            "api_enabled": None if api is None else bool(api),
            "api_enabled_sources": api,
            "can_approve_uninstalled_apps": None if approve is None else bool(approve),
            "approve_uninstalled_sources": approve,
            "is_connected_user": bool(
                self.org_config.username
                and row["Username"].lower() == self.org_config.username.lower()
            ),
        }
        if not info["active"]:
            self.warnings.append(f"The {role} {username} is inactive.")
        return info
