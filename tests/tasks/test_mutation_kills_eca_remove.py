"""The ECA migration's removal (tasks/eca/remove.py ``RemoveConnectedAppAccess``) word for word and value for
value (`make mutate`'s survivors): what it lists, what it returns and records for the audit when it is not
confirmed, in plan mode, when it removes and when nothing is left, the stop before anything where the
integration user holds no token for the ECA yet, and the question at a terminal. Against the simulator: the
connected app in use, the ECA installed and authorized by the integration user (as the migration leaves it).
The consent at a terminal answered n / Enter / y: test_terminal_confirmations.py; on production:
test_production_guard_alone.py."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import INTEGRATION_USER, SETUP_USER, last_seq, writes_since
from tests.tasks.test_production_guard_alone import (
    ECA_LABEL,
    _eca_installed,
    scenario_variant,
)

APP = "sfdc_6sense_oauth_app"
ACCESS = f"access of permission set Sixsense_Integration_Access to {APP}"
SETUP_SET = f"Sixsense_Setup_Access assigned to {SETUP_USER}"
TASK = "sixsense_remove_connected_app_access"


@pytest.fixture
def migrated(sim_task, tmp_path):
    """(sim, make) of the org the migration leaves: the ECA authorized, the connected app's grants still there."""
    return _eca_org(sim_task, tmp_path, INTEGRATION_USER)


def _eca_org(sim_task, tmp_path, authorized_by=None, org_kind="sandbox"):
    """(sim, make): the connected app in use and its grants there, the ECA installed and authorized by
    ``authorized_by`` (None: by nobody yet)."""
    sim, make = sim_task(
        scenario_variant(tmp_path, "connected_app_in_use_eca_absent", _eca_installed),
        org_kind=org_kind,
    )
    if authorized_by:
        assert sim.action("authorize", username=authorized_by, app=ECA_LABEL).get("ok")
    return sim, make


def _remove(make, **options):
    task = make(TASK, integration_username=INTEGRATION_USER, **options)
    task()
    return task


def test_not_confirmed_lists_what_it_would_remove_and_removes_nothing(migrated, caplog):
    caplog.set_level(logging.INFO)
    sim, make = migrated
    mark = last_seq(sim)
    task = _remove(make, interactive="False")
    assert task.return_values == {
        "status": "not confirmed",
        "would_remove": [ACCESS, SETUP_SET],
        "removed": [],
    }
    assert task.audit_notes["skipped"] == [
        f"not confirmed: {ACCESS}",
        f"not confirmed: {SETUP_SET}",
    ]
    assert (
        "Nothing removed. To remove these, run again with "
        "-o sixsense_remove_connected_app_access__remove_connected_app_access True (flow) or "
        "-o remove_connected_app_access True (this task), or confirm at a terminal."
    ) in caplog.messages
    at = caplog.messages.index("Connected-app access that the ECA makes unnecessary")
    header, _, first, second = caplog.messages[at + 1 : at + 5]
    assert header.split() == ["what", "record"]
    assert first.startswith(ACCESS) and second.startswith(SETUP_SET)
    # the lost grants are listed before any consent, each with what it loses
    assert "Grants of the connected app the removal revokes" in caplog.messages
    assert [s["user"] for s in task.audit_notes["sessions_affected"]] == [
        SETUP_USER,
        INTEGRATION_USER,
    ]
    assert writes_since(sim, mark) == []


def test_plan_mode_says_what_it_would_remove(migrated, caplog):
    caplog.set_level(logging.INFO)
    sim, make = migrated
    mark = last_seq(sim)
    task = _remove(make, plan="True")
    assert task.return_values == {
        "status": "would remove",
        "would_remove": [ACCESS, SETUP_SET],
        "removed": [],
    }
    assert task.audit_notes["plan"] == [f"remove {ACCESS}", f"remove {SETUP_SET}"]
    assert f"PLAN: would remove {ACCESS}" in caplog.messages
    assert writes_since(sim, mark) == []


def test_confirmed_removes_each_grant_records_it_and_then_finds_nothing_left(migrated, caplog):
    caplog.set_level(logging.INFO)
    sim, make = migrated
    task = _remove(make, remove_connected_app_access="True")
    assert task.return_values == {
        "status": "removed",
        "would_remove": [],
        "removed": [ACCESS, SETUP_SET],
    }
    assert task.audit_notes["changed"] == [
        {"object": "SetupEntityAccess", "action": "deleted", "what": ACCESS},
        {"object": "PermissionSetAssignment", "action": "deleted", "what": SETUP_SET},
    ]
    at = caplog.messages.index("Removed")
    assert caplog.messages[at + 1] == "what"
    assert caplog.messages[at + 3 : at + 5] == [ACCESS, SETUP_SET]

    caplog.clear()
    mark = last_seq(sim)
    again = _remove(make, remove_connected_app_access="True")
    assert again.return_values == {"status": "nothing to remove", "would_remove": [], "removed": []}
    assert again.audit_notes["skipped"] == ["no connected-app access left"]
    assert "The connected app grants nothing any more: nothing to remove." in caplog.messages
    assert writes_since(sim, mark) == []


