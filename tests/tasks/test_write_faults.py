"""The writing steps under faults on their inserts (docs/architecture.md §1.3, fault grammar in
``orgsim/observe.py``): ``lost_write`` (acknowledged, not saved), ``reset_after`` (saved, no answer),
``reset`` (dropped before it is processed) and ``UNABLE_TO_LOCK_ROW``, once, on the insert and on its retry,
and on every try.

Whatever the fault, a step never reports "created" for a row the org does not hold, never inserts a row
twice, and either verifies by query and succeeds or fails with a message naming what is missing and what
to do. Each test asserts on what the org holds (the simulator's store) AND on what the step returned.
"""

from __future__ import annotations

import pytest

from tests.conftest import INTEGRATION_USER as INTEGRATION
from tests.conftest import SETUP_USER

ACCESS_SET = "Sixsense_Integration_Access"
SETUP_SET = "Sixsense_Setup_Access"
KINDS = ("lost_write", "reset_after", "reset", "UNABLE_TO_LOCK_ROW")
#: ``times=`` of the fault: the insert only, the insert and its retry, every try (the step must give up).
TIMES = ("1", "2", "")
SEA_INSERT = "/sobjects/SetupEntityAccess"
ASSIGNMENT_INSERT = "/composite/sobjects"  # cci's AssignPermissionSets: sObject Collections insert


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch):
    """Retries without their backoff sleeps (``resilience.backoff`` and urllib3's)."""
    monkeypatch.setattr("time.sleep", lambda seconds: None)


def _spec(match: str, kind: str, times: str) -> str:
    return f"match={match}:kind={kind}" + (f":times={times}" if times else "")


def _ids(sim) -> dict[str, str]:
    with sim.org.lock:
        store = sim.org.store
        return {
            "integration": store.find_one("User", Username=INTEGRATION)["Id"],
            "setup": store.find_one("User", Username=SETUP_USER)["Id"],
            ACCESS_SET: store.find_one("PermissionSet", Name=ACCESS_SET)["Id"],
            SETUP_SET: store.find_one("PermissionSet", Name=SETUP_SET)["Id"],
            "app": sim.org.app_state()["connected_application_id"],
        }


def _count(sim, sobject: str, **equals) -> int:
    with sim.org.lock:
        return len(sim.org.store.find(sobject, **equals))


def _remove(sim, sobject: str, **equals) -> None:
    with sim.org.lock:
        rows = sim.org.store.find(sobject, **equals)
        assert rows, f"the scenario should hold the {sobject} row to remove"
        for row in rows:
            sim.org.store.delete(sobject, row["Id"])


def _access_missing(sim_task, fault: str, *, keep_access: bool = False, keep_assignment=False):
    """The ``configured`` org without the integration user's app access (SetupEntityAccess of the
    policy's permission set) and/or its assignment; the fault set once the org is prepared."""
    sim, make = sim_task("configured")
    ids = _ids(sim)
    if not keep_access:
        _remove(sim, "SetupEntityAccess", ParentId=ids[ACCESS_SET], SetupEntityId=ids["app"])
    if not keep_assignment:
        _remove(
            sim,
            "PermissionSetAssignment",
            AssigneeId=ids["integration"],
            PermissionSetId=ids[ACCESS_SET],
        )
    sim.observer.set_faults(fault)
    return sim, make, ids


def _without_profile_permission(sim, user_id: str) -> None:
    """The user's profile (and its profile-owned permission set) without Approve Uninstalled Connected
    Apps, as for a custom admin profile: the setup user then needs the permission set."""
    field = "PermissionsCanApproveUninstalledApps"
    with sim.org.lock:
        store = sim.org.store
        profile_id = store.find_one("User", Id=user_id)["ProfileId"]
        store.update("Profile", profile_id, {field: False})
        for row in store.find("PermissionSet", ProfileId=profile_id, IsOwnedByProfile=True):
            store.update("PermissionSet", row["Id"], {field: False})


def _run(make, name, **options):
    """``(return_values, None)`` or ``(None, exception)``."""
    task = make(name, confirm_production="True", **options)
    try:
        return task(), None
    except Exception as error:  # what a step raises is part of what these tests assert
        return None, error


