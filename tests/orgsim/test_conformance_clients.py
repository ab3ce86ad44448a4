"""Clients nobody here wrote, run unchanged against the simulator (issue 16): each case either works or
fails the way Salesforce documents, and its effect is checked in the org.

- the sf CLI (``tools/sf-cli``): ``org login access-token``, ``data query`` over REST and Tooling,
  ``org list metadata``, a deploy/retrieve round trip, ``org assign permset``;
- simple-salesforce: ``query_all``, ``describe``, ``limits``, ``api_usage``, ``mdapi`` read;
- CumulusCI's standard tasks in one ``cci flow run``: ``deploy``, ``retrieve_unpackaged``,
  ``assign_permission_sets``, ``create_permission_set``, ``get_installed_packages``, ``load_dataset`` with a
  REST mapping.

The cases of one client share a simulator (and the sf CLI one login): each ``sf`` run costs a Node start
(about 5 s), the cci flow about 10 s.

Column metadata (``query?columns=true``) shape: ``QueryResultMetadata`` / ``QueryResultColumnMetadata`` in
``@salesforce/types`` (tooling.d.ts), read by the sf CLI's ``data query`` (plugin-data ``retrieveColumns``).
"""

from __future__ import annotations

import io
import subprocess
import textwrap
import zipfile

import pytest

from orgsim import server
from tests.conftest import ROOT, cci_environment
from tests.orgsim.sfcli import SfCli
from tests.orgsim.simclient import get, sf_for

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
    with pytest.MonkeyPatch.context() as patch:
        # simple-salesforce's mdapi opens its own requests, trusting REQUESTS_CA_BUNDLE.
        patch.setenv("REQUESTS_CA_BUNDLE", sim.cert_file)
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


PACKAGE_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Package xmlns="http://soap.sforce.com/2006/04/metadata">
    <types><members>{name}</members><name>PermissionSet</name></types>
    <version>62.0</version>
</Package>
"""
PERMISSION_SET = """<?xml version="1.0" encoding="UTF-8"?>
<PermissionSet xmlns="http://soap.sforce.com/2006/04/metadata">
    <label>{label}</label>
    <hasActivationRequired>false</hasActivationRequired>
    <userPermissions><enabled>true</enabled><name>ApiEnabled</name></userPermissions>
