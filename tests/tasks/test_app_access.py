"""sixsense_grant_app_access: SetupEntityAccess and assignment from the policy template, only what is missing."""

import json

import pytest

from tests.tasks.conftest import APP_ROW, INTEGRATION, INTEGRATION_PS, INTEGRATION_USER


def grant(make_task, **options):
    # FakeOrg answers no Organization row, so the org counts as production: writes need the consent.
    options.setdefault("confirm_production", "True")
    return make_task("sixsense_grant_app_access", integration_username=INTEGRATION, **options)()


def test_app_not_installed_says_install_first(make_task, org, errors):
    org.on("FROM User", records=[INTEGRATION_USER])
    org.on("FROM ConnectedApplication", records=[])
    with pytest.raises(
        errors.SixsenseOrgError,
        match=r"install it first \(sixsense_install_connected_app \(Install the app, article step 2\)\)",
    ):
        grant(make_task)
    assert org.writes() == []


def test_creates_access_row_and_assignment_when_missing(make_task, org):
    state = {"access": [], "assigned": []}
    org.on("FROM User", records=[INTEGRATION_USER])
    org.on("FROM ConnectedApplication", records=[APP_ROW])
    org.on("FROM PermissionSet WHERE Name IN", records=[INTEGRATION_PS])
    org.on("FROM SetupEntityAccess", records=lambda: state["access"])
    org.on("FROM PermissionSetAssignment", records=lambda: state["assigned"])

    def on_insert(sobject, body):
        if sobject == "SetupEntityAccess":
            state["access"].append(
                {"ParentId": body["ParentId"], "SetupEntityId": body["SetupEntityId"]}
            )
        if sobject == "PermissionSetAssignment":  # read back by the verification query
            state["assigned"].append({"PermissionSetId": body["PermissionSetId"]})

    org.on_insert = on_insert
    result = grant(make_task)
    assert result == {
        "setup_entity_access_created": [
            "permission set Sixsense_Integration_Access -> sfdc_6sense_oauth_app"
        ],
        "assignments_created": ["Sixsense_Integration_Access -> sixsense.integration@example.com"],
        "created": 2,
    }
    sea = [body for sobject, body in org.inserted if sobject == "SetupEntityAccess"]
    assert sea == [
        {"ParentId": INTEGRATION_PS["Id"], "SetupEntityId": APP_ROW["Id"]}
    ]  # no SetupEntityType
    psa = [body for sobject, body in org.inserted if sobject == "PermissionSetAssignment"]
    assert psa == [
        {
            "attributes": {"type": "PermissionSetAssignment"},
            "AssigneeId": INTEGRATION_USER["Id"],
            "PermissionSetId": INTEGRATION_PS["Id"],
        }
    ]
    # The assignment goes to the user looked up by Username (not Alias, which is not unique).
    user_lookup = [q for q in org.soql if "FROM User " in q]
    assert user_lookup and all(f"Username IN ('{INTEGRATION}')" in q for q in user_lookup)
    assert not any("Alias" in q for q in org.soql)
    # The inserts are verified by query: the access rows read again after the SetupEntityAccess insert.
    access_reads = [q for q in org.soql if "FROM SetupEntityAccess" in q]
    assert len(access_reads) >= 2


def test_second_run_writes_nothing(make_task, org, caplog):
    org.on("FROM User", records=[INTEGRATION_USER])
    org.on("FROM ConnectedApplication", records=[APP_ROW])
    org.on("FROM PermissionSet WHERE Name IN", records=[INTEGRATION_PS])
    org.on(
        "FROM SetupEntityAccess",
        records=[{"Id": "0J0x", "ParentId": INTEGRATION_PS["Id"], "SetupEntityId": APP_ROW["Id"]}],
    )
    org.on("FROM PermissionSetAssignment", records=[{"PermissionSetId": INTEGRATION_PS["Id"]}])
    caplog.set_level("INFO")
    result = grant(make_task)
    assert result["created"] == 0
    assert org.writes() == []
    assert "already done" in caplog.text


