"""The reauthorization step (tasks/guided.py ``ReauthorizeIntegrationUser``) word for word where an operator
reads it and the audit records it (`make mutate`'s survivors): the stop naming the earlier step, install
first, the progress line of a poll that finds it not done, one token read per check, the other apps'
sessions it may touch (warning, table, audit entry, whatever the case of this app's name), plan mode before
install, and the vendor's lines with the OAuth Usage page. Against the fake org (tests/tasks/conftest.py).
The other guided steps: test_mutation_kills_guided.py."""

from __future__ import annotations

import logging

import pytest

from tests.tasks.conftest import APP, APP_ROW, INSTANCE, INTEGRATION, INTEGRATION_USER, token
from tests.tasks.test_guided import reauthorize_ready
from tests.tasks.test_mutation_kills_guided import NAMES


def _not_admin_approved(org, tokens: list[dict]) -> None:
    """The fake org with the app installed, Permitted Users not admin approved, no access granted yet, and
    the integration user holding ``tokens``."""
    org.on("FROM User", records=[INTEGRATION_USER])
    org.on(
        "FROM ConnectedApplication",
        records=[{**APP_ROW, "OptionsAllowAdminApprovedUsersOnly": False}],
    )
    org.on("FROM SetupEntityAccess", records=[])
    org.on("FROM PermissionSetAssignment", records=[])
    org.on("FROM OauthToken", records=tokens)


def _not_installed(org) -> None:
    """The fake org with the integration user and the app not installed yet."""
    org.on("FROM User", records=[INTEGRATION_USER])
    org.on("FROM ConnectedApplication", records=[])


def test_reauthorization_before_admin_approval_stops_naming_the_earlier_step(
    make_task, org, errors
):
    _not_admin_approved(org, tokens=[])
    with pytest.raises(errors.SixsenseOrgError) as err:
        make_task(
            "sixsense_reauthorize_integration_user",
            integration_username=INTEGRATION,
            interactive="False",
        )()
    message = str(err.value)
    assert message.startswith("Reauthorize in 6sense as the integration user (article step 5): ")
    assert message.endswith(
        "; a reauthorization cannot fix this: run sixsense_set_permitted_users (Set Permitted Users to "
        "admin approved, article step 3) first. Nothing was written."
    )
    assert type(err.value).__name__ == "SixsenseOrgError"
    assert org.writes() == []


def test_reauthorization_before_install_says_install_first_word_for_word(make_task, org, errors):
    _not_installed(org)
    with pytest.raises(errors.SixsenseOrgError) as err:
        make_task("sixsense_reauthorize_integration_user", integration_username=INTEGRATION)()
    assert str(err.value) == (
        f"The 6sense connected app ({NAMES}) is not installed in this org: install it first "
        "(sixsense_install_connected_app (Install the app, article step 2))."
    )


def test_a_poll_that_finds_the_step_not_done_says_not_yet_whatever_its_check_read(
    make_task, org, no_sleep, caplog, errors
):
    """The reauthorization's check reads why it is not done ("no token ..."); the progress line says
    "not yet" (the instructions above say what to do)."""
    caplog.set_level(logging.INFO)
    reauthorize_ready(org, [])
    with pytest.raises(errors.ManualStepPending):
        make_task(
            "sixsense_reauthorize_integration_user",
            integration_username=INTEGRATION,
            interactive="True",
            poll_interval="10",
            wait_timeout="10",
        )()
    assert (
        f"[00:10 / 00:10] checking OauthToken for {NAMES} by {INTEGRATION}: not yet"
        in caplog.messages
    )


def test_reauthorize_reads_the_users_tokens_once_per_check(make_task, org, errors):
    """The step's check reads all the integration user's tokens (one query); the consent before the
    instructions uses that read, not a second one."""
    reauthorize_ready(org, [token(INTEGRATION, INTEGRATION_USER["Id"], app="Pardot")])
    with pytest.raises(errors.ManualStepPending):
        make_task(
            "sixsense_reauthorize_integration_user",
            integration_username=INTEGRATION,
            interactive="False",
            confirm_reauthorization="True",
        )()
    user_reads = [q for q in org.soql if "FROM OauthToken WHERE UserId" in q]
    assert user_reads == [
        "SELECT AppName, UserId, User.Username, CreatedDate, LastUsedDate, UseCount, AppMenuItemId "
        f"FROM OauthToken WHERE UserId = '{INTEGRATION_USER['Id']}'"
    ]


