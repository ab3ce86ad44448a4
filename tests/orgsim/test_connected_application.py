"""ConnectedApplication's documented fields (Field Reference "ConnectedApplication"), its refresh-token
validity set by the scenario's policy, and the SetupAuditTrail entries the simulator's human actions write
(facts §10.4)."""

from __future__ import annotations

import pytest
import yaml
from simple_salesforce.exceptions import SalesforceError

from tests.orgsim.simclient import sf_for

DOCUMENTED = (
    "Id, Name, CreatedById, CreatedDate, LastModifiedById, LastModifiedDate, MobileSessionTimeout, "
    "MobileStartUrl, NamedUserUvidTimeout, OptionsAllowAdminApprovedUsersOnly, "
    "OptionsCodeCredentialGuestEnabled, OptionsFullContentPushNotifications, "
    "OptionsHasSessionLevelPolicy, OptionsIsInternal, OptionsRefreshTokenValidityMetric, "
    "OptionsTokenExchangeManageBitEnabled, PinLength, RefreshTokenValidityPeriod, StartUrl"
)


def write(tmp_path, policy: str) -> str:
    data = {
        "users": [{"username": "admin@example.com", "profile": "System Administrator"}],
        "app": {
            "visible": True,
            "installed": True,
            "oauth_policy": {"refresh_token_policy": policy},
        },
    }
    path = tmp_path / "app.yml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.mark.parametrize(
    ("policy", "period", "metric"),
    [
        ("infinite", None, False),
        ("specific_lifetime:12:HOURS", 12, False),
        ("specific_inactivity:30:DAYS", 30, True),
    ],
)
def test_documented_fields_and_refresh_token_validity(make_sim, tmp_path, policy, period, metric):
    sim = make_sim(write(tmp_path, policy))
    [row] = sf_for(sim).query(f"SELECT {DOCUMENTED} FROM ConnectedApplication")["records"]
    assert row["Name"] == "sfdc_6sense_oauth_app"
    assert row["RefreshTokenValidityPeriod"] == period
    assert row["OptionsRefreshTokenValidityMetric"] is metric
    assert row["PinLength"] is None and row["OptionsAllowAdminApprovedUsersOnly"] is False


def audit(sim) -> list[dict]:
    return sf_for(sim).query(
        "SELECT Action, Section, Display, CreatedBy.Username FROM SetupAuditTrail "
        "WHERE CreatedDate = LAST_N_DAYS:1 ORDER BY CreatedDate"
    )["records"]


def test_install_and_permitted_users_change_are_in_the_setup_audit_trail(sim):
    assert audit(sim) == []
    assert sim.action("authorize", username="admin@example.com")["ok"]
    assert sim.action("install")["ok"]
    assert sim.action("policy", permitted_users="admin_approved")["ok"]
    entries = audit(sim)
    assert [e["Section"] for e in entries] == ["Connected Apps", "Connected Apps"]
    assert "sfdc_6sense_oauth_app" in entries[0]["Display"]
    assert "Installed" in entries[0]["Display"]
    assert "Admin approved users are pre-authorized" in entries[1]["Display"]
    assert {e["CreatedBy"]["Username"] for e in entries} == {"admin@example.com"}
    count = sf_for(sim).query("SELECT count() FROM SetupAuditTrail")
    assert count["totalSize"] == 2


def test_section_and_display_cannot_be_filtered(sim):
    for field in ("Section", "Display"):
        with pytest.raises(SalesforceError) as exc:
            sf_for(sim).query(f"SELECT Id FROM SetupAuditTrail WHERE {field} = 'Connected Apps'")
        assert exc.value.content[0]["errorCode"] == "INVALID_FIELD"
        assert f"field '{field}' can not be filtered" in exc.value.content[0]["message"]


def test_a_past_install_within_180_days_is_audited_and_older_ones_are_not(make_sim):
    # configured: the app was installed in the scenario's past.
    sim = make_sim("configured")
    rows = sf_for(sim).query("SELECT Display, CreatedDate FROM SetupAuditTrail")["records"]
    installs = [r for r in rows if "sfdc_6sense_oauth_app" in r["Display"]]
    app = sim.org.scenario["app"]
    assert bool(installs) == (app["installed_days_ago"] <= 180)
