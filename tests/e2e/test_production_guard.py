"""The production guard: on a production org (Organization.IsSandbox false, not a scratch org) a run without a
terminal writes only with ``confirm_production True``; sandboxes, scratch orgs, plan mode and read-only steps
need nothing. The org kind comes from the simulator (scenario ``org.kind`` or ``start(..., org_kind=...)``)."""

from __future__ import annotations

import pytest

from tests.conftest import flow_options, last_seq, production_consent, writes_since
from tests.e2e.outcomes import assert_setup_complete, confirmations

FAST = {"poll_interval": "1", "wait_timeout": "60", "interactive": "False"}
OPTION = "confirm_production True"


def _one_line(error) -> str:
    message = str(error)
    assert "\n" not in message.strip(), message
    assert "Traceback" not in message, message
    return message


@pytest.mark.parametrize(
    "flow, scenario",
    [
        ("sixsense_new_customer", "new_customer"),
        ("sixsense_existing_customer", "existing_customer"),
        ("sixsense_eca", "eca_not_installed"),
        ("sixsense_migrate_to_eca", "connected_app_in_use_eca_absent"),
    ],
)
def test_production_without_the_option_stops_before_the_first_write(
    flow, scenario, start_sim, run_flow_inprocess
):
    sim = start_sim(scenario)
    assert sim.org_kind == "production"
    mark = last_seq(sim)
    coordinator, error, output = run_flow_inprocess(
        sim, flow, task_options=confirmations(scenario, flow), **FAST
    )
    assert type(error).__name__ == "ConfirmationRequired", f"{error!r}\n{output}"
    message = _one_line(error)
    assert "production" in message and OPTION in message
    assert "sixsense_validate_inputs__confirm_production True" in message
    assert writes_since(sim, mark) == [], "nothing may be written to production without consent"
    ran = [r.task_name for r in coordinator.results]
    # Read-only steps ran before the guard stopped the flow.
    assert ran[:2] == ["sixsense_validate_inputs", "sixsense_diagnose"], ran


def _assert_flow_finishes(sim, run_flow_inprocess, tmp_path, **consent):
    """The new-customer flow with the autopilot ends without error and the org is set up."""
    options = {
        **confirmations("new_customer"),
        "sixsense_verify": {"report_path": str(tmp_path / "v.json")},
    }
    _, error, output = run_flow_inprocess(
        sim,
        "sixsense_new_customer",
        task_options=options,
        interactive="True",
        poll_interval="1",
        wait_timeout="60",
        **consent,
    )
    assert error is None, f"{error}\n{output}"
    assert_setup_complete(sim.state())


def test_production_with_the_option_writes_and_finishes(start_sim, run_flow_inprocess, tmp_path):
    sim = start_sim("new_customer", autopilot=True)
    _assert_flow_finishes(sim, run_flow_inprocess, tmp_path, **production_consent(sim))


@pytest.mark.parametrize("kind", ["sandbox", "scratch"])
def test_sandbox_and_scratch_need_no_confirmation(kind, start_sim, run_flow_inprocess, tmp_path):
    sim = start_sim("new_customer", autopilot=True, org_kind=kind)
    assert sim.org_kind == kind and production_consent(sim) == {}
    organization = sim.state()["objects"]["Organization"][0]
    assert organization["IsSandbox"] in (1, True)
    assert bool(organization["TrialExpirationDate"]) is (kind == "scratch")
    _assert_flow_finishes(sim, run_flow_inprocess, tmp_path)


def test_plan_mode_on_production_needs_no_confirmation_and_writes_nothing(
    start_sim, run_flow_inprocess
):
    sim = start_sim("new_customer")
    mark = last_seq(sim)
    _, error, output = run_flow_inprocess(sim, "sixsense_new_customer", plan="True", **FAST)
    assert error is None, f"{error}\n{output}"
    assert writes_since(sim, mark) == []


def test_finished_production_org_rerun_needs_no_confirmation(start_sim, run_flow_inprocess):
    """Nothing to write, nothing to confirm: verification of a finished production org runs unattended."""
    sim = start_sim("configured")
    mark = last_seq(sim)
    _, error, output = run_flow_inprocess(sim, "sixsense_existing_customer", **FAST)
    assert error is None, f"{error}\n{output}"
    assert writes_since(sim, mark) == []


@pytest.mark.parametrize(
    "task, scenario",
    [
        ("sixsense_deploy_access", "new_customer"),
        ("sixsense_install_eca_package", "eca_not_installed"),
    ],
)
def test_task_alone_on_production_needs_the_option(task, scenario, start_sim, cci):
    sim = start_sim(scenario)
    mark = last_seq(sim)
    result = cci(sim, "task", "run", task, "--org", "sim")
    text = " ".join(result.stdout.split())  # cci's console wraps long lines
    assert result.returncode != 0, result.stdout
    assert "Error: Not written: this org" in text and "-o confirm_production True" in text, text
    assert "Traceback" not in result.stdout, result.stdout
    assert writes_since(sim, mark) == []
    result = cci(sim, "task", "run", task, "--org", "sim", "-o", "confirm_production", "True")
    assert result.returncode == 0, result.stdout
    assert writes_since(sim, mark) != []


def test_cli_flow_on_production_stops_with_one_line_naming_the_option(start_sim, cci):
    sim = start_sim("new_customer")
    mark = last_seq(sim)
    result = cci(
        sim,
        "flow",
        "run",
        "sixsense_new_customer",
        "--org",
        "sim",
        *flow_options(interactive=False),
    )
    text = " ".join(result.stdout.split())
    assert result.returncode != 0, result.stdout
    assert "sixsense_validate_inputs__confirm_production True" in text, text
    assert "Traceback" not in result.stdout, result.stdout
    assert writes_since(sim, mark) == []
