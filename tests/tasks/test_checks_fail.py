"""Every check that can say PASS, with the org in a state where it must not: sixsense_verify's checks, the
ECA verification's checks (each guided step's "done" check: tests/tasks/test_guided_done_checks.py).

Each test runs the task against the simulator (its SOQL honours WHERE), shaped by a bundled scenario plus
direct edits of its store, and asserts FAIL (or "could not check", or "not done") and the fix named.
"Unreadable" tests inject a fault on one query (each query goes on its own).
"""

from __future__ import annotations

import importlib
import json
import logging
from datetime import timedelta

import pytest
import yaml

from orgsim.scenario import SCENARIO_DIR
from orgsim.store import format_datetime, parse_datetime
from tests.conftest import INTEGRATION_USER as INTEGRATION
from tests.conftest import SETUP_USER as ADMIN
from tests.procedure_table import step_ref

APP = "sfdc_6sense_oauth_app"
INTEGRATION_SET = "Sixsense_Integration_Access"
INTEGRATION_PROFILE = "Minimum Access - API Only Integrations"
STEP_4 = step_ref("app_access")
STEP_5 = step_ref("reauthorize")
STEP_3 = step_ref("permitted_users")
NO_TOKEN = "no token (never authorized, or the Permitted Users change revoked it)"
#: The ECA policies 6sense asks for, as the simulator's ``eca_policy`` action takes them.
ECA_WANTED = {
    "permitted_users": "AllSelfAuthorized",
    "refresh_token_policy": "SpecificInactivity",
    "refresh_token_validity_period": 30,
    "refresh_token_validity_unit": "Days",
    "start_url": None,
}


# -- the org's state --------------------------------------------------------------------------------------


def one(sim, sobject, **equals) -> dict:
    [row] = sim.org.store.find(sobject, **equals)
    return row


def user_id(sim, username) -> str:
    return one(sim, "User", Username=username)["Id"]


def set_id(sim, name) -> str:
    return one(sim, "PermissionSet", Name=name)["Id"]


def app_id(sim, name=APP) -> str:
    return one(sim, "ConnectedApplication", Name=name)["Id"]


def add_pardot(sim, approved=True) -> str:
    """Another installed connected app (Pardot): its ConnectedApplication Id."""
    return sim.org.store.insert(
        "ConnectedApplication", {"Name": "Pardot", "OptionsAllowAdminApprovedUsersOnly": approved}
    )


def policy_changed(sim) -> str:
    return one(sim, "ConnectedApplication", Name=APP)["LastModifiedDate"]


def shifted(timestamp: str, seconds: float) -> str:
    return format_datetime(parse_datetime(timestamp) + timedelta(seconds=seconds))


def add_token(sim, username, app=APP, created=None) -> None:
    created = created or sim.org.store.now()
    sim.org.store.insert(
        "OauthToken",
        {
            "AppName": app,
            "UserId": user_id(sim, username),
            "CreatedDate": created,
            "LastUsedDate": created,
            "UseCount": 1,
            "AccessToken": "test-access",
            "DeleteToken": f"test-delete-{username}-{app}-{created}",
        },
    )


def drop_tokens(sim, username, app=APP) -> None:
    for token in sim.org.store.find("OauthToken", UserId=user_id(sim, username), AppName=app):
        sim.org.store.conn.execute(
            'DELETE FROM "OauthToken" WHERE DeleteToken = ?', (token["DeleteToken"],)
        )


def date_tokens(sim, username, created, app=APP) -> None:
    sim.org.store.conn.execute(
        'UPDATE "OauthToken" SET CreatedDate = ? WHERE UserId = ? AND AppName = ?',
        (created, user_id(sim, username), app),
    )


def scenario_file(tmp_path, base: str, **changes) -> str:
    """A bundled scenario with top-level fields replaced, written under ``tmp_path``."""
    data = yaml.safe_load((SCENARIO_DIR / f"{base}.yml").read_text())
    data.update(changes)
    path = tmp_path / f"{base}_changed.yml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def configured_with_policy_metadata(tmp_path) -> str:
    """The configured org whose app is listed as ConnectedApp metadata, the only place its policies are
    readable (facts §10.4), API Access Control off: every check can pass."""
    return scenario_file(
        tmp_path,
        "configured",
        features={
            "api_access_control": {"provisioned": False, "enforcing": False},
            "connected_app_metadata_retrievable": True,
        },
    )


# -- running the tasks --------------------------------------------------------------------------------------


