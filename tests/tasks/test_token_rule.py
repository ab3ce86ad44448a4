"""Issue 17 kind 2: the one rule for "the integration user's token holds after the Permitted Users switch"
(``token_loss.integration_user_token``), shared by ``sixsense_verify`` ("integration user authorized") and
``sixsense_reauthorize_integration_user``. A pure function on rows already read: each failing fact fails on its
own and names the step that fixes it; the callers' reads are tested in test_checks_fail.py and test_guided.py.
"""

from __future__ import annotations

import pytest

from tests.tasks.conftest import APP

USER_ID, OTHER_ID = "005000000000002AAA", "005000000000001AAA"
USER = "sixsense.integration@example.com"
NAMES = ["sfdc_6sense_oauth_app", "sfdc_6sense_integration_connected_app"]
SWITCHED = "2026-11-01T00:00:00.000+0000"  # the app's LastModifiedDate: the Permitted Users switch
BEFORE, AFTER = "2026-10-01T00:00:00.000+0000", "2026-11-02T00:00:00.000+0000"


def app_row(approved=True) -> dict:
    return {
        "Id": "0H4000000000001AAA",
        "Name": APP,
        "OptionsAllowAdminApprovedUsersOnly": approved,
        "LastModifiedDate": SWITCHED,
    }


def token(user_id=USER_ID, app=APP, created=BEFORE) -> dict:
    return {"UserId": user_id, "AppName": app, "CreatedDate": created}


@pytest.fixture
def rule(tasks_module):
    """``rule(app=..., tokens=..., pre=...)``: the verdict for the integration user on these rows."""
    token_loss = tasks_module("token_loss")

    def judge(app=None, tokens=(), pre=(USER_ID,)):
        return token_loss.integration_user_token(app, list(tokens), set(pre), USER_ID, NAMES, USER)

    return judge


@pytest.mark.parametrize(
    "facts, step, fix_task, actual",
    [
        (
            {"app": None, "tokens": [token()]},
            "install",
            "sixsense_install_connected_app",
            "app not installed",
        ),
        (
            {"app": {}, "tokens": [token()]},
            "install",
            "sixsense_install_connected_app",
            "app not installed",
        ),
        (
            {"app": app_row(), "tokens": []},
            "reauthorize",
            "sixsense_reauthorize_integration_user",
            "no token",
        ),
        (
            {"app": app_row(), "tokens": [token(user_id=OTHER_ID)]},
            "reauthorize",
            "sixsense_reauthorize_integration_user",
            "no token",
        ),
        (
            {"app": app_row(), "tokens": [token(app="Pardot", created=AFTER)]},
            "reauthorize",
            "sixsense_reauthorize_integration_user",
            "no token",
        ),
        (
            {"app": app_row(), "tokens": [token()], "pre": ()},
            "app_access",
            "sixsense_grant_app_access",
            f"1 token(s), newest created {BEFORE}; {USER} is not pre-authorized for {APP}",
        ),
        (
            {"app": app_row(), "tokens": [token()], "pre": (OTHER_ID,)},
            "app_access",
            "sixsense_grant_app_access",
            f"{USER} is not pre-authorized",
        ),
        (
            {"app": app_row(approved=False), "tokens": [token()]},
            "permitted_users",
            "sixsense_set_permitted_users",
            "Permitted Users not admin approved",
        ),
    ],
    ids=[
        "not installed",
        "empty app row",
        "no token",
        "token of another user",
        "token for another app (Pardot)",
        "not pre-authorized",
        "another user pre-authorized",
        "not admin approved",
    ],
)
def test_each_failing_fact_fails_and_names_its_step(rule, facts, step, fix_task, actual):
    verdict = rule(**facts)
    assert verdict.ok is False
    assert verdict.step == step
    assert verdict.fix.startswith(f"{fix_task} (")
    assert actual in verdict.actual


def test_the_first_failing_fact_in_procedure_order_names_the_step(rule):
    """Not admin approved and not pre-authorized and no token: Permitted Users first (step 3 before 4, 5)."""
    verdict = rule(app=app_row(approved=False), tokens=[], pre=())
    assert (verdict.ok, verdict.step) == (False, "permitted_users")
    assert verdict.actual == "no token; Permitted Users not admin approved"
    verdict = rule(app=app_row(), tokens=[], pre=())
    assert (verdict.ok, verdict.step) == (False, "app_access")


def test_a_token_that_predates_the_switch_survived_it(rule):
    verdict = rule(app=app_row(), tokens=[token(created=BEFORE), token(created=AFTER)])
    assert (verdict.ok, verdict.step, verdict.fix) == (True, None, "")
    assert verdict.actual == (
        f"{USER}'s token predates the app's last change (ConnectedApplication.LastModifiedDate "
        f"{app_row()['LastModifiedDate']}), so it survived the switch: pre-authorized; no reauthorization "
        f"needed (2 token(s), newest created {AFTER}; admin approved)"
    )


def test_a_token_newer_than_the_switch_passes_and_says_so(rule):
    verdict = rule(app=app_row(), tokens=[token(created=AFTER)])
    assert (verdict.ok, verdict.fix) == (True, "")
    assert verdict.actual == (
        f"{USER} holds a token created {AFTER}, after the switch, and is pre-authorized "
        "(1 token(s); admin approved)"
    )


@pytest.mark.parametrize("pre_authorized, approved", [(True, True), (False, True), (True, False)])
def test_a_token_created_at_the_very_instant_of_the_switch(rule, pre_authorized, approved):
    """Created at the app's LastModifiedDate itself: the time never decides whether it holds (the facts
    read now do: admin approved, pre-authorized, a token of the user for the app); it is worded as one that
    predates the change (``<=``), and fails like any other token when a fact fails."""
    verdict = rule(
        app=app_row(approved=approved),
        tokens=[token(created=SWITCHED)],
        pre=(USER_ID,) if pre_authorized else (),
    )
    if pre_authorized and approved:
        assert (verdict.ok, verdict.fix) == (True, "")
        assert verdict.actual.startswith(f"{USER}'s token predates the app's last change"), verdict
    else:
        assert verdict.ok is False
        assert verdict.step == ("app_access" if approved else "permitted_users"), verdict


def test_app_names_match_case_insensitively_and_only_the_users_tokens_count(rule):
    tokens = [token(app=NAMES[1].upper()), token(user_id=OTHER_ID), token(app="Pardot")]
    verdict = rule(app=app_row(), tokens=tokens)
    assert verdict.ok is True
    assert "(1 token(s), newest created" in verdict.actual
