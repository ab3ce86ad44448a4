"""sixsense_troubleshoot and the error catalogue: every Appendix row -> cause and fix naming the right action;
URL and free-text parsing; unknown codes; fixes tailored to the live org state; read-only."""

from __future__ import annotations

import json

import pytest

from tests.tasks.conftest import (
    ADMIN,
    ADMIN_USER,
    APP,
    APP_ROW,
    INTEGRATION,
    INTEGRATION_USER,
    token,
    user,
)
from tests.tasks.test_diagnose import (
    assert_no_secret_fields,
    assert_read_only,
    base_org,
    class_task_factory,
)
from tests.tasks.test_diagnose_sim import sim_factory

TROUBLESHOOT = "tasks.troubleshoot.Troubleshoot"
#: What CumulusCI 4.10.1 prints when the org refuses its session's client (cci org info, cci org connect, a
#: flow's start), line breaks and all (tests/e2e/test_troubleshoot_unreachable.py checks it is still so).
CCI_REFUSED_TEXT = (
    "Error: Expired session for \n"
    "https://acme.my.salesforce.com/services/data/v66.0/sobjects/Organization/00D5i000000SIM\n"
    "UEA4. Response content: [{'message': 'This session is not valid for use with the\n"
    "REST API', 'errorCode': 'INVALID_SESSION_ID'}]"
)
#: CumulusCI's text when its token refresh goes through an app blocked on OAuth Usage
#: (cumulusci/oauth/client.py ``validate_response``; the body: salesforce-facts.md §6.2).
CCI_BLOCKED_TEXT = (
    "Error: OAuth failed\n"
    "status_code: 400\n"
    """content: b'{"error":"app_blocked","error_description":"this app is blocked by admin"}'"""
)
SEED_URL = (
    "https://x.my.salesforce.com/setup/secur/RemoteAccessErrorPage.apexp"
    "?error=invalid_client&error_description=app+must+be+installed+into+org"
)