def run_check_task(task, report_path):
    """Run a verification task: (report, the exception or None)."""
    try:
        task()
        error = None
    except Exception as exc:  # the verdict is asserted by the caller
        error = exc
    if not report_path.exists():
        raise AssertionError(f"no report written; the task raised {error!r}") from error
    return json.loads(report_path.read_text()), error


def verify(make, tmp_path, fault_sim=None, fault=None, **options):
    """sixsense_verify against the simulator: (report, exception or None, task)."""
    path = tmp_path / "verification.json"
    task = make(
        "sixsense_verify", integration_username=INTEGRATION, report_path=str(path), **options
    )
    if fault:
        fault_sim.observer.set_faults(fault)
    report, error = run_check_task(task, path)
    return report, error, task


def result(report, name) -> dict:
    [check] = [c for c in report["checks"] if c["check"] == name]
    return check


def assert_failed(report, error, name, fix, actual=None):
    """``name`` FAILs with ``fix``; the report and the task's verdict are not passed."""
    check = result(report, name)
    assert check["result"] == "FAIL", check
    assert check["fix"] == fix, check
    if actual is not None:
        assert check["actual"] == actual, check
    assert report["passed"] is False
    assert type(error).__name__ == "VerificationFailed", error
    assert f"{name}: {check['actual']}; run {fix}" in str(error)


def assert_unreadable(report, error, name):
    check = result(report, name)
    assert check["result"] == "UNREADABLE", check
    assert check["actual"].startswith("could not check: "), check
    assert check["fix"].startswith("the verification again once Salesforce answers"), check
    assert report["passed"] is False
    assert name in [c["check"] for c in report["not_checked"] if c["matters"]]
    assert type(error).__name__ == "VerificationFailed", error
    assert f"{name}: could not check" in str(error)


# -- sixsense_verify ----------------------------------------------------------------------------------------


def test_verify_configured_org_passes_every_check(sim_task, tmp_path, caplog):
    """The baseline the failing states below start from: the bundled configured org passes."""
    caplog.set_level(logging.INFO)
    sim, make = sim_task(configured_with_policy_metadata(tmp_path))
    report, error, task = verify(make, tmp_path)
    assert error is None
    assert report["passed"] is True and task.return_values["not_checked"] == []
    # The app is installed: the setup user's permission is no longer needed, so that check is SKIPPED (it
    # checked nothing, so it is not PASS) and does not matter; every other check passes.
    setup = result(report, "setup user access")
    assert setup["result"] == "SKIPPED" and "is installed" in setup["actual"]
    assert {c["result"] for c in report["checks"] if c is not setup} == {"PASS"}
    assert [(c["check"], c["matters"]) for c in report["not_checked"]] == [
        ("setup user access", False)
    ]
    assert "Verification passed; not every check ran: setup user access skipped" in caplog.text
    assert "needed only to install the app" in caplog.text


def test_verify_app_access_fails_when_only_pardot_is_granted(sim_task, tmp_path):
    sim, make = sim_task("configured")
    pardot = add_pardot(sim)
    integration_set = set_id(sim, INTEGRATION_SET)
    sim.org.set_access(APP, [])
    sim.org.store.insert(
        "SetupEntityAccess",
        {
            "ParentId": integration_set,
            "SetupEntityId": pardot,
            "SetupEntityType": "ConnectedApplication",
        },
    )
    report, error, _ = verify(make, tmp_path)
    assert_failed(
        report, error, f"app access: permission set {INTEGRATION_SET}", STEP_4, "not granted"
    )


def test_verify_app_access_fails_without_any_setup_entity_access_row(sim_task, tmp_path):
    sim, make = sim_task("configured")
    sim.org.set_access(APP, [])
    report, error, _ = verify(make, tmp_path)
    assert_failed(
        report, error, f"app access: permission set {INTEGRATION_SET}", STEP_4, "not granted"
    )


def test_verify_assignment_fails_when_the_granted_set_is_assigned_to_another_user(
    sim_task, tmp_path
):
    sim, make = sim_task("configured")
    integration_set = set_id(sim, INTEGRATION_SET)
    assignment = one(
        sim,
        "PermissionSetAssignment",
        AssigneeId=user_id(sim, INTEGRATION),
        PermissionSetId=integration_set,
    )
    sim.org.store.update(
        "PermissionSetAssignment", assignment["Id"], {"AssigneeId": user_id(sim, ADMIN)}
    )
    report, error, _ = verify(make, tmp_path)
    assert result(report, f"app access: permission set {INTEGRATION_SET}")["result"] == "PASS"
    assert_failed(report, error, f"assignment: {INTEGRATION_SET}", STEP_4, "not assigned")


