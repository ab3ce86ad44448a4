"""The External Client App verification's checks (sixsense_verify_eca), each with the org in a state where
it must not say PASS: FAIL, or "could not check", and the fix named. Against the simulator, shaped as in
tests/tasks/test_checks_fail.py, whose helpers these tests use.
"""

from __future__ import annotations

import logging

import pytest

from orgsim.eca import ECA_LABEL
from tests.conftest import INTEGRATION_USER as INTEGRATION
from tests.conftest import SETUP_USER as ADMIN
from tests.tasks.test_checks_fail import (
    APP,
    ECA_WANTED,
    add_token,
    assert_failed,
    assert_unreadable,
    result,
    run_check_task,
    scenario_file,
)


def eca_scenario(tmp_path, policies=ECA_WANTED):
    return scenario_file(
        tmp_path,
        "eca_installed_default_policies",
        eca={"installed": True, "installed_version": "1.0", "policies": policies},
    )


def verify_eca(make, tmp_path, fault_sim=None, fault=None, prepare=None, **options):
    """Run sixsense_verify_eca (``options``: more task options) -> (report, error, task)."""
    path = tmp_path / "verification-eca.json"
    task = make(
        "sixsense_verify_eca", integration_username=INTEGRATION, report_path=str(path), **options
    )
    if prepare:
        prepare(task)
    if fault:
        fault_sim.observer.set_faults(fault)
    report, error = run_check_task(task, path)
    return report, error, task


def eca_complete(sim_task, tmp_path):
    sim, make = sim_task(eca_scenario(tmp_path))
    assert sim.action("authorize", username=INTEGRATION, app=ECA_LABEL).get("ok")
    return sim, make


def test_verify_eca_complete_org_passes_every_check(sim_task, tmp_path):
    sim, make = eca_complete(sim_task, tmp_path)
    report, error, _ = verify_eca(make, tmp_path)
    assert error is None, error
    assert {c["result"] for c in report["checks"]} == {"PASS"}
    assert report["passed"] is True


def test_verify_eca_says_its_session_policies_are_not_read_by_query(sim_task, tmp_path):
    sim, make = eca_complete(sim_task, tmp_path)
    report, error, _ = verify_eca(make, tmp_path)
    assert report["session_policy"].startswith("not read: ExtlClntAppOauthPlcyCnfg"), report
    assert not [c for c in report["checks"] if "session" in c["check"]]


def test_verify_eca_token_fails_when_only_another_user_authorized(sim_task, tmp_path):
    sim, make = sim_task(eca_scenario(tmp_path))
    assert sim.action("authorize", username=ADMIN, app=ECA_LABEL).get("ok")
    report, error, _ = verify_eca(make, tmp_path)
    assert_failed(
        report, error, "integration user authorized", "sixsense_authorize_eca", "no token"
    )


def test_verify_eca_token_fails_when_the_token_is_for_the_connected_app(sim_task, tmp_path):
    sim, make = sim_task(eca_scenario(tmp_path))
    add_token(sim, INTEGRATION, app=APP)
    report, error, _ = verify_eca(make, tmp_path)
    assert_failed(
        report, error, "integration user authorized", "sixsense_authorize_eca", "no token"
    )


def test_verify_eca_policies_fail_without_a_policy_row(sim_task, tmp_path):
    sim, make = eca_complete(sim_task, tmp_path)
    sim.org.store.conn.execute('DELETE FROM "ExtlClntAppOauthPlcyCnfg"')
    report, error, _ = verify_eca(make, tmp_path)
    assert_failed(
        report,
        error,
        "policy: Permitted Users",
        "sixsense_set_eca_policies",
        "no OAuth policy row for the ECA",
    )
    assert not [
        c
        for c in report["checks"]
        if c["result"] in ("PASS", "SKIPPED") and c["check"].startswith("policy:")
    ]


def test_verify_eca_policy_fails_with_the_default_refresh_token_policy(sim_task, tmp_path):
    sim, make = sim_task(eca_scenario(tmp_path, {**ECA_WANTED, "refresh_token_policy": "Infinite"}))
    assert sim.action("authorize", username=INTEGRATION, app=ECA_LABEL).get("ok")
    report, error, _ = verify_eca(make, tmp_path)
    assert_failed(
        report, error, "policy: Refresh Token Policy", "sixsense_set_eca_policies", "Infinite"
    )


def test_verify_eca_app_fails_when_the_eca_is_local(sim_task, tmp_path):
    sim, make = eca_complete(sim_task, tmp_path)
    sim.org.store.conn.execute(
        "UPDATE \"ExternalClientApplication\" SET DistributionState = 'Local'"
    )
    report, error, _ = verify_eca(make, tmp_path)
    assert_failed(report, error, "External Client App", "sixsense_install_eca_package")


def test_verify_eca_package_fails_when_not_installed(sim_task, tmp_path):
    sim, make = sim_task("eca_not_installed")
    report, error, _ = verify_eca(make, tmp_path)
    assert_failed(
        report, error, "package installed", "sixsense_install_eca_package", "not installed"
    )
    assert_failed(report, error, "External Client App", "sixsense_install_eca_package", "not found")


def without_fields(*names):
    def prepare(task):
        describe = task._describe_fields
        task._describe_fields = lambda sobject: describe(sobject) - set(names)

    return prepare


