"""Guided steps: already done, pending (non-interactive), wait and verify, timeout."""

import logging

import pytest

from tests.tasks.conftest import (
    ADMIN,
    ADMIN_USER,
    APP,
    APP_ROW,
    INSTANCE,
    INTEGRATION,
    INTEGRATION_PS,
    INTEGRATION_USER,
    token,
)

DEEP_LINK = f"{INSTANCE}/lightning/setup/ConnectedAppsUsage/home"


def pre_authorized(org):
    """The integration user's permission set has access to the app (SetupEntityAccess, facts §5)."""
    org.on("FROM SetupEntityAccess", records=[{"ParentId": INTEGRATION_PS["Id"]}])
    org.on("FROM PermissionSetAssignment", records=[{"AssigneeId": INTEGRATION_USER["Id"]}])


def reauthorize_ready(org, tokens):
    """The reauthorization's org: the integration user, the app installed and admin approved, the user
    pre-authorized, and ``tokens`` all the user's OauthToken rows."""
    org.on("FROM User", records=[INTEGRATION_USER])
    org.on("FROM ConnectedApplication", records=[APP_ROW])
    pre_authorized(org)
    org.on("FROM OauthToken", records=tokens)


def test_install_already_done_writes_nothing_and_does_not_wait(make_task, org, no_sleep, caplog):
    caplog.set_level(logging.INFO)
    org.on("FROM ConnectedApplication", records=[APP_ROW])
    result = make_task("sixsense_install_connected_app", interactive="True")()
    assert result["status"] == "already done"
    assert result["app_id"] == APP_ROW["Id"]
    assert "already done" in caplog.text
    assert org.writes() == [] and not no_sleep.called


def test_install_pending_non_interactive_says_what_to_do_and_how_to_resume(
    make_task, org, errors, no_sleep
):
    org.on("FROM ConnectedApplication", records=[])
    org.on("FROM OauthToken", records=[])
    with pytest.raises(errors.ManualStepPending) as err:
        make_task("sixsense_install_connected_app", interactive="False")()
    message = str(err.value)
    assert "Manual step pending: Install the app (article step 2)" in message
    assert DEEP_LINK in message
    assert "  4. Select Install next to the app name" in message
    assert (
        "If the app is not listed or has no Install button, it was never used in this org: repeat "
        "'Authorize the 6sense app once as the setup user (article step 1)' (cci task run "
        "sixsense_authorize_setup_user -o integration_username <integration username>) to make it "
        "visible, then install."
    ) in message  # no token and no row: the app is not listed yet
    assert "run the flow again after this step" in message
    assert org.writes() == [] and not no_sleep.called


def test_install_interactive_polls_until_the_row_appears(make_task, org, no_sleep, caplog):
    caplog.set_level(logging.INFO)
    answers = iter([[], [], [APP_ROW]])
    org.on("FROM ConnectedApplication", records=lambda: next(answers))
    org.on("FROM OauthToken", records=[token(ADMIN, ADMIN_USER["Id"])])
    result = make_task(
        "sixsense_install_connected_app", interactive="True", poll_interval="20", wait_timeout="900"
    )()
    assert result["status"] == "verified"
    assert [c.args for c in no_sleep.call_args_list] == [(20,), (20,)]
    assert f"[00:20 / 15:00] checking ConnectedApplication {APP} or" in caplog.text
    assert f"[00:40 / 15:00] checking ConnectedApplication {APP}" in caplog.text
    assert "tokens held by admin@example.com" in caplog.text  # the app is listed: no "repeat ..."
    assert org.writes() == []


def test_interactive_wait_times_out_with_the_instructions(make_task, org, errors, no_sleep):
    org.on("FROM ConnectedApplication", records=[])
    org.on("FROM OauthToken", records=[])
    with pytest.raises(errors.ManualStepPending, match="Timed out after 00:30") as err:
        make_task(
            "sixsense_install_connected_app",
            interactive="True",
            poll_interval="10",
            wait_timeout="30",
        )()
    assert no_sleep.call_count == 3
    assert DEEP_LINK in str(err.value)


