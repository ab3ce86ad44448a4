"""Issue 17, kind 7: the guided steps' instructions follow the org's kind. A sandbox (or scratch org) is
connected in the vendor's application through its Sandbox entry, separately from production, and logs in
through test.salesforce.com or its My Domain; production through Salesforce (Production) and
login.salesforce.com (datasets/vendors/6sense.yml ``environments``; ``GuidedStep._vendor_instructions``).
Against the simulator presenting the same scenario as each kind (``org_kind``)."""

from __future__ import annotations

import pytest

from tests.conftest import INTEGRATION_USER, SETUP_USER
from tests.tasks.conftest import ADMIN, ADMIN_USER, INTEGRATION
from tests.tasks.test_production_guard_alone import scenario_variant

PICK_PRODUCTION = "select Salesforce (Production)"

#: kind -> (what the instructions must say, what they must not)
EXPECTED = {
    "production": (
        [PICK_PRODUCTION, "at https://login.salesforce.com as the setup user"],
        ["test.salesforce.com", "Salesforce (Sandbox)", "sandbox"],
    ),
    "sandbox": (
        [
            "select Salesforce (Sandbox)",
            "connects each sandbox separately from production",
            "at https://test.salesforce.com as the setup user",
        ],
        [PICK_PRODUCTION, "login.salesforce.com"],
    ),
    "scratch": (
        ["select Salesforce (Sandbox)", "at https://test.salesforce.com as the setup user"],
        [PICK_PRODUCTION, "login.salesforce.com"],
    ),
}


def _pending(make, task, **options) -> str:
    from tasks.errors import ManualStepPending

    with pytest.raises(ManualStepPending) as pending:
        make(task, interactive="False", integration_username=INTEGRATION_USER, **options)()
    return str(pending.value)


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_step_1_names_the_connection_and_login_host_of_the_org_kind(kind, sim_task):
    sim, make = sim_task("new_customer", org_kind=kind)
    message = _pending(make, "sixsense_authorize_setup_user")
    must, must_not = EXPECTED[kind]
    for text in must:
        assert text in message, f"{text!r} not in:\n{message}"
    for text in must_not:
        assert text not in message, f"{text!r} in:\n{message}"
    assert f"org {sim.url}" in message  # the deep link is this org's own instance


@pytest.mark.parametrize(
    ("kind", "host"),
    [("production", "https://login.salesforce.com"), ("sandbox", "https://test.salesforce.com")],
)
def test_install_and_reauthorize_log_in_through_the_kind_s_host(kind, host, sim_task, tmp_path):
    sim, make = sim_task("new_customer", org_kind=kind)
    message = _pending(make, "sixsense_install_connected_app", setup_username=SETUP_USER)
    assert f"log in at {host} as a System Administrator" in message, message
    assert f"{sim.url}/lightning/setup/ConnectedAppsUsage/home" in message

    def no_token(data):
        data["tokens"] = []

    sim, make = sim_task(scenario_variant(tmp_path, "configured", no_token), org_kind=kind)
    message = _pending(make, "sixsense_reauthorize_integration_user")
    assert f"Log in at {host} as the integration user {INTEGRATION_USER}" in message, message
    connection = "Salesforce (Sandbox)" if kind == "sandbox" else "Salesforce (Production)"
    assert f"for 6sense's {connection} connection" in message, message


@pytest.mark.parametrize(
    ("instance", "kind", "login"),
    [
        (
            "https://acme.my.salesforce.com",
            "production",
            "https://acme.my.salesforce.com (your My Domain; or https://login.salesforce.com)",
        ),
        (
            "https://acme--uat.sandbox.my.salesforce.com",
            "sandbox",
            "https://acme--uat.sandbox.my.salesforce.com (your My Domain; or https://test.salesforce.com)",
        ),
        ("https://na224.salesforce.com", "sandbox", "https://test.salesforce.com"),
        ("https://na224.salesforce.com", "production", "https://login.salesforce.com"),
    ],
)
def test_my_domain_orgs_log_in_through_their_my_domain(
    instance, kind, login, make_task, monkeypatch
):
    task = make_task("sixsense_authorize_setup_user", integration_username=INTEGRATION)
    task._org_kind_cache = (kind, "Acme")
    monkeypatch.setattr(task, "_instance_url", lambda: instance)
    assert task._login_text() == login


def test_step_1_on_a_my_domain_org_names_its_login_url(make_task, org, errors):
    org.on("FROM Organization", records=[{"Name": "Acme", "IsSandbox": False}])
    org.on("FROM User", records=[ADMIN_USER])
    org.on("FROM ConnectedApplication", records=[])
    org.on("FROM OauthToken", records=[])
    with pytest.raises(errors.ManualStepPending) as pending:
        make_task(
            "sixsense_authorize_setup_user", interactive="False", integration_username=INTEGRATION
        )()
    login = "https://acme.my.salesforce.com (your My Domain; or https://login.salesforce.com)"
    assert f"Sign in to Salesforce at {login} as the setup user {ADMIN}" in str(pending.value)
