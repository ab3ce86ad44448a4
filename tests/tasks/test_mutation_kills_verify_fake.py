"""sixsense_verify's rows word for word against the fake org (tests/tasks/conftest.py): the states of
test_mutation_kills_verify_report.py that the fake org can give, and the branches only a replaced reader
reaches (the blocked list's and the policy's failed reads, a terminal). Milliseconds each, so `make mutate`,
which runs each mutant's tests fastest first, meets them before the simulator's."""

from __future__ import annotations

import pytest

from tests.procedure_table import step_ref
from tests.tasks.conftest import APP_ROW
from tests.tasks.test_checks_fail import (
    INTEGRATION_PROFILE,
    profile_policy,  # noqa: F401 - a fixture
    verify,
)
from tests.tasks.test_mutation_kills_verify_report import (
    ACCESS,
    ADMIN,
    APP,
    INTEGRATION,
    IP_SKIP,
    PAGE,
    RECHECK,
    REFRESH_HELD_BACK,
    SETUP_SKIP,
    SKIPPED_IP,
    TOKEN_EXPECTED,
    UNREAD_REFRESH,
    installed_rows,
    nothing_done_rows,
    rows,
)


def test_configured_rows_word_for_word(make_task, org, tmp_path):
    from tests.tasks.test_verify import configured

    configured(org)
    report, error, task = verify(make_task, tmp_path)
    token = (
        "integration user authorized",
        TOKEN_EXPECTED,
        f"{INTEGRATION}'s token predates the app's last change (ConnectedApplication.LastModifiedDate "
        "2025-10-02T10:00:00.000+0000), so it survived the switch: pre-authorized; no reauthorization "
        "needed (1 token(s), newest created 2025-09-01T10:00:00.000+0000; admin approved)",
        "PASS",
        "",
    )
    assert rows(report) == installed_rows(APP_ROW["Id"], REFRESH_HELD_BACK, SKIPPED_IP, token)
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
    assert (
        report["session_policy"] == "OptionsHasSessionLevelPolicy false, MobileSessionTimeout null"
    )
    assert task.return_values["not_checked"] == ["refresh token policy"]
    assert type(error).__name__ == "VerificationFailed"


def test_not_admin_approved_and_no_token(make_task, org, tmp_path):
    from tests.tasks.test_verify import configured

    configured(org, approved=False, held=False)
    report, error, task = verify(make_task, tmp_path, refresh_token_policy_checked="True")
    token = (
        "integration user authorized",
        TOKEN_EXPECTED,
        "no token; Permitted Users not admin approved",
        "FAIL",
        step_ref("permitted_users"),
    )
    refresh = (
        "refresh token policy",
        "infinite",
        f"confirmed by operator, not verifiable by API ({UNREAD_REFRESH})",
        "SKIPPED",
        f"check it on {PAGE} of {APP}",
    )
    assert rows(report) == installed_rows(
        APP_ROW["Id"], refresh, SKIPPED_IP, token, permitted="all users may self-authorize"
    )
    assert task.return_values["failed"] == ["permitted users", "integration user authorized"]
    assert task.return_values["not_checked"] == []


def test_nothing_done_rows_word_for_word(make_task, org, tmp_path):
    from tests.tasks.conftest import ADMIN_USER, INTEGRATION_USER

    org.on("FROM User", records=[INTEGRATION_USER, ADMIN_USER])
    report, error, task = verify(make_task, tmp_path)
    assert rows(report) == nothing_done_rows()
    assert report["session_policy"] == "not read: app not installed"


def test_blocked_app_row(make_task, org, tmp_path):
    from tests.tasks.test_verify import configured

    configured(org)
    org.retrieve_files = {
        "blacklistedConsumers/Sixsense.blacklistedConsumer": (
            '<BlacklistedConsumer xmlns="http://soap.sforce.com/2006/04/metadata">'
            f"<consumerName>{APP}</consumerName><masterLabel>6sense</masterLabel>"
            "</BlacklistedConsumer>"
        )
    }
    report, error, task = verify(make_task, tmp_path)
    assert rows(report)[7] == (
        "app not blocked",
        "not on the blocked list (BlacklistedConsumer)",
        "blocked: Sixsense",
        "FAIL",
        "Unblock the app on Connected Apps OAuth Usage",
    )
    # the blocked list is retrieved at the project's API version (cumulusci.yml), in the request and in
    # its manifest
    version = task.project_config.project__package__api_version
    [retrieve] = [
        c.request for c in org.rsps.calls if c.request.headers.get("SOAPAction") == "retrieve"
    ]
    body = retrieve.body.decode() if isinstance(retrieve.body, bytes) else retrieve.body
    assert f"<apiVersion>{version}</apiVersion>" in body and f"<version>{version}</version>" in body
    assert "<name>BlacklistedConsumer</name>" in body and "<members>*</members>" in body


