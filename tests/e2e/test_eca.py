"""The External Client App route end to end: ``sixsense_eca`` and ``sixsense_migrate_to_eca`` against their
scenarios, with the autopilot and non-interactively; second runs write nothing. The org's state is read from
the simulator, never from what the tasks report."""

from __future__ import annotations

import json

import pytest

from tests.conftest import (
    SCENARIO_DIR,
    flow_options,
    last_seq,
    production_consent,
    writes_since,
)
from tests.e2e.autopilot_order import (
    assert_actions_follow_instructions,
    assert_autopilot_did,
    recording,
)
from tests.e2e.outcomes import (
    INTEGRATION_USER,
    SETUP_USER,
    assert_second_run_writes_nothing,
    rows,
    user_id,
)

FAST = {"poll_interval": "1", "wait_timeout": "60"}
ECA_LABEL = "6sense External Client App"
WANTED = {
    "permitted_users": "AllSelfAuthorized",
    "refresh_token_policy": "SpecificInactivity",
    "refresh_token_validity_period": 30,
    "refresh_token_validity_unit": "Days",
    "start_url": None,
}
#: (scenario, flow) -> the manual steps a non-interactive run stops at, in order.
ECA_STOPS = {
    # Policy metadata deployable: the flow sets the policies itself; only the authorization is manual.
    ("eca_not_installed", "sixsense_eca"): ["sixsense_authorize_eca"],
    # The policy file's name is generated per org: found with listMetadata, then deployed (issue 17 kind 10).
    ("eca_installed_policies_deployable", "sixsense_eca"): ["sixsense_authorize_eca"],
    # Its Permitted Users switch would log out all users; the flow sets self-authorize, so nothing is revoked.
    ("eca_admin_approval_logs_out_all_users", "sixsense_eca"): ["sixsense_authorize_eca"],
    ("eca_installed_default_policies", "sixsense_eca"): [
        "sixsense_set_eca_policies",
        "sixsense_authorize_eca",
    ],
    ("connected_app_in_use_eca_absent", "sixsense_migrate_to_eca"): [
        "sixsense_set_eca_policies",
        "sixsense_authorize_eca",
    ],
}


def test_every_eca_scenario_runs_the_eca_flow():
    """A bundled ECA scenario (``eca_*``) without an entry above would get no ECA flow run: it fails here
    instead of being skipped silently (issue 12 item 3)."""
    eca_scenarios = {p.stem for p in SCENARIO_DIR.glob("eca_*.yml")}
    assert eca_scenarios, SCENARIO_DIR
    covered = {scenario for scenario, flow in ECA_STOPS if flow == "sixsense_eca"}
    assert eca_scenarios - covered == set(), "add each to ECA_STOPS with its expected manual steps"


def _options(tmp_path, extra: dict | None = None) -> dict:
    options = {"sixsense_verify_eca": {"report_path": str(tmp_path / "verification-eca.json")}}
    for task, opts in (extra or {}).items():
        options.setdefault(task, {}).update(opts)
    return options


def assert_eca_complete(state: dict) -> None:
    eca = state["eca"]
    assert eca["installed"], eca
    assert eca["package_version_id"] == "04tOH0000003W1lYAE"
    assert {k: eca["policies"][k] for k in WANTED} == WANTED, eca["policies"]
    [row] = rows(state, "ExternalClientApplication")
    assert row["DistributionState"] == "Packaged"
    assert rows(state, "OauthToken", UserId=user_id(state, INTEGRATION_USER), AppName=ECA_LABEL)
    assert len(rows(state, "InstalledSubscriberPackage")) == 1


def do_eca_step(sim, step: str) -> None:
    if step == "sixsense_set_eca_policies":
        assert sim.action("eca_policy", **WANTED).get("ok")
    elif step == "sixsense_authorize_eca":
        assert sim.action("authorize", username=INTEGRATION_USER, app=ECA_LABEL).get("ok")
    else:
        raise AssertionError(f"not a manual step: {step}")


def connected_app_grants(state: dict) -> tuple[list, list]:
    [ca] = rows(state, "ConnectedApplication", Name="sfdc_6sense_oauth_app")
    access = rows(state, "SetupEntityAccess", SetupEntityId=ca["Id"])
    [setup_set] = rows(state, "PermissionSet", Name="Sixsense_Setup_Access")
    assignment = rows(
        state,
        "PermissionSetAssignment",
        AssigneeId=user_id(state, SETUP_USER),
        PermissionSetId=setup_set["Id"],
    )
    return access, assignment


