"""The tasks that act for the setup user, run alone, refuse the integration user as the setup user: one input
error before any request to the org (so before any write, wait or instruction). The vendor article requires the
one-time authorization (seed step 1) by a setup user who is not the integration user. In a flow,
``sixsense_validate_inputs`` refuses it first (tests/tasks/test_inputs.py, tests/e2e/test_bad_inputs.py).

The setup user is ``setup_username``, or by default the user cci is connected as: both ways are covered.
"""

from __future__ import annotations

import pytest

from tests.conftest import INTEGRATION_USER, SETUP_USER, last_seq
from tests.tasks.test_production_guard_alone import scenario_variant

#: task -> bundled scenario where, with a proper setup user, the task would go on to read and act.
TASKS = {
    "sixsense_authorize_setup_user": "new_customer",
    "sixsense_assign_setup_access": "setup_user_lacks_permission",
    "sixsense_remove_connected_app_access": "connected_app_in_use_eca_absent",
}
#: Options that would make each task act without asking (so only the refusal can stop it).
GO_AHEAD = {
    "sixsense_authorize_setup_user": {
        "interactive": "True",
        "poll_interval": "1",
        "wait_timeout": "3",
    },
    "sixsense_assign_setup_access": {"confirm_production": "True"},
    "sixsense_remove_connected_app_access": {
        "remove_connected_app_access": "True",
        "confirm_production": "True",
    },
}


@pytest.mark.parametrize("task", list(TASKS))
@pytest.mark.parametrize(
    "setup_username", [INTEGRATION_USER, INTEGRATION_USER.upper()], ids=["same", "other case"]
)
def test_setup_username_naming_the_integration_user_is_refused_before_any_request(
    task, setup_username, sim_task, errors
):
    sim, make = sim_task(TASKS[task])
    mark = last_seq(sim)
    with pytest.raises(errors.SixsenseInputError) as refused:
        make(
            task,
            integration_username=INTEGRATION_USER,
            setup_username=setup_username,
            **GO_AHEAD[task],
        )()
    message = str(refused.value)
    assert message.startswith(f"The setup user ({setup_username}) is the integration user"), message
    assert "-o setup_username <admin username>" in message and "\n" not in message
    assert sim.requests(since=mark) == [], "refused before any request to the org"


def _connected_as_integration_user(data):
    data["connected_user"] = INTEGRATION_USER


@pytest.mark.parametrize("task", list(TASKS))
def test_connected_as_the_integration_user_without_setup_username_is_refused(
    task, sim_task, tmp_path, errors
):
    sim, make = sim_task(scenario_variant(tmp_path, TASKS[task], _connected_as_integration_user))
    mark = last_seq(sim)
    with pytest.raises(errors.SixsenseInputError) as refused:
        make(task, integration_username=INTEGRATION_USER, **GO_AHEAD[task])()
    # One problem, the connected user's, whose message says the fix; the defaulted setup user being the
    # integration user too is that same problem, not a second one.
    message = str(refused.value)
    assert message.startswith(
        f"The integration user {INTEGRATION_USER} is the user cci is connected as:"
    ), message
    assert "The setup user" not in message
    assert sim.requests(since=mark) == []


def test_step_1_with_a_proper_setup_user_goes_on_to_its_instructions(sim_task, errors):
    """The control: the same run with the admin as setup user reads the org and stops at the manual step."""
    sim, make = sim_task("new_customer")
    mark = last_seq(sim)
    with pytest.raises(errors.ManualStepPending, match=f"as the setup user {SETUP_USER}"):
        make(
            "sixsense_authorize_setup_user",
            integration_username=INTEGRATION_USER,
            setup_username=SETUP_USER,
            interactive="False",
        )()
    assert sim.requests(since=mark) != []