def test_authorize_done_when_the_setup_user_holds_a_token(make_task, org):
    org.on("FROM User", records=[ADMIN_USER])
    org.on("FROM ConnectedApplication", records=[])
    org.on(
        "FROM OauthToken",
        f"UserId = '{ADMIN_USER['Id']}'",
        records=[token(ADMIN, ADMIN_USER["Id"])],
    )
    result = make_task("sixsense_authorize_setup_user", interactive="False")()
    assert result["status"] == "already done"
    assert "admin@example.com holds a token" in result["detail"]
    token_query = next(q for q in org.soql if "FROM OauthToken" in q)
    for secret in ("AccessToken", "DeleteToken", "RequestToken"):
        assert secret not in token_query


def test_authorize_pending_lists_the_seed_steps_for_the_setup_user(make_task, org, errors):
    org.on("FROM User", records=[ADMIN_USER])
    org.on("FROM ConnectedApplication", records=[])
    org.on("FROM OauthToken", records=[])
    with pytest.raises(errors.ManualStepPending) as err:
        make_task(
            "sixsense_authorize_setup_user", interactive="False", integration_username=INTEGRATION
        )()
    message = str(err.value)
    assert "Salesforce (Production)" in message and "Save & Next" in message
    assert f"as the setup user {ADMIN}" in message
    assert f"Do not use the integration user {INTEGRATION}" in message


def test_authorize_confirmed_by_operator_where_api_access_control_denies(make_task, org, caplog):
    caplog.set_level(logging.INFO)
    org.on("FROM User", records=[ADMIN_USER])
    org.on("FROM ConnectedApplication", records=[])
    org.on("FROM OauthToken", records=[])
    result = make_task(
        "sixsense_authorize_setup_user",
        interactive="False",
        authorization_attempted="True",
        api_access_control_enforcing="True",
    )()
    assert result == {
        "done": True,
        "status": "confirmed by operator",
        "detail": "not verifiable by API",
    }
    assert (
        "No token for the setup user, but the operator confirmed the authorization attempt "
        "(authorization_attempted True)."
    ) in caplog.messages
    assert org.writes() == []


def test_authorize_plan_without_a_token_is_not_yet(make_task, org):
    org.on("FROM User", records=[ADMIN_USER])
    org.on("FROM ConnectedApplication", records=[])
    org.on("FROM OauthToken", records=[])
    result = make_task("sixsense_authorize_setup_user", plan="True")()
    assert (result["done"], result["status"], result["detail"]) == (
        False,
        "manual step remains",
        "not yet",
    )


def test_install_instructions_name_who_holds_tokens_by_username_or_id(make_task, org, errors):
    """The app is listed because it is in use: the instructions say by whom (a token whose user the org
    does not name is given by its UserId)."""
    org.on("FROM ConnectedApplication", records=[])
    unnamed = {**token(INTEGRATION, "005000000000009AAA"), "User": None}
    org.on("FROM OauthToken", records=[token(ADMIN, ADMIN_USER["Id"]), unnamed])
    with pytest.raises(errors.ManualStepPending) as err:
        make_task("sixsense_install_connected_app", interactive="False")()
    assert (
        "The app is in use here (tokens held by 005000000000009AAA, admin@example.com), so it is "
        "listed on the page."
    ) in str(err.value)


