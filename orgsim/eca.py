"""The 6sense External Client App (ECA) rules: package install through the Tooling API, the ECA and its OAuth
policy rows, the ``ExtlClntAppOauthConfigurablePolicies`` metadata, and the ECA authorization (the
``InstalledPackage`` metadata of the package is ``installed_package.py``).

This module never imports ``platform``: it registers its rules in ``registry`` (the PackageInstallRequest DML
rules, a before-query hook that finishes due installs, the policy metadata type, the ECA's authorization) and
reaches the org only through :class:`EcaOrg`. The protocol stays in ``rest``/``soap``. Each rule cites ``../shared/docs/salesforce-facts.md`` ("facts §N"); UNCERTAIN marks what no source settles.

Scenario section (all optional; ``scenario.py`` validates it)::

    features:
      eca_policy_metadata_deployable: false   # facts §6.3: UNCERTAIN for a packaged ECA, so both paths
    eca:
      installed: false                        # the 6sense ECA package is installed
      installed_version: "1.0"                # which catalogue version ("1.1" = a newer one)
      policies: {permitted_users: AllSelfAuthorized, ip_relaxation: Enforce, ...}
                                              # the keys of POLICY_FIELDS (docs/architecture.md §1.2)
"""

from __future__ import annotations

import json
import time
from typing import Any, Protocol

from orgsim import mdxml, registry
from orgsim.errors import ActionError, SalesforceError

#: The 6sense ECA package version 6sense publishes, the same for production and sandbox (facts §0).
PACKAGE_VERSION_ID = "04tOH0000003W1lYAE"
#: The simulated AppExchange: package versions a PackageInstallRequest can install. Only the 04t id above is
#: documented; the package id, namespace, names and version numbers are the simulator's (UNCERTAIN), and
#: "1.1" is a made-up newer version so "already installed, newer" can be modelled.
PACKAGE = {
    "Id": "033OH0000001SxsYAE",
    "Name": "6sense External Client App",
    "NamespacePrefix": "sixsense",
    "Description": "6sense Revenue AI integration (External Client App)",
}
VERSIONS = {
    "1.0": {"Id": PACKAGE_VERSION_ID, "MajorVersion": 1, "MinorVersion": 0, "PatchVersion": 0},
    "1.1": {"Id": "04tOH0000004Zz9YAE", "MajorVersion": 1, "MinorVersion": 1, "PatchVersion": 0},
}
#: The ECA the package brings (names UNCERTAIN: 6sense's article shows the app in External Client App
#: Manager, type Packaged, facts §0 / field-cases finding 1, but not its API names).
ECA_LABEL = "6sense External Client App"
ECA_DEVELOPER_NAME = "Sixsense_External_Client_App"
#: Seconds a PackageInstallRequest stays IN_PROGRESS (a real install is asynchronous; cci polls it).
INSTALL_SECONDS = 0.4

