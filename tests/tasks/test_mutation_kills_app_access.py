"""sixsense_grant_app_access (tasks/app_access.py) as the operator and the org see it, against the simulator:
what it logs while it assigns, what a retried or failed assignment says, and what it reads. Written against
the survivors of ``make mutate`` (tests/mutation-equivalent.txt lists the ones that change nothing
observable). The base cases: tests/tasks/test_app_access.py and tests/tasks/test_write_faults.py.
"""

from __future__ import annotations

import logging

import pytest

from tests.conftest import INTEGRATION_USER as INTEGRATION
from tests.conftest import last_seq, writes_since

ACCESS_SET = "Sixsense_Integration_Access"
ASSIGNMENT_INSERT = "/composite/sobjects"  # cci's AssignPermissionSets: sObject Collections insert


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)


def _without_assignment(sim_task):
    """The ``configured`` org without the integration user's assignment of the policy's permission set."""
    sim, make = sim_task("configured")
    with sim.org.lock:
        store = sim.org.store
        user = store.find_one("User", Username=INTEGRATION)
        pset = store.find_one("PermissionSet", Name=ACCESS_SET)
        rows = store.find(
            "PermissionSetAssignment", AssigneeId=user["Id"], PermissionSetId=pset["Id"]
        )
        assert rows, "the scenario should hold the assignment to remove"
        for row in rows:
            store.delete("PermissionSetAssignment", row["Id"])
    return sim, make, user["Id"]


def _grant(make, **options):
    """Run sixsense_grant_app_access (``make``: sim_task's or make_task's) with consent; its return values."""
    return make(
        "sixsense_grant_app_access",
        integration_username=INTEGRATION,
        confirm_production="True",
        **options,
    )()


def test_a_retried_assignment_names_itself_in_the_log(sim_task, caplog):
    """A transient fault on the assignment insert: the operator sees which write is retried and why, and
    each try names the permission set and the user it assigns."""
    caplog.set_level(logging.INFO)
    sim, make, user_id = _without_assignment(sim_task)
    sim.observer.set_faults(f"match={ASSIGNMENT_INSERT}:kind=UNABLE_TO_LOCK_ROW:times=1")
    result = _grant(make)
    assert result["assignments_created"] == [f"{ACCESS_SET} -> {INTEGRATION}"]
    messages = caplog.messages
    assert messages.count(f'Assigning Permission Set "{ACCESS_SET}" to {user_id}.') == 2
    retried = [m for m in messages if "checking what is still missing and retrying" in m]
    assert len(retried) == 1, messages
    assert retried[0].startswith("Permission set assignment: ")


def test_an_expired_session_at_the_assignment_names_the_write(sim_task, errors):
    sim, make, user_id = _without_assignment(sim_task)
    sim.observer.set_faults(f"match={ASSIGNMENT_INSERT}:kind=INVALID_SESSION_ID:times=1")
    with pytest.raises(errors.SixsenseOrgError) as raised:
        _grant(make)
    assert str(raised.value).startswith(
        "Permission set assignment failed: INVALID_SESSION_ID: the Salesforce session expired"
    ), raised.value


def test_the_assignments_are_read_once_then_once_more_to_verify_the_insert(make_task, org):
    """The integration user's assignments: one read, the insert of what it found missing, one read to
    verify it; no read between the first and the insert (the insert acts on that read)."""
    from tests.tasks.conftest import APP_ROW, INTEGRATION_PS, INTEGRATION_USER

    assigned = []
    org.on("FROM User", records=[INTEGRATION_USER])
    org.on("FROM ConnectedApplication", records=[APP_ROW])
    org.on("FROM PermissionSet WHERE Name IN", records=[INTEGRATION_PS])
    org.on(
        "FROM SetupEntityAccess",
        records=[{"ParentId": INTEGRATION_PS["Id"], "SetupEntityId": APP_ROW["Id"]}],
    )
    org.on("FROM PermissionSetAssignment", records=lambda: assigned)
    org.on_insert = lambda sobject, body: assigned.append(
        {"PermissionSetId": body["PermissionSetId"]}
    )
    result = _grant(make_task)
    assert result["assignments_created"] == [f"{ACCESS_SET} -> {INTEGRATION}"]
    mine = f"SELECT PermissionSetId FROM PermissionSetAssignment WHERE AssigneeId = '{INTEGRATION_USER['Id']}'"
    reads = [q for q in org.soql if q == mine]
    assert len(reads) == 2, org.soql
    assert org.writes().count("POST /services/data/v65.0/composite/sobjects") == 1, org.writes()


