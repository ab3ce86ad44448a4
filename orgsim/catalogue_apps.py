"""The simulator's catalogue, app part: ConnectedApplication, SetupAuditTrail, AppMenuItem, OauthToken,
SetupEntityAccess, the External Client App objects and the package objects. Each object cites the section of
``salesforce-facts.md`` it follows; ``orgsim/schema.py`` gathers them and answers lookups."""

from __future__ import annotations

from orgsim.sobject_fields import (
    Field,
    SObject,
    audit_fields,
    boolean_field,
    datetime_field,
    id_field,
    int_field,
    reference_field,
    string_field,
)


def connected_application() -> SObject:
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
            id_field("Connected App"),
            string_field("Name", "Connected App Name", length=80),
            *audit_fields(),
            string_field(
                "MobileSessionTimeout",
                "Lock App After",
                type="picklist",
                length=40,
                values=("1", "5", "10", "30", "60"),
            ),
            string_field("MobileStartUrl", "Mobile Start URL", type="url", length=2400),
            string_field(
                "NamedUserUvidTimeout",
                type="picklist",
                length=40,
                values=("1", "5", "10", "15", "30"),
            ),
            boolean_field("OptionsAllowAdminApprovedUsersOnly", "AllowAdminApprovedUsersOnly"),
            boolean_field("OptionsCodeCredentialGuestEnabled", "CodeCredentialGuestEnabled"),
            boolean_field("OptionsFullContentPushNotifications", "FullContentPushNotifications"),
            boolean_field("OptionsHasSessionLevelPolicy", "HasSessionLevelPolicy"),
            boolean_field("OptionsIsInternal", "isInternal"),
            boolean_field("OptionsRefreshTokenValidityMetric", "RefreshTokenValidityMetric"),
            boolean_field("OptionsTokenExchangeManageBitEnabled", "TokenExchangeManageBitEnabled"),
            string_field(
                "PinLength", "PIN Length", type="picklist", length=40, values=tuple("456789")
            ),
            int_field("RefreshTokenValidityPeriod", "Refresh Token Policy:"),
            string_field("StartUrl", "Start URL", type="url", length=2400),
        ),
    )


def setup_audit_trail() -> SObject:
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
            id_field("Setup Audit Trail"),
            string_field("Action", length=120, nillable=False),
            Field("Section", "string", "Section", length=120, filterable=False),
            Field("Display", "string", "Display", length=1000, filterable=False),
            string_field("DelegateUser", "Delegate User", length=80),
            string_field("CreatedByContext", "Created By Context", length=80),
            string_field("CreatedByIssuer", "Created By Issuer", length=80),
            string_field("ResponsibleNamespacePrefix", length=15),
            datetime_field("CreatedDate"),
            reference_field("CreatedById", "User", "CreatedBy", "Created By ID"),
        ),
    )


def app_menu_item() -> SObject:
    """AppMenuItem: App Launcher items; only ``IsVisible`` is updateable (facts §4.2)."""
    return SObject(
        "AppMenuItem",
        "App Menu Item",
        "0DS",
        createable=False,
        updateable=True,
        deletable=True,
        fields=(
            id_field("App Menu Item"),
            # Salesforce lists several target types; the simulator only has connected apps.
            reference_field(
                "ApplicationId", "ConnectedApplication", "Application", "Application ID"
            ),
            string_field("Label", length=255),
            string_field("Name", length=255),
            string_field(
                "Type",
                type="picklist",
                length=40,
                values=("ConnectedApplication", "Network", "ServiceProvider", "TabSet"),
            ),
            boolean_field("IsUsingAdminAuthorization", "Is Using Admin Authorization"),
            boolean_field("IsAccessible", "Is Accessible"),
            boolean_field("IsVisible", "Is Visible", u=True),
            string_field("NamespacePrefix", length=15),
        ),
    )


def oauth_token() -> SObject:
    """OauthToken: query only; ``Id`` is always null (facts §4.1). The key prefix is never used for rows."""
    return SObject(
        "OauthToken",
        "Oauth Token",
        "0CQ",
        createable=False,
        updateable=False,
        deletable=False,
        fields=(
            string_field("AccessToken", length=255),
            reference_field("AppMenuItemId", "AppMenuItem", "AppMenuItem", "App Menu Item ID"),
            string_field("AppName", "App Name", length=255),
            datetime_field("CreatedDate"),
            string_field("DeleteToken", length=255),
            id_field("Oauth Token", nillable=True),
            datetime_field("LastUsedDate", "Last Used Date"),
            string_field("RequestToken", length=255),
            int_field("UseCount", "Use Count"),
            reference_field("UserId", "User", "User", "User ID"),
        ),
    )