# field-cases.md Appendix, one row each (plus the seed's two codes): input -> (entry code, words the cause
# mentions, words the fix mentions).
APPENDIX = [
    (
        "OAUTH_APPROVAL_ERROR_GENERIC",
        "OAUTH_APPROVAL_ERROR_GENERIC",
        ["not installed", "Approve Uninstalled Connected Apps"],
        ["Install", "sixsense_install_connected_app", "sixsense_assign_setup_access"],
    ),
    (
        SEED_URL,
        "OAUTH_APPROVAL_ERROR_GENERIC",
        ["not installed"],
        ["sixsense_install_connected_app"],
    ),
    (
        "OAUTH_APPROVAL_ERROR_GENERIC for new users only; existing users still work",
        "OAUTH_APPROVAL_ERROR_GENERIC_NEW_USERS",
        ["existing tokens", "new user"],
        ["Install", "sixsense_existing_customer"],
    ),
    (
        "OAUTH_APP_BLOCKED",
        "OAUTH_APP_BLOCKED",
        ["blocked"],
        ["Unblock", "Install"],
    ),
    (
        "invalid_app_access::user is not admin approved to access this app",
        "invalid_app_access",
        ["admin approved", "SetupEntityAccess"],
        ["sixsense_grant_app_access", "hour"],
    ),
    (
        "invalid_grant",
        "INVALID_GRANT",
        ["refused the grant", "expired access/refresh token"],
        ["error_description", "sixsense_reauthorize_integration_user"],
    ),
    (
        "OAUTH_APP_ACCESS_DENIED",
        "invalid_app_access",
        ["admin approved"],
        ["sixsense_grant_app_access"],
    ),
    (
        "error=invalid_grant&error_description=user+hasn%27t+approved+this+consumer",
        "INVALID_GRANT_NOT_APPROVED",
        ["never consented", "wrong login host"],
        ["Pre-authorize", "consent once", "test.salesforce.com"],
    ),
    (
        "invalid_grant: expired access/refresh token",
        "INVALID_GRANT_EXPIRED",
        ["revoked", "oldest"],
        ["sixsense_reauthorize_integration_user"],
    ),
    (
        "error=invalid_grant&error_description=authentication+failure",
        "INVALID_GRANT_AUTHENTICATION_FAILURE",
        ["password OAuth flow", "credentials"],
        ["web-server", "JWT"],
    ),
    (
        "External client app is not installed in this org",
        "ECA_NOT_INSTALLED",
        ["External Client App"],
        ["ECA package", "login host"],
    ),
    ("audience is invalid", "ECA_NOT_INSTALLED", ["login host"], ["login host"]),
    (
        "Access to uninstalled connected app is denied",
        "OAUTH_APPROVAL_ERROR_GENERIC",
        ["not installed"],
        ["Install"],
    ),
    (
        "Your admin must approve access to this app",
        "OAUTH_APPROVAL_ERROR_GENERIC",
        ["not installed"],
        ["Install"],
    ),
    (
        "https://acme.my.salesforce.com/identity/app/AppInstallErrorPage.apexp?error_code=generic_error",
        "INSTALL_GENERIC_ERROR",
        ["vendor"],
        ["6sense support"],
    ),
    (
        "Non sandbox app cannot be installed in this organization",
        "INSTALL_GENERIC_ERROR",
        ["sandbox"],
        ["6sense support"],
    ),
    (
        "INVALID_SESSION_ID: This session is not valid for use with the REST API",
        "CLIENT_APP_NOT_ALLOWLISTED",
        ["API Access Control", "not allowlisted"],
        ["Connected Apps OAuth Usage", "Admin approved users are pre-authorized"],
    ),
    (
        CCI_REFUSED_TEXT,
        "CLIENT_APP_NOT_ALLOWLISTED",
        ["CumulusCI", "Expired session for", "did not expire"],
        ["cci org info"],
    ),
    (
        CCI_BLOCKED_TEXT,
        "CLIENT_APP_BLOCKED",
        ["CumulusCI", "blocked on Connected Apps OAuth Usage", "prevents new ones"],
        ["Unblock", "cci org connect"],
    ),
    (
        # cci org connect through a blocked app: its browser callback gets the authorization's error
        # (cumulusci/oauth/client.py OAuthCallbackHandler), then validate_response's text
        "Error: OAuth failed\nstatus_code: 400\ncontent: error: OAUTH_APP_BLOCKED\n"
        "error description: this app is blocked by admin",
        "CLIENT_APP_BLOCKED",
        ["cci org connect"],
        ["Unblock"],
    ),
    (
        "OAUTH_APP_BLOCKED: this app is blocked by admin",
        "OAUTH_APP_BLOCKED",
        ["blocked"],
        ["Unblock"],
    ),
    (
        "INVALID_SESSION_ID: Session expired or invalid",
        "INVALID_SESSION_ID",
        ["expired"],
        ["run the flow again"],
    ),
    (
        "Unknown user permission: UseAnyApiClient",
        "UNKNOWN_USER_PERMISSION",
        ["UseAnyApiClient", "API Access Control"],
        ["sixsense_deploy_access"],
    ),
    (
        "Permission ManageUsers depends on permission(s): ViewRoles",
        "PERMISSION_DEPENDENCY",
        ["dependency"],
        ["depends on permission"],
    ),
    (
        "DUPLICATE_DEVELOPER_NAME",
        "DUPLICATE_DEVELOPER_NAME",
        ["non-idempotent"],
        ["sixsense_deploy_access"],
    ),
    ("DUPLICATE_MASTER_LABEL", "DUPLICATE_DEVELOPER_NAME", ["looking it up"], ["compares"]),
    (
        "INVALID_FIELD: No such column 'PermissionsUseAnyApiClient' on entity 'PermissionSet'",
        "INVALID_FIELD",
        ["describe"],
        ["Metadata API deploy", "skip"],
    ),
    (
        "The user license doesn't allow the permission: Api Enabled",
        "LICENSE_DOES_NOT_ALLOW_PERMISSION",
        ["licence"],
        ["permission set licence"],
    ),
    (
        "OAUTH_EC_APP_NOT_FOUND",
        "OAUTH_EC_APP_NOT_FOUND",
        ["External Client App"],
        ["ECA package"],
    ),
    (
        "Verification incomplete:\n  - refresh token policy: not checked (not readable: this org does not "
        "list sfdc_6sense_oauth_app as ConnectedApp metadata; ...); check it on ...",
        "REFRESH_TOKEN_POLICY_NOT_CHECKED",
        ["Expire refresh token immediately", "ConnectedApp metadata"],
        ["Manage App Policies", "-o refresh_token_policy_checked True"],
    ),
]


