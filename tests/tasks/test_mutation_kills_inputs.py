"""sixsense_validate_inputs (tasks/inputs.py) as the operator meets it, against the simulator: the values it
hands the later steps, the table it prints, and the exact problem each bad input gets (several at once are
listed together). Written against the survivors of ``make mutate`` (tests/mutation-equivalent.txt lists the
ones that change nothing observable). The base cases: tests/tasks/test_inputs.py.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from tests.conftest import INTEGRATION_USER as INTEGRATION
from tests.conftest import SETUP_USER as ADMIN
from tests.conftest import last_seq, writes_since

APPS = "sfdc_6sense_oauth_app,sfdc_6sense_integration_connected_app"
MANY = "The inputs have problems; nothing was written:\n"


@pytest.fixture
def info(caplog):
    caplog.set_level(logging.INFO)
    return caplog


def block(messages, check) -> list[str]:
    """The table's block of ``check`` (the table is wider than the console: one block per row)."""
    start = messages.index(f"- {check}")
    return messages[start + 1 : start + 3]


def refused(errors, make, **options) -> str:
    """The input error's text for ``options``."""
    task = make("sixsense_validate_inputs", **options)
    with pytest.raises(errors.SixsenseInputError) as raised:
        task()
    return str(raised.value)


def test_valid_inputs_are_handed_on_and_shown_in_the_table(sim_task, info, tmp_path):
    sim, make = sim_task("new_customer")
    mark = last_seq(sim)
    task = make(
        "sixsense_validate_inputs",
        integration_username=INTEGRATION,
        interactive="True",
        confirm_production="True",
        confirm_reauthorization="True",
        plan="True",
        wait_timeout="600",
        poll_interval="15",
        audit_dir=str(tmp_path / "audit"),
    )
    task()
    users = {u["Username"]: u["Id"] for u in sim.org.store.find("User")}
    assert task.return_values == {
        "integration_username": INTEGRATION,
        "setup_username": ADMIN,
        "connected_app_names": APPS,
        "wait_timeout": "600",
        "poll_interval": "15",
        "interactive": "True",
        "integration_user_id": users[INTEGRATION],
        "setup_user_id": users[ADMIN],
        "integration_profile": "Minimum Access - API Only Integrations",
        "plan": "True",
        "confirm_reauthorization": "True",
        "confirm_production": "True",
        "audit_dir": str(tmp_path / "audit"),
    }
    messages = info.messages
    assert "Inputs" in messages
    assert block(messages, "connected_app_names") == [
        "    value: sfdc_6sense_oauth_app, sfdc_6sense_integration_connected_app",
        "    result: ok",
    ]
    assert block(messages, "wait_timeout / poll_interval") == [
        "    value: 600 s / 15 s",
        "    result: ok",
    ]
    assert block(messages, "interactive") == ["    value: True", "    result: ok"]
    assert block(messages, "confirm_production") == ["    value: True", "    result: ok"]
    assert block(messages, "integration user exists") == [
        f"    value: {INTEGRATION}",
        "    result: ok",
    ]
    assert messages[-2:] == [
        "Plan mode: every step reads the org and reports what it would change; nothing is written.",
        "Inputs are valid. Nothing was written.",
    ]
    assert writes_since(sim, mark) == []


def test_outside_plan_mode_the_defaults_are_handed_on(sim_task, info):
    sim, make = sim_task("new_customer")
    task = make("sixsense_validate_inputs", integration_username=INTEGRATION)
    task()
    values = task.return_values
    assert (values["plan"], values["interactive"], values["confirm_production"]) == (
        "False",
        "False",
        "False",
    )
    assert block(info.messages, "interactive") == ["    value: False", "    result: ok"]
    assert block(info.messages, "confirm_production") == ["    value: False", "    result: ok"]
    assert info.messages[-1] == "Inputs are valid. Nothing was written."
    assert not [m for m in info.messages if m.startswith("Plan mode")]


def test_an_integration_user_without_a_profile_hands_on_an_empty_profile(sim_task):
    sim, make = sim_task("new_customer")
    task = make("sixsense_validate_inputs", integration_username=INTEGRATION)
    reads = task._check_users

    def without_profile(users):
        checked = reads(users)
        checked.users["integration user"] = {**checked.users["integration user"], "Profile": None}
        return checked

    task._check_users = without_profile
    task()
    assert task.return_values["integration_profile"] == ""


@pytest.mark.parametrize(
    "options, message",
    [
        (
            {"integration_username": "a@example.com,b@example.com"},
            "integration_username names more than one user (a@example.com,b@example.com); give exactly "
            "one username, e.g. -o integration_username name@example.com.",
        ),
        (
            {"integration_username": INTEGRATION, "setup_username": "sixsense"},
            "setup_username 'sixsense' is not a Salesforce username (they look like name@example.com); "
            "pass one, e.g. -o setup_username name@example.com.",
        ),
        (
            {"integration_username": INTEGRATION, "connected_app_names": " , "},
            "Option connected_app_names is empty (got ','); pass one or more names separated by commas, "
            "or leave it out for the default.",
        ),
    ],
    ids=["two_users", "not_a_username", "no_app_name"],
)
def test_user_and_app_name_options_are_refused_before_the_task_runs(
    sim_task, errors, options, message
):
    """The option parser refuses them for every task (tasks/options.py), so sixsense_validate_inputs never
    runs with them."""
    sim, make = sim_task("new_customer")
    mark = last_seq(sim)
    with pytest.raises(errors.SixsenseInputError) as raised:
        make("sixsense_validate_inputs", **options)
    assert str(raised.value) == message
    assert writes_since(sim, mark) == []