@pytest.mark.parametrize("scenario,flow", sorted(ECA_STOPS))
def test_eca_flow_with_autopilot_finishes_and_second_run_writes_nothing(
    scenario, flow, start_sim, run_flow_inprocess, tmp_path
):
    sim = start_sim(scenario, autopilot=True)
    with recording(sim) as log:
        _, error, output = run_flow_inprocess(
            sim,
            flow,
            task_options=_options(tmp_path),
            interactive="True",
            **FAST,
            **production_consent(sim),
        )
    assert error is None, f"{error}\n{output}"
    assert_eca_complete(sim.state())
    # The autopilot did each manual step while the tool waited in it (tests/e2e/autopilot_order.py).
    assert_autopilot_did(assert_actions_follow_instructions(log), ECA_STOPS[(scenario, flow)])
    report = json.loads((tmp_path / "verification-eca.json").read_text())
    assert report["passed"] is True
    assert {c["result"] for c in report["checks"]} == {"PASS"}

    assert_second_run_writes_nothing(
        run_flow_inprocess, sim, flow, task_options=_options(tmp_path), **FAST
    )


@pytest.mark.parametrize("scenario,flow", sorted(ECA_STOPS))
def test_eca_flow_non_interactive_stops_at_each_manual_step_and_resumes(
    scenario, flow, start_sim, run_flow_inprocess, tmp_path
):
    from tests.e2e.test_flows import failed_step

    sim = start_sim(scenario)
    stops: list[str] = []
    expected = ECA_STOPS[(scenario, flow)]
    for _ in range(len(expected) + 1):
        coordinator, error, output = run_flow_inprocess(
            sim,
            flow,
            task_options=_options(tmp_path),
            interactive="False",
            **FAST,
            **production_consent(sim),
        )
        if error is None:
            break
        assert type(error).__name__ == "ManualStepPending", f"{error!r}\n{output}"
        step = failed_step(coordinator)
        stops.append(step)
        do_eca_step(sim, step)
    assert error is None, f"{error}\n{output}"
    assert stops == expected
    assert_eca_complete(sim.state())


def test_migration_removes_nothing_without_confirmation_then_removes_when_confirmed(
    start_sim, run_flow_inprocess, tmp_path
):
    sim = start_sim("connected_app_in_use_eca_absent", autopilot=True)
    before = connected_app_grants(sim.state())
    assert before[0] and before[1]
    coordinator, error, output = run_flow_inprocess(
        sim,
        "sixsense_migrate_to_eca",
        task_options=_options(tmp_path),
        interactive="True",
        **FAST,
        **production_consent(sim),
    )
    assert error is None, f"{error}\n{output}"
    assert connected_app_grants(sim.state()) == before, "nothing removed without confirmation"
    last = coordinator.results[-1].return_values
    assert last["status"] == "not confirmed" and len(last["would_remove"]) == 2, last
    # The connected app still works meanwhile: its tokens are untouched.
    assert rows(sim.state(), "OauthToken", AppName="sfdc_6sense_oauth_app")

    options = _options(
        tmp_path, {"sixsense_remove_connected_app_access": {"remove_connected_app_access": "True"}}
    )
    _, error, output = run_flow_inprocess(
        sim,
        "sixsense_migrate_to_eca",
        task_options=options,
        interactive="False",
        **FAST,
        **production_consent(sim),
    )
    assert error is None, f"{error}\n{output}"
    assert connected_app_grants(sim.state()) == ([], [])
    assert_eca_complete(sim.state())
    mark = last_seq(sim)
    _, error, output = run_flow_inprocess(
        sim,
        "sixsense_migrate_to_eca",
        task_options=options,
        interactive="False",
        **FAST,
        **production_consent(sim),
    )
    assert error is None, f"{error}\n{output}"
    assert writes_since(sim, mark) == []


def test_migration_removes_nothing_before_the_eca_works(start_sim, run_flow_inprocess, tmp_path):
    """Confirmed removal, but the integration user has not authorized the ECA: the flow stops first."""
    sim = start_sim("connected_app_in_use_eca_absent")
    before = connected_app_grants(sim.state())
    options = _options(
        tmp_path, {"sixsense_remove_connected_app_access": {"remove_connected_app_access": "True"}}
    )
    _, error, _ = run_flow_inprocess(
        sim,
        "sixsense_migrate_to_eca",
        task_options=options,
        interactive="False",
        **FAST,
        **production_consent(sim),
    )
    assert type(error).__name__ == "ManualStepPending"
    assert connected_app_grants(sim.state()) == before


