"""The production guard of every writing task, each run alone (``cci task run``, no flow), against the
simulator presented as a production org, without ``confirm_production`` and without a terminal: the task stops
with the guard's one line (``ConfirmationRequired``, naming ``confirm_production``) and the simulator logs no
write. The same run with ``confirm_production True`` writes: the org was set up so that the task had
something to write, so the first run's silence is the guard's doing.

Each case starts from a bundled scenario edited so that exactly the path named is the one to take (for
example ``grant_app_access`` with the SetupEntityAccess present and only the PermissionSetAssignment missing).
"""

from __future__ import annotations

import io

import pytest
import yaml

from tests.conftest import INTEGRATION_USER, SCENARIO_DIR, last_seq, writes_since

ECA_LABEL = "6sense External Client App"


def scenario_variant(tmp_path, base: str, edit) -> str:
    """A copy of the bundled scenario ``base`` with ``edit(data)`` applied, as a YAML path."""
    data = yaml.safe_load((SCENARIO_DIR / f"{base}.yml").read_text())
    edit(data)
    path = tmp_path / f"{base}-variant.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def _permission_set(data: dict, name: str) -> dict:
    [pset] = [p for p in data["permission_sets"] if p["name"] == name]
    return pset


def _no_access(data):
    data["app"]["access"]["permission_sets"] = []


def _not_assigned(data):
    _permission_set(data, "Sixsense_Integration_Access")["assigned_to"] = []


def _setup_set_not_assigned(data):
    data["permission_sets"] = [
        {
            "name": "Sixsense_Setup_Access",
            "label": "6sense Setup Access",
            "permissions": ["CanApproveUninstalledApps", "ApiEnabled"],
        }
    ]


def _installed_not_approved(data):
    data["app"].update(visible=True, installed=True, admin_approved=False)
    # The policy template names it: the ETL deploy needs it in the org.
    data["permission_sets"] = [
        {"name": "Sixsense_Integration_Access", "label": "6sense Integration Access"}
    ]


def _policy_metadata_deployable(data):
    data["features"]["eca_policy_metadata_deployable"] = True


def _eca_installed(data):
    data["eca"] = {"installed": True}


def _authorize_eca(sim):
    assert sim.action("authorize", username=INTEGRATION_USER, app=ECA_LABEL).get("ok")


#: id -> (task, bundled scenario, its edit or None, task options, what to do in the org first or None)
CASES = {
    "deploy_access": ("sixsense_deploy_access", "new_customer", None, {}, None),
    "assign_setup_access": (
        "sixsense_assign_setup_access",
        "setup_user_lacks_permission",
        _setup_set_not_assigned,
        {"integration_username": INTEGRATION_USER},
        None,
    ),
    "grant_app_access": (
        "sixsense_grant_app_access",
        "configured",
        lambda d: (_no_access(d), _not_assigned(d)),
        {"integration_username": INTEGRATION_USER},
        None,
    ),
    "grant_app_access assignment only": (
        "sixsense_grant_app_access",
        "configured",
        _not_assigned,
        {"integration_username": INTEGRATION_USER},
        None,
    ),
    "grant_app_access access only": (
        "sixsense_grant_app_access",
        "configured",
        _no_access,
        {"integration_username": INTEGRATION_USER},
        None,
    ),
    "set_permitted_users etl": (
        "sixsense_set_permitted_users",
        "connected_app_metadata_retrievable",
        _installed_not_approved,
        {"confirm_logout": "True", "interactive": "False"},
        None,
    ),
    "install_eca_package": ("sixsense_install_eca_package", "eca_not_installed", None, {}, None),
    "set_eca_policies metadata": (
        "sixsense_set_eca_policies",
        "eca_installed_default_policies",
        _policy_metadata_deployable,
        {"interactive": "False"},
        None,
    ),
    "remove_connected_app_access": (
        "sixsense_remove_connected_app_access",
        "connected_app_in_use_eca_absent",
        _eca_installed,
        {"integration_username": INTEGRATION_USER, "remove_connected_app_access": "True"},
        _authorize_eca,
    ),
}


@pytest.fixture
def no_terminal(monkeypatch):
    """Standard input is not a terminal (whatever runs pytest): nobody can confirm."""
    monkeypatch.setattr("sys.stdin", io.StringIO(""))


@pytest.mark.parametrize("case", list(CASES))
def test_writing_task_alone_on_production_writes_nothing_without_consent(
    case, sim_task, tmp_path, monkeypatch, no_terminal, errors, tasks_module
):
    task_name, base, edit, options, before = CASES[case]
    scenario = scenario_variant(tmp_path, base, edit) if edit else base
    sim, make = sim_task(scenario, org_kind="production")
    assert sim.org_kind == "production"
    if before:
        before(sim)
    mark = last_seq(sim)
    with pytest.raises(errors.ConfirmationRequired) as refused:
        make(task_name, **options)()
    message = str(refused.value)
    assert message == tasks_module("base").production_guard_message(
        sim.state()["objects"]["Organization"][0]["Name"]
    )
    assert "-o confirm_production True" in message and "production org" in message
    assert writes_since(sim, mark) == [], "nothing may be written to production without consent"

    # The same run with consent writes: the org had something to write.
    from tests.e2e.faults import reuse_source_conversion

    reuse_source_conversion(monkeypatch)
    make(task_name, **options, confirm_production="True")()
    assert writes_since(sim, mark) != []


def test_ci_integration_user_alone_on_production_writes_nothing_without_consent(
    sim_task, no_terminal, errors
):
    """The scratch-org CI task creates a user (Snowfakery load): told to run outside a scratch org, on
    production it needs the consent too."""
    sim, make = sim_task("new_customer", org_kind="production")
    mark = last_seq(sim)
    with pytest.raises(errors.ConfirmationRequired, match="-o confirm_production True"):
        make(
            "sixsense_ci_integration_user",
            username="sixsense.ci@example.com",
            allow_non_scratch="True",
        )()
    assert writes_since(sim, mark) == []


@pytest.mark.parametrize("kind", ["sandbox", "scratch"])
def test_writing_task_alone_needs_no_consent_outside_production(
    kind, sim_task, tmp_path, no_terminal
):
    """The guard is for production only: the assignment-only grant writes on a sandbox or scratch org."""
    sim, make = sim_task(scenario_variant(tmp_path, "configured", _not_assigned), org_kind=kind)
    mark = last_seq(sim)
    result = make("sixsense_grant_app_access", integration_username=INTEGRATION_USER)()
    assert result["assignments_created"] == [f"Sixsense_Integration_Access -> {INTEGRATION_USER}"]
    assert writes_since(sim, mark) != []