def test_verify_setup_access_fails_when_the_setup_user_lacks_the_permission(sim_task, tmp_path):
    """App not installed, the setup user's profile lacks the permission, and the only permission set
    holding it is assigned to another user (the integration user)."""
    scenario = scenario_file(
        tmp_path,
        "setup_user_lacks_permission",
        permission_sets=[
            {
                "name": "Approvers",
                "permissions": ["CanApproveUninstalledApps"],
                "assigned_to": [INTEGRATION],
            }
        ],
    )
    sim, make = sim_task(scenario)
    report, error, _ = verify(make, tmp_path)
    assert_failed(report, error, "setup user access", "sixsense_assign_setup_access", "not held")
    assert result(report, "app installed")["result"] == "FAIL"


def test_verify_setup_access_could_not_check_when_the_permission_query_is_refused(
    sim_task, tmp_path
):
    sim, make = sim_task("setup_user_lacks_permission")
    report, error, _ = verify(
        make, tmp_path, sim, "match=PermissionsCanApproveUninstalledApps+%3D+true:kind=503"
    )
    assert_unreadable(report, error, "setup user access")


def test_verify_setup_access_is_not_pass_when_soql_cannot_tell(sim_task, tmp_path):
    """The org's PermissionSet has no PermissionsCanApproveUninstalledApps field: SKIPPED, and it matters
    (the app is not installed, so the permission is still needed)."""
    sim, make = sim_task("setup_user_lacks_permission")
    path = tmp_path / "verification.json"
    task = make("sixsense_verify", integration_username=INTEGRATION, report_path=str(path))
    has_field = task._has_permission_field
    task._has_permission_field = lambda permission, sobject="PermissionSet": (
        permission != "CanApproveUninstalledApps" and has_field(permission, sobject)
    )
    report, error = run_check_task(task, path)
    check = result(report, "setup user access")
    assert check["result"] == "SKIPPED" and check["actual"].startswith("not checkable by SOQL")
    assert "sixsense_assign_setup_access" in check["fix"]
    assert report["passed"] is False
    assert "setup user access" in task.return_values["not_checked"]
    assert "setup user access: not checked" in str(error)


def test_verify_app_installed_fails_when_only_pardot_is_installed(sim_task, tmp_path):
    sim, make = sim_task("configured")
    add_pardot(sim)
    sim.org.store.delete("ConnectedApplication", app_id(sim))
    report, error, _ = verify(make, tmp_path)
    assert_failed(report, error, "app installed", step_ref("install"), "no row")
    assert_failed(
        report,
        error,
        "permitted users",
        step_ref("permitted_users"),
        "app not installed",
    )
    assert_failed(
        report, error, f"app access: permission set {INTEGRATION_SET}", STEP_4, "app not installed"
    )
    assert_failed(
        report, error, "integration user authorized", step_ref("install"), "app not installed"
    )


def test_verify_permitted_users_fails_when_all_users_may_self_authorize(sim_task, tmp_path):
    sim, make = sim_task("configured")
    add_pardot(sim, approved=True)  # another app's policy does not count
    sim.action("policy", permitted_users="all_users")
    report, error, _ = verify(make, tmp_path)
    assert_failed(
        report,
        error,
        "permitted users",
        step_ref("permitted_users"),
        "all users may self-authorize",
    )


def switch_scenario(tmp_path, revokes="not_pre_authorized") -> str:
    """``configured`` with the Permitted Users switch modelled as ``revokes`` (facts §10.1: Salesforce's
    warning, ``not_pre_authorized``, or the vendor article's "logs out all users", ``all``)."""
    return scenario_file(
        tmp_path,
        "configured",
        features={
            "api_access_control": {"provisioned": False, "enforcing": False},
            "admin_approval_revokes": revokes,
        },
    )


def switch_again(sim) -> None:
    """Permitted Users back to self-authorize, then admin approved again: the switch, as an operator does it."""
    assert sim.action("policy", permitted_users="all_users")["ok"]
    assert sim.action("policy", permitted_users="admin_approved")["ok"]


def test_verify_token_fails_when_only_another_user_holds_a_token(sim_task, tmp_path):
    sim, make = sim_task("configured")
    drop_tokens(sim, INTEGRATION)
    add_token(sim, ADMIN, created=shifted(policy_changed(sim), 60))
    report, error, _ = verify(make, tmp_path)
    assert_failed(report, error, "integration user authorized", STEP_5, NO_TOKEN)


