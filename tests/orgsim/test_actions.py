"""The human steps (authorize, install, policy, block/unblock) and their documented outcomes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.orgsim.simclient import sf_for, sim_post

ADMIN = "admin@example.com"
INTEGRATION = "sixsense.integration@example.com"
ROOT = Path(__file__).resolve().parents[2]


def test_authorize_without_the_permission_fails_generic_but_makes_the_app_visible(make_sim):
    sim = make_sim("setup_user_lacks_permission")
    result = sim.action("authorize", username=ADMIN)
    assert result == {
        "error": "OAUTH_APPROVAL_ERROR_GENERIC",
        "error_description": "app must be installed into org",
    }
    assert sim.org.app_state()["visible"] is True
    assert (
        sf_for(sim).query("SELECT Id FROM OauthToken WHERE AppName = 'sfdc_6sense_oauth_app'")[
            "totalSize"
        ]
        == 0
    )


def test_authorize_as_system_administrator_creates_a_token(sim):
    assert sim.action("authorize", username=ADMIN)["ok"] is True
    token = sf_for(sim).query(
        "SELECT AppName, AppMenuItemId, UseCount FROM OauthToken WHERE AppName != 'CumulusCI'"
    )["records"][0]
    assert token["AppName"] == "sfdc_6sense_oauth_app" and token["AppMenuItemId"] is None


def test_authorize_blocked_under_api_access_control_until_installed(make_sim):
    sim = make_sim("new_customer_acc")
    assert sim.action("authorize", username=ADMIN)["error"] == "OAUTH_APP_BLOCKED"
    assert sim.org.app_state()["visible"] is True
    assert sim.action("install")["ok"]
    assert sim.action("authorize", username=ADMIN)["ok"]


def test_blocked_app_refuses_authorization_and_block_revokes_tokens(make_sim):
    sim = make_sim("existing_customer")
    assert sim.action("block")["revoked_tokens"] == 1
    assert sim.action("authorize", username=ADMIN) == {
        "error": "OAUTH_APP_BLOCKED",
        "error_description": "this app is blocked by admin",
    }
    assert sim.action("unblock")["ok"]
    assert sim.action("authorize", username=ADMIN)["ok"]


def test_install_needs_a_visible_app(sim):
    assert sim.action("install") == {
        "error": "not_visible",
        "error_description": "app not listed on Connected Apps OAuth Usage",
    }


def test_install_creates_connected_application_and_app_menu_item_and_links_tokens(make_sim):
    sim = make_sim("existing_customer")
    assert (
        sf_for(sim).query(
            "SELECT Id FROM ConnectedApplication WHERE Name = 'sfdc_6sense_oauth_app'"
        )["totalSize"]
        == 0
    )
    assert sim.action("install")["ok"]
    sf = sf_for(sim)
    app = sf.query(
        "SELECT Id, OptionsAllowAdminApprovedUsersOnly FROM ConnectedApplication WHERE Name = 'sfdc_6sense_oauth_app'"
    )["records"][0]
    assert app["OptionsAllowAdminApprovedUsersOnly"] is False
    item = sf.query(f"SELECT Id, Type FROM AppMenuItem WHERE ApplicationId = '{app['Id']}'")[
        "records"
    ][0]
    assert item["Type"] == "ConnectedApplication"
    token = sf.query(
        "SELECT AppMenuItemId FROM OauthToken WHERE AppName = 'sfdc_6sense_oauth_app'"
    )["records"][0]
    assert token["AppMenuItemId"] == item["Id"]


def test_admin_approved_policy_revokes_tokens_of_users_not_pre_authorized(make_sim):
    sim = make_sim("existing_customer")
    sim.action("install")
    result = sim.action("policy", permitted_users="admin_approved")
    assert result["revoked_tokens"] == 1
    sf = sf_for(sim)
    assert (
        sf.query("SELECT Id FROM OauthToken WHERE AppName = 'sfdc_6sense_oauth_app'")["totalSize"]
        == 0
    )
    assert (
        sf.query(
            "SELECT IsUsingAdminAuthorization FROM AppMenuItem WHERE Name = 'sfdc_6sense_oauth_app'"
        )["records"][0]["IsUsingAdminAuthorization"]
        is True
    )
    # Other apps' tokens are untouched.
    assert sf.query("SELECT Id FROM OauthToken WHERE AppName = 'Pardot'")["totalSize"] == 1


def test_the_switch_keeps_a_pre_authorized_users_token_by_default(make_sim):
    """Salesforce's warning (facts §7.1): only users without pre-authorization lose access."""
    sim = make_sim("existing_customer")  # the same org, with the default reading
    _grant_integration_access(sim)
    assert sim.action("policy", permitted_users="admin_approved")["revoked_tokens"] == 0
    assert len(sim.org.store.find("OauthToken", AppName="sfdc_6sense_oauth_app")) == 1