#: Policy defaults of a freshly installed ECA. Permitted users: "After Install, the default Permitted Users is
#: 'All users may self-authorize'" (facts §7.1; stated for connected apps, UNCERTAIN for a packaged ECA whose
#: publisher may ship another value). Refresh token: ``infinite`` is the documented default of a connected
#: app's ``refreshTokenPolicy``, and IP relaxation ``ENFORCE`` the default of its ``ipRelaxation`` (facts §6.1;
#: both UNCERTAIN for ECAs). Start URL, pre-authorized lists, session timeout and session level: none.
DEFAULT_POLICIES = {
    "permitted_users": "AllSelfAuthorized",
    "refresh_token_policy": "Infinite",
    "refresh_token_validity_period": None,
    "refresh_token_validity_unit": None,
    "start_url": None,
    "ip_relaxation": "Enforce",
    "comma_separated_permission_set": None,
    "comma_separated_profile": None,
    "session_timeout_minutes": None,
    "policy_action": None,
    "required_session_level": None,
}
PERMITTED_USERS = ("AdminApprovedPreAuthorized", "AllSelfAuthorized")
REFRESH_POLICIES = ("Infinite", "SpecificInactivity", "SpecificLifetime", "Zero")
VALIDITY_UNITS = ("Days", "Hours", "Months")
#: ``ipRelaxationPolicyType`` (metadata value) -> ``ExtlClntAppOauthPlcyCnfg.IpRelaxationPolicyType`` (SOQL
#: value): the one place the two spellings meet. Facts §10.2 gives the metadata values and the SOQL casing
#: ``Enforce_relaxrefresh``; the other three read the same in SOQL (UNCERTAIN: only that one casing is
#: documented; public client code maps these four).
IP_RELAXATION_SOQL = {
    "Enforce": "Enforce",
    "Bypass": "Bypass",
    "Bypass_2factor": "Bypass_2factor",
    "Enforce_RelaxRefresh": "Enforce_relaxrefresh",
}
#: ``policyAction`` (Metadata API guide "ExtlClntAppOauthConfigurablePolicies": Block | RaiseSessionLevel).
POLICY_ACTIONS = ("Block", "RaiseSessionLevel")
#: ``requiredSessionLevel``: UNCERTAIN which values the ECA field takes; the simulator accepts the Metadata
#: API's SessionSecurityLevel values (ProfileSessionSetting) and refuses anything else.
SESSION_LEVELS = ("HIGH_ASSURANCE", "STANDARD", "LOW")
#: ``sessionTimeoutInMinutes``: a whole number of minutes; the bound is UNCERTAIN (ProfileSessionSetting's
#: longest session timeout, 1440 minutes, is taken as the ceiling).
MAX_SESSION_TIMEOUT = 1440
MD_TYPE = "ExtlClntAppOauthConfigurablePolicies"
MD_FOLDER = "extlClntAppOauthPolicies"
MD_SUFFIX = ".ecaOauthPlcy"
#: Metadata field <-> ExtlClntAppOauthPlcyCnfg column (None: metadata only) <-> scenario key. Metadata
#: names: facts §6.3 and §10.2. SOQL columns: only those facts §10.2 lists (VERIFIED-3P, sfdx-hardis);
#: ``StartUrl`` is the simulator's older mirror (UNCERTAIN). The Object Reference lists the object "for
#: internal use only" with no fields, so a column not listed here answers ``INVALID_FIELD``. The
#: metadata-only fields are kept in the store's ``eca_policy_metadata`` entry.
POLICY_FIELDS = (
    ("permittedUsersPolicyType", "PermittedUsersPolicyType", "permitted_users"),
    ("refreshTokenPolicyType", "RefreshTokenPolicyType", "refresh_token_policy"),
    ("refreshTokenValidityPeriod", "RefreshTokenValidityPeriod", "refresh_token_validity_period"),
    ("refreshTokenValidityUnit", "RefreshTokenValidityUnit", "refresh_token_validity_unit"),
    ("startUrl", "StartUrl", "start_url"),
    ("ipRelaxationPolicyType", "IpRelaxationPolicyType", "ip_relaxation"),
    ("commaSeparatedPermissionSet", None, "comma_separated_permission_set"),
    ("commaSeparatedProfile", None, "comma_separated_profile"),
    ("sessionTimeoutInMinutes", None, "session_timeout_minutes"),
    ("policyAction", None, "policy_action"),
    ("requiredSessionLevel", None, "required_session_level"),
)
#: Picklist policies (scenario key -> allowed metadata values).
PICKLISTS = {
    "permitted_users": PERMITTED_USERS,
    "refresh_token_policy": REFRESH_POLICIES,
    "refresh_token_validity_unit": VALIDITY_UNITS,
    "ip_relaxation": tuple(IP_RELAXATION_SOQL),
    "policy_action": POLICY_ACTIONS,
    "required_session_level": SESSION_LEVELS,
}
#: Policies whose absence from a deployed file leaves the current value (they always have one; UNCERTAIN);
#: every other field absent from the file is cleared (the file is the full policy).
KEPT_WHEN_ABSENT = (
    "permitted_users",
    "refresh_token_policy",
    "refresh_token_validity_period",
    "refresh_token_validity_unit",
    "ip_relaxation",
)
_MD_META = "eca_policy_metadata"


