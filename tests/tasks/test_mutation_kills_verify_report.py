"""sixsense_verify's whole report, row for row and word for word, in the org states that reach each of its
branches (`make mutate`'s survivors in tasks/verify.py were mostly texts no test read whole): every check's
expected, actual, result and fix, the skips with whether they matter and why, and the session-policy line.
What each check decides in more states: test_checks_fail.py; the verdict's own texts: check_report's tests.

Against the simulator (its SOQL honours WHERE); the texts come from the task, the org's names and ids from
the simulator's store, the steps' names from datasets/procedure.yml."""

from __future__ import annotations

import logging

from tests.procedure_table import step_ref
from tests.tasks.test_checks_fail import (
    ADMIN,
    APP,
    INTEGRATION,
    INTEGRATION_SET,
    app_id,
    configured_with_policy_metadata,
    one,
    profile_policy,  # noqa: F401 - a fixture
    user_id,
    verify,
)

OTHER_APP = "sfdc_6sense_integration_connected_app"
PAGE = "Setup > Connected Apps OAuth Usage > Manage App Policies > Edit Policies"
POLICY_FIX = (
    f"{PAGE}: set the policy to the desired one (unpackaged/app_policy/connectedApps/Sixsense.connectedApp), "
    f"then {step_ref('reauthorize')} if the integration user's token has expired"
)
INSTALLED = f"ConnectedApplication row for {APP} or {OTHER_APP}"
TOKEN_EXPECTED = (
    f"{INTEGRATION} holds a token for the app now, is pre-authorized, and the app is admin approved"
)
RECHECK = "the verification again once Salesforce answers this read (actual says what it refused)"
UNREAD_REFRESH = (
    f"not readable: this org does not list {APP} as ConnectedApp metadata; ConnectedApplication "
    "RefreshTokenValidityPeriod null, OptionsRefreshTokenValidityMetric false: 'valid until revoked' or "
    "'Expire refresh token immediately' (ConnectedApplication does not say which)"
)
UNREAD_IP = (
    f"not readable: this org does not list {APP} as ConnectedApp metadata, the only place this policy is "
    "kept (ConnectedApplication has no IP relaxation)"
)
ACCESS = f"app access: permission set {INTEGRATION_SET}"
ASSIGNMENT = f"assignment: {INTEGRATION_SET}"


def rows(report) -> list[tuple]:
    return [
        (c["check"], c["expected"], c["actual"], c["result"], c["fix"]) for c in report["checks"]
    ]


def token_text(sim) -> str:
    [row] = sim.org.store.find("OauthToken", UserId=user_id(sim, INTEGRATION), AppName=APP)
    return (
        f"{INTEGRATION} holds a token created {row['CreatedDate']}, after the switch, and is pre-authorized "
        "(1 token(s); admin approved)"
    )


def installed_rows(
    app_row_id: str, refresh: tuple, ip: tuple, token: tuple, permitted: str = "admin approved"
) -> list[tuple]:
    """The rows of an org where the app (``app_row_id``) is installed and access granted and assigned, with
    the two policy rows, the token row and Permitted Users (``admin approved`` or what else it reads) given."""
    approved = permitted == "admin approved"
    return [
        (
            "setup user access",
            f"{ADMIN} holds CanApproveUninstalledApps until the app is installed",
            f"not checked: {APP} is installed",
            "SKIPPED",
            "",
        ),
        ("app installed", INSTALLED, f"{APP} ({app_row_id})", "PASS", ""),
        (
            "permitted users",
            "Admin approved users are pre-authorized",
            permitted,
            "PASS" if approved else "FAIL",
            "" if approved else step_ref("permitted_users"),
        ),
        refresh,
        ip,
        (ACCESS, "SetupEntityAccess row", "granted", "PASS", ""),
        (ASSIGNMENT, f"assigned to {INTEGRATION}", "assigned", "PASS", ""),
        (
            "app not blocked",
            "not on the blocked list (BlacklistedConsumer)",
            "not blocked",
            "PASS",
            "",
        ),
        token,
    ]


def sim_installed_rows(sim, refresh, ip) -> list[tuple]:
    """:func:`installed_rows` of a simulated org whose integration user's token survived the switch."""
    token = ("integration user authorized", TOKEN_EXPECTED, token_text(sim), "PASS", "")
    return installed_rows(app_id(sim), refresh, ip, token)


