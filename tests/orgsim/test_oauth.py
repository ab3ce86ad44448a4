"""OAuth token grants, authorize redirect, userinfo, identity (strict client rules: test_oauth_strict.py)."""

from __future__ import annotations

import urllib.parse

import requests

from orgsim.identity import TOOL_CLIENT, TOOL_CLIENTS
from tests.orgsim.simclient import get

CCI_KEY, (CCI_CALLBACK, *_) = TOOL_CLIENTS[TOOL_CLIENT]


def _token(sim, **form):
    return requests.post(f"{sim.url}/services/oauth2/token", data=form, verify=sim.cert_file)


def test_refresh_token_grant(sim):
    resp = _token(
        sim,
        grant_type="refresh_token",
        refresh_token=sim.session["refresh_token"],
        client_id=CCI_KEY,
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
        _token(sim, grant_type="refresh_token", refresh_token="nope", client_id=CCI_KEY).json()[
            "error"
        ]
        == "invalid_grant"
    )


def test_authorize_redirects_with_a_code_that_gives_a_refresh_token(sim):
    resp = requests.get(
        f"{sim.url}/services/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": CCI_KEY,
            "redirect_uri": CCI_CALLBACK,
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
        redirect_uri=CCI_CALLBACK,
        client_id=CCI_KEY,
    ).json()
    assert "refresh_token" in body
    again = _token(
        sim,
        grant_type="authorization_code",
        code=query["code"][0],
        redirect_uri=CCI_CALLBACK,
        client_id=CCI_KEY,
    )
    assert again.status_code == 400  # one-time
    assert again.json() == {
        "error": "invalid_grant",
        "error_description": "invalid authorization code",
    }


def test_userinfo_names_the_user_and_org(sim):
    info = get(sim, "/services/oauth2/userinfo").json()
    assert info["preferred_username"] == "admin@example.com"
    assert info["organization_id"] == sim.org.org_id
    assert info["user_id"] == sim.org.connected_user()["Id"]
    assert get(sim, "/services/oauth2/userinfo", token="bad").status_code == 403