def setup_entity_access() -> SObject:
    """SetupEntityAccess: create/delete, no update; SetupEntityType is derived, not createable (facts §5)."""
    return SObject(
        "SetupEntityAccess",
        "Setup Entity Access",
        "0J0",
        createable=True,
        updateable=False,
        deletable=True,
        fields=(
            id_field("Setup Entity Access"),
            reference_field(
                "ParentId", "PermissionSet", "Parent", "Parent ID", c=True, nillable=False
            ),
            # Polymorphic in Salesforce (ConnectedApplication, ExternalClientApplication, ApexClass, ...).
            reference_field(
                "SetupEntityId",
                ("ConnectedApplication", "ExternalClientApplication"),
                None,
                "Setup Entity ID",
                c=True,
                nillable=False,
            ),
            string_field(
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
            datetime_field("SystemModstamp", "System Modstamp"),
        ),
    )


def external_client_application() -> SObject:
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
            id_field("External Client App"),
            string_field("MasterLabel", "Master Label", length=80),
            string_field("DeveloperName", "Developer Name", length=80),
            string_field(
                "DistributionState", type="picklist", length=40, values=("Local", "Packaged")
            ),
            string_field("NamespacePrefix", length=15),
            *audit_fields(),
        ),
    )


def eca_oauth_policy() -> SObject:
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
            id_field("External Client App OAuth Policy"),
            reference_field(
                "ExternalClientApplicationId",
                "ExternalClientApplication",
                "ExternalClientApplication",
                "External Client Application ID",
            ),
            string_field(
                "PermittedUsersPolicyType",
                type="picklist",
                length=40,
                values=("AdminApprovedPreAuthorized", "AllSelfAuthorized"),
            ),
            string_field(
                "IpRelaxationPolicyType",
                type="picklist",
                length=40,
                values=("Bypass", "Bypass_2factor", "Enforce", "Enforce_relaxrefresh"),
            ),
            string_field(
                "RefreshTokenPolicyType",
                type="picklist",
                length=40,
                values=("Infinite", "SpecificInactivity", "SpecificLifetime", "Zero"),
            ),
            int_field("RefreshTokenValidityPeriod", "Refresh Token Validity Period"),
            string_field(
                "RefreshTokenValidityUnit",
                type="picklist",
                length=40,
                values=("Days", "Hours", "Months"),
            ),
            # UNCERTAIN: not among facts §10.2's columns; the simulator's mirror of ``startUrl``.
            string_field("StartUrl", "Start URL", type="url", length=1000),
            *audit_fields(),
        ),
    )


def installed_subscriber_package() -> SObject:
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
            id_field("Installed Subscriber Package"),
            reference_field(
                "SubscriberPackageId",
                "SubscriberPackage",
                "SubscriberPackage",
                "Subscriber Package ID",
            ),
            reference_field(
                "SubscriberPackageVersionId",
                "SubscriberPackageVersion",
                "SubscriberPackageVersion",
                "Subscriber Package Version ID",
            ),
            *audit_fields(),
        ),
    )


def subscriber_package() -> SObject:
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
            id_field("Subscriber Package"),
            string_field("Name", length=255),
            string_field("NamespacePrefix", length=15),
            string_field("Description", type="textarea", length=2000),
        ),
    )


def subscriber_package_version() -> SObject:
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
            id_field("Subscriber Package Version"),
            reference_field(
                "SubscriberPackageId",
                "SubscriberPackage",
                "SubscriberPackage",
                "Subscriber Package ID",
            ),
            string_field("Name", length=255),
            int_field("MajorVersion", "Major Version"),
            int_field("MinorVersion", "Minor Version"),
            int_field("PatchVersion", "Patch Version"),
            int_field("BuildNumber", "Build Number"),
            boolean_field("IsBeta", "Is Beta"),
            boolean_field("IsManaged", "Is Managed"),
            string_field("ReleaseState", type="picklist", length=40, values=("Beta", "Released")),
        ),
    )


def package_install_request() -> SObject:
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
            id_field("Package Install Request"),
            string_field("SubscriberPackageVersionKey", length=18, c=True),
            string_field(
                "SecurityType",
                type="picklist",
                length=40,
                c=True,
                values=("FULL", "NONE", "CUSTOM", "PUSH"),
            ),
            string_field(
                "NameConflictResolution",
                type="picklist",
                length=40,
                c=True,
                values=("Block", "RenameMetadata"),
            ),
            boolean_field("EnableRss", "Enable RSS", c=True),
            string_field("Password", length=255, c=True),
            string_field(
                "UpgradeType",
                type="picklist",
                length=40,
                c=True,
                values=("delete-only", "deprecate-only", "mixed"),
            ),
            string_field(
                "ApexCompileType", type="picklist", length=40, c=True, values=("all", "package")
            ),
            string_field("PackageInstallSource", length=40, c=True),
            string_field(
                "Status",
                type="picklist",
                length=40,
                values=("ERROR", "IN_PROGRESS", "SUCCESS", "UNKNOWN"),
            ),
            Field("Errors", "complexvalue", "Errors"),
            *audit_fields(),
        ),
    )
