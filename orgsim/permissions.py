"""The permission model: what the connected user may do, from its effective user permissions (its profile's
permission set plus every assigned permission set; facts §5: a profile is its PermissionSet with
``IsOwnedByProfile``). The rules and their sources are listed in ``docs/salesforce-permissions.md``; each
function cites them ("facts §N" is ``../shared/docs/salesforce-facts.md``). Where a source is uncertain the
rule refuses.

Every function takes the org first (``platform.Org``: ``has_permission``, ``scenario``) and the acting user
row, and raises ``errors.SalesforceError`` to refuse (:func:`metadata_api` raises :class:`MetadataAccessError`,
rendered as a SOAP fault). Callers: ``dml`` (queries and DML), ``soap`` (the Metadata API).
"""

from __future__ import annotations

from typing import Any

from orgsim import schema
from orgsim.errors import SalesforceError

#: Permission API names (``Permissions`` prefix dropped) and their Setup labels, for messages and docs.
LABELS = {
    "ApiEnabled": "API Enabled",
    "ModifyAllData": "Modify All Data",
    "ModifyMetadata": "Modify Metadata Through Metadata API Functions",
    "CustomizeApplication": "Customize Application",
    "ViewSetup": "View Setup and Configuration",
    "ManageUsers": "Manage Users",
    "AssignPermissionSets": "Assign Permission Sets",
    "ManageProfilesPermissionsets": "Manage Profiles and Permission Sets",
}

#: Object access ("Special Access Rules" of the Object Reference): a user holding none of the listed
#: permissions cannot query the object (it answers as an unknown type). docs/salesforce-permissions.md R2-R5.
READ_ANY_OF: dict[str, tuple[str, ...]] = {
    # Object Reference v67 "PermissionSetAssignment", Special Access Rules (Summer '20); facts §8.
    "PermissionSetAssignment": ("ViewSetup", "AssignPermissionSets", "ManageUsers"),
    # Object Reference "UserLogin": "To access this object, you need the UserPermissions.ManageUsers
    # permission."
    "UserLogin": ("ManageUsers",),
    # Object Reference v67 "SetupEntityAccess", Special Access Rules (Spring '20); facts §5.
    "SetupEntityAccess": ("ViewSetup",),
    # facts §10.4: "Reading it needs View Setup and Configuration" [UNCERTAIN: refused without it].
    "SetupAuditTrail": ("ViewSetup",),
    # The connected-app and External Client App Setup objects (facts §3, §10.2): no page states who may
    # read them [UNCERTAIN]; as Setup configuration they are refused without View Setup and Configuration.
    "ConnectedApplication": ("ViewSetup",),
    "ExternalClientApplication": ("ViewSetup",),
    "ExtlClntAppOauthPlcyCnfg": ("ViewSetup",),
}

#: DML: the permissions a create/update/delete needs, as alternatives (any one suffices) that must all be
#: met (a tuple of alternatives per requirement). docs/salesforce-permissions.md R3, R4, R6.
WRITE_NEEDS: dict[str, tuple[tuple[str, ...], ...]] = {
    # Help "Assign Permission Sets to a Single User": Assign Permission Sets (or Manage Users, which
    # includes it); facts §8.
    "PermissionSetAssignment": (("AssignPermissionSets", "ManageUsers"),),
    # SetupEntityAccess rows are a permission set's or profile's assigned apps: editing them is editing the
    # permission set (help "Manage Profiles and Permission Sets"), on an object that needs View Setup.
    "SetupEntityAccess": (("ViewSetup",), ("ManageProfilesPermissionsets",)),
    # Object Reference "UserLogin": the object needs Manage Users (freezing and unlocking are Manage Users
    # actions on the user's page).
    "UserLogin": (("ManageUsers",),),
    # Help "Create Permission Sets" / "Edit permission sets": Manage Profiles and Permission Sets.
    "PermissionSet": (("ManageProfilesPermissionsets",),),
}

#: A Tooling API query needs View Setup and Configuration (UNCERTAIN: no Tooling API page states one
#: permission for every object; its Setup objects, e.g. PermissionDependency, say View Setup and
#: Configuration, so the simulator refuses without it). docs/salesforce-permissions.md R7.
TOOLING_NEEDS = ("ViewSetup",)

INSUFFICIENT_ACCESS_MESSAGE = "insufficient access rights on cross-reference id"
METADATA_MESSAGE = (
    "INSUFFICIENT_ACCESS: use of the Metadata API requires a user with the ModifyAllData or "
    "ModifyMetadata permission"
)


