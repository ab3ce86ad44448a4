"""The guided steps (tasks/guided.py) word for word where an operator reads them and no other test read them
whole (`make mutate`'s survivors): the stop and time-out messages with the resume hint, the API Access Control
warning and instruction, the slower-checks line of a short API allowance, the wait's audit record, and the
audit entry of a manual step done. Against the fake org (tests/tasks/conftest.py), whose answers each test
sets. The reauthorization step's own texts: test_mutation_kills_reauthorize.py."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from tests.tasks.conftest import (
    ADMIN,
    ADMIN_USER,
    APP,
    APP_ROW,
    INSTANCE,
    INTEGRATION,
    token,
)

RESUME = "To resume: run the flow again after this step (finished steps are detected and skipped)."


INSTALL = "Install the app (article step 2)"


AUTHORIZE = "Authorize the 6sense app once as the setup user (article step 1)"


NAMES = f"{APP} or sfdc_6sense_integration_connected_app"


def _install_pending(org):
    org.on("FROM ConnectedApplication", records=[])
    org.on("FROM OauthToken", records=[token(ADMIN, ADMIN_USER["Id"])])


def _install_lines():
    return [
        f"To do ({INSTALL}):",
        f"  1. In Salesforce, log in at {_login()} as a System Administrator ({ADMIN}).",
        "  2. Open Setup > Apps > Connected Apps > Connected Apps OAuth Usage: "
        f"{INSTANCE}/lightning/setup/ConnectedAppsUsage/home",
        f"  3. Locate the 6sense connected app ({NAMES}).",
        "  4. Select Install next to the app name, then Install to confirm.",
        f"  5. The app is in use here (tokens held by {ADMIN}), so it is listed on the page.",
    ]


def _login():
    """The fake org is connected through its My Domain: that login URL, with the environment's host."""
    return "https://acme.my.salesforce.com (your My Domain; or https://login.salesforce.com)"


def test_the_non_interactive_stop_is_the_title_the_numbered_instructions_and_the_resume_hint(
    make_task, org, errors, caplog
):
    caplog.set_level(logging.INFO)
    _install_pending(org)
    with pytest.raises(errors.ManualStepPending) as err:
        make_task("sixsense_install_connected_app", interactive="False")()
    lines = _install_lines()
    assert str(err.value) == "\n".join([f"Manual step pending: {INSTALL}.", *lines, RESUME])
    # each line is logged too, before the stop
    assert caplog.messages[-len(lines) :] == lines


def test_the_time_out_names_the_wait_and_repeats_the_instructions(make_task, org, errors, no_sleep):
    _install_pending(org)
    with pytest.raises(errors.ManualStepPending) as err:
        make_task(
            "sixsense_install_connected_app",
            interactive="True",
            poll_interval="10",
            wait_timeout="30",
        )()
    assert str(err.value) == "\n".join(
        [f"Timed out after 00:30 waiting for: {INSTALL}.", *_install_lines(), RESUME]
    )


def test_the_wait_is_recorded_for_the_audit_and_a_verified_step_as_done_in_setup(
    make_task, org, no_sleep, caplog
):
    caplog.set_level(logging.INFO)
    answers = iter([[], [APP_ROW]])
    org.on("FROM ConnectedApplication", records=lambda: next(answers))
    org.on("FROM OauthToken", records=[token(ADMIN, ADMIN_USER["Id"])])
    task = make_task(
        "sixsense_install_connected_app", interactive="True", poll_interval="20", wait_timeout="900"
    )
    result = task()
    detail = f"{APP} installed ({APP_ROW['Id']})"
    evidence = result.pop("evidence")
    assert evidence.startswith(
        f"no SetupAuditTrail entry found in section Connected Apps naming {APP} since "
    )
    assert result == {
        "done": True,
        "status": "verified",
        "detail": detail,
        "app_id": APP_ROW["Id"],
        "app_name": APP,
    }
    notes = task.audit_notes
    assert notes["before"] == "not yet"
    assert notes["after"] == f"verified: {detail}"
    assert notes["changed"] == [
        {
            "object": f"ConnectedApplication {NAMES}",
            "action": "manual step done in Setup (verified)",
            "what": detail,
            "evidence": evidence,
        }
    ]
    assert notes["evidence"] == evidence
    assert f"Evidence: {evidence}" in caplog.messages
    [wait] = notes["waits"]
    assert {k: wait[k] for k in ("what", "timeout_seconds", "poll_interval_seconds", "checks")} == {
        "what": f"ConnectedApplication {NAMES}",
        "timeout_seconds": 900,
        "poll_interval_seconds": 20,
        "checks": 1,
    }
    assert wait["outcome"] == f"done: {detail}"
    assert wait["seconds"] >= 20
    assert sorted(wait) == [
        "checks",
        "finished_at",
        "outcome",
        "poll_interval_seconds",
        "seconds",
        "started_at",
        "timeout_seconds",
        "what",
    ]
    started = datetime.fromisoformat(wait["started_at"])
    assert started <= datetime.fromisoformat(wait["finished_at"])
    assert started.tzinfo is not None


