"""sixsense_verify: table, JSON report without tokens, non-zero exit naming the step to run."""

import json

import pytest

from tests.tasks.conftest import (
    ADMIN_USER,
    APP_ROW,
    INTEGRATION,
    INTEGRATION_PS,
    INTEGRATION_USER,
    token,
)


def configured(org, approved=True, held=True):
    org.on("FROM User", records=[INTEGRATION_USER, ADMIN_USER])
    org.on(
        "FROM ConnectedApplication",
        records=[{**APP_ROW, "OptionsAllowAdminApprovedUsersOnly": approved}],
    )
    org.on("FROM PermissionSet WHERE Name IN", records=[INTEGRATION_PS])
    org.on(
        "FROM SetupEntityAccess",
        records=[
            {"ParentId": INTEGRATION_PS["Id"], "SetupEntityId": APP_ROW["Id"]},
            {
                "ParentId": INTEGRATION_PS["Id"],
                "SetupEntityId": "0H4000000000009AAA",
            },  # another app
        ],
    )
    org.on(
        "FROM PermissionSetAssignment",
        records=[{"PermissionSetId": INTEGRATION_PS["Id"], "AssigneeId": INTEGRATION_USER["Id"]}],
    )
    # A token that predates the policy change (APP_ROW's LastModifiedDate): it survived the switch.
    created = "2025-09-01T10:00:00.000+0000"
    held_tokens = [token(INTEGRATION, INTEGRATION_USER["Id"], created=created)] if held else []
    org.on("FROM OauthToken", records=held_tokens)


def test_all_checks_pass_and_the_report_has_no_tokens(make_task, org, tmp_path):
    configured(org)
    report = tmp_path / "out" / "verification.json"
    result = make_task(
        "sixsense_verify",
        integration_username=INTEGRATION,
        report_path=str(report),
        refresh_token_policy_checked="True",  # the policy is not readable by API here
    )()
    assert result == {
        "passed": True,
        "failed": [],
        "not_checked": [],
        "report_path": str(report),
        "html_path": str(report.with_suffix(".html")),
    }
    data = json.loads(report.read_text())
    assert data["passed"] is True
    assert [c["check"] for c in data["checks"]] == [
        "setup user access",
        "app installed",
        "permitted users",
        "refresh token policy",
        "IP relaxation",
        "app access: permission set Sixsense_Integration_Access",
        "assignment: Sixsense_Integration_Access",
        "app not blocked",
        "integration user authorized",
    ]
    # The app is not listed as ConnectedApp metadata here: its policies are SKIPPED, not PASS (facts §10.4);
    # the app is installed, so the setup user's permission is not checked (SKIPPED, not PASS).
    skipped = ("setup user access", "refresh token policy", "IP relaxation")
    assert all(c["result"] == "PASS" for c in data["checks"] if c["check"] not in skipped)
    assert [c["result"] for c in data["checks"] if c["check"] in skipped] == ["SKIPPED"] * 3
    assert [c["matters"] for c in data["not_checked"]] == [False] * 3
    for text in (report.read_text(), report.with_suffix(".html").read_text()):
        assert "AccessToken" not in text and "00D000000000001!SESSION" not in text
    assert org.writes() == []


def test_failures_name_the_step_to_run(make_task, org, errors, tmp_path):
    configured(org, approved=False)
    report = tmp_path / "v.json"
    task = make_task("sixsense_verify", integration_username=INTEGRATION, report_path=str(report))
    with pytest.raises(Exception) as err:
        task()
    assert type(err.value).__name__ == "VerificationFailed"
    message = str(err.value)
    assert (
        "permitted users: all users may self-authorize; run sixsense_set_permitted_users (Set Permitted Users to admin approved, article step 3)"
        in message
    )
    # The token is there, but without admin approval it is no evidence: the fix is Permitted Users.
    assert "integration user authorized: 1 token(s)" in message
    assert "Permitted Users not admin approved; run sixsense_set_permitted_users" in message
    assert task.return_values["failed"] == ["permitted users", "integration user authorized"]
    assert json.loads(report.read_text())["passed"] is False


def test_no_token_after_the_switch_fails_naming_the_reauthorization(make_task, org, tmp_path):
    configured(org, held=False)
    task = make_task(
        "sixsense_verify", integration_username=INTEGRATION, report_path=str(tmp_path / "v.json")
    )
    with pytest.raises(Exception) as err:
        task()
    assert "integration user authorized: no token" in str(err.value)
    assert "sixsense_reauthorize_integration_user" in str(err.value)
    assert task.return_values["failed"] == ["integration user authorized"]


def test_blocked_app_fails(make_task, org, tmp_path):
    configured(org)
    org.retrieve_files = {
        "blacklistedConsumers/Sixsense.blacklistedConsumer": (
            '<BlacklistedConsumer xmlns="http://soap.sforce.com/2006/04/metadata">'
            "<consumerName>sfdc_6sense_oauth_app</consumerName><masterLabel>6sense</masterLabel>"
            "</BlacklistedConsumer>"
        )
    }
    task = make_task(
        "sixsense_verify", integration_username=INTEGRATION, report_path=str(tmp_path / "r.json")
    )
    with pytest.raises(Exception, match="app not blocked: blocked: Sixsense"):
        task()
