"""Issue 17 kind 5, app policies that break the sync: sixsense_verify judges the connected app's
refresh-token policy and IP relaxation from where Salesforce keeps them (ConnectedApp metadata,
ConnectedApplication's validity fields), fails the ones that stop the sync, and says when it could not read
them. Against the simulator, with the helpers of tests/tasks/test_checks_fail.py.
"""

from __future__ import annotations

import importlib
import logging

import pytest
import yaml

from orgsim.scenario import SCENARIO_DIR
from tests.tasks.test_checks_fail import (
    assert_unreadable,
    result,
    scenario_file,
    verify,
)


def test_verify_fails_an_app_that_expires_refresh_tokens_immediately(sim_task, tmp_path):
    """refresh_token_expires_immediately: everything else configured, but refreshTokenPolicy = zero."""
    sim, make = sim_task("refresh_token_expires_immediately")
    report, error, _ = verify(make, tmp_path)
    check = result(report, "refresh token policy")
    assert check["result"] == "FAIL", check
    assert check["actual"].startswith("zero: Expire refresh token immediately"), check
    assert "Manage App Policies" in check["fix"], check
    assert report["passed"] is False
    assert type(error).__name__ == "VerificationFailed", error
    assert "refresh token policy: zero" in str(error)
    assert result(report, "IP relaxation")["result"] == "PASS"


@pytest.mark.parametrize(
    "policy, ok",
    [
        ("specific_lifetime:90:DAYS", False),
        ("specific_inactivity:2:HOURS", False),
        ("specific_inactivity:3:MONTHS", True),
        ("infinite", True),
    ],
)
def test_verify_judges_refresh_token_lifetimes(sim_task, tmp_path, policy, ok):
    scenario = scenario_file(
        tmp_path,
        "refresh_token_expires_immediately",
        app={
            **yaml.safe_load((SCENARIO_DIR / "refresh_token_expires_immediately.yml").read_text())[
                "app"
            ],
            "oauth_policy": {"ip_relaxation": "ENFORCE", "refresh_token_policy": policy},
        },
    )
    sim, make = sim_task(scenario)
    report, error, _ = verify(make, tmp_path)
    check = result(report, "refresh token policy")
    assert check["result"] == ("PASS" if ok else "FAIL"), check
    assert report["passed"] is ok


@pytest.mark.parametrize(
    "scenario, policy, shown",
    [
        ("refresh_token_expires_immediately", "infinite", True),
        ("refresh_token_expires_immediately", "zero", False),
        ("configured", "infinite", False),
    ],
)
def test_verify_says_the_effective_policy_can_differ_only_on_a_metadata_pass(
    sim_task, tmp_path, scenario, policy, shown
):
    """facts §10.1: a PASS read from the metadata says the effective policy can be stricter; a FAIL, or a
    policy that was not read as metadata, does not carry the note."""
    from tasks.app_policy import EFFECTIVE_POLICY_NOTE

    app = yaml.safe_load((SCENARIO_DIR / f"{scenario}.yml").read_text())["app"]
    app = {**app, "oauth_policy": {"ip_relaxation": "ENFORCE", "refresh_token_policy": policy}}
    sim, make = sim_task(scenario_file(tmp_path, scenario, app=app))
    report, error, _ = verify(make, tmp_path)
    check = result(report, "refresh token policy")
    assert check["result"] == ("PASS" if shown else check["result"]), check
    assert (EFFECTIVE_POLICY_NOTE in check["actual"]) is shown, check
    if shown:
        assert check["actual"].startswith(
            "infinite: Refresh token is valid until revoked, as the desired policy (metadata; "
        )


def test_verify_fails_ip_relaxation_stricter_than_the_desired_policy(
    sim_task, tmp_path, monkeypatch
):
    """The desired policy relaxes IP restrictions for refreshes; the app enforces them."""
    verify_module = importlib.import_module("tasks.verify")
    real = verify_module.read_policy_template
    monkeypatch.setattr(
        verify_module,
        "read_policy_template",
        lambda root: {**real(root), "ip_relaxation": "ENFORCE_RELAXREFRESH"},
    )
    sim, make = sim_task("refresh_token_expires_immediately")
    report, error, _ = verify(make, tmp_path)
    check = result(report, "IP relaxation")
    assert check["result"] == "FAIL", check
    assert check["actual"].startswith("ENFORCE: Enforce IP restrictions"), check


def test_verify_app_policies_unreadable_when_the_metadata_list_fails(
    sim_task, tmp_path, monkeypatch
):
    """A failed ConnectedApp listMetadata is "could not check", never PASS."""
    from cumulusci.salesforce_api.exceptions import MetadataApiError

    policy_module = importlib.import_module("tasks.app_policy")

    def refused(task, name):
        raise MetadataApiError("INSUFFICIENT_ACCESS: refused", None)

    monkeypatch.setattr(policy_module, "read_oauth_policy", refused)
    sim, make = sim_task("refresh_token_expires_immediately")
    report, error, _ = verify(make, tmp_path)
    assert_unreadable(report, error, "refresh token policy")
    assert_unreadable(report, error, "IP relaxation")