def test_verify_eca_skipped_start_page_passes_and_says_so(sim_task, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    sim, make = eca_complete(sim_task, tmp_path)
    report, error, _ = verify_eca(make, tmp_path, prepare=without_fields("StartUrl"))
    assert error is None, error
    assert result(report, "policy: Start Page")["result"] == "SKIPPED"
    assert report["passed"] is True
    assert [c["matters"] for c in report["not_checked"]] == [False]
    assert "All checks passed" not in caplog.text and "policy: Start Page skipped" in caplog.text


def test_verify_eca_skipped_refresh_token_policy_is_not_passed(sim_task, tmp_path):
    sim, make = eca_complete(sim_task, tmp_path)
    report, error, task = verify_eca(
        make, tmp_path, prepare=without_fields("RefreshTokenPolicyType")
    )
    assert result(report, "policy: Refresh Token Policy")["result"] == "SKIPPED"
    assert report["passed"] is False
    assert task.return_values["not_checked"] == ["policy: Refresh Token Policy"]
    assert "Verification incomplete" in str(error)
    assert "check Refresh Token Policy by hand in External Client App Manager" in str(error)


@pytest.mark.parametrize(
    "fault, name",
    [
        ("match=ExtlClntAppOauthPlcyCnfg:kind=503", "policy: Permitted Users"),
        ("match=InstalledSubscriberPackage:kind=503", "package installed"),
        ("match=FROM+ExternalClientApplication+:kind=503", "External Client App"),
        ("match=FROM+OauthToken:kind=503", "integration user authorized"),
    ],
    ids=["policies", "package", "eca", "tokens"],
)
def test_verify_eca_check_could_not_check_when_its_query_is_refused(
    sim_task, tmp_path, fault, name
):
    sim, make = eca_complete(sim_task, tmp_path)
    report, error, _ = verify_eca(make, tmp_path, sim, fault)
    assert_unreadable(report, error, name)


def test_verify_eca_fails_a_policy_that_expires_refresh_tokens_immediately(sim_task, tmp_path):
    sim, make = sim_task(eca_scenario(tmp_path, {**ECA_WANTED, "refresh_token_policy": "Zero"}))
    report, error, _ = verify_eca(make, tmp_path)
    check = result(report, "policy: Refresh Token Policy")
    assert check["result"] == "FAIL" and check["actual"] == "Zero", check
    assert report["passed"] is False


@pytest.mark.parametrize(
    "value, outcome",
    [
        ("Enforce", "PASS"),
        ("Bypass", "PASS"),
        (None, "FAIL"),
        ("Enforce_sometimes", "FAIL"),
    ],
)
def test_verify_eca_judges_ip_relaxation_as_the_connected_apps(sim_task, tmp_path, value, outcome):
    """ExtlClntAppOauthPlcyCnfg.IpRelaxationPolicyType (facts §10.2), judged by app_policy.assess_ip."""
    sim, make = eca_complete(sim_task, tmp_path)
    sim.org.store.conn.execute(
        'UPDATE "ExtlClntAppOauthPlcyCnfg" SET IpRelaxationPolicyType = ?', (value,)
    )
    report, error, _ = verify_eca(make, tmp_path)
    check = result(report, "policy: IP Relaxation")
    assert check["result"] == outcome, check
    assert check["actual"].startswith(f"{value or 'None'}: "), check
    assert report["passed"] is (outcome == "PASS")
    if value == "Enforce":
        assert "login IP ranges" in check["actual"], check
    if outcome == "FAIL":
        assert "External Client App Manager > Edit Policies" in check["fix"], check


def test_verify_eca_ip_relaxation_could_not_check_where_soql_does_not_expose_it(sim_task, tmp_path):
    sim, make = eca_complete(sim_task, tmp_path)
    report, error, _ = verify_eca(make, tmp_path, prepare=without_fields("IpRelaxationPolicyType"))
    assert_unreadable(report, error, "policy: IP Relaxation")
    check = result(report, "policy: IP Relaxation")
    assert (check["expected"], check["actual"]) == (
        "Enforce or relaxed (as the connected app's)",
        "could not check: ExtlClntAppOauthPlcyCnfg has no IpRelaxationPolicyType field here",
    ), check


UNKNOWN_VERSION = "04t000000000000AAA"  # a package version id shaped right that no package has


def test_verify_eca_package_fails_for_a_version_the_org_does_not_know(sim_task, tmp_path):
    sim, make = eca_complete(sim_task, tmp_path)
    report, error, _ = verify_eca(make, tmp_path, package_version=UNKNOWN_VERSION)
    assert_failed(
        report, error, "package installed", "sixsense_install_eca_package", "not installed"
    )
    assert result(report, "package installed")["expected"] == f"{UNKNOWN_VERSION} or newer"


def test_install_eca_package_stops_on_a_version_the_org_does_not_know(sim_task, errors):
    sim, make = sim_task("eca_not_installed")
    task = make("sixsense_install_eca_package", version=UNKNOWN_VERSION)
    with pytest.raises(errors.SixsenseOrgError) as raised:
        task()
    assert str(raised.value) == (
        f"Package version {UNKNOWN_VERSION} is not available to this org (no SubscriberPackageVersion). "
        "Check the version id with 6sense."
    )