def test_every_missing_permission_set_of_the_policy_is_named(
    make_task, org, errors, tasks_module, monkeypatch, runtime
):
    """A policy naming two permission sets the org lacks: the stop names both, comma-separated, and says
    how to deploy them; nothing is written."""
    from tests.tasks.conftest import APP_ROW, INTEGRATION_USER

    app_access = tasks_module("app_access")
    policy = app_access.read_policy_template(runtime.project_config.repo_root)
    policy = {**policy, "permission_sets": ["Sixsense_One", "Sixsense_Two"], "profiles": []}
    monkeypatch.setattr(app_access, "read_policy_template", lambda root: policy)
    org.on("FROM User", records=[INTEGRATION_USER])
    org.on("FROM ConnectedApplication", records=[APP_ROW])
    with pytest.raises(errors.SixsenseOrgError) as raised:
        _grant(make_task)
    assert str(raised.value) == (
        "Permission set(s) Sixsense_One, Sixsense_Two of the app policy not found in the org: deploy them "
        "first (cci task run sixsense_deploy_access)."
    )
    assert org.writes() == []


def _policy_with_profiles(tasks_module, monkeypatch, runtime, profiles):
    app_access = tasks_module("app_access")
    policy = app_access.read_policy_template(runtime.project_config.repo_root)
    policy = {**policy, "profiles": list(profiles)}
    monkeypatch.setattr(app_access, "read_policy_template", lambda root: policy)


def test_a_profile_of_the_policy_gets_access_through_its_own_permission_set(
    make_task, org, tasks_module, monkeypatch, runtime
):
    """A ``<profileName>`` in the app's policy: that profile's own permission set gets the access row."""
    from tests.tasks.conftest import APP_ROW, INTEGRATION_PS, INTEGRATION_USER

    _policy_with_profiles(tasks_module, monkeypatch, runtime, ["Sales Ops Integration"])
    profile_ps = {
        "Id": "0PS00000000000QAAA",
        "ProfileId": "00e000000000009AAA",
        "Profile": {"Name": "Sales Ops Integration"},
    }
    org.on("FROM User", records=[INTEGRATION_USER])
    org.on("FROM ConnectedApplication", records=[APP_ROW])
    org.on("FROM PermissionSet WHERE Name IN", records=[INTEGRATION_PS])
    org.on(
        "IsOwnedByProfile = true AND Profile.Name IN ('Sales Ops Integration')",
        records=[profile_ps],
    )
    access = [{"Id": "0J0x", "ParentId": INTEGRATION_PS["Id"], "SetupEntityId": APP_ROW["Id"]}]
    org.on("FROM SetupEntityAccess", records=lambda: access)
    org.on("FROM PermissionSetAssignment", records=[{"PermissionSetId": INTEGRATION_PS["Id"]}])
    org.on_insert = lambda sobject, body: access.append(dict(body))
    result = _grant(make_task)
    assert result["setup_entity_access_created"] == [
        "profile Sales Ops Integration -> sfdc_6sense_oauth_app"
    ]
    assert org.inserted == [
        ("SetupEntityAccess", {"ParentId": profile_ps["Id"], "SetupEntityId": APP_ROW["Id"]})
    ]


def test_a_profile_of_the_policy_missing_from_the_org_is_refused_before_any_write(
    make_task, org, errors, tasks_module, monkeypatch, runtime
):
    from tests.tasks.conftest import APP_ROW, INTEGRATION_PS, INTEGRATION_USER

    _policy_with_profiles(
        tasks_module, monkeypatch, runtime, ["Sales Ops Integration", "Gone", "Old"]
    )
    org.on("FROM User", records=[INTEGRATION_USER])
    org.on("FROM ConnectedApplication", records=[APP_ROW])
    org.on("FROM PermissionSet WHERE Name IN", records=[INTEGRATION_PS])
    org.on(
        "IsOwnedByProfile = true",
        records=[
            {
                "Id": "0PS00000000000QAAA",
                "ProfileId": "00e000000000009AAA",
                "Profile": {"Name": "Sales Ops Integration"},
            }
        ],
    )
    with pytest.raises(errors.SixsenseInputError) as raised:
        _grant(make_task)
    assert str(raised.value) == (
        f"Profile(s) Gone, Old named in {tasks_module('metadata_xml').POLICY_TEMPLATE.as_posix()} "
        "do not exist in this org."
    )
    assert org.writes() == []


