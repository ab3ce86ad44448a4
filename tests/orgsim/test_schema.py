"""orgsim.schema: the catalogue, feature gates, DDL, ids and describe shapes."""

from __future__ import annotations

import sqlite3

import pytest

from orgsim import schema

ACC = {"api_access_control"}


def test_to_18_uses_salesforce_checksum():
    assert schema.to_18("001A0000006Vm9r") == "001A0000006Vm9rIAC"
    assert schema.to_18("005000000000001") == "005000000000001AAA"
    assert schema.to_18("0PSxxXXXxxxxxXX") == "0PSxxXXXxxxxxXXGHY"
    assert schema.to_18("001A0000006Vm9rIAC") == "001A0000006Vm9rIAC"


@pytest.mark.parametrize(
    "bad", ["", "abc", "001A0000006Vm9", "001A0000006Vm9r-AC", "001A0000006Vm9rIA"]
)
def test_to_18_rejects_non_ids(bad):
    with pytest.raises(ValueError):
        schema.to_18(bad)
    assert schema.is_valid_id(bad) is False


def test_get_object_is_case_insensitive_and_canonical():
    assert schema.get_object("oauthtoken").name == "OauthToken"
    assert schema.get_object("PERMISSIONSETASSIGNMENT").key_prefix == "0Pa"
    assert schema.get_object("Account") is None


def test_key_prefixes():
    prefixes = {name: obj.key_prefix for name, obj in schema.OBJECTS.items()}
    assert prefixes["Organization"] == "00D"
    assert prefixes["User"] == "005"
    assert prefixes["Profile"] == "00e"
    assert prefixes["PermissionSet"] == "0PS"
    assert prefixes["ConnectedApplication"] == "0H4"
    assert prefixes["SetupEntityAccess"] == "0J0"
    assert prefixes["AppMenuItem"] == "0DS"


def test_use_any_api_client_is_feature_gated_on_both_objects():
    for obj in ("PermissionSet", "Profile"):
        without = [f.name for f in schema.visible_fields(obj, set())]
        with_acc = [f.name for f in schema.visible_fields(obj, ACC)]
        assert "PermissionsUseAnyApiClient" not in without
        assert "PermissionsUseAnyApiClient" in with_acc
        assert "PermissionsCanApproveUninstalledApps" in without
    assert schema.field("PermissionSet", "permissionsuseanyapiclient", set()) is None
    assert schema.field("PermissionSet", "permissionsuseanyapiclient", ACC).name == (
        "PermissionsUseAnyApiClient"
    )


def test_permission_field_names():
    assert "PermissionsUseAnyApiClient" not in schema.permission_field_names(set())
    assert schema.permission_field_names(ACC)[-1] == "PermissionsUseAnyApiClient"
    assert (
        schema.permission_name("PermissionsCanApproveUninstalledApps")
        == "CanApproveUninstalledApps"
    )


def test_field_properties_follow_the_facts():
    assert schema.field("SetupEntityAccess", "SetupEntityType").createable is False  # facts §5
    assert schema.field("SetupEntityAccess", "SetupEntityId").createable is True
    sea = schema.OBJECTS["SetupEntityAccess"]
    assert (sea.createable, sea.updateable, sea.deletable) == (True, False, True)
    menu_updateable = [f.name for f in schema.OBJECTS["AppMenuItem"].fields if f.updateable]
    assert menu_updateable == ["IsVisible"]  # facts §4.2
    assert not any(
        f.createable or f.updateable for f in schema.OBJECTS["ConnectedApplication"].fields
    )
    token = schema.OBJECTS["OauthToken"]
    assert (token.createable, token.updateable, token.deletable) == (False, False, False)
    assert schema.field("OauthToken", "Id").nillable is True  # facts §4.1: always null


def test_relationships():
    assignee = schema.relationship("PermissionSetAssignment", "assignee")
    assert (assignee.name, assignee.reference_to) == ("AssigneeId", ("User",))
    assert schema.relationship("SetupEntityAccess", "Parent").reference_to == ("PermissionSet",)
    rel = schema.child_relationship("User", "permissionsetassignments")
    assert (rel.child_sobject, rel.field) == ("PermissionSetAssignment", "AssigneeId")
    assert schema.child_relationship("PermissionSet", "SetupEntityAccessItems").field == "ParentId"


