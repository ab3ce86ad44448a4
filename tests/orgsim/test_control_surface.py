"""The simulator's control surface (``/_sim/*``) is closed: admin token, JSON only, out of reach of every
Salesforce API (REST Composite included); the request log cannot be bypassed; no endpoint returns a token.
docs/architecture.md §1.3."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from orgsim.app import REDACTED
from tests.orgsim.simclient import ADMIN_PATHS, sf_for, sim_get, sim_post

ROOT = Path(__file__).resolve().parents[2]
ADMIN = "admin@example.com"


def _raw(sim, method: str, path: str, **kw) -> requests.Response:
    return requests.request(method, sim.url + path, verify=sim.cert_file, timeout=30, **kw)


@pytest.mark.parametrize("method, path", ADMIN_PATHS)
def test_anonymous_and_wrong_token_calls_are_refused(sim, method, path):
    body = {"username": ADMIN} if method == "POST" else None
    anonymous = _raw(sim, method, path, json=body)
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.json()["error"] == "unauthorized"
    wrong = _raw(sim, method, path, json=body, headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 403, wrong.text
    # A Salesforce session is not the admin token either.
    as_user = _raw(
        sim,
        method,
        path,
        json=body,
        headers={"Authorization": f"Bearer {sim.session['access_token']}"},
    )
    assert as_user.status_code == 403
    for refused in (anonymous, wrong, as_user):
        assert "objects" not in refused.text and sim.admin_token not in refused.text
    assert sim.org.app_state()["visible"] is False, "a refused authorize changed nothing"
    assert sim.org.store.find("OauthToken", AppName="sfdc_6sense_oauth_app") == []
    # Every refused call is in the log, the log's own paths included.
    refused = [r for r in sim.requests() if r["path"] == path and r["status"] in (401, 403)]
    assert [r["status"] for r in refused] == [401, 403, 403], refused


def test_form_posts_and_cross_origin_calls_change_nothing(sim):
    """What an HTML form on any web page can send: form-encoded (or text/plain) bodies, with an Origin,
    and no Authorization header. Refused even if the form somehow carried the token: JSON only."""
    form = {"username": ADMIN}
    page = {"Origin": "https://attacker.example", "Referer": "https://attacker.example/x"}
    plain = _raw(sim, "POST", "/_sim/actions/authorize", data=form, headers=page)
    assert plain.status_code == 401
    with_token = _raw(
        sim,
        "POST",
        "/_sim/actions/authorize",
        data=form,
        headers={**page, "Authorization": f"Bearer {sim.admin_token}"},
    )
    assert with_token.status_code == 415 and with_token.json()["error"] == "unsupported_media_type"
    text_plain = _raw(
        sim,
        "POST",
        "/_sim/faults",
        data=json.dumps({"spec": "nth=1:kind=503"}),
        headers={"Content-Type": "text/plain", "Authorization": f"Bearer {sim.admin_token}"},
    )
    assert text_plain.status_code == 415
    assert sim.observer.faults == []
    assert "Access-Control-Allow-Origin" not in plain.headers
    assert sim.org.store.find("OauthToken", AppName="sfdc_6sense_oauth_app") == []
    assert sim.org.app_state()["visible"] is False
    ok = sim_post(sim, "/_sim/actions/authorize", {"username": ADMIN})
    assert ok.status_code == 200 and ok.json()["ok"] is True
    assert len(sim.org.store.find("OauthToken", AppName="sfdc_6sense_oauth_app")) == 1


def test_a_json_array_body_is_a_clear_400(sim):
    resp = _raw(
        sim,
        "POST",
        "/_sim/actions/install",
        data="[1]",
        headers=sim.admin_headers(),
    )
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_request"
    assert sim.org.app_state()["installed"] is False


@pytest.mark.parametrize(
    "url",
    [
        "/_sim/actions/install",
        "/_sim/state",
        "/_sim/faults",
        "/services/data/v62.0/../../../_sim/actions/install",
        "/services/data/v62.0/%2e%2e/%2e%2e/%2e%2e/_sim/actions/install",
        "https://127.0.0.1/_sim/actions/install",
        "//127.0.0.1/_sim/actions/install",
        "/lightning/setup/ConnectedAppsUsage/action",
        "/services/oauth2/token",
        "/services/data/v62.0/composite",
    ],
)
def test_composite_cannot_reach_the_control_surface_or_other_paths(sim, url):
    """A subrequest URL outside ``/services/data/vNN.N/`` answers 404 ``NOT_FOUND`` as an unknown resource
    does; it never runs, even with the admin token in the composite's own headers."""
    sf = sf_for(sim)
    seq = sim.requests()[-1]["seq"] if sim.requests() else 0
    answer = sf.restful(
        "composite",
        method="POST",
        json={
            "allOrNone": False,
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": url,
                    "referenceId": "r",
                    "body": {"spec": "nth=1:kind=503"},
                },
                {
                    "method": "GET",
                    "url": "/services/data/v62.0/query?q=SELECT+Id+FROM+User",
                    "referenceId": "q",
                },
            ],
        },
    )
    refused, query = answer["compositeResponse"]
    assert refused["httpStatusCode"] == 404
    assert refused["body"][0]["errorCode"] == "NOT_FOUND"
    assert query["httpStatusCode"] == 200 and query["body"]["totalSize"] == 2
    assert sim.org.app_state()["installed"] is False
    assert sim.observer.faults == []
    log = sim.requests(since=seq)
    assert [(e["status"], e["parent"]) for e in log] == [
        (200, None),
        (404, log[0]["seq"]),
        (200, log[0]["seq"]),
    ]


