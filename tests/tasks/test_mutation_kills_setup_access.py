"""sixsense_assign_setup_access (tasks/setup_access.py) as the operator meets it: what it assigns to whom,
what it reports (return values, the table, the audit notes), and what it refuses with which fix. Written
against the survivors of ``make mutate`` (tests/mutation-equivalent.txt lists the ones that change nothing
observable). The base cases: tests/tasks/test_setup_access.py.
"""

from __future__ import annotations

import logging
import re

import pytest
from cumulusci.core.config import TaskConfig

from tests.tasks.conftest import ADMIN, INTEGRATION, SETUP_PS, user
from tests.tasks.test_write_faults import (
    SETUP_SET,
    _ids,
    _remove,
    _run,
    _without_profile_permission,
)

CUSTOM_ADMIN = user(ADMIN, "005000000000001AAA", profile="Custom Admin", approve=False)
OTHER_PS = {"Id": "0PS000000000009AAA", "Name": "Approver_Set", "Label": "Approver"}
SANDBOX = {"Name": "UAT", "IsSandbox": True}


def assignment(ps, approve=True, owned_by_profile=False, profile=None):
    return {
        "AssigneeId": CUSTOM_ADMIN["Id"],
        "PermissionSetId": ps["Id"],
        "PermissionSet": {
            "Name": ps["Name"],
            "IsOwnedByProfile": owned_by_profile,
            "Profile": {"Name": profile} if profile else None,
            "PermissionsCanApproveUninstalledApps": approve,
        },
    }


def org_to_assign(org, permission_sets=(SETUP_PS,), held=()):
    """The connected admin (Custom Admin profile, no Approve Uninstalled Connected Apps) on a sandbox;
    ``held``: its assignments. Inserts are saved (``assigned`` grows)."""
    assigned = list(held)
    org.on("FROM User", records=[CUSTOM_ADMIN])
    org.on("FROM PermissionSet WHERE Name IN", records=list(permission_sets))
    org.on("FROM PermissionSetAssignment", records=lambda: assigned)
    org.on(
        "PermissionSetAssignments",
        records=lambda: [
            {
                "Id": CUSTOM_ADMIN["Id"],
                "PermissionSetAssignments": {"records": assigned} if assigned else None,
            }
        ],
    )
    org.on("FROM Organization", records=[SANDBOX])
    org.on_insert = lambda sobject, body: assigned.append(
        {"PermissionSetId": body["PermissionSetId"], "AssigneeId": body["AssigneeId"]}
    )
    return assigned


@pytest.fixture
def info(caplog):
    caplog.set_level(logging.INFO)
    return caplog


def test_the_assignment_is_reported_in_the_table_and_the_audit(make_task, org, info):
    org_to_assign(org)
    task = make_task("sixsense_assign_setup_access")
    assert task() == {"assigned": True, "held_through": "permission set Sixsense_Setup_Access"}
    inserted = [body for sobject, body in org.inserted]
    assert [(b["AssigneeId"], b["PermissionSetId"]) for b in inserted] == [
        (CUSTOM_ADMIN["Id"], SETUP_PS["Id"])
    ]
    users_query = next(q for q in org.soql if "PermissionSetAssignments" in q)
    assert f"WHERE Username IN ('{ADMIN}')" in users_query
    table = [m for m in info.messages if ADMIN in m and "CanApproveUninstalledApps" in m]
    assert table and "permission set Sixsense_Setup_Access" in table[-1]
    title = info.messages.index("Setup access")  # the table's title, then its header and rows
    assert info.messages.index(table[-1]) > title
    assert table[-1].rstrip().endswith("assigned")
    notes = task.audit_notes
    assert notes["before"] == f"{ADMIN} does not hold CanApproveUninstalledApps"
    assert (
        notes["after"]
        == "holds CanApproveUninstalledApps through permission set Sixsense_Setup_Access"
    )
    assert notes["changed"] == [
        {
            "object": "PermissionSetAssignment",
            "action": "created",
            "what": f"Sixsense_Setup_Access -> {ADMIN}",
        }
    ]


def test_held_through_another_permission_set_assigns_nothing_and_says_through_what(
    make_task, org, info
):
    org_to_assign(org, held=[assignment(OTHER_PS)])
    task = make_task("sixsense_assign_setup_access")
    assert task() == {"assigned": False, "held_through": "permission set Approver_Set"}
    assert org.writes() == []
    assert (
        f"{ADMIN} already holds CanApproveUninstalledApps through permission set Approver_Set; "
        "Sixsense_Setup_Access not assigned."
    ) in info.messages
    notes = task.audit_notes
    assert (
        notes["before"]
        == notes["after"]
        == ("holds CanApproveUninstalledApps through permission set Approver_Set")
    )
    assert notes["skipped"] == [
        "Sixsense_Setup_Access not assigned: already held through permission set Approver_Set"
    ]
    table = [
        m for m in info.messages if ADMIN in m and m.rstrip().endswith("  none (already held)")
    ]
    assert table, info.messages


