"""The sObject catalogue: objects, fields, describe properties, key prefixes, relationships, feature gates.

Everything the simulator knows about the *shape* of the org lives here (docs/architecture.md §1.1):
``store`` creates its tables with :func:`create_tables`, ``soql`` resolves names with :func:`get_object` and
:func:`field`, ``rest`` renders describes with :func:`describe_sobject` and :func:`describe_global`.

The objects themselves are defined in ``catalogue_identity`` and ``catalogue_apps`` (each citing the section
of ``salesforce-facts.md``, the project's research notes, it follows), from the shapes and field builders of
``sobject_fields``; this module gathers them and answers every lookup, re-exporting the shapes. Field
types are Salesforce describe types: ``id``, ``string``, ``boolean``, ``datetime``, ``date``, ``reference``,
``int``, ``picklist``, ``email``, ``textarea``.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from orgsim import catalogue_apps, catalogue_identity
from orgsim.sobject_fields import (  # re-exported: the rest of orgsim reads them as schema.X
    API_ACCESS_CONTROL,
    ID_TYPES,
    PERMISSION_FIELDS,
    PERMISSION_PREFIX,
    STRING_TYPES,
    ChildRelationship,
    Field,
    SObject,
    permission_field_names,
    permission_name,
)

__all__ = [
    "API_ACCESS_CONTROL",
    "ID_TYPES",
    "PERMISSION_FIELDS",
    "PERMISSION_PREFIX",
    "ChildRelationship",
    "Field",
    "SObject",
    "permission_field_names",
    "permission_name",
]


OBJECTS: dict[str, SObject] = {
    o.name: o
    for o in (
        catalogue_identity.organization(),
        catalogue_identity.user_license(),
        catalogue_identity.profile(),
        catalogue_identity.user(),
        catalogue_identity.user_login(),
        catalogue_identity.permission_set(),
        catalogue_identity.permission_set_assignment(),
        catalogue_apps.connected_application(),
        catalogue_apps.setup_audit_trail(),
        catalogue_apps.app_menu_item(),
        catalogue_apps.oauth_token(),
        catalogue_apps.setup_entity_access(),
        catalogue_apps.external_client_application(),
        catalogue_apps.eca_oauth_policy(),
        catalogue_apps.installed_subscriber_package(),
        catalogue_apps.subscriber_package(),
        catalogue_apps.subscriber_package_version(),
        catalogue_apps.package_install_request(),
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
    if f.type in STRING_TYPES:
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
    text = f.type in STRING_TYPES
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
