"""Every confirmation the tasks ask at a terminal, answered "n", Enter and "y", in-process against the
simulator.

Standard input is replaced by a terminal-like stream holding the scripted answers (``isatty()`` True, so
``default_interactive`` and ``stdin_is_tty`` both see a terminal, and ``click.confirm`` reads the answers
from it). Each question has a safe default: "n" and Enter stop with nothing written; "y" goes on, and the
consent is logged ("Confirmed at the terminal"). An answer the test did not script is end of input, which
click turns into ``Abort``: a question asked twice, or one not expected, fails the test.

The confirmations (``click.confirm`` in tasks/): the production guard (tasks/base.py), the reauthorization
consent and the API Access Control "did you make the attempt" question (tasks/guided.py), Permitted Users'
``confirm_logout`` (tasks/permitted_users.py) and the ECA migration's removal (tasks/eca.py).
The same through a real pseudo-terminal and the real ``cci``: tests/e2e/test_terminal_cli.py.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import INTEGRATION_USER, SETUP_USER, last_seq, writes_since
from tests.tasks.test_production_guard_alone import (
    CASES,
    ECA_LABEL,
    _eca_installed,
    _installed_not_approved,
    scenario_variant,
)

NO_ANSWERS = ["n", ""]  # "n" and Enter: the safe default


def _guard_case(case: str, sim_task, tmp_path):
    """A CASES entry as run at a terminal, on its org presented as production and made ready (``before``):
    ``(sim, make, task_name, options, mark)``, ``interactive`` left to its default (a terminal: True) and
    ``mark`` the request log's position before the task runs."""
    task_name, base, edit, options, before = CASES[case]
    options = {k: v for k, v in options.items() if k != "interactive"}
    sim, make = sim_task(
        scenario_variant(tmp_path, base, edit) if edit else base, org_kind="production"
    )
    if before:
        before(sim)
    return sim, make, task_name, options, last_seq(sim)


# -- the production guard ------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", NO_ANSWERS, ids=["n", "enter"])
@pytest.mark.parametrize("case", list(CASES))
def test_production_guard_no_and_enter_write_nothing(
    case, answer, sim_task, tmp_path, terminal, errors
):
    sim, make, task_name, options, mark = _guard_case(case, sim_task, tmp_path)
    terminal(answer)
    with pytest.raises(errors.ConfirmationRequired, match="-o confirm_production True"):
        make(task_name, **options)()
    [question] = terminal.questions()
    assert "is a production org. Write to it" in question, question
    assert writes_since(sim, mark) == []


@pytest.mark.parametrize("case", list(CASES))
def test_production_guard_yes_writes_and_is_recorded(
    case, sim_task, tmp_path, terminal, monkeypatch, log_lines
):
    from tests.e2e.faults import reuse_source_conversion

    reuse_source_conversion(monkeypatch)
    sim, make, task_name, options, mark = _guard_case(case, sim_task, tmp_path)
    terminal("y")
    task = make(task_name, **options)
    task()
    [question] = terminal.questions()
    assert "is a production org" in question
    assert writes_since(sim, mark) != []
    assert task.options["confirm_production"] is True
    assert any(
        line.startswith("Confirmed at the terminal: write to the production org")
        for line in log_lines()
    ), log_lines()


def test_production_guard_is_not_asked_where_the_option_is_given(sim_task, tmp_path, terminal):
    """``confirm_production True`` is the consent: no question, even at a terminal."""
    sim, make, task_name, options, mark = _guard_case(
        "grant_app_access assignment only", sim_task, tmp_path
    )
    terminal()  # no answer: a question would abort
    make(task_name, **options, confirm_production="True")()
    assert terminal.questions() == []
    assert writes_since(sim, mark) != []


def test_production_guard_at_a_terminal_with_interactive_false_asks_nothing(
    sim_task, tmp_path, terminal, errors
):
    """``interactive False`` means nobody answers, even where standard input is a terminal."""
    sim, make, task_name, options, mark = _guard_case(
        "grant_app_access assignment only", sim_task, tmp_path
    )
    terminal("y")
    with pytest.raises(errors.ConfirmationRequired):
        make(task_name, **options, interactive="False")()
    assert terminal.questions() == []
    assert writes_since(sim, mark) == []


