"""The small org the SOQL tests query (tests/orgsim/test_soql*.py): ids, rows, and run/ids/error helpers.
The ``conn`` fixture (tests/orgsim/conftest.py) is :func:`build_org`."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from orgsim import schema, soql

NOW = datetime(2026, 3, 15, 12, 0, 0, tzinfo=UTC)

LICENSE = "100000000000001AAA"
ADMIN_PROFILE = "00e000000000001AAA"
MIN_PROFILE = "00e000000000002AAA"
ADMIN = "005000000000001AAA"
INTEGRATION = "005000000000002AAA"
ORPHAN = "005000000000003AAA"
ADMIN_PS = schema.to_18("0PS000000000001")
SOME_SET = schema.to_18("0PS000000000002")
SIX_SET = schema.to_18("0PS000000000003")
APP = schema.to_18("0H4000000000001")  # "...CAA": real ids carry the checksum


def _insert(conn: sqlite3.Connection, table: str, **values: object) -> None:
    cols = ", ".join(f'"{c}"' for c in values)
    marks = ", ".join("?" for _ in values)
    conn.execute(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})', list(values.values()))


def build_org() -> sqlite3.Connection:
    """A small org in SQLite: licences, profiles, users, permission sets, an app, access and tokens."""
    db = sqlite3.connect(":memory:")
    schema.create_tables(db)
    _insert(db, "UserLicense", Id=LICENSE, Name="Salesforce", Status="Active")
    _insert(
        db,
        "Profile",
        Id=ADMIN_PROFILE,
        Name="System Administrator",
        UserLicenseId=LICENSE,
        PermissionsApiEnabled=1,
        PermissionsCanApproveUninstalledApps=1,
    )
    _insert(db, "Profile", Id=MIN_PROFILE, Name="Minimum Access - API Only Integrations")
    users = [
        (ADMIN, "admin@example.com", "Ada Admin", "aadmin", ADMIN_PROFILE, 1, "2025-01-10T08:00:00.000+0000"),
        (INTEGRATION, "sixsense.integration@example.com", "6sense Integration", "sixint", MIN_PROFILE, 1, "2026-03-14T23:59:59.000+0000"),
        (ORPHAN, "orphan@example.com", "O'Brien", "orph", None, 0, None),
    ]  # fmt: skip
    for uid, username, name, alias, profile, active, created in users:
        _insert(
            db,
            "User",
            Id=uid,
            Username=username,
            Name=name,
            Alias=alias,
            ProfileId=profile,
            IsActive=active,
            CreatedDate=created,
        )
    _insert(
        db,
        "PermissionSet",
        Id=ADMIN_PS,
        Name="X00e000000000001",
        Label="System Administrator",
        IsOwnedByProfile=1,
        ProfileId=ADMIN_PROFILE,
        PermissionsApiEnabled=1,
    )
    _insert(db, "PermissionSet", Id=SOME_SET, Name="Some_Set", Label="Some Set", IsOwnedByProfile=0)
    _insert(
        db,
        "PermissionSet",
        Id=SIX_SET,
        Name="Sixsense_Integration",
        Label="6sense Integration",
        IsOwnedByProfile=0,
        PermissionsUseAnyApiClient=1,
    )
    _insert(
        db,
        "PermissionSetAssignment",
        Id="0Pa000000000001AAA",
        AssigneeId=ADMIN,
        PermissionSetId=ADMIN_PS,
    )
    _insert(
        db,
        "PermissionSetAssignment",
        Id="0Pa000000000002AAA",
        AssigneeId=INTEGRATION,
        PermissionSetId=SOME_SET,
    )
    _insert(db, "ConnectedApplication", Id=APP, Name="sfdc_6sense_oauth_app")
    _insert(
        db,
        "SetupEntityAccess",
        Id="0J0000000000001AAA",
        ParentId=ADMIN_PS,
        SetupEntityId=APP,
        SetupEntityType="ConnectedApplication",
    )
    for user, count in ((ADMIN, 3), (INTEGRATION, 512)):
        _insert(
            db, "OauthToken", Id=None, AppName="sfdc_6sense_oauth_app", UserId=user, UseCount=count
        )
    return db


def run(conn: sqlite3.Connection, query: str, **kw) -> soql.QueryResult:
    kw.setdefault("now", NOW)
    return soql.execute(conn, query, **kw)


def ids(result: soql.QueryResult) -> list[str]:
    return [r["Id"] for r in result.records]


def error(conn: sqlite3.Connection, query: str, **kw) -> soql.SoqlError:
    with pytest.raises(soql.SoqlError) as info:
        run(conn, query, **kw)
    return info.value