def test_create_tables_has_every_field_and_indexes():
    conn = sqlite3.connect(":memory:")
    schema.create_tables(conn)
    schema.create_tables(conn)  # idempotent
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == set(schema.OBJECTS)
    columns = [r[1] for r in conn.execute('PRAGMA table_info("PermissionSet")')]
    assert columns == [f.name for f in schema.OBJECTS["PermissionSet"].fields]
    assert "PermissionsUseAnyApiClient" in columns  # stored even where the feature is off
    indexed = {
        r[0]
        for r in conn.execute(
            "SELECT tbl_name || '.' || sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        )
    }
    assert any('"User" ("Username")' in s for s in indexed)
    assert any('"PermissionSetAssignment" ("AssigneeId")' in s for s in indexed)
    assert any('"OauthToken" ("AppName")' in s for s in indexed)
    conn.execute(
        'INSERT INTO "OauthToken" ("Id", "AppName") VALUES (NULL, ?), (NULL, ?)', ("a", "b")
    )
    assert conn.execute(
        'SELECT COUNT(*) FROM "OauthToken" WHERE "AppName" = ?', ("A",)
    ).fetchone() == (1,)


def test_describe_sobject_shape():
    d = schema.describe_sobject("permissionset", set(), "/services/data/v65.0")
    for key in ("name", "label", "keyPrefix", "createable", "updateable", "deletable", "queryable"):
        assert key in d
    assert (d["name"], d["keyPrefix"], d["createable"]) == ("PermissionSet", "0PS", True)
    assert d["urls"] == {
        "sobject": "/services/data/v65.0/sobjects/PermissionSet",
        "describe": "/services/data/v65.0/sobjects/PermissionSet/describe",
        "rowTemplate": "/services/data/v65.0/sobjects/PermissionSet/{ID}",
    }
    names = [f["name"] for f in d["fields"]]
    assert "PermissionsUseAnyApiClient" not in names
    profile_id = next(f for f in d["fields"] if f["name"] == "ProfileId")
    assert {k: profile_id[k] for k in ("type", "referenceTo", "relationshipName", "length")} == {
        "type": "reference",
        "referenceTo": ["Profile"],
        "relationshipName": "Profile",
        "length": 18,
    }
    assert {
        "childSObject": "SetupEntityAccess",
        "field": "ParentId",
        "relationshipName": "SetupEntityAccessItems",
    }.items() <= d["childRelationships"][1].items()
    with_acc = schema.describe_sobject("PermissionSet", ACC, "/services/data/v65.0")
    assert "PermissionsUseAnyApiClient" in [f["name"] for f in with_acc["fields"]]


def test_describe_field_keys_and_picklists():
    d = schema.describe_sobject("SetupEntityAccess", set())
    entity_type = next(f for f in d["fields"] if f["name"] == "SetupEntityType")
    for key in (
        "name",
        "type",
        "label",
        "createable",
        "updateable",
        "nillable",
        "referenceTo",
        "relationshipName",
        "length",
    ):
        assert key in entity_type
    assert entity_type["type"] == "picklist"
    assert "ConnectedApplication" in [v["value"] for v in entity_type["picklistValues"]]


def test_describe_global_shape():
    g = schema.describe_global(set())
    assert (g["encoding"], g["maxBatchSize"]) == ("UTF-8", 200)
    names = [o["name"] for o in g["sobjects"]]
    assert "User" in names and "ConnectedApplication" in names
    assert "InstalledSubscriberPackage" not in names  # Tooling API only
    tooling = [o["name"] for o in schema.describe_global(set(), tooling=True)["sobjects"]]
    assert "InstalledSubscriberPackage" in tooling and "ConnectedApplication" in tooling
    user = next(o for o in g["sobjects"] if o["name"] == "User")
    assert user["urls"]["sobject"] == "/services/data/v65.0/sobjects/User"


def test_describe_unknown_object_raises():
    with pytest.raises(KeyError):
        schema.describe_sobject("Foo", set())
