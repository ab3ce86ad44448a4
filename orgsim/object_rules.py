"""The per-object DML rules (PermissionSet, PermissionSetAssignment, SetupEntityAccess, User, UserLogin),
registered in
``registry`` by object name. Each rule cites ``../shared/docs/salesforce-facts.md`` ("facts §N"); UNCERTAIN
marks an error code or wording no source settles.

Rules take the org first (``platform.Org``: its ``store`` and ``normalise_id``) and raise
``errors.SalesforceError`` to refuse.
"""

from __future__ import annotations

import re

from orgsim import registry, schema
from orgsim.errors import SalesforceError

#: facts §8: "only underscores and alphanumeric characters ... begin with a letter, not include spaces,
#: not end with an underscore, and not contain two consecutive underscores"; at most 80 characters.
PERMSET_NAME_RE = re.compile(r"^[A-Za-z](?!.*__)[A-Za-z0-9_]{0,79}(?<!_)$")
PERMSET_NAME_MESSAGE = (
    "The Permission Set API Name can only contain underscores and alphanumeric characters. It must be "
    "unique, begin with a letter, not include spaces, not end with an underscore, and not contain two "
    "consecutive underscores."
)
#: facts §5: SetupEntityType is derived from the SetupEntityId key prefix.
SETUP_ENTITY_TYPES = {
    "0H4": "ConnectedApplication",
    "0xI": "ExternalClientApplication",  # API 60.0+ (facts §5, §6.3)
    "01p": "ApexClass",
    "066": "ApexPage",
}


def check_permission_set_name(name: str) -> None:
    """PermissionSet API name rule (facts §8). Raises ``SalesforceError``.

    The REST error code for a bad ``PermissionSet.Name`` is UNCERTAIN (facts §8: "may be
    FIELD_INTEGRITY_EXCEPTION or INVALID_FIELD"); the simulator uses ``FIELD_INTEGRITY_EXCEPTION``.
    """
    if not isinstance(name, str) or not PERMSET_NAME_RE.match(name):
        raise SalesforceError("FIELD_INTEGRITY_EXCEPTION", PERMSET_NAME_MESSAGE, ["Name"])


@registry.before("create", "PermissionSet")
def before_create_PermissionSet(org, user, values):
    """PermissionSet create: the API name rule (facts §8), Label required, Name unique. A duplicate Name's
    code is UNCERTAIN: ``DUPLICATE_DEVELOPER_NAME`` (field-cases appendix)."""
    check_permission_set_name(values.get("Name"))
    if not values.get("Label"):
        raise SalesforceError(
            "REQUIRED_FIELD_MISSING", "Required fields are missing: [Label]", ["Label"]
        )
    if org.store.find("PermissionSet", Name=values["Name"]):
        raise SalesforceError(
            "DUPLICATE_DEVELOPER_NAME",
            f"The API name {values['Name']} is already in use.",
            ["Name"],
        )
    return values


@registry.before("update", "PermissionSet")
def before_update_PermissionSet(org, user, current, values):
    """Profile-owned permission sets "can be queried but not modified" (facts §5); the error code is
    UNCERTAIN (``INSUFFICIENT_ACCESS_OR_READONLY``). Renames follow the API name rule (facts §8)."""
    if current.get("IsOwnedByProfile"):
        raise SalesforceError(
            "INSUFFICIENT_ACCESS_OR_READONLY",
            "insufficient access rights on object id: a profile's permission set is edited through the profile",
        )
    if "Name" in values:
        check_permission_set_name(values["Name"])
    return values


@registry.before("delete", "PermissionSet")
def before_delete_PermissionSet(org, user, current):
    """A permission set can be deleted only if it is not assigned (facts §8); profile-owned ones not at all.
    Error code UNCERTAIN (``DELETE_FAILED``)."""
    if current.get("IsOwnedByProfile"):
        raise SalesforceError("DELETE_FAILED", "Cannot delete a permission set owned by a profile")
    if org.store.find("PermissionSetAssignment", PermissionSetId=current["Id"]):
        raise SalesforceError(
            "DELETE_FAILED", "Cannot delete a permission set that is assigned to users"
        )


