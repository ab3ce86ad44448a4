"""sixsense_diagnose: org states -> the right next step; read-only (no DML, no deploy); no token values.

The class is loaded by class path (``import_global`` after the session's project config exists), not from a
cumulusci.yml entry. ``FakeOrg`` (tests/tasks/conftest.py) answers REST and Metadata SOAP with ``responses``;
the last tests run against the org simulator for every bundled scenario.
"""

from __future__ import annotations

import json

import pytest
import requests
import yaml

from tests.conftest import USER_REFUSED_SCENARIOS, connectable_scenarios
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
from tests.tasks.test_production_guard_alone import scenario_variant

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
        "Authorize the 6sense app once as the setup user (article step 1) — run `cci flow run sixsense_new_customer` "
        "(step sixsense_authorize_setup_user)"
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
        "Install the app (article step 2) — run `cci flow run sixsense_existing_customer` "
        "(step sixsense_install_connected_app)"
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


# -- against the simulator ---------------------------------------------------------------------------

EXPECTED_NEXT = {
    "new_customer": ("sixsense_authorize_setup_user", "never_used"),
    "new_customer_acc": ("sixsense_authorize_setup_user", "never_used"),
    "sandbox_new_customer": ("sixsense_authorize_setup_user", "never_used"),
    "connected_app_metadata_retrievable": ("sixsense_authorize_setup_user", "never_used"),
    "setup_user_lacks_permission": ("sixsense_assign_setup_access", "never_used"),
    "existing_customer": ("sixsense_install_connected_app", "used"),
    "admin_approval_logs_out_all_users": ("sixsense_install_connected_app", "used"),
    "configured": ("sixsense_verify", "admin_approved"),
    # The connected-app next step on ECA orgs: the app was never used there.
    "eca_not_installed": ("sixsense_authorize_setup_user", "never_used"),
    "eca_installed_default_policies": ("sixsense_authorize_setup_user", "never_used"),
    "eca_installed_policies_deployable": ("sixsense_authorize_setup_user", "never_used"),
    "eca_admin_approval_logs_out_all_users": ("sixsense_authorize_setup_user", "never_used"),
    "connected_app_in_use_eca_absent": ("sixsense_verify", "admin_approved"),
    # Complete, but the app expires refresh tokens immediately: fixing the policy is next (no task).
    "refresh_token_expires_immediately": (None, "admin_approved"),
    # Two candidate names installed, one in use: the next step is the operator's choice (no task).
    "two_candidate_apps": (None, "installed"),
    # Issue 17 kind 2: the integration user's tokens are older than the policy change but read now, with its
    # access: they survived the switch, so no reauthorization is next.
    "integration_user_at_token_cap": ("sixsense_verify", "admin_approved"),
    # Installed, self-authorize, the integration user without access: access first, then Permitted Users.
    "permitted_users_revokes_recent_grant": ("sixsense_grant_app_access", "installed"),
    # Installed and admin approved earlier by another admin, never authorized since: access is next.
    "app_set_up_by_another_admin": ("sixsense_grant_app_access", "admin_approved"),
}

#: The model each bundled scenario is on and the flow diagnose recommends.
EXPECTED_MODEL = {
    "new_customer": ("neither", "sixsense_eca"),
    "sandbox_new_customer": ("neither", "sixsense_eca"),
    "new_customer_acc": ("neither", "sixsense_eca"),
    "connected_app_metadata_retrievable": ("neither", "sixsense_eca"),
    "setup_user_lacks_permission": ("neither", "sixsense_eca"),
    "existing_customer": ("connected_app", "sixsense_existing_customer"),
    "configured": ("connected_app", "sixsense_migrate_to_eca"),
    "eca_not_installed": ("neither", "sixsense_eca"),
    "eca_installed_default_policies": ("external_client_app", "sixsense_eca"),
    "eca_installed_policies_deployable": ("external_client_app", "sixsense_eca"),
    "eca_admin_approval_logs_out_all_users": ("external_client_app", "sixsense_eca"),
    "connected_app_in_use_eca_absent": ("connected_app", "sixsense_migrate_to_eca"),
    "refresh_token_expires_immediately": ("connected_app", "sixsense_migrate_to_eca"),
    "two_candidate_apps": ("connected_app", "sixsense_migrate_to_eca"),
    # Complete (its tokens survived the switch): the connected-app setup is done, so migrate.
    "integration_user_at_token_cap": ("connected_app", "sixsense_migrate_to_eca"),
    "admin_approval_logs_out_all_users": ("connected_app", "sixsense_existing_customer"),
    "permitted_users_revokes_recent_grant": ("connected_app", "sixsense_existing_customer"),
    "app_set_up_by_another_admin": ("connected_app", "sixsense_new_customer"),
}


