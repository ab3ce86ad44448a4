"""Every flow, connected as a user with API access but not the admin rights the procedure needs
(``NON_ADMIN_SCENARIOS``): it stops in sixsense_validate_inputs, before any write, with one message naming
each missing permission; plan mode says the same. The org's state and request log are read from the
simulator (docs/salesforce-permissions.md, tasks/connected_user.py)."""

from __future__ import annotations

import pytest

from tests.conftest import NON_ADMIN_SCENARIOS, SCENARIO_DIR, last_seq, org_rows, writes_since

FAST = {"poll_interval": "1", "wait_timeout": "60", "confirm_production": "True"}
FLOWS = (
    "sixsense_new_customer",
    "sixsense_existing_customer",
    "sixsense_eca",
    "sixsense_migrate_to_eca",
)
ALL_LABELS = {
    "Modify All Data or Modify Metadata Through Metadata API Functions",
    "View Setup and Configuration",
    "Manage Users",
    "Customize Application",
    "Manage Profiles and Permission Sets",
}
#: scenario -> the permissions the message must name as missing (and no other).
MISSING = {
    "connected_user_api_only": ALL_LABELS,
    "connected_user_view_setup_only": ALL_LABELS - {"View Setup and Configuration"},
    # A delegated admin with every right but Manage Users: other users' OAuth tokens are hidden from it.
    "connected_user_cannot_see_tokens": {"Manage Users"},
}


def named_missing(message: str) -> set[str]:
    """The labels of the ``  - <label>: to ...`` lines of the refusal."""
    return {
        line.strip()[2:].split(": to ")[0]
        for line in message.splitlines()
        if line.strip().startswith("- ")
    }


def test_every_non_admin_scenario_is_bundled_and_expected():
    assert set(MISSING) == set(NON_ADMIN_SCENARIOS)
    for name in NON_ADMIN_SCENARIOS:
        assert (SCENARIO_DIR / f"{name}.yml").is_file()


@pytest.mark.parametrize("plan", ["False", "True"])
@pytest.mark.parametrize("flow", FLOWS)
@pytest.mark.parametrize("scenario", NON_ADMIN_SCENARIOS)
def test_flow_stops_before_any_write_naming_the_missing_permissions(
    scenario, flow, plan, start_sim, run_flow_inprocess
):
    sim = start_sim(scenario)
    before = sim.state()
    mark = last_seq(sim)
    coordinator, error, output = run_flow_inprocess(
        sim, flow, interactive="False", plan=plan, **FAST
    )
    assert type(error).__name__ == "SixsenseInputError", f"{error!r}\n{output}"
    failed = [r for r in coordinator.results if r.exception]
    assert [r.task_name for r in failed] == ["sixsense_validate_inputs"]
    message = str(error)
    connected = sim.org.connected_user()["Username"]
    assert connected in message
    assert named_missing(message) == MISSING[scenario], message
    assert "nothing was written" in message
    assert "cci org connect" in message
    # Nothing written: no write request reached the org, and every row is as it was.
    assert writes_since(sim, mark) == []
    assert org_rows(sim.state()) == org_rows(before)


def test_api_only_user_says_its_permission_sets_could_not_be_read(start_sim, run_flow_inprocess):
    """PermissionSetAssignment is not readable without View Setup, Assign Permission Sets or Manage Users:
    the message says only the profile was checked, never that the permission sets hold nothing."""
    sim = start_sim("connected_user_api_only")
    _, error, output = run_flow_inprocess(sim, "sixsense_new_customer", interactive="False", **FAST)
    assert "permission sets could not be read" in str(error), output
    assert "INVALID_TYPE" in str(error)


def test_a_permission_set_supplies_the_missing_rights(start_sim, run_flow_inprocess, tmp_path):
    """The check counts permission sets as well as the profile: once an admin assigns the View-Setup-only
    user a permission set with the rest, the flow gets past validation (it stops later, at the first
    manual step)."""
    sim = start_sim("connected_user_view_setup_only")
    with sim.org.lock:
        auditor = sim.org.user_by_username("auditor@example.com")
        ps_id = sim.org.put(
            "PermissionSet",
            {
                "Name": "Sixsense_Admin_Rights",
                "Label": "6sense admin rights",
                "PermissionsModifyAllData": 1,
                "PermissionsManageUsers": 1,
                "PermissionsCustomizeApplication": 1,
                "PermissionsManageProfilesPermissionsets": 1,
                "IsOwnedByProfile": 0,
            },
        )
        sim.org.put(
            "PermissionSetAssignment", {"AssigneeId": auditor["Id"], "PermissionSetId": ps_id}
        )
    coordinator, error, output = run_flow_inprocess(
        sim,
        "sixsense_new_customer",
        interactive="False",
        setup_username="admin@example.com",
        **FAST,
    )
    assert not [
        r for r in coordinator.results if r.exception and r.task_name == "sixsense_validate_inputs"
    ]
    assert type(error).__name__ == "ManualStepPending", f"{error!r}\n{output}"