def test_the_old_subrequest_header_no_longer_bypasses_the_log_or_faults(make_sim):
    sim = make_sim(
        "new_customer", fault="match=/sobjects/PermissionSet:kind=UNABLE_TO_LOCK_ROW:times=1"
    )

    def spoofed_insert():
        return requests.post(
            f"{sim.url}/services/data/v62.0/sobjects/PermissionSet",
            json={"Name": "Spoofed", "Label": "Spoofed"},
            headers={
                "Authorization": f"Bearer {sim.session['access_token']}",
                "X-Orgsim-Subrequest": "1",
            },
            verify=sim.cert_file,
            timeout=30,
        )

    resp = spoofed_insert()
    assert resp.status_code == 400 and resp.json()[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"
    again = spoofed_insert()
    assert again.status_code == 201
    log = sim.requests()
    assert [(e["method"], e["action"], e["status"], e["parent"]) for e in log] == [
        ("POST", "[fault UNABLE_TO_LOCK_ROW]", 400, None),
        ("POST", "PermissionSet", 201, None),
    ]
    assert log[1]["kind"] == "write"


def test_writes_inside_a_composite_are_logged_with_their_parent(sim):
    from tests.conftest import last_seq, writes_since

    sf = sf_for(sim)
    seq = last_seq(sim)
    answer = sf.restful(
        "composite",
        method="POST",
        json={
            "allOrNone": True,
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": "/services/data/v62.0/sobjects/PermissionSet",
                    "referenceId": "ps",
                    "body": {"Name": "Inside", "Label": "Inside"},
                },
                {
                    "method": "GET",
                    "url": "/services/data/v62.0/sobjects/PermissionSet/@{ps.id}",
                    "referenceId": "read",
                },
            ],
        },
    )
    assert [r["httpStatusCode"] for r in answer["compositeResponse"]] == [201, 200]
    log = sim.requests(since=seq)
    parent = log[0]
    assert (parent["action"], parent["kind"], parent["parent"]) == ("composite", "write", None)
    assert [(e["method"], e["action"], e["kind"], e["parent"]) for e in log[1:]] == [
        ("POST", "PermissionSet", "write", parent["seq"]),
        ("GET", "PermissionSet", "read", parent["seq"]),
    ]
    writes = writes_since(sim, seq)
    assert [w["action"] for w in writes] == ["composite", "PermissionSet"]
    assert last_seq(sim) == log[-1]["seq"]


