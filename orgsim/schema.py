"""The sObject catalogue: objects, fields, describe properties, key prefixes, relationships, feature gates.

Everything the simulator knows about the *shape* of the org lives here (docs/architecture.md §1.1):
``store`` creates its tables with :func:`create_tables`, ``soql`` resolves names with :func:`get_object` and
:func:`field`, ``rest`` renders describes with :func:`describe_sobject` and :func:`describe_global`.

Each object cites the section of ``salesforce-facts.md`` (the project's research notes) it follows. Field
types are Salesforce describe types: ``id``, ``string``, ``boolean``, ``datetime``, ``date``, ``reference``,
``int``, ``picklist``, ``email``, ``textarea``.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Any

API_ACCESS_CONTROL = "api_access_control"


@dataclass(frozen=True)
class Field:
    """One sObject field. ``feature`` names the org feature without which the field does not exist."""

    name: str
    type: str
    label: str
    createable: bool = False
    updateable: bool = False
    nillable: bool = True
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    feature: str | None = None
    length: int = 0
    picklist_values: tuple[str, ...] = ()
    filterable: bool = True


@dataclass(frozen=True)
class ChildRelationship:
    """A child relationship as seen from the parent: ``child_sobject.field`` points at the parent's Id."""

    relationship_name: str
    child_sobject: str
    field: str


@dataclass(frozen=True)
class SObject:
    """One sObject. ``tooling``: also served by the Tooling API; ``standard_api``: served by the REST API."""

    name: str
    label: str
    key_prefix: str
    createable: bool
    updateable: bool
    deletable: bool
    queryable: bool = True
    fields: tuple[Field, ...] = ()
    child_relationships: tuple[ChildRelationship, ...] = ()
    tooling: bool = False
    standard_api: bool = True
    label_plural: str = ""


# -- field builders ----------------------------------------------------------------------------------------

_STRING_TYPES = frozenset({"string", "picklist", "email", "textarea", "url", "phone"})
ID_TYPES = frozenset({"id", "reference"})


