"""orgsim.soql against an in-memory SQLite built with schema.create_tables (docs/architecture.md §1.1)."""

from __future__ import annotations

import sqlite3
import time

import pytest

from orgsim import schema, soql
from tests.orgsim.soql_org import (
    ADMIN,
    ADMIN_PROFILE,
    ADMIN_PS,
    APP,
    INTEGRATION,
    LICENSE,
    ORPHAN,
    SIX_SET,
    SOME_SET,
    _insert,
    error,
    ids,
    run,
)

# -- the queries CumulusCI and our tasks send --------------------------------------------------------------


def test_cci_assign_permission_sets_query(conn):
    result = run(
        conn,
        "SELECT Id,(SELECT PermissionSetId FROM PermissionSetAssignments) FROM User "
        "WHERE Username = 'admin@example.com'",
    )
    assert result.total_size == 1
    assert result.records == [
        {
            "attributes": {"type": "User", "url": f"/services/data/v65.0/sobjects/User/{ADMIN}"},
            "Id": ADMIN,
            "PermissionSetAssignments": {
                "totalSize": 1,
                "done": True,
                "records": [
                    {
                        "attributes": {
                            "type": "PermissionSetAssignment",
                            "url": "/services/data/v65.0/sobjects/PermissionSetAssignment/0Pa000000000001AAA",
                        },
                        "PermissionSetId": ADMIN_PS,
                    }
                ],
            },
        }
    ]


def test_child_subquery_empty_is_none_and_filtered(conn):
    result = run(
        conn,
        "SELECT Alias, (SELECT PermissionSet.Name FROM PermissionSetAssignments "
        "WHERE PermissionSet.IsOwnedByProfile = false) FROM User ORDER BY Alias",
    )
    by_alias = {r["Alias"]: r["PermissionSetAssignments"] for r in result.records}
    assert by_alias["aadmin"] is None
    assert by_alias["orph"] is None
    assert [r["PermissionSet"]["Name"] for r in by_alias["sixint"]["records"]] == ["Some_Set"]


def test_child_subquery_limit_applies_per_parent(conn):
    _insert(
        conn,
        "PermissionSetAssignment",
        Id="0Pa000000000003AAA",
        AssigneeId=INTEGRATION,
        PermissionSetId=SIX_SET,
    )
    result = run(
        conn,
        "SELECT Id, (SELECT PermissionSetId FROM PermissionSetAssignments "
        "ORDER BY PermissionSetId DESC LIMIT 1) FROM User WHERE IsActive = true",
    )
    children = {r["Id"]: r["PermissionSetAssignments"]["records"] for r in result.records}
    assert [c["PermissionSetId"] for c in children[INTEGRATION]] == [SIX_SET]
    assert [c["PermissionSetId"] for c in children[ADMIN]] == [ADMIN_PS]


def test_permission_set_in_list_as_cci_sends_it(conn):
    result = run(
        conn,
        "SELECT Id,Name FROM PermissionSet WHERE Name IN ('Some_Set', 'Sixsense_Integration')",
    )
    assert [(r["Id"], r["Name"]) for r in result.records] == [
        (SOME_SET, "Some_Set"),
        (SIX_SET, "Sixsense_Integration"),
    ]


def test_setup_entity_access_verification_query(conn):
    result = run(
        conn,
        "SELECT Id, ParentId, Parent.Name, Parent.IsOwnedByProfile, Parent.Profile.Name, "
        "SetupEntityId FROM SetupEntityAccess WHERE SetupEntityType = 'ConnectedApplication' "
        f"AND SetupEntityId = '{APP}'",
    )
    (record,) = result.records
    assert record["Parent"]["Name"] == "X00e000000000001"
    assert record["Parent"]["IsOwnedByProfile"] is True
    assert record["Parent"]["Profile"]["Name"] == "System Administrator"
    assert record["Parent"]["Profile"]["attributes"]["type"] == "Profile"
    assert list(record) == ["attributes", "Id", "ParentId", "Parent", "SetupEntityId"]


