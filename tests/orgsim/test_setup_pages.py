"""Setup pages a person can click through (issue 19): a login page and a session cookie (never a token in a
URL), Connected Apps OAuth Usage with Install confirming first, Edit Policies warning before the switch to
admin-approved, and External Client App Manager; every page drives the same actions as ``/_sim/actions``."""

from __future__ import annotations

import html
import re
import urllib.parse

import pytest
import requests

from orgsim.scenario import DEMO_PASSWORD
from orgsim.setup_pages import ACTION, ECA_HOME, ECA_POLICIES, HOME, LOGIN_FAILED, policy_url

ADMIN = "admin@example.com"
SHOWN_FAILED = html.escape(LOGIN_FAILED)


def login(
    sim, username=ADMIN, password=DEMO_PASSWORD, start=HOME
) -> tuple[requests.Session, object]:
    session = requests.Session()
    session.verify = sim.cert_file
    page = session.post(
        f"{sim.url}/login", data={"username": username, "pw": password, "startURL": start}
    )
    return session, page


def test_setup_pages_send_a_visitor_without_a_session_to_the_login_page(sim):
    page = requests.get(f"{sim.url}{HOME}", verify=sim.cert_file, allow_redirects=False)
    assert page.status_code == 302
    target = urllib.parse.urlparse(page.headers["Location"])
    assert target.path == "/" and urllib.parse.parse_qs(target.query)["startURL"] == [HOME]
    form = requests.get(sim.url + page.headers["Location"], verify=sim.cert_file)
    assert "name='username'" in form.text and "type='password'" in form.text


def test_an_access_token_in_the_url_opens_nothing(sim):
    """The old ``?sid=<access token>`` door is shut: no token belongs in a URL."""
    token = sim.session["access_token"]
    page = requests.get(f"{sim.url}{HOME}?sid={token}", verify=sim.cert_file, allow_redirects=False)
    assert page.status_code == 302


@pytest.mark.parametrize(
    "username, password",
    [(ADMIN, "wrong"), ("nobody@example.com", DEMO_PASSWORD), (ADMIN, "")],
    ids=["wrong password", "unknown user", "empty password"],
)
def test_a_wrong_login_is_refused_in_salesforces_words(sim, username, password):
    session, page = login(sim, username, password)
    assert SHOWN_FAILED in page.text
    assert "sid" not in session.cookies
    assert session.get(f"{sim.url}{HOME}", allow_redirects=False).status_code == 302


def test_login_sets_a_private_cookie_and_returns_to_the_page_asked_for(sim):
    session, page = login(sim)
    assert page.url.endswith(HOME) and page.status_code == 200
    cookie = next(c for c in session.cookies if c.name == "sid")
    assert cookie.secure and cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.value != sim.session["access_token"]
    assert sim.session["access_token"] not in page.text


def test_login_never_redirects_to_another_host(sim):
    session, page = login(sim, start="//evil.example.com/x")
    assert urllib.parse.urlparse(page.url).netloc == urllib.parse.urlparse(sim.url).netloc


def test_a_frozen_user_cannot_log_in(make_sim, tmp_path):
    import yaml

    from orgsim.scenario import SCENARIO_DIR

    data = yaml.safe_load((SCENARIO_DIR / "new_customer.yml").read_text())
    for user in data["users"]:
        if user["username"] == ADMIN:
            user["frozen"] = True
    path = tmp_path / "frozen.yml"
    path.write_text(yaml.safe_dump(data))
    sim = make_sim(str(path))
    _, page = login(sim)
    assert SHOWN_FAILED in page.text


def test_a_scenario_sets_the_password(make_sim, tmp_path):
    import yaml

    from orgsim.scenario import SCENARIO_DIR

    data = yaml.safe_load((SCENARIO_DIR / "new_customer.yml").read_text())
    for user in data["users"]:
        if user["username"] == ADMIN:
            user["password"] = "S3cret-for-test"
    path = tmp_path / "pw.yml"
    path.write_text(yaml.safe_dump(data))
    sim = make_sim(str(path))
    assert SHOWN_FAILED in login(sim)[1].text
    assert SHOWN_FAILED not in login(sim, password="S3cret-for-test")[1].text


