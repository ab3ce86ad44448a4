"""sixsense_set_permitted_users: warn, confirm, Metadata ETL where retrievable, else guided."""

import base64
import io
import logging
import zipfile

import pytest

from tests.tasks.conftest import ADMIN, ADMIN_USER, APP, APP_ROW, token

RETRIEVED = """<?xml version="1.0" encoding="UTF-8"?>
<ConnectedApp xmlns="http://soap.sforce.com/2006/04/metadata">
    <contactEmail>ops@6sense.com</contactEmail>
    <label>sfdc_6sense_oauth_app</label>
    <oauthConfig>
        <callbackUrl>https://6sense.example/callback</callbackUrl>
        <isAdminApproved>false</isAdminApproved>
    </oauthConfig>
</ConnectedApp>"""


def not_approved(org):
    row = {**APP_ROW, "OptionsAllowAdminApprovedUsersOnly": False}
    state = {"row": row}
    org.on("FROM ConnectedApplication", records=lambda: [state["row"]])
    org.on("FROM OauthToken", records=[token(ADMIN, ADMIN_USER["Id"])])
    return state


def test_already_admin_approved(make_task, org):
    org.on("FROM ConnectedApplication", records=[APP_ROW])
    result = make_task("sixsense_set_permitted_users", interactive="False")()
    assert result["status"] == "already done" and result["method"] == "none"
    assert org.writes() == [] and org.soap_actions() == []


def test_not_retrievable_is_a_guided_step(make_task, org, errors, caplog):
    caplog.set_level(logging.INFO)
    not_approved(org)
    with pytest.raises(errors.ManualStepPending) as err:
        make_task("sixsense_set_permitted_users", interactive="False")()
    assert "Admin approved users are pre-authorized" in str(err.value)
    assert "Edit Policies" in str(err.value)
    assert "revokes the grants of" in caplog.text and "without pre-authorization" in caplog.text
    # One row per grant it revokes (FakeOrg answers no SetupEntityAccess: not pre-authorized).
    assert "Grants the Permitted Users change revokes" in caplog.messages
    assert "- admin@example.com" in caplog.messages
    assert "    lost: no pre-authorization: admin approved revokes it" in caplog.messages
    assert org.soap_actions() == ["listMetadata"] and org.writes() == []


def test_retrievable_needs_confirmation_when_not_interactive(make_task, org, errors):
    not_approved(org)
    org.list_metadata = [APP]
    with pytest.raises(errors.ConfirmationRequired, match="confirm_logout True"):
        make_task("sixsense_set_permitted_users", interactive="False")()
    assert org.writes() == []


def test_retrievable_with_confirm_logout_deploys_and_verifies(make_task, org):
    state = not_approved(org)
    org.list_metadata = [APP]
    org.retrieve_files = {f"connectedApps/{APP}.connectedApp": RETRIEVED}

    def on_deploy(kind, body):
        if kind == "deploy":
            state["row"] = APP_ROW

    org.on_insert = on_deploy
    result = make_task(
        "sixsense_set_permitted_users",
        interactive="False",
        confirm_logout="True",
        confirm_production="True",
    )()
    assert result["status"] == "deployed" and result["method"] == "etl"
    assert org.writes() == ["SOAP deploy"]
    deployed = zipfile.ZipFile(io.BytesIO(base64.b64decode(org.deployed_zip.group(1))))
    app_xml = deployed.read(f"connectedApps/{APP}.connectedApp").decode()
    assert "<isAdminApproved>true</isAdminApproved>" in app_xml
    assert "<permissionSetName>Sixsense_Integration_Access</permissionSetName>" in app_xml
    assert "<ipRelaxation>ENFORCE</ipRelaxation>" in app_xml
    assert (
        app_xml.index("<oauthConfig>")
        < app_xml.index("<oauthPolicy>")
        < app_xml.index("<permissionSetName>")
    )


def test_merge_policy_adds_only_what_is_missing(runtime):
    import importlib

    from cumulusci.utils.xml import metadata_tree

    permitted = importlib.import_module("tasks.permitted_users")
    app = metadata_tree.fromstring(RETRIEVED.encode())
    policy = {
        "is_admin_approved": True,
        "ip_relaxation": "ENFORCE",
        "refresh_token_policy": "infinite",
        "permission_sets": ["Sixsense_Integration_Access"],
        "profiles": [],
    }
    changes = permitted.merge_policy(app, policy)
    assert changes == [
        "oauthConfig/isAdminApproved: 'false' -> 'true'",
        "oauthPolicy/ipRelaxation: None -> 'ENFORCE'",
        "oauthPolicy/refreshTokenPolicy: None -> 'infinite'",
        "permissionSetName: + Sixsense_Integration_Access",
    ]
    assert permitted.merge_policy(app, policy) == []