def sim_factory(start_sim, runtime, monkeypatch, tmp_path):
    """``factory(scenario, class_path=...)`` -> (sim, run(**options) -> return values)."""
    from cumulusci.core.config import OrgConfig, TaskConfig
    from cumulusci.core.utils import import_global

    def _factory(scenario, class_path="tasks.diagnose.task.Diagnose"):
        sim = start_sim(scenario)
        env = sim.env()
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", env["REQUESTS_CA_BUNDLE"])
        org = OrgConfig(json.loads(env["CUMULUSCI_ORG_sim"]), "sim")
        org.refresh_oauth_token = lambda keychain: None

        def run(**options):
            options.setdefault("json_path", str(tmp_path / "d.json"))
            options.setdefault("markdown_path", str(tmp_path / "d.md"))
            cls = import_global(class_path)
            config = TaskConfig({"class_path": class_path, "options": options})
            return cls(runtime.project_config, config, org_config=org)()

        return sim, run

    return _factory


@pytest.fixture
def sim_diagnose(start_sim, runtime, monkeypatch, tmp_path):
    return sim_factory(start_sim, runtime, monkeypatch, tmp_path)


def test_every_bundled_scenario_has_an_expected_next_step():
    assert sorted(EXPECTED_NEXT) == connectable_scenarios()


@pytest.mark.parametrize("scenario", sorted(EXPECTED_NEXT))
def test_diagnose_each_bundled_scenario_against_the_simulator(sim_diagnose, scenario, tmp_path):
    sim, run = sim_diagnose(scenario)
    result = run(integration_username=INTEGRATION)
    task, state = EXPECTED_NEXT[scenario]
    assert result["next_step"]["task"] == task
    assert result["app"]["state"] == state
    model, flow = EXPECTED_MODEL[scenario]
    assert (result["recommendation"]["model"], result["recommendation"]["flow"]) == (model, flow)
    log = sim.requests()
    assert [r for r in log if r["kind"] == "write"] == []
    assert log, "the simulator saw the requests"
    rows = sim.state()["objects"]["OauthToken"]
    secrets = [t[k] for t in rows for k in ("AccessToken", "DeleteToken") if t.get(k)]
    assert len(secrets) == 2 * len(rows)
    everything = json.dumps(result) + (tmp_path / "d.md").read_text()
    assert not [s for s in secrets if s in everything]


def test_simulator_lifecycle_states_give_the_right_next_steps(sim_diagnose):
    sim, run = sim_diagnose("new_customer")
    steps = [run(integration_username=INTEGRATION)["next_step"]["task"]]
    assert sim.action("authorize", username=ADMIN)["ok"]
    steps.append(run(integration_username=INTEGRATION)["next_step"]["task"])
    assert sim.action("install")["ok"]
    steps.append(run(integration_username=INTEGRATION)["next_step"]["task"])
    assert sim.action("policy", permitted_users="admin_approved")["ok"]
    steps.append(run(integration_username=INTEGRATION)["next_step"]["task"])
    # Access comes before Permitted Users: without it, installed or admin approved, access is next.
    assert steps == [
        "sixsense_authorize_setup_user",
        "sixsense_install_connected_app",
        "sixsense_grant_app_access",
        "sixsense_grant_app_access",
    ]
    assert sim.action("block")["ok"]
    blocked = run(integration_username=INTEGRATION)
    assert blocked["app"]["state"] == "blocked"
    assert blocked["next_step"]["task"] is None
    assert [r for r in sim.requests() if r["kind"] == "write"] == []


def test_setup_user_defaults_to_the_connected_user_found_by_id(make_class_task, org, org_config):
    org_config.config.pop("username", None)
    base_org(org)
    org.on("SELECT Username FROM User WHERE Id", records=[{"Username": ADMIN}])
    result = make_class_task(org=org_config)()
    assert result["users"]["setup"]["username"] == ADMIN
    assert any(f"Id = '{ADMIN_USER['Id']}'" in q for q in org.soql)


