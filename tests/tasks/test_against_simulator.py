"""The task classes against the org simulator, in-process (real HTTPS, real simple_salesforce and SOAP)."""

from types import SimpleNamespace

import pytest
import requests

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
        "sixsense_verify", integration_username=INTEGRATION, report_path=str(tmp_path / "v.json")
    )()
    assert result["passed"] is True
    assert writes_since(sim, seq) == []


def test_new_customer_install_is_pending_until_the_operator_acts(sim_task, common):
    sim, make = sim_task("new_customer")
    with pytest.raises(common.ManualStepPending, match="repeat step 1"):
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


def _read_ahead_task(make):
    task = make("sixsense_diagnose")
    task._init_task()
    return task


@pytest.mark.parametrize("kind", ["UNABLE_TO_LOCK_ROW", "reset", "503"])
def test_read_ahead_is_one_composite_read_retried_on_a_transient_fault(sim_task, kind):
    """``_read_ahead`` sends its queries as one REST Composite request (logged as a read, no write) and
    retries the whole batch on a transient fault; each result answers the next ``_query`` of its SOQL once."""
    sim, make = sim_task("new_customer", fault=f"match=/composite:kind={kind}:times=1")
    task = _read_ahead_task(make)
    apps = "SELECT Id, Name FROM ConnectedApplication"
    users = "SELECT Id, Username FROM User WHERE Username = 'admin@example.com'"
    seq = last_seq(sim)
    task._read_ahead([apps, users])
    log = sim.requests(since=seq)
    assert [(r["path"].rsplit("/", 1)[-1], r["action"]) for r in log] == [
        ("composite", f"[fault {kind}]"),
        ("composite", "composite"),
    ]
    assert writes_since(sim, seq) == []
    assert [u["Username"] for u in task._query(users)] == ["admin@example.com"]
    assert task._query(apps) == []
    assert len(sim.requests(since=seq)) == 2  # both answered from the batch
    task._query(users)  # used once: this one reads the org again
    assert [r["action"] for r in sim.requests(since=seq)][-1] == "User"


def test_read_ahead_subrequest_error_surfaces_with_its_code(sim_task, common):
    """A refused subrequest raises when its query is used, as if sent alone; the others are answered."""
    sim, make = sim_task("new_customer")
    task = _read_ahead_task(make)
    seq = last_seq(sim)
    task._read_ahead(["SELECT Id FROM User", "SELECT Id FROM NoSuchObject"])
    assert task._query("SELECT Id FROM User")
    with pytest.raises(
        common.SixsenseOrgError, match=r"(?s)Query failed: INVALID_TYPE: .*NoSuchObject"
    ):
        task._query("SELECT Id FROM NoSuchObject")
    assert len(sim.requests(since=seq)) == 1


def test_expired_session_mid_step_is_refreshed_once(sim_task, common):
    """INVALID_SESSION_ID on a read: the task refreshes the token once and retries; a second expiry in
    the same task stops it with the message that says what to do."""
    sim, make = sim_task("new_customer", fault="match=/query:kind=INVALID_SESSION_ID:times=1")
    task = _read_ahead_task(make)
    refreshed = []

    def refresh(keychain):  # cci's refresh-token grant, against the simulator
        answer = requests.post(
            f"{sim.url}/services/oauth2/token",
            data={"grant_type": "refresh_token", "refresh_token": task.org_config.refresh_token},
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
    with pytest.raises(common.SixsenseOrgError, match="INVALID_SESSION_ID.*run the flow again"):
        task._query("SELECT Id FROM User")
    assert len(refreshed) == 1


@pytest.mark.parametrize("scenario", ["new_customer", "existing_customer"])
def test_diagnose_reads_its_facts_in_two_round_trips(sim_task, scenario):
    """Diagnose's queries go in two composite reads (the facts, then what depends on them) besides the
    users lookup and the describes; its Metadata reads stay SOAP calls."""
    sim, make = sim_task(scenario)
    task = make("sixsense_diagnose", integration_username=INTEGRATION)
    task.org_config._load_orginfo()  # what cci's session refresh reads before a step
    seq = last_seq(sim)
    result = task()
    assert result["users"]["integration"]["found"] is True
    log = sim.requests(since=seq)
    rest = [r for r in log if r["path"].startswith("/services/data/")]
    queries = [r["action"] for r in rest if "/query" in r["path"]]
    composites = [r for r in rest if r["path"].endswith("/composite")]
    assert len(composites) == 2, rest
    for entry in composites:  # Salesforce takes at most 5 query subrequests in one composite
        assert entry["status"] == 200, entry
    assert queries == ["User"], rest
    assert writes_since(sim, seq) == []
