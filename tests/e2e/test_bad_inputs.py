"""Bad-input catalogue: every row is one bad option, org state or scenario file. Each must give one clear error
(it names the problem and the fix, on one line, without a traceback) and write nothing to the org (the
simulator's request log holds no ``write`` after the run started).

Flows run in-process (``run_flow_inprocess``), single tasks in-process (``run_task``, below), and a few rows
through the real ``cci`` to check the message and the exit code a user sees. The option tables are in
bad_input_rows.py (in a flow) and bad_input_task_rows.py (tasks alone; options without a row, with the
reason); ``test_every_option_of_every_task_has_a_bad_input_row`` fails when an option has no row.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from tests.conftest import (
    CUMULUSCI_KEY,
    INTEGRATION_USER,
    ROOT,
    SCENARIO_DIR,
    cci_environment,
    flow_options,
    last_seq,
    writes_since,
)
from tests.e2e.bad_input_rows import FLOW, FLOW_OPTION_ROWS, STEP_OPTION_ROWS
from tests.e2e.bad_input_task_rows import BASE_OPTIONS, TASK_OPTION_ROWS, WITHOUT_ROW

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
# Options of the flow, given once to sixsense_validate_inputs (bad_input_rows.FLOW_OPTION_ROWS)


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
# Options of one later step of a flow (bad_input_rows.STEP_OPTION_ROWS), of tasks alone (TASK_OPTION_ROWS)


@pytest.mark.parametrize(
    "flow, step, options, needles",
    [r[1:] for r in STEP_OPTION_ROWS],
    ids=[r[0] for r in STEP_OPTION_ROWS],
)
def test_bad_option_of_a_later_step_is_one_clear_error_and_writes_nothing(
    flow, step, options, needles, start_sim, run_flow_inprocess
):
    sim = start_sim("new_customer")
    mark = last_seq(sim)
    _, error, output = run_flow_inprocess(
        sim, flow, task_options={step: options}, **{**FAST, "confirm_production": "True"}
    )
    assert error is not None, f"the flow should have refused {step} {options}\n{output}"
    assert_one_clear_line(error, *needles)
    assert writes_since(sim, mark) == []


def _each_task(rows):
    """TASK_OPTION_ROWS with one case per task: (id, scenario, task, options, words)."""
    for name, scenario, tasks, bad, needles in rows:
        tasks = (tasks,) if isinstance(tasks, str) else tasks
        for task in tasks:
            case = name if len(tasks) == 1 else f"{name}: {task}"
            yield case, scenario, task, {**BASE_OPTIONS, **bad}, needles


TASK_CASES = list(_each_task(TASK_OPTION_ROWS))


@pytest.mark.parametrize(
    "scenario, task, options, needles",
    [r[1:] for r in TASK_CASES],
    ids=[r[0] for r in TASK_CASES],
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


@pytest.mark.parametrize(
    "task_options, expected",
    [
        (
            {"sixsense_verify": {"confirm_logout": "True"}},
            [
                "-o sixsense_verify__confirm_logout",
                "sixsense_verify takes no option confirm_logout",
                "the steps that take it: sixsense_set_permitted_users",
            ],
        ),
        (
            {"sixsense_verfy": {"report_path": "x.json"}},
            [
                "-o sixsense_verfy__report_path",
                "the flow has no step sixsense_verfy",
                "sixsense_verify",
            ],
        ),
    ],
    ids=["option of another step", "misspelt step"],
)
def test_a_misplaced_flow_option_is_refused_naming_the_step_that_takes_it(
    task_options, expected, start_sim, run_flow_inprocess
):
    """cci ignores a runtime option no step declares; the run's first step refuses it (issue 18)."""
    sim = start_sim("new_customer")
    mark = last_seq(sim)
    coordinator, error, output = run_flow_inprocess(
        sim, "sixsense_new_customer", task_options=task_options, interactive="False"
    )
    assert type(error).__name__ == "SixsenseInputError", output
    for text in expected:
        assert text in str(error), str(error)
    assert [r.task_name for r in coordinator.results] == ["sixsense_validate_inputs"]
    assert writes_since(sim, mark) == []


# ---------------------------------------------------------------------------------------------------------
# Coverage: every option of every sixsense task has a row, alone and in a flow, or is in WITHOUT_ROW.