@registry.before("create", "PermissionSetAssignment")
def before_create_PermissionSetAssignment(org, user, values):
    """PermissionSetAssignment (facts §8): a duplicate assignment fails with ``DUPLICATE_VALUE``
    "duplicate value found: <unknown> duplicates value on record with id: <id>"."""
    dup = org.store.find_one(
        "PermissionSetAssignment",
        AssigneeId=values["AssigneeId"],
        PermissionSetId=values["PermissionSetId"],
    )
    if dup:
        raise SalesforceError(
            "DUPLICATE_VALUE",
            f"duplicate value found: <unknown> duplicates value on record with id: {dup['Id']}",
        )
    return {**values, "IsActive": 1}


@registry.before("delete", "PermissionSetAssignment")
def before_delete_PermissionSetAssignment(org, user, current):
    """The assignment of a user's profile-owned permission set belongs to the profile and cannot be
    deleted (facts §5 "can be queried but not modified"; code UNCERTAIN: ``DELETE_FAILED``)."""
    ps = org.store.get("PermissionSet", current["PermissionSetId"])
    if ps and ps.get("IsOwnedByProfile"):
        raise SalesforceError(
            "DELETE_FAILED", "Cannot remove a profile's permission set assignment"
        )


@registry.before("create", "SetupEntityAccess")
def before_create_SetupEntityAccess(org, user, values):
    """SetupEntityAccess (facts §5): ``ParentId`` must be a PermissionSet (profile-owned ones included);
    ``SetupEntityType`` is derived from the ``SetupEntityId`` key prefix (0H4 -> ConnectedApplication) and
    is not writable (rejected earlier as INVALID_FIELD_FOR_INSERT_UPDATE); the entity must exist;
    a second row for the same parent and entity fails with ``DUPLICATE_VALUE``."""
    parent = values.get("ParentId")
    if org.store.object_of(parent or "") != "PermissionSet" or not org.store.get(
        "PermissionSet", parent
    ):
        raise SalesforceError(
            "FIELD_INTEGRITY_EXCEPTION",
            f"field integrity exception: unknown (Parent ID: id value of incorrect type: {parent})",
            ["ParentId"],
        )
    entity = org.normalise_id(values.get("SetupEntityId") or "")
    entity_type = SETUP_ENTITY_TYPES.get((entity or "")[:3])
    if not entity or not entity_type:
        raise SalesforceError(
            "FIELD_INTEGRITY_EXCEPTION",
            f"field integrity exception: unknown (Setup Entity ID: id value of incorrect type: "
            f"{values.get('SetupEntityId')})",
            ["SetupEntityId"],
        )
    if entity_type in schema.OBJECTS and not org.store.get(entity_type, entity):
        raise SalesforceError(
            "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["SetupEntityId"]
        )
    dup = org.store.find_one("SetupEntityAccess", ParentId=parent, SetupEntityId=entity)
    if dup:
        raise SalesforceError(
            "DUPLICATE_VALUE",
            f"duplicate value found: <unknown> duplicates value on record with id: {dup['Id']}",
        )
    return {**values, "SetupEntityId": entity, "SetupEntityType": entity_type}


@registry.before("create", "User")
def before_create_User(org, user, values):
    """A new user is active unless the request says otherwise (User.IsActive defaults to true)."""
    values.setdefault("IsActive", 1)
    return values


@registry.after_create("User")
def after_create_User(org, user_id, values):
    """Every user holds its profile's permission set through a PermissionSetAssignment (facts §5), and has
    one UserLogin row, not frozen and not locked (Object Reference "UserLogin": both default false)."""
    assign_profile_permission_set(org, user_id, values.get("ProfileId"))
    org.store.insert("UserLogin", {"UserId": user_id})


@registry.before("update", "UserLogin")
def before_update_UserLogin(org, user, current, values):
    """UserLogin update (Object Reference "UserLogin"): ``IsFrozen`` may be set either way;
    ``IsPasswordLocked`` "From the API, you can set this field to false, but not true". Setting it true is
    refused with ``FIELD_INTEGRITY_EXCEPTION`` (the code and wording are UNCERTAIN)."""
    if values.get("IsPasswordLocked"):
        raise SalesforceError(
            "FIELD_INTEGRITY_EXCEPTION",
            "field integrity exception: IsPasswordLocked can be set to false, not true",
            ["IsPasswordLocked"],
        )
    return values


def assign_profile_permission_set(org, user_id: str, profile_id: str | None) -> None:
    ps = org.store.find_one("PermissionSet", ProfileId=profile_id, IsOwnedByProfile=1)
    if ps:
        org.store.insert(
            "PermissionSetAssignment",
            {"AssigneeId": user_id, "PermissionSetId": ps["Id"], "IsActive": 1},
        )