def _words(name: str) -> str:
    """``LastModifiedDate`` -> ``Last Modified Date`` (a label when none is given)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)


def _id(label: str, nillable: bool = False) -> Field:
    return Field("Id", "id", f"{label} ID", nillable=nillable, length=18)


def _str(
    name: str,
    label: str | None = None,
    *,
    length: int = 255,
    type: str = "string",
    c: bool = False,
    u: bool = False,
    nillable: bool = True,
    values: tuple[str, ...] = (),
) -> Field:
    return Field(
        name,
        type,
        label or _words(name),
        createable=c,
        updateable=u,
        nillable=nillable,
        length=length,
        picklist_values=values,
    )


def _bool(name: str, label: str | None = None, *, c: bool = False, u: bool = False) -> Field:
    return Field(name, "boolean", label or _words(name), createable=c, updateable=u, nillable=False)


def _int(name: str, label: str | None = None) -> Field:
    return Field(name, "int", label or _words(name))


def _dt(name: str, label: str | None = None, *, c: bool = False, u: bool = False) -> Field:
    return Field(name, "datetime", label or _words(name), createable=c, updateable=u)


def _ref(
    name: str,
    to: str | tuple[str, ...],
    relationship: str | None,
    label: str | None = None,
    *,
    c: bool = False,
    u: bool = False,
    nillable: bool = True,
) -> Field:
    targets = (to,) if isinstance(to, str) else to
    return Field(
        name,
        "reference",
        label or _words(name).replace(" Id", " ID"),
        createable=c,
        updateable=u,
        nillable=nillable,
        reference_to=targets,
        relationship_name=relationship,
        length=18,
    )


def _audit() -> tuple[Field, ...]:
    return (
        _dt("CreatedDate"),
        _ref("CreatedById", "User", "CreatedBy", "Created By ID"),
        _dt("LastModifiedDate"),
        _ref("LastModifiedById", "User", "LastModifiedBy", "Last Modified By ID"),
        _dt("SystemModstamp", "System Modstamp"),
    )


# -- user permissions (facts §1.1, §1.2) -------------------------------------------------------------------

PERMISSION_PREFIX = "Permissions"

#: The ``Permissions*`` boolean fields on Profile and PermissionSet. ``PermissionsUseAnyApiClient`` exists
#: only where Support provisioned API Access Control (facts §1.2: "No such column" elsewhere).
PERMISSION_FIELDS: list[Field] = [
    _bool("PermissionsApiEnabled", "API Enabled", c=True, u=True),
    _bool("PermissionsApiUserOnly", "API Only User", c=True, u=True),
    _bool("PermissionsCustomizeApplication", "Customize Application", c=True, u=True),
    _bool("PermissionsModifyAllData", "Modify All Data", c=True, u=True),
    _bool("PermissionsViewSetup", "View Setup and Configuration", c=True, u=True),
    _bool("PermissionsManageUsers", "Manage Users", c=True, u=True),
    # docs/salesforce-permissions.md: the permissions the simulator's access rules check.
    _bool(
        "PermissionsModifyMetadata",
        "Modify Metadata Through Metadata API Functions",
        c=True,
        u=True,
    ),
    _bool("PermissionsAssignPermissionSets", "Assign Permission Sets", c=True, u=True),
    _bool(
        "PermissionsManageProfilesPermissionsets",
        "Manage Profiles and Permission Sets",
        c=True,
        u=True,
    ),
    _bool(
        "PermissionsCanApproveUninstalledApps", "Approve Uninstalled Connected Apps", c=True, u=True
    ),
    Field(
        "PermissionsUseAnyApiClient",
        "boolean",
        "Use Any API Client",
        createable=True,
        updateable=True,
        nillable=False,
        feature=API_ACCESS_CONTROL,
    ),
]


def permission_field_names(features: set[str] | frozenset[str]) -> list[str]:
    """The ``Permissions*`` field names that exist in an org with ``features`` (facts §1.1, §1.2)."""
    return [f.name for f in PERMISSION_FIELDS if f.feature is None or f.feature in features]


def permission_name(field_name: str) -> str:
    """``PermissionsApiEnabled`` -> ``ApiEnabled`` (the Metadata API name; facts §1.1)."""
    return field_name.removeprefix(PERMISSION_PREFIX)


# -- the objects ---------------------------------------------------------------------------------------------


def _organization() -> SObject:
    """Organization: read-only org facts; cci reads it on every connect (cumulusci-notes §3.5, §3.6). The
    fields, their order and types are those of the recorded Organization record in the cumulusci wheel
    (``tests/shared_cassettes/GET_sobjects_Organization.yaml``, 57 keys with ``attributes``)."""
    access = ("Read", "Edit", "ReadEditTransfer", "ControlledByParent", "None")
    return SObject(
        "Organization",
        "Organization",
        "00D",
        createable=False,
        updateable=False,
        deletable=False,
        fields=(
            _id("Organization"),
            _str("Name", length=80),
            _str("Division", length=80),
            _str("Street", type="textarea"),
            _str("City", length=40),
            _str("State", "State/Province", length=80),
            _str("PostalCode", "Zip/Postal Code", length=20),
            _str("Country", length=80),
            Field("Latitude", "double", "Latitude"),
            Field("Longitude", "double", "Longitude"),
            _str("GeocodeAccuracy", type="picklist", length=40, values=("Address", "Zip")),
            Field("Address", "address", "Address"),
            _str("Phone", type="phone", length=40),
            _str("Fax", type="phone", length=40),
            _str("PrimaryContact", length=80),
            _str("DefaultLocaleSidKey", "Locale", type="picklist", length=40, values=("en_US",)),
            _str(
                "TimeZoneSidKey",
                "Time Zone",
                type="picklist",
                length=40,
                values=("America/Los_Angeles",),
            ),
            _str("LanguageLocaleKey", "Language", type="picklist", length=40, values=("en_US",)),
            _bool("ReceivesInfoEmails"),
            _bool("ReceivesAdminInfoEmails"),
            _bool("PreferencesRequireOpportunityProducts"),
            _bool("PreferencesTransactionSecurityPolicy"),
            _bool("PreferencesTerminateOldestSession"),
            _bool("PreferencesConsentManagementEnabled"),
            _bool("PreferencesAutoSelectIndividualOnMerge"),
            _bool("PreferencesLightningLoginEnabled"),
            _bool("PreferencesOnlyLLPermUserAllowed"),
            _int("FiscalYearStartMonth"),
            _bool("UsesStartDateAsFiscalYearName"),
            _str("DefaultAccountAccess", type="picklist", length=40, values=access),
            _str("DefaultContactAccess", type="picklist", length=40, values=access),
            _str("DefaultOpportunityAccess", type="picklist", length=40, values=access),
            _str("DefaultLeadAccess", type="picklist", length=40, values=access),
            _str("DefaultCaseAccess", type="picklist", length=40, values=access),
            _str(
                "DefaultCalendarAccess",
                type="picklist",
                length=40,
                values=("HideDetails", "HideDetailsInsert", "ShowDetails", "ShowDetailsInsert"),
            ),
            _str("DefaultPricebookAccess", type="picklist", length=40, values=("ReadSelect",)),
            _str("DefaultCampaignAccess", type="picklist", length=40, values=("All",)),
            _str("DelegatedAuthenticationServiceUrl", type="url", length=1000),
            _dt("SystemModstamp", "System Modstamp"),
            _str("ComplianceBccEmail", type="email", length=80),
            _str("UiSkin", type="picklist", length=40, values=("Theme1", "Theme2", "Theme3")),
            _str("SignupCountryIsoCode", length=2),
            _dt("TrialExpirationDate"),
            _int("NumKnowledgeService"),
            _str(
                "OrganizationType",
                "Edition",
                type="picklist",
                values=(
                    "Team Edition",
                    "Professional Edition",
                    "Enterprise Edition",
                    "Developer Edition",
                    "Personal Edition",
                    "Unlimited Edition",
                    "Contact Manager Edition",
                    "Base Edition",
                ),
            ),
            _str("NamespacePrefix", length=15),
            _str("InstanceName", length=5),
            _bool("IsSandbox", "Is Sandbox"),
            _str("WebToCaseDefaultOrigin", length=40),
            _int("MonthlyPageViewsUsed"),
            _int("MonthlyPageViewsEntitlement"),
            _bool("IsReadOnly"),
            _dt("CreatedDate"),
            _ref("CreatedById", "User", "CreatedBy", "Created By ID"),
            _dt("LastModifiedDate"),
            _ref("LastModifiedById", "User", "LastModifiedBy", "Last Modified By ID"),
        ),
    )


def _user_license() -> SObject:
    """UserLicense: the licence behind each profile (facts §8: licences must match on assignment)."""
    return SObject(
        "UserLicense",
        "User License",
        "100",
        createable=False,
        updateable=False,
        deletable=False,
        fields=(
            _id("User License"),
            _str("Name", "License Name", length=40),
            _str("LicenseDefinitionKey", length=40),
            _str("Status", type="picklist", length=40, values=("Active", "Disabled")),
        ),
    )


def _profile() -> SObject:
    """Profile: holds ``Permissions*`` fields like PermissionSet (facts §1.1); no API create here."""
    return SObject(
        "Profile",
        "Profile",
        "00e",
        createable=False,
        updateable=True,
        deletable=False,
        fields=(
            _id("Profile"),
            _str("Name", length=255, u=True, nillable=False),
            _ref("UserLicenseId", "UserLicense", "UserLicense", "User License ID"),
            _str("Description", type="textarea", u=True),
            *_audit(),
            *PERMISSION_FIELDS,
        ),
    )


def _user() -> SObject:
    """User: cci's assign_permission_sets reads ``PermissionSetAssignments`` (cumulusci-notes §3.5, facts §8)."""
    return SObject(
        "User",
        "User",
        "005",
        createable=True,
        updateable=True,
        deletable=False,
        fields=(
            _id("User"),
            _str("Username", length=80, c=True, u=True, nillable=False),
            _str("Name", "Full Name", length=121),
            _str("FirstName", length=40, c=True, u=True),
            _str("LastName", length=80, c=True, u=True, nillable=False),
            _str("Alias", length=8, c=True, u=True, nillable=False),
            _str("Email", type="email", length=128, c=True, u=True, nillable=False),
            _bool("IsActive", "Active", c=True, u=True),
            _ref("ProfileId", "Profile", "Profile", "Profile ID", c=True, u=True, nillable=False),
            _str(
                "UserType",
                type="picklist",
                length=40,
                values=("Standard", "PowerPartner", "CspLitePortal", "CsnOnly", "Guest"),
            ),
            _dt("CreatedDate"),
            _dt("LastModifiedDate"),
        ),
        child_relationships=(
            ChildRelationship("PermissionSetAssignments", "PermissionSetAssignment", "AssigneeId"),
            ChildRelationship("OauthTokens", "OauthToken", "UserId"),
        ),
    )


