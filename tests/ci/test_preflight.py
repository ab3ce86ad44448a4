"""MetaDeploy preflight checks of both plans, run by CumulusCI's PreflightFlowCoordinator against simulator
scenarios: each scenario gets the verdict an admin should see."""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import (
    INTEGRATION_USER,
    ROOT,
    SCENARIO_DIR,
    SETUP_USER,
    audit_reports_into,
    cci_environment,
)


def run_preflight(
    sim, plan: str, tmp_path, monkeypatch, integration_username=INTEGRATION_USER, before_run=None
):
    """{step or None: [{"status", "message"}]} for ``plan`` against ``sim``. ``before_run()`` is called once
    cci's runtime has put the project's tasks/ on the import path."""
    from cumulusci.cli.runtime import CliRuntime
    from cumulusci.core.config import FlowConfig
    from cumulusci.core.flowrunner import PreflightFlowCoordinator

    for key, value in cci_environment(sim, tmp_path / "home").items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(ROOT)  # cci finds the project from the working directory
    runtime = CliRuntime(load_keychain=True)
    # The checks' audit reports go to the test's tmp dir, not the checkout's .sixsense/.
    audit_reports_into(monkeypatch, tmp_path / "audit")
    runtime.project_config.config["project"]["custom"]["sixsense_integration_username"] = (
        integration_username
    )
    if before_run:
        before_run()
    _, org_config = runtime.get_org("sim")
    plan_config = runtime.project_config.lookup(f"plans__{plan}")
    coordinator = PreflightFlowCoordinator(
        runtime.project_config, FlowConfig(plan_config), name=plan
    )
    coordinator.run(org_config)
    return dict(coordinator.preflight_results)


def statuses(results, step=None) -> list[tuple[str, str]]:
    return [(r["status"], r["message"].split(".")[0]) for r in results.get(step, [])]


@pytest.mark.parametrize(
    "scenario, plan, expected_plan, expected_steps",
    [
        # A never-used app, admin on System Administrator: nothing blocks; they already hold the permission.
        ("new_customer", "sixsense_new_customer", [], {"4": ["skip"]}),
        # Setup user on a custom admin profile: the permission will be assigned, so step 4 runs.
        ("setup_user_lacks_permission", "sixsense_new_customer", [], {}),
        # API Access Control enforcing: a warning that the authorization will be denied but lists the app.
        ("new_customer_acc", "sixsense_new_customer", ["warn"], {"4": ["skip"]}),
        # The app is in use: the new-customer installer warns that the other one is for this org.
        ("existing_customer", "sixsense_new_customer", ["warn"], {"4": ["skip"]}),
        # Existing customer, app used but not installed: error, Install first (no API for the click).
        ("existing_customer", "sixsense_existing_customer", ["error"], {}),
        # Never used: the existing-customer installer refuses and names the other one.
        ("new_customer", "sixsense_existing_customer", ["error"], {}),
        # Fully configured: no blocking check, both write steps skipped.
        ("configured", "sixsense_existing_customer", [], {"4": ["skip"], "5": ["skip"]}),
    ],
)
def test_plan_preflight_verdict_per_scenario(
    scenario, plan, expected_plan, expected_steps, start_sim, tmp_path, monkeypatch
):
    sim = start_sim(scenario)
    results = run_preflight(sim, plan, tmp_path, monkeypatch)
    assert [s for s, _ in statuses(results)] == expected_plan, results
    steps = {k: [r["status"] for r in v] for k, v in results.items() if k is not None}
    assert steps == expected_steps, results
    assert not [w for w in sim.requests() if w["kind"] == "write"], "preflight must not write"


def test_placeholder_integration_username_blocks_with_an_explanation(
    start_sim, tmp_path, monkeypatch
):
    sim = start_sim("new_customer")
    results = run_preflight(
        sim,
        "sixsense_new_customer",
        tmp_path,
        monkeypatch,
        integration_username="sixsense.integration@yourcompany.invalid",
    )
    errors = [r["message"] for r in results[None] if r["status"] == "error"]
    assert any("placeholder integration username" in m for m in errors), results


