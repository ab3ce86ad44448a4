"""sixsense_diagnose against the simulator: each bundled scenario's next step and model, the users who
cannot authorize, tokens hidden from the connected user, the app's policies (issue 17 kind 5), which app is
the vendor's (kind 3) and the ECA's policies. The FakeOrg tests and the shared helpers: tests/tasks/test_diagnose.py.
"""

from __future__ import annotations

import json

import pytest
import yaml

from tests.conftest import USER_REFUSED_SCENARIOS, connectable_scenarios
from tests.tasks.conftest import ADMIN, INTEGRATION
from tests.tasks.test_production_guard_alone import scenario_variant

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
    # The next step's command repeats the pin (and the users given), so it runs as printed: without it
    # the flow would stop on the same choice.
    step = result["next_step"]
    assert step["command"] == (
        f"cci flow run {step['flow']} -o sixsense_validate_inputs__integration_username {INTEGRATION} "
        "-o sixsense_validate_inputs__connected_app_names sfdc_6sense_integration_connected_app"
    ), step
    assert f"`{step['command']}`" in step["text"]


def test_the_next_step_repeats_the_setup_user_given_and_no_default(sim_diagnose):
    sim, run = sim_diagnose("new_customer")
    result = run(integration_username=INTEGRATION, setup_username=ADMIN)
    assert result["inputs"] == {
        "integration_username": INTEGRATION,
        "setup_username": ADMIN,
        "connected_app_names": None,  # the vendor's list: nothing pinned
    }
    step = result["next_step"]
    assert step["command"] == (
        f"cci flow run sixsense_new_customer -o sixsense_validate_inputs__integration_username {INTEGRATION} "
        f"-o sixsense_validate_inputs__setup_username {ADMIN}"
    ), step
    assert step["task_command"] == (
        f"cci task run {step['task']} -o integration_username {INTEGRATION} -o setup_username {ADMIN}"
    )
    recommendation = result["recommendation"]
    assert recommendation["command"] == (
        f"cci flow run {recommendation['flow']} -o sixsense_validate_inputs__integration_username "
        f"{INTEGRATION} -o sixsense_validate_inputs__setup_username {ADMIN}"
    )


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