</PermissionSet>
"""


def mdapi_folder(root, name: str, label: str):
    (root / "permissionsets").mkdir(parents=True)
    (root / "package.xml").write_text(PACKAGE_XML.format(name=name))
    (root / "permissionsets" / f"{name}.permissionset").write_text(
        PERMISSION_SET.format(label=label)
    )
    return root


def permission_set(org, name: str) -> dict | None:
    with org.org.lock:
        return org.org.store.find_one("PermissionSet", Name=name)


def assigned(org, name: str, username: str = ADMIN) -> bool:
    with org.org.lock:
        ps = org.org.store.find_one("PermissionSet", Name=name)
        user = org.org.user_by_username(username)
        return bool(
            ps
            and org.org.store.find_one(
                "PermissionSetAssignment", AssigneeId=user["Id"], PermissionSetId=ps["Id"]
            )
        )


@pytest.mark.cli
def test_sf_list_metadata_deploy_retrieve_and_assign_permset(sf, org, tmp_path):
    listed = sf.json("org", "list", "metadata", "--metadata-type", "PermissionSet", "-o", "sim")
    names = {m["fullName"] for m in listed}
    with org.org.lock:
        custom = {r["Name"] for r in org.org.store.find("PermissionSet", IsOwnedByProfile=0)}
    assert custom and custom <= names

    source = mdapi_folder(tmp_path / "mdapi", "Sf_Cli_Check", "Sf CLI Check")
    deployed = sf.json(
        "project", "deploy", "start", "--metadata-dir", str(source), "-o", "sim", "--wait", "2"
    )
    assert deployed["status"] == "Succeeded" and deployed["success"] is True
    assert permission_set(org, "Sf_Cli_Check")["Label"] == "Sf CLI Check"

    out = tmp_path / "out"
    retrieved = sf.json(
        "project",
        "retrieve",
        "start",
        "--manifest",
        str(source / "package.xml"),
        "--target-metadata-dir",
        str(out),
        "-o",
        "sim",
        "--wait",
        "2",
    )
    assert retrieved["status"] == "Succeeded"
    with zipfile.ZipFile(io.BytesIO((out / "unpackaged.zip").read_bytes())) as zf:
        text = zf.read("unpackaged/permissionsets/Sf_Cli_Check.permissionset").decode()
    assert "<label>Sf CLI Check</label>" in text and "<name>ApiEnabled</name>" in text

    result = sf.json("org", "assign", "permset", "--name", "Sf_Cli_Check", "-o", "sim")
    assert result["successes"] == [{"name": ADMIN, "value": "Sf_Cli_Check"}]
    assert result["failures"] == []
    assert assigned(org, "Sf_Cli_Check")


def test_simple_salesforce_query_all_describe_limits_api_usage_and_mdapi_read(org):
    sf = sf_for(org)
    users = sf.query_all("SELECT Id, Username FROM User")
    with org.org.lock:
        assert users["totalSize"] == len(org.org.store.find("User")) == len(users["records"])
    described = sf.describe()
    assert {"User", "PermissionSet", "UserLogin"} <= {o["name"] for o in described["sobjects"]}
    assert sf.api_usage["api-usage"].total == 100_000
    used = sf.api_usage["api-usage"].used
    limits = sf.limits()
    assert limits["DailyApiRequests"]["Max"] == 100_000
    assert limits["DailyApiRequests"]["Remaining"] == 100_000 - used - 1
    with org.org.lock:
        name = org.org.store.find("PermissionSet", IsOwnedByProfile=0)[0]["Name"]
    read = sf.mdapi.PermissionSet.read(name)
    assert read["fullName"] == name


CUMULUSCI_YML = textwrap.dedent(
    """
    project:
        name: conformance-check
        package:
            api_version: "62.0"
    flows:
        conformance:
            steps:
                1:
                    task: deploy
                    options: {path: src}
                2:
                    task: retrieve_unpackaged
                    options: {path: retrieved, package_xml: src/package.xml}
                3:
                    task: assign_permission_sets
                    options: {api_names: Cci_Deployed}
                4:
                    task: create_permission_set
                    options:
                        api_name: Cci_Created
                        label: Cci Created
                        user_permissions: PermissionsApiEnabled
                5:
                    task: get_installed_packages
                6:
                    task: load_dataset
                    options: {mapping: datasets/mapping.yml, sql_path: datasets/data.sql}
    """
)
MAPPING = """Insert PermissionSet:
    sf_object: PermissionSet
    api: rest
    fields: [Name, Label]
"""
DATASET = """CREATE TABLE "PermissionSet" (id VARCHAR(255) NOT NULL, "Name" VARCHAR(255),
    "Label" VARCHAR(255), PRIMARY KEY (id));
INSERT INTO "PermissionSet" VALUES('PermissionSet-1', 'Loaded_By_Dataset', 'Loaded by load_dataset');
"""


@pytest.mark.cli
def test_cci_standard_tasks_deploy_retrieve_assign_create_packages_and_load(tmp_path):
    """One ``cci flow run`` of six standard tasks against the ECA scenario (a managed package installed)."""
    sim = server.start("eca_installed_default_policies")
    try:
        project = tmp_path / "project"
        mdapi_folder(project / "src", "Cci_Deployed", "Cci Deployed")
        (project / "datasets").mkdir()
        (project / "datasets" / "mapping.yml").write_text(MAPPING)
        (project / "datasets" / "data.sql").write_text(DATASET)
        (project / "cumulusci.yml").write_text(CUMULUSCI_YML)
        subprocess.run(["git", "init", "-q", str(project)], check=True)
        result = subprocess.run(
            [str(ROOT / ".venv/bin/cci"), "flow", "run", "conformance", "--org", "sim"],
            cwd=project,
            env=cci_environment(sim, tmp_path / "home"),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert permission_set(sim, "Cci_Deployed")["Label"] == "Cci Deployed"
        retrieved = project / "retrieved" / "permissionsets" / "Cci_Deployed.permissionset"
        assert "<label>Cci Deployed</label>" in retrieved.read_text()
        assert assigned(sim, "Cci_Deployed")
        created = permission_set(sim, "Cci_Created")
        assert created["Label"] == "Cci Created" and created["PermissionsApiEnabled"] == 1
        assert assigned(sim, "Cci_Created")
        # get_installed_packages (a Metadata API retrieve of InstalledPackage) lists the ECA's package.
        assert "'sixsense': '1.0'" in result.stdout
        assert permission_set(sim, "Loaded_By_Dataset")["Label"] == "Loaded by load_dataset"
    finally:
        sim.stop()
