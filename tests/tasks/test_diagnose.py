"""sixsense_diagnose: org states -> the right next step; read-only (no DML, no deploy); no token values.

The class is loaded by class path (``import_global`` after the session's project config exists), not from a
cumulusci.yml entry. ``FakeOrg`` (tests/tasks/conftest.py) answers REST and Metadata SOAP with ``responses``;
the last tests run against the org simulator for every bundled scenario.
"""

from __future__ import annotations

import json

import pytest
import requests

from tests.tasks.conftest import (
    ADMIN,
    ADMIN_USER,
    APP,
    APP_ROW,
    INSTANCE,
    INTEGRATION,
    INTEGRATION_PS,
    INTEGRATION_USER,
    SOAP,
    token,
    user,
)

SECRETS = ("AccessToken", "DeleteToken", "RequestToken")
READ_SOAP_ACTIONS = {"retrieve", "checkStatus", "checkRetrieveStatus", "listMetadata"}
ORG_ROW = {
    "Id": "00D000000000001EAA",
    "Name": "Acme Corp",
    "OrganizationType": "Enterprise Edition",
    "IsSandbox": False,
    "InstanceName": "NA224",
    "TrialExpirationDate": None,
}
SETTINGS_ENFORCING = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<ConnectedAppSettings xmlns="http://soap.sforce.com/2006/04/metadata">'
    "<enableAdminApprovedAppsOnly>true</enableAdminApprovedAppsOnly></ConnectedAppSettings>"
)


def class_task_factory(runtime, org_config, tmp_path):
    """``make(class_path="tasks.diagnose.task.Diagnose", org=..., **options)``: the task by class path (no
    cumulusci.yml entry needed), reports under ``tmp_path``."""
    from cumulusci.core.config import TaskConfig
    from cumulusci.core.utils import import_global

    def _make(class_path="tasks.diagnose.task.Diagnose", org=org_config, **options):
        options.setdefault("json_path", str(tmp_path / "diagnosis.json"))
        options.setdefault("markdown_path", str(tmp_path / "diagnosis.md"))
        cls = import_global(class_path)
        return cls(
            runtime.project_config,
            TaskConfig({"class_path": class_path, "options": options}),
            org_config=org,
        )

    return _make


@pytest.fixture
def make_class_task(runtime, org_config, tmp_path):
    return class_task_factory(runtime, org_config, tmp_path)


def base_org(org, setup=ADMIN_USER, integration=INTEGRATION_USER):
    users = [u for u in (setup, integration) if u]
    org.on("FROM Organization", records=[ORG_ROW])
    org.on("FROM User WHERE Username IN", records=users)
    # Every user has a UserLogin row (Object Reference "UserLogin"); without it the states are unreadable.
    org.on(
        "FROM UserLogin",
        records=[{"UserId": u["Id"], "IsFrozen": False, "IsPasswordLocked": False} for u in users],
    )
    return org


def assert_read_only(org):
    """Every call was a GET, or a Metadata SOAP call that reads (retrieve / listMetadata and their polls)."""
    for call in org.rsps.calls:
        req = call.request
        if req.url.startswith(SOAP):
            assert req.headers.get("SOAPAction") in READ_SOAP_ACTIONS, req.headers.get("SOAPAction")
        else:
            assert req.method == "GET", f"{req.method} {req.url}"
    assert org.writes() == []


def assert_no_secret_fields(org):
    for soql in org.soql:
        if "OauthToken" in soql:
            for secret in SECRETS:
                assert secret not in soql, soql


# -- next step per org state -------------------------------------------------------------------------


