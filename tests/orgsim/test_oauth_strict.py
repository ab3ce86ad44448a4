"""Strict OAuth: only known clients, their secrets and redirect URIs, single-use short-lived codes, JWTs signed
for the client's certificate, OauthToken rows (and their cap) for the tool's own client, and API Access
Control applied to it (docs/salesforce-oauth-metadata.md). Each test fails without its rule."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
import urllib.parse

import pytest
import requests
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from simple_salesforce.exceptions import SalesforceExpiredSession

from orgsim import identity
from orgsim.identity import TOOL_CLIENT, TOOL_CLIENTS
from orgsim.scenario import SCENARIO_DIR
from tests.orgsim.simclient import MD_NS, get, sf_for, soap

CCI_KEY, (CCI_CALLBACK, *_) = TOOL_CLIENTS[TOOL_CLIENT]
SF_CLI_KEY, (SF_CLI_CALLBACK, *_) = TOOL_CLIENTS["Salesforce CLI"]
ADMIN = "admin@example.com"
INTEGRATION = "sixsense.integration@example.com"
REST_REFUSAL = "This session is not valid for use with the REST API"


def _token(sim, **form):
    return requests.post(f"{sim.url}/services/oauth2/token", data=form, verify=sim.cert_file)


def _authorize(sim, client_id=CCI_KEY, redirect_uri=CCI_CALLBACK, **params):
    return requests.get(
        f"{sim.url}/services/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            **params,
        },
        verify=sim.cert_file,
        allow_redirects=False,
    )


def _code(sim, client_id=CCI_KEY, redirect_uri=CCI_CALLBACK) -> str:
    resp = _authorize(sim, client_id, redirect_uri)
    assert resp.status_code == 302, resp.text
    return urllib.parse.parse_qs(urllib.parse.urlparse(resp.headers["Location"]).query)["code"][0]


def _app_tokens(sim, label: str) -> list[dict]:
    with sim.org.lock:
        return sim.org.store.find("OauthToken", AppName=label)


# -- clients, secrets, redirect URIs ---------------------------------------------------------------------


@pytest.mark.parametrize("client_id", [None, "3MVG9NotAnAppOfThisOrg"])
def test_token_endpoint_refuses_an_unknown_client(sim, client_id):
    form = {"grant_type": "refresh_token", "refresh_token": sim.session["refresh_token"]}
    if client_id:
        form["client_id"] = client_id
    resp = _token(sim, **form)
    assert resp.status_code == 400
    assert resp.json() == {
        "error": "invalid_client_id",
        "error_description": "client identifier invalid",
    }


def test_a_confidential_client_needs_its_own_secret(sim):
    """The 6sense app is a confidential client: a wrong or missing secret is ``invalid_client``; its own
    secret passes the client check (the code then belongs to it)."""
    key = sim.org.app_state()["consumer_key"]
    secret = sim.org.oauth_client(key)["secret"]
    callback = sim.org.oauth_client(key)["callback_urls"][0]
    for wrong in ({"client_secret": "not-the-secret"}, {}):
        code = _code(sim, key, callback)
        resp = _token(
            sim,
            grant_type="authorization_code",
            code=code,
            redirect_uri=callback,
            client_id=key,
            **wrong,
        )
        assert resp.status_code == 400
        assert resp.json() == {
            "error": "invalid_client",
            "error_description": "invalid client credentials",
        }
    code = _code(sim, key, callback)
    ok = _token(
        sim,
        grant_type="authorization_code",
        code=code,
        redirect_uri=callback,
        client_id=key,
        client_secret=secret,
    )
    assert ok.status_code == 200, ok.text
    assert "refresh_token" in ok.json()


def test_a_public_client_sending_a_secret_is_refused(sim):
    resp = _token(
        sim,
        grant_type="refresh_token",
        refresh_token=sim.session["refresh_token"],
        client_id=CCI_KEY,
        client_secret="guessed",
    )
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_client"


def test_authorize_refuses_an_unknown_client_and_a_foreign_redirect_uri(sim):
    unknown = _authorize(sim, client_id="3MVG9Nobody")
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "invalid_client_id"
    foreign = _authorize(sim, redirect_uri="https://evil.example.com/callback")
    assert foreign.status_code == 400
    assert foreign.json() == {
        "error": "redirect_uri_mismatch",
        "error_description": "redirect_uri must match configuration",
    }
    assert "Location" not in foreign.headers  # never redirected to an unregistered URI


def test_a_code_is_bound_to_its_redirect_uri_and_used_once(sim):
    code = _code(sim)
    mismatch = _token(
        sim,
        grant_type="authorization_code",
        code=code,
        redirect_uri="http://localhost:9999/other",
        client_id=CCI_KEY,
    )
    assert mismatch.status_code == 400 and mismatch.json()["error"] == "redirect_uri_mismatch"
    again = _token(
        sim,
        grant_type="authorization_code",
        code=code,
        redirect_uri=CCI_CALLBACK,
        client_id=CCI_KEY,
    )
    assert again.json() == {
        "error": "invalid_grant",
        "error_description": "invalid authorization code",
    }


def test_a_code_is_bound_to_its_client(sim):
    code = _code(sim)
    resp = _token(
        sim,
        grant_type="authorization_code",
        code=code,
        redirect_uri=CCI_CALLBACK,
        client_id=SF_CLI_KEY,
    )
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"


def test_a_code_expires(sim, monkeypatch):
    code = _code(sim)
    monkeypatch.setattr(identity, "AUTH_CODE_LIFETIME_S", -1)
    resp = _token(
        sim,
        grant_type="authorization_code",
        code=code,
        redirect_uri=CCI_CALLBACK,
        client_id=CCI_KEY,
    )
    assert resp.json() == {
        "error": "invalid_grant",
        "error_description": "expired authorization code",
    }


def test_a_refresh_token_is_bound_to_its_client(sim):
    resp = _token(
        sim,
        grant_type="refresh_token",
        refresh_token=sim.session["refresh_token"],
        client_id=SF_CLI_KEY,
    )
    assert resp.json() == {
        "error": "invalid_grant",
        "error_description": "expired access/refresh token",
    }


# -- JWT bearer ------------------------------------------------------------------------------------------


def _key_and_cert():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jwt test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM).decode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _jwt(key, claims: dict, alg: str = "RS256") -> str:
    head = _b64(json.dumps({"alg": alg}).encode())
    body = _b64(json.dumps(claims).encode())
    if key is None:
        return f"{head}.{body}."
    sig = key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{_b64(sig)}"


def _jwt_grant(sim, assertion):
    return _token(
        sim, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=assertion
    )


def test_jwt_bearer_needs_a_signature_by_the_registered_certificate(make_sim):
    """``configured``: the 6sense app is installed, admin-approved, and the integration user pre-authorized."""
    sim = make_sim("configured")
    app_key = sim.org.app_state()["consumer_key"]
    claims = {"iss": app_key, "sub": INTEGRATION, "aud": sim.url, "exp": int(time.time()) + 300}
    key, cert = _key_and_cert()
    other_key, _ = _key_and_cert()
    # No certificate uploaded yet: no assertion can be valid.
    assert _jwt_grant(sim, _jwt(key, claims)).json()["error"] == "invalid_grant"
    sim.org.set_client_certificate(app_key, cert)
    for bad in (_jwt(None, claims, alg="none"), _jwt(other_key, claims), "not.a.jwt"):
        resp = _jwt_grant(sim, bad)
        assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant", bad
    expired = _jwt_grant(sim, _jwt(key, {**claims, "exp": int(time.time()) - 10}))
    assert expired.json() == {"error": "invalid_grant", "error_description": "expired assertion"}
    unknown = _jwt_grant(sim, _jwt(key, {**claims, "iss": "3MVG9Nobody"}))
    assert unknown.json()["error"] == "invalid_client_id"
    not_approved = _jwt_grant(sim, _jwt(key, {**claims, "sub": ADMIN}))
    assert not_approved.json() == {
        "error": "invalid_grant",
        "error_description": "user hasn't approved this consumer",
    }
    before = len(_app_tokens(sim, sim.org.app_state()["label"]))
    ok = _jwt_grant(sim, _jwt(key, claims))
    assert ok.status_code == 200, ok.text
    assert ok.json()["id"].endswith(sim.org.user_by_username(INTEGRATION)["Id"])
    assert len(_app_tokens(sim, sim.org.app_state()["label"])) == before + 1


# -- OauthToken rows for the tool's own client, and the per-user-per-app cap ----------------------------


def test_cci_connection_is_an_oauth_token_of_cumulusci_and_a_refresh_uses_it(sim):
    admin_id = sim.org.connected_user()["Id"]
    [row] = _app_tokens(sim, TOOL_CLIENT)
    assert row["UserId"] == admin_id and row["UseCount"] == 1
    refreshed = _token(
        sim,
        grant_type="refresh_token",
        refresh_token=sim.session["refresh_token"],
        client_id=CCI_KEY,
    )
    assert refreshed.status_code == 200
    [row] = _app_tokens(sim, TOOL_CLIENT)  # a refresh is no new authorization
    assert row["UseCount"] == 2
    body = _token(
        sim,
        grant_type="authorization_code",
        code=_code(sim),
        redirect_uri=CCI_CALLBACK,
        client_id=CCI_KEY,
    )
    assert body.status_code == 200
    assert len(_app_tokens(sim, TOOL_CLIENT)) == 2  # a new authorization is a new row


def test_the_token_cap_applies_to_the_tool_client_and_kills_the_oldest_grant(sim):
    """facts §10.1: five grants per user per app; a sixth revokes the oldest, whose refresh token and
    sessions stop working."""
    for _ in range(5):
        resp = _token(
            sim,
            grant_type="authorization_code",
            code=_code(sim),
            redirect_uri=CCI_CALLBACK,
            client_id=CCI_KEY,
        )
        assert resp.status_code == 200
    assert len(_app_tokens(sim, TOOL_CLIENT)) == 5
    old = _token(
        sim,
        grant_type="refresh_token",
        refresh_token=sim.session["refresh_token"],
        client_id=CCI_KEY,
    )
    assert old.json() == {
        "error": "invalid_grant",
        "error_description": "expired access/refresh token",
    }
    with pytest.raises(SalesforceExpiredSession, match="Session expired or invalid"):
        sf_for(sim).query("SELECT Id FROM User")


# -- API Access Control and the tool's own client (facts §10.1) ------------------------------------------


def _scenario_with_client(tmp_path, state: str) -> str:
    data = yaml.safe_load((SCENARIO_DIR / "client_app_not_allowlisted.yml").read_text())
    data["client_app"] = {"state": state}
    path = tmp_path / f"client_{state}.yml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.mark.parametrize("state", ["installed", "uninstalled"])
def test_acc_refuses_every_api_call_of_a_client_that_is_not_allowlisted(make_sim, tmp_path, state):
    sim = make_sim(_scenario_with_client(tmp_path, state))
    with pytest.raises(SalesforceExpiredSession, match=REST_REFUSAL):
        sf_for(sim).query("SELECT Id FROM Organization")
    raw = get(sim, "/services/data/v62.0/sobjects/Organization/" + sim.org.org_id)
    assert raw.status_code == 401
    assert raw.json() == [{"message": REST_REFUSAL, "errorCode": "INVALID_SESSION_ID"}]
    assert get(sim, "/services/data/v62.0/tooling/query?q=SELECT+Id+FROM+User").status_code == 401
    fault = soap(
        sim,
        f"<listMetadata xmlns='{MD_NS}'><queries><type>PermissionSet</type></queries></listMetadata>",
    )
    assert fault.status_code == 500 and "INVALID_SESSION_ID" in fault.text
    # The OAuth endpoints still answer: the token is valid, only its use for the API is refused.
    assert get(sim, "/services/oauth2/userinfo").status_code == 200
    refreshed = _token(
        sim,
        grant_type="refresh_token",
        refresh_token=sim.session["refresh_token"],
        client_id=CCI_KEY,
    )
    assert refreshed.status_code == 200
    again = get(
        sim,
        "/services/data/v62.0/query?q=SELECT+Id+FROM+User",
        token=refreshed.json()["access_token"],
    )
    assert again.status_code == 401 and again.json()[0]["message"] == REST_REFUSAL


def test_an_allowlisted_client_or_use_any_api_client_passes(make_sim, tmp_path):
    allowlisted = make_sim(_scenario_with_client(tmp_path, "allowlisted"))
    assert sf_for(allowlisted).query("SELECT Id FROM Organization")["totalSize"] == 1
    state = allowlisted.org.app_state(TOOL_CLIENT)
    assert state["installed"] and state["admin_approved"]
    blocked = make_sim("client_app_not_allowlisted")
    with blocked.org.lock:
        admin = blocked.org.connected_user()["Id"]
        profile_ps = blocked.org.permission_set_ids(admin)[0]
        blocked.org.store.update("PermissionSet", profile_ps, {"PermissionsUseAnyApiClient": 1})
    assert sf_for(blocked).query("SELECT Id FROM Organization")["totalSize"] == 1


def test_acc_off_lets_an_uninstalled_client_through(sim):
    """new_customer: API Access Control off, CumulusCI's app uninstalled (the default): the admin works."""
    assert sim.org.app_state(TOOL_CLIENT)["installed"] is False
    assert sf_for(sim).query("SELECT Id FROM Organization")["totalSize"] == 1