def _user_login() -> SObject:
    """UserLogin: one row per user, the settings that affect its ability to log in (Object Reference
    "UserLogin", API 29.0+: https://developer.salesforce.com/docs/platform/object-reference/references/
    standard-objects/object-userlogin.html). Calls: describeSObjects, query, retrieve, update (no create or
    delete). ``IsFrozen`` and ``IsPasswordLocked`` are "Defaulted on create, Filter, Group, Sort, Update"
    (default false); ``UserId`` is "Filter, Group, Nillable, Sort" and "can't be updated". The field list
    (Id, IsFrozen, IsPasswordLocked, LastModifiedById, LastModifiedDate, UserId) is the Field Reference's.
    Reading it needs Manage Users (``permissions.READ_ANY_OF``). The key prefix ``060`` is UNCERTAIN."""
    return SObject(
        "UserLogin",
        "User Login",
        "060",
        createable=False,
        updateable=True,
        deletable=False,
        fields=(
            _id("User Login"),
            _ref("UserId", "User", "User", "User ID"),
            _bool("IsFrozen", "Is Frozen", u=True),
            _bool("IsPasswordLocked", "Is Password Locked", u=True),
            _dt("LastModifiedDate"),
            _ref("LastModifiedById", "User", "LastModifiedBy", "Last Modified By ID"),
        ),
    )


def _permission_set() -> SObject:
    """PermissionSet: naming rules and REST support (facts §8); profile-owned rows (facts §5)."""
    return SObject(
        "PermissionSet",
        "Permission Set",
        "0PS",
        createable=True,
        updateable=True,
        deletable=True,
        fields=(
            _id("Permission Set"),
            _str("Name", length=80, c=True, u=True, nillable=False),
            _str("Label", length=80, c=True, u=True, nillable=False),
            _str("Description", type="textarea", c=True, u=True),
            _bool("IsOwnedByProfile", "Is Owned by Profile"),
            _ref("ProfileId", "Profile", "Profile", "Profile ID"),
            _str("NamespacePrefix", length=15),
            _ref("LicenseId", "UserLicense", "License", "License ID", c=True, u=True),
            *_audit(),
            *PERMISSION_FIELDS,
        ),
        child_relationships=(
            ChildRelationship("Assignments", "PermissionSetAssignment", "PermissionSetId"),
            ChildRelationship("SetupEntityAccessItems", "SetupEntityAccess", "ParentId"),
        ),
    )


def _permission_set_assignment() -> SObject:
    """PermissionSetAssignment: create, delete, update, query (facts §8)."""
    return SObject(
        "PermissionSetAssignment",
        "Permission Set Assignment",
        "0Pa",
        createable=True,
        updateable=True,
        deletable=True,
        fields=(
            _id("Permission Set Assignment"),
            _ref("AssigneeId", "User", "Assignee", "Assignee ID", c=True, nillable=False),
            _ref("PermissionSetId", "PermissionSet", "PermissionSet", "Permission Set ID", c=True),
            # PermissionSetGroup is not in this catalogue, so the relationship is not traversable here.
            _ref(
                "PermissionSetGroupId",
                "PermissionSetGroup",
                None,
                "Permission Set Group ID",
                c=True,
            ),
            _bool("IsActive", "Is Active"),
            _dt("ExpirationDate", "Expiration Date", c=True, u=True),
            _dt("SystemModstamp", "System Modstamp"),
        ),
    )


