"""The permission model (orgsim/permissions.py, docs/salesforce-permissions.md): each operation checks the
acting user's effective permissions (profile plus assigned permission sets) and refuses with Salesforce's
error. One user per profile below; each test fails without the rule it names."""

from __future__ import annotations

import pytest
import yaml
from lxml import etree
from simple_salesforce.exceptions import SalesforceError

from orgsim.identity import TOOL_CLIENTS
from tests.orgsim.simclient import (
    MD_NS,
    get,
    mdapi_zip,
    permission_set_xml,
    sf_for,
    soap,
    token_for,
)

ADMIN = "admin@example.com"
INTEGRATION = "sixsense.integration@example.com"
#: username -> (profile name, user permissions of that profile)
PEOPLE = {
    "apionly@example.com": ("Api Only", ["ApiEnabled"]),
    "reader@example.com": ("Setup Reader", ["ApiEnabled", "ViewSetup"]),
    "assigner@example.com": ("Assigner", ["ApiEnabled", "AssignPermissionSets"]),
    "deployer@example.com": ("Metadata Deployer", ["ApiEnabled", "ModifyMetadata"]),
    "customizer@example.com": ("Customizer", ["ApiEnabled", "CustomizeApplication"]),
    "usermgr@example.com": ("User Manager", ["ApiEnabled", "ManageUsers"]),
    "permsets@example.com": (
        "Permset Manager",
        ["ApiEnabled", "ViewSetup", "ManageProfilesPermissionsets"],
    ),
}


def write_scenario(tmp_path, **features) -> str:
    data = {
        "description": "one user per permission, for the permission model's tests",
        "features": features,
        "connected_user": ADMIN,
        "profiles": [{"name": profile, "permissions": perms} for profile, perms in PEOPLE.values()],
        "users": [
            {"username": ADMIN, "alias": "aadmin", "profile": "System Administrator"},
            {
                "username": INTEGRATION,
                "alias": "sixint",
                "profile": "Minimum Access - API Only Integrations",
            },
        ]
        + [
            {"username": u, "alias": u.split("@")[0][:8], "profile": profile}
            for u, (profile, _) in PEOPLE.items()
        ],
        "app": {"name": "sfdc_6sense_oauth_app", "visible": True, "installed": True},
        "tokens": [
            {"user": INTEGRATION},
            {"user": "customizer@example.com"},
            {"user": "usermgr@example.com"},
        ],
    }
    path = tmp_path / "permissions.yml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.fixture
def org(make_sim, tmp_path):
    return make_sim(write_scenario(tmp_path))


def error_code(exc: SalesforceError) -> str:
    return exc.content[0]["errorCode"]


def ids(sim, *usernames):
    with sim.org.lock:
        return [sim.org.user_by_username(u)["Id"] for u in usernames]


# -- Metadata API (R1) ----------------------------------------------------------------------------------


def soap_fault(resp) -> tuple[str, str]:
    root = etree.fromstring(resp.content)
    return root.findtext(".//faultcode"), root.findtext(".//faultstring")


def deploy_as(sim, username):
    files = {"permissionsets/Some_Set.permissionset": permission_set_xml("Some Set")}
    return soap(
        sim,
        f"<deploy xmlns='{MD_NS}'><ZipFile>{mdapi_zip(files)}</ZipFile><DeployOptions>"
        "<checkOnly>false</checkOnly></DeployOptions></deploy>",
        token=token_for(sim, username),
        action="deploy",
    )


@pytest.mark.parametrize(
    "username", ["apionly@example.com", "reader@example.com", "customizer@example.com"]
)
def test_metadata_deploy_needs_modify_all_data_or_modify_metadata(org, username):
    """Customize Application alone is not enough (help "Metadata API Edit Access")."""
    before = org.state()["objects"]["PermissionSet"]
    resp = deploy_as(org, username)
    assert resp.status_code == 500
    assert soap_fault(resp) == (
        "sf:INSUFFICIENT_ACCESS",
        "INSUFFICIENT_ACCESS: use of the Metadata API requires a user with the ModifyAllData or "
        "ModifyMetadata permission",
    )
    assert org.state()["objects"]["PermissionSet"] == before


def test_metadata_deploy_with_modify_metadata_is_accepted(org):
    resp = deploy_as(org, "deployer@example.com")
    assert resp.status_code == 200, resp.text
    assert etree.fromstring(resp.content).findtext(f".//{{{MD_NS}}}id")