def test_model_both_recommends_finishing_the_migration():
    from tasks.diagnose.next_step import recommend_model

    both = {"app": {"installed": True, "used": True}, "eca": {"installed": True}, "next_step": {}}
    assert recommend_model(both)["model"] == "both"
    assert recommend_model(both)["flow"] == "sixsense_migrate_to_eca"


def test_diagnose_reports_the_eca_once_installed(sim_diagnose):
    sim, run = sim_diagnose("eca_installed_default_policies")
    sim.action("authorize", username=INTEGRATION, app="6sense External Client App")
    result = run(integration_username=INTEGRATION)
    assert result["eca"]["installed"] is True
    assert result["eca"]["distribution_state"] == "Packaged"
    assert result["eca"]["integration_user_tokens"] == 1


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


#: What each scenario whose users cannot authorize must name (the flows refuse these before any write).
USER_PROBLEM = {
    "integration_user_frozen": "is frozen (UserLogin.IsFrozen)",
    "integration_user_is_connected_user": "is the user cci is connected as",
    "integration_user_without_api_licence": "has no API access",
}


def test_every_user_refused_scenario_has_its_expected_problem():
    assert sorted(USER_PROBLEM) == sorted(USER_REFUSED_SCENARIOS)


@pytest.mark.parametrize("scenario", sorted(USER_PROBLEM))
def test_diagnose_names_a_user_who_cannot_authorize_as_the_next_step(sim_diagnose, scenario):
    """The fleet's blockers and the next step come from here: a user the flows would refuse is never
    hidden behind the procedure's next step."""
    sim, run = sim_diagnose(scenario)
    result = run(integration_username=INTEGRATION)
    problems = result["users"]["problems"]
    assert any(USER_PROBLEM[scenario] in p for p in problems), problems
    nxt = result["next_step"]
    assert (nxt["title"], nxt["task"], nxt["done"]) == (
        "Fix the users who cannot authorize",
        None,
        False,
    )
    assert USER_PROBLEM[scenario] in nxt["why"]
    assert [r for r in sim.requests() if r["kind"] == "write"] == []


def test_diagnose_lists_no_user_problem_where_the_users_can_authorize(sim_diagnose):
    sim, run = sim_diagnose("configured")
    result = run(integration_username=INTEGRATION)
    assert result["users"]["problems"] == []
    assert "user states" not in result["unreadable"]


def test_tokens_hidden_from_the_connected_user_are_could_not_read_never_never_used(sim_diagnose):
    """connected_user_view_setup_only: cci's user has View Setup but neither Manage Users nor Customize
    Application, so Salesforce shows it only its own tokens (facts §10.1): an empty read is not "never used"."""
    sim, run = sim_diagnose("connected_user_view_setup_only")
    result = run(integration_username=INTEGRATION)
    assert "OauthToken" in result["unreadable"]
    assert result["tokens"]["integration_user"] is None
    assert any(
        "could not read other users' tokens" in w and "Manage Users" in w
        for w in result["warnings"]
    )
    assert "never been used" not in json.dumps(result)
    assert not [r for r in sim.requests() if r["action"] == "OauthToken"]


def _connected_as_holding(permission: str, reading: str | None):
    """configured, with cci connected as a user whose profile holds ``permission`` (one of the two rights
    facts §10.1 names for seeing other users' tokens) and the simulator's ``oauth_token_visibility``."""

    def edit(data):
        data.setdefault("profiles", []).append(
            {
                "name": "Half Admin",
                "license": "Salesforce",
                "permissions": ["ApiEnabled", "ViewSetup", permission],
            }
        )
        data["users"].append(
            {
                "username": "half.admin@example.com",
                "name": "Half Admin",
                "alias": "hadmin",
                "profile": "Half Admin",
            }
        )
        data["connected_user"] = "half.admin@example.com"
        if reading:
            data["features"]["oauth_token_visibility"] = reading

    return edit


