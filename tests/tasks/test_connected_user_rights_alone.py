"""Issue 15, a writing task run alone (``cci task run``, no ``sixsense_validate_inputs`` before it): connected
as a user with API access and View Setup and Configuration but no right to change Setup, the task stops before
its first write with one message naming exactly the permissions *it* needs and lacks
(``SixsenseOrgMixin._before_first_write`` -> ``connected_user.check_connected_user`` with the task's
``connected_user_needs``). Each case is a production-guard case (tests/tasks/test_production_guard_alone.py):
the org is set up so that, connected as an admin with consent, the task writes; only the rights check can stop
it here. The flows: tests/e2e/test_connected_user_rights.py."""

from __future__ import annotations

import pytest

from tests.conftest import last_seq, writes_since
from tests.e2e.test_connected_user_rights import named_missing
from tests.tasks.test_production_guard_alone import CASES, scenario_variant

AUDITOR = "auditor@example.com"
METADATA = "Modify All Data or Modify Metadata Through Metadata API Functions"
MANAGE_USERS = "Manage Users"
CUSTOMIZE = "Customize Application"
PROFILES = "Manage Profiles and Permission Sets"

#: task -> the labels its refusal must name (View Setup and Configuration is held, so never named), or None
#: for a guided step whose write is only its automatic path: refused the Metadata API read, it gives the
#: operator the manual step instead (a person with the rights can do it), and writes nothing.
MISSING = {
    "sixsense_deploy_access": {METADATA},
    "sixsense_assign_setup_access": {MANAGE_USERS},
    "sixsense_grant_app_access": {MANAGE_USERS, PROFILES},
    # Other users' tokens are hidden from the auditor, so which candidate app is 6sense's cannot be read: the
    # step resolves the app only after its own rights (the ETL path's Metadata API) are checked.
    "sixsense_set_permitted_users": {METADATA},
    "sixsense_install_eca_package": {CUSTOMIZE},
    "sixsense_set_eca_policies": None,
    # It reads the integration user's tokens first: another user's tokens need these too (facts §10.1).
    "sixsense_remove_connected_app_access": {MANAGE_USERS, CUSTOMIZE, PROFILES},
}


def _connect_as_auditor(data):
    """cci is connected as a user who can read Setup but not change it (as in
    connected_user_view_setup_only.yml)."""
    data.setdefault("profiles", []).append(
        {
            "name": "Setup Auditor",
            "license": "Salesforce",
            "permissions": ["ApiEnabled", "ViewSetup"],
        }
    )
    data["users"].append(
        {
            "username": AUDITOR,
            "name": "Sam Auditor",
            "alias": "sauditor",
            "profile": "Setup Auditor",
        }
    )
    data["connected_user"] = AUDITOR


def test_every_writing_task_is_covered():
    assert {task for task, *_ in CASES.values()} == set(MISSING)


@pytest.mark.parametrize("case", list(CASES))
def test_writing_task_alone_stops_before_any_write_naming_its_missing_rights(
    case, sim_task, tmp_path, errors
):
    task_name, base, edit, options, before = CASES[case]

    def both(data):
        if edit:
            edit(data)
        _connect_as_auditor(data)

    sim, make = sim_task(scenario_variant(tmp_path, base, both))
    if before:
        before(sim)
    mark = last_seq(sim)
    expected = MISSING[task_name]
    if expected is None:
        with pytest.raises(errors.ManualStepPending, match="To do"):
            make(task_name, **options, confirm_production="True")()
        assert writes_since(sim, mark) == []
        return
    with pytest.raises(errors.SixsenseInputError) as refused:
        make(task_name, **options, confirm_production="True")()
    message = str(refused.value)
    assert f"The user cci is connected as ({AUDITOR}, profile Setup Auditor)" in message
    assert "nothing was written" in message
    assert named_missing(message) == expected, message
    assert writes_since(sim, mark) == []


def test_the_rights_a_task_holds_are_not_refused(sim_task, tmp_path):
    """Metadata rights from a permission set suffice for the deploy: the check reads permission sets too."""

    def metadata_admin(data):
        _connect_as_auditor(data)
        data["permission_sets"] = [
            *data.get("permission_sets", []),
            {
                "name": "Metadata_Deployer",
                "label": "Metadata Deployer",
                "permissions": ["ModifyMetadata"],
                "assigned_to": [AUDITOR],
            },
        ]

    sim, make = sim_task(scenario_variant(tmp_path, "new_customer", metadata_admin))
    mark = last_seq(sim)
    make("sixsense_deploy_access", confirm_production="True")()
    assert writes_since(sim, mark) != []
