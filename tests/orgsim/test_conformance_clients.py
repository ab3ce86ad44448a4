"""Clients nobody here wrote, run unchanged against the simulator (issue 16): each case either works or
fails the way Salesforce documents. The sf CLI cases share one simulator and one login per worker (each
``sf`` run costs a Node start, about 5 s).

Column metadata (``query?columns=true``) shape: ``QueryResultMetadata`` / ``QueryResultColumnMetadata`` in
``@salesforce/types`` (tooling.d.ts), read by the sf CLI's ``data query`` (plugin-data ``retrieveColumns``).
"""

from __future__ import annotations

import pytest

from orgsim import server
from tests.orgsim.sfcli import SfCli
from tests.orgsim.simclient import get

ADMIN = "admin@example.com"
COLUMN_KEYS = {
    "aggregate",
    "apexType",
    "booleanType",
    "columnName",
    "custom",
    "displayName",
    "foreignKeyName",
    "insertable",
    "joinColumns",
    "numberType",
    "textType",
    "updatable",
}


@pytest.fixture(scope="module")
def org():
    sim = server.start("configured")
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def sf(org, tmp_path_factory):
    cli = SfCli(org, tmp_path_factory.mktemp("sfhome"))
    login = cli.login()
    assert login["username"] == ADMIN and login["orgId"] == org.org.org_id
    return cli


def columns(org, soql: str, api: str = "") -> dict:
    resp = get(org, f"/services/data/v62.0/{api}query", params={"q": soql, "columns": "true"})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_columns_true_answers_the_column_metadata_not_the_records(org):
    body = columns(
        org,
        "SELECT Id, Name, IsActive, Profile.Name, (SELECT PermissionSetId FROM PermissionSetAssignments)"
        " FROM User",
    )
    assert set(body) == {"columnMetadata", "entityName", "groupBy", "idSelected", "keyPrefix"}
    assert (body["entityName"], body["keyPrefix"], body["idSelected"]) == ("User", "005", True)
    cols = body["columnMetadata"]
    assert all(set(c) == COLUMN_KEYS for c in cols)
    assert [c["columnName"] for c in cols] == [
        "Id",
        "Name",
        "IsActive",
        "Profile",
        "PermissionSetAssignments",
    ]
    assert (cols[0]["apexType"], cols[2]["apexType"], cols[2]["booleanType"]) == (
        "Id",
        "Boolean",
        True,
    )
    assert cols[1]["textType"] and not cols[1]["aggregate"]
    assert [j["columnName"] for j in cols[3]["joinColumns"]] == ["Name"]
    assert cols[4]["aggregate"] is True
    assert [j["columnName"] for j in cols[4]["joinColumns"]] == ["PermissionSetId"]


def test_columns_of_count_and_tooling(org):
    body = columns(org, "SELECT COUNT(Id) total FROM PermissionSet")
    [count] = body["columnMetadata"]
    assert (count["columnName"], count["displayName"], count["aggregate"]) == (
        "total",
        "COUNT(Id)",
        True,
    )
    tooling = columns(org, "SELECT Id, Name FROM ConnectedApplication", api="tooling/")
    assert tooling["entityName"] == "ConnectedApplication"
    assert [c["columnName"] for c in tooling["columnMetadata"]] == ["Id", "Name"]


def test_columns_true_fails_as_the_query_would(org):
    resp = get(
        org, "/services/data/v62.0/query", params={"q": "SELECT Nope FROM User", "columns": "true"}
    )
    assert resp.status_code == 400 and resp.json()[0]["errorCode"] == "INVALID_FIELD"


@pytest.mark.cli
def test_sf_data_query_over_rest_and_tooling(sf):
    result = sf.json(
        "data", "query", "--query", "SELECT Id, Username, Profile.Name FROM User", "-o", "sim"
    )
    by_name = {r["Username"]: r["Profile"]["Name"] for r in result["records"]}
    assert by_name[ADMIN] == "System Administrator"
    assert result["totalSize"] == len(by_name)
    table = sf.run(
        "data",
        "query",
        "--query",
        "SELECT Username, (SELECT PermissionSetId FROM PermissionSetAssignments) FROM User",
        "-o",
        "sim",
    )
    assert table.returncode == 0, table.stdout + table.stderr
    # The table's headers come from the column metadata (a subquery column is RELATIONSHIP.FIELD).
    assert "PERMISSIONSETASSIGNMENTS.PERMISSIONSETID" in table.stdout
    tooling = sf.json(
        "data",
        "query",
        "--use-tooling-api",
        "--query",
        "SELECT Id, Name FROM ConnectedApplication",
        "-o",
        "sim",
    )
    assert [r["Name"] for r in tooling["records"]] == ["sfdc_6sense_oauth_app"]