def test_an_already_done_step_is_skipped_in_the_audit_with_no_change(make_task, org, caplog):
    caplog.set_level(logging.INFO)
    org.on("FROM ConnectedApplication", records=[APP_ROW])
    task = make_task("sixsense_install_connected_app", interactive="False")
    task()
    detail = f"{APP} installed ({APP_ROW['Id']})"
    assert f"{INSTALL}: already done ({detail})." in caplog.messages
    assert task.audit_notes["before"] == detail and task.audit_notes["after"] == detail
    assert task.audit_notes["skipped"] == [f"already done: {detail}"]
    assert "changed" not in task.audit_notes


def test_a_timed_out_wait_is_recorded_as_such(make_task, org, errors, no_sleep):
    _install_pending(org)
    task = make_task(
        "sixsense_install_connected_app", interactive="True", poll_interval="10", wait_timeout="30"
    )
    with pytest.raises(errors.ManualStepPending):
        task()
    [wait] = task.audit_notes["waits"]
    assert wait["outcome"] == "timed out" and wait["checks"] == 3


def test_api_access_control_enforcing_warns_and_adds_the_confirmation_line(
    make_task, org, errors, caplog
):
    caplog.set_level(logging.INFO)
    org.on("FROM User", records=[ADMIN_USER])
    org.on("FROM ConnectedApplication", records=[])
    org.on("FROM OauthToken", records=[])
    with pytest.raises(errors.ManualStepPending) as err:
        make_task(
            "sixsense_authorize_setup_user",
            interactive="False",
            integration_username=INTEGRATION,
            api_access_control_enforcing="True",
        )()
    assert (
        "API Access Control is enforcing: Salesforce will deny this attempt and keep no token, but the "
        "attempt makes the app appear on Connected Apps OAuth Usage, which is what "
        f"'{INSTALL}' needs."
    ) in caplog.messages
    lines = str(err.value).splitlines()
    assert lines[-2].endswith(
        ". API Access Control is enforcing, so Salesforce denies this attempt (OAUTH_APP_BLOCKED) and "
        "keeps no token. Once you made the attempt, confirm it: "
        "-o sixsense_authorize_setup_user__authorization_attempted True"
    )
    assert lines[0] == f"Manual step pending: {AUTHORIZE}."


def test_without_api_access_control_no_warning_and_no_confirmation_line(
    make_task, org, errors, caplog
):
    caplog.set_level(logging.INFO)
    org.on("FROM User", records=[ADMIN_USER])
    org.on("FROM ConnectedApplication", records=[])
    org.on("FROM OauthToken", records=[])
    with pytest.raises(errors.ManualStepPending) as err:
        make_task(
            "sixsense_authorize_setup_user", interactive="False", integration_username=INTEGRATION
        )()
    assert "API Access Control" not in caplog.text
    assert "authorization_attempted True" not in str(err.value)


def test_the_setup_users_token_or_the_installed_app_is_the_authorization_done(make_task, org):
    org.on("FROM User", records=[ADMIN_USER])
    org.on("FROM ConnectedApplication", records=[APP_ROW])
    result = make_task(
        "sixsense_authorize_setup_user", interactive="False", integration_username=INTEGRATION
    )()
    assert result == {"done": True, "status": "already done", "detail": f"{APP} is installed"}
    org.on("FROM ConnectedApplication", records=[])
    org.on("FROM OauthToken", records=[token(ADMIN, ADMIN_USER["Id"], app=APP)])
    result = make_task(
        "sixsense_authorize_setup_user", interactive="False", integration_username=INTEGRATION
    )()
    assert result["detail"] == f"{ADMIN} holds a token for {APP}"