def test_a_blocked_client_is_refused_every_grant_and_its_sessions_end(make_sim):
    """facts §6.2: "Blocking ends all sessions and prevents new ones"; a grant through a blocked app answers
    ``{"error":"app_blocked","error_description":"this app is blocked by admin"}``. ``client_app_blocked``:
    cci's stored session (issued before the block) is ended, its refresh is refused as ``app_blocked`` (the
    client is checked before the grant), and after Unblock the revoked refresh token stays refused."""
    sim = make_sim("client_app_blocked")
    assert sim.org.app_state(TOOL_CLIENT)["blocked"] is True
    with pytest.raises(SalesforceExpiredSession, match="Session expired or invalid"):
        sf_for(sim).query("SELECT Id FROM Organization")
    assert sim.org.store.find("OauthToken", AppName=TOOL_CLIENT) == []
    refused = _token(
        sim,
        grant_type="refresh_token",
        refresh_token=sim.session["refresh_token"],
        client_id=CCI_KEY,
    )
    assert refused.status_code == 400
    assert refused.json() == {
        "error": "app_blocked",
        "error_description": "this app is blocked by admin",
    }
    # An unknown refresh token through the blocked client: still the block, not invalid_grant.
    other = _token(sim, grant_type="refresh_token", refresh_token="nope", client_id=CCI_KEY)
    assert other.json()["error"] == "app_blocked"
    # Another client is not affected by CumulusCI's block.
    assert _token(
        sim, grant_type="refresh_token", refresh_token="nope", client_id=SF_CLI_KEY
    ).json() == {"error": "invalid_grant", "error_description": "expired access/refresh token"}
    sim.org.unblock(TOOL_CLIENT)
    after = _token(
        sim,
        grant_type="refresh_token",
        refresh_token=sim.session["refresh_token"],
        client_id=CCI_KEY,
    )
    assert after.status_code == 400 and after.json()["error"] == "invalid_grant"


