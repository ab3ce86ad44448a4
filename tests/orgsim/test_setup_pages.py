"""Setup pages: Connected Apps OAuth Usage and the app's policy page drive the same actions."""

from __future__ import annotations

import requests

from orgsim.setup_pages import policy_url


def test_oauth_usage_page_lists_visible_apps_and_installs(make_sim):
    sim = make_sim("existing_customer")
    sid = sim.session["access_token"]
    session = requests.Session()
    page = session.get(
        f"{sim.url}/lightning/setup/ConnectedAppsUsage/home?sid={sid}", verify=sim.cert_file
    )
    assert page.status_code == 200
    assert "sfdc_6sense_oauth_app" in page.text and "Install" in page.text
    done = session.post(
        f"{sim.url}/lightning/setup/ConnectedAppsUsage/action",
        data={"op": "install", "app": "sfdc_6sense_oauth_app"},
        verify=sim.cert_file,
    )
    assert done.status_code == 200 and "install: done" in done.text
    assert sim.org.app_state()["installed"] is True
    policies = session.get(
        sim.url + policy_url(sim.org.app_state()["connected_application_id"]), verify=sim.cert_file
    )
    assert "Admin approved users are pre-authorized" in policies.text
    session.post(
        f"{sim.url}/lightning/setup/ConnectedAppsUsage/action",
        data={"op": "policy", "app": "sfdc_6sense_oauth_app", "permitted_users": "admin_approved"},
        verify=sim.cert_file,
    )
    assert sim.org.app_state()["admin_approved"] is True


def test_setup_pages_need_a_session(sim):
    page = requests.get(f"{sim.url}/lightning/setup/ConnectedAppsUsage/home", verify=sim.cert_file)
    assert page.status_code == 403
