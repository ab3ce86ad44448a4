"""sixsense_deploy_access: compare with the org, deploy only what differs."""

import base64
import io
import shutil
import zipfile

import pytest

from tests.tasks.conftest import INTEGRATION_PS, ROOT, SETUP_PS


def org_permission_sets(use_any_api_client=None):
    setup = {
        **SETUP_PS,
        "PermissionsApiEnabled": True,
        "PermissionsCanApproveUninstalledApps": True,
    }
    if use_any_api_client is not None:
        setup["PermissionsUseAnyApiClient"] = use_any_api_client
    integration = {
        **INTEGRATION_PS,
        "PermissionsApiEnabled": False,
        "PermissionsCanApproveUninstalledApps": False,
    }
    return [setup, integration]


def test_org_matches_source_nothing_deployed(make_task, org, caplog):
    caplog.set_level("INFO")
    org.on("FROM PermissionSet", records=org_permission_sets())
    result = make_task("sixsense_deploy_access")()
    assert result == {"deployed": [], "differences": []}
    assert "already deployed" in caplog.text
    assert org.writes() == [] and org.soap_actions() == []
    query = next(q for q in org.soql if "FROM PermissionSet" in q)
    assert (
        "PermissionsCanApproveUninstalledApps" in query
        and "PermissionsUseAnyApiClient" not in query
    )


def test_invalid_api_name_fails_before_deploy(make_task, org, errors, tmp_path):
    folder = tmp_path / "src" / "permissionsets"
    folder.mkdir(parents=True)
    shutil.copy(
        ROOT
        / "force-app/main/default/permissionsets/Sixsense_Integration_Access.permissionset-meta.xml",
        folder / "6sense_Integration_Access.permissionset-meta.xml",
    )
    with pytest.raises(
        errors.SixsenseInputError, match="'6sense_Integration_Access' is not a valid"
    ):
        make_task("sixsense_deploy_access", path=str(tmp_path / "src"))()
    assert org.writes() == [] and org.soql == []


def test_missing_permission_set_is_deployed_then_verified(make_task, org, tmp_path):
    src = tmp_path / "mdapi"
    (src / "permissionsets").mkdir(parents=True)
    shutil.copy(
        ROOT
        / "force-app/main/default/permissionsets/Sixsense_Integration_Access.permissionset-meta.xml",
        src / "permissionsets" / "Sixsense_Integration_Access.permissionset",
    )
    (src / "package.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?><Package xmlns="http://soap.sforce.com/2006/04/metadata">'
        "<types><members>Sixsense_Integration_Access</members><name>PermissionSet</name></types>"
        "<version>65.0</version></Package>"
    )
    state = {"rows": []}
    org.on("FROM PermissionSet", records=lambda: state["rows"])
    org.on_insert = lambda kind, body: state.update(rows=org_permission_sets()[1:])
    result = make_task("sixsense_deploy_access", path=str(src), confirm_production="True")()
    assert result == {
        "deployed": [str(src)],
        "differences": ["Sixsense_Integration_Access missing"],
    }
    assert org.writes() == ["SOAP deploy"]


def test_api_access_control_variant_deployed_where_provisioned(make_task, org):
    org.permission_fields.add("UseAnyApiClient")
    state = {"rows": org_permission_sets(use_any_api_client=False)}
    org.on("FROM PermissionSet", records=lambda: state["rows"])
    org.on_insert = lambda kind, body: state.update(
        rows=org_permission_sets(use_any_api_client=True)
    )
    result = make_task(
        "sixsense_deploy_access", api_access_control_provisioned="True", confirm_production="True"
    )()
    assert result == {
        "deployed": ["unpackaged/api_access_control"],
        "differences": ["Sixsense_Setup_Access lacks UseAnyApiClient"],
    }
    assert org.writes() == ["SOAP deploy"]


def test_force_app_is_converted_with_the_salesforce_cli(make_task, org):
    """CumulusCI's deploy converts the SFDX source itself (the real ``sf project convert source``): the
    deployed package holds the permission sets in Metadata API format."""
    if not (ROOT / "tools/sf-cli/node_modules/.bin/sf").exists() and not shutil.which("sf"):
        pytest.skip("the Salesforce CLI is not installed (scripts/setup)")
    state = {"rows": [org_permission_sets()[0]]}
    org.on("FROM PermissionSet", records=lambda: state["rows"])
    org.on_insert = lambda kind, body: state.update(rows=org_permission_sets())
    result = make_task("sixsense_deploy_access", confirm_production="True")()
    assert result["deployed"] == ["force-app"]
    assert org.writes() == ["SOAP deploy"]
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(org.deployed_zip.group(1)))) as package:
        names = package.namelist()
    assert sorted(n for n in names if n.startswith("permissionsets/")) == [
        "permissionsets/Sixsense_Integration_Access.permissionset",
        "permissionsets/Sixsense_Setup_Access.permissionset",
    ]


@pytest.mark.parametrize(
    "organization, blocked",
    [
        ([{"Name": "Acme", "IsSandbox": False, "TrialExpirationDate": None}], True),
        ([{"Name": "Acme", "IsSandbox": True, "TrialExpirationDate": None}], False),
        ([{"Name": "Acme", "IsSandbox": True, "TrialExpirationDate": "2030-01-01"}], False),
    ],
    ids=["production", "sandbox", "scratch"],
)
def test_production_guard_stops_before_the_deploy_without_confirm_production(
    make_task, org, errors, monkeypatch, organization, blocked
):
    """Production, not at a terminal, no confirm_production: one line naming the option, nothing deployed."""
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    org.on("FROM Organization", records=organization)
    org.on("FROM PermissionSet", records=org_permission_sets()[:1])
    task = make_task("sixsense_deploy_access")
    task._deploy_retrying = lambda what, deploy: None  # the deploy itself is tested above
    task._ensure_sf_cli = lambda: None
    task._get_api = lambda path=None: None
    if blocked:
        with pytest.raises(errors.ConfirmationRequired) as error:
            task()
        message = str(error.value)
        assert "\n" not in message and "production" in message
        assert "-o confirm_production True" in message
    else:
        try:
            task()
        except errors.SixsenseOrgError as error:  # the stubbed deploy changed nothing
            assert "still differs" in str(error)
    assert org.writes() == [] and org.soap_actions() == []