def _connected_application() -> SObject:
    """ConnectedApplication: all fields read-only; a row exists once the app is installed (facts §3). The
    fields are those of the Field Reference "ConnectedApplication" (labels, types and lengths from it;
    ``PinLength`` 4-9, ``MobileSessionTimeout`` and ``NamedUserUvidTimeout`` values from the Object
    Reference): an unknown field answers ``INVALID_FIELD`` in a query, so every documented one is here.
    ``RefreshTokenValidityPeriod`` and ``OptionsRefreshTokenValidityMetric`` (true: validity counted from
    the last use, else from issue) follow the app's refresh-token policy (scenario
    ``app.oauth_policy.refresh_token_policy``; facts §10.4: the sObject holds the validity fields, not IP
    relaxation)."""
    return SObject(
        "ConnectedApplication",
        "Connected App",
        "0H4",
        createable=False,
        updateable=False,
        deletable=False,
        tooling=True,
        fields=(
            _id("Connected App"),
            _str("Name", "Connected App Name", length=80),
            *_audit(),
            _str(
                "MobileSessionTimeout",
                "Lock App After",
                type="picklist",
                length=40,
                values=("1", "5", "10", "30", "60"),
            ),
            _str("MobileStartUrl", "Mobile Start URL", type="url", length=2400),
            _str(
                "NamedUserUvidTimeout",
                type="picklist",
                length=40,
                values=("1", "5", "10", "15", "30"),
            ),
            _bool("OptionsAllowAdminApprovedUsersOnly", "AllowAdminApprovedUsersOnly"),
            _bool("OptionsCodeCredentialGuestEnabled", "CodeCredentialGuestEnabled"),
            _bool("OptionsFullContentPushNotifications", "FullContentPushNotifications"),
            _bool("OptionsHasSessionLevelPolicy", "HasSessionLevelPolicy"),
            _bool("OptionsIsInternal", "isInternal"),
            _bool("OptionsRefreshTokenValidityMetric", "RefreshTokenValidityMetric"),
            _bool("OptionsTokenExchangeManageBitEnabled", "TokenExchangeManageBitEnabled"),
            _str("PinLength", "PIN Length", type="picklist", length=40, values=tuple("456789")),
            _int("RefreshTokenValidityPeriod", "Refresh Token Policy:"),
            _str("StartUrl", "Start URL", type="url", length=2400),
        ),
    )


def _setup_audit_trail() -> SObject:
    """SetupAuditTrail (facts §10.4; Object Reference "SetupAuditTrail"): Setup changes, ``query()`` and
    ``retrieve()`` only. ``Action`` is filterable; ``Section`` and ``Display`` are not (filter by
    ``CreatedDate`` and ``Action``, match the text in the client). Key prefix ``0Ym`` (UNCERTAIN)."""
    return SObject(
        "SetupAuditTrail",
        "Setup Audit Trail",
        "0Ym",
        createable=False,
        updateable=False,
        deletable=False,
        fields=(
            _id("Setup Audit Trail"),
            _str("Action", length=120, nillable=False),
            Field("Section", "string", "Section", length=120, filterable=False),
            Field("Display", "string", "Display", length=1000, filterable=False),
            _str("DelegateUser", "Delegate User", length=80),
            _str("CreatedByContext", "Created By Context", length=80),
            _str("CreatedByIssuer", "Created By Issuer", length=80),
            _str("ResponsibleNamespacePrefix", length=15),
            _dt("CreatedDate"),
            _ref("CreatedById", "User", "CreatedBy", "Created By ID"),
        ),
    )


def _app_menu_item() -> SObject:
    """AppMenuItem: App Launcher items; only ``IsVisible`` is updateable (facts §4.2)."""
    return SObject(
        "AppMenuItem",
        "App Menu Item",
        "0DS",
        createable=False,
        updateable=True,
        deletable=True,
        fields=(
            _id("App Menu Item"),
            # Salesforce lists several target types; the simulator only has connected apps.
            _ref("ApplicationId", "ConnectedApplication", "Application", "Application ID"),
            _str("Label", length=255),
            _str("Name", length=255),
            _str(
                "Type",
                type="picklist",
                length=40,
                values=("ConnectedApplication", "Network", "ServiceProvider", "TabSet"),
            ),
            _bool("IsUsingAdminAuthorization", "Is Using Admin Authorization"),
            _bool("IsAccessible", "Is Accessible"),
            _bool("IsVisible", "Is Visible", u=True),
            _str("NamespacePrefix", length=15),
        ),
    )


def _oauth_token() -> SObject:
    """OauthToken: query only; ``Id`` is always null (facts §4.1). The key prefix is never used for rows."""
    return SObject(
        "OauthToken",
        "Oauth Token",
        "0CQ",
        createable=False,
        updateable=False,
        deletable=False,
        fields=(
            _str("AccessToken", length=255),
            _ref("AppMenuItemId", "AppMenuItem", "AppMenuItem", "App Menu Item ID"),
            _str("AppName", "App Name", length=255),
            _dt("CreatedDate"),
            _str("DeleteToken", length=255),
            _id("Oauth Token", nillable=True),
            _dt("LastUsedDate", "Last Used Date"),
            _str("RequestToken", length=255),
            _int("UseCount", "Use Count"),
            _ref("UserId", "User", "User", "User ID"),
        ),
    )


