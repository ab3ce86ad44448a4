"""MetaDeploy preflight checks of both plans, run by CumulusCI's PreflightFlowCoordinator against simulator
scenarios: each scenario gets the verdict an admin should see."""

from __future__ import annotations

import pytest

from tests.conftest import INTEGRATION_USER, ROOT, audit_reports_into, cci_environment


def run_preflight(sim, plan: str, tmp_path, monkeypatch, integration_username=INTEGRATION_USER):
    """{step or None: [{"status", "message"}]} for ``plan`` against ``sim``."""
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
