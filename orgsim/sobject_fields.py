"""The simulator's sObject shapes and field builders (what ``orgsim/schema.py`` and its catalogue modules are
made of): ``Field``, ``ChildRelationship``, ``SObject``, one builder per describe type, the audit fields every
object carries, and the ``Permissions*`` fields of Profile and PermissionSet (facts §1.1, §1.2)."""

from __future__ import annotations

import re
from dataclasses import dataclass

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

STRING_TYPES = frozenset({"string", "picklist", "email", "textarea", "url", "phone"})
ID_TYPES = frozenset({"id", "reference"})


def words(name: str) -> str:
    """``LastModifiedDate`` -> ``Last Modified Date`` (a label when none is given)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)


def id_field(label: str, nillable: bool = False) -> Field:
    return Field("Id", "id", f"{label} ID", nillable=nillable, length=18)


def string_field(
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
        label or words(name),
        createable=c,
        updateable=u,
        nillable=nillable,
        length=length,
        picklist_values=values,
    )


def boolean_field(
    name: str, label: str | None = None, *, c: bool = False, u: bool = False
) -> Field:
    return Field(name, "boolean", label or words(name), createable=c, updateable=u, nillable=False)


def int_field(name: str, label: str | None = None) -> Field:
    return Field(name, "int", label or words(name))


def datetime_field(
    name: str, label: str | None = None, *, c: bool = False, u: bool = False
) -> Field:
    return Field(name, "datetime", label or words(name), createable=c, updateable=u)


def reference_field(
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
        label or words(name).replace(" Id", " ID"),
        createable=c,
        updateable=u,
        nillable=nillable,
        reference_to=targets,
        relationship_name=relationship,
        length=18,
    )


def audit_fields() -> tuple[Field, ...]:
    return (
        datetime_field("CreatedDate"),
        reference_field("CreatedById", "User", "CreatedBy", "Created By ID"),
        datetime_field("LastModifiedDate"),
        reference_field("LastModifiedById", "User", "LastModifiedBy", "Last Modified By ID"),
        datetime_field("SystemModstamp", "System Modstamp"),
    )


# -- user permissions (facts §1.1, §1.2) -------------------------------------------------------------------

PERMISSION_PREFIX = "Permissions"

#: The ``Permissions*`` boolean fields on Profile and PermissionSet. ``PermissionsUseAnyApiClient`` exists
#: only where Support provisioned API Access Control (facts §1.2: "No such column" elsewhere).
PERMISSION_FIELDS: list[Field] = [
    boolean_field("PermissionsApiEnabled", "API Enabled", c=True, u=True),
    boolean_field("PermissionsApiUserOnly", "API Only User", c=True, u=True),
    boolean_field("PermissionsCustomizeApplication", "Customize Application", c=True, u=True),
    boolean_field("PermissionsModifyAllData", "Modify All Data", c=True, u=True),
    boolean_field("PermissionsViewSetup", "View Setup and Configuration", c=True, u=True),
    boolean_field("PermissionsManageUsers", "Manage Users", c=True, u=True),
    # docs/salesforce-permissions.md: the permissions the simulator's access rules check.
    boolean_field(
        "PermissionsModifyMetadata",
        "Modify Metadata Through Metadata API Functions",
        c=True,
        u=True,
    ),
    boolean_field("PermissionsAssignPermissionSets", "Assign Permission Sets", c=True, u=True),
    boolean_field(
        "PermissionsManageProfilesPermissionsets",
        "Manage Profiles and Permission Sets",
        c=True,
        u=True,
    ),
    boolean_field(
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