def _setup_entity_access() -> SObject:
    """SetupEntityAccess: create/delete, no update; SetupEntityType is derived, not createable (facts §5)."""
    return SObject(
        "SetupEntityAccess",
        "Setup Entity Access",
        "0J0",
        createable=True,
        updateable=False,
        deletable=True,
        fields=(
            _id("Setup Entity Access"),
            _ref("ParentId", "PermissionSet", "Parent", "Parent ID", c=True, nillable=False),
            # Polymorphic in Salesforce (ConnectedApplication, ExternalClientApplication, ApexClass, ...).
            _ref(
                "SetupEntityId",
                ("ConnectedApplication", "ExternalClientApplication"),
                None,
                "Setup Entity ID",
                c=True,
                nillable=False,
            ),
            _str(
                "SetupEntityType",
                type="picklist",
                length=40,
                values=(
                    "ApexClass",
                    "ApexPage",
                    "ConnectedApplication",
                    "CustomPermission",
                    "ExternalClientApplication",
                    "TabSet",
                ),
            ),
            _dt("SystemModstamp", "System Modstamp"),
        ),
    )


def _external_client_application() -> SObject:
    """ExternalClientApplication: 6sense's newer ECA; queried via standard SOQL (facts §0, §6.3).

    The key prefix ``0xI`` is the simulator's choice, not confirmed against a real org."""
    return SObject(
        "ExternalClientApplication",
        "External Client App",
        "0xI",
        createable=False,
        updateable=False,
        deletable=False,
        fields=(
            _id("External Client App"),
            _str("MasterLabel", "Master Label", length=80),
            _str("DeveloperName", "Developer Name", length=80),
            _str("DistributionState", type="picklist", length=40, values=("Local", "Packaged")),
            _str("NamespacePrefix", length=15),
            *_audit(),
        ),
    )


def _eca_oauth_policy() -> SObject:
    """ExtlClntAppOauthPlcyCnfg: the ECA's OAuth policies, read-only, standard SOQL endpoint (facts §6.3).

    Columns: those facts §10.2 lists (VERIFIED-3P, sfdx-hardis): ExternalClientApplicationId,
    PermittedUsersPolicyType, IpRelaxationPolicyType (SOQL casing, e.g. ``Enforce_relaxrefresh``; the mapping
    from the metadata values is ``orgsim.eca.IP_RELAXATION_SOQL``), RefreshTokenPolicyType,
    RefreshTokenValidityPeriod/Unit. ``StartUrl`` is UNCERTAIN (not in §10.2; kept as the simulator's mirror of
    ``startUrl``). The Object Reference lists the object "for internal use only" without fields, so the
    metadata-only policies (``sessionTimeoutInMinutes``, ``policyAction``, ``requiredSessionLevel``,
    ``commaSeparatedPermissionSet``/``Profile``) have no column here: querying them answers ``INVALID_FIELD``.
    Prefix ``0v8`` is made up."""
    return SObject(
        "ExtlClntAppOauthPlcyCnfg",
        "External Client App OAuth Policy Configuration",
        "0v8",
        createable=False,
        updateable=False,
        deletable=False,
        fields=(
            _id("External Client App OAuth Policy"),
            _ref(
                "ExternalClientApplicationId",
                "ExternalClientApplication",
                "ExternalClientApplication",
                "External Client Application ID",
            ),
            _str(
                "PermittedUsersPolicyType",
                type="picklist",
                length=40,
                values=("AdminApprovedPreAuthorized", "AllSelfAuthorized"),
            ),
            _str(
                "IpRelaxationPolicyType",
                type="picklist",
                length=40,
                values=("Bypass", "Bypass_2factor", "Enforce", "Enforce_relaxrefresh"),
            ),
            _str(
                "RefreshTokenPolicyType",
                type="picklist",
                length=40,
                values=("Infinite", "SpecificInactivity", "SpecificLifetime", "Zero"),
            ),
            _int("RefreshTokenValidityPeriod", "Refresh Token Validity Period"),
            _str(
                "RefreshTokenValidityUnit",
                type="picklist",
                length=40,
                values=("Days", "Hours", "Months"),
            ),
            # UNCERTAIN: not among facts §10.2's columns; the simulator's mirror of ``startUrl``.
            _str("StartUrl", "Start URL", type="url", length=1000),
            *_audit(),
        ),
    )


def _installed_subscriber_package() -> SObject:
    """InstalledSubscriberPackage: Tooling API only; installed packages such as the 6sense ECA (facts §0)."""
    return SObject(
        "InstalledSubscriberPackage",
        "Installed Subscriber Package",
        "0A3",
        createable=False,
        updateable=False,
        deletable=False,
        tooling=True,
        standard_api=False,
        fields=(
            _id("Installed Subscriber Package"),
            _ref(
                "SubscriberPackageId",
                "SubscriberPackage",
                "SubscriberPackage",
                "Subscriber Package ID",
            ),
            _ref(
                "SubscriberPackageVersionId",
                "SubscriberPackageVersion",
                "SubscriberPackageVersion",
                "Subscriber Package Version ID",
            ),
            *_audit(),
        ),
    )


