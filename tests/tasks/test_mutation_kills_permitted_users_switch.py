"""sixsense_set_permitted_users, specified where ``make mutate`` found the suite silent: what the step says
before the Permitted Users switch (the warning word for word, who loses a grant, hidden grants), why it is
already done or uses the guided step, what it polls, and the plan's words. Split from
tests/tasks/test_mutation_kills_permitted_users.py (its helpers)."""

from __future__ import annotations

import logging

import pytest

from tests.tasks.conftest import APP, APP_ROW, Terminal
from tests.tasks.test_mutation_kills_permitted_users import (
    _etl,
    _hide_other_users_tokens,
    _waiting_step,
)
from tests.tasks.test_permitted_users import RETRIEVED, not_approved

# -- what the step says before the switch -------------------------------------------------------------------

WARNING = (
    "Setting Permitted Users to 'Admin approved users are pre-authorized' revokes the grants of {name} held "
    "by users without pre-authorization (their profile or a permission set granted the app); the vendor "
    "article says all users are logged out, so pre-authorized users' grants may be lost too. They must "
    "authorize again. The integration user is given access first ('Give the integration user access to the "
    "app (article step 4)'); whether its token survived is read after the switch in 'Reauthorize in 6sense as "
    "the integration user (article step 5)', which asks for a reauthorization only if it did not."
)
NOBODY = "Nobody holds a token for the app now: no grant is lost."


def test_the_switch_warning_word_for_word_and_nobody_losing_a_grant(make_task, org, caplog, errors):
    caplog.set_level(logging.INFO)
    not_approved(org)
    org.on("FROM OauthToken", records=[])
    with pytest.raises(errors.ManualStepPending):
        make_task("sixsense_set_permitted_users", interactive="False")()
    assert WARNING.format(name=APP) in caplog.messages, [
        m for m in caplog.messages if "Setting" in m
    ]
    assert NOBODY in caplog.messages


def test_with_grants_at_stake_nobody_is_not_said(make_task, org, caplog, errors):
    caplog.set_level(logging.INFO)
    not_approved(org)
    with pytest.raises(errors.ManualStepPending):
        make_task("sixsense_set_permitted_users", interactive="False")()
    assert NOBODY not in caplog.messages
    assert "Grants the Permitted Users change revokes" in caplog.messages


def test_before_the_install_the_warning_names_every_candidate(make_task, org, caplog):
    caplog.set_level(logging.INFO)
    org.on("FROM ConnectedApplication", records=[])
    org.on("FROM OauthToken", records=[])
    step = make_task("sixsense_set_permitted_users", interactive="False", plan="True")
    step()
    assert WARNING.format(name=" or ".join(step.app_names)) in caplog.messages


def test_hidden_grants_are_said_and_recorded(make_task, org, caplog, errors, monkeypatch):
    caplog.set_level(logging.INFO)
    not_approved(org)
    org.on("FROM OauthToken", records=[])
    _hide_other_users_tokens(monkeypatch)
    step = make_task("sixsense_set_permitted_users", interactive="False", connected_app_names=APP)
    with pytest.raises(errors.ConfirmationRequired):
        step()
    assert (
        "Could not read other users' OAuth tokens (it lacks Manage Users): which grants the change "
        "revokes is unknown, not none. Review them on Setup > Connected Apps OAuth Usage."
    ) in caplog.messages
    assert step.audit_notes["sessions_unreadable"] == "it lacks Manage Users"
    assert NOBODY not in caplog.messages


def test_already_done_says_why(make_task, org):
    org.on("FROM ConnectedApplication", records=[APP_ROW])
    result = make_task("sixsense_set_permitted_users", interactive="False")()
    assert result["detail"] == f"{APP} is admin approved"


def test_the_wait_names_the_field_it_polls(make_task, org, errors, caplog, monkeypatch):
    """Interactive, at a terminal: the step waits, and its progress names the field and the app it polls."""
    caplog.set_level(logging.INFO)
    not_approved(org)
    org.on("FROM OauthToken", records=[])
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr("sys.stdin", Terminal(""))
    with pytest.raises(errors.ManualStepPending):  # the wait times out: the step is still to do
        _waiting_step(make_task, interactive="True")()
    subject = f"ConnectedApplication.OptionsAllowAdminApprovedUsersOnly of {APP}"
    assert any(subject in m for m in caplog.messages), [
        m for m in caplog.messages if "Waiting" in m
    ]
    assert not any(
        f"{subject} or " in m for m in caplog.messages
    )  # the installed app, not every name