def test_verify_says_the_policies_were_not_read_where_the_app_is_not_listed(
    sim_task, tmp_path, caplog
):
    """configured: the installed app is not ConnectedApp metadata here: SKIPPED, named in the log (with the
    operator's word for the refresh-token policy, else the run does not pass: test_refresh_policy_by_hand)."""
    caplog.set_level(logging.INFO)
    sim, make = sim_task("configured")
    report, error, _ = verify(make, tmp_path, refresh_token_policy_checked="True")
    for name in ("refresh token policy", "IP relaxation"):
        check = result(report, name)
        assert check["result"] == "SKIPPED", check
        assert "not readable" in check["actual"]
    assert "All checks passed" not in caplog.text
    assert "refresh token policy skipped" in caplog.text


def configured_with_policy(tmp_path, refresh_token_policy: str) -> str:
    """configured (the app is not ConnectedApp metadata there), its refresh-token policy changed."""
    app = yaml.safe_load((SCENARIO_DIR / "configured.yml").read_text())["app"]
    policy = {"ip_relaxation": "ENFORCE", "refresh_token_policy": refresh_token_policy}
    return scenario_file(tmp_path, "configured", app={**app, "oauth_policy": policy})


@pytest.mark.parametrize(
    "policy, outcome, actual",
    [
        (
            "specific_lifetime:12:HOURS",
            "FAIL",
            "RefreshTokenValidityPeriod 12, OptionsRefreshTokenValidityMetric false",
        ),
        ("specific_inactivity:3:MONTHS", "SKIPPED", "ConnectedApplication gives no unit"),
        ("specific_inactivity:720:HOURS", "PASS", "at least 30 days"),
        ("infinite", "SKIPPED", "does not say which"),
    ],
)
def test_verify_reads_refresh_token_validity_from_connected_application(
    sim_task, tmp_path, policy, outcome, actual
):
    """Not ConnectedApp metadata: ConnectedApplication's validity fields (facts §3, §10.4) decide what they can."""
    sim, make = sim_task(configured_with_policy(tmp_path, policy))
    report, error, _ = verify(make, tmp_path)
    check = result(report, "refresh token policy")
    assert check["result"] == outcome, check
    assert "ConnectedApplication RefreshTokenValidityPeriod" in check["actual"], check
    assert actual in check["actual"], check
    if outcome == "FAIL":
        assert report["passed"] is False and "Manage App Policies" in check["fix"], check
        assert "stops that long after each authorization" in check["actual"], check
    assert result(report, "IP relaxation")["result"] == "SKIPPED"


def test_verify_refresh_token_validity_could_not_check_where_the_field_is_refused(
    sim_task, tmp_path, monkeypatch
):
    """The org refuses RefreshTokenValidityPeriod (INVALID_FIELD): "could not check", never a default."""
    from tasks.errors import SixsenseOrgError

    policy_module = importlib.import_module("tasks.app_policy")

    def refused(task, app_id):
        raise SixsenseOrgError("INVALID_FIELD: No such column 'RefreshTokenValidityPeriod'")

    monkeypatch.setattr(policy_module, "read_validity", refused)
    sim, make = sim_task(configured_with_policy(tmp_path, "specific_lifetime:12:HOURS"))
    report, error, _ = verify(make, tmp_path)
    assert_unreadable(report, error, "refresh token policy")
    assert "INVALID_FIELD" in result(report, "refresh token policy")["actual"]


def test_verify_names_the_app_choice_instead_of_checking_an_app(sim_task, tmp_path):
    """two_candidate_apps (issue 17 kind 3): verify cannot check "the app" and says which choice is open."""
    sim, make = sim_task("two_candidate_apps")
    report, error, _ = verify(make, tmp_path)
    check = result(report, "which app is the vendor's")
    assert check["result"] == "FAIL", check
    assert check["expected"] == "one installed candidate, the one in use", check
    assert "sixsense_validate_inputs__connected_app_names" in check["fix"]
    assert result(report, "app installed")["result"] == "UNREADABLE"
    assert report["passed"] is False


# -- session policies: read and reported, never a check (issue 17 kind 5) ----------------------------------


def test_verify_reports_the_session_policy_as_information(sim_task, tmp_path, caplog):
    """ConnectedApplication's session fields are read and put in the report and the log, never a check:
    a session-level policy neither fails nor passes the verification (the facts give it no effect on the
    sync)."""
    sim, make = sim_task("configured")
    sim.org.store.conn.execute(
        'UPDATE "ConnectedApplication" SET OptionsHasSessionLevelPolicy = 1, MobileSessionTimeout = ?',
        ("5",),
    )
    with caplog.at_level(logging.INFO):
        report, error, _ = verify(make, tmp_path, refresh_token_policy_checked="True")
    assert report["session_policy"].startswith(
        "OptionsHasSessionLevelPolicy true, MobileSessionTimeout 5: the app has a session-level policy"
    ), report["session_policy"]
    assert not [c for c in report["checks"] if "session" in c["check"]]
    assert error is None and report["passed"] is True
    assert f"Session policy (information, not a check): {report['session_policy']}" in caplog.text


def test_verify_says_when_the_session_policy_could_not_be_read(sim_task, tmp_path):
    sim, make = sim_task("configured")
    report, error, _ = verify(
        make,
        tmp_path,
        fault_sim=sim,
        fault="match=OptionsHasSessionLevelPolicy:kind=503",
        refresh_token_policy_checked="True",
    )
    assert report["session_policy"].startswith("could not read: "), report["session_policy"]
    assert "OptionsHasSessionLevelPolicy false" not in str(report)


def test_verify_without_the_app_reads_no_session_policy(sim_task, tmp_path):
    sim, make = sim_task("new_customer")
    report, error, _ = verify(make, tmp_path)
    assert report["session_policy"] == "not read: app not installed"
