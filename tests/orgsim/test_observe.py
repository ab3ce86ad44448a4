"""Request log, latency and fault injection."""

from __future__ import annotations

import time

import pytest
import requests
from simple_salesforce.exceptions import SalesforceExpiredSession, SalesforceMalformedRequest

from orgsim.identity import TOOL_CLIENT, TOOL_CLIENTS
from orgsim.observe import parse_fault_spec, soql_object
from tests.orgsim.simclient import MD_NS, get, sf_for, sim_get, sim_post, soap


def test_request_log_records_kind_action_and_status(sim):
    sf = sf_for(sim)
    sf.query("SELECT Id,(SELECT PermissionSetId FROM PermissionSetAssignments) FROM User")
    sf.PermissionSet.create({"Name": "A1", "Label": "a"})
    soap(
        sim,
        f"<listMetadata xmlns='{MD_NS}'><queries><type>PermissionSet</type></queries></listMetadata>",
    )
    requests.post(
        f"{sim.url}/services/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": sim.session["refresh_token"],
            "client_id": TOOL_CLIENTS[TOOL_CLIENT][0],
        },
        verify=sim.cert_file,
    )
    log = sim.requests()
    assert [(e["kind"], e["action"], e["status"]) for e in log] == [
        ("read", "User", 200),
        ("write", "PermissionSet", 201),
        ("read", "listMetadata", 200),
        ("auth", "refresh_token", 200),
    ]
    assert [e["seq"] for e in log] == [1, 2, 3, 4]
    assert sim.requests(since=3) == log[3:]
    over_http = sim_get(sim, "/_sim/requests?since=2").json()
    assert [e["seq"] for e in over_http] == [3, 4]


def test_soql_object_is_the_outer_from():
    assert (
        soql_object("SELECT Id,(SELECT PermissionSetId FROM PermissionSetAssignments) FROM User")
        == "User"
    )


def test_nth_fault_returns_503_once(make_sim):
    sim = make_sim("new_customer", fault="nth=2:kind=503")
    assert get(sim, "/services/data/v62.0/query?q=SELECT+Id+FROM+User").status_code == 200
    assert get(sim, "/services/data/v62.0/query?q=SELECT+Id+FROM+User").status_code == 503
    assert get(sim, "/services/data/v62.0/query?q=SELECT+Id+FROM+User").status_code == 200


def test_match_fault_unable_to_lock_row_on_composite(make_sim):
    sim = make_sim("new_customer", fault="match=/composite/:kind=UNABLE_TO_LOCK_ROW:times=1")
    sf = sf_for(sim)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.restful("composite/sobjects", method="POST", data='{"allOrNone": false, "records": []}')
    assert exc.value.content[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"
    record = '{"allOrNone": false, "records": [{"attributes": {"type": "PermissionSet"}, "Name": "A1", "Label": "a"}]}'
    assert sf.restful("composite/sobjects", method="POST", data=record)[0]["success"] is True


def test_soap_faults_and_invalid_session(make_sim):
    sim = make_sim("new_customer", fault="match=listMetadata:kind=UNABLE_TO_LOCK_ROW")
    body = f"<listMetadata xmlns='{MD_NS}'><queries><type>PermissionSet</type></queries></listMetadata>"
    resp = soap(sim, body, action="listMetadata")
    assert resp.status_code == 500 and b"sf:UNABLE_TO_LOCK_ROW" in resp.content
    assert sim_post(sim, "/_sim/faults", {"spec": "nth=1:kind=INVALID_SESSION_ID"}).ok
    with pytest.raises(SalesforceExpiredSession):
        sf_for(sim).query("SELECT Id FROM User")


def test_reset_closes_the_connection_without_a_response(make_sim):
    sim = make_sim("new_customer", fault="nth=1:kind=reset")
    with pytest.raises(requests.ConnectionError):
        get(sim, "/services/data/v62.0/query?q=SELECT+Id+FROM+User")
    assert get(sim, "/services/data/v62.0/query?q=SELECT+Id+FROM+User").status_code == 200
    assert sim.requests()[0]["status"] == 0


def test_latency_is_added_to_api_requests(make_sim):
    sim = make_sim("new_customer", latency_ms=150)
    started = time.perf_counter()
    get(sim, "/services/data/v62.0/query?q=SELECT+Id+FROM+User")
    assert time.perf_counter() - started >= 0.15


@pytest.mark.parametrize("spec", ["kind=boom", "nth=0:kind=503", "nth=1", "when=3:kind=503"])
def test_bad_fault_specs_are_refused(spec, sim):
    with pytest.raises(ValueError):
        parse_fault_spec(spec)
    resp = sim_post(sim, "/_sim/faults", {"spec": spec})
    assert resp.status_code == 400


def test_state_endpoint_has_rows_and_app_lifecycle(sim):
    state = sim_get(sim, "/_sim/state").json()
    assert state["scenario"] == "new_customer"
    assert state["apps"][0]["name"] == "sfdc_6sense_oauth_app"
    assert {r["Username"] for r in state["objects"]["User"]} == {
        "admin@example.com",
        "sixsense.integration@example.com",
    }


def test_lost_write_is_answered_as_success_but_not_saved(make_sim):
    """``lost_write``: 201 with a new id, as on success, and nothing saved; reads are never hit by it."""
    sim = make_sim("new_customer", fault="kind=lost_write:times=1")
    sf = sf_for(sim)
    assert sf.query("SELECT Id FROM User")["totalSize"] == 2  # a read: not faulted, not counted
    answer = sf.PermissionSet.create({"Name": "Lost", "Label": "Lost"})
    assert answer["success"] is True and answer["id"]
    assert sim.org.store.find("PermissionSet", Name="Lost") == []
    assert sf.query("SELECT Id FROM PermissionSet WHERE Name = 'Lost'")["totalSize"] == 0
    assert sim.requests()[-2]["action"] == "PermissionSet [fault lost_write]"
    assert sim.requests()[-2]["status"] == 201
    again = sf.PermissionSet.create({"Name": "Lost", "Label": "Lost"})
    assert [r["Id"] for r in sim.org.store.find("PermissionSet", Name="Lost")] == [again["id"]]


def test_reset_after_saves_the_write_then_drops_the_connection(make_sim):
    sim = make_sim("new_customer", fault="match=/sobjects/PermissionSet:kind=reset_after:times=1")
    with pytest.raises(requests.ConnectionError):
        requests.post(
            f"{sim.url}/services/data/v62.0/sobjects/PermissionSet",
            json={"Name": "Saved", "Label": "Saved"},
            headers={"Authorization": f"Bearer {sim.session['access_token']}"},
            verify=sim.cert_file,
            timeout=30,
        )
    assert len(sim.org.store.find("PermissionSet", Name="Saved")) == 1
    entry = sim.requests()[-1]
    assert (entry["status"], entry["kind"]) == (0, "write")
    assert sim.observer.faults[0].fired == 1


def test_lost_write_on_a_composite_rolls_back_every_subrequest(make_sim):
    sim = make_sim("new_customer", fault="match=/composite/sobjects:kind=lost_write")
    sf = sf_for(sim)
    record = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "PermissionSet"}, "Name": n, "Label": n} for n in ("L1", "L2")
        ],
    }
    answer = sf.restful("composite/sobjects", method="POST", json=record)
    assert [r["success"] for r in answer] == [True, True]
    assert sim.org.store.find("PermissionSet", Name="L1") == []
    assert sim.org.store.find("PermissionSet", Name="L2") == []