def test_where_the_switch_logs_out_all_users_a_pre_authorized_token_is_revoked_too(make_sim):
    """The vendor article's text (facts §10.1, scenario features.admin_approval_revokes: all), and only on an
    actual switch: setting admin approved again revokes nothing more."""
    sim = make_sim("admin_approval_logs_out_all_users")
    _grant_integration_access(sim)
    assert sim.action("policy", permitted_users="admin_approved")["revoked_tokens"] == 1
    assert sim.org.store.find("OauthToken", AppName="sfdc_6sense_oauth_app") == []
    assert sim.action("authorize", username=INTEGRATION)[
        "ok"
    ]  # pre-authorized: may authorize again
    assert sim.action("policy", permitted_users="admin_approved")["revoked_tokens"] == 0
    assert len(sim.org.store.find("OauthToken", AppName="sfdc_6sense_oauth_app")) == 1


def _grant_integration_access(sim) -> None:
    """Install, then give the integration user's profile access while all users may self-authorize: Salesforce
    allows it once the app is installed (facts §5)."""
    sim.action("install")
    assert not sim.org.app_state()["admin_approved"]
    user = sim.org.user_by_username(INTEGRATION)
    profile_ps = sf_for(sim).query(
        f"SELECT Id FROM PermissionSet WHERE ProfileId = '{user['ProfileId']}'"
    )["records"][0]["Id"]
    sf_for(sim).SetupEntityAccess.create(
        {"ParentId": profile_ps, "SetupEntityId": sim.org.app_state()["connected_application_id"]}
    )


def test_admin_approved_app_refuses_users_not_pre_authorized_then_accepts_them(make_sim):
    sim = make_sim("existing_customer")
    sim.action("install")
    sim.action("policy", permitted_users="admin_approved")
    assert sim.action("authorize", username=INTEGRATION) == {
        "error": "invalid_app_access",
        "error_description": "user is not admin approved to access this app",
    }
    sf = sf_for(sim)
    ps = sf.PermissionSet.create(
        {"Name": "Sixsense_Integration_Access", "Label": "6sense Integration Access"}
    )["id"]
    sf.PermissionSetAssignment.create(
        {"AssigneeId": sim.org.user_by_username(INTEGRATION)["Id"], "PermissionSetId": ps}
    )
    sf.SetupEntityAccess.create(
        {"ParentId": ps, "SetupEntityId": sim.org.app_state()["connected_application_id"]}
    )
    assert sim.action("authorize", username=INTEGRATION)["ok"]


def test_profile_access_pre_authorizes_too(make_sim):
    sim = make_sim("existing_customer")
    sim.action("install")
    sim.action("policy", permitted_users="admin_approved")
    user = sim.org.user_by_username(INTEGRATION)
    profile_ps = sf_for(sim).query(
        f"SELECT Id FROM PermissionSet WHERE ProfileId = '{user['ProfileId']}'"
    )["records"][0]["Id"]
    sf_for(sim).SetupEntityAccess.create(
        {"ParentId": profile_ps, "SetupEntityId": sim.org.app_state()["connected_application_id"]}
    )
    assert sim.action("authorize", username=INTEGRATION)["ok"]


def test_inactive_user_cannot_authorize(sim):
    sf_for(sim).User.update(sim.org.user_by_username(ADMIN)["Id"], {"IsActive": False})
    assert sim.action("authorize", username=ADMIN) == {
        "error": "invalid_grant",
        "error_description": "inactive user",
    }


def test_at_most_five_tokens_per_user_per_app(sim):
    for _ in range(7):
        assert sim.action("authorize", username=ADMIN)["ok"]
    assert (
        sf_for(sim).query("SELECT Id FROM OauthToken WHERE AppName = 'sfdc_6sense_oauth_app'")[
            "totalSize"
        ]
        == 5
    )


def test_sim_actions_over_http_and_cli(sim):
    resp = sim_post(sim, "/_sim/actions/authorize", {"username": ADMIN})
    assert resp.status_code == 200 and resp.json()["ok"] is True
    bad = sim_post(sim, "/_sim/actions/policy", {"permitted_users": "admin_approved"})
    assert bad.status_code == 400 and bad.json()["error"] == "not_installed"
    env = {**os.environ, "REQUESTS_CA_BUNDLE": sim.cert_file, "PYTHONPATH": str(ROOT)}
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "orgsim",
            "action",
            "install",
            "--url",
            sim.url,
            f"--token={sim.admin_token}",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
    )
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["ok"] is True
    assert sim.org.app_state()["installed"] is True
    # Without the CA bundle it refuses rather than send the admin token unverified.
    unverified = subprocess.run(
        [sys.executable, "-m", "orgsim", "action", "block", "--url", sim.url, "--token=x"],
        capture_output=True,
        text=True,
        env={k: v for k, v in env.items() if k != "REQUESTS_CA_BUNDLE"},
        cwd=ROOT,
        timeout=60,
    )
    assert unverified.returncode == 2 and "needs REQUESTS_CA_BUNDLE" in unverified.stderr
    assert sim.org.app_state()["blocked"] is False
    assert [r["kind"] for r in sim.requests() if r["path"].startswith("/_sim/actions")] == [
        "sim"
    ] * 3