def test_why_the_guided_step_is_used_is_said(make_task, org, caplog, errors):
    caplog.set_level(logging.INFO)
    not_approved(org)
    org.list_metadata = ["Pardot"]
    with pytest.raises(errors.ManualStepPending):
        make_task("sixsense_set_permitted_users", interactive="False")()
    assert (
        f"{APP} is not retrievable as ConnectedApp metadata in this org; Permitted Users is set in Setup "
        "(guided step)."
    ) in caplog.messages


def test_a_refused_listmetadata_falls_back_to_the_guided_step_saying_why(sim_task, caplog, errors):
    caplog.set_level(logging.INFO)
    sim, make = sim_task("permitted_users_revokes_recent_grant")
    sim.observer.set_faults("match=listMetadata:kind=UNABLE_TO_LOCK_ROW")
    with pytest.raises(errors.ManualStepPending):
        make(
            "sixsense_set_permitted_users",
            interactive="False",
            confirm_logout="True",
            confirm_production="True",
        )()
    [line] = [m for m in caplog.messages if m.startswith("listMetadata ConnectedApp failed (")]
    assert line.endswith("); using the guided step."), line


def test_in_a_flow_the_consent_names_a_grant_older_than_the_run(start_sim, run_flow_inprocess):
    """In a flow, a grant made during the run (the setup user's, article step 1) needs no consent, but one
    older than the run and used recently does: permitted_users_revokes_recent_grant's sales-ops grant."""
    sim = start_sim("permitted_users_revokes_recent_grant")
    _, error, output = run_flow_inprocess(
        sim,
        "sixsense_new_customer",
        interactive="False",
        confirm_production="True",
        integration_username="sixsense.integration@example.com",
    )
    assert type(error).__name__ == "ConfirmationRequired", f"{error!r}\n{output[-2000:]}"
    assert f"it revokes sales.ops@example.com's {APP} grant (last used " in str(error), error


def test_plan_on_an_installed_app_names_it_and_why_it_is_not_done(make_task, org, caplog):
    caplog.set_level(logging.INFO)
    not_approved(org)
    step = make_task("sixsense_set_permitted_users", interactive="False", plan="True")
    result = step()
    assert result["done"] is False and result["detail"] == "all users may self-authorize", result
    assert any(f"Locate {APP} and select Manage App Policies" in m for m in caplog.messages)
    assert "the app is not installed yet" not in caplog.text


def test_plan_of_the_etl_reports_the_method_and_the_state_before(make_task, org, caplog):
    caplog.set_level(logging.INFO)
    _etl(org, {f"connectedApps/{APP}.connectedApp": RETRIEVED})
    step = make_task("sixsense_set_permitted_users", interactive="False", plan="True")
    result = step()
    assert (result["status"], result["method"], result["done"]) == ("would deploy", "etl", False)
    assert result["detail"] == "all users may self-authorize"
    assert step.audit_notes["before"] == "all users may self-authorize"
    assert (
        f"PLAN: would set Permitted Users of {APP} to 'Admin approved users are pre-authorized' (Metadata "
        f"ETL of ConnectedApp {APP}; needs confirm_logout True)"
    ) in caplog.messages
    assert org.writes() == []


def test_plan_of_the_etl_with_consent_needs_nothing_more(make_task, org, caplog):
    caplog.set_level(logging.INFO)
    _etl(org, {f"connectedApps/{APP}.connectedApp": RETRIEVED})
    make_task(
        "sixsense_set_permitted_users", interactive="False", plan="True", confirm_logout="True"
    )()
    assert (
        f"PLAN: would set Permitted Users of {APP} to 'Admin approved users are pre-authorized' (Metadata "
        f"ETL of ConnectedApp {APP})"
    ) in caplog.messages
    assert org.writes() == []


def test_plan_before_the_install_says_the_app_comes_first(make_task, org):
    org.on("FROM ConnectedApplication", records=[])
    org.on("FROM OauthToken", records=[])
    result = make_task("sixsense_set_permitted_users", interactive="False", plan="True")()
    assert result["detail"] == "the app is not installed yet (an earlier step)", result
