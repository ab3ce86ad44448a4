"""Metadata API faithfulness: unknown types fault, Profile is listed, listMetadata carries the rows' dates and
creators, readMetadata reads PermissionSet and ConnectedApp, and an installed app's ConnectedApp metadata shows
its stored OAuth policies (docs/salesforce-oauth-metadata.md). Each test fails without its rule."""

from __future__ import annotations

import pytest
import yaml
from lxml import etree

from orgsim import scenario
from orgsim.scenario import SCENARIO_DIR
from tests.orgsim.simclient import MD_NS, deploy, permission_set_xml, retrieve, soap

N = f"{{{MD_NS}}}"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


def _list(sim, md_type: str):
    resp = soap(
        sim,
        f"<listMetadata xmlns='{MD_NS}'><queries><type>{md_type}</type></queries>"
        "<asOfVersion>62.0</asOfVersion></listMetadata>",
        action="listMetadata",
    )
    return resp, etree.fromstring(resp.content)


def _results(root) -> list[dict]:
    return [{c.tag.split("}")[1]: c.text for c in r} for r in root.iter(f"{N}result") if len(r) > 0]


def _read(sim, md_type: str, *names: str):
    body = "".join(f"<fullNames>{n}</fullNames>" for n in names)
    resp = soap(
        sim,
        f"<readMetadata xmlns='{MD_NS}'><type>{md_type}</type>{body}</readMetadata>",
        action="readMetadata",
    )
    return resp, etree.fromstring(resp.content)


@pytest.mark.parametrize("md_type", ["NoSuchType", "ApexClass"])
def test_list_metadata_of_an_unknown_type_faults_invalid_type(sim, md_type):
    resp, root = _list(sim, md_type)
    assert resp.status_code == 500
    assert root.findtext(".//faultcode") == "sf:INVALID_TYPE"
    assert root.findtext(".//faultstring") == f"INVALID_TYPE: Unknown type:{md_type}"


def test_retrieve_of_an_unknown_type_says_so(sim):
    files, problems = retrieve(sim, {"NoSuchType": ["*"], "PermissionSet": ["*"]})
    assert "Unknown type name 'NoSuchType' specified in package.xml" in problems
    assert "unpackaged/package.xml" in files


def test_profile_lists_the_standard_profiles(sim):
    resp, root = _list(sim, "Profile")
    assert resp.status_code == 200
    names = {r["fullName"]: r for r in _results(root)}
    assert {
        "Admin",
        "Standard",
        "Minimum Access - Salesforce",
        "Minimum Access - API Only Integrations",
    } <= set(names)
    assert names["Admin"]["fileName"] == "profiles/Admin.profile"
    files, problems = retrieve(sim, {"Profile": ["Admin"]})
    assert problems == []
    admin = etree.fromstring(files["unpackaged/profiles/Admin.profile"])
    perms = {p.findtext(f"{N}name") for p in admin.iter(f"{N}userPermissions")}
    assert {"ApiEnabled", "CanApproveUninstalledApps"} <= perms
    assert admin.findtext(f"{N}custom") == "false"


def test_list_metadata_carries_the_rows_dates_and_creators(make_sim):
    """configured has seeded permission sets; a deployed one is created by the deploying user."""
    sim = make_sim("configured")
    deploy(sim, {"permissionsets/Fresh_Set.permissionset": permission_set_xml(label="Fresh")})
    admin = sim.org.connected_user()
    _, root = _list(sim, "PermissionSet")
    listed = {r["fullName"]: r for r in _results(root)}
    assert listed, "no permission set listed"
    with sim.org.lock:
        rows = {r["Name"]: r for r in sim.org.store.find("PermissionSet", IsOwnedByProfile=0)}
    for name, props in listed.items():
        row = rows[name]
        assert props["createdDate"] == row["CreatedDate"].replace("+0000", "Z")
        assert props["lastModifiedDate"] == row["LastModifiedDate"].replace("+0000", "Z")
        assert props["createdById"] == admin["Id"] and props["createdByName"] == admin["Name"]
        assert props["id"] == row["Id"]
    seeded = [n for n in listed if n != "Fresh_Set"]
    assert seeded and all(
        listed[n]["createdDate"] < listed["Fresh_Set"]["createdDate"] for n in seeded
    )