def test_integration_profile_access_is_optional(make_task, org):
    profile_ps = {
        "Id": "0PS00000000000PAAA",
        "ProfileId": INTEGRATION_USER["ProfileId"],
        "Profile": {"Name": "Minimum Access - API Only Integrations"},
    }
    org.on("FROM User", records=[INTEGRATION_USER])
    org.on("FROM ConnectedApplication", records=[APP_ROW])
    org.on("FROM PermissionSet WHERE Name IN", records=[INTEGRATION_PS])
    org.on("IsOwnedByProfile = true", records=[profile_ps])
    access = [{"Id": "0J0x", "ParentId": INTEGRATION_PS["Id"], "SetupEntityId": APP_ROW["Id"]}]
    org.on("FROM SetupEntityAccess", records=lambda: access)
    org.on("FROM PermissionSetAssignment", records=[{"PermissionSetId": INTEGRATION_PS["Id"]}])
    org.on_insert = lambda sobject, body: access.append(dict(body))
    result = grant(make_task, include_integration_profile="True")
    assert result["setup_entity_access_created"] == [
        "profile Minimum Access - API Only Integrations -> sfdc_6sense_oauth_app"
    ]
    assert org.inserted == [
        ("SetupEntityAccess", {"ParentId": profile_ps["Id"], "SetupEntityId": APP_ROW["Id"]})
    ]


def test_salesforce_error_surfaces_with_its_code(make_task, org, errors):
    org.on("FROM User", records=[INTEGRATION_USER])
    org.on("FROM ConnectedApplication", records=[APP_ROW])
    org.on("FROM PermissionSet WHERE Name IN", records=[INTEGRATION_PS])
    org.on("FROM PermissionSetAssignment", records=[{"PermissionSetId": INTEGRATION_PS["Id"]}])
    org.rsps.replace(
        "POST",
        org.rsps.registered()[2].url,  # the sobjects insert route
        status=400,
        body=json.dumps(
            [{"errorCode": "INSUFFICIENT_ACCESS", "message": "insufficient access rights"}]
        ),
    )
    with pytest.raises(
        errors.SixsenseOrgError, match="INSUFFICIENT_ACCESS: insufficient access rights"
    ):
        grant(make_task)


# -- issue 17 kind 3: which app is the vendor's ---------------------------------------------------------------


def test_grant_app_access_stops_for_the_app_choice_before_writing(sim_task):
    """two_candidate_apps: sfdc_6sense_oauth_app installed but unused, the integration app in use."""
    from tests.conftest import last_seq, writes_since

    sim, make = sim_task("two_candidate_apps")
    mark = last_seq(sim)
    task = make(
        "sixsense_grant_app_access", integration_username="sixsense.integration@example.com"
    )
    with pytest.raises(Exception) as caught:
        task()
    assert type(caught.value).__name__ == "AppChoiceRequired"
    message = str(caught.value)
    assert (
        "sfdc_6sense_oauth_app is installed but sfdc_6sense_integration_connected_app is the app in use"
        in message
    )
    assert "-o connected_app_names <name>" in message and "Nothing was written" in message
    assert writes_since(sim, mark) == []


def test_grant_app_access_with_the_pinned_name_grants_only_that_app(sim_task):
    sim, make = sim_task("two_candidate_apps")
    task = make(
        "sixsense_grant_app_access",
        integration_username="sixsense.integration@example.com",
        connected_app_names="sfdc_6sense_integration_connected_app",
        confirm_production=True,
    )
    task()
    store = sim.org.store
    [wanted] = store.find("ConnectedApplication", Name="sfdc_6sense_integration_connected_app")
    granted = {r["SetupEntityId"] for r in store.find("SetupEntityAccess")}
    others = {r["Id"] for r in store.find("ConnectedApplication") if r["Name"] != wanted["Name"]}
    assert wanted["Id"] in granted
    assert not granted & others