def test_install_asks_first_then_installs(make_sim):
    sim = make_sim("existing_customer")
    session, page = login(sim)
    assert "sfdc_6sense_oauth_app" in page.text
    [confirm_link] = re.findall(
        r"href='(/lightning/setup/ConnectedAppsUsage/install\?app=sfdc_6sense_oauth_app)'",
        page.text,
    )
    confirm = session.get(sim.url + confirm_link)
    assert "Install <b>sfdc_6sense_oauth_app</b>?" in confirm.text
    assert sim.org.app_state()["installed"] is False, "showing the question installs nothing"
    done = session.post(
        f"{sim.url}{ACTION}", data={"op": "install", "app": "sfdc_6sense_oauth_app"}
    )
    assert done.status_code == 200 and "install: done" in done.text
    assert sim.org.app_state()["installed"] is True


def test_edit_policies_warns_before_the_switch_to_admin_approved(make_sim):
    sim = make_sim("existing_customer")
    sim.action("install")
    session, _ = login(sim)
    policies = session.get(sim.url + policy_url(sim.org.app_state()["connected_application_id"]))
    assert "Admin approved users are pre-authorized" in policies.text
    assert "revokes access" in policies.text
    form = {"op": "policy", "app": "sfdc_6sense_oauth_app", "permitted_users": "admin_approved"}
    asked = session.post(f"{sim.url}{ACTION}", data=form)
    assert "Change Permitted Users?" in asked.text and "user(s) hold tokens" in asked.text
    assert sim.org.app_state()["admin_approved"] is False, "the warning changes nothing"
    session.post(f"{sim.url}{ACTION}", data={**form, "confirmed": "1"})
    assert sim.org.app_state()["admin_approved"] is True


def test_a_cross_site_form_post_is_refused(make_sim):
    sim = make_sim("existing_customer")
    session, _ = login(sim)
    refused = session.post(
        f"{sim.url}{ACTION}",
        data={"op": "install", "app": "sfdc_6sense_oauth_app"},
        headers={"Origin": "https://evil.example.com"},
    )
    assert refused.status_code == 403
    assert sim.org.app_state()["installed"] is False


def test_external_client_app_manager_edits_the_eca_policies(make_sim):
    sim = make_sim("eca_installed_default_policies")
    session, _ = login(sim)
    manager = session.get(f"{sim.url}{ECA_HOME}")
    assert manager.status_code == 200 and "6sense External Client App" in manager.text
    assert ECA_POLICIES in manager.text
    page = session.get(f"{sim.url}{ECA_POLICIES}")
    assert "Permitted Users" in page.text and "Refresh Token Policy" in page.text
    done = session.post(
        f"{sim.url}{ACTION}",
        data={
            "op": "eca_policy",
            "start_url": "",
            "permitted_users": "AllSelfAuthorized",
            "refresh_token_policy": "SpecificInactivity",
            "refresh_token_validity_period": "30",
            "refresh_token_validity_unit": "Days",
            "ip_relaxation": "Enforce",
        },
    )
    assert "eca_policy: done" in done.text
    policies = sim.state()["eca"]["policies"]
    assert policies["refresh_token_policy"] == "SpecificInactivity"
    assert policies["refresh_token_validity_period"] == 30


def test_a_person_authorizes_in_the_vendors_place(make_sim):
    """Article step 1 by hand: the setup user logs in on the vendor's (simulated) connect page and allows;
    the app becomes visible with that user's token, as the autopilot's authorize does."""
    from orgsim.setup_pages import VENDOR_CONNECT

    sim = make_sim("new_customer")
    session = requests.Session()
    session.verify = sim.cert_file
    page = session.get(f"{sim.url}{VENDOR_CONNECT}")
    assert "name='pw'" in page.text and "sfdc_6sense_oauth_app" in page.text
    refused = session.post(
        f"{sim.url}{VENDOR_CONNECT}",
        data={"username": ADMIN, "pw": "wrong", "app": "sfdc_6sense_oauth_app"},
    )
    assert SHOWN_FAILED in refused.text
    assert not sim.org.store.find("OauthToken", AppName="sfdc_6sense_oauth_app")
    done = session.post(
        f"{sim.url}{VENDOR_CONNECT}",
        data={"username": ADMIN, "pw": DEMO_PASSWORD, "app": "sfdc_6sense_oauth_app"},
    )
    assert "Connected: admin@example.com authorized the app." in done.text
    assert sim.org.app_state()["visible"] is True
    assert sim.org.store.find("OauthToken", AppName="sfdc_6sense_oauth_app")
