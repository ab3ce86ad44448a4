"""Issue 17 kind 5/9: the refresh-token policy the org cannot show by API.

On the usual org the installed app is not ConnectedApp metadata, and ConnectedApplication's validity fields
cannot tell "Refresh token is valid until revoked" from "Expire refresh token immediately" (facts §3,
§10.4). sixsense_verify must not pass on that: the check is SKIPPED and matters, until the operator says they
checked the policy page (``refresh_token_policy_checked True``, or "y" at a terminal). The operator's word
is reported "confirmed by operator, not verifiable by API", never PASS, and never overrides a policy the org
does show. Against the simulator, with the helpers of tests/tasks/test_checks_fail.py.
"""

from __future__ import annotations

import pytest

from tests.tasks.test_checks_fail import result, verify
from tests.tasks.test_checks_fail_policies import configured_with_policy
from tests.tasks.test_terminal_confirmations import NO_ANSWERS

FLAG = "-o refresh_token_policy_checked True"
QUESTION = "Refresh Token Policy cannot be read by API"


def test_verify_does_not_pass_on_a_refresh_policy_it_could_not_read(
    sim_task, tmp_path, monkeypatch
):
    """configured: the policy is not readable; without the operator's word the verification is incomplete."""
    monkeypatch.setenv("CI", "1")  # no terminal question
    sim, make = sim_task("configured")
    report, error, task = verify(make, tmp_path)
    check = result(report, "refresh token policy")
    assert check["result"] == "SKIPPED", check
    assert check["actual"].startswith(
        "not readable: this org does not list sfdc_6sense_oauth_app as ConnectedApp metadata"
    ), check
    assert "does not say which" in check["actual"], check
    assert "Manage App Policies" in check["fix"] and FLAG in check["fix"], check
    assert "sixsense_verify__refresh_token_policy_checked True" in check["fix"], check
    assert report["passed"] is False
    [entry] = [n for n in report["not_checked"] if n["check"] == "refresh token policy"]
    assert entry["matters"] is True, entry
    assert type(error).__name__ == "VerificationFailed", error
    assert str(error).startswith("Verification incomplete:"), error
    assert FLAG in str(error)
    assert task.return_values["not_checked"] == ["refresh token policy"]
    # IP relaxation, also unreadable there, does not keep the verification from passing.
    [ip] = [n for n in report["not_checked"] if n["check"] == "IP relaxation"]
    assert ip["matters"] is False, ip


def test_verify_passes_on_the_operators_word_and_says_so(sim_task, tmp_path, caplog, monkeypatch):
    monkeypatch.setenv("CI", "1")
    caplog.set_level("INFO")
    sim, make = sim_task("configured")
    report, error, task = verify(make, tmp_path, refresh_token_policy_checked="True")
    assert error is None, error
    check = result(report, "refresh token policy")
    assert check["result"] == "SKIPPED", check  # never PASS: nothing was read
    assert check["actual"].startswith(
        "confirmed by operator, not verifiable by API (not readable"
    ), check
    assert report["passed"] is True
    [entry] = [n for n in report["not_checked"] if n["check"] == "refresh token policy"]
    assert entry["matters"] is False and "refresh_token_policy_checked" in entry["note"], entry
    assert task.audit_notes["confirmed"] == [
        "refresh_token_policy_checked True: sfdc_6sense_oauth_app's Refresh Token Policy keeps tokens"
    ]
    assert "All checks passed" not in caplog.text
    assert "refresh token policy skipped (confirmed by operator" in caplog.text


def test_the_operators_word_never_overrides_a_policy_the_org_shows(sim_task, tmp_path):
    """Readable metadata says "zero": FAIL, whatever the operator said."""
    sim, make = sim_task("refresh_token_expires_immediately")
    report, error, _ = verify(make, tmp_path, refresh_token_policy_checked="True")
    check = result(report, "refresh token policy")
    assert check["result"] == "FAIL", check
    assert check["actual"].startswith("zero: Expire refresh token immediately"), check
    assert report["passed"] is False and error is not None


def test_the_operators_word_never_overrides_a_lifetime_connected_application_shows(
    sim_task, tmp_path
):
    """Not metadata, but ConnectedApplication shows a fixed 12-hour lifetime: FAIL."""
    sim, make = sim_task(configured_with_policy(tmp_path, "specific_lifetime:12:HOURS"))
    report, error, _ = verify(make, tmp_path, refresh_token_policy_checked="True")
    check = result(report, "refresh token policy")
    assert check["result"] == "FAIL", check
    assert "stops that long after each authorization" in check["actual"], check
    assert report["passed"] is False


@pytest.mark.parametrize("answer", NO_ANSWERS, ids=["n", "enter"])
def test_no_or_enter_at_the_terminal_leaves_the_verification_incomplete(
    answer, sim_task, tmp_path, terminal
):
    sim, make = sim_task("configured")
    terminal(answer)
    report, error, task = verify(make, tmp_path)
    [question] = terminal.questions()
    assert QUESTION in question and "Manage App Policies" in question, question
    assert result(report, "refresh token policy")["actual"].startswith("not readable"), report
    assert report["passed"] is False and FLAG in str(error)
    assert "confirmed" not in task.audit_notes


def test_yes_at_the_terminal_is_the_operators_word_and_is_recorded(
    sim_task, tmp_path, terminal, log_lines
):
    sim, make = sim_task("configured")
    terminal("y")
    report, error, task = verify(make, tmp_path)
    [question] = terminal.questions()
    assert QUESTION in question, question
    assert error is None, error
    assert report["passed"] is True
    assert result(report, "refresh token policy")["actual"].startswith("confirmed by operator")
    assert task.audit_notes["confirmed"] == [
        "at the terminal: sfdc_6sense_oauth_app's Refresh Token Policy keeps refresh tokens"
    ]
    assert any(line.startswith("Confirmed at the terminal: sfdc_6sense") for line in log_lines())


def test_a_readable_policy_asks_nothing(sim_task, tmp_path, terminal):
    """The question is only for a policy the org cannot show: no scripted answer, none asked."""
    sim, make = sim_task("refresh_token_expires_immediately")
    terminal()
    report, error, _ = verify(make, tmp_path)
    assert terminal.questions() == []
    assert result(report, "refresh token policy")["result"] == "FAIL"


def test_plan_mode_asks_nothing_and_never_fails(sim_task, tmp_path, terminal):
    sim, make = sim_task("configured")
    terminal()
    task = make(
        "sixsense_verify",
        integration_username="sixsense.integration@example.com",
        report_path=str(tmp_path / "v.json"),
        plan="True",
    )
    task()
    assert terminal.questions() == []
    assert task.return_values["passed"] is False
    assert "refresh token policy" in task.return_values["not_checked"]


def test_interactive_false_at_a_terminal_asks_nothing(sim_task, tmp_path, terminal):
    """A flow run with interactive False never asks, even from a terminal: the option is the only word."""
    sim, make = sim_task("configured")
    terminal()
    report, error, _ = verify(make, tmp_path, interactive="False")
    assert terminal.questions() == []
    assert report["passed"] is False and FLAG in str(error)