@pytest.mark.parametrize("permission", ["ManageUsers", "CustomizeApplication"])
@pytest.mark.parametrize("reading", [None, "matching"])
def test_tokens_with_only_one_of_the_two_rights_are_could_not_read(
    sim_diagnose, tmp_path, permission, reading
):
    """Holding Manage Users or Customize Application, not both, is "in doubt" (facts §10.1: older docs say
    the one, v67 the other): OauthToken is could-not-read, never "never used", whichever reading the org
    follows (the simulator's default needs both; "matching" is the reading under which this right suffices)."""
    sim_reading = {"ManageUsers": "manage_users", "CustomizeApplication": "customize_application"}
    edit = _connected_as_holding(permission, sim_reading[permission] if reading else None)
    sim, run = sim_diagnose(scenario_variant(tmp_path, "configured", edit))
    result = run(integration_username=INTEGRATION)
    assert "OauthToken" in result["unreadable"]
    assert result["tokens"]["integration_user"] is None
    label = {"ManageUsers": "Manage Users", "CustomizeApplication": "Customize Application"}[
        permission
    ]
    assert any(
        "could not read other users' tokens" in w and f"holds {label} but not" in w
        for w in result["warnings"]
    ), result["warnings"]
    assert "never been used" not in json.dumps(result)
    assert [r for r in sim.requests() if r["kind"] == "write"] == []


def test_tokens_visible_to_an_admin_are_read(sim_diagnose):
    sim, run = sim_diagnose("configured")
    result = run(integration_username=INTEGRATION)
    assert "OauthToken" not in result["unreadable"]
    assert result["tokens"]["integration_user"]["app"]["count"] == 1


# -- issue 17 kind 5: the app's policies ---------------------------------------------------------------------


def test_diagnose_flags_an_app_that_expires_refresh_tokens_immediately(sim_diagnose, tmp_path):
    sim, run = sim_diagnose("refresh_token_expires_immediately")
    result = run(integration_username=INTEGRATION)
    policies = result["app"]["policies"]
    assert policies["read"] == "ConnectedApp metadata"
    assert policies["refresh_token_policy"] == "zero"
    assert policies["refresh_ok"] is False
    assert any(
        "refresh-token policy breaks the sync" in w and "Manage App Policies" in w
        for w in result["warnings"]
    )
    assert "app policies (read from: ConnectedApp metadata)" in (tmp_path / "d.md").read_text()
    # Not "setup complete": the sync stops, so the next step is the policy fix, never done.
    nxt = result["next_step"]
    assert nxt["done"] is False
    assert nxt["title"] == "Fix the 6sense app's OAuth policies"
    assert "Manage App Policies" in nxt["why"]
    assert "Expire refresh token immediately" in nxt["why"]


def test_diagnose_says_the_app_policies_could_not_be_read(sim_diagnose):
    """configured: the installed app is not listed as ConnectedApp metadata: "could not read", no verdict."""
    sim, run = sim_diagnose("configured")
    result = run(integration_username=INTEGRATION)
    policies = result["app"]["policies"]
    assert policies["read"].startswith("not readable")
    assert policies["refresh_ok"] is None and policies["ip_relaxation"] is None
    assert any("could not read" in w and "refresh-token policy" in w for w in result["warnings"])


def with_policy(tmp_path, base: str, refresh_token_policy: str) -> str:
    """A bundled scenario with the app's refresh-token policy changed, written under ``tmp_path``."""
    from orgsim.scenario import SCENARIO_DIR

    data = yaml.safe_load((SCENARIO_DIR / f"{base}.yml").read_text())
    policy = {"ip_relaxation": "ENFORCE", "refresh_token_policy": refresh_token_policy}
    data["app"] = {**data["app"], "oauth_policy": policy}
    path = tmp_path / f"{base}_policy.yml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_diagnose_reads_refresh_token_validity_from_connected_application(sim_diagnose, tmp_path):
    """configured is not ConnectedApp metadata: a fixed lifetime shows in ConnectedApplication (facts §3)."""
    sim, run = sim_diagnose(with_policy(tmp_path, "configured", "specific_lifetime:12:HOURS"))
    result = run(integration_username=INTEGRATION)
    policies = result["app"]["policies"]
    assert policies["read"].startswith("not readable")
    assert policies["connected_application"] == (
        "RefreshTokenValidityPeriod 12, OptionsRefreshTokenValidityMetric false"
    )
    assert policies["refresh_ok"] is False and policies["validity_ok"] is False
    assert "stops that long after each authorization" in policies["refresh_why"]
    assert policies["ip_relaxation"] is None and policies["ip_ok"] is None
    assert policies["effective_note"] is None
    assert any(
        "refresh-token policy breaks the sync" in w and "Manage App Policies" in w
        for w in result["warnings"]
    )
    assert result["next_step"]["title"] == "Fix the 6sense app's OAuth policies"
    assert "ConnectedApplication validity fields" in (tmp_path / "d.md").read_text()