def test_held_through_a_permission_set_without_the_permission_does_not_count(make_task, org):
    org_to_assign(org, held=[assignment(OTHER_PS, approve=False)])
    assert make_task("sixsense_assign_setup_access")()["assigned"] is True


def test_already_assigned_is_noted_as_already_done(make_task, org, info):
    org_to_assign(org, held=[assignment(SETUP_PS)])
    task = make_task("sixsense_assign_setup_access")
    assert task() == {"assigned": False, "held_through": "permission set Sixsense_Setup_Access"}
    assert org.writes() == []
    assert f"already done: {ADMIN} has Sixsense_Setup_Access." in info.messages
    assert task.audit_notes["skipped"] == ["already done: Sixsense_Setup_Access assigned"]
    assert any(m.rstrip().endswith(" none (already done)") for m in info.messages)


def test_two_permission_sets_one_assigned_assigns_only_the_other(make_task, org):
    both = {**SETUP_PS, "Id": "0PS000000000003AAA", "Name": "Second_Set"}
    org_to_assign(org, permission_sets=(SETUP_PS, both), held=[assignment(SETUP_PS, approve=False)])
    org.permission_fields = {"ApiEnabled"}  # cannot tell where the permission comes from
    task = make_task("sixsense_assign_setup_access", api_names="Sixsense_Setup_Access,Second_Set")
    result = task()
    assert result == {
        "assigned": True,
        "held_through": "permission set Sixsense_Setup_Access, permission set Second_Set",
    }
    assert [b["PermissionSetId"] for _, b in org.inserted] == [both["Id"]]
    assert [c["what"] for c in task.audit_notes["changed"]] == [f"Second_Set -> {ADMIN}"]


def test_without_the_permission_field_it_warns_and_assigns(make_task, org, caplog):
    org_to_assign(org)
    org.permission_fields = {"ApiEnabled"}
    caplog.set_level(logging.WARNING)
    assert make_task("sixsense_assign_setup_access")()["assigned"] is True
    assert (
        "The org's PermissionSet describe has no PermissionsCanApproveUninstalledApps field; cannot tell "
        "whether the profile grants it, so the permission set is assigned."
    ) in caplog.messages


def test_plan_mode_reports_the_assignment_it_would_create(make_task, org, info):
    org_to_assign(org)
    task = make_task("sixsense_assign_setup_access", plan="True")
    assert task() == {
        "assigned": False,
        "held_through": "",
        "would_assign": ["Sixsense_Setup_Access"],
    }
    assert org.writes() == []
    assert f"PLAN: would create PermissionSetAssignment Sixsense_Setup_Access -> {ADMIN}" in (
        info.messages
    )


def test_plan_mode_before_the_permission_set_is_deployed_still_plans_the_assignment(make_task, org):
    """In a planned flow, sixsense_deploy_access (earlier) would deploy it."""
    org_to_assign(org, permission_sets=())
    result = make_task("sixsense_assign_setup_access", plan="True")()
    assert result["would_assign"] == ["Sixsense_Setup_Access"]
    assert org.writes() == []


def test_a_permission_set_not_deployed_names_it_and_the_task_that_deploys_it(
    make_task, org, errors
):
    org_to_assign(org, permission_sets=(SETUP_PS,))
    with pytest.raises(errors.SixsenseOrgError) as refused:
        make_task(
            "sixsense_assign_setup_access",
            api_names="Sixsense_Setup_Access,Missing_Set,Other_Missing",
        )()
    assert str(refused.value) == (
        "Permission set(s) Missing_Set, Other_Missing not found in the org: deploy them first "
        "(cci task run sixsense_deploy_access)."
    )
    assert org.writes() == []


@pytest.mark.parametrize("bad", ["Bad__Name", "1set", "trailing_", "has space"])
def test_an_invalid_api_name_is_refused_before_any_request(make_task, org, errors, bad):
    with pytest.raises(errors.SixsenseInputError) as refused:
        make_task("sixsense_assign_setup_access", api_names=f"Sixsense_Setup_Access,{bad}")
    assert str(refused.value) == (
        f"api_names holds invalid permission set API name(s) {bad}: an API name begins with a letter and "
        "holds only letters, digits and single underscores (e.g. Sixsense_Setup_Access). "
        "Pass -o api_names Sixsense_Setup_Access."
    )
    assert org.soql == [] and org.writes() == []


def test_api_names_default_to_the_vendors_setup_permission_set(make_task, org):
    task = make_task("sixsense_assign_setup_access")
    assert task.options["api_names"] == ["Sixsense_Setup_Access"]
    given = make_task("sixsense_assign_setup_access", api_names="Other_Set")
    assert given.options["api_names"] == ["Other_Set"]


