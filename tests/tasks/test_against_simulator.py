"""The task classes against the org simulator, in-process (real HTTPS, real simple_salesforce and SOAP)."""

import re
from types import SimpleNamespace

import pytest
import requests

from orgsim.identity import TOOL_CLIENT, TOOL_CLIENTS
from tests.conftest import INTEGRATION_USER as INTEGRATION
from tests.conftest import last_seq, writes_since


def test_configured_org_verifies_and_nothing_is_written(sim_task, tmp_path):
    sim, make = sim_task("configured")
    seq = last_seq(sim)
    assert (
        make("sixsense_validate_inputs", integration_username=INTEGRATION)()["integration_username"]
        == INTEGRATION
    )
    assert make("sixsense_grant_app_access", integration_username=INTEGRATION)()["created"] == 0
    assert make("sixsense_install_connected_app", interactive="False")()["status"] == "already done"
    result = make(
        "sixsense_verify",
        integration_username=INTEGRATION,
        report_path=str(tmp_path / "v.json"),
        refresh_token_policy_checked="True",  # the policy page, looked at (not readable by API here)
    )()
    assert result["passed"] is True
    assert writes_since(sim, seq) == []


def test_new_customer_install_is_pending_until_the_operator_acts(sim_task, errors):
    sim, make = sim_task("new_customer")
    with pytest.raises(
        errors.ManualStepPending,
        match=re.escape(
            "repeat 'Authorize the 6sense app once as the setup user (article step 1)'"
        ),
    ):
        make("sixsense_install_connected_app", interactive="False")()
    sim.action("authorize", username="admin@example.com")
    sim.action("install")
    assert make("sixsense_install_connected_app", interactive="False")()["status"] == "already done"


@pytest.mark.parametrize("operation", ["retrieve", "checkRetrieveStatus"])
def test_dropped_connection_on_a_metadata_read_is_retried(sim_task, operation):
    """cci's Metadata API session retries no POST, and retrieve/listMetadata are SOAP POSTs that only read:
    the tasks retry them on a dropped connection (it once surfaced as a raw ConnectionError)."""
    sim, make = sim_task("new_customer", fault=f"match={operation}:kind=reset:times=1")
    result = make("sixsense_detect_api_access_control")()
    assert result["enforcing"] is False
    assert sim.observer.faults[0].fired == 1
    assert [r["action"] for r in sim.requests()].count("checkRetrieveStatus") == 1


def _ready_task(make):
    task = make("sixsense_diagnose")
    task._init_task()
    return task


@pytest.mark.parametrize("kind", ["UNABLE_TO_LOCK_ROW", "reset", "503"])
def test_a_query_is_retried_on_a_transient_fault(sim_task, kind):
    """A read that meets a transient fault is sent again (bounded backoff) and answers as if nothing
    happened; nothing is written."""
    sim, make = sim_task("new_customer", fault=f"match=/query:kind={kind}:times=1")
    task = _ready_task(make)
    seq = last_seq(sim)
    users = task._query("SELECT Id, Username FROM User WHERE Username = 'admin@example.com'")
    assert [u["Username"] for u in users] == ["admin@example.com"]
    assert [r["action"] for r in sim.requests(since=seq)] == [f"[fault {kind}]", "User"]
    assert writes_since(sim, seq) == []


def test_a_refused_query_surfaces_with_its_code(sim_task, errors):
    """A query Salesforce refuses becomes one line with Salesforce's code and what to do; not retried."""
    sim, make = sim_task("new_customer")
    task = _ready_task(make)
    seq = last_seq(sim)
    with pytest.raises(
        errors.SixsenseOrgError, match=r"(?s)Query failed: INVALID_TYPE: .*NoSuchObject"
    ):
        task._query("SELECT Id FROM NoSuchObject")
    assert len(sim.requests(since=seq)) == 1


def test_expired_session_mid_step_is_refreshed_once(sim_task, errors):
    """INVALID_SESSION_ID on a read: the task refreshes the token once and retries; a second expiry in
    the same task stops it with the message that says what to do."""
    sim, make = sim_task("new_customer", fault="match=/query:kind=INVALID_SESSION_ID:times=1")
    task = _ready_task(make)
    refreshed = []

    def refresh(keychain):  # cci's refresh-token grant, against the simulator
        answer = requests.post(
            f"{sim.url}/services/oauth2/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": task.org_config.refresh_token,
                "client_id": TOOL_CLIENTS[TOOL_CLIENT][0],
            },
            verify=sim.ca_bundle,
        ).json()
        task.org_config.config["access_token"] = answer["access_token"]
        refreshed.append(answer["access_token"])

    task.org_config.refresh_oauth_token = refresh
    task.org_config.keychain = SimpleNamespace(set_org=lambda org, global_org=False: None)
    old_token = task.sf.session_id
    assert task._query("SELECT Id FROM User WHERE Username = 'admin@example.com'")
    assert len(refreshed) == 1 and refreshed[0] != old_token
    assert (
        task.sf.headers["Authorization"] == f"Bearer {refreshed[0]}"
    )  # the retry used the new one
    assert [r["action"] for r in sim.requests()][-2:] == ["refresh_token", "User"]
    sim.observer.faults[0].times, sim.observer.faults[0].fired = 2, 0
    with pytest.raises(errors.SixsenseOrgError, match="INVALID_SESSION_ID.*run the flow again"):
        task._query("SELECT Id FROM User")
    assert len(refreshed) == 1


def _org_with_extra_rows(tmp_path, scenario: str, n: int) -> str:
    """A simulator state file of ``scenario`` plus ``n`` users, ``n`` OAuth tokens (1 in 20 for the 6sense
    app) and ``n`` permission set assignments (``benchmarks.scale.fill``)."""
    from benchmarks.scale import fill
    from orgsim import server

    state = tmp_path / f"{scenario}-{n}.sqlite"
    server.start(scenario, state_file=str(state)).stop()
    fill(state, n)
    return str(state)


@pytest.mark.parametrize("task_name", ["sixsense_diagnose", "sixsense_verify"])
def test_requests_do_not_grow_with_the_orgs_size(sim_task, tmp_path, task_name):
    """No N+1: diagnose and verify send the same requests to an org with 10 extra users and tokens as to
    one with 1,000 (each fact is one query, whatever the number of rows)."""
    sent = {}
    for n in (10, 1000):
        sim, make = sim_task(
            "configured", state_file=_org_with_extra_rows(tmp_path, "configured", n)
        )
        options = {"integration_username": INTEGRATION}
        if task_name == "sixsense_verify":
            options["report_path"] = str(tmp_path / f"verify-{n}.json")
            options["refresh_token_policy_checked"] = "True"
        seq = last_seq(sim)
        result = make(task_name, **options)()
        assert result, result
        log = [r for r in sim.requests(since=seq) if r["kind"] != "sim"]
        sent[n] = [(r["method"], r["action"]) for r in log]
        assert writes_since(sim, seq) == []
    assert sent[1000] == sent[10]
    assert len(sent[10]) < 40, sent[10]