def test_diagnose_connected_application_validity_could_not_be_read(
    sim_diagnose, tmp_path, monkeypatch
):
    """The org refuses the validity fields: "could not read", no verdict, never a default."""
    from tasks import app_policy
    from tasks.errors import SixsenseOrgError

    def refused(task, app_id):
        raise SixsenseOrgError("INVALID_FIELD: No such column 'RefreshTokenValidityPeriod'")

    monkeypatch.setattr(app_policy, "read_validity", refused)
    sim, run = sim_diagnose(with_policy(tmp_path, "configured", "specific_lifetime:12:HOURS"))
    result = run(integration_username=INTEGRATION)
    policies = result["app"]["policies"]
    assert policies["connected_application"].startswith("could not read: INVALID_FIELD")
    assert policies["refresh_ok"] is None and policies["validity_ok"] is None
    assert any("could not read" in w and "INVALID_FIELD" in w for w in result["warnings"])
    assert result["next_step"]["title"] != "Fix the 6sense app's OAuth policies"


@pytest.mark.parametrize("policy, shown", [("infinite", True), ("zero", False)])
def test_diagnose_says_the_effective_policy_can_differ_only_where_a_policy_keeps_the_sync(
    sim_diagnose, tmp_path, policy, shown
):
    """facts §10.1: the note goes with a read policy that keeps the sync, never with one that breaks it."""
    from tasks.app_policy import EFFECTIVE_POLICY_NOTE

    sim, run = sim_diagnose(with_policy(tmp_path, "refresh_token_expires_immediately", policy))
    result = run(integration_username=INTEGRATION)
    policies = result["app"]["policies"]
    assert policies["read"] == "ConnectedApp metadata"
    assert policies["refresh_ok"] is shown
    assert policies["effective_note"] == (EFFECTIVE_POLICY_NOTE if shown else None)
    assert (EFFECTIVE_POLICY_NOTE in (tmp_path / "d.md").read_text()) is shown


def test_diagnose_has_no_effective_policy_note_where_no_policy_was_read(sim_diagnose, tmp_path):
    from tasks.app_policy import EFFECTIVE_POLICY_NOTE

    sim, run = sim_diagnose("configured")
    result = run(integration_username=INTEGRATION)
    assert result["app"]["policies"]["effective_note"] is None
    assert EFFECTIVE_POLICY_NOTE not in (tmp_path / "d.md").read_text()


def test_diagnose_reports_a_session_level_policy_as_information(sim_diagnose, tmp_path):
    """ConnectedApplication.OptionsHasSessionLevelPolicy (facts §3) is read and shown, never a warning or a
    next step: the facts do not say it stops an API integration's sync."""
    sim, run = sim_diagnose("configured")
    sim.org.store.conn.execute(
        'UPDATE "ConnectedApplication" SET OptionsHasSessionLevelPolicy = 1, MobileSessionTimeout = ?',
        ("5",),
    )
    result = run(integration_username=INTEGRATION)
    session = result["app"]["policies"]["session_policy"]
    assert session.startswith("OptionsHasSessionLevelPolicy true, MobileSessionTimeout 5: "), (
        session
    )
    assert "reported as information" in session
    assert not [w for w in result["warnings"] if "session" in w.lower()]
    assert result["next_step"]["task"] == EXPECTED_NEXT["configured"][0]
    assert "session policy (information)" in (tmp_path / "d.md").read_text()


def test_diagnose_session_policy_could_not_be_read(sim_diagnose):
    sim, run = sim_diagnose("configured")
    sim.observer.set_faults("match=OptionsHasSessionLevelPolicy:kind=503")
    result = run(integration_username=INTEGRATION)
    session = result["app"]["policies"]["session_policy"]
    assert session.startswith("could not read: "), session
    assert "OptionsHasSessionLevelPolicy false" not in json.dumps(result)