def check_policy_value(key: str, value: Any) -> Any:
    """One policy value (scenario key, metadata form) checked and normalised: ``None``/"" -> None, picklists
    against :data:`PICKLISTS`, ``refresh_token_validity_period`` a whole number of 1 to 1,000,000 (more is
    a typo), ``session_timeout_minutes`` 1 to :data:`MAX_SESSION_TIMEOUT`, the rest text. Raises
    ``ValueError`` with the problem (no field name: callers add theirs)."""
    if value in ("", None):
        return None
    if key in PICKLISTS:
        if value not in PICKLISTS[key]:
            raise ValueError(f"must be one of {', '.join(PICKLISTS[key])}, got {value!r}")
        return value
    if key in ("refresh_token_validity_period", "session_timeout_minutes"):
        top = MAX_SESSION_TIMEOUT if key == "session_timeout_minutes" else 1_000_000
        text = str(value).strip()
        if isinstance(value, bool) or not text.isdigit() or not 1 <= int(text) <= top:
            raise ValueError(f"must be a whole number from 1 to {top:,}, got {value!r}")
        return int(text)
    if not isinstance(value, str):
        raise ValueError(f"must be text, got {value!r}")
    return value.strip() or None


class EcaOrg(Protocol):
    """What the ECA rules use of the org (``platform.Org`` provides it)."""

    store: Any
    scenario: dict[str, Any]

    def has_permission(self, user_id: str, permission: str) -> bool: ...
    def permission_set_ids(self, user_id: str) -> list[str]: ...
    def user_by_username(self, username: str) -> dict | None: ...
    def login_refusal(self, user: dict) -> tuple[str, str] | None: ...
    def put(self, sobject: str, values: dict[str, Any]) -> str: ...
    def revoke_token(self, token_row: dict) -> None: ...
    def grant_token(self, user_id: str, state: dict) -> str: ...
    def admin_approval_revokes(self, *, switched: bool, pre_authorized: bool) -> bool: ...


def _cfg(org) -> dict[str, Any]:
    return org.scenario.get("eca") or {"installed": False}


def policy_metadata_deployable(org) -> bool:
    """Scenario flag: whether this subscriber org can deploy ``ExtlClntAppOauthConfigurablePolicies`` for the
    packaged ECA of another namespace (facts §6.3: "not confirmed", UNCERTAIN, so both paths are modelled)."""
    return bool((org.scenario.get("features") or {}).get("eca_policy_metadata_deployable"))


# -- seeding ------------------------------------------------------------------------------------------------


def seed(org) -> None:
    """The package catalogue (SubscriberPackage, SubscriberPackageVersion: Tooling objects that describe any
    package version by id, installed or not) and, where the scenario says so, the installed ECA."""
    org.put("SubscriberPackage", dict(PACKAGE))
    for number, v in VERSIONS.items():
        org.put(
            "SubscriberPackageVersion",
            {
                **v,
                "SubscriberPackageId": PACKAGE["Id"],
                "Name": f"Version {number}",
                "BuildNumber": 1,
                "IsBeta": False,
                "IsManaged": True,
                "ReleaseState": "Released",
            },
        )
    cfg = _cfg(org)
    if cfg.get("installed"):
        version = VERSIONS[cfg.get("installed_version") or "1.0"]["Id"]
        wanted = {**DEFAULT_POLICIES, **(cfg.get("policies") or {})}
        # The scenario names permission sets; the policy lists their ids (facts §6.3).
        names = wanted["comma_separated_permission_set"] or []
        ids = [org.store.find_one("PermissionSet", Name=n)["Id"] for n in names]
        wanted["comma_separated_permission_set"] = ",".join(ids) or None
        wanted["comma_separated_profile"] = (
            ",".join(wanted["comma_separated_profile"] or []) or None
        )
        _install(org, version, policies=wanted)


# -- state --------------------------------------------------------------------------------------------------


def eca_row(org) -> dict | None:
    return org.store.find_one("ExternalClientApplication", DeveloperName=ECA_DEVELOPER_NAME)


def policy_row(org) -> dict | None:
    eca = eca_row(org)
    return (
        org.store.find_one("ExtlClntAppOauthPlcyCnfg", ExternalClientApplicationId=eca["Id"])
        if eca
        else None
    )


def is_eca(name: str | None) -> bool:
    """Whether an action's ``app`` names the 6sense ECA (its label or developer name, or ``eca``)."""
    return bool(name) and name.lower() in {"eca", ECA_LABEL.lower(), ECA_DEVELOPER_NAME.lower()}