def _subscriber_package() -> SObject:
    """SubscriberPackage (Tooling API): a package, installed or not; CumulusCI reads ``SubscriberPackage.Id``
    and ``.NamespacePrefix`` through InstalledSubscriberPackage (OrgConfig.installed_packages)."""
    return SObject(
        "SubscriberPackage",
        "Subscriber Package",
        "033",
        createable=False,
        updateable=False,
        deletable=False,
        tooling=True,
        standard_api=False,
        fields=(
            _id("Subscriber Package"),
            _str("Name", length=255),
            _str("NamespacePrefix", length=15),
            _str("Description", type="textarea", length=2000),
        ),
    )


def _subscriber_package_version() -> SObject:
    """SubscriberPackageVersion (Tooling API): one version (``04t``) with its number fields, which CumulusCI
    queries by Id (``MajorVersion, MinorVersion, PatchVersion, BuildNumber, IsBeta``)."""
    return SObject(
        "SubscriberPackageVersion",
        "Subscriber Package Version",
        "04t",
        createable=False,
        updateable=False,
        deletable=False,
        tooling=True,
        standard_api=False,
        fields=(
            _id("Subscriber Package Version"),
            _ref(
                "SubscriberPackageId",
                "SubscriberPackage",
                "SubscriberPackage",
                "Subscriber Package ID",
            ),
            _str("Name", length=255),
            _int("MajorVersion", "Major Version"),
            _int("MinorVersion", "Minor Version"),
            _int("PatchVersion", "Patch Version"),
            _int("BuildNumber", "Build Number"),
            _bool("IsBeta", "Is Beta"),
            _bool("IsManaged", "Is Managed"),
            _str("ReleaseState", type="picklist", length=40, values=("Beta", "Released")),
        ),
    )


def _package_install_request() -> SObject:
    """PackageInstallRequest (Tooling API): create to install a package version by ``04t`` id; ``Status`` is
    ERROR | IN_PROGRESS | SUCCESS | UNKNOWN; ``Errors`` is a complex value ``{"errors": [{"message"}]}``
    (what CumulusCI's ``_wait_for_package_install`` reads)."""
    return SObject(
        "PackageInstallRequest",
        "Package Install Request",
        "0Hf",
        createable=True,
        updateable=False,
        deletable=False,
        tooling=True,
        standard_api=False,
        fields=(
            _id("Package Install Request"),
            _str("SubscriberPackageVersionKey", length=18, c=True),
            _str(
                "SecurityType",
                type="picklist",
                length=40,
                c=True,
                values=("FULL", "NONE", "CUSTOM", "PUSH"),
            ),
            _str(
                "NameConflictResolution",
                type="picklist",
                length=40,
                c=True,
                values=("Block", "RenameMetadata"),
            ),
            _bool("EnableRss", "Enable RSS", c=True),
            _str("Password", length=255, c=True),
            _str(
                "UpgradeType",
                type="picklist",
                length=40,
                c=True,
                values=("delete-only", "deprecate-only", "mixed"),
            ),
            _str("ApexCompileType", type="picklist", length=40, c=True, values=("all", "package")),
            _str("PackageInstallSource", length=40, c=True),
            _str(
                "Status",
                type="picklist",
                length=40,
                values=("ERROR", "IN_PROGRESS", "SUCCESS", "UNKNOWN"),
            ),
            Field("Errors", "complexvalue", "Errors"),
            *_audit(),
        ),
    )


OBJECTS: dict[str, SObject] = {
    o.name: o
    for o in (
        _organization(),
        _user_license(),
        _profile(),
        _user(),
        _user_login(),
        _permission_set(),
        _permission_set_assignment(),
        _connected_application(),
        _setup_audit_trail(),
        _app_menu_item(),
        _oauth_token(),
        _setup_entity_access(),
        _external_client_application(),
        _eca_oauth_policy(),
        _installed_subscriber_package(),
        _subscriber_package(),
        _subscriber_package_version(),
        _package_install_request(),
    )
}

_BY_LOWER: dict[str, SObject] = {name.lower(): o for name, o in OBJECTS.items()}


# -- lookups -----------------------------------------------------------------------------------------------


def get_object(name: str) -> SObject | None:
    """The sObject called ``name`` (case-insensitive, as SOQL and REST treat object names), or ``None``."""
    return _BY_LOWER.get(name.lower())


def _obj(obj: str | SObject) -> SObject:
    found = obj if isinstance(obj, SObject) else get_object(obj)
    if found is None:
        raise KeyError(f"unknown sObject {obj!r}")
    return found


def visible_fields(obj_name: str | SObject, features: set[str] | frozenset[str]) -> list[Field]:
    """The fields of an object that exist in an org with ``features`` (feature-gated ones dropped).

    Raises ``KeyError`` for an unknown object."""
    return [f for f in _obj(obj_name).fields if f.feature is None or f.feature in features]


def field(
    obj: str | SObject, name: str, features: set[str] | frozenset[str] = frozenset()
) -> Field | None:
    """The visible field ``name`` of ``obj`` (case-insensitive), or ``None`` if it does not exist there."""
    lower = name.lower()
    for f in visible_fields(obj, features):
        if f.name.lower() == lower:
            return f
    return None