def test_a_profile_of_the_policy_gets_access_in_the_simulator(
    sim_task, tasks_module, monkeypatch, runtime
):
    """The same against the simulator, whose SOQL parser refuses a malformed query: the profile's own
    permission set (IsOwnedByProfile) holds the access row afterwards."""
    profile = "Minimum Access - API Only Integrations"
    _policy_with_profiles(tasks_module, monkeypatch, runtime, [profile])
    sim, make = sim_task("configured")
    result = _grant(make)
    app = sim.org.app_state()
    assert result["setup_entity_access_created"] == [f"profile {profile} -> {app['name']}"]
    with sim.org.lock:
        store = sim.org.store
        profile_id = store.find_one("Profile", Name=profile)["Id"]
        own = store.find_one("PermissionSet", ProfileId=profile_id, IsOwnedByProfile=True)
        rows = store.find(
            "SetupEntityAccess", ParentId=own["Id"], SetupEntityId=app["connected_application_id"]
        )
    assert len(rows) == 1


def _two_set_policy(org, monkeypatch, tasks_module, runtime) -> list[dict]:
    """The fake org with the app installed and a policy of two permission sets, both deployed: their rows."""
    from tests.tasks.conftest import APP_ROW, INTEGRATION_USER

    app_access = tasks_module("app_access")
    policy = app_access.read_policy_template(runtime.project_config.repo_root)
    policy = {**policy, "permission_sets": ["Sixsense_One", "Sixsense_Two"], "profiles": []}
    monkeypatch.setattr(app_access, "read_policy_template", lambda root: policy)
    sets = [
        {"Id": "0PS000000000011AAA", "Name": "Sixsense_One", "Label": "One"},
        {"Id": "0PS000000000012AAA", "Name": "Sixsense_Two", "Label": "Two"},
    ]
    org.on("FROM User", records=[INTEGRATION_USER])
    org.on("FROM ConnectedApplication", records=[APP_ROW])
    org.on("FROM PermissionSet WHERE Name IN", records=sets)
    return sets


def test_assignments_never_saved_are_each_named_when_the_step_gives_up(
    make_task, org, errors, tasks_module, monkeypatch, runtime
):
    """Both permission sets of a policy acknowledged but never saved (every verification finds them
    missing): the step gives up naming both, comma-separated, instead of reporting them created."""
    from tests.tasks.conftest import APP_ROW

    sets = _two_set_policy(org, monkeypatch, tasks_module, runtime)
    org.on(
        "FROM SetupEntityAccess",
        records=[{"ParentId": s["Id"], "SetupEntityId": APP_ROW["Id"]} for s in sets],
    )
    org.on("FROM PermissionSetAssignment", records=[])  # the inserts are never saved
    with pytest.raises(errors.SixsenseOrgError) as raised:
        _grant(make_task)
    assert str(raised.value).startswith(
        f"Sixsense_One, Sixsense_Two is still not assigned to {INTEGRATION} ("
    ), raised.value


def test_access_never_saved_is_named_for_each_set_when_the_step_gives_up(
    make_task, org, errors, tasks_module, monkeypatch, runtime
):
    """Both permission sets' access rows acknowledged but never saved: the step gives up naming each grant,
    comma-separated, with what to do, instead of reporting them created."""
    from tests.tasks.conftest import APP_ROW, INTEGRATION_USER

    sets = _two_set_policy(org, monkeypatch, tasks_module, runtime)
    org.on("FROM SetupEntityAccess", records=[])  # the inserts are never saved
    org.on(
        "FROM PermissionSetAssignment",
        records=[{"PermissionSetId": s["Id"], "AssigneeId": INTEGRATION_USER["Id"]} for s in sets],
    )
    with pytest.raises(errors.SixsenseOrgError) as raised:
        _grant(make_task)
    app = APP_ROW["Name"]
    assert str(raised.value).startswith(
        f"SetupEntityAccess not found after insert: permission set Sixsense_One -> {app}, permission set "
        f"Sixsense_Two -> {app} ("
    ), raised.value
    assert tasks_module("resilience").TRANSIENT_HINT in str(raised.value)