def policies(org) -> dict[str, Any]:
    """The installed ECA's policies by scenario key, in their metadata form (``ip_relaxation``
    ``Enforce_RelaxRefresh``, not the SOQL ``Enforce_relaxrefresh``); all None when it is not installed."""
    pol = policy_row(org) or {}
    stored = org.store.meta(_MD_META, {}) or {}
    soql_to_md = {v: k for k, v in IP_RELAXATION_SOQL.items()}
    out = {}
    for _, col, key in POLICY_FIELDS:
        value = pol.get(col) if col else stored.get(key)
        out[key] = soql_to_md.get(value, value) if key == "ip_relaxation" else value
    return out


def state(org) -> dict[str, Any]:
    """The ECA as External Client App Manager shows it (for ``/_sim/state`` and the autopilot)."""
    eca = eca_row(org)
    pol = policy_row(org) or {}
    isp = org.store.find_one("InstalledSubscriberPackage", SubscriberPackageId=PACKAGE["Id"])
    return {
        "installed": eca is not None,
        "package_version_id": isp["SubscriberPackageVersionId"] if isp else None,
        "id": eca["Id"] if eca else None,
        "label": ECA_LABEL,
        "developer_name": ECA_DEVELOPER_NAME,
        "policies": policies(org) if pol else {key: None for _, _, key in POLICY_FIELDS},
        "policy_modified": pol.get("LastModifiedDate"),
    }


# -- package install (Tooling API PackageInstallRequest) -----------------------------------------------------


@registry.before("create", "PackageInstallRequest")
def before_create_package_install_request(org, user, values: dict) -> dict:
    """``POST /tooling/sobjects/PackageInstallRequest`` (what CumulusCI's ``install_managed`` sends for a
    ``04t`` version, facts §8): the request is accepted and runs asynchronously, ``Status`` ``IN_PROGRESS``
    until it finishes (:func:`settle`). Installing needs "Download AppExchange Packages" (facts §7.1); the
    simulator checks Customize Application + Modify All Data as its stand-in (UNCERTAIN: which permission
    field Salesforce checks). ``SubscriberPackageVersionKey`` is required (``REQUIRED_FIELD_MISSING``)."""
    if not values.get("SubscriberPackageVersionKey"):
        raise SalesforceError(
            "REQUIRED_FIELD_MISSING",
            "Required fields are missing: [SubscriberPackageVersionKey]",
            ["SubscriberPackageVersionKey"],
        )
    if not (
        org.has_permission(user["Id"], "CustomizeApplication")
        and org.has_permission(user["Id"], "ModifyAllData")
    ):
        raise SalesforceError(
            "INSUFFICIENT_ACCESS", "insufficient access rights on object id", status=403
        )
    return {**values, "Status": "IN_PROGRESS", "Errors": None}


@registry.before_query
def settle(org) -> None:
    """Finish every PackageInstallRequest whose time has come (called before each query). Outcomes:

    - an unknown version -> ``ERROR`` (message UNCERTAIN; CumulusCI retries "This package is not yet
      available" and "The requested package doesn't yet exist or has been deleted", which would make it retry
      for minutes, so the simulator reports neither);
    - an older version than the installed one -> ``ERROR`` "A newer version of this package is currently
      installed" (UNCERTAIN wording; a package cannot be downgraded);
    - otherwise ``SUCCESS``: the InstalledSubscriberPackage row, and on first install the packaged
      ExternalClientApplication (``DistributionState`` 'Packaged', facts §6.3) and its OAuth policy row with the
      defaults (:data:`DEFAULT_POLICIES`)."""
    pending = org.store.find("PackageInstallRequest", Status="IN_PROGRESS")
    if not pending:
        return
    now = time.time()
    due_at = _due(org)
    for req in pending:
        if due_at.get(req["Id"], 0) > now:
            continue
        key = req["SubscriberPackageVersionKey"]
        target = org.store.find_one("SubscriberPackageVersion", Id=key)
        errors = None
        if not target:
            errors = [{"message": f"Package version {key} is not available to this organization."}]
        else:
            installed = org.store.find_one(
                "InstalledSubscriberPackage", SubscriberPackageId=target["SubscriberPackageId"]
            )
            current = (
                org.store.find_one(
                    "SubscriberPackageVersion", Id=installed["SubscriberPackageVersionId"]
                )
                if installed
                else None
            )
            if current and _number(current) > _number(target):
                errors = [{"message": "A newer version of this package is currently installed."}]
        if errors:
            org.store.update(
                "PackageInstallRequest",
                req["Id"],
                {"Status": "ERROR", "Errors": json.dumps({"errors": errors})},
            )
        else:
            _install(org, key, policies=dict(DEFAULT_POLICIES))
            org.store.update("PackageInstallRequest", req["Id"], {"Status": "SUCCESS"})
        due_at.pop(req["Id"], None)