def relationship(
    obj: str | SObject, name: str, features: set[str] | frozenset[str] = frozenset()
) -> Field | None:
    """The reference field whose parent ``relationship_name`` is ``name`` (case-insensitive), or ``None``."""
    lower = name.lower()
    for f in visible_fields(obj, features):
        if f.relationship_name and f.relationship_name.lower() == lower:
            return f
    return None


def child_relationship(obj: str | SObject, name: str) -> ChildRelationship | None:
    """The child relationship ``name`` of ``obj`` (case-insensitive), or ``None``."""
    lower = name.lower()
    for rel in _obj(obj).child_relationships:
        if rel.relationship_name.lower() == lower:
            return rel
    return None


# -- ids ---------------------------------------------------------------------------------------------------

_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")
_SUFFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def is_valid_id(value: str) -> bool:
    """True for a syntactically valid 15- or 18-character Salesforce id."""
    return bool(_ID_RE.match(value))


def to_18(id15: str) -> str:
    """The 18-character form of a Salesforce id (an 18-character id is returned unchanged).

    The suffix is Salesforce's case checksum: for each 5-character chunk, bit *i* is set when character
    *i* is an upper-case letter, and the 5-bit number indexes ``A-Z0-5``. Raises ``ValueError`` for
    anything that is not a 15- or 18-character alphanumeric id."""
    if not is_valid_id(id15):
        raise ValueError(f"invalid Salesforce id: {id15!r}")
    if len(id15) == 18:
        return id15
    suffix = ""
    for start in range(0, 15, 5):
        chunk = id15[start : start + 5]
        bits = sum(1 << i for i, ch in enumerate(chunk) if "A" <= ch <= "Z")
        suffix += _SUFFIX_CHARS[bits]
    return id15 + suffix


# -- storage -----------------------------------------------------------------------------------------------


def column_type(f: Field) -> str:
    """SQLite column type for a field: INTEGER for booleans (0/1) and ints; TEXT otherwise.

    Text-like fields compare case-insensitively, as SOQL does, so they get ``COLLATE NOCASE``; ids,
    references and datetimes (``YYYY-MM-DDTHH:MM:SS.000+0000``) compare exactly."""
    if f.type in ("boolean", "int"):
        return "INTEGER"
    if f.type == "double":
        return "REAL"
    if f.type in _STRING_TYPES:
        return "TEXT COLLATE NOCASE"
    return "TEXT"


_INDEXED_NAMES = frozenset({"Username", "Name", "AppName"})


def table_ddl(obj: SObject) -> list[str]:
    """The CREATE TABLE and CREATE INDEX statements for one object (every field, gated or not)."""
    cols = []
    for f in obj.fields:
        pk = " PRIMARY KEY" if f.name == "Id" and not f.nillable else ""
        cols.append(f'"{f.name}" {column_type(f)}{pk}')
    stmts = [f'CREATE TABLE IF NOT EXISTS "{obj.name}" ({", ".join(cols)})']
    for f in obj.fields:
        if f.type == "reference" or f.name in _INDEXED_NAMES or (f.name == "Id" and f.nillable):
            stmts.append(
                f'CREATE INDEX IF NOT EXISTS "ix_{obj.name}_{f.name}" ON "{obj.name}" ("{f.name}")'
            )
    return stmts


def create_tables(conn: sqlite3.Connection) -> None:
    """Create one table per sObject, named like the object, one column per field (docs/architecture.md §1.1)."""
    for obj in OBJECTS.values():
        for stmt in table_ddl(obj):
            conn.execute(stmt)


# -- describe ----------------------------------------------------------------------------------------------

_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "datetime": "xsd:dateTime",
    "date": "xsd:date",
    "double": "xsd:double",
    "address": "urn:address",
}


