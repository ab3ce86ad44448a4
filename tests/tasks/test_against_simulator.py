"""The task classes against the org simulator, in-process (real HTTPS, real simple_salesforce and SOAP)."""

import json

import pytest

from tests.conftest import INTEGRATION_USER as INTEGRATION
from tests.conftest import last_seq, writes_since


@pytest.fixture
def sim_task(start_sim, runtime, monkeypatch):
    """``sim_task(scenario)`` -> (sim, make(name, **options)) with an OrgConfig for the simulator."""
    from cumulusci.core.config import OrgConfig, TaskConfig

    def _factory(scenario, **kwargs):
        sim = start_sim(scenario, **kwargs)
        env = sim.env()
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", env["REQUESTS_CA_BUNDLE"])
        org = OrgConfig(json.loads(env["CUMULUSCI_ORG_sim"]), "sim")
        org.refresh_oauth_token = lambda keychain: None

        def make(name, **options):
            base = runtime.project_config.get_task(name)
            config = {**base.config, "options": {**(base.config.get("options") or {}), **options}}
            return base.get_class()(runtime.project_config, TaskConfig(config), org_config=org)

        return sim, make

    return _factory


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