def test_install_skips_when_a_newer_version_is_installed(
    start_sim, run_flow_inprocess, tmp_path, monkeypatch
):
    sim = start_sim("eca_installed_default_policies", autopilot=True)
    # Model an org on the newer 1.1 by upgrading through the same Tooling call cci uses.
    import requests

    env = sim.env()
    session = json.loads(env["CUMULUSCI_ORG_sim"])
    base = sim.url + "/services/data/v65.0/tooling"
    headers = {"Authorization": "Bearer " + session["access_token"]}
    created = requests.post(
        base + "/sobjects/PackageInstallRequest/",
        json={"SubscriberPackageVersionKey": "04tOH0000004Zz9YAE"},
        headers=headers,
        verify=env["REQUESTS_CA_BUNDLE"],
    ).json()
    import time

    time.sleep(0.6)
    status = requests.get(
        base + "/query/",
        params={"q": f"SELECT Status FROM PackageInstallRequest WHERE Id = '{created['id']}'"},
        headers=headers,
        verify=env["REQUESTS_CA_BUNDLE"],
    ).json()
    assert status["records"][0]["Status"] == "SUCCESS"
    mark = last_seq(sim)
    coordinator, error, output = run_flow_inprocess(
        sim,
        "sixsense_eca",
        task_options=_options(tmp_path),
        interactive="True",
        **FAST,
        **production_consent(sim),
    )
    assert error is None, f"{error}\n{output}"
    install = [r for r in coordinator.results if r.task_name == "sixsense_install_eca_package"][0]
    assert install.return_values["status"] == "already installed"
    assert not [
        r for r in sim.requests(since=mark) if r.get("action") == "PackageInstallRequest"
    ], "no install request over a newer version"


def test_eca_flow_through_the_real_cci(start_sim, cci, tmp_path):
    sim = start_sim("eca_not_installed", autopilot=True)
    args = ["flow", "run", "sixsense_eca", "--org", "sim"]
    args += flow_options(
        interactive=True, poll_interval="1", wait_timeout="120", **production_consent(sim)
    )
    args += ["-o", "sixsense_verify_eca__report_path", str(tmp_path / "v.json")]
    result = cci(sim, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert_eca_complete(sim.state())
    mark = last_seq(sim)
    result = cci(sim, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert writes_since(sim, mark) == []


def _eca_grants(sim) -> list[tuple[str, str]]:
    """The integration user's grants of the ECA, read in the simulator, as (CreatedDate, DeleteToken):
    OauthToken.Id is always null (facts §4.1), so a row's identity here is its DeleteToken."""
    state = sim.state()
    held = rows(state, "OauthToken", UserId=user_id(state, INTEGRATION_USER), AppName=ECA_LABEL)
    return sorted((t["CreatedDate"], t["DeleteToken"]) for t in held)


def test_where_the_eca_switch_logs_out_everyone_the_flow_asks_for_the_authorization_again(
    start_sim, run_flow_inprocess, tmp_path
):
    """Issue 17 kind 2 on the ECA (facts §10.1, §7.1). The integration user authorized the ECA; an admin then
    switched its Permitted Users to admin approved, the integration user pre-authorized by its profile in the
    policy. In this org the switch logs out all users (``features.admin_approval_revokes: all``, the same rule
    as the connected app's), so the token is gone, and ``sixsense_eca`` stops at the authorization, before
    its verification; once the integration user authorizes again, the flow verifies."""
    from tests.e2e.test_flows import failed_step

    sim = start_sim("eca_admin_approval_logs_out_all_users")
    assert sim.action("authorize", username=INTEGRATION_USER, app=ECA_LABEL)["ok"]
    before = _eca_grants(sim)
    assert len(before) == 1
    switched = sim.action("eca_policy", permitted_users="AdminApprovedPreAuthorized")
    assert switched["revoked_tokens"] == 1, switched
    assert _eca_grants(sim) == []
    report = tmp_path / "verification-eca.json"

    coordinator, error, output = run_flow_inprocess(
        sim,
        "sixsense_eca",
        task_options=_options(tmp_path),
        interactive="False",
        **FAST,
        **production_consent(sim),
    )
    assert type(error).__name__ == "ManualStepPending", f"{error!r}\n{output}"
    assert failed_step(coordinator) == "sixsense_authorize_eca"
    assert "sixsense_verify_eca" not in [r.task_name for r in coordinator.results]
    assert not report.exists()

    do_eca_step(sim, "sixsense_authorize_eca")
    _, error, output = run_flow_inprocess(
        sim,
        "sixsense_eca",
        task_options=_options(tmp_path),
        interactive="False",
        **FAST,
        **production_consent(sim),
    )
    assert error is None, f"{error}\n{output}"
    after = _eca_grants(sim)
    assert len(after) == 1 and not set(after) & set(before), (before, after)
    assert_eca_complete(sim.state())
    assert json.loads(report.read_text())["passed"] is True