def test_unknown_integration_user_is_an_error(start_sim, tmp_path, monkeypatch):
    sim = start_sim("new_customer")
    results = run_preflight(
        sim, "sixsense_new_customer", tmp_path, monkeypatch, integration_username="nobody@acme.com"
    )
    errors = [r["message"] for r in results[None] if r["status"] == "error"]
    assert any("does not exist in your org" in m for m in errors), results


def test_logged_in_as_the_integration_user_is_an_error(start_sim, tmp_path, monkeypatch):
    sim = start_sim("new_customer")
    results = run_preflight(
        sim,
        "sixsense_new_customer",
        tmp_path,
        monkeypatch,
        integration_username="admin@example.com",
    )
    errors = [r["message"] for r in results[None] if r["status"] == "error"]
    assert any("logged in as the 6sense integration user" in m for m in errors), results


# -- every check fires in one case and stays quiet in another ------------------------------------------------

PLACEHOLDER = "sixsense.integration@yourcompany.invalid"


def start_case(start_sim, tmp_path, scenario: str, change: str | None):
    """A simulator for ``scenario`` after ``change``: ``inactive`` (the integration user seeded inactive),
    ``install`` or ``block`` (the admin's click on Connected Apps OAuth Usage), ``install+block``."""
    if change == "inactive":
        data = yaml.safe_load((SCENARIO_DIR / f"{scenario}.yml").read_text())
        for user in data["users"]:
            if user["username"] == INTEGRATION_USER:
                user["active"] = False
        path = tmp_path / f"{scenario}_inactive.yml"
        path.write_text(yaml.safe_dump(data))
        return start_sim(str(path))
    sim = start_sim(scenario)
    for action in (change or "").split("+"):
        if action:
            assert sim.action(action).get("ok"), action
    return sim