#: The flows a customer runs, whose steps' options must have an in-flow row. ci_sixsense (scratch orgs in
#: CI, its steps' options fixed by the flow) is left out; its tasks' options have rows alone.
CUSTOMER_FLOWS = (
    "sixsense_new_customer",
    "sixsense_existing_customer",
    "sixsense_eca",
    "sixsense_migrate_to_eca",
)


def sixsense_task_classes(monkeypatch, home: Path) -> dict:
    """Every ``sixsense_*`` task of cumulusci.yml -> its class, imported from its ``class_path``."""
    (home / ".cumulusci").mkdir(parents=True)
    (home / ".cumulusci" / "cumulus_timestamp").write_text("99999999999")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CUMULUSCI_KEY", CUMULUSCI_KEY)
    monkeypatch.chdir(ROOT)
    from cumulusci.cli.runtime import CliRuntime
    from cumulusci.core.utils import import_global

    CliRuntime(load_keychain=False)  # puts the project's tasks/ on cci's "tasks" package path
    tasks = yaml.safe_load((ROOT / "cumulusci.yml").read_text())["tasks"]
    return {
        name: import_global(task["class_path"])
        for name, task in tasks.items()
        if name.startswith("sixsense_")
    }


def uncovered_options(classes: dict, flows: dict) -> list[str]:
    """``<task> <option>: ...`` for each option without the rows it needs (alone; in a flow where the task
    is a step of a customer flow) and not in WITHOUT_ROW."""
    without = {(task, option) for task, options, _ in WITHOUT_ROW for option in options}
    alone = {
        (case[2], option) for case in TASK_CASES for option in case[3] if option not in BASE_OPTIONS
    }
    alone |= {
        (task, option)
        for _, _, tasks, bad, _ in TASK_OPTION_ROWS
        for task in ((tasks,) if isinstance(tasks, str) else tasks)
        for option in bad
    }
    in_flow = {
        ("sixsense_validate_inputs", o) for _, options, _ in FLOW_OPTION_ROWS for o in options
    }
    in_flow |= {(step, o) for _, _, step, options, _ in STEP_OPTION_ROWS for o in options}
    steps = [s for f in CUSTOMER_FLOWS for s in flows[f]["steps"].values() if s.get("task")]
    for (
        step
    ) in steps:  # an option the step receives from sixsense_validate_inputs is covered by its rows
        for option, value in (step.get("options") or {}).items():
            if value == f"^^sixsense_validate_inputs.{option}" and (
                ("sixsense_validate_inputs", option) in in_flow
            ):
                in_flow.add((step["task"], option))
    in_a_flow = {s["task"] for s in steps} | {"sixsense_validate_inputs"}
    problems = [
        f"{task} {option}: in WITHOUT_ROW but not an option of the task"
        for task, option in sorted(without)
        if option not in classes[task].task_options
    ]
    for task, cls in sorted(classes.items()):
        for option in cls.task_options:
            if (task, option) in without:
                continue
            if (task, option) not in alone:
                problems.append(f"{task} {option}: no bad-input row for the task run alone")
            if task in in_a_flow and (task, option) not in in_flow:
                problems.append(
                    f"{task} {option}: no bad-input row in a flow (-o {task}__{option})"
                )
    return problems


def test_every_option_of_every_task_has_a_bad_input_row(monkeypatch, tmp_path):
    classes = sixsense_task_classes(monkeypatch, tmp_path / "home")
    assert "sixsense_validate_inputs" in classes and len(classes) >= 20, sorted(classes)
    flows = yaml.safe_load((ROOT / "cumulusci.yml").read_text())["flows"]
    problems = uncovered_options(classes, flows)
    assert not problems, "\n".join(problems)
    rows = len(FLOW_OPTION_ROWS) + len(STEP_OPTION_ROWS) + len(TASK_CASES)
    assert rows + len(ORG_STATE_ROWS) + len(SCENARIO_ROWS) + len(CLI_ROWS) >= 60
    # The shared task lists of the rows name only tasks that declare the option (they cannot drift).
    from tests.e2e import bad_input_task_rows as t

    for tasks, option in (
        (t.USER_TASKS, "integration_username"),
        (t.APP_TASKS, "connected_app_names"),
        (t.WAITING_TASKS, "wait_timeout"),
        (t.WAITING_TASKS, "poll_interval"),
        (t.INTERACTIVE_TASKS, "interactive"),
        (t.PLAN_TASKS, "plan"),
        (t.WRITING_TASKS, "confirm_production"),
    ):
        wrong = [task for task in tasks if option not in classes[task].task_options]
        assert not wrong, f"{option} is not an option of {wrong}"