def _says_what_to_do(error: BaseException) -> bool:
    text = str(error).lower()
    return "run the flow again" in text or "try again" in text or "run this step again" in text


@pytest.mark.parametrize("times", TIMES)
@pytest.mark.parametrize("kind", KINDS)
def test_grant_app_access_insert_of_setup_entity_access_under_a_fault(sim_task, kind, times):
    sim, make, ids = _access_missing(sim_task, _spec(SEA_INSERT, kind, times), keep_assignment=True)
    result, error = _run(make, "sixsense_grant_app_access", integration_username=INTEGRATION)
    held = _count(sim, "SetupEntityAccess", ParentId=ids[ACCESS_SET], SetupEntityId=ids["app"])
    assert sim.observer.faults[0].fired >= 1, "the fault hit the insert"
    assert held <= 1, "never a duplicate SetupEntityAccess"
    if error is None:
        assert held == 1, f"reported {result} but the org holds no SetupEntityAccess"
        assert result["setup_entity_access_created"] == [
            f"permission set {ACCESS_SET} -> {sim.org.app_state()['name']}"
        ]
        assert result["created"] == 1 and result["assignments_created"] == []
    else:
        assert held == 0 or kind == "reset_after", error
        assert "SetupEntityAccess" in str(error) and _says_what_to_do(error), error
    if not times:  # every try faulted
        if kind in ("lost_write", "reset", "UNABLE_TO_LOCK_ROW"):
            assert error is not None and held == 0, "nothing was saved: the step cannot succeed"
        else:  # reset_after: saved on the first try, found by the verification query
            assert error is None and held == 1


@pytest.mark.parametrize("times", TIMES)
@pytest.mark.parametrize("kind", KINDS)
def test_grant_app_access_assignment_insert_under_a_fault(sim_task, kind, times):
    sim, make, ids = _access_missing(
        sim_task, _spec(ASSIGNMENT_INSERT, kind, times), keep_access=True
    )
    result, error = _run(make, "sixsense_grant_app_access", integration_username=INTEGRATION)
    held = _count(
        sim,
        "PermissionSetAssignment",
        AssigneeId=ids["integration"],
        PermissionSetId=ids[ACCESS_SET],
    )
    assert sim.observer.faults[0].fired >= 1, "the fault hit the insert"
    assert held <= 1, "never a duplicate assignment"
    if error is None:
        assert held == 1, f"reported {result} but the org holds no assignment"
        assert result["assignments_created"] == [f"{ACCESS_SET} -> {INTEGRATION}"]
        assert result["setup_entity_access_created"] == [] and result["created"] == 1
    else:
        assert held == 0, error
        assert ACCESS_SET in str(error) and _says_what_to_do(error), error
    if not times and kind != "reset_after":
        assert error is not None and held == 0, "nothing was saved: the step cannot succeed"


@pytest.mark.parametrize("times", TIMES)
@pytest.mark.parametrize("kind", KINDS)
def test_assign_setup_access_insert_under_a_fault(sim_task, kind, times):
    sim, make = sim_task("configured")
    ids = _ids(sim)
    _remove(sim, "PermissionSetAssignment", AssigneeId=ids["setup"], PermissionSetId=ids[SETUP_SET])
    _without_profile_permission(sim, ids["setup"])
    sim.observer.set_faults(_spec(ASSIGNMENT_INSERT, kind, times))
    result, error = _run(
        make,
        "sixsense_assign_setup_access",
        setup_username=SETUP_USER,
        integration_username=INTEGRATION,
    )
    held = _count(
        sim, "PermissionSetAssignment", AssigneeId=ids["setup"], PermissionSetId=ids[SETUP_SET]
    )
    assert held <= 1, "never a duplicate assignment"
    if error is None and not result["assigned"]:
        pytest.fail(f"the setup user should need the assignment in this org: {result}")
    assert sim.observer.faults[0].fired >= 1, "the fault hit the insert"
    if error is None:
        assert held == 1, f"reported {result} but the org holds no assignment"
        assert result == {"assigned": True, "held_through": f"permission set {SETUP_SET}"}
    else:
        assert held == 0, error
        assert SETUP_SET in str(error) and _says_what_to_do(error), error
    if not times and kind != "reset_after":
        assert error is not None and held == 0, "nothing was saved: the step cannot succeed"