def test_never_used_app_next_step_is_the_setup_users_authorization(make_class_task, org):
    base_org(org)
    result = make_class_task(integration_username=INTEGRATION)()
    assert result["app"]["state"] == "never_used"
    step = result["next_step"]
    assert step["step"] == "Authorize the 6sense app once as the setup user (article step 1)"
    assert (step["task"], step["flow"]) == (
        "sixsense_authorize_setup_user",
        "sixsense_new_customer",
    )
    assert step["text"] == (
        "Authorize the 6sense app once as the setup user (article step 1) — run `cci flow run sixsense_new_customer "
        f"-o sixsense_validate_inputs__integration_username {INTEGRATION}` (step sixsense_authorize_setup_user)"
    )
    assert result["users"]["setup"]["approve_uninstalled_sources"] == [
        "profile System Administrator"
    ]
    assert result["users"]["setup"]["is_connected_user"] is True  # default: the connected user
    assert_read_only(org)
    assert_no_secret_fields(org)


def test_setup_user_without_the_permission_gets_the_prerequisite_first(make_class_task, org):
    custom_admin = user(ADMIN, ADMIN_USER["Id"], profile="Custom Admin", approve=False)
    base_org(org, setup=custom_admin)
    result = make_class_task(integration_username=INTEGRATION)()
    step = result["next_step"]
    assert step["number"] == "Prerequisite"
    assert step["task"] == "sixsense_assign_setup_access"
    assert step["flow"] == "sixsense_new_customer"
    assert result["users"]["setup"]["can_approve_uninstalled_apps"] is False
    assert_read_only(org)


def test_setup_user_holding_the_permission_through_a_permission_set_is_reported(
    make_class_task, org
):
    custom_admin = user(ADMIN, ADMIN_USER["Id"], profile="Custom Admin", approve=False)
    base_org(org, setup=custom_admin)
    org.on(
        "FROM PermissionSetAssignment",
        f"AssigneeId IN ('{ADMIN_USER['Id']}'",
        records=[
            {
                "AssigneeId": ADMIN_USER["Id"],
                "PermissionSetId": "0PS000000000001",
                "PermissionSet": {
                    "Name": "Sixsense_Setup_Access",
                    "IsOwnedByProfile": False,
                    "PermissionsCanApproveUninstalledApps": True,
                    "PermissionsApiEnabled": True,
                },
            }
        ],
    )
    result = make_class_task()()
    assert result["users"]["setup"]["approve_uninstalled_sources"] == [
        "permission set Sixsense_Setup_Access"
    ]
    assert result["next_step"]["task"] == "sixsense_authorize_setup_user"


def test_used_but_not_installed_app_next_step_is_install_in_the_existing_customer_flow(
    make_class_task, org
):
    base_org(org)
    int_token = token(INTEGRATION, INTEGRATION_USER["Id"], created="2025-03-01T10:00:00.000+0000")
    pardot = token(INTEGRATION, INTEGRATION_USER["Id"], app="Pardot")
    org.on("FROM OauthToken", "AppName IN", records=[int_token])
    org.on("FROM OauthToken", f"UserId = '{INTEGRATION_USER['Id']}'", records=[int_token, pardot])
    result = make_class_task(integration_username=INTEGRATION)()
    assert result["app"]["state"] == "used"
    step = result["next_step"]
    assert step["text"] == (
        "Install the app (article step 2) — run `cci flow run sixsense_existing_customer "
        f"-o sixsense_validate_inputs__integration_username {INTEGRATION}` (step sixsense_install_connected_app)"
    )
    tokens = result["tokens"]["integration_user"]
    assert tokens["app"]["count"] == 1
    assert tokens["app"]["first_created"] == "2025-03-01T10:00:00.000+0000"
    assert tokens["other_apps"] == [
        {"app": "Pardot", "count": 1, "last_used": "2025-10-03T10:00:00.000+0000"}
    ]
    assert any("Pardot (1)" in w for w in result["warnings"])
    assert_read_only(org)
    assert_no_secret_fields(org)


def test_installed_app_without_access_next_step_is_access_before_permitted_users(
    make_class_task, org
):
    """The switch to admin approved would revoke the token of a user without access (facts §10.1)."""
    base_org(org)
    org.on(
        "FROM ConnectedApplication",
        records=[{**APP_ROW, "OptionsAllowAdminApprovedUsersOnly": False}],
    )
    result = make_class_task(integration_username=INTEGRATION)()
    assert result["app"]["state"] == "installed"
    assert result["next_step"]["task"] == "sixsense_grant_app_access"
    assert "give access first" in result["next_step"]["why"]