def test_production_guard_yes_once_in_a_flow_covers_its_later_steps(
    start_sim, run_flow_inprocess, terminal, tmp_path
):
    """At a terminal the flow asks once, at its first write; the answer is recorded in the run's audit
    report and holds for the later writing steps (one answer scripted: a second question would abort)."""
    import json

    from tests.e2e.outcomes import assert_setup_complete, confirmations

    sim = start_sim("new_customer", autopilot=True)
    terminal("y")
    coordinator, error, output = run_flow_inprocess(
        sim,
        "sixsense_new_customer",
        task_options=confirmations("new_customer"),
        poll_interval="1",
        wait_timeout="60",
        audit_dir=str(tmp_path / "audit"),
    )
    assert error is None, f"{error}\n{output}"
    assert len(terminal.questions()) == 1
    assert_setup_complete(sim.state())
    [report] = [
        p
        for p in (tmp_path / "audit").glob("*.json")
        if re.search(r"-sixsense_new_customer-[0-9a-f]{8}\.json$", p.name)
    ]
    saved = json.loads(report.read_text())
    steps = saved["steps"]
    # The run's consent record says when and who (issue 18): one entry, for the production write.
    [consent] = saved["consent"]
    assert "production org" in consent["what"] and consent["os_user"] and consent["at"]
    confirmed = [
        (s["task"], c)
        for s in steps
        for c in s.get("confirmed", [])
        if c.startswith("at the terminal")
    ]
    assert len(confirmed) == 1, confirmed
    task, text = confirmed[0]
    assert task == "sixsense_deploy_access" and "production org" in text, confirmed


@pytest.mark.parametrize("answer", NO_ANSWERS, ids=["n", "enter"])
def test_production_guard_no_in_a_flow_stops_it_before_the_first_write(
    answer, start_sim, run_flow_inprocess, terminal
):
    from tests.e2e.outcomes import confirmations

    sim = start_sim("new_customer", autopilot=True)
    mark = last_seq(sim)
    terminal(answer)
    coordinator, error, output = run_flow_inprocess(
        sim,
        "sixsense_new_customer",
        task_options=confirmations("new_customer"),
        poll_interval="1",
        wait_timeout="60",
    )
    assert type(error).__name__ == "ConfirmationRequired", f"{error!r}\n{output}"
    assert len(terminal.questions()) == 1
    assert writes_since(sim, mark) == []
    assert coordinator.results[-1].task_name == "sixsense_deploy_access"


# -- the reauthorization consent (Pardot, Sales Engagement) ----------------------------------------------


def _installed_and_approved(data):
    data["app"].update(
        visible=True,
        installed=True,
        admin_approved=True,
        installed_days_ago=20,
        policy_changed_days_ago=10,
    )
    data["permission_sets"] = [
        {
            "name": "Sixsense_Integration_Access",
            "label": "6sense Integration Access",
            "assigned_to": [INTEGRATION_USER],
        }
    ]
    data["app"]["access"] = {"permission_sets": ["Sixsense_Integration_Access"]}


def _installed_approved_token_revoked(data):
    """As :func:`_installed_and_approved`, and the switch revoked the integration user's 6sense token (as
    where it logs out all users): a reauthorization is asked."""
    _installed_and_approved(data)
    data["tokens"] = [t for t in data["tokens"] if t["app"] != data["app"]["name"]]


def _reauthorize(sim_task, tmp_path):
    """existing_customer with the app installed and admin approved: the integration user holds no token for
    it (the switch revoked it), and it holds tokens for Pardot and Sales Engagement."""
    sim, make = sim_task(
        scenario_variant(tmp_path, "existing_customer", _installed_approved_token_revoked),
        org_kind="sandbox",
    )
    options = {
        "integration_username": INTEGRATION_USER,
        "poll_interval": "1",
        "wait_timeout": "3",
    }
    return sim, lambda: make("sixsense_reauthorize_integration_user", **options)()


