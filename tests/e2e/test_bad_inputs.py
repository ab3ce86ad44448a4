"""Bad-input catalogue: every row is one bad option, org state or scenario file. Each must give one clear error
(it names the problem and the fix, on one line, without a traceback) and write nothing to the org (the
simulator's request log holds no ``write`` after the run started).

Flows run in-process (``run_flow_inprocess``), single tasks in-process (``run_task``, below), and a few rows
through the real ``cci`` to check the message and the exit code a user sees.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from tests.conftest import (
    INTEGRATION_USER,
    SCENARIO_DIR,
    SETUP_USER,
    cci_environment,
    flow_options,
    last_seq,
    writes_since,
)

FLOW = "sixsense_new_customer"
FAST = {"poll_interval": "1", "wait_timeout": "60", "interactive": "False"}
TEXT = " must name the problem and the fix"


def assert_one_clear_line(message: str, *needles: str) -> None:
    message = str(message).strip()
    assert message, "empty error"
    assert "Traceback" not in message, message
    assert "\n" not in message, f"not one line: {message!r}"
    low = message.lower()
    for needle in needles:
        assert needle.lower() in low, f"{needle!r} missing from {message!r}{TEXT}"


def scenario_file(tmp_path: Path, base: str, edit) -> str:
    """A copy of a bundled scenario with ``edit(data)`` applied, written under ``tmp_path``."""
    data = yaml.safe_load((SCENARIO_DIR / f"{base}.yml").read_text())
    data = copy.deepcopy(data)
    edit(data)
    path = tmp_path / f"{base}_edited.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


@pytest.fixture
def run_task(tmp_path, monkeypatch):
    """Run one task in-process against ``sim``: ``run_task(sim, name, **options) -> exception or None``."""

    def _run(sim, name: str, **options):
        from unittest import mock

        for key, value in cci_environment(sim, tmp_path / "home").items():
            monkeypatch.setenv(key, value)
        monkeypatch.chdir(Path(__file__).resolve().parents[2])
        from cumulusci.cli.runtime import CliRuntime
        from cumulusci.core.config import TaskConfig

        runtime = CliRuntime(load_keychain=True)
        _, org_config = runtime.get_org("sim")
        task_config = runtime.project_config.get_task(name)
        task_class = task_config.get_class()
        config = TaskConfig(
            {**task_config.config, "options": {**(task_config.options or {}), **options}}
        )
        try:
            with mock.patch("time.sleep"):
                task_class(runtime.project_config, config, org_config)()
        except Exception as error:  # the error is what the row asserts
            return error
        return None

    return _run


def _users(data, **changes):
    for user in data["users"]:
        if user["username"] == INTEGRATION_USER:
            user.update(changes)


# ---------------------------------------------------------------------------------------------------------
# Options of the flow (given once to sixsense_validate_inputs): (id, options, words the message must hold)

FLOW_OPTION_ROWS = [
    (
        "unknown integration user",
        {"integration_username": "nobody@example.com"},
        ["nobody@example.com", "does not exist", "check the username"],
    ),
    (
        "unknown setup user",
        {"setup_username": "ghost@example.com"},
        ["ghost@example.com", "does not exist", "check the username"],
    ),
    (
        "setup user is the integration user",
        {"setup_username": INTEGRATION_USER},
        ["same user", "setup_username"],
    ),
    (
        "two integration users",
        {"integration_username": f"{INTEGRATION_USER},{SETUP_USER}"},
        ["more than one user", "exactly one username"],
    ),
    (
        "two setup users",
        {"setup_username": f"{SETUP_USER},other@example.com"},
        ["setup_username", "exactly one username"],
    ),
    (
        "malformed integration username",
        {"integration_username": "not-a-username"},
        ["not a salesforce username", "name@example.com"],
    ),
    (
        "empty connected_app_names",
        {"connected_app_names": ","},
        ["connected_app_names is empty", "sfdc_6sense_oauth_app"],
    ),
    (
        "malformed connected_app_names",
        {"connected_app_names": "bad'name"},
        ["implausible", "separated by commas"],
    ),
    (
        "duplicate connected_app_names",
        {"connected_app_names": "sfdc_6sense_oauth_app,sfdc_6sense_oauth_app"},
        ["more than once", "connected_app_names"],
    ),
    (
        "negative wait_timeout",
        {"wait_timeout": "-5"},
        ["wait_timeout", "positive number", "-o wait_timeout 900"],
    ),
    ("zero wait_timeout", {"wait_timeout": "0"}, ["wait_timeout", "positive number"]),
    (
        "non-numeric wait_timeout",
        {"wait_timeout": "soon"},
        ["wait_timeout", "'soon'", "positive number"],
    ),
    ("negative poll_interval", {"poll_interval": "-1"}, ["poll_interval", "positive number"]),
    ("zero poll_interval", {"poll_interval": "0"}, ["poll_interval", "positive number"]),
    (
        "poll_interval under the floor",
        {"poll_interval": "0.01"},
        ["poll_interval", "at least 1 seconds", "API request"],
    ),
    (
        "non-numeric poll_interval",
        {"poll_interval": "fast"},
        ["poll_interval", "'fast'", "positive number"],
    ),
    ("infinite wait_timeout", {"wait_timeout": "inf"}, ["wait_timeout", "positive number"]),
    (
        "poll_interval longer than wait_timeout",
        {"poll_interval": "100", "wait_timeout": "10"},
        ["poll_interval", "longer than wait_timeout"],
    ),
    (
        "non-boolean interactive",
        {"interactive": "maybe"},
        ["interactive", "true or false", "-o interactive true"],
    ),
    ("non-boolean plan", {"plan": "sometimes"}, ["plan", "true or false"]),
    (
        "non-boolean confirm_reauthorization",
        {"confirm_reauthorization": "yes please"},
        ["confirm_reauthorization", "true or false"],
    ),
    (
        "non-boolean confirm_production",
        {"confirm_production": "perhaps"},
        ["confirm_production", "true or false"],
    ),
    (
        "audit_dir under a file",
        {"audit_dir": "README.md/audit"},
        ["audit_dir", "README.md", "directory"],
    ),
    (
        "audit_dir is a file",
        {"audit_dir": "README.md"},
        ["audit_dir", "is a file", "pass a directory"],
    ),
]


@pytest.mark.parametrize(
    "options, needles", [r[1:] for r in FLOW_OPTION_ROWS], ids=[r[0] for r in FLOW_OPTION_ROWS]
)
def test_bad_flow_option_is_one_clear_error_and_writes_nothing(
    options, needles, start_sim, run_flow_inprocess
):
    sim = start_sim("new_customer")
    mark = last_seq(sim)
    _, error, output = run_flow_inprocess(
        sim,
        FLOW,
        **{**FAST, **options, "confirm_production": options.get("confirm_production", "True")},
    )
    assert error is not None, f"the flow should have refused {options}\n{output}"
    assert_one_clear_line(error, *needles)
    assert writes_since(sim, mark) == []


# ---------------------------------------------------------------------------------------------------------
# Options of single tasks: (id, scenario, task, options, words)

TASK_OPTION_ROWS = [
    (
        "invalid permission set API name",
        "new_customer",
        "sixsense_assign_setup_access",
        {"api_names": "6sense_Setup_Access"},
        ["6sense_Setup_Access", "api name", "begins with a letter"],
    ),
    (
        "permission set API name with double underscore",
        "new_customer",
        "sixsense_assign_setup_access",
        {"api_names": "Sixsense__Setup"},
        ["Sixsense__Setup", "api name"],
    ),
    (
        "deploy source folder missing",
        "new_customer",
        "sixsense_deploy_access",
        {"path": "no/such/folder", "confirm_production": "True"},
        ["no/such/folder", "does not exist"],
    ),
    (
        "non-boolean api_access_control_provisioned",
        "new_customer",
        "sixsense_deploy_access",
        {"api_access_control_provisioned": "perhaps"},
        ["api_access_control_provisioned", "true or false"],
    ),
    (
        "non-boolean include_integration_profile",
        "configured",
        "sixsense_grant_app_access",
        {"integration_username": INTEGRATION_USER, "include_integration_profile": "x"},
        ["include_integration_profile", "true or false"],
    ),
    (
        "non-boolean confirm_logout",
        "existing_customer",
        "sixsense_set_permitted_users",
        {"integration_username": INTEGRATION_USER, "confirm_logout": "ok"},
        ["confirm_logout", "true or false"],
    ),
    (
        "non-boolean remove_connected_app_access",
        "connected_app_in_use_eca_absent",
        "sixsense_remove_connected_app_access",
        {"integration_username": INTEGRATION_USER, "remove_connected_app_access": "sure"},
        ["remove_connected_app_access", "true or false"],
    ),
    (
        "non-boolean confirm_production of a task alone",
        "new_customer",
        "sixsense_deploy_access",
        {"confirm_production": "perhaps"},
        ["confirm_production", "true or false"],
    ),
    (
        "grant without integration_username",
        "configured",
        "sixsense_grant_app_access",
        {},
        ["integration_username is required", "-o integration_username"],
    ),
    (
        "verify report_path under a file",
        "configured",
        "sixsense_verify",
        {"integration_username": INTEGRATION_USER, "report_path": "README.md/v.json"},
        ["report_path", "README.md", "directory"],
    ),
    (
        "grant with an unknown integration user",
        "configured",
        "sixsense_grant_app_access",
        {"integration_username": "nobody@example.com", "confirm_production": "True"},
        ["nobody@example.com", "does not exist"],
    ),
    (
        "production write without confirm_production",
        "new_customer",
        "sixsense_deploy_access",
        {},
        ["production", "-o confirm_production True"],
    ),
]


@pytest.mark.parametrize(
    "scenario, task, options, needles",
    [r[1:] for r in TASK_OPTION_ROWS],
    ids=[r[0] for r in TASK_OPTION_ROWS],
)
def test_bad_task_option_is_one_clear_error_and_writes_nothing(
    scenario, task, options, needles, start_sim, run_task
):
    sim = start_sim(scenario)
    mark = last_seq(sim)
    error = run_task(sim, task, **options)
    assert error is not None, f"{task} should have refused {options}"
    assert_one_clear_line(error, *needles)
    assert writes_since(sim, mark) == []


# ---------------------------------------------------------------------------------------------------------
# Org states: (id, base scenario, edit, flow or task, options, words)


def _no_api(data):
    _users(data, profile="Minimum Access - Salesforce")


def _inactive(data):
    _users(data, active=False)


def _inactive_admin(data):
    data["users"].append(
        {
            "username": "old.admin@example.com",
            "name": "Old Admin",
            "alias": "oadmin",
            "profile": "System Administrator",
            "active": False,
        }
    )


def _no_permission_sets(data):
    data["permission_sets"] = []
    data["app"]["access"] = {"permission_sets": [], "profiles": []}


ORG_STATE_ROWS = [
    (
        "integration user on a profile without API Enabled",
        "new_customer",
        _no_api,
        FLOW,
        {},
        ["no api access", "api enabled", "minimum access - api only integrations"],
    ),
    (
        "inactive integration user",
        "new_customer",
        _inactive,
        FLOW,
        {},
        ["inactive", "activate it in setup > users"],
    ),
    (
        "inactive setup user",
        "new_customer",
        _inactive_admin,
        FLOW,
        {"setup_username": "old.admin@example.com"},
        ["old.admin@example.com", "inactive", "activate it in setup > users"],
    ),
    (
        "permission sets missing before grant",
        "configured",
        _no_permission_sets,
        "sixsense_grant_app_access",
        {"integration_username": INTEGRATION_USER, "confirm_production": "True"},
        ["Sixsense_Integration_Access", "not found", "sixsense_deploy_access"],
    ),
    (
        "app not installed when granting access",
        "existing_customer",
        lambda d: None,
        "sixsense_grant_app_access",
        {"integration_username": INTEGRATION_USER, "confirm_production": "True"},
        ["not installed", "install it first"],
    ),
]


@pytest.mark.parametrize(
    "base, edit, target, options, needles",
    [r[1:] for r in ORG_STATE_ROWS],
    ids=[r[0] for r in ORG_STATE_ROWS],
)
def test_bad_org_state_is_one_clear_error_and_writes_nothing(
    base, edit, target, options, needles, start_sim, run_flow_inprocess, run_task, tmp_path
):
    sim = start_sim(scenario_file(tmp_path, base, edit))
    mark = last_seq(sim)
    if target.startswith("sixsense_") and target in (FLOW,):
        _, error, output = run_flow_inprocess(
            sim, target, **{**FAST, "confirm_production": "True", **options}
        )
    else:
        error = run_task(sim, target, **options)
    assert error is not None, f"{target} should have stopped"
    assert_one_clear_line(error, *needles)
    assert writes_since(sim, mark) == []


# ---------------------------------------------------------------------------------------------------------
# Scenario files: (id, YAML text or edit of new_customer, words of the one-line ScenarioError/StartError)

SCENARIO_ROWS = [
    ("malformed YAML", "org: {name: [unclosed\n", ["yaml"]),
    (
        "unknown profile",
        lambda d: _users(d, profile="Nonexistent Profile"),
        ["users[", "profile", "Nonexistent Profile"],
    ),
    (
        "duplicate username",
        lambda d: d["users"].append(dict(d["users"][0])),
        ["username", "admin@example.com", "duplicate"],
    ),
    (
        "bad org.kind",
        lambda d: d["org"].update(kind="developer"),
        ["org.kind", "production, sandbox, scratch", "developer"],
    ),
    ("unknown top-level key", lambda d: d.update(colour="blue"), ["colour"]),
]


@pytest.mark.parametrize(
    "content, needles", [r[1:] for r in SCENARIO_ROWS], ids=[r[0] for r in SCENARIO_ROWS]
)
def test_bad_scenario_file_is_one_clear_error(content, needles, tmp_path):
    from orgsim import scenario, server

    if isinstance(content, str):
        path = tmp_path / "broken.yml"
        path.write_text(content)
        path = str(path)
    else:
        path = scenario_file(tmp_path, "new_customer", content)
    with pytest.raises(scenario.ScenarioError) as loaded:
        scenario.load(path)
    assert_one_clear_line(loaded.value, path.rsplit("/", 1)[-1], *needles)
    with pytest.raises(server.StartError) as started:
        server.start(path)
    assert_one_clear_line(started.value, *needles)


def test_bad_org_kind_override_is_one_clear_error():
    from orgsim import server

    with pytest.raises(server.StartError) as started:
        server.start("new_customer", org_kind="prod")
    assert_one_clear_line(started.value, "prod", "production, sandbox, scratch")


# ---------------------------------------------------------------------------------------------------------
# Through the real cci: the message the user sees, and the exit code.

CLI_ROWS = [
    (
        "unknown integration user",
        [
            "flow",
            "run",
            FLOW,
            "--org",
            "sim",
            *flow_options("nobody@example.com", interactive=False),
        ],
        ["nobody@example.com does not exist"],
    ),
    (
        "non-numeric wait_timeout",
        [
            "flow",
            "run",
            FLOW,
            "--org",
            "sim",
            *flow_options(interactive=False, wait_timeout="soon"),
        ],
        ["wait_timeout must be a positive number", "-o wait_timeout 900"],
    ),
    (
        "task alone: invalid permission set API name",
        [
            "task",
            "run",
            "sixsense_assign_setup_access",
            "--org",
            "sim",
            "-o",
            "api_names",
            "6sense_Setup_Access",
        ],
        ["6sense_Setup_Access", "begins with a letter"],
    ),
    (
        "task alone: unknown option",
        [
            "task",
            "run",
            "sixsense_verify",
            "--org",
            "sim",
            "-o",
            "integration_usernme",
            INTEGRATION_USER,
        ],
        ["integration_usernme"],
    ),
]


@pytest.mark.cli
@pytest.mark.parametrize("args, needles", [r[1:] for r in CLI_ROWS], ids=[r[0] for r in CLI_ROWS])
def test_bad_input_through_the_real_cci(args, needles, start_sim, cci):
    sim = start_sim("new_customer")
    mark = last_seq(sim)
    result = cci(sim, *args)
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stdout, result.stdout
    text = " ".join(result.stdout.split())  # cci's console wraps long lines
    assert "Error:" in text, text
    for needle in needles:
        assert needle in text, text
    assert writes_since(sim, mark) == []