def test_installed_app_with_access_next_step_is_permitted_users(make_class_task, org):
    base_org(org)
    _access(org)
    org.on(
        "FROM ConnectedApplication",
        records=[{**APP_ROW, "OptionsAllowAdminApprovedUsersOnly": False}],
    )
    result = make_class_task(integration_username=INTEGRATION)()
    assert result["app"]["state"] == "installed"
    assert result["next_step"]["task"] == "sixsense_set_permitted_users"
    assert result["next_step"]["step"] == "Set Permitted Users to admin approved (article step 3)"


def test_admin_approved_without_access_next_step_is_grant_access(make_class_task, org):
    base_org(org)
    org.on("FROM ConnectedApplication", records=[APP_ROW])
    result = make_class_task(integration_username=INTEGRATION)()
    assert result["app"]["state"] == "admin_approved"
    assert result["users"]["integration"]["has_app_access"] is False
    assert result["next_step"]["task"] == "sixsense_grant_app_access"


def _access(org, parent_id=INTEGRATION_PS["Id"]):
    org.on("FROM ConnectedApplication", records=[APP_ROW])
    org.on(
        "FROM SetupEntityAccess",
        records=[
            {
                "Id": "0J0000000000001AAA",
                "ParentId": parent_id,
                "Parent": {
                    "Name": INTEGRATION_PS["Name"],
                    "Label": INTEGRATION_PS["Label"],
                    "IsOwnedByProfile": False,
                    "Profile": None,
                },
                "SetupEntityId": APP_ROW["Id"],
            }
        ],
    )
    org.on(
        "SELECT PermissionSetId FROM PermissionSetAssignment",
        records=[{"PermissionSetId": INTEGRATION_PS["Id"]}],
    )


def test_access_granted_but_no_token_next_step_is_reauthorize(make_class_task, org):
    base_org(org)
    _access(org)
    org.on("FROM OauthToken", records=[])
    result = make_class_task(integration_username=INTEGRATION)()
    integration = result["users"]["integration"]
    assert integration["has_app_access"] is True
    assert integration["app_access_via"] == ["permission set Sixsense_Integration_Access"]
    assert result["app"]["candidates"][0]["access"][0]["name"] == "Sixsense_Integration_Access"
    assert result["tokens"]["integration_user"]["app"]["count"] == 0
    assert result["next_step"]["task"] == "sixsense_reauthorize_integration_user"


def test_a_token_older_than_the_policy_change_that_survived_it_is_done(make_class_task, org):
    """Read now, the token survived the switch (the switch deletes what it revokes): no reauthorization."""
    base_org(org)
    _access(org)
    old = token(INTEGRATION, INTEGRATION_USER["Id"], created="2025-09-01T10:00:00.000+0000")
    org.on("FROM OauthToken", records=[old])
    result = make_class_task(integration_username=INTEGRATION)()
    assert result["next_step"]["task"] == "sixsense_verify"
    assert result["next_step"]["done"] is True


def test_complete_setup_next_step_is_verify_and_done(make_class_task, org):
    base_org(org)
    _access(org)
    fresh = token(INTEGRATION, INTEGRATION_USER["Id"], created="2025-10-05T10:00:00.000+0000")
    org.on("FROM OauthToken", records=[fresh])
    result = make_class_task(integration_username=INTEGRATION)()
    step = result["next_step"]
    assert step["done"] is True
    assert step["task"] == "sixsense_verify"
    assert step["flow"] is None
    assert step["command"] == f"cci task run sixsense_verify -o integration_username {INTEGRATION}"
    assert step["task_command"] == step["command"]
    assert_read_only(org)


