"""Issue 17 kind 2: the order of the steps does not cut off a working sync.

The flows give the integration user access before Permitted Users switches to admin approved, then read
whose tokens survived the switch (facts §10.1, §7.1). Which text on the switch holds is UNCERTAIN, so both are
run: Salesforce's warning (users without pre-authorization lose access; ``existing_customer``) and the vendor
article's "the system logs out all users" (``admin_approval_logs_out_all_users``, scenario setting
``features.admin_approval_revokes: all``). The autopilot does the manual steps; the outcome is read from the
simulator's state.
"""

from __future__ import annotations

import json

from tests.conftest import production_consent
from tests.e2e.autopilot_order import assert_actions_follow_instructions, recording
from tests.e2e.outcomes import (
    INTEGRATION_USER,
    app_state,
    assert_setup_complete,
    confirmations,
    rows,
    user_id,
)
from tests.procedure_table import step_name

FLOW = "sixsense_existing_customer"
FAST = {"poll_interval": "1", "wait_timeout": "60"}
SURVIVED = "so it survived the switch: pre-authorized; no reauthorization needed"


def _grants(sim) -> list[tuple[str, str]]:
    """The integration user's grants of the 6sense app as (CreatedDate, DeleteToken): OauthToken.Id is always
    null (facts §4.1), so a row's identity here is its DeleteToken."""
    state = sim.state()
    label = app_state(state)["label"]
    held = rows(state, "OauthToken", UserId=user_id(state, INTEGRATION_USER), AppName=label)
    return sorted((t["CreatedDate"], t["DeleteToken"]) for t in held)


def _run(sim, scenario, run_flow_inprocess, tmp_path):
    options = {
        "sixsense_verify": {"report_path": str(tmp_path / "verification.json")},
        **confirmations(scenario, FLOW),
    }
    with recording(sim) as log:
        coordinator, error, output = run_flow_inprocess(
            sim,
            FLOW,
            task_options=options,
            interactive="True",
            **FAST,
            **production_consent(sim),
        )
    assert error is None, f"{error}\n{output}"
    report = json.loads((tmp_path / "verification.json").read_text())
    assert report["passed"] is True
    actions = [action for _, action in assert_actions_follow_instructions(log)]
    ran = [r.task_name for r in coordinator.results]
    # Access before Permitted Users, in the run itself.
    assert ran.index("sixsense_grant_app_access") < ran.index("sixsense_set_permitted_users"), ran
    return actions, output


def test_a_working_sync_survives_the_existing_customer_flow(
    start_sim, run_flow_inprocess, tmp_path
):
    """The integration user's token that existed before the run is the same row after it, and no
    reauthorization was asked: access was granted before the switch."""
    scenario = "existing_customer"
    sim = start_sim(scenario, autopilot=True)
    before = _grants(sim)
    assert len(before) == 1
    actions, output = _run(sim, scenario, run_flow_inprocess, tmp_path)
    assert _grants(sim) == before
    assert "authorize the integration user" not in actions, actions
    assert f"To do ({step_name('reauthorize')})" not in output
    assert SURVIVED in output
    assert_setup_complete(sim.state())


def test_where_the_switch_logs_out_everyone_the_flow_asks_for_the_reauthorization(
    start_sim, run_flow_inprocess, tmp_path
):
    """The vendor article's text: the switch revokes the pre-authorized user's token too. The flow reads
    that, asks for the reauthorization, and (the autopilot reauthorizing) ends verified."""
    scenario = "admin_approval_logs_out_all_users"
    sim = start_sim(scenario, autopilot=True)
    before = _grants(sim)
    assert len(before) == 1
    actions, output = _run(sim, scenario, run_flow_inprocess, tmp_path)
    after = _grants(sim)
    assert after and not set(after) & set(before), (before, after)
    assert actions.count("authorize the integration user") == 1, actions
    assert f"To do ({step_name('reauthorize')})" in output
    assert SURVIVED not in output
    assert_setup_complete(sim.state())
