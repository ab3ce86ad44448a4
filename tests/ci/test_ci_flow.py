"""The ci_sixsense flow against the simulator: everything a scratch org allows, then the new-customer flow
stops at its first manual step, which the wrapper task accepts (and nothing else)."""

from __future__ import annotations

from tests.conftest import INTEGRATION_USER

# The simulator has no Bulk API, so the Snowfakery load is not run here: the integration user exists in the
# scenario and the task finds it (its offline recipe test is tests/ci/test_recipe.py).
CI_OPTIONS = {"sixsense_ci_integration_user": {"username": INTEGRATION_USER}}


def test_ci_flow_stops_at_the_first_manual_step_and_passes(start_sim, run_flow_inprocess, tmp_path):
    sim = start_sim("new_customer", org_kind="scratch")  # ci_sixsense is for scratch orgs
    coordinator, error, output = run_flow_inprocess(sim, "ci_sixsense", task_options=CI_OPTIONS)
    assert error is None, output
    # The inner new-customer run's audit report goes where the outer run's does.
    reports = sorted(p.name for p in (tmp_path / "audit").glob("*.json"))
    assert any(n.endswith("-ci_sixsense.json") for n in reports), reports
    assert any(n.endswith("-sixsense_new_customer.json") for n in reports), reports
    last = coordinator.results[-1]
    assert last.task_name == "sixsense_ci_expect_manual_step"
    assert last.return_values["stopped_at"] == "sixsense_authorize_setup_user"
    assert "To do" in last.return_values["instructions"]
    assert coordinator.results[2].return_values["created"] is False


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