def test_implausible_and_repeated_app_names_are_each_named(sim_task, errors):
    sim, make = sim_task("new_customer")
    text = refused(
        errors,
        make,
        integration_username=INTEGRATION,
        connected_app_names="b_app,bad'name,a_app,b_app,x;y,a_app",
    )
    assert text == (
        MANY + '  - connected_app_names holds implausible connected app name(s): "bad\'name", '
        "'x;y'. Names are letters, digits, spaces, '_', '-', '.', separated by commas.\n"
        "  - connected_app_names lists a_app, b_app more than once."
    )


def test_a_poll_interval_longer_than_the_wait(sim_task, errors):
    sim, make = sim_task("new_customer")
    text = refused(
        errors, make, integration_username=INTEGRATION, wait_timeout="5", poll_interval="10"
    )
    assert text == (
        "poll_interval (10 s) is longer than wait_timeout (5 s); the guided steps would never "
        "check twice."
    )


def test_a_poll_interval_equal_to_the_wait_is_accepted(sim_task):
    sim, make = sim_task("new_customer")
    task = make(
        "sixsense_validate_inputs",
        integration_username=INTEGRATION,
        wait_timeout="10",
        poll_interval="10",
    )
    task()
    assert (task.return_values["wait_timeout"], task.return_values["poll_interval"]) == ("10", "10")


def test_the_connected_user_as_integration_user_with_the_setup_user_defaulted(sim_task, errors):
    """No setup_username: the setup user is the connected user; that it is also the integration user is
    one problem, the connected user's, whose message says the fix."""
    sim, make = sim_task("new_customer")
    text = refused(errors, make, integration_username=ADMIN)
    assert text.startswith(f"The integration user {ADMIN} is the user cci is connected as:"), text
    assert "The setup user" not in text


def test_the_connected_user_as_integration_and_named_setup_user(sim_task, errors):
    """setup_username given and equal to the integration user, who is the connected user: both problems,
    the setup user's without "the user cci is connected as" (it was named, not defaulted)."""
    sim, make = sim_task("new_customer")
    text = refused(errors, make, integration_username=ADMIN, setup_username=ADMIN)
    assert text.startswith(MANY + f"  - The setup user ({ADMIN}) is the integration user:"), text
    assert f"  - The integration user {ADMIN} is the user cci is connected as:" in text


def test_problems_found_in_the_org_are_listed_after_the_table(sim_task, errors, info):
    sim, make = sim_task("new_customer")
    text = refused(
        errors, make, integration_username="nobody@example.com", setup_username="gone@example.com"
    )
    assert text.startswith(MANY), text
    assert "  - The integration user nobody@example.com does not exist in this org" in text
    assert "  - The setup user gone@example.com does not exist in this org" in text
    assert "Inputs" in info.messages
    assert "Inputs are valid. Nothing was written." not in info.messages


def test_a_deferred_audit_dir_is_left_for_the_flow_to_fill(make_task):
    task = make_task(
        "sixsense_validate_inputs",
        integration_username=INTEGRATION,
        audit_dir="^^some_step.audit_dir",
    )
    assert task.options["audit_dir"] == "^^some_step.audit_dir"


def test_in_a_flow_it_hands_on_the_audit_report_and_the_checked_rights(
    start_sim, run_flow_inprocess, tasks_module, tmp_path
):
    """The first step of a flow: later steps read the run's audit report path from it, and do not read the
    connected user's rights again (it checked all of them)."""
    sim = start_sim("eca_not_installed")
    coordinator, error, output = run_flow_inprocess(
        sim, "sixsense_eca", plan="True", audit_dir=str(tmp_path / "audit")
    )
    assert error is None, f"{error!r}\n{output}"
    first = coordinator.results[0]
    assert first.task_name == "sixsense_validate_inputs"
    report = Path(first.return_values["audit_report"])
    assert report.parent == tmp_path / "audit"
    assert json.loads(report.read_text())["flow"] == "sixsense_eca"
    assert f"Audit report: {report}" in output
    audit, connected_user = tasks_module("audit"), tasks_module("connected_user")
    assert audit.flow_run(coordinator).rights_checked == set(connected_user.BY_KEY)


def test_options_given_as_keyword_arguments_are_parsed_like_task_options(runtime, org_config):
    """cci's BaseTask takes options as keyword arguments too (``Task(project, config, org, name=value)``,
    as a Python caller or a test builds a task): they are the task's options like those of its config."""
    from cumulusci.core.config import TaskConfig

    base = runtime.project_config.get_task("sixsense_validate_inputs")
    task = base.get_class()(
        runtime.project_config,
        TaskConfig(base.config),
        org_config=org_config,
        integration_username=INTEGRATION,
        wait_timeout="90",
    )
    assert task.options["integration_username"] == INTEGRATION
    assert task.options["wait_timeout"] == 90


def test_a_relative_audit_dir_is_taken_from_the_project_folder_not_the_working_one(
    make_task, runtime, tmp_path, monkeypatch
):
    """The operator may run cci from a sub-folder of the project: a relative ``audit_dir`` still names a
    folder of the project (where cumulusci.yml is), the one the flow's report is written to."""
    root = Path(runtime.project_config.repo_root)
    monkeypatch.chdir(root / "tasks")  # cci finds the project from the working folder, upwards
    task = make_task(
        "sixsense_validate_inputs", integration_username=INTEGRATION, audit_dir="reports/audit"
    )
    assert task.options["audit_dir"] == str(root / "reports" / "audit")
