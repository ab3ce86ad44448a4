"""The simulator's catalogue, identity part: Organization, UserLicense, Profile, User, UserLogin,
PermissionSet, PermissionSetAssignment. Each object cites the section of ``salesforce-facts.md`` it follows;
``orgsim/schema.py`` gathers them (with ``orgsim/catalogue_apps.py``) and answers lookups."""

from __future__ import annotations

from orgsim.sobject_fields import (
    PERMISSION_FIELDS,
    ChildRelationship,
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


def organization() -> SObject:
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
            id_field("Organization"),
            string_field("Name", length=80),
            string_field("Division", length=80),
            string_field("Street", type="textarea"),
            string_field("City", length=40),
            string_field("State", "State/Province", length=80),
            string_field("PostalCode", "Zip/Postal Code", length=20),
            string_field("Country", length=80),
            Field("Latitude", "double", "Latitude"),
            Field("Longitude", "double", "Longitude"),
            string_field("GeocodeAccuracy", type="picklist", length=40, values=("Address", "Zip")),
            Field("Address", "address", "Address"),
            string_field("Phone", type="phone", length=40),
            string_field("Fax", type="phone", length=40),
            string_field("PrimaryContact", length=80),
            string_field(
                "DefaultLocaleSidKey", "Locale", type="picklist", length=40, values=("en_US",)
            ),
            string_field(
                "TimeZoneSidKey",
                "Time Zone",
                type="picklist",
                length=40,
                values=("America/Los_Angeles",),
            ),
            string_field(
                "LanguageLocaleKey", "Language", type="picklist", length=40, values=("en_US",)
            ),
            boolean_field("ReceivesInfoEmails"),
            boolean_field("ReceivesAdminInfoEmails"),
            boolean_field("PreferencesRequireOpportunityProducts"),
            boolean_field("PreferencesTransactionSecurityPolicy"),
            boolean_field("PreferencesTerminateOldestSession"),
            boolean_field("PreferencesConsentManagementEnabled"),
            boolean_field("PreferencesAutoSelectIndividualOnMerge"),
            boolean_field("PreferencesLightningLoginEnabled"),
            boolean_field("PreferencesOnlyLLPermUserAllowed"),
            int_field("FiscalYearStartMonth"),
            boolean_field("UsesStartDateAsFiscalYearName"),
            string_field("DefaultAccountAccess", type="picklist", length=40, values=access),
            string_field("DefaultContactAccess", type="picklist", length=40, values=access),
            string_field("DefaultOpportunityAccess", type="picklist", length=40, values=access),
            string_field("DefaultLeadAccess", type="picklist", length=40, values=access),
            string_field("DefaultCaseAccess", type="picklist", length=40, values=access),
            string_field(
                "DefaultCalendarAccess",
                type="picklist",
                length=40,
                values=("HideDetails", "HideDetailsInsert", "ShowDetails", "ShowDetailsInsert"),
            ),
            string_field(
                "DefaultPricebookAccess", type="picklist", length=40, values=("ReadSelect",)
            ),
            string_field("DefaultCampaignAccess", type="picklist", length=40, values=("All",)),
            string_field("DelegatedAuthenticationServiceUrl", type="url", length=1000),
            datetime_field("SystemModstamp", "System Modstamp"),
            string_field("ComplianceBccEmail", type="email", length=80),
            string_field(
                "UiSkin", type="picklist", length=40, values=("Theme1", "Theme2", "Theme3")
            ),
            string_field("SignupCountryIsoCode", length=2),
            datetime_field("TrialExpirationDate"),
            int_field("NumKnowledgeService"),
            string_field(
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
            string_field("NamespacePrefix", length=15),
            string_field("InstanceName", length=5),
            boolean_field("IsSandbox", "Is Sandbox"),
            string_field("WebToCaseDefaultOrigin", length=40),
            int_field("MonthlyPageViewsUsed"),
            int_field("MonthlyPageViewsEntitlement"),
            boolean_field("IsReadOnly"),
            datetime_field("CreatedDate"),
            reference_field("CreatedById", "User", "CreatedBy", "Created By ID"),
            datetime_field("LastModifiedDate"),
            reference_field("LastModifiedById", "User", "LastModifiedBy", "Last Modified By ID"),
        ),
    )


def user_license() -> SObject:
    """UserLicense: the licence behind each profile (facts §8: licences must match on assignment)."""
    return SObject(
        "UserLicense",
        "User License",
        "100",
        createable=False,
        updateable=False,
        deletable=False,
        fields=(
            id_field("User License"),
            string_field("Name", "License Name", length=40),
            string_field("LicenseDefinitionKey", length=40),
            string_field("Status", type="picklist", length=40, values=("Active", "Disabled")),
        ),
    )