def _redirect_query(resp) -> dict:
    assert resp.status_code == 302, resp.text
    return urllib.parse.parse_qs(urllib.parse.urlparse(resp.headers["Location"]).query)


def test_authorize_applies_the_usage_restriction_to_the_tool_clients(sim):
    """facts §7.2, §7.3: an uninstalled app needs Approve Uninstalled Connected Apps; the attempt lists it
    on OAuth Usage even when refused."""
    assert sim.org.app_state("Salesforce CLI")["visible"] is False
    refused = _redirect_query(
        _authorize(sim, SF_CLI_KEY, SF_CLI_CALLBACK, login_hint=INTEGRATION, state="s")
    )
    assert refused == {
        "error": ["invalid_client"],
        "error_description": ["app must be installed into org"],
        "state": ["s"],
    }
    assert sim.org.app_state("Salesforce CLI")["visible"] is True
    assert "code" in _redirect_query(_authorize(sim, SF_CLI_KEY, SF_CLI_CALLBACK, login_hint=ADMIN))


def test_authorize_of_an_uninstalled_client_under_acc_is_blocked(make_sim, tmp_path):
    sim = make_sim(_scenario_with_client(tmp_path, "uninstalled"))
    assert _redirect_query(_authorize(sim)) == {
        "error": ["OAUTH_APP_BLOCKED"],
        "error_description": ["this app is blocked by admin"],
    }