def test_an_insert_that_is_never_saved_fails_naming_what_is_missing(make_task, org, errors):
    org_to_assign(org)
    org.on_insert = None  # acknowledged, never saved
    with pytest.raises(errors.SixsenseOrgError) as failed:
        make_task("sixsense_assign_setup_access")()
    message = str(failed.value)
    assert message.startswith(f"Sixsense_Setup_Access is still not assigned to {ADMIN} (")
    assert "https://status.salesforce.com" in message


def test_assign_by_username_defaults_to_the_running_user_and_says_when_nobody_matches(
    tasks_module, runtime, org_config, org, errors
):
    """The by-Username assignment (sixsense_grant_app_access uses it for the integration user)."""
    klass = tasks_module("setup_access").AssignPermissionSetsByUsername
    task = klass(
        runtime.project_config,
        TaskConfig({"options": {"api_names": "Sixsense_Setup_Access"}}),
        org_config,
    )
    assert task._usernames() == [ADMIN]
    task._init_task()
    with pytest.raises(Exception) as none:
        task._query_existing_assignments()
    assert str(none.value) == f"No users were found with the username(s) {ADMIN}."
    named = klass(
        runtime.project_config,
        TaskConfig({"options": {"api_names": "X", "usernames": "a@example.com, ,b@example.com"}}),
        org_config,
    )
    assert named._usernames() == ["a@example.com", "b@example.com"]
    named._init_task()
    with pytest.raises(Exception) as nobody:
        named._query_existing_assignments()
    assert str(nobody.value) == (
        "No users were found with the username(s) a@example.com, b@example.com."
    )


def test_api_names_given_as_a_keyword_argument_are_kept(tasks_module, runtime, org_config):
    """A Python caller may pass options as keyword arguments (cci's BaseTask merges them): a given
    api_names is not replaced by the default."""
    klass = tasks_module("setup_access").AssignSetupAccess
    task = klass(
        runtime.project_config,
        TaskConfig({}),
        org_config,
        api_names="Other_Set",
        integration_username=INTEGRATION,
    )
    assert task.options["api_names"] == ["Other_Set"]
    default = klass(
        runtime.project_config,
        TaskConfig({"options": None}),
        org_config,
        integration_username=INTEGRATION,
    )
    assert default.options["api_names"] == ["Sixsense_Setup_Access"]


@pytest.mark.parametrize("held", ["profile", "permission set"])
def test_nothing_to_assign_still_logs_the_setup_access_table_under_its_title(
    make_task, org, info, held
):
    org_to_assign(org, held=[assignment(SETUP_PS)] if held == "permission set" else [])
    if held == "profile":
        org.on("FROM User", records=[user(ADMIN, CUSTOM_ADMIN["Id"])])  # System Administrator
    make_task("sixsense_assign_setup_access")()
    title = info.messages.index("Setup access")  # the table's title, then its rows (or blocks)
    assert any(ADMIN in line for line in info.messages[title + 1 : title + 4])
    if held == "profile":  # narrow enough for columns: the header names them
        header = info.messages[title + 1].split()
        assert header == ["user", "permission", "held", "through", "action"]


def test_an_unknown_setup_user_names_the_option_to_fix(make_task, org, errors):
    org_to_assign(org)
    with pytest.raises(errors.SixsenseInputError) as refused:
        make_task("sixsense_assign_setup_access", setup_username="nobody@example.com")()
    assert str(refused.value) == (
        "The setup user nobody@example.com does not exist in this org; check the username "
        "(-o setup_username ...)."
    )
    assert org.writes() == []


SECOND_PS = {"Id": "0PS000000000003AAA", "Name": "Second_Set", "Label": "Second"}
OTHER_TWO = {"Id": "0PS000000000008AAA", "Name": "Approver_Two", "Label": "Approver Two"}
TWO_SETS = "Sixsense_Setup_Access,Second_Set"


def test_held_through_two_other_sources_lists_both_and_both_sets_not_assigned(make_task, org, info):
    org_to_assign(
        org,
        permission_sets=(SETUP_PS, SECOND_PS),
        held=[assignment(OTHER_PS), assignment(OTHER_TWO)],
    )
    task = make_task("sixsense_assign_setup_access", api_names=TWO_SETS)
    held = "permission set Approver_Set, permission set Approver_Two"
    assert task() == {"assigned": False, "held_through": held}
    assert (
        f"{ADMIN} already holds CanApproveUninstalledApps through {held}; "
        "Sixsense_Setup_Access, Second_Set not assigned."
    ) in info.messages
    assert task.audit_notes["skipped"] == [
        f"Sixsense_Setup_Access, Second_Set not assigned: already held through {held}"
    ]
    assert org.writes() == []


