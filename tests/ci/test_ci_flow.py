"""The ci_sixsense flow against the simulator: everything a scratch org allows, then the new-customer flow
stops at its first manual step, which the wrapper task accepts (and nothing else)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import INTEGRATION_USER, last_seq, writes_since

# The simulator has no Bulk API, so the Snowfakery load is not run here: the integration user exists in the
# scenario and the task finds it (its offline recipe test is tests/ci/test_recipe.py).
CI_OPTIONS = {"sixsense_ci_integration_user": {"username": INTEGRATION_USER}}


def test_ci_flow_stops_at_the_first_manual_step_and_passes(start_sim, run_flow_inprocess, tmp_path):
    sim = start_sim("new_customer", org_kind="scratch")  # ci_sixsense is for scratch orgs
    coordinator, error, output = run_flow_inprocess(sim, "ci_sixsense", task_options=CI_OPTIONS)
    assert error is None, output
    # The inner new-customer run's audit report goes where the outer run's does.
    reports = sorted(p.name for p in (tmp_path / "audit").glob("*.json"))
    assert any(re.search(r"-ci_sixsense-[0-9a-f]{8}\.json$", n) for n in reports), reports
    assert any(re.search(r"-sixsense_new_customer-[0-9a-f]{8}\.json$", n) for n in reports), reports
    last = coordinator.results[-1]
    assert last.task_name == "sixsense_ci_expect_manual_step"
    assert last.return_values["stopped_at"] == "sixsense_authorize_setup_user"
    assert "To do" in last.return_values["instructions"]
    assert coordinator.results[0].task_name == "sixsense_ci_integration_user"
    assert coordinator.results[0].return_values["created"] is False


def test_ci_flow_fails_when_the_flow_stops_at_another_step(start_sim, run_flow_inprocess):
    """Not ignore_failure: a stop anywhere but the expected manual step fails the CI run."""
    sim = start_sim("new_customer", org_kind="scratch")  # ci_sixsense is for scratch orgs
    options = {
        **CI_OPTIONS,
        "sixsense_ci_expect_manual_step": {"expected_step": "sixsense_install_connected_app"},
    }
    _, error, _ = run_flow_inprocess(sim, "ci_sixsense", task_options=options)
    assert error is not None
    assert "expected it to stop at sixsense_install_connected_app" in str(error)


#: CI_OPTIONS, told to run outside a scratch org.
ALLOW_NON_SCRATCH = {
    "sixsense_ci_integration_user": {
        **CI_OPTIONS["sixsense_ci_integration_user"],
        "allow_non_scratch": "True",
    }
}


@pytest.mark.parametrize("org_kind", ["sandbox", "production"])
def test_ci_flow_refuses_an_org_that_is_not_a_scratch_org_before_any_write(
    start_sim, run_flow_inprocess, org_kind
):
    """ci_sixsense creates a test user and deploys: on a sandbox or production it stops at its first step,
    naming the way out, and nothing reaches the org (issue 18)."""
    sim = start_sim("new_customer", org_kind=org_kind)
    mark = last_seq(sim)
    coordinator, error, output = run_flow_inprocess(sim, "ci_sixsense", task_options=CI_OPTIONS)
    assert type(error).__name__ == "SixsenseInputError", output
    assert f"is a {org_kind} org" in str(error)
    assert "allow_non_scratch True" in str(error)
    assert [r.task_name for r in coordinator.results] == ["sixsense_ci_integration_user"]
    assert writes_since(sim, mark) == []


def test_ci_flow_on_a_sandbox_when_told_so_goes_on(start_sim, run_flow_inprocess):
    sim = start_sim("new_customer", org_kind="sandbox")
    coordinator, error, output = run_flow_inprocess(
        sim,
        "ci_sixsense",
        task_options=ALLOW_NON_SCRATCH,
    )
    assert error is None, output
    assert coordinator.results[-1].task_name == "sixsense_ci_expect_manual_step"


def test_ci_flow_on_production_when_told_so_still_needs_consent_before_the_standard_task(
    start_sim, run_flow_inprocess
):
    """The one CumulusCI standard task in our flows (``assign_permission_sets``, ci_sixsense step 4) writes
    without a guard of its own: it is reachable only after step 1, whose production guard stops a run that
    has no consent (issue 18: every write guarded on production). Nothing is written."""
    sim = start_sim("new_customer", org_kind="production")
    mark = last_seq(sim)
    coordinator, error, output = run_flow_inprocess(
        sim,
        "ci_sixsense",
        task_options=ALLOW_NON_SCRATCH,
    )
    assert type(error).__name__ == "ConfirmationRequired", output
    assert "production org" in str(error) and "confirm_production True" in str(error)
    assert [r.task_name for r in coordinator.results] == ["sixsense_ci_integration_user"]
    assert writes_since(sim, mark) == []