def test_reauthorize_asks_where_the_integration_user_holds_no_token_for_the_app(
    make_task, org, errors, caplog
):
    caplog.set_level(logging.INFO)
    pardot = token(INTEGRATION, INTEGRATION_USER["Id"], app="Pardot")
    reauthorize_ready(org, [pardot])  # all tokens of the user: none for the 6sense app
    with pytest.raises(errors.ManualStepPending) as err:
        make_task(
            "sixsense_reauthorize_integration_user",
            integration_username=INTEGRATION,
            interactive="False",
            confirm_reauthorization="True",  # it holds a Pardot token
        )()
    assert "Sign in with a different Salesforce account" in str(err.value)
    # The installed app by name (not the list of candidate names), where the user will then appear.
    assert f"Check: the integration user appears under Users for {APP} on " in str(err.value)
    assert "Pardot and Sales Engagement" in caplog.text
    # The other apps' sessions it may touch; none of the app's own grants is listed as lost or "replaced".
    assert any(m.startswith("Pardot ") and "may be logged out" in m for m in caplog.messages)
    assert "Grants the reauthorization revokes" not in caplog.text and "replaced" not in caplog.text


def test_reauthorize_with_other_apps_tokens_needs_the_confirmation_when_not_at_a_terminal(
    make_task, org, errors, caplog
):
    caplog.set_level(logging.INFO)
    pardot = token(INTEGRATION, INTEGRATION_USER["Id"], app="Pardot")
    reauthorize_ready(org, [pardot])
    for interactive in (
        "False",
        "True",
    ):  # no terminal under pytest: a confirmation cannot be asked
        with pytest.raises(
            errors.ConfirmationRequired, match="confirm_reauthorization True"
        ) as err:
            make_task(
                "sixsense_reauthorize_integration_user",
                integration_username=INTEGRATION,
                interactive=interactive,
            )()
        assert "Pardot" in str(err.value)
    assert "Sign in with a different Salesforce account" not in caplog.text
    assert org.writes() == []


def test_reauthorize_consent_words_for_word_and_in_plan_mode(make_task, org, errors, caplog):
    """The refusal names both ways to consent and that nothing was written; plan mode records the need."""
    caplog.set_level(logging.INFO)
    reauthorize_ready(org, [token(INTEGRATION, INTEGRATION_USER["Id"], app="Pardot")])
    with pytest.raises(errors.ConfirmationRequired) as err:
        make_task(
            "sixsense_reauthorize_integration_user",
            integration_username=INTEGRATION,
            interactive="False",
        )()
    assert str(err.value) == (
        f"Not started: reauthorizing as {INTEGRATION} in 6sense may log it out of Pardot. Confirm with "
        "-o sixsense_validate_inputs__confirm_reauthorization True (flow) or -o confirm_reauthorization "
        "True (this task alone), or run interactively at a terminal, then run again. Nothing was written."
    )
    task = make_task(
        "sixsense_reauthorize_integration_user", integration_username=INTEGRATION, plan="True"
    )
    task()
    need = f"need confirm_reauthorization True (reauthorizing as {INTEGRATION} may log it out of Pardot)"
    assert f"PLAN: would {need}" in caplog.messages
    assert need in task.audit_notes["plan"]
    assert org.writes() == []


def test_reauthorize_without_other_apps_tokens_needs_no_confirmation(make_task, org, errors):
    reauthorize_ready(org, [])
    with pytest.raises(errors.ManualStepPending):
        make_task(
            "sixsense_reauthorize_integration_user",
            integration_username=INTEGRATION,
            interactive="False",
        )()


def test_reauthorize_already_done_when_the_token_survived_the_switch(make_task, org):
    """A token older than the policy change (APP_ROW's LastModifiedDate), read now, of a pre-authorized user:
    it survived the switch; no reauthorization is asked."""
    old = token(INTEGRATION, INTEGRATION_USER["Id"], created="2025-09-01T00:00:00.000+0000")
    reauthorize_ready(org, [old])
    result = make_task(
        "sixsense_reauthorize_integration_user",
        integration_username=INTEGRATION,
        interactive="True",
    )()
    assert result["status"] == "already done"
    # The app's LastModifiedDate is a proxy for the switch, and the text says so, with the date it read.
    assert result["detail"].startswith(
        f"{INTEGRATION}'s token predates the app's last change (ConnectedApplication.LastModifiedDate "
        "2025-10-02T10:00:00.000+0000), so it survived the switch: pre-authorized; no reauthorization needed"
    )
    assert org.writes() == []