def _profile_access(sim, profile: str) -> int:
    """How many access rows to the app the profile's own permission set holds."""
    with sim.org.lock:
        store = sim.org.store
        profile_id = store.find_one("Profile", Name=profile)["Id"]
        own = store.find_one("PermissionSet", ProfileId=profile_id, IsOwnedByProfile=True)
        app_id = sim.org.app_state()["connected_application_id"]
        return len(store.find("SetupEntityAccess", ParentId=own["Id"], SetupEntityId=app_id))


@pytest.mark.parametrize("policy_profiles", [[], ["System Administrator"]])
def test_include_integration_profile_adds_its_profile_to_the_policys(
    sim_task, tasks_module, monkeypatch, runtime, policy_profiles
):
    """``include_integration_profile True``: the integration user's profile gets access too, next to the
    profiles the policy names (none, or one other)."""
    integration_profile = "Minimum Access - API Only Integrations"
    _policy_with_profiles(tasks_module, monkeypatch, runtime, policy_profiles)
    sim, make = sim_task("configured")
    result = _grant(make, include_integration_profile="True")
    app = sim.org.app_state()["name"]
    assert sorted(result["setup_entity_access_created"]) == sorted(
        f"profile {p} -> {app}" for p in [*policy_profiles, integration_profile]
    )
    for profile in [*policy_profiles, integration_profile]:
        assert _profile_access(sim, profile) == 1, profile


def test_the_integration_users_profile_named_by_the_policy_too_gets_one_access_row(
    sim_task, tasks_module, monkeypatch, runtime
):
    integration_profile = "Minimum Access - API Only Integrations"
    _policy_with_profiles(tasks_module, monkeypatch, runtime, [integration_profile])
    sim, make = sim_task("configured")
    result = _grant(make, include_integration_profile="True")
    assert result["setup_entity_access_created"] == [
        f"profile {integration_profile} -> {sim.org.app_state()['name']}"
    ]
    assert _profile_access(sim, integration_profile) == 1


def test_a_policy_profile_and_a_missing_assignment_are_both_written(
    sim_task, tasks_module, monkeypatch, runtime
):
    """The policy names a profile, and the integration user lacks the permission set's assignment: one run
    gives the profile access and assigns the permission set."""
    _policy_with_profiles(tasks_module, monkeypatch, runtime, ["System Administrator"])
    sim, make, user_id = _without_assignment(sim_task)
    result = _grant(make)
    assert result["assignments_created"] == [f"{ACCESS_SET} -> {INTEGRATION}"]
    assert result["setup_entity_access_created"] == [
        f"profile System Administrator -> {sim.org.app_state()['name']}"
    ]
    assert _profile_access(sim, "System Administrator") == 1
    with sim.org.lock:
        pset = sim.org.store.find_one("PermissionSet", Name=ACCESS_SET)
        assert sim.org.store.find(
            "PermissionSetAssignment", AssigneeId=user_id, PermissionSetId=pset["Id"]
        )


APPS = "sfdc_6sense_oauth_app,sfdc_6sense_integration_connected_app"


def test_plan_mode_before_the_install_names_the_first_app_name(make_task, org, caplog):
    """Plan mode, the app not installed yet (an earlier manual step): the access row it would create names
    the first of ``connected_app_names``, marked "(once installed)"; nothing is written."""
    from tests.tasks.conftest import INTEGRATION_PS, INTEGRATION_USER

    caplog.set_level(logging.INFO)
    org.on("FROM User", records=[INTEGRATION_USER])
    org.on("FROM ConnectedApplication", records=[])
    org.on("FROM PermissionSet WHERE Name IN", records=[INTEGRATION_PS])
    org.on("FROM PermissionSetAssignment", records=[{"PermissionSetId": INTEGRATION_PS["Id"]}])
    result = make_task(
        "sixsense_grant_app_access",
        integration_username=INTEGRATION,
        connected_app_names=APPS,
        plan="True",
    )()
    assert result["would_create"] == 1
    assert (
        f"PLAN: would create SetupEntityAccess permission set {ACCESS_SET} -> "
        "sfdc_6sense_oauth_app (once installed)"
    ) in caplog.messages
    assert org.writes() == []