def _usage(total, used):
    return {"api-usage": SimpleNamespace(total=total, used=used)}


def test_a_short_allowance_says_how_often_it_checks_instead(
    make_task, org, errors, no_sleep, caplog
):
    caplog.set_level(logging.INFO)
    _install_pending(org)
    task = make_task(
        "sixsense_install_connected_app", interactive="True", poll_interval="1", wait_timeout="900"
    )
    task._init_task = lambda: None
    task.sf = SimpleNamespace(api_usage=_usage(100_000, 97_000))
    assert task._remaining_api_requests() == 3_000
    assert task._paced_interval(1, 900) == 30.0  # 30 checks fit in 1 % of 3,000
    assert task._paced_interval(60, 900) == 60  # a longer interval is kept
    assert task._paced_interval(1, 31) == 2.0  # ceil(31 / 30)
    task.sf = SimpleNamespace(api_usage=_usage(100_000, 99_850))
    assert (
        task._paced_interval(1, 900) == 900.0
    )  # 150 left: exactly one check fits, for the whole wait
    task.sf = SimpleNamespace(api_usage=_usage(100, 500))
    assert task._remaining_api_requests() == 0  # never negative
    task.sf = SimpleNamespace(api_usage={})
    assert task._remaining_api_requests() is None
    assert task._paced_interval(7, 900) == 7


def test_the_slower_checks_line_word_for_word(sim_task, tmp_path, no_sleep, errors, caplog):
    from tests.tasks.test_production_guard_alone import scenario_variant

    def allowance(data):
        data["org"].update(daily_api_requests=100_000, api_requests_used=97_000)

    caplog.set_level(logging.INFO)
    sim, make = sim_task(scenario_variant(tmp_path, "new_customer", allowance))
    task = make(
        "sixsense_install_connected_app", interactive="True", poll_interval="1", wait_timeout="60"
    )
    with pytest.raises(errors.ManualStepPending):
        task()
    [line] = [m for m in caplog.messages if m.startswith("Checking every")]
    # about 2,990 requests left (the step's own reads count): 29 checks in 60 s, one every 3 s
    assert re.fullmatch(
        r"Checking every 00:03 instead of 00:01: a wait spends at most 1% of the 29\d\d API requests the "
        r"org has left today \(Sforce-Limit-Info\), which its integrations also need\.",
        line,
    ), line


def test_a_finished_step_logs_its_title_and_a_check_result_table(make_task, org, caplog):
    caplog.set_level(logging.INFO)
    org.on("FROM ConnectedApplication", records=[APP_ROW])
    make_task("sixsense_install_connected_app", interactive="False")()
    detail = f"{APP} installed ({APP_ROW['Id']})"
    at = caplog.messages.index(INSTALL)
    # wider than the console: one block per row, "header: value" below the first cell
    assert caplog.messages[at : at + 3] == [
        INSTALL,
        f"- ConnectedApplication {NAMES}",
        f"    result: already done: {detail}",
    ]


def test_install_instructions_count_only_this_apps_tokens(sim_task, errors):
    """The setup user holds a token for another app only (Pardot): this app was never used here, so the
    instructions say to repeat step 1, not that the app is listed because it is in use."""
    from tests.tasks.test_checks_fail import add_token

    sim, make = sim_task("new_customer")
    add_token(sim, ADMIN, app="Pardot")
    with pytest.raises(errors.ManualStepPending) as err:
        make("sixsense_install_connected_app", interactive="False")()
    assert "it was never used in this org: repeat" in str(err.value)
    assert "The app is in use here" not in str(err.value)


def test_a_finish_table_that_fits_the_console_has_its_header(make_task, org, caplog):
    """A short subject (here set on the task): title, header, rule, row."""
    caplog.set_level(logging.INFO)
    task = make_task("sixsense_install_connected_app", interactive="False")
    task._progress_subject = lambda: "the app"
    task._setup_evidence = lambda: None
    task._app = APP_ROW
    task._finish("verified", "ok")
    assert caplog.messages[-4:] == [
        INSTALL,
        "check    result",
        "-------  ------------",
        "the app  verified: ok",
    ]