def test_verify_token_fails_when_the_holder_is_not_pre_authorized_now(sim_task, tmp_path):
    """The token survived the switch, then the access was removed: not evidence of a working sync."""
    sim, make = sim_task("configured")
    sim.org.set_access(APP, [])
    report, error, _ = verify(make, tmp_path)
    assert_failed(report, error, "integration user authorized", STEP_4)
    actual = result(report, "integration user authorized")["actual"]
    assert actual.startswith("1 token(s)") and f"{INTEGRATION} is not pre-authorized" in actual


def test_verify_token_fails_when_permitted_users_is_not_admin_approved(sim_task, tmp_path):
    sim, make = sim_task("configured")
    sim.action("policy", permitted_users="all_users")
    report, error, _ = verify(make, tmp_path)
    assert_failed(report, error, "integration user authorized", STEP_3)


def test_verify_token_fails_when_the_switch_revoked_it(sim_task, tmp_path):
    """The vendor article's text ("logs out all users"): the switch revokes the pre-authorized user's token
    too, and verify reads that, whichever text holds."""
    sim, make = sim_task(switch_scenario(tmp_path, "all"))
    switch_again(sim)
    report, error, _ = verify(make, tmp_path)
    assert_failed(report, error, "integration user authorized", STEP_5, NO_TOKEN)


def test_verify_token_passes_when_it_predates_the_switch_and_survived_it(sim_task, tmp_path):
    """Salesforce's text: the pre-authorized user's token survives the switch. No time comparison fails it,
    and a later policy edit (a newer LastModifiedDate) does not either."""
    sim, make = sim_task(switch_scenario(tmp_path))
    [before] = sim.org.store.find("OauthToken", UserId=user_id(sim, INTEGRATION), AppName=APP)
    switch_again(sim)
    assert before["CreatedDate"] < policy_changed(sim)
    report, error, _ = verify(make, tmp_path)
    check = result(report, "integration user authorized")
    assert check["result"] == "PASS", check
    assert check["actual"].startswith(
        f"{INTEGRATION}'s token predates the app's last change (ConnectedApplication.LastModifiedDate "
    ), check
    assert "so it survived the switch: pre-authorized; no reauthorization needed" in check["actual"]
    assert check["actual"].endswith("; admin approved)"), check


def test_verify_token_fails_when_the_token_is_for_pardot(sim_task, tmp_path):
    sim, make = sim_task("configured")
    drop_tokens(sim, INTEGRATION)
    add_pardot(sim)
    add_token(sim, INTEGRATION, app="Pardot", created=shifted(policy_changed(sim), 60))
    report, error, _ = verify(make, tmp_path)
    assert_failed(report, error, "integration user authorized", STEP_5, NO_TOKEN)


def test_verify_blocked_app_fails(sim_task, tmp_path):
    sim, make = sim_task("configured")
    sim.action("block")
    report, error, _ = verify(make, tmp_path)
    assert_failed(report, error, "app not blocked", "Unblock the app on Connected Apps OAuth Usage")


@pytest.fixture
def profile_policy(runtime, monkeypatch):
    """The app policy template with a ``<profileName>`` entry: the integration user's profile."""
    verify_module = importlib.import_module("tasks.verify")
    original = verify_module.read_policy_template

    def with_profile(repo_root):
        return {**original(repo_root), "profiles": [INTEGRATION_PROFILE]}

    monkeypatch.setattr(verify_module, "read_policy_template", with_profile)


def profile_set_id(sim, profile) -> str:
    profile_id = one(sim, "Profile", Name=profile)["Id"]
    return one(sim, "PermissionSet", IsOwnedByProfile=1, ProfileId=profile_id)["Id"]


def test_verify_profile_policy_fails_without_the_profiles_access(
    sim_task, tmp_path, profile_policy
):
    sim, make = sim_task("configured")
    pardot = add_pardot(sim)
    sim.org.store.insert(  # the profile has access to another app only
        "SetupEntityAccess",
        {
            "ParentId": profile_set_id(sim, INTEGRATION_PROFILE),
            "SetupEntityId": pardot,
            "SetupEntityType": "ConnectedApplication",
        },
    )
    report, error, _ = verify(make, tmp_path)
    assert result(report, f"app access: permission set {INTEGRATION_SET}")["result"] == "PASS"
    assert_failed(
        report, error, f"app access: profile {INTEGRATION_PROFILE}", STEP_4, "not granted"
    )


def test_verify_profile_policy_passes_with_the_profiles_access(sim_task, tmp_path, profile_policy):
    """The counterpart of the test above: the same check is PASS once the org holds the row."""
    sim, make = sim_task("configured")
    sim.org.set_access(
        APP, [set_id(sim, INTEGRATION_SET), profile_set_id(sim, INTEGRATION_PROFILE)]
    )
    report, error, _ = verify(make, tmp_path, refresh_token_policy_checked="True")
    assert error is None, error
    assert result(report, f"app access: profile {INTEGRATION_PROFILE}")["result"] == "PASS"