def test_command_options_are_shell_quoted_and_skip_what_was_not_given(runtime):
    import importlib

    next_step = importlib.import_module("tasks.diagnose.next_step")
    inputs = {
        "integration_username": INTEGRATION,
        "setup_username": None,
        "connected_app_names": ["6sense Revenue AI", "sfdc_6sense_oauth_app"],
    }
    assert next_step.command_options(inputs) == (
        f" -o integration_username {INTEGRATION} "
        "-o connected_app_names '6sense Revenue AI,sfdc_6sense_oauth_app'"
    )
    assert next_step.command_options({}) == "" and next_step.command_options(None) == ""


def test_blocked_app_is_a_hard_stop_before_install(make_class_task, org):
    base_org(org)
    org.list_metadata = [APP]
    result = make_class_task(integration_username=INTEGRATION)()
    assert result["app"]["state"] == "blocked"
    assert result["app"]["blocked"] is True
    step = result["next_step"]
    assert step["task"] is None and step["flow"] is None
    assert step["step"] == "Unblock the 6sense app on Connected Apps OAuth Usage"
    assert "Install the app (article step 2)" in step["why"]
    assert "listMetadata" in org.soap_actions()
    assert_read_only(org)


def test_blocked_consumer_with_another_full_name_is_matched_by_its_label(make_class_task, org):
    base_org(org)
    org.list_metadata = ["SixSense_Blocked"]
    org.retrieve_files = {
        "blacklistedConsumers/SixSense_Blocked.blacklistedConsumer": (
            '<BlacklistedConsumer xmlns="http://soap.sforce.com/2006/04/metadata">'
            f"<consumerKey>3MVG9x</consumerKey><consumerName>{APP}</consumerName>"
            f"<masterLabel>{APP}</masterLabel></BlacklistedConsumer>"
        )
    }
    result = make_class_task()()
    assert result["app"]["blocked"] is True
    assert [c["name"] for c in result["app"]["candidates"] if c["blocked"]] == [APP]


def test_api_access_control_provisioned_and_enforcing(make_class_task, org):
    base_org(org)
    org.permission_fields.add("UseAnyApiClient")
    org.retrieve_files = {"settings/ConnectedApp.settings": SETTINGS_ENFORCING}
    result = make_class_task()()
    assert result["api_access_control"]["provisioned"] is True
    assert result["api_access_control"]["enforcing"] is True
    assert "API Access Control is enforcing" in result["next_step"]["why"]


def test_org_facts_kind_my_domain_and_api_version(make_class_task, org):
    base_org(org)
    org.on("FROM Organization", records=[{**ORG_ROW, "IsSandbox": True}])
    result = make_class_task()()
    assert result["org"]["kind"] == "sandbox"
    assert result["org"]["my_domain"] == "acme"
    assert result["org"]["api_version"] == "65.0"
    assert result["org"]["edition"] == "Enterprise Edition"


def test_without_integration_user_reports_what_it_can(make_class_task, org):
    base_org(org, integration=None)
    result = make_class_task()()
    assert result["users"]["integration"] == {"provided": False, "username": None, "found": False}
    assert result["tokens"]["integration_user"] is None
    assert any("integration_username not given" in w for w in result["warnings"])
    assert result["next_step"]["task"] == "sixsense_authorize_setup_user"


def test_unknown_integration_user_is_reported_not_raised(make_class_task, org):
    base_org(org, integration=None)
    org.on("FROM ConnectedApplication", records=[APP_ROW])
    result = make_class_task(integration_username="nobody@example.com")()
    assert result["users"]["integration"]["found"] is False
    assert "nobody@example.com" in result["next_step"]["why"]


def test_token_counts_respect_the_2500_row_cap(make_class_task, org):
    base_org(org)
    many = [token(f"u{i}@example.com", f"005{i:015d}") for i in range(2600)]
    org.on("SELECT COUNT() FROM OauthToken WHERE AppName IN", records=many)
    org.on("SELECT COUNT() FROM OauthToken WHERE AppName =", records=many)
    result = make_class_task(integration_username=INTEGRATION)()
    assert result["tokens"]["app_total"] == 2600
    # Past the cap the rows are never read unfiltered: only COUNT() and user-filtered queries.
    unfiltered_reads = [
        q for q in org.soql if "FROM OauthToken" in q and "COUNT()" not in q and "UserId =" not in q
    ]
    assert unfiltered_reads == []
    assert result["app"]["used"] is True
    assert result["next_step"]["task"] == "sixsense_install_connected_app"


