"""Issue 17 kind 5/9, the flows as users run them on the usual org: the connected app's refresh-token policy
cannot be read by API there, so the flow's verification does not pass until the operator says they checked
the policy page (``-o sixsense_verify__refresh_token_policy_checked True``), and then says "confirmed by
operator, not verifiable by API". In-process, with the autopilot (the task-level rules, the terminal
question and the option's limits: tests/tasks/test_refresh_policy_by_hand.py).
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import production_consent
from tests.e2e.outcomes import confirmations

FAST = {"poll_interval": "1", "wait_timeout": "60"}
FLOW_FLAG = "-o sixsense_verify__refresh_token_policy_checked True"


def _run(sim, run_flow_inprocess, tmp_path, checked: str):
    options = {
        "sixsense_verify": {
            "report_path": str(tmp_path / "verification.json"),
            "refresh_token_policy_checked": checked,
        },
        **confirmations("new_customer"),
    }
    return run_flow_inprocess(
        sim,
        "sixsense_new_customer",
        task_options=options,
        interactive="True",
        **FAST,
        **production_consent(sim),
    )


@pytest.fixture
def no_terminal(monkeypatch):
    monkeypatch.setenv("CI", "1")


def test_the_flow_does_not_pass_on_an_unread_refresh_policy(
    start_sim, run_flow_inprocess, tmp_path, no_terminal
):
    sim = start_sim("new_customer", autopilot=True)
    coordinator, error, output = _run(sim, run_flow_inprocess, tmp_path, "False")
    assert type(error).__name__ == "VerificationFailed", f"{error!r}\n{output}"
    assert str(error).startswith("Verification incomplete:"), error
    assert "- refresh token policy: not checked (not readable:" in str(error), error
    assert FLOW_FLAG in str(error), error
    [step] = [r for r in coordinator.results if r.exception]
    assert step.task_name == "sixsense_verify"
    report = json.loads((tmp_path / "verification.json").read_text())
    # Everything else the flow did is verified: only the policy is open.
    assert {c["check"] for c in report["checks"] if c["result"] == "FAIL"} == set()
    assert [n["check"] for n in report["not_checked"] if n["matters"]] == ["refresh token policy"]
    # A fleet reads this run's audit report as an org waiting for the operator's check, not a failure.
    from fleet import report as fleet_report

    [audit] = [p for p in (tmp_path / "audit").glob("*.json") if not p.stem.endswith("-diagnosis")]
    base = {"name": "acme", "flow": "sixsense_new_customer", "cci_org": "sim", "seconds": 1.0}
    row = fleet_report.row_from_setup(base, 1, json.loads(audit.read_text()), "")
    assert row["state"] == "waiting", row
    assert row["instructions"].startswith(str(error).split("\n")[0]), row["instructions"]
    assert "- refresh token policy: not checked (not readable:" in row["instructions"]
    assert "refresh_token_policy_checked: true" in row["instructions"]


def test_the_flow_passes_on_the_operators_word_and_the_audit_says_whose(
    start_sim, run_flow_inprocess, tmp_path, no_terminal
):
    sim = start_sim("new_customer", autopilot=True)
    coordinator, error, output = _run(sim, run_flow_inprocess, tmp_path, "True")
    assert error is None, f"{error}\n{output}"
    report = json.loads((tmp_path / "verification.json").read_text())
    assert report["passed"] is True
    [check] = [c for c in report["checks"] if c["check"] == "refresh token policy"]
    assert check["result"] == "SKIPPED", check
    assert check["actual"].startswith("confirmed by operator, not verifiable by API"), check
    [audit] = [p for p in (tmp_path / "audit").glob("*.json") if not p.stem.endswith("-diagnosis")]
    [verify_step] = [
        s for s in json.loads(audit.read_text())["steps"] if s["task"] == "sixsense_verify"
    ]
    assert verify_step["confirmed"] == [
        "refresh_token_policy_checked True: sfdc_6sense_oauth_app's Refresh Token Policy keeps tokens"
    ], verify_step


def test_no_terminal_question_when_the_flow_is_run_non_interactively_at_a_terminal(
    start_sim, run_flow_inprocess, tmp_path, monkeypatch, capsys
):
    """``-o sixsense_validate_inputs__interactive False`` reaches the verification (cumulusci.yml's ``*asks``):
    at a terminal that would answer "y", no question is asked and the run ends "Verification incomplete"
    (without the hand-off verify would ask, read the "y" and pass)."""
    from tests.tasks.conftest import Terminal

    sim = start_sim("configured")
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr("sys.stdin", Terminal("y\n" * 5))
    options = {
        "sixsense_verify": {
            "report_path": str(tmp_path / "verification.json"),
            "refresh_token_policy_checked": "False",  # the helper's default is the operator's word
        },
        **confirmations("configured"),
    }
    coordinator, error, output = run_flow_inprocess(
        sim,
        "sixsense_new_customer",
        task_options=options,
        interactive="False",
        **FAST,
        **production_consent(sim),
    )
    assert "[y/N]" not in capsys.readouterr().out
    assert type(error).__name__ == "VerificationFailed", f"{error!r}\n{output}"
    assert "- refresh token policy: not checked (not readable:" in str(error), error