def test_both_sets_already_assigned_are_already_done(make_task, org, info):
    org_to_assign(
        org,
        permission_sets=(SETUP_PS, SECOND_PS),
        held=[assignment(SETUP_PS), assignment(SECOND_PS, approve=False)],
    )
    task = make_task("sixsense_assign_setup_access", api_names=TWO_SETS)
    assert task() == {
        "assigned": False,
        "held_through": "permission set Sixsense_Setup_Access, permission set Second_Set",
    }
    assert f"already done: {ADMIN} has Sixsense_Setup_Access, Second_Set." in info.messages
    assert task.audit_notes["skipped"] == [
        "already done: Sixsense_Setup_Access, Second_Set assigned"
    ]
    rows = [m for m in info.messages if m.rstrip().endswith("none (already done)")]
    assert rows and all(m.rstrip().endswith(" none (already done)") for m in rows), rows
    assert org.writes() == []


def test_on_production_the_terminal_question_names_every_set_to_assign(
    make_task, org, info, terminal
):
    """At a terminal, the production guard asks before the write, naming what it will write: each
    permission set still to assign and the user."""
    org_to_assign(org, permission_sets=(SETUP_PS, SECOND_PS))
    org.on("FROM Organization", records=[{"Name": "Acme Corp", "IsSandbox": False}])
    terminal("y")
    task = make_task("sixsense_assign_setup_access", api_names=TWO_SETS, interactive="True")
    assert task()["assigned"] is True
    [question] = terminal.questions()
    assert question.startswith(
        f"Acme Corp is a production org. Write to it (assign Sixsense_Setup_Access, Second_Set to "
        f"{ADMIN}) and in the later steps of this run?"
    ), question
    assert (
        "Confirmed at the terminal: write to the production org Acme Corp (assign "
        f"Sixsense_Setup_Access, Second_Set to {ADMIN}) and in the later steps of this run."
    ) in info.messages


def test_an_assignment_refused_for_an_expired_session_names_the_write_and_the_way_out(sim_task):
    """The simulator: the setup user needs the set (its profile lacks the permission, no assignment); the
    org refuses the insert with INVALID_SESSION_ID. The step stops naming the write and what to do."""

    sim, make = sim_task("configured")
    ids = _ids(sim)
    _without_profile_permission(sim, ids["setup"])
    _remove(sim, "PermissionSetAssignment", AssigneeId=ids["setup"], PermissionSetId=ids[SETUP_SET])
    sim.observer.set_faults("match=/composite/sobjects:kind=INVALID_SESSION_ID")
    result, error = _run(make, "sixsense_assign_setup_access", integration_username=INTEGRATION)
    assert result is None
    assert str(error).startswith(
        "Permission set assignment failed: INVALID_SESSION_ID: the Salesforce session expired during "
        "this step"
    ), error
    assert "cci org connect" in str(error)


def test_an_assignment_retried_after_a_transient_fault_says_what_it_retries(sim_task, caplog):
    sim, make = sim_task("configured")
    ids = _ids(sim)
    _without_profile_permission(sim, ids["setup"])
    _remove(sim, "PermissionSetAssignment", AssigneeId=ids["setup"], PermissionSetId=ids[SETUP_SET])
    sim.observer.set_faults("match=/composite/sobjects:kind=UNABLE_TO_LOCK_ROW:times=1")
    result, error = _run(make, "sixsense_assign_setup_access", integration_username=INTEGRATION)
    assert error is None, error
    assert result["assigned"] is True
    retries = [
        r.getMessage() for r in caplog.records if "still missing and retrying" in r.getMessage()
    ]
    assert retries and all(m.startswith("Permission set assignment: ") for m in retries), retries


def test_the_assignments_are_read_once_before_the_write_and_once_to_verify_it(make_task, org):
    """The step's own read of the user's assignments is what the write starts from (no second read before
    it); one read after the insert verifies it."""
    org_to_assign(org)
    assert make_task("sixsense_assign_setup_access")()["assigned"] is True
    reads = [q for q in org.soql if re.search(r"FROM PermissionSetAssignment\b", q)]
    assert len(reads) == 2, reads
    assert org.soql.index(reads[0]) < org.soql.index(reads[1])
    assert len(org.inserted) == 1


def test_two_inserts_never_saved_fail_naming_both_sets(make_task, org, errors):
    org_to_assign(org, permission_sets=(SETUP_PS, SECOND_PS))
    org.on_insert = None  # acknowledged, never saved
    with pytest.raises(errors.SixsenseOrgError) as failed:
        make_task("sixsense_assign_setup_access", api_names=TWO_SETS)()
    assert str(failed.value).startswith(
        f"Sixsense_Setup_Access, Second_Set is still not assigned to {ADMIN} ("
    ), failed.value