def _consumer(name: str, label: str) -> str:
    return (
        '<BlacklistedConsumer xmlns="http://soap.sforce.com/2006/04/metadata">'
        f"<consumerName>{name}</consumerName><masterLabel>{label}</masterLabel></BlacklistedConsumer>"
    )


def test_the_blocked_list_names_each_entry_of_this_app_by_consumer_name_or_label(
    make_task, org, tmp_path
):
    """The retrieve's zip holds its manifest first, an entry naming the app by its label only, one by its
    consumer name only, another app's, and one named after the app: the row names the three of this app."""
    from tests.tasks.test_verify import configured

    configured(org)
    org.retrieve_files = {
        "package.xml": "<Package/>",
        "blacklistedConsumers/ByLabel.blacklistedConsumer": _consumer("Someone", APP),
        "blacklistedConsumers/ByName.blacklistedConsumer": _consumer(APP, "6sense"),
        "blacklistedConsumers/Unrelated.blacklistedConsumer": _consumer("Other", "Other"),
        f"blacklistedConsumers/{APP}.blacklistedConsumer": _consumer("Renamed", "Renamed"),
    }
    report, error, task = verify(make_task, tmp_path)
    assert rows(report)[7][2:4] == (f"blocked: ByLabel, ByName, {APP}", "FAIL")


def _retrieve_raises(monkeypatch, error):
    """The BlacklistedConsumer retrieve raises ``error`` (cci's Metadata API client, replaced)."""
    import importlib

    class Raising:
        def __init__(self, *args, **kwargs):
            pass

        def __call__(self, *args, **kwargs):
            raise error

    monkeypatch.setattr(importlib.import_module("tasks.verify"), "ApiRetrieveUnpackaged", Raising)


def test_blocked_list_not_offered_is_skipped_and_a_fresh_token_says_why_it_does_not_matter(
    make_task, org, tmp_path, monkeypatch
):
    from cumulusci.salesforce_api.exceptions import MetadataApiError

    from tests.tasks.conftest import token
    from tests.tasks.test_verify import configured

    configured(org)
    org.on("FROM OauthToken", records=[token(INTEGRATION, "005000000000002AAA")])
    _retrieve_raises(monkeypatch, MetadataApiError("INVALID_TYPE: BlacklistedConsumer", None))
    report, error, task = verify(make_task, tmp_path, refresh_token_policy_checked="True")
    assert rows(report)[7] == (
        "app not blocked",
        "not on the blocked list",
        "not detectable (INVALID_TYPE: BlacklistedConsumer)",
        "SKIPPED",
        "check on Connected Apps OAuth Usage that the app is not blocked",
    )
    [skip] = [c for c in report["not_checked"] if c["check"] == "app not blocked"]
    assert skip["matters"] is False
    assert skip["note"] == (
        "the integration user's token for the app, read now, shows the app is not blocked (blocking ends "
        "all sessions and prevents new ones)"
    )
    assert error is None


@pytest.mark.parametrize(
    "raised, actual",
    [
        (
            "refused",
            "could not check: INSUFFICIENT_ACCESS: no Modify Metadata",
        ),
        (
            "expat",
            "could not check: Metadata retrieve failed: ValueError: not XML. run the flow again (steps "
            "already done are skipped)",
        ),
        (
            "dropped",
            "could not check: Metadata retrieve failed: ConnectionError: reset. Salesforce was busy or "
            "unreachable, and retrying did not help. Wait a minute, check https://status.salesforce.com and "
            "the network, then run the flow again (steps already done are skipped).",
        ),
        (
            "salesforce",
            "could not check: Metadata retrieve failed: INSUFFICIENT_ACCESS: no access. Fix what Salesforce "
            "reports, then run the flow again (steps already done are skipped).",
        ),
    ],
)
def test_a_failed_blocked_list_read_is_could_not_check(
    make_task, org, tmp_path, monkeypatch, raised, actual
):
    from cumulusci.salesforce_api.exceptions import MetadataApiError
    from simple_salesforce.exceptions import SalesforceMalformedRequest

    from tests.tasks.test_verify import configured

    error = {
        "refused": MetadataApiError("INSUFFICIENT_ACCESS: no Modify Metadata", None),
        "expat": ValueError("not XML"),
        "dropped": ConnectionError("reset"),
        "salesforce": SalesforceMalformedRequest(
            "https://x/services/Soap/m/65.0",
            400,
            "retrieve",
            [{"errorCode": "INSUFFICIENT_ACCESS", "message": "no access"}],
        ),
    }[raised]
    configured(org)
    _retrieve_raises(monkeypatch, error)
    report, error, task = verify(make_task, tmp_path, refresh_token_policy_checked="True")
    assert rows(report)[7] == (
        "app not blocked",
        "not on the blocked list",
        actual,
        "UNREADABLE",
        RECHECK,
    )
    assert task.return_values["not_checked"] == ["app not blocked"]