@pytest.fixture
def ec(runtime):
    import importlib

    return importlib.import_module("tasks.error_codes")


@pytest.fixture
def make_class_task(runtime, org_config, tmp_path):
    return class_task_factory(runtime, org_config, tmp_path)


@pytest.fixture
def sim_diagnose(start_sim, runtime, monkeypatch, tmp_path):
    return sim_factory(start_sim, runtime, monkeypatch, tmp_path)


@pytest.fixture
def troubleshoot(make_class_task):
    def _run(error, **options):
        return make_class_task(TROUBLESHOOT, error=error, **options)()

    return _run


# -- catalogue and parsing (pure) ---------------------------------------------------------------------


def test_catalogue_loads_and_every_entry_names_cause_fix_and_source(ec):
    entries = ec.catalogue()
    assert len(entries) >= 17
    for entry in entries:
        assert entry.cause and entry.fix and entry.source and entry.cases, entry.code


@pytest.mark.parametrize("text, code, _cause, _fix", APPENDIX)
def test_catalogue_matches_every_appendix_row(ec, text, code, _cause, _fix):
    entry = ec.match(text)
    assert entry is not None and entry.code == code


def test_every_catalogue_entry_is_pinned_by_a_row(ec):
    assert {e.code for e in ec.catalogue()} == {row[1] for row in APPENDIX}


def test_url_parameters_are_parsed(ec):
    parsed = ec.parse_error_input(SEED_URL)
    assert parsed.url == SEED_URL
    assert parsed.error == "invalid_client"
    assert parsed.description == "app must be installed into org"


def test_free_text_finds_a_known_code(ec):
    parsed = ec.parse_error_input(
        "6sense said: OAUTH_APPROVAL_ERROR_GENERIC: An unexpected error has occured during authentication."
    )
    assert parsed.error == "OAUTH_APPROVAL_ERROR_GENERIC"
    assert ec.match(parsed).code == "OAUTH_APPROVAL_ERROR_GENERIC"


def test_shared_code_alone_does_not_pick_a_specific_entry(ec):
    assert ec.match("invalid_grant").code == "INVALID_GRANT"
    assert ec.match("invalid_client") is None


def test_get_by_code_or_alias(ec):
    assert ec.get("app_blocked").code == "OAUTH_APP_BLOCKED"
    assert ec.get("oauth_approval_error_generic").code == "OAUTH_APPROVAL_ERROR_GENERIC"
    assert ec.get("NOPE") is None


# -- the task: every row through the task, with a plain org ---------------------------------------------


@pytest.mark.parametrize("text, code, cause_words, fix_words", APPENDIX)
def test_troubleshoot_answers_every_row(troubleshoot, org, text, code, cause_words, fix_words):
    base_org(org)
    result = troubleshoot(text, integration_username=INTEGRATION)
    assert result["known"] is True
    assert result["code"] == code
    for word in cause_words:
        assert word.lower() in result["cause"].lower(), (word, result["cause"])
    for word in fix_words:
        assert word.lower() in result["fix"].lower(), (word, result["fix"])
    assert result["diagnosis"]["next_step"]["step"]
    assert_read_only(org)


def test_seed_url_in_an_org_where_the_app_is_not_installed_and_admin_holds_the_permission(
    troubleshoot, org
):
    base_org(org)
    result = troubleshoot(SEED_URL, integration_username=INTEGRATION)
    assert result["input"] == {
        "error": "invalid_client",
        "description": "app must be installed into org",
        "url": SEED_URL,
    }
    assert "is NOT installed" in result["cause"]
    assert (
        "setup user admin@example.com holds Approve Uninstalled Connected Apps "
        "(through profile System Administrator)"
    ) in result["cause"]
    assert "sixsense_assign_setup_access -o setup_username" not in result["fix"]
    assert "Authorize the 6sense app once as the setup user (article step 1)" in result["fix"]


def test_approval_error_when_the_setup_user_lacks_the_permission(troubleshoot, org):
    base_org(org, setup=user(ADMIN, ADMIN_USER["Id"], profile="Custom Admin", approve=False))
    result = troubleshoot("OAUTH_APPROVAL_ERROR_GENERIC", integration_username=INTEGRATION)
    assert "does NOT hold Approve Uninstalled Connected Apps" in result["cause"]
    assert "Custom Admin" in result["cause"]
    assert result["fix_steps"][0] == (
        "Give the setup user the permission: cci task run sixsense_assign_setup_access "
        f"-o setup_username admin@example.com -o integration_username {INTEGRATION}."
    )