#: (plan, scenario, change, integration username) -> the checks that fire: the first sentence of each message,
#: plan-level under None, step-level under the step number.
CASES = {
    "new/new_customer": (
        "sixsense_new_customer",
        "new_customer",
        None,
        INTEGRATION_USER,
        {"4": ["You already hold Approve Uninstalled Connected Apps; nothing to assign"]},
    ),
    "new/setup_user_lacks_permission": (
        "sixsense_new_customer",
        "setup_user_lacks_permission",
        None,
        INTEGRATION_USER,
        {},
    ),
    "new/placeholder": (
        "sixsense_new_customer",
        "new_customer",
        None,
        PLACEHOLDER,
        {
            None: [
                "This installer was published with the placeholder integration username "
                "(project: custom: sixsense_integration_username)"
            ],
            "4": ["You already hold Approve Uninstalled Connected Apps; nothing to assign"],
        },
    ),
    "new/unknown_user": (
        "sixsense_new_customer",
        "new_customer",
        None,
        "nobody@acme.com",
        {
            None: [
                "The 6sense integration user this installer is set up for does not exist in your org"
            ],
            "4": ["You already hold Approve Uninstalled Connected Apps; nothing to assign"],
        },
    ),
    "new/inactive_user": (
        "sixsense_new_customer",
        "new_customer",
        "inactive",
        INTEGRATION_USER,
        {
            None: ["The 6sense integration user is inactive"],
            "4": ["You already hold Approve Uninstalled Connected Apps; nothing to assign"],
        },
    ),
    "new/logged_in_as_integration_user": (
        "sixsense_new_customer",
        "new_customer",
        None,
        SETUP_USER,
        {
            None: ["You are logged in as the 6sense integration user"],
            "4": ["You already hold Approve Uninstalled Connected Apps; nothing to assign"],
        },
    ),
    "new/acc_enforcing": (
        "sixsense_new_customer",
        "new_customer_acc",
        None,
        INTEGRATION_USER,
        {
            None: ["API Access Control is enforcing in your org"],
            "4": ["You already hold Approve Uninstalled Connected Apps; nothing to assign"],
        },
    ),
    "new/app_used": (
        "sixsense_new_customer",
        "existing_customer",
        None,
        INTEGRATION_USER,
        {
            None: ["6sense has already connected to this org (the app has tokens or is installed)"],
            "4": ["You already hold Approve Uninstalled Connected Apps; nothing to assign"],
        },
    ),
    "new/app_blocked": (
        "sixsense_new_customer",
        "existing_customer",
        "block",
        INTEGRATION_USER,
        {
            # Blocking revokes the app's tokens (facts §6.2), so the "already connected" warning is quiet.
            None: ["The 6sense app is blocked in your org (Setup > Connected Apps OAuth Usage)"],
            "4": ["You already hold Approve Uninstalled Connected Apps; nothing to assign"],
        },
    ),
    "existing/existing_customer": (
        "sixsense_existing_customer",
        "existing_customer",
        None,
        INTEGRATION_USER,
        {None: ["The 6sense app is not installed yet"]},
    ),
    "existing/never_used": (
        "sixsense_existing_customer",
        "new_customer",
        None,
        INTEGRATION_USER,
        {None: ["6sense has never connected to this org"]},
    ),
    "existing/installed": (
        "sixsense_existing_customer",
        "existing_customer",
        "install",
        INTEGRATION_USER,
        {None: ['Permitted Users will change to "Admin approved users are pre-authorized"']},
    ),
    "existing/installed_and_blocked": (
        "sixsense_existing_customer",
        "existing_customer",
        "install+block",
        INTEGRATION_USER,
        {
            None: [
                "The 6sense app is blocked in your org (Setup > Connected Apps OAuth Usage)",
                # Blocking revokes the app's tokens (facts §6.2), so nothing shows it was ever used.
                "6sense has never connected to this org",
                'Permitted Users will change to "Admin approved users are pre-authorized"',
            ]
        },
    ),
    "existing/configured": (
        "sixsense_existing_customer",
        "configured",
        None,
        INTEGRATION_USER,
        {
            "4": ["The integration user already has access to the 6sense app"],
            "5": ['Permitted Users is already "Admin approved users are pre-authorized"'],
        },
    ),
    "existing/placeholder": (
        "sixsense_existing_customer",
        "configured",
        None,
        PLACEHOLDER,
        {
            None: [
                "This installer was published with the placeholder integration username "
                "(project: custom: sixsense_integration_username)"
            ],
            "5": ['Permitted Users is already "Admin approved users are pre-authorized"'],
        },
    ),
    "existing/unknown_user": (
        "sixsense_existing_customer",
        "configured",
        None,
        "nobody@acme.com",
        {
            None: [
                "The 6sense integration user this installer is set up for does not exist in your org"
            ],
            "5": ['Permitted Users is already "Admin approved users are pre-authorized"'],
        },
    ),
    "existing/logged_in_as_integration_user": (
        "sixsense_existing_customer",
        "configured",
        None,
        SETUP_USER,
        {
            None: ["You are logged in as the 6sense integration user"],
            "5": ['Permitted Users is already "Admin approved users are pre-authorized"'],
        },
    ),
}


def first_sentence(message: str) -> str:
    return message.split(". ")[0].rstrip(".")


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_check_fires_exactly_where_its_fact_holds(case, start_sim, tmp_path, monkeypatch):
    plan, scenario, change, username, expected = CASES[case]
    sim = start_case(start_sim, tmp_path, scenario, change)
    results = run_preflight(sim, plan, tmp_path, monkeypatch, integration_username=username)
    fired = {step: [first_sentence(r["message"]) for r in rs] for step, rs in results.items() if rs}
    assert fired == expected, results
    assert not [w for w in sim.requests() if w["kind"] == "write"], "preflight must not write"