# -- operators ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Username = 'ADMIN@example.com'", [ADMIN]),  # text compares case-insensitively
        ("Username != 'admin@example.com'", [INTEGRATION, ORPHAN]),
        ("Username <> 'admin@example.com'", [INTEGRATION, ORPHAN]),
        ("ProfileId != '00e000000000001AAA'", [INTEGRATION, ORPHAN]),  # != matches nulls
        ("Alias < 'b'", [ADMIN]),
        ("Alias <= 'orph'", [ADMIN, ORPHAN]),
        ("Alias > 'orph'", [INTEGRATION]),
        ("Alias >= 'orph'", [INTEGRATION, ORPHAN]),
        ("Username LIKE 'six%'", [INTEGRATION]),
        ("Username LIKE '_dmin@%'", [ADMIN]),
        ("Name LIKE 'O\\'B%'", [ORPHAN]),
        ("Alias IN ('aadmin', 'sixint')", [ADMIN, INTEGRATION]),
        ("Alias NOT IN ('aadmin', 'sixint')", [ORPHAN]),
        ("ProfileId IN (null, '00e000000000002AAA')", [INTEGRATION, ORPHAN]),
        ("ProfileId = null", [ORPHAN]),
        ("ProfileId != null", [ADMIN, INTEGRATION]),
        ("IsActive = true", [ADMIN, INTEGRATION]),
        ("IsActive = FALSE", [ORPHAN]),
        ("NOT IsActive = true", [ORPHAN]),
        ("NOT (Alias = 'aadmin' OR Alias = 'orph')", [INTEGRATION]),
        ("IsActive = true AND Alias != 'aadmin'", [INTEGRATION]),
        ("(Alias = 'aadmin' OR Alias = 'orph') AND IsActive = true", [ADMIN]),
        ("CreatedDate > 2025-06-01T00:00:00Z", [INTEGRATION]),
        ("CreatedDate < 2025-01-10T09:00:00+01:00", []),  # 08:00Z is not before 08:00Z
        ("CreatedDate <= 2025-01-10T09:00:00+0100", [ADMIN]),
        ("CreatedDate = 2025-01-10T08:00:00.000Z", [ADMIN]),
        ("CreatedDate = YESTERDAY", [INTEGRATION]),
        ("CreatedDate = TODAY", []),
        ("CreatedDate = LAST_N_DAYS:30", [INTEGRATION]),
        ("CreatedDate < LAST_N_DAYS:30", [ADMIN]),
        ("CreatedDate > LAST_N_DAYS:30", []),
    ],
)
def test_operators(conn, where, expected):
    assert ids(run(conn, f"SELECT Id FROM User WHERE {where}")) == expected


def test_like_escapes_wildcards(conn):
    _insert(conn, "PermissionSet", Id="0PS000000000009AAA", Name="A%B", Label="pct")
    assert ids(run(conn, "SELECT Id FROM PermissionSet WHERE Name LIKE 'A\\%%'")) == [
        "0PS000000000009AAA"
    ]
    assert ids(run(conn, "SELECT Id FROM PermissionSet WHERE Name LIKE 'Some\\_%'")) == [SOME_SET]
    assert ids(run(conn, "SELECT Id FROM PermissionSet WHERE Name LIKE 'Some\\%'")) == []


def test_keywords_and_names_are_case_insensitive(conn):
    result = run(conn, "select username from USER where ALIAS = 'aadmin' order by username limit 1")
    assert result.records[0]["Username"] == "admin@example.com"
    assert "Username" in result.records[0]  # output keys use the canonical API name
    assert result.records[0]["attributes"]["type"] == "User"


def test_string_escapes(conn):
    _insert(conn, "PermissionSet", Id="0PS000000000008AAA", Name="tab", Label="a\tb\\c\u00e9")
    result = run(conn, "SELECT Name FROM PermissionSet WHERE Label = 'a\\tb\\\\c\\u00e9'")
    assert [r["Name"] for r in result.records] == ["tab"]


# -- parent paths ---------------------------------------------------------------------------------------------


def test_parent_paths_one_and_two_levels_with_null_parents(conn):
    result = run(conn, "SELECT Username, Profile.Name, Profile.UserLicense.Name FROM User")
    records = {r["Username"]: r for r in result.records}
    admin = records["admin@example.com"]
    assert admin["Profile"] == {
        "attributes": {
            "type": "Profile",
            "url": f"/services/data/v65.0/sobjects/Profile/{ADMIN_PROFILE}",
        },
        "Name": "System Administrator",
        "UserLicense": {
            "attributes": {
                "type": "UserLicense",
                "url": f"/services/data/v65.0/sobjects/UserLicense/{LICENSE}",
            },
            "Name": "Salesforce",
        },
    }
    integration = records["sixsense.integration@example.com"]["Profile"]
    assert integration["Name"] == "Minimum Access - API Only Integrations"
    assert integration["UserLicense"] is None  # the profile has no licence: a null grandparent
    assert records["orphan@example.com"]["Profile"] is None  # a null parent


def test_parent_path_in_where_and_order_by(conn):
    result = run(
        conn,
        "SELECT Assignee.Username, PermissionSet.Name FROM PermissionSetAssignment "
        "WHERE PermissionSet.Name LIKE '%Set' OR Assignee.Profile.Name = 'System Administrator' "
        "ORDER BY Assignee.Username DESC",
    )
    assert [r["Assignee"]["Username"] for r in result.records] == [
        "sixsense.integration@example.com",
        "admin@example.com",
    ]