def test_approval_error_for_an_existing_customer_mentions_grandfathered_tokens(troubleshoot, org):
    base_org(org)
    org.on("FROM OauthToken", records=[token(INTEGRATION, INTEGRATION_USER["Id"])])
    result = troubleshoot("OAUTH_APPROVAL_ERROR_GENERIC", integration_username=INTEGRATION)
    assert "keep working on their existing tokens" in result["cause"]
    assert "can be installed now" in result["cause"]
    assert "Install the app (article step 2)" in result["fix"]


def test_approval_error_after_install_says_it_should_not_recur(troubleshoot, org):
    """The catalogue's cause (the app is not installed) is contradicted by the org: the answer says so
    instead of stating it as this org's cause (issue 18)."""
    base_org(org)
    org.on("FROM ConnectedApplication", records=[APP_ROW])
    result = troubleshoot("OAUTH_APPROVAL_ERROR_GENERIC", integration_username=INTEGRATION)
    assert "installed now" in result["cause"]
    assert result["cause_holds"] is False
    assert result["title"].endswith("(not the cause in this org now)")
    assert result["cause"].startswith("Usually: ")
    assert "That is not the cause in this org now: The app is installed now" in result["cause"]
    assert "In this org:" not in result["cause"]


def test_a_cause_the_org_confirms_is_stated_once_as_this_orgs(troubleshoot, org):
    """Not installed: the cause holds, and "In this org" is said once (it was "In this org: In this org")."""
    base_org(org)
    result = troubleshoot("OAUTH_APPROVAL_ERROR_GENERIC", integration_username=INTEGRATION)
    assert result["cause_holds"] is True
    assert result["cause"].count("In this org") == 1
    assert "In this org: The 6sense app (" in result["cause"]
    assert "(not the cause" not in result["title"]


def test_pre_authorization_error_on_a_self_authorize_app_is_ruled_out(troubleshoot, org):
    base_org(org)
    org.on(
        "FROM ConnectedApplication",
        records=[{**APP_ROW, "OptionsAllowAdminApprovedUsersOnly": False}],
    )
    result = troubleshoot("invalid_app_access", integration_username=INTEGRATION)
    assert result["cause_holds"] is False
    assert "pre-authorization does not apply" in result["cause"]


def test_blocked_with_the_app_on_the_blocked_list(troubleshoot, org):
    base_org(org)
    org.list_metadata = [APP]
    result = troubleshoot(
        "error=OAUTH_APP_BLOCKED&error_description=this+app+is+blocked+by+admin",
        integration_username=INTEGRATION,
    )
    assert "IS on this org's blocked list" in result["cause"]
    assert result["fix_steps"][0].startswith(
        "Select Unblock for the app on https://acme.my.salesforce.com"
    )


def test_blocked_under_enforcing_api_access_control_means_install(troubleshoot, org):
    from tests.tasks.test_diagnose import SETTINGS_ENFORCING

    base_org(org)
    org.permission_fields.add("UseAnyApiClient")
    org.retrieve_files = {"settings/ConnectedApp.settings": SETTINGS_ENFORCING}
    result = troubleshoot("OAUTH_APP_BLOCKED", integration_username=INTEGRATION)
    assert "not on this org's blocked list" in result["cause"]
    assert (
        "API Access Control is enforcing, so the uninstalled app is refused as blocked"
        in result["cause"]
    )
    assert "sixsense_install_connected_app" in result["fix_steps"][0]


def test_blocked_for_admin_approved_app_without_access_says_grant(troubleshoot, org):
    base_org(org)
    org.on("FROM ConnectedApplication", records=[APP_ROW])
    result = troubleshoot("OAUTH_APP_BLOCKED", integration_username=INTEGRATION)
    assert "has NO access" in result["cause"]
    assert (
        "sixsense_grant_app_access -o integration_username sixsense.integration@example.com"
        in result["fix"]
    )


def test_invalid_app_access_with_access_granted_says_wait(troubleshoot, org):
    from tests.tasks.test_diagnose import _access

    base_org(org)
    _access(org)
    result = troubleshoot("invalid_app_access", integration_username=INTEGRATION)
    assert "has access (through permission set Sixsense_Integration_Access)" in result["cause"]
    assert "wait" in result["cause"]