def test_a_failed_policy_read_is_could_not_check_for_both_policies(
    make_task, org, tmp_path, monkeypatch
):
    import importlib

    from tests.tasks.test_verify import configured

    def fails(task, name):
        raise ValueError("not XML")

    monkeypatch.setattr(importlib.import_module("tasks.app_policy"), "read_oauth_policy", fails)
    configured(org)
    report, error, task = verify(make_task, tmp_path)
    got = rows(report)[3:5]
    assert got == [
        (
            "refresh token policy",
            "infinite",
            "could not check: Metadata API read failed: ValueError: not XML",
            "UNREADABLE",
            RECHECK,
        ),
        (
            "IP relaxation",
            "ENFORCE",
            "could not check: Metadata API read failed: ValueError: not XML",
            "UNREADABLE",
            RECHECK,
        ),
    ]


@pytest.mark.parametrize("answer", ["y", "n", ""], ids=["yes", "no", "enter"])
def test_the_refresh_policy_question_word_for_word(make_task, org, tmp_path, terminal, answer):
    from tests.tasks.test_verify import configured

    configured(org)
    terminal(answer)
    report, error, task = verify(make_task, tmp_path)
    assert terminal.questions() == [
        f"{APP}'s Refresh Token Policy cannot be read by API. On {PAGE}, is it 'Refresh token is valid "
        "until revoked' or 'Expire refresh token if not used for' at least 30 days? [y/N]:"
    ]
    refresh = rows(report)[3]
    if answer == "y":
        assert refresh[2] == f"confirmed by operator, not verifiable by API ({UNREAD_REFRESH})"
        assert error is None
        assert task.audit_notes["confirmed"] == [
            f"at the terminal: {APP}'s Refresh Token Policy keeps refresh tokens"
        ]
    else:
        assert refresh == REFRESH_HELD_BACK
        assert task.return_values["not_checked"] == ["refresh token policy"]


@pytest.mark.parametrize(
    "case, actual, result, fix",
    [
        ("lacks", "not held", "FAIL", "sixsense_assign_setup_access"),
        ("missing", f"no user {ADMIN}", "FAIL", "sixsense_assign_setup_access"),
        (
            "no such field",
            "not checkable by SOQL: this org's PermissionSet has no PermissionsCanApproveUninstalledApps",
            "SKIPPED",
            f"check in Setup that {ADMIN} holds Approve Uninstalled Connected Apps, or run "
            "sixsense_assign_setup_access",
        ),
    ],
)
def test_setup_access_before_install_word_for_word(
    make_task, org, tmp_path, case, actual, result, fix
):
    from tests.tasks.conftest import INTEGRATION_USER, user

    admin = user(ADMIN, "005000000000001AAA", approve=False)
    org.on("FROM User", records=[INTEGRATION_USER] + ([] if case == "missing" else [admin]))
    if case == "no such field":
        org.permission_fields = {"ApiEnabled"}
    report, error, task = verify(make_task, tmp_path)
    assert rows(report)[0] == (
        "setup user access",
        f"{ADMIN} holds CanApproveUninstalledApps",
        actual,
        result,
        fix,
    )
    matters = [c["matters"] for c in report["not_checked"] if c["check"] == "setup user access"]
    assert matters == ([True] if result == "SKIPPED" else [])