def test_oauth_token_join_like_sfdx_hardis(conn):
    result = run(
        conn,
        "SELECT AppName, User.Name, User.Profile.Name, UseCount, AppMenuItem.Id, Id "
        "FROM OAuthToken ORDER BY UseCount DESC",
    )
    first = result.records[0]
    assert first["attributes"] == {"type": "OauthToken"}  # Id is always null: no url
    assert first["Id"] is None
    assert first["UseCount"] == 512
    assert first["User"]["Profile"]["Name"] == "Minimum Access - API Only Integrations"
    assert first["AppMenuItem"] is None


# -- semi-joins ---------------------------------------------------------------------------------------------


def test_semi_join_and_anti_join(conn):
    semi = run(
        conn,
        "SELECT Id FROM User WHERE Id IN "
        "(SELECT AssigneeId FROM PermissionSetAssignment WHERE PermissionSet.Name = 'Some_Set')",
    )
    assert ids(semi) == [INTEGRATION]
    anti = run(
        conn,
        "SELECT Id FROM User WHERE Id NOT IN (SELECT AssigneeId FROM PermissionSetAssignment)",
    )
    assert ids(anti) == [ORPHAN]


def test_semi_join_rejects_two_fields(conn):
    err = error(
        conn, "SELECT Id FROM User WHERE Id IN (SELECT Id, AssigneeId FROM PermissionSetAssignment)"
    )
    assert err.error_code == "MALFORMED_QUERY"


# -- ORDER BY, LIMIT, OFFSET, COUNT ---------------------------------------------------------------------------


def test_order_by_limit_offset(conn):
    assert ids(run(conn, "SELECT Id FROM User ORDER BY Alias DESC")) == [INTEGRATION, ORPHAN, ADMIN]
    assert ids(run(conn, "SELECT Id FROM User ORDER BY Alias LIMIT 2")) == [ADMIN, ORPHAN]
    assert ids(run(conn, "SELECT Id FROM User ORDER BY Alias LIMIT 2 OFFSET 1")) == [
        ORPHAN,
        INTEGRATION,
    ]
    assert ids(run(conn, "SELECT Id FROM User ORDER BY Alias OFFSET 2")) == [INTEGRATION]


def test_order_by_nulls_and_several_keys(conn):
    first = run(conn, "SELECT Id FROM User ORDER BY ProfileId ASC NULLS LAST, Alias")
    assert ids(first) == [ADMIN, INTEGRATION, ORPHAN]
    last = run(conn, "SELECT Id FROM User ORDER BY IsActive DESC, CreatedDate DESC NULLS FIRST")
    assert ids(last) == [INTEGRATION, ADMIN, ORPHAN]


def test_default_order_is_insertion_order(conn):
    assert ids(run(conn, "SELECT Id FROM User")) == [ADMIN, INTEGRATION, ORPHAN]


def test_count(conn):
    result = run(conn, "SELECT COUNT() FROM User WHERE IsActive = true")
    assert (result.records, result.total_size) == ([], 2)
    assert run(conn, "SELECT COUNT() FROM User LIMIT 1").total_size == 1


def test_count_field_is_an_aggregate_result(conn):
    result = run(conn, "SELECT COUNT(Id), COUNT(ProfileId) profiles FROM User")
    assert result.total_size == 1
    assert result.records == [
        {"attributes": {"type": "AggregateResult"}, "expr0": 3, "profiles": 2}
    ]


def test_count_mixed_with_fields_is_rejected(conn):
    err = error(conn, "SELECT Id, COUNT(Id) FROM User")
    assert err.error_code == "MALFORMED_QUERY"
    assert err.message.endswith("Field must be grouped or aggregated: Id")


# -- features, row filters, ids, injection --------------------------------------------------------------------


def test_feature_gated_field(conn):
    query = "SELECT Name FROM PermissionSet WHERE PermissionsUseAnyApiClient = true"
    err = error(conn, query)
    assert err.error_code == "INVALID_FIELD"
    assert "No such column 'PermissionsUseAnyApiClient' on entity 'PermissionSet'" in err.message
    result = run(conn, query, features={"api_access_control"})
    assert [r["Name"] for r in result.records] == ["Sixsense_Integration"]