#: The refresh-token policy the org does not show, held back until the operator says it was checked.
REFRESH_HELD_BACK = (
    "refresh token policy",
    "infinite",
    UNREAD_REFRESH,
    "SKIPPED",
    f"check it on {PAGE} of {APP} (an app that expires refresh tokens immediately stops 6sense's sync), "
    "then run again with -o refresh_token_policy_checked True (in a flow: "
    "-o sixsense_verify__refresh_token_policy_checked True)",
)


SKIPPED_IP = (
    "IP relaxation",
    "ENFORCE",
    UNREAD_IP,
    "SKIPPED",
    f"check it by hand on {PAGE} of {APP}",
)
SETUP_SKIP = {
    "check": "setup user access",
    "result": "SKIPPED",
    "reason": f"not checked: {APP} is installed",
    "matters": False,
    "note": "the permission is needed only to install the app",
}
IP_SKIP = {
    "check": "IP relaxation",
    "result": "SKIPPED",
    "reason": UNREAD_IP,
    "matters": False,
    "note": "an installed third-party app is usually not retrievable; the policy page shows it",
}


def test_configured_org_whose_refresh_policy_is_not_shown_is_held_back_with_every_row_word_for_word(
    sim_task, tmp_path, caplog
):
    caplog.set_level(logging.INFO)
    sim, make = sim_task("configured")
    report, error, task = verify(make, tmp_path)
    assert rows(report) == sim_installed_rows(sim, REFRESH_HELD_BACK, SKIPPED_IP)
    assert report["not_checked"] == [
        SETUP_SKIP,
        {
            "check": "refresh token policy",
            "result": "SKIPPED",
            "reason": UNREAD_REFRESH,
            "matters": True,
            "note": "",
        },
        IP_SKIP,
    ]
    assert task.return_values["passed"] is False
    assert task.return_values["failed"] == []
    assert task.return_values["not_checked"] == ["refresh token policy"]
    assert f"refresh token policy: not checked ({UNREAD_REFRESH}); check it on {PAGE}" in str(error)
    assert report["integration_username"] == INTEGRATION
    assert report["setup_username"] == ADMIN
    assert report["connected_app_names"] == [APP, OTHER_APP]


def test_the_operators_word_on_the_refresh_policy_is_a_skip_that_does_not_matter(
    sim_task, tmp_path
):
    sim, make = sim_task("configured")
    report, error, task = verify(make, tmp_path, refresh_token_policy_checked="True")
    refresh = (
        "refresh token policy",
        "infinite",
        f"confirmed by operator, not verifiable by API ({UNREAD_REFRESH})",
        "SKIPPED",
        f"check it on {PAGE} of {APP}",
    )
    assert rows(report) == sim_installed_rows(sim, refresh, SKIPPED_IP)
    assert report["not_checked"][1] == {
        "check": "refresh token policy",
        "result": "SKIPPED",
        "reason": refresh[2],
        "matters": False,
        "note": "the operator checked it on the policy page (refresh_token_policy_checked)",
    }
    assert error is None and task.return_values["passed"] is True