# -- issue 17 kind 3: which app is the vendor's ---------------------------------------------------------------


def test_diagnose_names_the_app_choice_and_lists_look_alikes_apart(sim_diagnose, tmp_path):
    sim, run = sim_diagnose("two_candidate_apps")
    result = run(integration_username=INTEGRATION)
    app = result["app"]
    assert (
        "sfdc_6sense_oauth_app is installed but sfdc_6sense_integration_connected_app is the app in use"
        in (app["choice_required"])
    )
    assert "-o sixsense_validate_inputs__connected_app_names <name>" in app["choice_required"]
    assert result["next_step"]["task"] is None
    assert "Pin which connected app" in result["next_step"]["text"]
    # exact names only: the look-alike is reported apart, never a candidate
    assert "6sense Revenue AI Sales" not in [c["name"] for c in app["candidates"]]
    [look_alike] = app["not_matched"]
    assert look_alike["name"] == "6sense Revenue AI Sales"
    assert set(look_alike["seen_in"]) == {"ConnectedApplication", "AppMenuItem"}
    assert "Not matched: look-alike apps" in (tmp_path / "d.md").read_text()


def test_diagnose_with_the_name_pinned_needs_no_choice(sim_diagnose):
    sim, run = sim_diagnose("two_candidate_apps")
    result = run(
        integration_username=INTEGRATION,
        connected_app_names="sfdc_6sense_integration_connected_app",
    )
    assert result["app"]["choice_required"] is None
    assert result["app"]["primary"] == "sfdc_6sense_integration_connected_app"


def test_diagnose_flags_an_eca_that_expires_refresh_tokens_immediately(sim_diagnose):
    """The ECA's policy object (ExtlClntAppOauthPlcyCnfg, facts §10.2): Zero breaks the sync."""
    sim, run = sim_diagnose("eca_installed_default_policies")
    sim.org.store.conn.execute(
        'UPDATE "ExtlClntAppOauthPlcyCnfg" SET RefreshTokenPolicyType = ?', ("Zero",)
    )
    result = run(integration_username=INTEGRATION)
    eca = result["eca"]
    assert eca["refresh_token_policy"] == "zero"
    assert eca["refresh_ok"] is False
    assert any(
        "External Client App's refresh-token policy breaks the sync" in w
        for w in result["warnings"]
    )


def test_diagnose_eca_default_refresh_policy_keeps_the_sync(sim_diagnose):
    sim, run = sim_diagnose("eca_installed_default_policies")
    eca = run(integration_username=INTEGRATION)["eca"]
    assert eca["refresh_token_policy"] == "infinite" and eca["refresh_ok"] is True


def test_diagnose_warns_when_the_eca_enforces_ip_restrictions(sim_diagnose):
    """IP relaxation of the ECA (ExtlClntAppOauthPlcyCnfg.IpRelaxationPolicyType, facts §10.2), judged as the
    connected app's: Enforce (the default) makes the vendor's refreshes depend on the integration user's
    profile Login IP Ranges, so diagnose warns with the fix."""
    sim, run = sim_diagnose("eca_installed_default_policies")
    result = run(integration_username=INTEGRATION)
    eca = result["eca"]
    assert eca["ip_relaxation"] == "Enforce"
    assert eca["ip_why"].startswith("Enforce IP restrictions")
    [warning] = [w for w in result["warnings"] if "enforces IP restrictions" in w]
    assert "External Client App Manager > Edit Policies" in warning


def test_diagnose_an_eca_relaxing_ip_for_refresh_tokens_keeps_the_sync(sim_diagnose):
    sim, run = sim_diagnose("eca_installed_default_policies")
    sim.org.store.conn.execute(
        'UPDATE "ExtlClntAppOauthPlcyCnfg" SET IpRelaxationPolicyType = ?',
        ("Enforce_relaxrefresh",),
    )
    result = run(integration_username=INTEGRATION)
    eca = result["eca"]
    assert eca["ip_relaxation"] == "Enforce_relaxrefresh"
    assert eca["ip_ok"] is True
    assert eca["ip_why"] == "Enforce IP restrictions, but relax for refresh tokens"
    assert not [w for w in result["warnings"] if "IP restrictions" in w or "IP relaxation" in w]