def profile() -> SObject:
    """Profile: holds ``Permissions*`` fields like PermissionSet (facts §1.1); no API create here."""
    return SObject(
        "Profile",
        "Profile",
        "00e",
        createable=False,
        updateable=True,
        deletable=False,
        fields=(
            id_field("Profile"),
            string_field("Name", length=255, u=True, nillable=False),
            reference_field("UserLicenseId", "UserLicense", "UserLicense", "User License ID"),
            string_field("Description", type="textarea", u=True),
            *audit_fields(),
            *PERMISSION_FIELDS,
        ),
    )


def user() -> SObject:
    """User: cci's assign_permission_sets reads ``PermissionSetAssignments`` (cumulusci-notes §3.5, facts §8)."""
    return SObject(
        "User",
        "User",
        "005",
        createable=True,
        updateable=True,
        deletable=False,
        fields=(
            id_field("User"),
            string_field("Username", length=80, c=True, u=True, nillable=False),
            string_field("Name", "Full Name", length=121),
            string_field("FirstName", length=40, c=True, u=True),
            string_field("LastName", length=80, c=True, u=True, nillable=False),
            string_field("Alias", length=8, c=True, u=True, nillable=False),
            string_field("Email", type="email", length=128, c=True, u=True, nillable=False),
            boolean_field("IsActive", "Active", c=True, u=True),
            reference_field(
                "ProfileId", "Profile", "Profile", "Profile ID", c=True, u=True, nillable=False
            ),
            string_field(
                "UserType",
                type="picklist",
                length=40,
                values=("Standard", "PowerPartner", "CspLitePortal", "CsnOnly", "Guest"),
            ),
            datetime_field("CreatedDate"),
            datetime_field("LastModifiedDate"),
        ),
        child_relationships=(
            ChildRelationship("PermissionSetAssignments", "PermissionSetAssignment", "AssigneeId"),
            ChildRelationship("OauthTokens", "OauthToken", "UserId"),
        ),
    )


def user_login() -> SObject:
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
            id_field("User Login"),
            reference_field("UserId", "User", "User", "User ID"),
            boolean_field("IsFrozen", "Is Frozen", u=True),
            boolean_field("IsPasswordLocked", "Is Password Locked", u=True),
            datetime_field("LastModifiedDate"),
            reference_field("LastModifiedById", "User", "LastModifiedBy", "Last Modified By ID"),
        ),
    )


def permission_set() -> SObject:
    """PermissionSet: naming rules and REST support (facts §8); profile-owned rows (facts §5)."""
    return SObject(
        "PermissionSet",
        "Permission Set",
        "0PS",
        createable=True,
        updateable=True,
        deletable=True,
        fields=(
            id_field("Permission Set"),
            string_field("Name", length=80, c=True, u=True, nillable=False),
            string_field("Label", length=80, c=True, u=True, nillable=False),
            string_field("Description", type="textarea", c=True, u=True),
            boolean_field("IsOwnedByProfile", "Is Owned by Profile"),
            reference_field("ProfileId", "Profile", "Profile", "Profile ID"),
            string_field("NamespacePrefix", length=15),
            reference_field("LicenseId", "UserLicense", "License", "License ID", c=True, u=True),
            *audit_fields(),
            *PERMISSION_FIELDS,
        ),
        child_relationships=(
            ChildRelationship("Assignments", "PermissionSetAssignment", "PermissionSetId"),
            ChildRelationship("SetupEntityAccessItems", "SetupEntityAccess", "ParentId"),
        ),
    )


def permission_set_assignment() -> SObject:
    """PermissionSetAssignment: create, delete, update, query (facts §8)."""
    return SObject(
        "PermissionSetAssignment",
        "Permission Set Assignment",
        "0Pa",
        createable=True,
        updateable=True,
        deletable=True,
        fields=(
            id_field("Permission Set Assignment"),
            reference_field(
                "AssigneeId", "User", "Assignee", "Assignee ID", c=True, nillable=False
            ),
            reference_field(
                "PermissionSetId", "PermissionSet", "PermissionSet", "Permission Set ID", c=True
            ),
            # PermissionSetGroup is not in this catalogue, so the relationship is not traversable here.
            reference_field(
                "PermissionSetGroupId",
                "PermissionSetGroup",
                None,
                "Permission Set Group ID",
                c=True,
            ),
            boolean_field("IsActive", "Is Active"),
            datetime_field("ExpirationDate", "Expiration Date", c=True, u=True),
            datetime_field("SystemModstamp", "System Modstamp"),
        ),
    )