def describe_field(f: Field) -> dict[str, Any]:
    """One entry of a describe's ``fields`` list, in Salesforce's DescribeFieldResult shape: the 57 keys of
    the recorded Account describe in the cumulusci wheel (``tests/shared_cassettes/
    GET_sobjects_Account_describe.yaml``). ``defaultValue`` is ``false`` for a boolean (a checkbox defaults
    to unchecked; e.g. Object Reference "UserLogin": "Default value: false") and ``null`` otherwise, which
    cci's ``load_dataset`` reads."""
    text = f.type in _STRING_TYPES
    return {
        "aggregatable": f.type not in ("textarea", "address"),
        "aiPredictionField": False,
        "autoNumber": False,
        "byteLength": f.length * 3 if text else f.length,
        "calculated": False,
        "calculatedFormula": None,
        "cascadeDelete": False,
        "caseSensitive": False,
        "compoundFieldName": None,
        "controllerName": None,
        "createable": f.createable,
        "custom": False,
        "defaultValue": False if f.type == "boolean" else None,
        "defaultValueFormula": None,
        "defaultedOnCreate": f.type == "boolean" or f.name == "Id",
        "dependentPicklist": False,
        "deprecatedAndHidden": False,
        "digits": 9 if f.type == "int" else 0,
        "displayLocationInDecimal": False,
        "encrypted": False,
        "externalId": False,
        "extraTypeInfo": None,
        "filterable": f.filterable and f.type != "address",
        "filteredLookupInfo": None,
        "formulaTreatNullNumberAsZero": False,
        "groupable": f.type not in ("textarea", "datetime", "double", "address"),
        "highScaleNumber": False,
        "htmlFormatted": False,
        "idLookup": f.name in ("Id", "Name", "Username"),
        "inlineHelpText": None,
        "label": f.label,
        "length": f.length,
        "mask": None,
        "maskType": None,
        "name": f.name,
        "nameField": f.name == "Name",
        "namePointing": False,
        "nillable": f.nillable,
        "permissionable": False,
        "picklistValues": [
            {"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v}
            for v in f.picklist_values
        ],
        "polymorphicForeignKey": len(f.reference_to) > 1,
        "precision": 18 if f.type == "double" else 0,
        "queryByDistance": False,
        "referenceTargetField": None,
        "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship_name,
        "relationshipOrder": None,
        "restrictedDelete": False,
        "restrictedPicklist": f.type == "picklist",
        "scale": 15 if f.type == "double" else 0,
        "searchPrefilterable": False,
        "soapType": _SOAP_TYPES.get(f.type, "xsd:string"),
        "sortable": f.type not in ("textarea", "address"),
        "type": f.type,
        "unique": False,
        "updateable": f.updateable,
        "writeRequiresMasterRead": False,
    }


def _urls(obj: SObject, base_url: str) -> dict[str, str]:
    sobject = f"{base_url}/sobjects/{obj.name}"
    return {
        "sobject": sobject,
        "describe": f"{sobject}/describe",
        "rowTemplate": f"{sobject}/{{ID}}",
    }


def _summary(obj: SObject, base_url: str) -> dict[str, Any]:
    """The properties shared by a describe-global entry and an sObject describe."""
    return {
        "activateable": False,
        "createable": obj.createable,
        "custom": False,
        "customSetting": False,
        "deepCloneable": False,
        "deletable": obj.deletable,
        "deprecatedAndHidden": False,
        "feedEnabled": False,
        "hasSubtypes": False,
        "isInterface": False,
        "isSubtype": False,
        "keyPrefix": obj.key_prefix,
        "label": obj.label,
        "labelPlural": obj.label_plural or obj.label + "s",
        "layoutable": False,
        "mergeable": False,
        "mruEnabled": False,
        "name": obj.name,
        "queryable": obj.queryable,
        "replicateable": obj.queryable,
        "retrieveable": obj.queryable,
        "searchable": False,
        "triggerable": False,
        "undeletable": False,
        "updateable": obj.updateable,
        "urls": _urls(obj, base_url),
    }


def _global_entry(obj: SObject, base_url: str) -> dict[str, Any]:
    """A describe-global entry: the 28 keys of the recorded ``GET .../sobjects`` in the cumulusci wheel."""
    return {**_summary(obj, base_url), "associateEntityType": None, "associateParentEntity": None}


def describe_sobject(
    obj_name: str, features: set[str] | frozenset[str], base_url: str = "/services/data/v65.0"
) -> dict[str, Any]:
    """``GET .../sobjects/{name}/describe``: Salesforce's DescribeSObjectResult shape.

    ``base_url`` is the versioned API root (``/services/data/v65.0``, or ``.../tooling`` for the Tooling
    API). Feature-gated fields appear only when their feature is in ``features`` (facts §1.2).
    Raises ``KeyError`` for an unknown object. Shape: REST API Developer Guide, sObject Describe."""
    obj = _obj(obj_name)
    result = _summary(obj, base_url)
    # The other keys of the recorded Account describe (42 in all), with the values of an object that has
    # no layouts, list views, scopes or interfaces.
    result.update(
        {
            "actionOverrides": [],
            "compactLayoutable": False,
            "defaultImplementation": None,
            "extendedBy": None,
            "extendsInterfaces": None,
            "implementedBy": None,
            "implementsInterfaces": None,
            "listviewable": None,
            "lookupLayoutable": None,
            "namedLayoutInfos": [],
            "networkScopeFieldName": None,
            "searchLayoutable": False,
            "supportedScopes": [],
        }
    )
    result["fields"] = [describe_field(f) for f in visible_fields(obj, features)]
    result["childRelationships"] = [
        {
            "cascadeDelete": False,
            "childSObject": rel.child_sobject,
            "deprecatedAndHidden": False,
            "field": rel.field,
            "junctionIdListNames": [],
            "junctionReferenceTo": [],
            "relationshipName": rel.relationship_name,
            "restrictedDelete": False,
        }
        for rel in obj.child_relationships
    ]
    result["recordTypeInfos"] = []
    return result


def describe_global(
    features: set[str] | frozenset[str] = frozenset(),
    *,
    tooling: bool = False,
    base_url: str = "/services/data/v65.0",
) -> dict[str, Any]:
    """``GET .../sobjects``: ``{"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": [...]}``.

    Lists the objects the REST API (or, with ``tooling=True``, the Tooling API) serves. ``features`` is
    accepted for symmetry: no whole object is feature-gated today. Shape: REST API Developer Guide,
    Describe Global."""
    del features
    return {
        "encoding": "UTF-8",
        "maxBatchSize": 200,
        "sobjects": [_global_entry(o, base_url) for o in objects_for_api(tooling=tooling)],
    }


def objects_for_api(*, tooling: bool) -> list[SObject]:
    """The objects served by the REST API (``tooling=False``) or the Tooling API (``tooling=True``)."""
    return [o for o in OBJECTS.values() if (o.tooling if tooling else o.standard_api)]