def test_reauthorize_in_plan_mode_before_install_lists_the_other_apps_sessions(
    make_task, org, caplog
):
    """Plan mode, the app not installed yet (an earlier manual step): the check reads no token, so the
    sessions the reauthorization may touch are read for the plan."""
    caplog.set_level(logging.INFO)
    _not_installed(org)
    org.on("FROM OauthToken", records=[token(INTEGRATION, INTEGRATION_USER["Id"], app="Pardot")])
    task = make_task(
        "sixsense_reauthorize_integration_user", integration_username=INTEGRATION, plan="True"
    )
    result = task()
    assert result["status"] == "manual step remains"
    assert task.audit_notes["sessions_affected"] == [
        {"user": INTEGRATION, "app": "Pardot", "tokens": 1, "effect": "may be logged out"}
    ]
    assert (
        f"need confirm_reauthorization True (reauthorizing as {INTEGRATION} may log it out of Pardot)"
        in task.audit_notes["plan"]
    )
    # the integration user's tokens, not every user's
    assert [q for q in org.soql if "FROM OauthToken" in q][-1].endswith(
        f"FROM OauthToken WHERE UserId = '{INTEGRATION_USER['Id']}'"
    )


def test_the_sessions_the_reauthorization_may_touch_are_other_apps_only(make_task, org):
    """Plan mode, Permitted Users not admin approved yet (the step remains): the integration user holds a
    token for this app (named in another case) and one for Pardot; only Pardot's is listed as touched."""
    own = token(INTEGRATION, INTEGRATION_USER["Id"], app=APP.upper())
    pardot = token(INTEGRATION, INTEGRATION_USER["Id"], app="Pardot")
    _not_admin_approved(org, tokens=[own, pardot])
    task = make_task(
        "sixsense_reauthorize_integration_user", integration_username=INTEGRATION, plan="True"
    )
    task()
    assert [s["app"] for s in task.audit_notes["sessions_affected"]] == ["Pardot"]


def test_the_other_apps_sessions_warning_and_table_word_for_word(make_task, org, errors, caplog):
    caplog.set_level(logging.INFO)
    reauthorize_ready(org, [token(INTEGRATION, INTEGRATION_USER["Id"], app="Pardot")])
    with pytest.raises(errors.ManualStepPending):
        make_task(
            "sixsense_reauthorize_integration_user",
            integration_username=INTEGRATION,
            interactive="False",
            confirm_reauthorization="True",
        )()
    at = caplog.messages.index(
        "Reauthorizing may log the integration user out of other Salesforce integrations such as "
        "Pardot and Sales Engagement; reauthorize those if they stop syncing."
    )
    assert caplog.messages[at + 1 : at + 5] == [
        f"Other apps' sessions the reauthorization may touch ({INTEGRATION})",
        "app     tokens  effect",
        "------  ------  -----------------",
        "Pardot  1       may be logged out",
    ]


def test_the_vendor_lines_carry_the_oauth_usage_page(make_task, org, errors):
    reauthorize_ready(org, [])
    with pytest.raises(errors.ManualStepPending) as err:
        make_task(
            "sixsense_reauthorize_integration_user",
            integration_username=INTEGRATION,
            interactive="False",
        )()
    assert (
        f"Check: the integration user appears under Users for {APP} on "
        f"{INSTANCE}/lightning/setup/ConnectedAppsUsage/home"
    ) in str(err.value)


def test_plan_mode_reports_the_step_remaining_with_what_its_check_read(make_task, org, caplog):
    caplog.set_level(logging.INFO)
    _not_installed(org)
    org.on("FROM OauthToken", records=[])
    task = make_task(
        "sixsense_reauthorize_integration_user", integration_username=INTEGRATION, plan="True"
    )
    result = task()
    title = "Reauthorize in 6sense as the integration user (article step 5)"
    assert result == {"done": False, "status": "manual step remains", "detail": "app not installed"}
    assert task.audit_notes["manual_steps_remaining"] == [title]
    assert task.audit_notes["after"] == "unchanged (plan)"
    assert f"manual step remains: {title}" in caplog.messages
    assert task.audit_notes["before"] == "app not installed"