class MetadataAccessError(Exception):
    """The Metadata API refused the user: SOAP fault ``sf:INSUFFICIENT_ACCESS`` with :data:`METADATA_MESSAGE`."""

    faultcode = "sf:INSUFFICIENT_ACCESS"
    faultstring = METADATA_MESSAGE


def holds_any(org, user: dict, permissions: tuple[str, ...]) -> bool:
    """Whether ``user`` holds at least one of ``permissions`` (profile or any assigned permission set)."""
    return any(org.has_permission(user["Id"], p) for p in permissions)


def metadata_api(org, user: dict) -> None:
    """Every Metadata API call (deploy, retrieve, listMetadata, describeMetadata, status checks) needs Modify
    All Data or Modify Metadata Through Metadata API Functions (help "Metadata API Edit Access";
    Metadata API Developer Guide ``describeMetadata()`` "Permissions": "must be logged in with the Modify
    Metadata Through Metadata API Functions or Modify All Data permission"). Customize Application alone is
    not listed as enough and is refused. Raises :class:`MetadataAccessError`: fault ``sf:INSUFFICIENT_ACCESS``
    "INSUFFICIENT_ACCESS: use of the Metadata API requires a user with the ModifyAllData or ModifyMetadata
    permission" (the 2014 wording "...requires a user with the ModifyAllData permission" is VERIFIED-3P,
    certinia/apex-mdapi#44; the "or ModifyMetadata" wording of current orgs is UNCERTAIN)."""
    if not holds_any(org, user, ("ModifyAllData", "ModifyMetadata")):
        raise MetadataAccessError(METADATA_MESSAGE)


def hidden_objects(org, user: dict, *, tooling: bool = False) -> frozenset[str]:
    """Objects ``user`` cannot query (:data:`READ_ANY_OF`); SOQL answers them ``INVALID_TYPE`` "sObject type
    'X' is not supported" as for an unknown object (an object the user has no access to is not in its
    describe; VERIFIED-3P: the INVALID_TYPE error is also seen when "the running user lacks permission to
    see the object", salesforcedictionary.com "INVALID_TYPE"). With ``tooling``, a user without View
    Setup and Configuration sees no Tooling object (:data:`TOOLING_NEEDS`, UNCERTAIN)."""
    hidden = {name for name, any_of in READ_ANY_OF.items() if not holds_any(org, user, any_of)}
    if tooling and not holds_any(org, user, TOOLING_NEEDS):
        hidden |= {o.name for o in schema.objects_for_api(tooling=True)}
    return frozenset(hidden)


def check_write(org, user: dict, sobject: str, record: dict[str, Any] | None = None) -> None:
    """A create, update or delete of ``sobject`` by ``user`` (:data:`WRITE_NEEDS`). Refused with
    ``INSUFFICIENT_ACCESS_OR_READONLY`` "insufficient access rights on cross-reference id" (the code and
    text Salesforce returns when the user may not write a record it references, e.g. a permission set;
    VERIFIED-3P: salesforcedictionary.com "INSUFFICIENT_ACCESS_OR_READONLY"; that this exact pair answers
    a missing user permission on these Setup objects is UNCERTAIN). ``record``: the values or current row
    (its ``PermissionSetId``/``ParentId`` is appended to the message, as Salesforce names the id)."""
    needs = WRITE_NEEDS.get(sobject)
    if not needs:
        return
    for any_of in needs:
        if not holds_any(org, user, any_of):
            ref = (record or {}).get("PermissionSetId") or (record or {}).get("ParentId")
            message = INSUFFICIENT_ACCESS_MESSAGE + (f": {ref}" if ref else "")
            raise SalesforceError("INSUFFICIENT_ACCESS_OR_READONLY", message)


def sees_all_oauth_tokens(org, user: dict) -> bool:
    """Whether ``user`` sees other users' OauthToken rows (otherwise "only your own tokens", facts §4.1).

    facts §10.1 gives two readings: Object Reference v67 "Users with the Customize Application permission see
    all tokens"; older documentation says Manage Users. Scenario ``features.oauth_token_visibility`` picks one:
    ``both`` (default, conservative: both permissions needed), ``customize_application`` or
    ``manage_users``."""
    reading = org.scenario.get("features", {}).get("oauth_token_visibility", "both")
    needed = {
        "both": ("CustomizeApplication", "ManageUsers"),
        "customize_application": ("CustomizeApplication",),
        "manage_users": ("ManageUsers",),
    }[reading]
    return all(org.has_permission(user["Id"], p) for p in needed)
