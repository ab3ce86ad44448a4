"""Metadata API (SOAP): deploy validation of permission sets, retrieve, listMetadata, faults."""

from __future__ import annotations

import base64
import io
import zipfile

import pytest
from lxml import etree

from tests.orgsim.simclient import MD_NS, deploy, permission_set_xml, retrieve, sf_for, soap

N = f"{{{MD_NS}}}"


def _failures(result):
    return [{c.tag.split("}")[1]: c.text for c in f} for f in result.iter(f"{N}componentFailures")]


def test_deploy_creates_a_permission_set_and_reports_success(sim):
    result = deploy(
        sim,
        {
            "permissionsets/Sixsense_Setup_Access.permissionset": permission_set_xml(
                permissions=("ApiEnabled", "CanApproveUninstalledApps")
            )
        },
    )
    assert result.findtext(f"{N}done") == "true"
    assert result.findtext(f"{N}status") == "Succeeded"
    assert result.findtext(f"{N}numberComponentsDeployed") == "1"
    ps = sf_for(sim).query(
        "SELECT Label, PermissionsApiEnabled, PermissionsCanApproveUninstalledApps FROM PermissionSet "
        "WHERE Name = 'Sixsense_Setup_Access'"
    )["records"][0]
    assert ps["Label"] == "6sense Setup Access"
    assert ps["PermissionsCanApproveUninstalledApps"] is True


def test_deploy_is_full_state_permissions_not_listed_are_disabled(sim):
    path = "permissionsets/Sixsense_Setup_Access.permissionset"
    deploy(sim, {path: permission_set_xml(permissions=("ApiEnabled", "CanApproveUninstalledApps"))})
    deploy(sim, {path: permission_set_xml(permissions=("ApiEnabled",))})
    ps = sf_for(sim).query(
        "SELECT PermissionsCanApproveUninstalledApps FROM PermissionSet WHERE Name = 'Sixsense_Setup_Access'"
    )["records"][0]
    assert ps["PermissionsCanApproveUninstalledApps"] is False


def test_invalid_api_name_fails_with_component_failure_cci_can_parse(sim):
    result = deploy(
        sim, {"permissionsets/6sense_Integration_Access.permissionset": permission_set_xml()}
    )
    assert result.findtext(f"{N}status") == "Failed"
    [failure] = _failures(result)
    assert failure["componentType"] == "PermissionSet"
    assert failure["fullName"] == "6sense_Integration_Access"
    assert failure["created"] == "false" and failure["deleted"] == "false"
    assert failure["problemType"] == "Error"
    assert failure["problem"].startswith("The Permission Set API Name can only contain underscores")
    assert (
        sf_for(sim).query("SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = false")[
            "totalSize"
        ]
        == 0
    )


def test_unknown_user_permission_fails(sim):
    result = deploy(
        sim, {"permissionsets/X1.permissionset": permission_set_xml(permissions=("MakeCoffee",))}
    )
    assert _failures(result)[0]["problem"] == "Unknown user permission: MakeCoffee"


def test_use_any_api_client_is_unknown_unless_api_access_control_is_provisioned(make_sim):
    files = {
        "permissionsets/X1.permissionset": permission_set_xml(permissions=("UseAnyApiClient",))
    }
    plain = deploy(make_sim("new_customer"), files)
    assert _failures(plain)[0]["problem"] == "Unknown user permission: UseAnyApiClient"
    assert deploy(make_sim("new_customer_acc"), files).findtext(f"{N}status") == "Succeeded"


def test_label_is_required(sim):
    result = deploy(sim, {"permissionsets/X1.permissionset": permission_set_xml(label=None)})
    assert "label" in _failures(result)[0]["problem"]


def test_one_bad_component_rolls_back_the_whole_deploy(sim):
    result = deploy(
        sim,
        {
            "permissionsets/Good_One.permissionset": permission_set_xml(),
            "permissionsets/Bad__One.permissionset": permission_set_xml(),
        },
    )
    assert result.findtext(f"{N}status") == "Failed"
    assert (
        sf_for(sim).query("SELECT Id FROM PermissionSet WHERE Name = 'Good_One'")["totalSize"] == 0
    )