@pytest.mark.parametrize("answer", NO_ANSWERS, ids=["n", "enter"])
def test_reauthorization_consent_no_and_enter_stop_before_the_instructions(
    answer, sim_task, tmp_path, terminal, errors, log_lines
):
    sim, run = _reauthorize(sim_task, tmp_path)
    mark = last_seq(sim)
    terminal(answer)
    with pytest.raises(errors.ConfirmationRequired, match="Not started: .*Pardot"):
        run()
    [question] = terminal.questions()
    assert "which may log it out of Pardot, Salesforce Sales Engagement" in question
    assert not any(line.startswith("To do") for line in log_lines())
    assert writes_since(sim, mark) == []


def test_reauthorization_consent_yes_goes_on_to_the_instructions_and_the_wait(
    sim_task, tmp_path, terminal, errors, log_lines
):
    sim, run = _reauthorize(sim_task, tmp_path)
    terminal("y")
    with pytest.raises(errors.ManualStepPending, match="Timed out"):
        run()  # nobody reauthorizes: it waited, then timed out
    assert len(terminal.questions()) == 1
    lines = log_lines()
    assert any(line.startswith("Confirmed at the terminal: reauthorize as") for line in lines)
    assert any(
        line.startswith("To do (Reauthorize in 6sense as the integration user (article step 5)")
        for line in lines
    ), lines
    assert sum("checking OauthToken" in line for line in lines) == 3, lines


# -- Permitted Users: the logout consent (Metadata ETL path) ---------------------------------------------


def _permitted_users(sim_task, tmp_path, kind="sandbox"):
    sim, make = sim_task(
        scenario_variant(tmp_path, "connected_app_metadata_retrievable", _installed_not_approved),
        org_kind=kind,
    )
    return sim, lambda: make("sixsense_set_permitted_users", poll_interval="1", wait_timeout="3")()


@pytest.mark.parametrize("answer", NO_ANSWERS, ids=["n", "enter"])
def test_permitted_users_logout_no_and_enter_change_nothing(
    answer, sim_task, tmp_path, terminal, errors
):
    sim, run = _permitted_users(sim_task, tmp_path)
    mark = last_seq(sim)
    terminal(answer)
    with pytest.raises(errors.ConfirmationRequired, match="Not changed: switching") as refused:
        run()
    [question] = terminal.questions()
    # What the step knows (facts §10.1, the vendor article), not "logs out all users" as a certainty.
    for text in (question, str(refused.value)):
        assert "tokens of" in text and "without pre-authorization" in text, text
        assert "may log out all users of the app" in text, text
        assert "grants listed above are the ones at stake" in text, text
        assert "logging out all its users" not in text and "logs out all users" not in text, text
    assert writes_since(sim, mark) == []
    assert not sim.state()["apps"][0]["admin_approved"]


def test_permitted_users_logout_yes_deploys(sim_task, tmp_path, terminal, log_lines):
    sim, run = _permitted_users(sim_task, tmp_path)
    mark = last_seq(sim)
    terminal("y")
    result = run()
    assert len(terminal.questions()) == 1
    assert result["status"] == "deployed" and result["method"] == "etl"
    assert writes_since(sim, mark) != []
    assert sim.state()["apps"][0]["admin_approved"]
    assert any(line.startswith("Confirmed at the terminal: switch") for line in log_lines())


def test_permitted_users_logout_yes_then_production_enter_writes_nothing(
    sim_task, tmp_path, terminal, errors
):
    """Two questions on production: the logout, then the production guard; Enter at the second stops."""
    sim, run = _permitted_users(sim_task, tmp_path, kind="production")
    mark = last_seq(sim)
    terminal("y", "")
    with pytest.raises(errors.ConfirmationRequired, match="confirm_production"):
        run()
    logout, production = terminal.questions()
    assert "may log out all users of the app" in logout and "is a production org" in production
    assert writes_since(sim, mark) == []


# -- the ECA migration's removal --------------------------------------------------------------------------


def _removal(sim_task, tmp_path):
    sim, make = sim_task(
        scenario_variant(tmp_path, "connected_app_in_use_eca_absent", _eca_installed),
        org_kind="sandbox",
    )
    assert sim.action("authorize", username=INTEGRATION_USER, app=ECA_LABEL).get("ok")
    return sim, lambda: make(
        "sixsense_remove_connected_app_access", integration_username=INTEGRATION_USER
    )()