@pytest.mark.parametrize(
    "fault, checks",
    [
        # The token check reads the pre-authorization too (SetupEntityAccess, PermissionSetAssignment).
        (
            "match=SetupEntityAccess:kind=503",
            [f"app access: permission set {INTEGRATION_SET}", "integration user authorized"],
        ),
        # OauthToken also tells which installed candidate is the app in use (tasks/app_resolution.py), so
        # every check of "the app" is unreadable with it.
        (
            "match=FROM+OauthToken:kind=INVALID_SESSION_ID",
            [
                "app installed",
                "permitted users",
                "refresh token policy",
                "IP relaxation",
                f"app access: permission set {INTEGRATION_SET}",
                "integration user authorized",
            ],
        ),
        (
            "match=FROM+ConnectedApplication:kind=UNABLE_TO_LOCK_ROW",
            [
                "app installed",
                "permitted users",
                "refresh token policy",
                "IP relaxation",
                f"app access: permission set {INTEGRATION_SET}",
                "integration user authorized",
            ],
        ),
        (
            "match=FROM+PermissionSetAssignment:kind=503",
            [f"assignment: {INTEGRATION_SET}", "integration user authorized"],
        ),
        ("match=retrieve:kind=503", ["app not blocked"]),
        # a refusal for the user's access is "could not read", not "the org does not offer the type"
        ("match=retrieve:kind=refused", ["app not blocked"]),
        (
            "match=SetupEntityAccess:kind=refused",
            [f"app access: permission set {INTEGRATION_SET}", "integration user authorized"],
        ),
    ],
    ids=[
        "access-rows",
        "tokens",
        "app-row",
        "assignments",
        "blocked-list",
        "blocked-list-refused",
        "access-rows-refused",
    ],
)
def test_verify_check_could_not_check_when_its_query_is_refused(sim_task, tmp_path, fault, checks):
    sim, make = sim_task("configured")
    report, error, _ = verify(make, tmp_path, sim, fault)
    for name in checks:
        assert_unreadable(report, error, name)
    assert not any(
        c["result"] == "UNREADABLE" for c in report["checks"] if c["check"] not in checks
    )


@pytest.fixture
def blocked_list_refused(runtime, monkeypatch):
    """The org refuses the BlacklistedConsumer retrieve (a MetadataApiError): "app not blocked" SKIPPED."""
    from cumulusci.salesforce_api.exceptions import MetadataApiError

    verify_module = importlib.import_module("tasks.verify")

    class Refused:
        def __init__(self, *args, **kwargs):
            pass

        def __call__(self, *args, **kwargs):
            raise MetadataApiError("INVALID_TYPE: BlacklistedConsumer", None)

    monkeypatch.setattr(verify_module, "ApiRetrieveUnpackaged", Refused)


def test_verify_skipped_block_check_is_reported_not_all_checks_passed(
    sim_task, tmp_path, caplog, blocked_list_refused
):
    """Skipped, but the integration user's fresh token shows the app is not blocked: passed, and the
    summary says what was skipped and why."""
    caplog.set_level(logging.INFO)
    sim, make = sim_task("configured")
    report, error, task = verify(make, tmp_path, refresh_token_policy_checked="True")
    assert error is None
    assert result(report, "app not blocked")["result"] == "SKIPPED"
    assert report["passed"] is True
    [skipped] = [c for c in report["not_checked"] if c["check"] == "app not blocked"]
    assert skipped["matters"] is False
    # configured's app is not ConnectedApp metadata: its policies are the other skips (none matters, the
    # refresh-token policy on the operator's word)
    assert {c["check"] for c in report["not_checked"]} == {
        "setup user access",
        "app not blocked",
        "refresh token policy",
        "IP relaxation",
    }
    assert "blocking ends all sessions" in skipped["note"]
    assert "All checks passed" not in caplog.text
    assert "not every check ran: " in caplog.text and "app not blocked skipped" in caplog.text
    assert task.return_values["not_checked"] == []


def test_verify_skipped_block_check_matters_without_a_fresh_token(
    sim_task, tmp_path, blocked_list_refused
):
    sim, make = sim_task("configured")
    drop_tokens(sim, INTEGRATION)
    report, error, task = verify(make, tmp_path)
    assert report["passed"] is False
    assert "app not blocked" in task.return_values["not_checked"]
    assert "app not blocked: not checked" in str(error)
