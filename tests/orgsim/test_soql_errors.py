"""orgsim.soql's errors, as Salesforce words them (INVALID_TYPE, INVALID_FIELD, MALFORMED_QUERY, ...),
against the small org of tests/orgsim/soql_org.py."""

from __future__ import annotations

import pytest

from tests.orgsim.soql_org import error

# -- errors ---------------------------------------------------------------------------------------------------


def test_unknown_object_is_invalid_type(conn):
    err = error(conn, "SELECT Id FROM Foo")
    assert err.error_code == "INVALID_TYPE"
    assert err.message == (
        "\nSELECT Id FROM Foo\n               ^\nERROR at Row:1:Column:16\nsObject type 'Foo' is not "
        "supported. If you are attempting to use a custom object, be sure to append the '__c' after "
        "the entity name. Please reference your WSDL or the describe call for the appropriate names."
    )


def test_unknown_field_is_invalid_field(conn):
    err = error(conn, "SELECT Id, Bogus FROM User")
    assert err.error_code == "INVALID_FIELD"
    assert err.message == (
        "\nSELECT Id, Bogus FROM User\n           ^\nERROR at Row:1:Column:12\nNo such column 'Bogus' "
        "on entity 'User'. If you are attempting to use a custom field, be sure to append the '__c' "
        "after the custom field name. Please reference your WSDL or the describe call for the "
        "appropriate names."
    )


def test_unknown_field_in_where_and_on_parent(conn):
    assert (
        "No such column 'Nope' on entity 'User'"
        in error(conn, "SELECT Id FROM User WHERE Nope = 'x'").message
    )
    err = error(conn, "SELECT Profile.Nope FROM User")
    assert err.error_code == "INVALID_FIELD"
    assert "No such column 'Nope' on entity 'Profile'" in err.message


def test_unknown_relationship(conn):
    err = error(conn, "SELECT Manager.Name FROM User")
    assert err.error_code == "INVALID_FIELD"
    assert "Didn't understand relationship 'Manager' in field path" in err.message
    child = error(conn, "SELECT Id, (SELECT Id FROM Contacts) FROM User")
    assert child.error_code == "INVALID_TYPE"
    assert "Didn't understand relationship 'Contacts' in FROM part of query call" in child.message


@pytest.mark.parametrize(
    ("query", "token"),
    [
        ("SELECT Id FRM User", "FRM"),
        ("SELECT Id FROM User WHERE", "<EOF>"),
        ("SELECT Id FROM User GROUP BY Name", "GROUP"),
        ('SELECT Id FROM User WHERE Alias = "x"', '"x"'),
        ("SELECT Id FROM User WHERE Alias = 'a' AND Alias = 'b' OR Alias = 'c'", "OR"),
        ("DELETE FROM User", "DELETE"),
    ],
)
def test_syntax_errors_are_malformed_query(conn, query, token):
    err = error(conn, query)
    assert err.error_code == "MALFORMED_QUERY"
    assert err.message.endswith(f"unexpected token: {token}")
    assert "ERROR at Row:1:Column:" in err.message


def test_syntax_error_position(conn):
    err = error(conn, "SELECT Id\nFROM User\nWHERE Alias == 'x'")
    assert (
        err.message
        == "\nWHERE Alias == 'x'\n             ^\nERROR at Row:3:Column:14\nunexpected token: ="
    )


@pytest.mark.parametrize(
    ("where", "kind"),
    [
        ("IsActive = 'true'", "must be of type boolean and should not be enclosed in quotes"),
        ("Alias = 5", "must be of type string and should be enclosed in quotes"),
        (
            "CreatedDate > '2025-01-01'",
            "must be of type dateTime and should not be enclosed in quotes",
        ),
        (
            "CreatedDate > 2025-01-01",
            "must be of type dateTime and should not be enclosed in quotes",
        ),
    ],
)
def test_literal_type_errors(conn, where, kind):
    err = error(conn, f"SELECT Id FROM User WHERE {where}")
    assert err.error_code == "INVALID_FIELD"
    assert kind in err.message


def test_invalid_id_literal(conn):
    err = error(conn, "SELECT Id FROM User WHERE Id = 'abc'")
    assert (err.error_code, err.message) == (
        "INVALID_QUERY_FILTER_OPERATOR",
        "invalid ID field: abc",
    )


def test_offset_limit(conn):
    err = error(conn, "SELECT Id FROM User LIMIT 10 OFFSET 2001")
    assert err.error_code == "NUMBER_OUTSIDE_VALID_RANGE"


def test_nested_child_subquery_is_rejected(conn):
    err = error(
        conn,
        "SELECT Id, (SELECT Id, (SELECT Id FROM SetupEntityAccessItems) FROM PermissionSetAssignments) FROM User",
    )
    assert err.error_code == "MALFORMED_QUERY"


def test_duplicate_field_is_rejected(conn):
    err = error(conn, "SELECT Id, id FROM User")
    assert (err.error_code, err.message.splitlines()[-1]) == (
        "MALFORMED_QUERY",
        "duplicate field selected: Id",
    )