def test_row_filters_apply_to_main_query_children_and_parents(conn):
    only_mine = {"OauthToken": ("UserId = ?", [ADMIN])}
    tokens = run(conn, "SELECT UserId, UseCount FROM OauthToken", row_filters=only_mine)
    assert [(r["UserId"], r["UseCount"]) for r in tokens.records] == [(ADMIN, 3)]
    children = run(
        conn,
        "SELECT Id, (SELECT UseCount FROM OauthTokens) FROM User WHERE IsActive = true",
        row_filters=only_mine,
    )
    by_id = {r["Id"]: r["OauthTokens"] for r in children.records}
    assert by_id[ADMIN]["records"][0]["UseCount"] == 3
    assert by_id[INTEGRATION] is None
    count = run(conn, "SELECT COUNT() FROM OauthToken", row_filters=only_mine)
    assert count.total_size == 1
    hidden_profile = {"Profile": ("Name != ?", ["System Administrator"])}
    users = run(
        conn,
        "SELECT Alias, Profile.Name FROM User WHERE IsActive = true",
        row_filters=hidden_profile,
    )
    assert [r["Profile"] for r in users.records][0] is None
    assert run(conn, "SELECT Id FROM Profile", row_filters=hidden_profile).total_size == 1


def test_15_character_id_literal_matches_18(conn):
    assert ids(run(conn, "SELECT Id FROM User WHERE Id = '005000000000001'")) == [ADMIN]
    assert ids(run(conn, "SELECT Id FROM User WHERE Id = '005000000000001aaa'")) == [ADMIN]
    assert ids(run(conn, f"SELECT Id FROM ConnectedApplication WHERE Id = '{APP[:15]}'")) == [APP]
    result = run(
        conn, "SELECT Id FROM PermissionSetAssignment WHERE AssigneeId IN ('005000000000002')"
    )
    assert ids(result) == ["0Pa000000000002AAA"]


def test_sql_injection_in_a_literal_is_harmless(conn):
    evil = "x' OR '1'='1'; DROP TABLE \"User\"; --"
    literal = evil.replace("'", "\\'")
    assert run(conn, f"SELECT Id FROM User WHERE Username = '{literal}'").records == []
    assert run(conn, "SELECT COUNT() FROM User").total_size == 3
    # an unescaped quote ends the literal: the rest is a syntax error, never SQL
    err = error(conn, f"SELECT Id FROM User WHERE Username = '{evil}'")
    assert err.error_code == "MALFORMED_QUERY"


def test_tooling_only_object(conn):
    assert error(conn, "SELECT Id FROM InstalledSubscriberPackage").error_code == "INVALID_TYPE"
    result = run(conn, "SELECT Id FROM InstalledSubscriberPackage", tooling=True)
    assert result.records == []
    app = run(conn, "SELECT Id FROM ConnectedApplication", tooling=True, api_version="62.0")
    assert app.records[0]["attributes"]["url"] == (
        f"/services/data/v62.0/tooling/sobjects/ConnectedApplication/{APP}"
    )


# -- performance ----------------------------------------------------------------------------------------------


def test_relationship_query_over_100k_users_is_fast():
    db = sqlite3.connect(":memory:")
    schema.create_tables(db)
    db.execute('INSERT INTO "UserLicense" ("Id", "Name") VALUES (?, ?)', (LICENSE, "Salesforce"))
    db.execute(
        'INSERT INTO "Profile" ("Id", "Name", "UserLicenseId") VALUES (?, ?, ?)',
        (ADMIN_PROFILE, "System Administrator", LICENSE),
    )
    db.executemany(
        'INSERT INTO "User" ("Id", "Username", "Alias", "ProfileId", "IsActive") VALUES (?, ?, ?, ?, 1)',
        ((f"005{n:015d}", f"user{n}@example.com", f"u{n}", ADMIN_PROFILE) for n in range(100_000)),
    )
    db.executemany(
        'INSERT INTO "PermissionSetAssignment" ("Id", "AssigneeId", "PermissionSetId") VALUES (?, ?, ?)',
        ((f"0Pa{n:015d}", f"005{n:015d}", SOME_SET) for n in range(100_000)),
    )
    start = time.perf_counter()
    result = soql.execute(
        db,
        "SELECT Id, Assignee.Username, Assignee.Profile.Name, Assignee.Profile.UserLicense.Name "
        "FROM PermissionSetAssignment WHERE Assignee.Username = 'user99999@example.com'",
    )
    child = soql.execute(
        db,
        "SELECT Id, (SELECT PermissionSetId FROM PermissionSetAssignments) FROM User "
        "WHERE Username = 'user5@example.com'",
    )
    elapsed = time.perf_counter() - start
    assert result.records[0]["Assignee"]["Profile"]["UserLicense"]["Name"] == "Salesforce"
    assert child.records[0]["PermissionSetAssignments"]["totalSize"] == 1
    assert elapsed < 0.5, f"indexed relationship queries took {elapsed:.2f}s"