def test_policies_read_as_metadata_pass_with_the_effective_policy_note(sim_task, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    sim, make = sim_task(configured_with_policy_metadata(tmp_path))
    report, error, task = verify(make, tmp_path)
    refresh_row, ip_row = rows(report)[3:5]
    assert refresh_row[:2] == ("refresh token policy", "infinite")
    assert refresh_row[2] == (
        "infinite: Refresh token is valid until revoked, as the desired policy (metadata; the effective "
        "policy can be stricter than this metadata: when the app's developer turns on the 30-day idle "
        "refresh-token limit, 'valid until revoked' behaves as 30 days of inactivity (Salesforce Help: "
        "'Limit the Idle Refresh Token TTL'))"
    )
    assert refresh_row[3:] == ("PASS", "")
    assert ip_row[:2] == ("IP relaxation", "ENFORCE") and ip_row[2].startswith("ENFORCE: ")
    assert ip_row[3:] == ("PASS", "")
    assert "(metadata; " not in ip_row[2]
    assert report["not_checked"] == [SETUP_SKIP]
    assert error is None and task.return_values == {
        "passed": True,
        "failed": [],
        "not_checked": [],
        "report_path": str(tmp_path / "verification.json"),
        "html_path": str(tmp_path / "verification.html"),
    }
    [line] = [r.getMessage() for r in caplog.records if "Session policy" in r.getMessage()]
    assert line == f"Session policy (information, not a check): {report['session_policy']}"


def test_a_refresh_policy_that_expires_tokens_fails_naming_the_policy_page(sim_task, tmp_path):
    sim, make = sim_task("refresh_token_expires_immediately")
    report, error, task = verify(make, tmp_path)
    refresh = (
        "refresh token policy",
        "infinite",
        "zero: Expire refresh token immediately: 6sense's sync stops as soon as its access token expires",
        "FAIL",
        POLICY_FIX,
    )
    ip = (
        "IP relaxation",
        "ENFORCE",
        "ENFORCE: Enforce IP restrictions: 6sense's refreshes must come from the integration user's "
        "profile login IP ranges, if it has any",
        "PASS",
        "",
    )
    assert rows(report) == sim_installed_rows(sim, refresh, ip)
    assert task.return_values["failed"] == ["refresh token policy"]
    assert f"refresh token policy: {refresh[2]}; run {POLICY_FIX}" in str(error)


def nothing_done_rows() -> list[tuple]:
    """The rows of an org where no step is done (the app not installed, no permission set)."""
    grant = step_ref("app_access")
    install = step_ref("install")
    return [
        (
            "setup user access",
            f"{ADMIN} holds CanApproveUninstalledApps",
            "profile System Administrator",
            "PASS",
            "",
        ),
        ("app installed", INSTALLED, "no row", "FAIL", install),
        (
            "permitted users",
            "Admin approved users are pre-authorized",
            "app not installed",
            "FAIL",
            step_ref("permitted_users"),
        ),
        ("refresh token policy", "infinite", "app not installed", "FAIL", POLICY_FIX),
        ("IP relaxation", "ENFORCE", "app not installed", "FAIL", POLICY_FIX),
        (
            ACCESS,
            "SetupEntityAccess row",
            "permission set missing (run sixsense_deploy_access)",
            "FAIL",
            grant,
        ),
        (ASSIGNMENT, f"assigned to {INTEGRATION}", "not assigned", "FAIL", grant),
        (
            "app not blocked",
            "not on the blocked list (BlacklistedConsumer)",
            "not blocked",
            "PASS",
            "",
        ),
        ("integration user authorized", TOKEN_EXPECTED, "app not installed", "FAIL", install),
    ]


def test_nothing_done_every_row_names_its_step(sim_task, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    sim, make = sim_task("new_customer")
    report, error, task = verify(make, tmp_path)
    assert rows(report) == nothing_done_rows()
    assert report["not_checked"] == []
    assert report["session_policy"] == "not read: app not installed"
    assert "Session policy (information, not a check): not read: app not installed" in caplog.text


def test_a_setup_user_without_the_permission_fails_naming_the_setup_access_task(sim_task, tmp_path):
    sim, make = sim_task("setup_user_lacks_permission")
    report, error, task = verify(make, tmp_path)
    assert rows(report)[0] == (
        "setup user access",
        f"{ADMIN} holds CanApproveUninstalledApps",
        "not held",
        "FAIL",
        "sixsense_assign_setup_access",
    )
    assert "setup user access: not held; run sixsense_assign_setup_access" in str(error)


def test_a_setup_user_not_in_the_org_is_named(sim_task, tmp_path):
    sim, make = sim_task("new_customer")
    report, error, task = verify(make, tmp_path, setup_username="gone@example.com")
    assert rows(report)[0] == (
        "setup user access",
        "gone@example.com holds CanApproveUninstalledApps",
        "no user gone@example.com",
        "FAIL",
        "sixsense_assign_setup_access",
    )


def test_two_candidate_apps_every_app_row_could_not_check_and_the_choice_fails(sim_task, tmp_path):
    sim, make = sim_task("two_candidate_apps")
    report, error, task = verify(make, tmp_path)
    unknown = "could not check: which connected app is 6sense's is not known (pin the name)"
    got = rows(report)
    assert got[0] == (
        "which app is the vendor's",
        "one installed candidate, the one in use",
        f"Cannot tell which connected app is 6sense's: {APP} is installed but {OTHER_APP} is the app in use",
        "FAIL",
        "pin the name: -o sixsense_validate_inputs__connected_app_names <name> (flow) or "
        "-o connected_app_names <name> (this task alone)",
    )
    unreadable = {r[0]: r for r in got if r[3] == "UNREADABLE"}
    assert set(unreadable) == {
        "app installed",
        "permitted users",
        "refresh token policy",
        "IP relaxation",
        ACCESS,
        "integration user authorized",
    }
    assert all(r[2] == unknown and r[4] == RECHECK for r in unreadable.values())
    assert report["session_policy"] == (
        "not read: which connected app is 6sense's is not known (pin the name)"
    )


def test_an_unreadable_app_row_makes_every_app_check_could_not_check(sim_task, tmp_path):
    sim, make = sim_task("configured")
    report, error, task = verify(
        make, tmp_path, sim, "match=FROM+ConnectedApplication:kind=refused"
    )
    got = {r[0]: r for r in rows(report)}
    for name, expected in (
        ("app installed", INSTALLED),
        ("permitted users", "Admin approved users are pre-authorized"),
        ("refresh token policy", "infinite"),
        ("IP relaxation", "ENFORCE"),
        (ACCESS, "SetupEntityAccess row"),
        ("integration user authorized", TOKEN_EXPECTED),
    ):
        assert got[name][1] == expected
        assert got[name][2].startswith("could not check: Query failed: INVALID_TYPE"), got[name]
        assert got[name][3:] == ("UNREADABLE", RECHECK)
    assert got[ASSIGNMENT][2:4] == ("assigned", "PASS")
    # held whatever the app's row says, through each source
    assert got["setup user access"][2:] == (
        "profile System Administrator, permission set Sixsense_Setup_Access",
        "PASS",
        "",
    )


def test_an_uninstalled_app_whose_row_is_unreadable_leaves_setup_access_could_not_check(
    sim_task, tmp_path
):
    """The setup user lacks the permission and the app's row cannot be read: the permission may not be
    needed any more (the app may be installed), so the check says it could not tell, not FAIL."""
    sim, make = sim_task("setup_user_lacks_permission")
    report, error, task = verify(
        make, tmp_path, sim, "match=FROM+ConnectedApplication:kind=refused"
    )
    setup = rows(report)[0]
    assert setup[:2] == ("setup user access", f"{ADMIN} holds CanApproveUninstalledApps")
    assert setup[2].startswith("could not check: whether the app is installed: Query failed:")
    assert setup[3:] == ("UNREADABLE", RECHECK)


def test_unreadable_permission_sets_make_access_and_assignment_could_not_check(sim_task, tmp_path):
    sim, make = sim_task("configured")
    report, error, task = verify(make, tmp_path, sim, "match=FROM+PermissionSet+WHERE:kind=refused")
    got = {r[0]: r for r in rows(report)}
    for name, expected in (
        (ACCESS, "SetupEntityAccess row"),
        (ASSIGNMENT, f"assigned to {INTEGRATION}"),
    ):
        assert got[name][1] == expected
        assert got[name][2].startswith(
            "could not check: Query failed: INVALID_TYPE: sObject type 'PermissionSet'"
        )
        assert got[name][3:] == ("UNREADABLE", RECHECK)
    assert got["integration user authorized"][3] == "PASS"


def test_access_granted_to_another_app_only_is_not_granted(sim_task, tmp_path):
    sim, make = sim_task("configured")
    ps = one(sim, "PermissionSet", Name=INTEGRATION_SET)["Id"]
    for row in sim.org.store.find("SetupEntityAccess", ParentId=ps):
        sim.org.store.conn.execute('DELETE FROM "SetupEntityAccess" WHERE Id = ?', (row["Id"],))
    report, error, task = verify(make, tmp_path)
    got = {r[0]: r for r in rows(report)}
    assert got[ACCESS] == (
        ACCESS,
        "SetupEntityAccess row",
        "not granted",
        "FAIL",
        step_ref("app_access"),
    )
    assert got[ASSIGNMENT][2:4] == ("assigned", "PASS")


def test_an_unassigned_set_is_not_assigned(sim_task, tmp_path):
    sim, make = sim_task("configured")
    sim.org.store.conn.execute(
        'DELETE FROM "PermissionSetAssignment" WHERE AssigneeId = ?', (user_id(sim, INTEGRATION),)
    )
    report, error, task = verify(make, tmp_path)
    got = {r[0]: r for r in rows(report)}
    assert got[ASSIGNMENT] == (
        ASSIGNMENT,
        f"assigned to {INTEGRATION}",
        "not assigned",
        "FAIL",
        step_ref("app_access"),
    )


def test_an_unreadable_permission_read_is_the_setup_rows_could_not_check(sim_task, tmp_path):
    sim, make = sim_task("setup_user_lacks_permission")
    report, error, task = verify(
        make, tmp_path, sim, "match=PermissionsCanApproveUninstalledApps+%3D+true:kind=503"
    )
    setup = rows(report)[0]
    assert setup[:2] == ("setup user access", f"{ADMIN} holds CanApproveUninstalledApps")
    assert setup[2].startswith("could not check: Query failed: HTTP 503: Service Unavailable."), (
        setup[2]
    )
    assert setup[3:] == ("UNREADABLE", RECHECK)
