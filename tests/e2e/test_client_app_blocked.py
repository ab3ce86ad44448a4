"""Issue 17, kind 4: the connected app cci logs in through is blocked on Connected Apps OAuth Usage
(``client_app_blocked``). Blocking "ends all sessions and prevents new ones", and a grant through a blocked
app answers ``{"error":"app_blocked","error_description":"this app is blocked by admin"}`` (salesforce-facts.md
§6.2), so cci's token refresh at the start of every command is refused. Where the sixsense tasks are loaded
(a flow, a task) the operator gets one message naming the app and saying to unblock it, at once (no retried
refresh); where CumulusCI fails alone (``cci org info``), its exact text is the one the README's error table
quotes and ``sixsense_troubleshoot`` explains. Nothing is ever written."""

from __future__ import annotations

import pytest

from tests.conftest import INTEGRATION_USER, ROOT, flow_options, last_seq, writes_since
from tests.e2e.outcomes import FLOWS
from tests.tasks.test_troubleshoot import CCI_BLOCKED_TEXT

SCENARIO = "client_app_blocked"
FAST = {"poll_interval": "1", "wait_timeout": "60"}
#: What the product says first (tasks.resilience.client_blocked_message).
OURS = "Salesforce refused cci's token refresh"


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("flow", (*FLOWS, "sixsense_eca", "sixsense_migrate_to_eca"))
def test_every_flow_stops_before_any_step_and_writes_nothing(flow, start_sim, run_flow_inprocess):
    """cci's refresh at the flow's start (``FlowCoordinator._init_org``) is the refused grant: the sixsense
    tasks make it the one message naming the app and what to do; no step runs, nothing is written."""
    sim = start_sim(SCENARIO, autopilot=True)
    mark = last_seq(sim)
    coordinator, error, output = run_flow_inprocess(
        sim, flow, interactive="True", confirm_production="True", **FAST
    )
    assert error is not None, output
    text = str(error)
    assert text.startswith(OURS), text
    assert "CumulusCI's built-in connected app" in text and "is blocked in this org" in text
    assert "Unblock that app" in text and "cci org connect" in text
    assert "Nothing was changed" in text
    assert coordinator.results == []  # no step started
    assert writes_since(sim, mark) == []
    refreshes = [r for r in sim.requests(since=mark) if r["action"] == "refresh_token"]
    assert len(refreshes) == 1, "a block is not transient: no retried refresh"


@pytest.mark.cli
def test_a_task_run_names_the_blocked_app_at_once(start_sim, cci):
    """``cci task run``: the task's own token refresh meets the block and stops at once, without the
    transient-failure retries and without "run again" as the only advice."""
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
    out = _flat(result.stdout)
    assert OURS in out and "app_blocked: this app is blocked by admin" in out, out
    assert "Unblock that app" in out and "Connected Apps OAuth Usage" in out
    assert "retrying" not in out and "Traceback" not in result.stdout
    assert writes_since(sim, mark) == []
    refreshes = [r for r in sim.requests(since=mark) if r["action"] == "refresh_token"]
    assert len(refreshes) == 1, "a block is not transient: no retried refresh"


@pytest.mark.cli
def test_cumulusci_s_own_text_is_the_one_the_readme_quotes(start_sim, cci):
    """``cci org info`` does not load the sixsense tasks: CumulusCI's ``OAuth2Error`` text stands."""
    sim = start_sim(SCENARIO)
    mark = last_seq(sim)
    result = cci(sim, "org", "info", "--org", "sim")
    assert result.returncode != 0
    assert _flat(CCI_BLOCKED_TEXT).replace(" ", "") in _flat(result.stdout).replace(" ", ""), (
        result.stdout
    )
    readme = _flat((ROOT / "README.md").read_text(encoding="utf-8"))
    assert (
        "`Error: OAuth failed` / `status_code: 400` / `content: "
        """b'{"error":"app_blocked","error_description":"this app is blocked by admin"}'`"""
    ) in readme
    assert writes_since(sim, mark) == []


@pytest.mark.cli
def test_troubleshoot_explains_it_while_the_block_refuses_cci(start_sim, cci):
    sim = start_sim(SCENARIO)
    mark = last_seq(sim)
    result = cci(
        sim, "task", "run", "sixsense_troubleshoot", "--org", "sim", "-o", "error", CCI_BLOCKED_TEXT
    )
    out = _flat(result.stdout)
    assert result.returncode == 0, result.stdout
    assert "CLIENT_APP_BLOCKED" in out
    assert "could not be reached" in out and "this same refusal" in out
    assert "Unblock" in out and "Connected Apps OAuth Usage" in out
    assert "Traceback" not in result.stdout
    assert writes_since(sim, mark) == []


@pytest.mark.cli
def test_a_flow_run_names_the_blocked_app(start_sim, cci):
    """The real ``cci flow run``: its one error line is the product's message, not cci's OAuth text."""
    sim = start_sim(SCENARIO)
    mark = last_seq(sim)
    result = cci(sim, "flow", "run", "sixsense_new_customer", "--org", "sim", *flow_options())
    assert result.returncode != 0, result.stdout
    out = _flat(result.stdout)
    assert OURS in out and "Unblock that app" in out, out
    assert "OAuth failed" not in out and "Traceback" not in result.stdout
    assert writes_since(sim, mark) == []