def _due(org) -> dict[str, float]:
    """When each running PackageInstallRequest finishes (wall clock; kept on the Org, not in the store)."""
    return org.__dict__.setdefault("_package_installs_due", {})


@registry.after_create("PackageInstallRequest")
def after_create_package_install_request(org, new_id: str, values: dict) -> None:
    _due(org)[new_id] = time.time() + INSTALL_SECONDS


def _number(spv: dict) -> tuple[int, int, int]:
    return (spv["MajorVersion"] or 0, spv["MinorVersion"] or 0, spv["PatchVersion"] or 0)


def _install(org, version_id: str, *, policies: dict) -> None:
    spv = org.store.find_one("SubscriberPackageVersion", Id=version_id)
    isp = org.store.find_one(
        "InstalledSubscriberPackage", SubscriberPackageId=spv["SubscriberPackageId"]
    )
    if isp:
        org.store.update(
            "InstalledSubscriberPackage", isp["Id"], {"SubscriberPackageVersionId": version_id}
        )
    else:
        org.put(
            "InstalledSubscriberPackage",
            {
                "SubscriberPackageId": spv["SubscriberPackageId"],
                "SubscriberPackageVersionId": version_id,
            },
        )
    if spv["SubscriberPackageId"] != PACKAGE["Id"] or eca_row(org):
        return
    eca_id = org.put(
        "ExternalClientApplication",
        {
            "MasterLabel": ECA_LABEL,
            "DeveloperName": ECA_DEVELOPER_NAME,
            "NamespacePrefix": PACKAGE["NamespacePrefix"],
            "DistributionState": "Packaged",
        },
    )
    org.put(
        "ExtlClntAppOauthPlcyCnfg",
        {
            "ExternalClientApplicationId": eca_id,
            **{col: _column_value(key, policies.get(key)) for _, col, key in POLICY_FIELDS if col},
        },
    )
    org.store.set_meta(
        _MD_META, {key: policies.get(key) for _, col, key in POLICY_FIELDS if not col}
    )
    org.store.bump()


def _column_value(key: str, value: Any) -> Any:
    """A policy value as its ExtlClntAppOauthPlcyCnfg column holds it (IP relaxation in SOQL casing)."""
    return IP_RELAXATION_SOQL.get(value, value) if key == "ip_relaxation" else value


# -- policies ---------------------------------------------------------------------------------------------


def set_policies(org, changes: dict[str, Any], *, at: str | None = None) -> dict[str, Any]:
    """Edit Policies on the installed ECA (External Client App Manager, or a policy metadata deploy).
    ``changes`` uses the scenario keys (:data:`POLICY_FIELDS`). ``AdminApprovedPreAuthorized`` revokes tokens
    by the connected app's rule (``Identity.admin_approval_revokes``): non-pre-authorized users' (facts §7.1,
    VERIFIED for ECAs), and on an actual switch all where ``features.admin_approval_revokes: all`` (facts
    §10.1). Values are checked by :func:`check_policy_value` (the documented picklists, facts §6.3 and
    §10.2); a bad one raises ``ActionError`` ``invalid_request`` naming the key."""
    row = policy_row(org)
    if not row:
        raise ActionError(
            "OAUTH_EC_APP_NOT_FOUND", "External client app is not installed in this org"
        )
    values, md_only = {}, dict(org.store.meta(_MD_META, {}) or {})
    for _, col, key in POLICY_FIELDS:
        if key not in changes:
            continue
        try:
            value = check_policy_value(key, changes[key])
        except ValueError as exc:
            raise ActionError("invalid_request", f"{key} {exc}") from None
        if col:
            values[col] = _column_value(key, value)
        else:
            md_only[key] = value
    at = at or org.store.now()
    org.store.update("ExtlClntAppOauthPlcyCnfg", row["Id"], {**values, "LastModifiedDate": at})
    org.store.set_meta(_MD_META, md_only)
    revoked, switched = 0, row["PermittedUsersPolicyType"] != "AdminApprovedPreAuthorized"
    if values.get("PermittedUsersPolicyType") == "AdminApprovedPreAuthorized":
        for tok in org.store.find("OauthToken", AppName=ECA_LABEL):
            pre = is_pre_authorized(org, tok["UserId"])
            if org.admin_approval_revokes(switched=switched, pre_authorized=pre):
                org.revoke_token(tok)
                revoked += 1
    org.store.bump()
    return {"ok": True, "revoked_tokens": revoked}


