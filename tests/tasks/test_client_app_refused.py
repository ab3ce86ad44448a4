"""A step whose REST call is refused because API Access Control does not allow cci's own connected app
(``client_app_not_allowlisted``) stops with the one message that says how to allowlist it, without renewing
the session (a new token from the same app is refused alike) and without writing."""

from __future__ import annotations

import pytest
from cumulusci.core.config import OrgConfig
from cumulusci.core.config.sfdx_org_config import SfdxOrgConfig
from cumulusci.core.keychain.base_project_keychain import DEFAULT_CONNECTED_APP

from tests.conftest import INTEGRATION_USER, last_seq, writes_since

BUILT_IN_ID = DEFAULT_CONNECTED_APP.client_id


@pytest.mark.parametrize(
    ("task", "options"),
    [
        ("sixsense_validate_inputs", {"integration_username": INTEGRATION_USER}),
        (
            "sixsense_assign_setup_access",
            {
                "setup_username": "admin@example.com",
                "integration_username": INTEGRATION_USER,
                "confirm_production": "True",
            },
        ),
    ],
)
def test_the_refused_client_is_one_message_and_no_write(sim_task, errors, task, options):
    sim, make = sim_task("client_app_not_allowlisted")
    resilience = __import__("tasks.resilience", fromlist=["client_not_allowlisted_message"])
    mark = last_seq(sim)
    step = make(task, **options)
    with pytest.raises(errors.SixsenseOrgError) as raised:
        step()
    assert str(raised.value) == resilience.client_not_allowlisted_message(step.org_config)
    # The message names the app the session came through: cci's built-in one here (issue 17 kind 4).
    assert (
        f"CumulusCI's built-in connected app (cci's connected_app service 'built-in', client id {BUILT_IN_ID})"
        in str(raised.value)
    )
    assert writes_since(sim, mark) == []
    assert not [r for r in sim.requests(since=mark) if r["kind"] == "auth"], "no session renewal"


class _Keychain:
    """The two keychain reads ``refused_client`` makes: the default connected_app service's name, and a
    service's client id."""

    def __init__(self, default: str, client_ids: dict[str, str]):
        self.default, self.client_ids = default, client_ids

    def get_default_service_name(self, service_type):
        assert service_type == "connected_app"
        return self.default

    def get_service(self, service_type, alias):
        assert service_type == "connected_app"
        if alias not in self.client_ids:
            raise KeyError(alias)
        return type("Service", (), {"client_id": self.client_ids[alias]})()


@pytest.mark.parametrize(
    ("org_config", "expected"),
    [
        # No service named anywhere: CumulusCI's built-in app, with its client id.
        (
            OrgConfig({}, "prod"),
            f"CumulusCI's built-in connected app (cci's connected_app service 'built-in', client id {BUILT_IN_ID})",
        ),
        # The org names its own service; the keychain knows its client id.
        (
            OrgConfig(
                {"connected_app": "acme_ops"},
                "prod",
                keychain=_Keychain("built-in", {"acme_ops": "3MVGacme"}),
            ),
            "the connected app of cci's connected_app service 'acme_ops' (client id 3MVGacme)",
        ),
        # The org names none: the keychain's default service is the one cci refreshes through.
        (
            OrgConfig({}, "prod", keychain=_Keychain("team_app", {"team_app": "3MVGteam"})),
            "the connected app of cci's connected_app service 'team_app' (client id 3MVGteam)",
        ),
        # A service the keychain no longer has: named, without an id rather than a guess.
        (
            OrgConfig({"connected_app": "gone"}, "prod", keychain=_Keychain("built-in", {})),
            "the connected app of cci's connected_app service 'gone'",
        ),
        # A client id stored with the org itself wins over any service.
        (
            OrgConfig({"client_id": "3MVGown", "connected_app": "acme_ops"}, "prod"),
            "the connected app with client id 3MVGown, stored with this org in cci's keychain",
        ),
    ],
    ids=["built-in", "org-service", "default-service", "service-gone", "org-client-id"],
)
def test_the_message_names_the_client_cci_logged_in_through(tasks_module, org_config, expected):
    resilience = tasks_module("resilience")
    assert resilience.refused_client(org_config) == expected
    message = resilience.client_not_allowlisted_message(org_config)
    assert (
        f"the connected app cci logs in through, {expected}, is not allowlisted for your user"
        in message
    )
    assert "Nothing was changed" in message and "Install that app" in message


def test_an_org_read_from_sf_names_the_sf_cli_app(tasks_module):
    """``cci org import`` / scratch orgs: cci uses the session sf holds, which came through sf's own app."""
    org_config = SfdxOrgConfig({"sfdx_alias": "acme"}, "acme")
    resilience = tasks_module("resilience")
    phrase = resilience.refused_client(org_config)
    assert f"client id {resilience.SF_CLI_CLIENT_ID}" in phrase and "Salesforce CLI" in phrase
    assert "CumulusCI's built-in" not in phrase and BUILT_IN_ID not in phrase


def test_a_blocked_client_is_one_message_at_once_and_no_write(sim_task, errors):
    """``client_app_blocked``: the task's token refresh is refused ``app_blocked`` (facts §6.2). Not a
    transient fault: one refresh, no retry, and the message names the app and says to unblock it."""
    sim, make = sim_task("client_app_blocked")
    resilience = __import__("tasks.resilience", fromlist=["client_blocked_message"])
    mark = last_seq(sim)
    step = make("sixsense_validate_inputs", integration_username=INTEGRATION_USER)
    del (
        step.org_config.refresh_oauth_token
    )  # sim_task's stub: the real refresh is the refused grant
    with pytest.raises(errors.SixsenseOrgError) as raised:
        step()
    assert str(raised.value) == resilience.client_blocked_message(step.org_config)
    assert f"client id {BUILT_IN_ID}" in str(raised.value)
    assert "Unblock that app" in str(raised.value)
    assert writes_since(sim, mark) == []
    refreshes = [r for r in sim.requests(since=mark) if r["action"] == "refresh_token"]
    assert len(refreshes) == 1, "a block is not transient: no retried refresh"