def test_read_metadata_of_a_permission_set(sim):
    deploy(
        sim,
        {
            "permissionsets/Read_Me.permissionset": permission_set_xml(
                label="Read me", permissions=("ApiEnabled", "ViewSetup")
            )
        },
    )
    resp, root = _read(sim, "PermissionSet", "Read_Me", "Not_There")
    assert resp.status_code == 200, resp.text
    found, missing = list(root.iter(f"{N}records"))
    assert found.get(XSI_TYPE) == "PermissionSet"
    assert found.findtext(f"{N}fullName") == "Read_Me"
    assert found.findtext(f"{N}label") == "Read me"
    assert {p.findtext(f"{N}name") for p in found.iter(f"{N}userPermissions")} == {
        "ApiEnabled",
        "ViewSetup",
    }
    assert missing.findtext(f"{N}fullName") is None and len(missing) == 0


def test_read_metadata_of_an_unknown_type_faults(sim):
    resp, root = _read(sim, "NoSuchType", "X")
    assert resp.status_code == 500
    assert root.findtext(".//faultcode") == "sf:INVALID_TYPE"


def _retrievable_with_policy(tmp_path, **policy) -> str:
    data = yaml.safe_load((SCENARIO_DIR / "connected_app_metadata_retrievable.yml").read_text())
    data["app"].update(visible=True, installed=True, oauth_policy=policy)
    path = tmp_path / "policy.yml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_connected_app_metadata_shows_the_stored_policies(make_sim, tmp_path):
    sim = make_sim(
        _retrievable_with_policy(
            tmp_path,
            ip_relaxation="BYPASS",
            refresh_token_policy="specific_inactivity:30:DAYS",
        )
    )
    resp, root = _read(sim, "ConnectedApp", "sfdc_6sense_oauth_app")
    assert resp.status_code == 200, resp.text
    [record] = list(root.iter(f"{N}records"))
    assert record.get(XSI_TYPE) == "ConnectedApp"
    assert record.findtext(f"{N}oauthPolicy/{N}ipRelaxation") == "BYPASS"
    assert record.findtext(f"{N}oauthPolicy/{N}refreshTokenPolicy") == "specific_inactivity:30:DAYS"
    files, _ = retrieve(sim, {"ConnectedApp": ["sfdc_6sense_oauth_app"]})
    body = etree.fromstring(files["unpackaged/connectedApps/sfdc_6sense_oauth_app.connectedApp"])
    assert body.findtext(f"{N}oauthPolicy/{N}refreshTokenPolicy") == "specific_inactivity:30:DAYS"
    _, listing = _list(sim, "ConnectedApp")
    [props] = _results(listing)
    with sim.org.lock:
        row = sim.org.store.find_one("ConnectedApplication", Name="sfdc_6sense_oauth_app")
    assert props["createdDate"] == row["CreatedDate"].replace("+0000", "Z")


def test_a_connected_app_deploy_updates_the_stored_policies(make_sim, tmp_path):
    sim = make_sim(_retrievable_with_policy(tmp_path))
    app = (
        f'<?xml version="1.0" encoding="UTF-8"?><ConnectedApp xmlns="{MD_NS}"><label>x</label>'
        "<oauthPolicy><ipRelaxation>{ip}</ipRelaxation><refreshTokenPolicy>zero</refreshTokenPolicy>"
        "</oauthPolicy></ConnectedApp>"
    )
    path = "connectedApps/sfdc_6sense_oauth_app.connectedApp"
    bad = deploy(sim, {path: app.format(ip="SOMETIMES")})
    assert bad.findtext(f"{N}status") == "Failed"
    assert sim.org.app_oauth_policy("sfdc_6sense_oauth_app")["ip_relaxation"] == "ENFORCE"
    good = deploy(sim, {path: app.format(ip="ENFORCE_RELAXREFRESH")})
    assert good.findtext(f"{N}status") == "Succeeded"
    _, root = _read(sim, "ConnectedApp", "sfdc_6sense_oauth_app")
    assert root.findtext(f".//{N}oauthPolicy/{N}ipRelaxation") == "ENFORCE_RELAXREFRESH"
    assert root.findtext(f".//{N}oauthPolicy/{N}refreshTokenPolicy") == "zero"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("client_app: {state: trusted}\n", "client_app.state: must be one of"),
        (
            "app: {oauth_policy: {ip_relaxation: LOOSE}}\n",
            "app.oauth_policy.ip_relaxation: must be one of",
        ),
        (
            "app: {oauth_policy: {refresh_token_policy: forever}}\n",
            "app.oauth_policy.refresh_token_policy: must be zero, infinite",
        ),
    ],
)
def test_new_scenario_fields_are_validated(tmp_path, extra, message):
    path = tmp_path / "bad.yml"
    path.write_text("users:\n  - {username: a@b.c, profile: Standard User}\n" + extra)
    with pytest.raises(scenario.ScenarioError, match=message):
        scenario.load(str(path))
