"""The consent gates hold with the autopilot at work, and breaking one makes these end-to-end checks fail.

The autopilot acts only while the tool waits in a step (orgsim/autopilot.py), so a run where nobody is at
a terminal and a consent is missing stops at that gate with nothing done past it: the autopilot cannot do
the step ahead of the tool and make the gate moot (it once reauthorized the integration user before step 5
asked, and the existing-customer flow finished with exit 0 without the reauthorization consent).
"""

from __future__ import annotations

import importlib

import pytest

from tests.conftest import ROOT, production_consent
from tests.e2e.autopilot_order import assert_actions_follow_instructions, recording
from tests.e2e.outcomes import FLOWS, INTEGRATION_USER, app_state, rows, user_id
from tests.e2e.test_flows import failed_step

FAST = {"poll_interval": "1", "wait_timeout": "60"}

#: gate -> (scenario, the task that must stop, the option its message names, the autopilot action that
#: must not happen, task options without that consent).
GATES = {
    # The existing customer where the switch logs out all users: the reauthorization is asked (where the
    # token survives the switch, nothing is asked: tests/e2e/test_switch_order.py).
    "reauthorization": (
        "admin_approval_logs_out_all_users",
        "sixsense_reauthorize_integration_user",
        "confirm_reauthorization",
        "authorize the integration user",
        {"sixsense_set_permitted_users": {"confirm_logout": "True"}},
    ),
    "logout": (
        "connected_app_metadata_retrievable",
        "sixsense_set_permitted_users",
        "confirm_logout",
        "policy",
        {},
    ),
}


def assert_stops_at_gate(gate, flow, start_sim, run_flow_inprocess, tmp_path):
    """The flow, with the autopilot and no terminal (``interactive True``, stdin not a TTY) and without the
    gate's consent, stops with ``ConfirmationRequired`` at the gate's task, naming its option; what the gate
    protects did not happen; every autopilot action came while the tool waited in that step."""
    scenario, task, option, forbidden, options = GATES[gate]
    sim = start_sim(scenario, autopilot=True)
    options = {**options, "sixsense_verify": {"report_path": str(tmp_path / "v.json")}}
    with recording(sim) as log:
        coordinator, error, output = run_flow_inprocess(
            sim,
            flow,
            task_options=options,
            interactive="True",
            **FAST,
            **production_consent(sim),
        )
    actions = assert_actions_follow_instructions(log)
    assert type(error).__name__ == "ConfirmationRequired", f"{error!r}\n{output}"
    assert failed_step(coordinator) == task
    assert option in str(error)
    assert forbidden not in [action for _, action in actions], actions
    state = sim.state()
    app = app_state(state)
    if gate == "logout":
        assert not app["admin_approved"], app
    else:
        # The switch revoked every token of the app here, so any token now is a reauthorization.
        held = [
            t
            for t in rows(state, "OauthToken", UserId=user_id(state, INTEGRATION_USER))
            if t["AppName"] == app["label"]
        ]
        assert held == [], "the integration user was reauthorized without consent"


@pytest.mark.parametrize("flow", FLOWS)
@pytest.mark.parametrize("gate", sorted(GATES))
def test_flow_with_autopilot_stops_at_a_consent_gate(
    gate, flow, start_sim, run_flow_inprocess, tmp_path
):
    assert_stops_at_gate(gate, flow, start_sim, run_flow_inprocess, tmp_path)


def import_project_module(name: str):
    """``tasks.<module>`` as cci imports it: cci makes ``tasks`` a package whose path it fills with the
    project's tasks/ when it loads the project; done here too, so the test can run first in its worker."""
    import cumulusci.core.config.project_config  # noqa: F401  (creates the ``tasks`` package)

    tasks = importlib.import_module("tasks")
    folder = str(ROOT / "tasks")
    if folder not in list(tasks.__path__):
        tasks.__path__.append(folder)
    return importlib.import_module(name)


@pytest.mark.parametrize(
    "gate,module,method",
    [
        ("reauthorization", "tasks.guided", "ReauthorizeIntegrationUser._confirm_reauthorization"),
        ("logout", "tasks.permitted_users", "SetPermittedUsers._confirm_logout"),
    ],
)
def test_a_broken_consent_gate_fails_the_end_to_end_check(
    gate, module, method, start_sim, run_flow_inprocess, tmp_path, monkeypatch
):
    """A copy of the gate that asks nothing (used only here): the same check as above must fail."""
    owner, name = method.split(".")
    cls = getattr(import_project_module(module), owner)
    monkeypatch.setattr(cls, name, lambda self, *args: None)
    with pytest.raises(AssertionError):
        assert_stops_at_gate(gate, "sixsense_new_customer", start_sim, run_flow_inprocess, tmp_path)


def test_a_run_that_does_not_wait_gets_no_help_from_the_autopilot(
    start_sim, run_flow_inprocess, tmp_path
):
    """Non-interactive: each manual step prints its instructions and stops without polling, so the
    autopilot never acts, however many times the flow is run again."""
    sim = start_sim("existing_customer", autopilot=True)
    with recording(sim) as log:
        for _ in range(3):
            log.new_run()
            coordinator, error, output = run_flow_inprocess(
                sim,
                "sixsense_existing_customer",
                task_options={"sixsense_verify": {"report_path": str(tmp_path / "v.json")}},
                interactive="False",
                **FAST,
                **production_consent(sim),
            )
            assert type(error).__name__ == "ManualStepPending", f"{error!r}\n{output}"
            assert failed_step(coordinator) == "sixsense_install_connected_app"
    assert log.actions() == []
    assert not app_state(sim.state())["installed"]