@pytest.mark.usefixtures("profile_policy")
@pytest.mark.parametrize("granted", [True, False], ids=["granted", "not-granted"])
def test_a_profile_entry_of_the_policy_is_its_own_access_row(make_task, org, tmp_path, granted):
    """The policy names a profile: its profile-owned permission set's access row to *this* app (another
    app's row does not count); a profile the org does not have is named."""
    from tests.tasks.conftest import INTEGRATION_PS
    from tests.tasks.test_verify import configured

    configured(org)
    profile_set = {"Id": "0PS00000000000PAAA", "Profile": {"Name": INTEGRATION_PROFILE}}
    org.on("IsOwnedByProfile = true", records=[profile_set])
    access = [{"ParentId": INTEGRATION_PS["Id"], "SetupEntityId": APP_ROW["Id"]}]
    access.append(
        {"ParentId": profile_set["Id"], "SetupEntityId": APP_ROW["Id"] if granted else "0H4OTHER"}
    )
    org.on("FROM SetupEntityAccess", records=access)
    report, error, task = verify(make_task, tmp_path)
    got = {r[0]: r for r in rows(report)}
    check = f"app access: profile {INTEGRATION_PROFILE}"
    assert got[check] == (
        check,
        "SetupEntityAccess row",
        "granted" if granted else "not granted",
        "PASS" if granted else "FAIL",
        "" if granted else step_ref("app_access"),
    )
    assert list(got).index(check) == list(got).index(ACCESS) + 1
    assert any("Profile.Name IN ('Minimum Access - API Only Integrations')" in q for q in org.soql)


@pytest.mark.usefixtures("profile_policy")
def test_a_profile_not_in_the_org_is_named(make_task, org, tmp_path):
    from tests.tasks.test_verify import configured

    configured(org)
    org.on("IsOwnedByProfile = true", records=[])
    report, error, task = verify(make_task, tmp_path)
    check = f"app access: profile {INTEGRATION_PROFILE}"
    assert {r[0]: r for r in rows(report)}[check] == (
        check,
        "SetupEntityAccess row",
        f"no profile {INTEGRATION_PROFILE} in this org",
        "FAIL",
        step_ref("app_access"),
    )


def test_a_desired_policy_that_sets_neither_policy_expects_a_dash(
    make_task, org, tmp_path, monkeypatch
):
    """A policy template without refreshTokenPolicy or ipRelaxation: the rows' expected is "-"."""
    import importlib

    from tests.tasks.conftest import ADMIN_USER, INTEGRATION_USER

    verify_module = importlib.import_module("tasks.verify")
    real = verify_module.read_policy_template
    monkeypatch.setattr(
        verify_module,
        "read_policy_template",
        lambda root: {**real(root), "refresh_token_policy": None, "ip_relaxation": None},
    )
    org.on("FROM User", records=[INTEGRATION_USER, ADMIN_USER])
    report, error, task = verify(make_task, tmp_path)
    policies = [r for r in rows(report) if r[0] in ("refresh token policy", "IP relaxation")]
    assert [r[:4] for r in policies] == [
        ("refresh token policy", "-", "app not installed", "FAIL"),
        ("IP relaxation", "-", "app not installed", "FAIL"),
    ]


def _policy_read_refused(monkeypatch, reader: str, message: str) -> None:
    """tasks.app_policy's ``reader`` raises SixsenseOrgError(``message``), as when Salesforce refuses it."""
    import importlib

    errors = importlib.import_module("tasks.errors")

    def refused(*args):
        raise errors.SixsenseOrgError(message)

    monkeypatch.setattr(importlib.import_module("tasks.app_policy"), reader, refused)


def test_a_refused_policy_read_is_could_not_check_in_salesforces_words(
    make_task, org, tmp_path, monkeypatch
):
    """read_oauth_policy's SixsenseOrgError (a refused listMetadata/readMetadata): its words, not a type."""
    from tests.tasks.test_verify import configured

    _policy_read_refused(
        monkeypatch, "read_oauth_policy", "INSUFFICIENT_ACCESS: Metadata API refused"
    )
    configured(org)
    report, error, task = verify(make_task, tmp_path)
    assert rows(report)[3:5] == [
        (
            name,
            expected,
            "could not check: INSUFFICIENT_ACCESS: Metadata API refused",
            "UNREADABLE",
            RECHECK,
        )
        for name, expected in (("refresh token policy", "infinite"), ("IP relaxation", "ENFORCE"))
    ]


def test_an_unreadable_validity_row_is_could_not_check_for_the_refresh_policy_only(
    make_task, org, tmp_path, monkeypatch
):
    """Not ConnectedApp metadata, and the validity fields' read refused: the refresh-token policy could not
    be checked (no question asked); IP relaxation stays the skip that does not matter."""
    from tests.tasks.test_verify import configured

    _policy_read_refused(
        monkeypatch, "validity_verdict", "the app's ConnectedApplication row is gone"
    )
    configured(org)
    report, error, task = verify(make_task, tmp_path)
    assert rows(report)[3:5] == [
        (
            "refresh token policy",
            "infinite",
            "could not check: the app's ConnectedApplication row is gone",
            "UNREADABLE",
            RECHECK,
        ),
        SKIPPED_IP,
    ]
    assert task.return_values["not_checked"] == ["refresh token policy"]


