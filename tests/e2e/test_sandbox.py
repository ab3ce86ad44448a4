"""Issue 17, kind 7: a sandbox is not production. On ``sandbox_new_customer`` (new_customer as a sandbox) the
flow writes without a production confirmation, and its first manual step sends the operator to 6sense's
Salesforce (Sandbox) connection and test.salesforce.com; on the same org as production, to Salesforce
(Production) and login.salesforce.com (datasets/vendors/6sense.yml ``environments``)."""

from __future__ import annotations

from tests.conftest import last_seq, writes_since

FAST = {"poll_interval": "1", "wait_timeout": "60"}
STEP_1 = "sixsense_authorize_setup_user"


def _run_to_step_1(sim, run_flow_inprocess, **options):
    coordinator, error, output = run_flow_inprocess(
        sim, "sixsense_new_customer", interactive="False", **FAST, **options
    )
    assert type(error).__name__ == "ManualStepPending", f"{error!r}\n{output}"
    assert [r.task_name for r in coordinator.results if r.exception] == [STEP_1], output
    return str(error)


def test_a_sandbox_is_sent_to_the_sandbox_connection_and_test_salesforce_com(
    start_sim, run_flow_inprocess
):
    sim = start_sim("sandbox_new_customer")
    assert sim.org_kind == "sandbox"
    mark = last_seq(sim)
    message = _run_to_step_1(sim, run_flow_inprocess)  # no confirm_production: a sandbox needs none
    assert writes_since(sim, mark), (
        "the steps before step 1 wrote without a production confirmation"
    )
    assert "select Salesforce (Sandbox)" in message, message
    assert "6sense connects each sandbox separately from production" in message
    assert "at https://test.salesforce.com as the setup user" in message
    assert "select Salesforce (Production)" not in message
    assert "login.salesforce.com" not in message
    assert f"{sim.url}/lightning/setup/ConnectedAppsUsage/home" in message


def test_the_same_org_as_production_is_sent_to_production(start_sim, run_flow_inprocess):
    sim = start_sim("new_customer")
    assert sim.org_kind == "production"
    message = _run_to_step_1(sim, run_flow_inprocess, confirm_production="True")
    assert "select Salesforce (Production)" in message, message
    assert "at https://login.salesforce.com as the setup user" in message
    assert "test.salesforce.com" not in message and "Sandbox" not in message