def test_not_installed_names_every_candidate_app_name(make_task, org, errors):
    from tests.tasks.conftest import INTEGRATION_USER

    org.on("FROM User", records=[INTEGRATION_USER])
    org.on("FROM ConnectedApplication", records=[])
    with pytest.raises(errors.SixsenseOrgError) as raised:
        _grant(make_task, connected_app_names=APPS)
    assert str(raised.value).startswith(
        "The 6sense connected app (sfdc_6sense_oauth_app or sfdc_6sense_integration_connected_app) is "
        "not installed: install it first"
    ), raised.value
    assert org.writes() == []


def test_plan_mode_with_the_permission_set_deployed_and_the_app_not_installed(sim_task):
    """New customer, plan mode after the permission set is deployed and before the app is installed: the
    step lists what it would create without asking the org about access to an app it cannot name yet."""
    sim, make = sim_task("new_customer")
    make("sixsense_deploy_access", confirm_production="True")()
    mark = last_seq(sim)
    result = make("sixsense_grant_app_access", integration_username=INTEGRATION, plan="True")()
    assert result["would_create"] >= 1
    assert result["created"] == 0
    assert writes_since(sim, mark) == []


def test_the_audit_records_what_was_there_before_and_after(sim_task):
    """The audit report's before/after of this step: the access row that was there stays listed, the
    assignment it made appears only after."""
    sim, make, _ = _without_assignment(sim_task)
    task = make(
        "sixsense_grant_app_access", integration_username=INTEGRATION, confirm_production="True"
    )
    task()
    access = [f"permission set {ACCESS_SET} -> {sim.org.app_state()['name']}"]
    assignment = [f"{ACCESS_SET} -> {INTEGRATION}"]
    assert task.audit_notes["before"] == {"setup_entity_access": access, "assignments": []}
    assert task.audit_notes["after"] == {"setup_entity_access": access, "assignments": assignment}
    assert "skipped" not in task.audit_notes  # the assignment was missing: not "already done"
    again = make(
        "sixsense_grant_app_access", integration_username=INTEGRATION, confirm_production="True"
    )
    again()  # all in place: its before is the first run's after, and nothing changes
    assert again.audit_notes["before"] == task.audit_notes["after"]
    assert again.audit_notes["after"] == task.audit_notes["after"]


def test_plan_mode_with_only_the_assignment_missing_names_it_and_is_not_already_done(
    sim_task, caplog
):
    """Plan mode, the access row there and the assignment missing: the one change it would make is the
    assignment, named in the log and the audit; the step is not "already done"; nothing is written."""
    caplog.set_level(logging.INFO)
    sim, make, _ = _without_assignment(sim_task)
    mark = last_seq(sim)
    task = make("sixsense_grant_app_access", integration_username=INTEGRATION, plan="True")
    task()
    would = f"create PermissionSetAssignment {ACCESS_SET} -> {INTEGRATION}"
    assert task.audit_notes["plan"] == [would]
    assert f"PLAN: would {would}" in caplog.messages
    assert not any(m.startswith("already done") for m in caplog.messages)
    assert "skipped" not in task.audit_notes
    assert task.return_values["would_create"] == 1
    assert writes_since(sim, mark) == []


def test_plan_mode_with_everything_in_place_is_already_done(sim_task, caplog):
    """Plan mode on the configured org: nothing it would create, "already done" in the log and the audit,
    whose after is its before."""
    caplog.set_level(logging.INFO)
    sim, make = sim_task("configured")
    mark = last_seq(sim)
    task = make("sixsense_grant_app_access", integration_username=INTEGRATION, plan="True")
    task()
    assert "already done: the access list of the app policy is in place." in caplog.messages
    assert task.audit_notes["skipped"] == ["already done: access list in place"]
    assert task.audit_notes["after"] == task.audit_notes["before"]
    assert task.audit_notes["before"]["assignments"] == [f"{ACCESS_SET} -> {INTEGRATION}"]
    assert "plan" not in task.audit_notes
    assert task.return_values == {
        "setup_entity_access_created": [],
        "assignments_created": [],
        "created": 0,
        "would_create": 0,
    }
    assert writes_since(sim, mark) == []