@pytest.mark.parametrize(
    "period, idle, result", [(0, True, "FAIL"), (720, True, "PASS")], ids=["expires", "keeps"]
)
def test_a_validity_that_decides_is_the_refresh_rows_verdict(
    make_task, org, tmp_path, period, idle, result
):
    """Not ConnectedApp metadata, but ConnectedApplication's validity fields decide: the row says so, with
    the desired policy as expected and no question (ConnectedApplication ... is the actual)."""
    from tests.tasks.test_mutation_kills_verify_report import POLICY_FIX
    from tests.tasks.test_verify import configured

    configured(org)
    org.on(
        "RefreshTokenValidityPeriod",
        records=[{"RefreshTokenValidityPeriod": period, "OptionsRefreshTokenValidityMetric": idle}],
    )
    report, error, task = verify(make_task, tmp_path)
    name, expected, actual, got, fix = rows(report)[3]
    assert (name, expected, got, fix) == (
        "refresh token policy",
        "infinite",
        result,
        POLICY_FIX if result == "FAIL" else "",
    )
    assert actual.startswith("ConnectedApplication ")
    assert "refresh token policy" not in task.return_values["not_checked"]


def test_access_before_install_is_app_not_installed_and_the_assignment_is_still_read(
    make_task, org, tmp_path
):
    """Steps 2 and 4 done (the set deployed and assigned), the app not installed yet: the access row says
    the app is missing, the assignment passes."""
    from tests.tasks.conftest import ADMIN_USER, INTEGRATION_PS, INTEGRATION_USER

    org.on("FROM User", records=[INTEGRATION_USER, ADMIN_USER])
    org.on("FROM PermissionSet WHERE Name IN", records=[INTEGRATION_PS])
    org.on(
        "FROM PermissionSetAssignment",
        records=[{"PermissionSetId": INTEGRATION_PS["Id"], "AssigneeId": INTEGRATION_USER["Id"]}],
    )
    report, error, task = verify(make_task, tmp_path)
    expected = nothing_done_rows()
    grant = step_ref("app_access")
    expected[5] = (ACCESS, "SetupEntityAccess row", "app not installed", "FAIL", grant)
    expected[6] = (expected[6][0], expected[6][1], "assigned", "PASS", "")
    # (the fake org answers the setup user's permission sources with this assignment too: not compared)
    assert rows(report)[1:] == expected[1:]


def test_a_refused_profile_read_is_each_profile_rows_could_not_check(
    make_task, org, tmp_path, monkeypatch
):
    """Two profiles in the desired policy and the profile-owned permission sets' read refused: each
    profile's access row could not be checked, in Salesforce's words; the permission set's own row is
    still read."""
    import importlib

    from tests.tasks.test_verify import configured

    verify_module = importlib.import_module("tasks.verify")
    real = verify_module.read_policy_template
    profiles = [INTEGRATION_PROFILE, "Second Profile"]
    monkeypatch.setattr(
        verify_module, "read_policy_template", lambda root: {**real(root), "profiles": profiles}
    )
    configured(org)
    org.refuse("IsOwnedByProfile = true", message="no access to Profile")
    report, error, task = verify(make_task, tmp_path)
    got = {r[0]: r for r in rows(report)}
    for profile in profiles:
        check = f"app access: profile {profile}"
        assert got[check] == (
            check,
            "SetupEntityAccess row",
            "could not check: Query failed: INSUFFICIENT_ACCESS: no access to Profile. Fix what "
            "Salesforce reports, then run the flow again (steps already done are skipped).",
            "UNREADABLE",
            RECHECK,
        )
    assert got[ACCESS][3] == "PASS"


def test_refused_permission_sets_make_every_policy_set_could_not_check(
    make_task, org, tmp_path, monkeypatch
):
    """Two permission sets in the desired policy and their read refused: each has its own access and
    assignment rows, could not check."""
    import importlib

    from tests.tasks.test_verify import configured

    verify_module = importlib.import_module("tasks.verify")
    real = verify_module.read_policy_template
    monkeypatch.setattr(
        verify_module,
        "read_policy_template",
        lambda root: {
            **real(root),
            "permission_sets": [*real(root)["permission_sets"], "Second_Set"],
        },
    )
    configured(org)
    org.refuse("FROM PermissionSet WHERE Name IN", message="no access to PermissionSet")
    report, error, task = verify(make_task, tmp_path)
    names = [r[0] for r in rows(report) if r[3] == "UNREADABLE"]
    assert names == [
        ACCESS,
        "app access: permission set Second_Set",
        f"assignment: {ACCESS.removeprefix('app access: permission set ')}",
        "assignment: Second_Set",
    ]