def test_reports_are_written_and_hold_no_token_values(make_class_task, org, tmp_path, org_config):
    base_org(org)
    org.on("FROM OauthToken", records=[token(INTEGRATION, INTEGRATION_USER["Id"])])
    result = make_class_task(
        integration_username=INTEGRATION,
        json_path=str(tmp_path / "out" / "d.json"),
        markdown_path=str(tmp_path / "out" / "d.md"),
    )()
    data = json.loads((tmp_path / "out" / "d.json").read_text())
    markdown = (tmp_path / "out" / "d.md").read_text()
    assert data["next_step"] == result["next_step"]
    assert "**Next step:** Install the app (article step 2)" in markdown
    assert "| candidate | state |" in markdown
    everything = json.dumps(result) + markdown
    assert org_config.access_token not in everything
    for secret in SECRETS:
        assert secret not in everything
    assert_no_secret_fields(org)


def test_logs_a_readable_table(make_class_task, org, caplog):
    import logging

    caplog.set_level(logging.INFO)
    base_org(org)
    make_class_task(integration_username=INTEGRATION)()
    assert "API Access Control" in caplog.text
    assert "Next: Authorize the 6sense app once as the setup user (article step 1)" in caplog.text
    assert INSTANCE in caplog.text


def test_init_options_do_not_touch_the_org(make_class_task):
    task = make_class_task(org=None, integration_username=INTEGRATION, connected_app_names="a, b")
    assert task.options["connected_app_names"] == ["a", "b"]
    assert task.options["json_path"].endswith("diagnosis.json")


def test_next_step_is_a_pure_function_of_the_facts(runtime):
    from cumulusci.core.utils import import_global

    next_step = import_global("tasks.diagnose.next_step.next_step")
    facts = {
        "app": {
            "installed": True,
            "admin_approved": True,
            "access": [{"name": "X"}],
            "used_by_others": True,
        },
        "users": {"setup": {}, "integration": {"provided": False}},
        "api_access_control": {"provisioned": False, "enforcing": False},
    }
    step = next_step(facts)
    assert step["task"] == "sixsense_verify" and step["done"] is False
    assert "integration_username" in step["why"]


def test_setup_user_defaults_to_the_connected_user_found_by_id(make_class_task, org, org_config):
    org_config.config.pop("username", None)
    base_org(org)
    org.on("SELECT Username FROM User WHERE Id", records=[{"Username": ADMIN}])
    result = make_class_task(org=org_config)()
    assert result["users"]["setup"]["username"] == ADMIN
    assert any(f"Id = '{ADMIN_USER['Id']}'" in q for q in org.soql)


def test_unreadable_integration_tokens_do_not_send_the_operator_to_reauthorize(
    make_class_task, org
):
    """Reauthorizing may log the integration user out of Pardot / Sales Engagement: diagnose proposes it
    only when it read the tokens and found none after the policy change, not when it could not read them."""
    base_org(org)
    _access(org)

    def refused():
        raise requests.ConnectionError("the org dropped the connection")

    org.on("FROM OauthToken", f"UserId = '{INTEGRATION_USER['Id']}'", records=refused)
    result = make_class_task(integration_username=INTEGRATION)()
    assert result["tokens"]["integration_user"] is None
    assert any("OauthToken (integration user)" in w for w in result["warnings"])
    # The next step is to read them; what was read alone points to the verification, never reauthorize.
    step = result["next_step"]
    assert step["title"] == "Read what could not be read" and step["task"] is None
    assert "could not read OauthToken (integration user)" in step["why"]
    assert "sixsense_verify" in step["provisional"] and step["done"] is False
    assert "reauthoriz" not in step["text"].lower()