def test_at_a_terminal_on_production_the_question_names_the_grant_and_the_table_follows(
    sim_task, tmp_path, terminal, log_lines
):
    """The production guard's question names this step's write; once confirmed, the step logs its table
    (what was granted, to whom, what it did)."""
    from tests.tasks.test_terminal_confirmations import _guard_case

    sim, make, task_name, options, mark = _guard_case(
        "grant_app_access assignment only", sim_task, tmp_path
    )
    terminal("y")
    make(task_name, **options)()
    org_name = sim.state()["objects"]["Organization"][0]["Name"]
    assert terminal.questions() == [
        f"{org_name} is a production org. Write to it (grant the integration user access to the 6sense "
        "app) and in the later steps of this run? [y/N]:"
    ]
    lines = log_lines()
    at = lines.index("App access")
    assert lines[at + 1].split() == ["grant", "to", "action"]


def _without_access(sim_task, tmp_path):
    """The ``configured`` org without the permission set's access to the app."""
    from tests.tasks.test_production_guard_alone import _no_access, scenario_variant

    return sim_task(scenario_variant(tmp_path, "configured", _no_access))


def test_a_retried_access_insert_names_itself_in_the_log(sim_task, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    sim, make = _without_access(sim_task, tmp_path)
    sim.observer.set_faults("match=/sobjects/SetupEntityAccess:kind=UNABLE_TO_LOCK_ROW:times=1")
    result = _grant(make)
    assert len(result["setup_entity_access_created"]) == 1
    retried = [m for m in caplog.messages if "checking what is still missing and retrying" in m]
    assert len(retried) == 1, caplog.messages
    assert retried[0].startswith("Insert SetupEntityAccess: ")


def test_an_expired_session_at_the_access_insert_names_the_write(sim_task, tmp_path, errors):
    sim, make = _without_access(sim_task, tmp_path)
    sim.observer.set_faults("match=/sobjects/SetupEntityAccess:kind=INVALID_SESSION_ID:times=1")
    with pytest.raises(errors.SixsenseOrgError) as raised:
        _grant(make)
    assert str(raised.value).startswith(
        "Insert SetupEntityAccess failed: INVALID_SESSION_ID: the Salesforce session expired"
    ), raised.value


def test_the_log_table_and_the_audit_say_what_this_run_created_and_what_was_already_done(
    sim_task, tasks_module, monkeypatch, runtime, caplog
):
    """A policy naming a profile, with the integration user's assignment missing: the table has a row per
    grant (the permission set's access already there, the profile's created) and a row per permission set's
    assignment (created); run again, every row is already done. Profiles have no assignment row."""
    _policy_with_profiles(tasks_module, monkeypatch, runtime, ["System Administrator"])
    sim, make, user_id = _without_assignment(sim_task)
    app = sim.org.app_state()["name"]
    caplog.set_level(logging.INFO)
    tables, tasks = [], []
    for _ in range(2):
        task = make(
            "sixsense_grant_app_access", integration_username=INTEGRATION, confirm_production="True"
        )
        monkeypatch.setattr(task, "_log_table", lambda title, rows: tables.append((title, rows)))
        task()
        tasks.append(task)
    first, again = tables
    assert tasks[0].audit_notes["changed"] == [
        {
            "object": "SetupEntityAccess",
            "action": "created",
            "what": f"profile System Administrator -> {app}",
        },
        {
            "object": "PermissionSetAssignment",
            "action": "created",
            "what": f"{ACCESS_SET} -> {INTEGRATION}",
        },
    ]
    assert tasks[1].audit_notes["changed"] == []
    assert tasks[1].audit_notes["skipped"] == ["already done: access list in place"]
    assert "skipped" not in tasks[0].audit_notes
    assert tasks[0].return_values == {
        "setup_entity_access_created": [f"profile System Administrator -> {app}"],
        "assignments_created": [f"{ACCESS_SET} -> {INTEGRATION}"],
        "created": 2,
    }
    assert tasks[1].return_values["created"] == 0
    assert (
        caplog.messages.count("already done: the access list of the app policy is in place.") == 1
    )
    assert first == (
        "App access",
        [
            ["grant", "to", "action"],
            [f"access to {app}", f"permission set {ACCESS_SET}", "already done"],
            [f"access to {app}", "profile System Administrator", "created"],
            [f"assignment of {ACCESS_SET}", INTEGRATION, "created"],
        ],
    )
    assert again == (
        "App access",
        [row[:2] + ["already done"] if i else row for i, row in enumerate(first[1])],
    )