def test_a_one_second_wait_still_checks_once(make_task, org, no_sleep):
    """The shortest wait (1 s): one sleep, one check, and the step is verified when that check finds it."""
    answers = iter([[], [APP_ROW]])
    org.on("FROM ConnectedApplication", records=lambda: next(answers))
    org.on("FROM OauthToken", records=[token(ADMIN, ADMIN_USER["Id"])])
    result = make_task(
        "sixsense_install_connected_app", interactive="True", poll_interval="1", wait_timeout="1"
    )()
    assert result["status"] == "verified"
    assert [c.args for c in no_sleep.call_args_list] == [(1,)]


def test_the_last_sleep_is_what_is_left_of_the_wait(make_task, org, errors, no_sleep):
    _install_pending(org)
    with pytest.raises(errors.ManualStepPending):
        make_task(
            "sixsense_install_connected_app",
            interactive="True",
            poll_interval="20",
            wait_timeout="30",
        )()
    assert [c.args for c in no_sleep.call_args_list] == [(20,), (10,)]


def test_no_wait_for_lack_of_api_allowance_word_for_word_and_in_the_audit(
    sim_task, tmp_path, no_sleep, errors
):
    from tests.tasks.test_production_guard_alone import scenario_variant

    def allowance(data):
        data["org"].update(daily_api_requests=100_000, api_requests_used=99_950)

    sim, make = sim_task(scenario_variant(tmp_path, "new_customer", allowance))
    task = make(
        "sixsense_install_connected_app", interactive="True", poll_interval="1", wait_timeout="900"
    )
    with pytest.raises(errors.ManualStepPending) as stopped:
        task()
    first, *rest = str(stopped.value).splitlines()
    assert re.fullmatch(
        rf"Not waiting for: {re.escape(INSTALL)}\. The org has 4\d API requests left today "
        r"\(Sforce-Limit-Info\), and a wait spends at most 1% of them: its integrations, 6sense's sync "
        r"among them, need the rest\.",
        first,
    ), first
    assert rest[0] == f"To do ({INSTALL}):" and rest[-1] == RESUME
    [wait] = task.audit_notes["waits"]
    assert wait["outcome"] == "stopped: the org's API allowance" and wait["checks"] == 0


def test_the_wait_counts_real_seconds_to_the_millisecond(make_task, org, monkeypatch, caplog):
    """A check that takes time counts: the clock (here a fake one, 20.4567 s per poll) gives the seconds
    the audit records, to the millisecond, and the progress line shows the check that found it done."""
    caplog.set_level(logging.INFO)
    clock = [1000.0]

    def sleep(seconds):
        clock[0] += 20.4567

    monkeypatch.setattr("time.sleep", sleep)
    monkeypatch.setattr("time.monotonic", lambda: clock[0])
    answers = iter([[], [APP_ROW]])
    org.on("FROM ConnectedApplication", records=lambda: next(answers))
    org.on("FROM OauthToken", records=[token(ADMIN, ADMIN_USER["Id"])])
    task = make_task(
        "sixsense_install_connected_app", interactive="True", poll_interval="20", wait_timeout="900"
    )
    task()
    [wait] = task.audit_notes["waits"]
    assert wait["seconds"] == 20.457
    assert (
        f"[00:20 / 15:00] checking ConnectedApplication {NAMES}: {APP} installed ({APP_ROW['Id']})"
        in caplog.messages
    )


def test_the_evidence_window_starts_in_utc_whatever_the_machines_time_zone(
    make_task, org, no_sleep, monkeypatch
):
    """The SetupAuditTrail entries are looked up from when the instructions were given, in UTC: on a
    machine whose local time is 9 hours ahead, a local start would miss the operator's entry."""
    import time as _time

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    _time.tzset()
    try:
        answers = iter([[], [APP_ROW]])
        org.on("FROM ConnectedApplication", records=lambda: next(answers))
        org.on("FROM OauthToken", records=[token(ADMIN, ADMIN_USER["Id"])])
        result = make_task(
            "sixsense_install_connected_app",
            interactive="True",
            poll_interval="20",
            wait_timeout="900",
        )()
    finally:
        monkeypatch.delenv("TZ")
        _time.tzset()
    since = re.search(r"since (\S+)$", result["evidence"]).group(1)
    start = datetime.strptime(since, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - start).total_seconds()) < 3600, since