def test_expired_token_reports_the_integration_users_tokens(troubleshoot, org):
    base_org(org)
    mine = [token(INTEGRATION, INTEGRATION_USER["Id"]) for _ in range(4)]
    org.on("FROM OauthToken", records=mine)
    result = troubleshoot("expired access/refresh token", integration_username=INTEGRATION)
    assert "holds 4 token(s) for the app" in result["cause"]
    assert "per-user limit" in result["cause"]


def test_host_errors_name_the_org_kind_and_login_host(troubleshoot, org):
    from tests.tasks.test_diagnose import ORG_ROW

    base_org(org)
    org.on("FROM Organization", records=[{**ORG_ROW, "IsSandbox": True}])
    result = troubleshoot("audience is invalid")
    assert "sandbox org with My Domain acme.my.salesforce.com" in result["cause"]
    assert "test.salesforce.com" in result["fix"]


def test_unknown_code_says_so_and_still_shows_the_diagnosis(troubleshoot, org, caplog):
    import logging

    caplog.set_level(logging.INFO)
    base_org(org)
    result = troubleshoot("SOMETHING_ODD_HAPPENED", integration_username=INTEGRATION)
    assert result["known"] is False
    assert result["code"] == "SOMETHING_ODD_HAPPENED"
    assert result["cause"].startswith("unknown error code SOMETHING_ODD_HAPPENED")
    assert result["diagnosis"]["next_step"]["task"] == "sixsense_authorize_setup_user"
    assert "unknown error code SOMETHING_ODD_HAPPENED" in caplog.text
    assert "API Access Control" in caplog.text  # the diagnosis tables are logged too
    assert "Authorize the 6sense app once as the setup user (article step 1)" in result["fix"]


def test_missing_error_option_is_an_input_error(make_class_task, errors):
    from cumulusci.core.exceptions import TaskOptionsError

    with pytest.raises(TaskOptionsError):
        make_class_task(TROUBLESHOOT, org=None, error="  ")


def test_reports_written_read_only_and_no_secrets(troubleshoot, org, tmp_path, org_config):
    base_org(org)
    org.on("FROM OauthToken", records=[token(INTEGRATION, INTEGRATION_USER["Id"])])
    result = troubleshoot(
        "OAUTH_APP_BLOCKED",
        integration_username=INTEGRATION,
        json_path=str(tmp_path / "t" / "t.json"),
        markdown_path=str(tmp_path / "t" / "t.md"),
    )
    data = json.loads((tmp_path / "t" / "t.json").read_text())
    markdown = (tmp_path / "t" / "t.md").read_text()
    assert data["code"] == "OAUTH_APP_BLOCKED" and data["diagnosis"]["app"]["state"] == "used"
    assert markdown.startswith("# 6sense troubleshooting: OAUTH_APP_BLOCKED")
    assert "**Next step:**" in markdown
    assert org_config.access_token not in json.dumps(result) + markdown
    assert_read_only(org)
    assert_no_secret_fields(org)


def test_troubleshoot_against_the_simulator_with_a_real_authorization_error(sim_diagnose):
    """The simulator refuses the setup user's authorization in a custom-admin org; troubleshoot explains it."""
    sim, run = sim_diagnose("setup_user_lacks_permission", class_path=TROUBLESHOOT)
    refused = sim.action("authorize", username=ADMIN)
    assert refused["error"] == "OAUTH_APPROVAL_ERROR_GENERIC"
    result = run(
        error=f"{refused['error']}: {refused['error_description']}",
        integration_username=INTEGRATION,
    )
    assert result["code"] == "OAUTH_APPROVAL_ERROR_GENERIC"
    assert "does NOT hold Approve Uninstalled Connected Apps" in result["cause"]
    assert "sixsense_assign_setup_access" in result["fix_steps"][0]
    assert [r for r in sim.requests() if r["kind"] == "write"] == []


def test_catalogue_sources_are_filled_in(tasks_module):
    """Every placeholder of a shown source is filled in (``{vendor}`` was once printed as is)."""
    entries = tasks_module("error_codes").catalogue()
    assert any("6sense" in e.source for e in entries)
    assert not [e.code for e in entries if "{" in e.source], [e.source for e in entries]
