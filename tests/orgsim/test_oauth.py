"""OAuth token grants, authorize redirect, userinfo, identity."""

from __future__ import annotations

import base64
import json
import urllib.parse

import requests

from tests.orgsim.simclient import get


def _token(sim, **form):
    return requests.post(f"{sim.url}/services/oauth2/token", data=form, verify=sim.cert_file)


def test_refresh_token_grant(sim):
    resp = _token(
        sim, grant_type="refresh_token", refresh_token=sim.session["refresh_token"], client_id="x"
    )
    body = resp.json()
    assert resp.status_code == 200
    assert {"access_token", "instance_url", "id", "token_type", "issued_at", "signature"} <= set(
        body
    )
    assert body["token_type"] == "Bearer" and body["instance_url"] == sim.url
    assert body["id"].endswith("/" + sim.org.connected_user()["Id"])
    assert get(sim, "/services/oauth2/userinfo", token=body["access_token"]).status_code == 200
    assert (
        _token(sim, grant_type="refresh_token", refresh_token="nope").json()["error"]
        == "invalid_grant"
    )


def test_authorize_redirects_with_a_code_that_gives_a_refresh_token(sim):
    resp = requests.get(
        f"{sim.url}/services/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": "c",
            "redirect_uri": "http://localhost:7788/callback",
            "state": "s1",
        },
        verify=sim.cert_file,
        allow_redirects=False,
    )
    assert resp.status_code == 302
    query = urllib.parse.parse_qs(urllib.parse.urlparse(resp.headers["Location"]).query)
    assert query["state"] == ["s1"]
    body = _token(
        sim,
        grant_type="authorization_code",
        code=query["code"][0],
        redirect_uri="http://localhost:7788/callback",
    ).json()
    assert "refresh_token" in body
    assert (
        _token(sim, grant_type="authorization_code", code=query["code"][0]).status_code == 400
    )  # one-time


def test_jwt_bearer_grant_uses_the_subject(sim):
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    assertion = f"{part({'alg': 'RS256'})}.{part({'sub': 'sixsense.integration@example.com', 'iss': 'x'})}.sig"
    body = _token(
        sim, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=assertion
    ).json()
    assert body["id"].endswith(sim.org.user_by_username("sixsense.integration@example.com")["Id"])


def test_userinfo_names_the_user_and_org(sim):
    info = get(sim, "/services/oauth2/userinfo").json()
    assert info["preferred_username"] == "admin@example.com"
    assert info["organization_id"] == sim.org.org_id
    assert info["user_id"] == sim.org.connected_user()["Id"]
    assert get(sim, "/services/oauth2/userinfo", token="bad").status_code == 403