def is_pre_authorized(org, user_id: str) -> bool:
    """A SetupEntityAccess row (``SetupEntityType`` ExternalClientApplication, facts §5, §6.3) from one of the
    user's permission sets to the ECA, or the policy's ``commaSeparatedPermissionSet`` (permission set ids)
    naming one of them or its ``commaSeparatedProfile`` naming the user's profile ("used when
    permittedUsersPolicyType is set to AdminApprovedPreAuthorized", facts §6.3; whether the lists are the
    same grants as the SetupEntityAccess rows, and whether profiles are listed by name, is UNCERTAIN)."""
    eca = eca_row(org)
    if not eca:
        return False
    granted = {r["ParentId"] for r in org.store.find("SetupEntityAccess", SetupEntityId=eca["Id"])}
    pol = policies(org)
    granted |= {i[:15] for i in _split(pol["comma_separated_permission_set"])}
    held = set(org.permission_set_ids(user_id))
    if granted & (held | {i[:15] for i in held}):
        return True
    user = org.store.get("User", user_id) or {}
    profile = org.store.get("Profile", user.get("ProfileId") or "") or {}
    return profile.get("Name") in _split(pol["comma_separated_profile"])


def _split(text: str | None) -> list[str]:
    """``"a, b,"`` -> ``["a", "b"]`` (a comma-separated policy list)."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def authorize(org, username: str) -> dict[str, Any]:
    """The OAuth authorization of the 6sense ECA as ``username`` (in 6sense). Outcomes in order:

    - the ECA is not installed -> ``OAUTH_EC_APP_NOT_FOUND`` "External client app is not installed in this
      org" (facts §7.3; field-cases Appendix);
    - unknown user -> ``invalid_grant`` "authentication failure"; inactive, frozen or password-locked user ->
      ``invalid_grant`` (``Identity.login_refusal``, as for the connected app);
    - Permitted Users ``AdminApprovedPreAuthorized`` and the user not pre-authorized -> ``invalid_app_access``
      "user is not admin approved to access this app" (facts §7.3);
    - otherwise an OauthToken for the ECA (``AppName`` its label; at most 5 per user per app, field-cases
      finding 8).
    An installed ECA needs no "Approve Uninstalled Connected Apps" (that restriction is about uninstalled
    connected apps, facts §7.2)."""
    state_ = state(org)
    if not state_["installed"]:
        raise ActionError(
            "OAUTH_EC_APP_NOT_FOUND", "External client app is not installed in this org"
        )
    user = org.user_by_username(username)
    if not user:
        raise ActionError("invalid_grant", "authentication failure")
    login = org.login_refusal(user)
    if login:
        raise ActionError(*login)
    if state_["policies"][
        "permitted_users"
    ] == "AdminApprovedPreAuthorized" and not is_pre_authorized(org, user["Id"]):
        raise ActionError("invalid_app_access", "user is not admin approved to access this app")
    created = org.grant_token(user["Id"], {"label": ECA_LABEL, "app_menu_item_id": None})
    return {"ok": True, "user_id": user["Id"], "app": ECA_LABEL, "created": created}


# -- Metadata API ---------------------------------------------------------------------------------------------


def full_name(org) -> str:
    """The policy file's full name, generated per org at the package install (facts §10.2: find it with
    ``listMetadata``). Its form is UNCERTAIN: here ``ECA_<part of the org id>_oauthPlcy``, which does not start
    with the ECA's DeveloperName, so a client that guesses the name from the ECA's names finds nothing."""
    return f"ECA_{org.org_id[3:11]}_oauthPlcy"


def list_metadata(org) -> list[tuple[str, str]]:
    """``(fullName, fileName)`` of the ECA's policies, only where the scenario lets this org deploy them
    (:func:`policy_metadata_deployable`) and the ECA is installed."""
    if not (policy_metadata_deployable(org) and eca_row(org)):
        return []
    return [(full_name(org), f"{MD_FOLDER}/{full_name(org)}{MD_SUFFIX}")]


def render(org, member: str) -> bytes | None:
    """The policy file as a retrieve (or readMetadata) returns it: every set field of :data:`POLICY_FIELDS`
    in its metadata form (facts §6.3, §10.2), alphabetical."""
    if member != full_name(org) or not list_metadata(org):
        return None
    pol = policies(org)
    root = mdxml.md("ExtlClntAppOauthConfigurablePolicies")
    values = {
        "externalClientApplication": ECA_DEVELOPER_NAME,
        **{tag: pol[key] for tag, _, key in POLICY_FIELDS},
    }
    for tag in sorted(values):
        value = values[tag]
        if value is not None:
            mdxml.sub(root, tag, str(value))
    return mdxml.xml(root)


def validate_deploy(org, comp, problem):
    """A deploy of ``ExtlClntAppOauthConfigurablePolicies`` (facts §6.3): ``externalClientApplication`` is
    required; a file under another name than the one the install generated fails "duplicate value found:
    ExternalClientApplicationId" (facts §10.2). Where this org cannot edit the packaged ECA's policies by
    metadata (scenario flag), the deploy fails like an edit of any managed component: "Cannot modify managed
    object" (wording UNCERTAIN). An unknown ECA fails "no ExternalClientApplication named X found"
    (UNCERTAIN). Every value must pass :func:`check_policy_value` ("In field: <tag> - bad value"; wording
    UNCERTAIN); ``commaSeparatedPermissionSet`` holds ids of the org's permission sets ("Permission set IDs",
    facts §6.3) and ``commaSeparatedProfile`` names of its profiles (UNCERTAIN: names or ids), else the
    deploy fails naming the entry. Absent from the file: the fields of :data:`KEPT_WHEN_ABSENT` keep their
    value, the others are cleared. Returns the apply function."""
    root = comp.parse()
    eca_name = mdxml.text(root, "externalClientApplication")
    if not eca_name:
        raise problem("Required field is missing: externalClientApplication")
    if eca_name != ECA_DEVELOPER_NAME or not eca_row(org):
        raise problem(
            f"In field: externalClientApplication - no ExternalClientApplication named {eca_name} found"
        )
    if not policy_metadata_deployable(org):
        raise problem(
            f"Cannot modify managed object: entity=ExtlClntAppOauthConfigurablePolicies, component={comp.full_name}, "
            "state=installed"
        )
    if comp.full_name != full_name(org):
        # Another file for the same ECA: the install already made its one policy file (facts §10.2).
        raise problem(
            "duplicate value found: ExternalClientApplicationId duplicates value on record with id: "
            f"{policy_row(org)['Id']}"
        )
    changes = {}
    for tag, _, key in POLICY_FIELDS:
        if mdxml.child(root, tag) is not None:
            raw = (mdxml.text(root, tag) or "").strip() or None
            try:
                changes[key] = check_policy_value(key, raw)
            except ValueError:
                raise problem(f"In field: {tag} - bad value '{raw}'") from None
        elif key not in KEPT_WHEN_ABSENT:
            changes[key] = (
                None  # the file is the full policy: an optional field left out means none
            )
    known = {r["Id"][:15] for r in org.store.find("PermissionSet")}
    for ps_id in _split(changes.get("comma_separated_permission_set")):
        if ps_id[:15] not in known:
            raise problem(
                f"In field: commaSeparatedPermissionSet - no PermissionSet with id {ps_id} found"
            )
    profiles = {r["Name"] for r in org.store.find("Profile")}
    for name in _split(changes.get("comma_separated_profile")):
        if name not in profiles:
            raise problem(f"In field: commaSeparatedProfile - no Profile named {name} found")

    def apply(user):
        current = policies(org)
        diff = {k: v for k, v in changes.items() if str(current.get(k) or "") != str(v or "")}
        if diff:
            set_policies(org, diff)
        return False

    return apply


registry.metadata_type(
    registry.MetadataType(MD_TYPE, MD_FOLDER, MD_SUFFIX, list_metadata, render, validate_deploy)
)
registry.app_handler(is_eca, authorize)