def test_state_has_no_token_values(sim):
    for _ in range(2):
        assert sim.action("authorize", username=ADMIN)["ok"]
    rows = sim.state()["objects"]["OauthToken"]
    values = [r[k] for r in rows for k in ("AccessToken", "DeleteToken") if r.get(k)]
    assert len(values) == 2 * len(rows) == 6  # two 6sense authorizations and cci's own connection
    with sim.org.lock:
        sessions = [r["token"] for r in sim.org.store.sim_rows("session")]
    secrets = values + sessions + [sim.session["access_token"], sim.session["refresh_token"]]
    over_http = sim_get(sim, "/_sim/state")
    assert over_http.status_code == 200
    text = over_http.text
    assert [s[:8] for s in secrets if s in text] == []
    assert {r["AccessToken"] for r in over_http.json()["objects"]["OauthToken"]} == {REDACTED}
    assert sim.admin_token not in text
    assert sim.state(redact=True)["objects"]["OauthToken"][0]["DeleteToken"] == REDACTED
    log = sim_get(sim, "/_sim/requests").text
    assert [s[:8] for s in secrets if s in log] == [] and sim.admin_token not in log


def test_orgsim_action_works_from_a_second_shell_with_the_serve_exports(tmp_path):
    """``python -m orgsim serve`` prints export lines; a second process that sourced them (only them)
    performs a human step with ``python -m orgsim action``, and a shell without the token cannot."""
    env_file = tmp_path / "env"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ORGSIM_", "REQUESTS_CA"))}
    base["PYTHONPATH"] = str(ROOT)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orgsim",
            "serve",
            "--scenario",
            "new_customer",
            "--port",
            "0",
            "--env-file",
            str(env_file),
            "--cert-dir",
            str(tmp_path / "certs"),
        ],
        cwd=ROOT,
        env=base,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (env_file.exists() and env_file.stat().st_size) and time.monotonic() < deadline:
            assert server.poll() is None, "the simulator exited"
            time.sleep(0.1)
        exports = env_file.read_text()
        assert "ORGSIM_ADMIN_TOKEN=" in exports and "REQUESTS_CA_BUNDLE=" in exports
        second_shell = (
            f"source {shlex.quote(str(env_file))} && "
            f"{shlex.quote(sys.executable)} -m orgsim action authorize --username admin@example.com"
        )
        ok = subprocess.run(
            ["bash", "-c", second_shell],
            cwd=ROOT,
            env=base,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert ok.returncode == 0, ok.stderr
        assert json.loads(ok.stdout)["ok"] is True
        without_token = subprocess.run(
            ["bash", "-c", second_shell.replace("&&", "&& unset ORGSIM_ADMIN_TOKEN &&")],
            cwd=ROOT,
            env=base,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert without_token.returncode == 2
        assert "ORGSIM_ADMIN_TOKEN" in without_token.stderr
        wrong_token = subprocess.run(
            ["bash", "-c", second_shell + " --token wrong"],
            cwd=ROOT,
            env=base,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert wrong_token.returncode == 2 and "refused" in wrong_token.stderr
        url = next(line.split("=", 1)[1] for line in exports.splitlines() if "ORGSIM_URL=" in line)
        bundle = next(
            shlex.split(line.split("=", 1)[1])[0]
            for line in exports.splitlines()
            if "REQUESTS_CA_BUNDLE=" in line
        )
        token = next(
            shlex.split(line.split("=", 1)[1])[0]
            for line in exports.splitlines()
            if "ORGSIM_ADMIN_TOKEN=" in line
        )
        state = requests.get(
            f"{shlex.split(url)[0]}/_sim/state",
            headers={"Authorization": f"Bearer {token}"},
            verify=bundle,
            timeout=30,
        ).json()
        assert state["apps"][0]["visible"] is True
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def test_a_query_with_a_backslash_escape_is_still_a_valid_subrequest(sim):
    sf = sf_for(sim)
    answer = sf.restful(
        "composite",
        method="POST",
        json={
            "compositeRequest": [
                {
                    "method": "GET",
                    "url": "/services/data/v62.0/query?q=SELECT+Id+FROM+User+WHERE+LastName+=+'O\\'Brien'",
                    "referenceId": "q",
                }
            ]
        },
    )
    assert answer["compositeResponse"][0]["httpStatusCode"] == 200
    assert answer["compositeResponse"][0]["body"]["totalSize"] == 0