def plan_checks() -> list[tuple[str, str | None, str]]:
    """(plan, step or None, first sentence of the message) of every check in cumulusci.yml."""
    plans = yaml.safe_load((ROOT / "cumulusci.yml").read_text())["plans"]
    out = []
    for plan, spec in sorted(plans.items()):
        out += [(plan, None, first_sentence(c["message"])) for c in spec.get("checks", [])]
        for number, step in spec["steps"].items():
            out += [
                (plan, str(number), first_sentence(c["message"])) for c in step.get("checks", [])
            ]
    return out


def test_every_check_has_a_case_where_it_fires_and_one_where_it_does_not():
    checks = plan_checks()
    assert len(checks) == 17, checks
    for plan, step, message in checks:
        cases = [expected for p, _, _, _, expected in CASES.values() if p == plan]
        assert any(message in e.get(step, []) for e in cases), (
            f"{plan} {step}: never fires: {message}"
        )
        assert any(message not in e.get(step, []) for e in cases), f"{plan} {step}: always fires"


# -- a fact the org would not let it read never passes a check -----------------------------------------------


def refuse_read(monkeypatch, what: str):
    """``before_run`` hook: the diagnosis's ``what`` read (``ConnectedApplication`` query, ``listMetadata`` of
    blocked apps) fails as an org answers a user without the permission (INSUFFICIENT_ACCESS)."""

    def hook():
        import importlib

        from cumulusci.salesforce_api.exceptions import MetadataApiError

        diagnose = importlib.import_module("tasks.diagnose.task").Diagnose
        resilience = importlib.import_module("tasks.resilience")
        if what == "ConnectedApplication":
            real_query = diagnose._query

            def query(self, soql):
                if "FROM ConnectedApplication" in soql:
                    raise resilience.SixsenseOrgError("INSUFFICIENT_ACCESS: ConnectedApplication")
                return real_query(self, soql)

            monkeypatch.setattr(diagnose, "_query", query)
        else:
            real_read = diagnose._read

            def read(self, label, call, *args, **kwargs):
                if label == what:
                    raise MetadataApiError("INSUFFICIENT_ACCESS: insufficient access rights", None)
                return real_read(self, label, call, *args, **kwargs)

            monkeypatch.setattr(diagnose, "_read", read)

    return hook


@pytest.mark.parametrize(
    "plan, scenario, refused, unknown",
    [
        # Unread, "no installed app" would fire "not installed yet" and skip neither write step.
        ("sixsense_existing_customer", "configured", "ConnectedApplication", "app_installed"),
        # Unread, the blocked list would pass the "app is blocked" check.
        ("sixsense_new_customer", "existing_customer", "listMetadata", "app_blocked"),
    ],
)
def test_a_fact_the_org_refuses_stops_the_preflight(
    plan, scenario, refused, unknown, start_sim, tmp_path, monkeypatch
):
    from cumulusci.core.exceptions import CumulusCIFailure

    sim = start_sim(scenario)
    with pytest.raises(CumulusCIFailure, match=f"facts are unknown: .*{unknown}"):
        run_preflight(
            sim, plan, tmp_path, monkeypatch, before_run=refuse_read(monkeypatch, refused)
        )
    assert not [w for w in sim.requests() if w["kind"] == "write"], "preflight must not write"


def test_every_fact_a_check_reads_is_a_documented_preflight_fact(monkeypatch):
    """A misspelt key would read as Jinja's undefined (false) and pass its check silently."""
    import importlib
    import re

    from cumulusci.cli.runtime import CliRuntime

    monkeypatch.chdir(ROOT)
    CliRuntime(load_keychain=False)  # puts the project's tasks/ on the import path
    facts = importlib.import_module("tasks.preflight").FACTS
    plans = (ROOT / "cumulusci.yml").read_text().split("\nplans:", 1)[1]
    read = set(re.findall(r"tasks\.sixsense_preflight\(\)\['(\w+)'\]", plans))
    assert "tasks.sixsense_" not in re.sub(r"tasks\.sixsense_preflight\(\)", "", plans)
    assert read == set(facts), set(facts) ^ read