def test_check_only_validates_without_writing(sim):
    result = deploy(
        sim, {"permissionsets/Good_One.permissionset": permission_set_xml()}, check_only=True
    )
    assert result.findtext(f"{N}status") == "Succeeded"
    assert result.findtext(f"{N}checkOnly") == "true"
    assert (
        sf_for(sim).query("SELECT Id FROM PermissionSet WHERE Name = 'Good_One'")["totalSize"] == 0
    )


def test_retrieve_permission_set_round_trip_under_unpackaged(sim):
    deploy(sim, {"permissionsets/Sixsense_Setup_Access.permissionset": permission_set_xml()})
    files, problems = retrieve(sim, {"PermissionSet": ["Sixsense_Setup_Access", "Missing_One"]})
    assert "unpackaged/package.xml" in files
    body = etree.fromstring(files["unpackaged/permissionsets/Sixsense_Setup_Access.permissionset"])
    assert body.findtext(f"{N}label") == "6sense Setup Access"
    assert [p.findtext(f"{N}name") for p in body.iter(f"{N}userPermissions")] == ["ApiEnabled"]
    assert problems == ["Entity of type 'PermissionSet' named 'Missing_One' cannot be found"]


def _start_retrieve(sim, members: str) -> str:
    resp = soap(
        sim,
        f"<retrieve xmlns='{MD_NS}'><retrieveRequest><apiVersion>62.0</apiVersion><unpackaged><types>"
        f"<members>{members}</members><name>Settings</name></types><version>62.0</version></unpackaged>"
        "</retrieveRequest></retrieve>",
        action="retrieve",
    )
    return etree.fromstring(resp.content).findtext(f".//{N}id")


def _check_retrieve_status(sim, async_id: str, include_zip: str | None):
    arg = "" if include_zip is None else f"<includeZip>{include_zip}</includeZip>"
    resp = soap(
        sim,
        f"<checkRetrieveStatus xmlns='{MD_NS}'><asyncProcessId>{async_id}</asyncProcessId>{arg}"
        "</checkRetrieveStatus>",
        action="checkRetrieveStatus",
    )
    assert resp.status_code == 200, resp.text
    return etree.fromstring(resp.content).find(f".//{N}result")


@pytest.mark.parametrize(
    ("include_zip", "has_zip"), [("true", True), (None, True), ("false", False)]
)
def test_check_retrieve_status_without_check_status_is_a_retrieve_result(sim, include_zip, has_zip):
    """Metadata API Developer Guide, "checkRetrieveStatus()": from API 31.0 polled right after
    retrieve() (no checkStatus); the zip is returned by default and left out for includeZip false.
    "RetrieveResult": done, id, status, success, zipFile."""
    async_id = _start_retrieve(sim, "ConnectedApp")
    result = _check_retrieve_status(sim, async_id, include_zip)
    assert result.findtext(f"{N}done") == "true"
    assert result.findtext(f"{N}id") == async_id
    assert result.findtext(f"{N}status") == "Succeeded"
    assert result.findtext(f"{N}success") == "true"
    zipped = result.findtext(f"{N}zipFile")
    if has_zip:
        names = zipfile.ZipFile(io.BytesIO(base64.b64decode(zipped))).namelist()
        assert "unpackaged/package.xml" in names
    else:
        assert zipped is None
    assert [r["action"] for r in sim.requests() if r["path"].startswith("/services/Soap/m/")] == [
        "retrieve",
        "checkRetrieveStatus",
    ]


def test_check_retrieve_status_of_an_unknown_id_is_a_fault(sim):
    resp = soap(
        sim,
        f"<checkRetrieveStatus xmlns='{MD_NS}'><asyncProcessId>09S000000000000AAA</asyncProcessId>"
        "<includeZip>true</includeZip></checkRetrieveStatus>",
    )
    assert resp.status_code == 500
    assert etree.fromstring(resp.content).findtext(".//faultcode") == "sf:INVALID_ID_FIELD"


@pytest.mark.parametrize(
    ("scenario", "expected"),
    [("new_customer", None), ("new_customer_acc", "true")],
)
def test_connected_app_settings_field_only_where_provisioned(make_sim, scenario, expected):
    files, _ = retrieve(make_sim(scenario), {"Settings": ["ConnectedApp"]})
    root = etree.fromstring(files["unpackaged/settings/ConnectedApp.settings"])
    assert root.findtext(f"{N}enableAdminApprovedAppsOnly") == expected