def test_without_the_integration_users_eca_token_nothing_is_removed(sim_task, tmp_path, errors):
    sim, make = _eca_org(sim_task, tmp_path)
    mark = last_seq(sim)
    with pytest.raises(errors.SixsenseOrgError) as err:
        _remove(make, remove_connected_app_access="True")
    assert str(err.value) == (
        f"Not removing anything: {INTEGRATION_USER} holds no token for the 6sense External Client App yet, "
        "so 6sense may still depend on the connected app. Run sixsense_eca first."
    )
    assert writes_since(sim, mark) == []


def test_the_question_names_the_count_and_the_grant_in_recent_use(migrated, terminal):
    sim, make = migrated
    terminal("y")
    task = _remove(make)
    [question] = terminal.questions()
    [recent] = [s for s in task.audit_notes["sessions_affected"] if s["recently_used"]]
    used = (
        f", revoking {INTEGRATION_USER}'s {APP} grant (last used {recent['last_used']}), used in the last "
        "7 days"
    )
    assert question == f"Remove these 2 connected-app access grant(s) now{used}? [y/N]:"
    assert task.audit_notes["confirmed"] == [
        f"at the terminal: remove 2 connected-app access grant(s){used}"
    ]
    assert task.return_values["status"] == "removed"


def test_a_delete_acknowledged_but_not_saved_is_named_still_present(migrated, errors):
    """Salesforce answers the DELETE but keeps the row (the simulator's ``lost_write``): the step reads the
    grants again and names what is still there, instead of reporting it removed."""
    sim, make = migrated
    sim.observer.set_faults("kind=lost_write")
    with pytest.raises(errors.SixsenseOrgError) as err:
        _remove(make, remove_connected_app_access="True")
    assert str(err.value) == f"Still present after removal: {ACCESS}, {SETUP_SET}."


def test_an_integration_user_not_in_the_org_is_named(migrated, errors):
    sim, make = migrated
    with pytest.raises(errors.SixsenseInputError) as err:
        make(TASK, integration_username="nobody@example.com", remove_connected_app_access="True")()
    assert str(err.value) == (
        "The integration user nobody@example.com does not exist in this org; check the username "
        "(-o integration_username ...)."
    )


def test_without_the_eca_installed_nothing_is_removed(sim_task, errors):
    sim, make = sim_task("connected_app_in_use_eca_absent", org_kind="sandbox")
    mark = last_seq(sim)
    with pytest.raises(errors.SixsenseOrgError) as err:
        _remove(make, remove_connected_app_access="True")
    assert str(err.value).startswith(
        f"Not removing anything: {INTEGRATION_USER} holds no token for the 6sense External Client App yet"
    )
    assert writes_since(sim, mark) == []


def test_the_question_without_a_grant_in_recent_use_names_only_the_count(migrated, terminal):
    sim, make = migrated
    sim.org.store.conn.execute(
        'UPDATE "OauthToken" SET LastUsedDate = ? WHERE AppName = ?',
        ("2020-01-01T00:00:00.000+0000", APP),
    )
    terminal("n")
    task = _remove(make)
    assert terminal.questions() == ["Remove these 2 connected-app access grant(s) now? [y/N]:"]
    assert task.return_values["status"] == "not confirmed"


def test_another_users_eca_token_is_not_the_integration_users(sim_task, tmp_path, errors):
    """The ECA authorized by the admin only: 6sense (the integration user) may still use the connected app."""
    sim, make = _eca_org(sim_task, tmp_path, SETUP_USER)
    mark = last_seq(sim)
    with pytest.raises(errors.SixsenseOrgError, match="^Not removing anything: "):
        _remove(make, remove_connected_app_access="True")
    assert writes_since(sim, mark) == []


def test_a_refused_delete_names_the_record(migrated, errors):
    sim, make = migrated
    [grant] = sim.org.store.find("SetupEntityAccess", SetupEntityId=_app_id(sim))
    sim.observer.set_faults("match=sobjects/SetupEntityAccess:kind=refused")
    with pytest.raises(errors.SixsenseOrgError) as err:
        _remove(make, remove_connected_app_access="True")
    assert str(err.value).startswith(f"Delete SetupEntityAccess {grant['Id']} failed: ")


def test_on_production_the_question_names_the_removal(sim_task, tmp_path, terminal):
    sim, make = _eca_org(sim_task, tmp_path, INTEGRATION_USER, org_kind="production")
    terminal("y")
    task = _remove(make, remove_connected_app_access="True")
    [question] = terminal.questions()
    assert question.endswith(
        " is a production org. Write to it (remove 2 connected-app access grant(s)) and in the later "
        "steps of this run? [y/N]:"
    )
    assert task.return_values["status"] == "removed"


def _app_id(sim) -> str:
    [row] = sim.org.store.find("ConnectedApplication", Name=APP)
    return row["Id"]


def test_interactive_false_at_a_terminal_asks_nothing_and_removes_nothing(migrated, terminal):
    """``interactive`` False is the CI setting: even with a terminal there, no question and no removal."""
    sim, make = migrated
    mark = last_seq(sim)
    terminal("y")
    task = _remove(make, interactive="False")
    assert terminal.questions() == []
    assert task.return_values["status"] == "not confirmed"
    assert writes_since(sim, mark) == []