def test_reauthorize_already_done_with_a_token_newer_than_the_switch(make_task, org):
    reauthorize_ready(org, [token(INTEGRATION, INTEGRATION_USER["Id"])])
    result = make_task(
        "sixsense_reauthorize_integration_user",
        integration_username=INTEGRATION,
        interactive="True",
    )()
    assert result["status"] == "already done"
    assert "after the switch, and is pre-authorized" in result["detail"]


def test_reauthorize_before_install_says_install_first(make_task, org, errors):
    org.on("FROM User", records=[INTEGRATION_USER])
    org.on("FROM ConnectedApplication", records=[])
    with pytest.raises(errors.SixsenseOrgError, match="install it first"):
        make_task("sixsense_reauthorize_integration_user", integration_username=INTEGRATION)()


@pytest.mark.parametrize(
    "step",
    ["sixsense_install_connected_app", "sixsense_authorize_setup_user"],
)
def test_a_guided_wait_spends_one_check_per_poll(make_task, org, no_sleep, step):
    """While a guided step waits, each poll is one check, one query, the same every time: step 2 reads the
    installed app, step 1 the setup user's tokens; nothing is read again or ahead in between."""
    polled = (
        "FROM ConnectedApplication"
        if step == "sixsense_install_connected_app"
        else "FROM OauthToken"
    )
    answers = iter(
        [[], [], [], [], [APP_ROW if "Application" in polled else token(ADMIN, ADMIN_USER["Id"])]]
    )
    org.on("FROM User", records=[ADMIN_USER])
    org.on("FROM ConnectedApplication", records=[])
    org.on("FROM OauthToken", records=[])
    org.on(polled, records=lambda: next(answers))
    at_sleep = []
    no_sleep.side_effect = lambda seconds: at_sleep.append(len(org.soql))
    result = make_task(step, interactive="True", poll_interval="10", wait_timeout="900")()
    assert result["status"] == "verified"
    assert len(at_sleep) == 4  # the first check, then a poll after each of 4 waits
    polls = [org.soql[a:b] for a, b in zip(at_sleep, at_sleep[1:] + [len(org.soql)], strict=True)]
    if step == "sixsense_install_connected_app":
        # The poll that finds the row then tells whether it is the app in use (its tokens, counted:
        # tasks/app_resolution.py), and the verified step reads its evidence once (SetupAuditTrail);
        # the polls before it are one query each.
        *waiting, found = polls
        assert [len(p) for p in waiting] == [1, 1, 1], polls
        assert found[0] == polls[0][0] and all("FROM OauthToken" in q for q in found[1:-1]), polls
        assert "FROM SetupAuditTrail" in found[-1], polls
        polls = waiting
    else:
        assert [len(p) for p in polls] == [1, 1, 1, 1], polls
    assert all(p == polls[0] and polled in p[0] for p in polls), polls
    assert org.writes() == []


def test_a_wait_counts_real_time_not_only_the_sleeps_it_asked_for(
    make_task, org, errors, no_sleep, monkeypatch
):
    """Checks that take long count (issue 18): with each check taking 100 s of real time, a 5-minute wait
    ends after 3 checks and says so, instead of polling 300 times while showing 00:00."""
    import itertools

    org.on("FROM ConnectedApplication", records=[])
    org.on("FROM OauthToken", records=[])
    clock = itertools.count(0, 100)  # every reading is 100 s after the previous one
    monkeypatch.setattr("time.monotonic", lambda: next(clock))
    with pytest.raises(errors.ManualStepPending, match="Timed out after 05:00"):
        make_task(
            "sixsense_install_connected_app",
            interactive="True",
            poll_interval="1",
            wait_timeout="300",
        )()
    assert no_sleep.call_count == 3
