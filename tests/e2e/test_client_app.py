"""API Access Control enforcing and the connected app cci logs in through not allowlisted
(``client_app_not_allowlisted``): Salesforce answers every REST call of cci's session 401 INVALID_SESSION_ID
"This session is not valid for use with the REST API" (salesforce-facts.md §10.1). Nothing may be written,
and the tool's answer says what the operator must do (allowlist the app), never "run again" alone."""

from __future__ import annotations

import pytest

from tests.conftest import (
    INTEGRATION_USER,
    UNCONNECTABLE_SCENARIOS,
    flow_options,
    last_seq,
    writes_since,
)
from tests.e2e.outcomes import FLOWS

SCENARIO = "client_app_not_allowlisted"
REST_REFUSAL = "This session is not valid for use with the REST API"
FAST = {"poll_interval": "1", "wait_timeout": "60"}


def test_the_scenario_is_the_unconnectable_one():
    assert SCENARIO in UNCONNECTABLE_SCENARIOS


@pytest.mark.parametrize("flow", (*FLOWS, "sixsense_eca", "sixsense_migrate_to_eca"))
def test_every_flow_stops_before_any_step_and_writes_nothing(flow, start_sim, run_flow_inprocess):
    """cci itself refreshes the token and reads Organization over REST before the flow's first step, so
    the refusal surfaces there: the sixsense tasks make it the one message naming what to allowlist
    (``tasks.resilience.explain_refused_client_at_connect``); no step runs and nothing is written."""
    sim = start_sim(SCENARIO, autopilot=True)
    mark = last_seq(sim)
    coordinator, error, output = run_flow_inprocess(
        sim, flow, interactive="True", confirm_production="True", **FAST
    )
    assert error is not None, output
    # The org the flow runs against names no connected_app service: cci's built-in app is the refused one.
    assert "the connected app cci logs in through, CumulusCI's built-in connected app" in str(
        error
    ), error
    assert "Install that app" in str(error)
    assert coordinator.results == []  # no step started
    assert writes_since(sim, mark) == []


@pytest.mark.cli
def test_a_flow_run_names_what_to_allowlist(start_sim, cci):
    """The real ``cci flow run``: its one error line is the product's message, not a traceback."""
    sim = start_sim(SCENARIO)
    mark = last_seq(sim)
    result = cci(sim, "flow", "run", "sixsense_new_customer", "--org", "sim", *flow_options())
    assert result.returncode != 0, result.stdout
    out = " ".join(result.stdout.split())
    assert "API Access Control is enforcing" in out and "Install that app" in out, out
    assert "Traceback" not in result.stdout
    assert writes_since(sim, mark) == []


@pytest.mark.cli
def test_a_task_run_names_what_to_allowlist_and_writes_nothing(start_sim, cci):
    """``cci task run``: the task's own token refresh meets the refusal and stops at once (no retries) with
    one message naming the app and what the admin must do."""
    sim = start_sim(SCENARIO)
    mark = last_seq(sim)
    result = cci(
        sim,
        "task",
        "run",
        "sixsense_validate_inputs",
        "--org",
        "sim",
        "-o",
        "integration_username",
        INTEGRATION_USER,
    )
    assert result.returncode != 0, result.stdout
    out = " ".join(result.stdout.split())
    assert REST_REFUSAL in out
    assert "API Access Control is enforcing" in out
    assert "Connected Apps OAuth Usage" in out and "Install that app" in out
    assert "Admin approved users are pre-authorized" in out
    assert "Nothing was changed" in out
    assert "Traceback" not in result.stdout
    assert writes_since(sim, mark) == []
    refreshes = [r for r in sim.requests(since=mark) if r["action"] == "refresh_token"]
    assert len(refreshes) == 1, "the refusal is not transient: no retried refresh"