@pytest.mark.parametrize("answer", NO_ANSWERS, ids=["n", "enter"])
def test_eca_removal_no_and_enter_remove_nothing(answer, sim_task, tmp_path, terminal):
    sim, run = _removal(sim_task, tmp_path)
    mark = last_seq(sim)
    terminal(answer)
    result = run()
    [question] = terminal.questions()
    assert "Remove these 2 connected-app access grant(s) now" in question
    # The question names the grant in recent use that the removal revokes (issue 17 kind 1).
    assert f"revoking {INTEGRATION_USER}'s" in question and "used in the last 7 days" in question
    assert result["status"] == "not confirmed" and result["removed"] == []
    assert len(result["would_remove"]) == 2
    assert writes_since(sim, mark) == []


def test_eca_removal_yes_removes(sim_task, tmp_path, terminal, log_lines):
    sim, run = _removal(sim_task, tmp_path)
    mark = last_seq(sim)
    terminal("y")
    result = run()
    assert len(terminal.questions()) == 1
    assert result["status"] == "removed" and len(result["removed"]) == 2
    assert [r["method"] for r in writes_since(sim, mark)] == ["DELETE", "DELETE"]
    assert any(line.startswith("Confirmed at the terminal: remove 2") for line in log_lines())


# -- API Access Control: "did you make the authorization attempt?" ---------------------------------------


def _attempt(sim_task):
    sim, make = sim_task("new_customer_acc", org_kind="sandbox")
    return sim, lambda: make(
        "sixsense_authorize_setup_user",
        integration_username=INTEGRATION_USER,
        api_access_control_enforcing="True",
        poll_interval="1",
        wait_timeout="3",
    )()


@pytest.mark.parametrize("answer", NO_ANSWERS, ids=["n", "enter"])
def test_attempt_question_no_and_enter_leave_the_step_pending(answer, sim_task, terminal, errors):
    sim, run = _attempt(sim_task)
    mark = last_seq(sim)
    terminal(answer)
    with pytest.raises(
        errors.ManualStepPending,
        match=re.escape(
            "Not confirmed: Authorize the 6sense app once as the setup user (article step 1)"
        ),
    ) as pending:
        run()
    [question] = terminal.questions()
    assert f"Did you make the authorization attempt in 6sense as {SETUP_USER}?" in question
    assert "authorization_attempted True" in str(pending.value)
    assert (
        "API Access Control is enforcing, so Salesforce denies this attempt (OAUTH_APP_BLOCKED) and keeps "
        "no token. Once you made the attempt, confirm it: "
        "-o sixsense_authorize_setup_user__authorization_attempted True"
    ) in str(pending.value)
    # The instructions name the app that then appears on OAuth Usage.
    assert (
        "The app (sfdc_6sense_oauth_app or sfdc_6sense_integration_connected_app) then appears"
        in str(pending.value)
    )
    assert writes_since(sim, mark) == []


def test_attempt_question_yes_is_confirmed_by_operator(sim_task, terminal, log_lines):
    sim, run = _attempt(sim_task)
    terminal("y")
    result = run()
    assert len(terminal.questions()) == 1
    assert result["status"] == "confirmed by operator"
    assert result["detail"] == "not verifiable by API"
    assert (
        f"Confirmed at the terminal: {SETUP_USER} made the authorization attempt in 6sense."
        in log_lines()
    )
    assert (
        "API Access Control is enforcing: Salesforce will deny this attempt and keep no token, but the "
        "attempt makes the app appear on Connected Apps OAuth Usage, which is what 'Install the app "
        "(article step 2)' needs."
    ) in log_lines()


def test_attempt_question_yes_with_a_token_shown_by_then_is_verified(
    sim_task, terminal, monkeypatch
):
    """What the org shows wins over the operator's word: the setup user holds a token by the time of the
    answer (it holds Use Any API Client, so API Access Control let it through): verified, not "confirmed"."""
    import click

    from tests.tasks.test_checks_fail import add_token

    sim, run = _attempt(sim_task)
    terminal("y")
    confirm = click.confirm

    def answer_after_the_authorization(*args, **kwargs):
        add_token(sim, SETUP_USER)
        return confirm(*args, **kwargs)

    monkeypatch.setattr(click, "confirm", answer_after_the_authorization)
    result = run()
    assert result["status"] == "verified", result
    assert result["detail"].startswith(f"{SETUP_USER} holds a token for "), result