def _install(sim):
    sim.action("authorize", username="admin@example.com")
    assert sim.action("install")["ok"]


def test_connected_app_not_retrievable_without_the_scenario_flag(sim):
    _install(sim)
    listed = soap(
        sim,
        f"<listMetadata xmlns='{MD_NS}'><queries><type>ConnectedApp</type></queries></listMetadata>",
    )
    assert etree.fromstring(listed.content).findall(f".//{N}result") == []
    files, problems = retrieve(sim, {"ConnectedApp": ["sfdc_6sense_oauth_app"]})
    assert list(files) == ["unpackaged/package.xml"]
    assert problems == [
        "Entity of type 'ConnectedApp' named 'sfdc_6sense_oauth_app' cannot be found"
    ]


def test_connected_app_retrieve_and_deploy_policy_where_retrievable(make_sim):
    sim = make_sim("connected_app_metadata_retrievable")
    _install(sim)
    deploy(
        sim,
        {
            "permissionsets/Sixsense_Integration_Access.permissionset": permission_set_xml(
                "6sense Integration Access", ()
            )
        },
    )
    files, problems = retrieve(sim, {"ConnectedApp": ["*"]})
    assert problems == []
    xml = files["unpackaged/connectedApps/sfdc_6sense_oauth_app.connectedApp"].decode()
    assert "<isAdminApproved>false</isAdminApproved>" in xml
    edited = xml.replace(
        "<isAdminApproved>false</isAdminApproved>", "<isAdminApproved>true</isAdminApproved>"
    )
    edited = edited.replace(
        "</ConnectedApp>",
        "<permissionSetName>Sixsense_Integration_Access</permissionSetName></ConnectedApp>",
    )
    result = deploy(sim, {"connectedApps/sfdc_6sense_oauth_app.connectedApp": edited})
    assert result.findtext(f"{N}status") == "Succeeded", etree.tostring(result)
    state = sim.org.app_state()
    assert state["admin_approved"] is True
    sea = sf_for(sim).query(
        "SELECT Parent.Name FROM SetupEntityAccess WHERE SetupEntityType = 'ConnectedApplication'"
    )
    assert [r["Parent"]["Name"] for r in sea["records"]] == ["Sixsense_Integration_Access"]


def test_deploying_a_connected_app_the_org_does_not_have_is_refused(make_sim):
    sim = make_sim("connected_app_metadata_retrievable")
    xml = f"<ConnectedApp xmlns='{MD_NS}'><label>Mine</label><contactEmail>a@b.c</contactEmail></ConnectedApp>"
    result = deploy(sim, {"connectedApps/Mine.connectedApp": xml})
    assert "restricted as of Spring '26" in _failures(result)[0]["problem"]


def test_blocked_apps_are_listed_as_blacklisted_consumers(make_sim):
    sim = make_sim("existing_customer")
    assert sim.action("block")["ok"]
    files, _ = retrieve(sim, {"BlacklistedConsumer": ["*"]})
    body = etree.fromstring(
        files["unpackaged/blacklistedConsumers/sfdc_6sense_oauth_app.blacklistedConsumer"]
    )
    assert body.findtext(f"{N}consumerName") == "sfdc_6sense_oauth_app"


def test_bad_session_is_a_soap_invalid_session_fault(sim):
    resp = soap(
        sim,
        f"<listMetadata xmlns='{MD_NS}'><queries><type>PermissionSet</type></queries></listMetadata>",
        token="bad",
    )
    assert resp.status_code == 500
    assert etree.fromstring(resp.content).findtext(".//faultcode") == "sf:INVALID_SESSION_ID"


def test_malformed_soap_is_a_fault(sim):
    import requests

    resp = requests.post(
        f"{sim.url}/services/Soap/m/62.0/{sim.org.org_id}", data=b"<not-xml", verify=sim.cert_file
    )
    assert resp.status_code == 500
    assert b"<faultcode>" in resp.content


def test_describe_metadata_lists_modelled_types(sim):
    resp = soap(
        sim, f"<describeMetadata xmlns='{MD_NS}'><asOfVersion>62.0</asOfVersion></describeMetadata>"
    )
    names = [e.text for e in etree.fromstring(resp.content).iter(f"{N}xmlName")]
    assert "PermissionSet" in names and "ConnectedApp" in names