@pytest.mark.parametrize(
    "body",
    [
        "<retrieve xmlns='{ns}'><retrieveRequest><apiVersion>62.0</apiVersion><unpackaged><types>"
        "<members>*</members><name>PermissionSet</name></types><version>62.0</version></unpackaged>"
        "</retrieveRequest></retrieve>",
        "<listMetadata xmlns='{ns}'><queries><type>PermissionSet</type></queries></listMetadata>",
        "<describeMetadata xmlns='{ns}'><asOfVersion>62.0</asOfVersion></describeMetadata>",
    ],
    ids=["retrieve", "listMetadata", "describeMetadata"],
)
def test_every_metadata_call_needs_the_permission(org, body):
    resp = soap(org, body.format(ns=MD_NS), token=token_for(org, "apionly@example.com"))
    assert resp.status_code == 500
    assert soap_fault(resp)[0] == "sf:INSUFFICIENT_ACCESS"
    assert soap(org, body.format(ns=MD_NS)).status_code == 200  # the admin may


# -- PermissionSetAssignment (R2, R3) -------------------------------------------------------------------


def test_assignments_are_invisible_without_view_setup_assign_or_manage_users(org):
    with pytest.raises(SalesforceError) as err:
        sf_for(org, "apionly@example.com").query("SELECT Id FROM PermissionSetAssignment")
    assert error_code(err.value) == "INVALID_TYPE"
    assert (
        "sObject type 'PermissionSetAssignment' is not supported" in err.value.content[0]["message"]
    )
    for reader in ("reader@example.com", "assigner@example.com", "usermgr@example.com"):
        assert sf_for(org, reader).query("SELECT Id FROM PermissionSetAssignment")["totalSize"] > 0


def new_permission_set(sim) -> str:
    return sf_for(sim).PermissionSet.create({"Name": "Extra_Set", "Label": "Extra Set"})["id"]


@pytest.mark.parametrize("username", ["apionly@example.com", "reader@example.com"])
def test_assigning_needs_assign_permission_sets_or_manage_users(org, username):
    ps_id = new_permission_set(org)
    [target] = ids(org, INTEGRATION)
    with pytest.raises(SalesforceError) as err:
        sf_for(org, username).PermissionSetAssignment.create(
            {"AssigneeId": target, "PermissionSetId": ps_id}
        )
    assert error_code(err.value) == "INSUFFICIENT_ACCESS_OR_READONLY"
    assert (
        err.value.content[0]["message"]
        == f"insufficient access rights on cross-reference id: {ps_id}"
    )
    assert not org.org.store.find("PermissionSetAssignment", PermissionSetId=ps_id)


@pytest.mark.parametrize("username", ["assigner@example.com", "usermgr@example.com"])
def test_assign_permission_sets_or_manage_users_may_assign_and_remove(org, username):
    ps_id = new_permission_set(org)
    [target] = ids(org, INTEGRATION)
    sf = sf_for(org, username)
    created = sf.PermissionSetAssignment.create({"AssigneeId": target, "PermissionSetId": ps_id})
    sf.PermissionSetAssignment.delete(created["id"])
    assert not org.org.store.find("PermissionSetAssignment", PermissionSetId=ps_id)


def test_removing_an_assignment_needs_the_permission_too(org):
    ps_id = new_permission_set(org)
    [target] = ids(org, INTEGRATION)
    created = sf_for(org).PermissionSetAssignment.create(
        {"AssigneeId": target, "PermissionSetId": ps_id}
    )
    with pytest.raises(SalesforceError) as err:
        sf_for(org, "reader@example.com").PermissionSetAssignment.delete(created["id"])
    assert error_code(err.value) == "INSUFFICIENT_ACCESS_OR_READONLY"
    assert org.org.store.get("PermissionSetAssignment", created["id"])


def test_a_permission_set_grants_as_the_profile_does(org):
    """Effective permissions: the profile plus every assigned permission set."""
    ps_id = sf_for(org).PermissionSet.create(
        {"Name": "Assigners", "Label": "Assigners", "PermissionsAssignPermissionSets": True}
    )["id"]
    [apionly, target] = ids(org, "apionly@example.com", INTEGRATION)
    sf_for(org).PermissionSetAssignment.create({"AssigneeId": apionly, "PermissionSetId": ps_id})
    extra = new_permission_set(org)
    sf_for(org, "apionly@example.com").PermissionSetAssignment.create(
        {"AssigneeId": target, "PermissionSetId": extra}
    )


# -- SetupEntityAccess and the Setup objects (R4, R5, R6) ---------------------------------------------------


def test_setup_entity_access_needs_view_setup(org):
    with pytest.raises(SalesforceError) as err:
        sf_for(org, "apionly@example.com").query("SELECT Id FROM SetupEntityAccess")
    assert error_code(err.value) == "INVALID_TYPE"
    assert sf_for(org, "reader@example.com").query("SELECT Id FROM SetupEntityAccess")


@pytest.mark.parametrize(
    "sobject", ["ConnectedApplication", "ExternalClientApplication", "ExtlClntAppOauthPlcyCnfg"]
)
def test_app_setup_objects_need_view_setup(org, sobject):
    with pytest.raises(SalesforceError) as err:
        sf_for(org, "apionly@example.com").query(f"SELECT Id FROM {sobject}")
    assert error_code(err.value) == "INVALID_TYPE"
    sf_for(org, "reader@example.com").query(f"SELECT Id FROM {sobject}")


def app_id(sim) -> str:
    return sf_for(sim).query("SELECT Id FROM ConnectedApplication")["records"][0]["Id"]


@pytest.mark.parametrize("username", ["apionly@example.com", "reader@example.com"])
def test_granting_app_access_needs_manage_profiles_and_permission_sets(org, username):
    ps_id = new_permission_set(org)
    with pytest.raises(SalesforceError) as err:
        sf_for(org, username).SetupEntityAccess.create(
            {"ParentId": ps_id, "SetupEntityId": app_id(org)}
        )
    assert error_code(err.value) == "INSUFFICIENT_ACCESS_OR_READONLY"
    assert not org.org.store.find("SetupEntityAccess", ParentId=ps_id)


def test_manage_profiles_and_permission_sets_may_grant_app_access(org):
    ps_id = new_permission_set(org)
    sf_for(org, "permsets@example.com").SetupEntityAccess.create(
        {"ParentId": ps_id, "SetupEntityId": app_id(org)}
    )
    assert org.org.store.find("SetupEntityAccess", ParentId=ps_id)


def test_creating_a_permission_set_needs_manage_profiles_and_permission_sets(org):
    with pytest.raises(SalesforceError) as err:
        sf_for(org, "reader@example.com").PermissionSet.create({"Name": "Mine", "Label": "Mine"})
    assert error_code(err.value) == "INSUFFICIENT_ACCESS_OR_READONLY"
    assert not org.org.store.find("PermissionSet", Name="Mine")
    sf_for(org, "permsets@example.com").PermissionSet.create({"Name": "Mine", "Label": "Mine"})
    assert org.org.store.find("PermissionSet", Name="Mine")


# -- Tooling API (R7) ---------------------------------------------------------------------------------------


def test_tooling_queries_need_view_setup(org):
    path = "/services/data/v62.0/tooling/query/"
    params = {"q": "SELECT Id, Name FROM ConnectedApplication"}
    refused = get(org, path, token=token_for(org, "apionly@example.com"), params=params)
    assert refused.status_code == 400
    assert refused.json()[0]["errorCode"] == "INVALID_TYPE"
    allowed = get(org, path, token=token_for(org, "reader@example.com"), params=params)
    assert allowed.status_code == 200
    assert allowed.json()["records"][0]["Name"] == "sfdc_6sense_oauth_app"


# -- OauthToken visibility (R8, facts §10.1) ---------------------------------------------------------------


def token_owners(sim, username) -> set[str]:
    """Whose tokens ``username`` sees, leaving out the tool's own clients' grants (every sign-in of the
    test's clients makes one: facts §10.1)."""
    records = sf_for(sim, username).query("SELECT UserId, AppName FROM OauthToken")["records"]
    return {r["UserId"] for r in records if r["AppName"] not in TOOL_CLIENTS}


@pytest.mark.parametrize(
    ("reading", "sees_all"),
    [
        # default: the conservative reading, both permissions
        (None, {ADMIN}),
        ("both", {ADMIN}),
        ("customize_application", {ADMIN, "customizer@example.com"}),
        ("manage_users", {ADMIN, "usermgr@example.com"}),
    ],
)
def test_oauth_token_visibility_follows_the_scenario_reading(make_sim, tmp_path, reading, sees_all):
    features = {} if reading is None else {"oauth_token_visibility": reading}
    sim = make_sim(write_scenario(tmp_path, **features))
    everyone = set(ids(sim, INTEGRATION, "customizer@example.com", "usermgr@example.com"))
    for username in (ADMIN, "customizer@example.com", "usermgr@example.com"):
        [own] = ids(sim, username)
        expected = everyone if username in sees_all else everyone & {own}
        assert token_owners(sim, username) == expected, (reading, username)


def test_an_unknown_oauth_token_reading_is_refused(tmp_path):
    from orgsim import scenario

    path = write_scenario(tmp_path, oauth_token_visibility="everyone")
    with pytest.raises(
        scenario.ScenarioError, match="features.oauth_token_visibility: must be one of"
    ):
        scenario.load(path)
