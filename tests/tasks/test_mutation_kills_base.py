"""The production guard and the gates every task passes first (tasks/base.py), as the operator meets them:
which org counts as production, what the guard asks and answers, which inputs stop a task before it reads
the org. Written against the survivors of ``make mutate`` (tests/mutation-equivalent.txt lists the ones that
change nothing observable). The same guard, task by task against the simulator:
tests/tasks/test_production_guard_alone.py and tests/tasks/test_terminal_confirmations.py.
"""

from __future__ import annotations

import io
import logging

import pytest

from tests.tasks.conftest import ADMIN, INTEGRATION, SETUP_PS, user

CUSTOM_ADMIN = user(ADMIN, "005000000000001AAA", profile="Custom Admin", approve=False)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def base(tasks_module):
    return tasks_module("base")


# -- which org is production ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "organization, instance_url, scratch_config, kind",
    [
        ({"IsSandbox": False}, "https://acme.my.salesforce.com", False, "production"),
        ({}, "https://acme.my.salesforce.com", False, "production"),
        ({}, None, False, "production"),
        # a production trial org has a trial expiration date too: still production
        (
            {"IsSandbox": False, "TrialExpirationDate": "2027-01-01"},
            "https://a.my.salesforce.com",
            False,
            "production",
        ),
        ({"IsSandbox": True}, "https://acme--uat.sandbox.my.salesforce.com", False, "sandbox"),
        (
            {"IsSandbox": True, "TrialExpirationDate": "2027-01-01"},
            "https://x.my.salesforce.com",
            False,
            "scratch",
        ),
        ({}, "https://ability-fun-1234.scratch.my.salesforce.com", False, "scratch"),
        ({"IsSandbox": False}, "https://acme.my.salesforce.com", True, "scratch"),
    ],
)
def test_org_kind(base, organization, instance_url, scratch_config, kind):
    assert base.org_kind(organization, instance_url, scratch_config) == kind


def test_the_guard_message_names_the_org_and_the_way_out(base):
    assert base.production_guard_message() == (
        "Not written: this org is a production org and no one confirmed at a terminal. Pass "
        "-o sixsense_validate_inputs__confirm_production True (flow) or -o confirm_production True (this "
        "task alone), or run at a terminal to confirm; plan mode (plan True) previews without writing. "
        "Nothing was written."
    )
    assert base.production_guard_message("Acme").startswith(
        "Not written: this org (Acme) is a production org"
    )


# -- the guard on a task that has something to write ---------------------------------------------------


def _setup_access_to_assign(org, organization):
    """The connected admin lacks Approve Uninstalled Connected Apps: sixsense_assign_setup_access would
    assign the permission set (one composite insert)."""
    assigned = []
    org.on("FROM User", records=[CUSTOM_ADMIN])
    org.on("FROM PermissionSet WHERE Name IN", records=[SETUP_PS])
    org.on("FROM PermissionSetAssignment", records=lambda: assigned)
    org.on(
        "PermissionSetAssignments",
        records=[{"Id": CUSTOM_ADMIN["Id"], "PermissionSetAssignments": None}],
    )
    org.on("FROM Organization", records=[organization] if organization is not None else [])
    org.on_insert = lambda sobject, body: assigned.append(
        {"PermissionSetId": body["PermissionSetId"]}
    )


PRODUCTION = {"Name": "Acme Corp", "IsSandbox": False, "TrialExpirationDate": None}


@pytest.fixture
def no_terminal(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))


def test_production_without_consent_stops_with_the_orgs_name_and_writes_nothing(
    make_task, org, errors, base, no_terminal
):
    _setup_access_to_assign(org, PRODUCTION)
    with pytest.raises(errors.ConfirmationRequired) as refused:
        make_task("sixsense_assign_setup_access")()
    assert str(refused.value) == base.production_guard_message("Acme Corp")
    assert org.writes() == []
    assert sum("FROM Organization" in q for q in org.soql) == 1


def test_an_org_that_does_not_answer_its_kind_is_treated_as_production(
    make_task, org, errors, base, no_terminal
):
    _setup_access_to_assign(org, None)
    with pytest.raises(errors.ConfirmationRequired) as refused:
        make_task("sixsense_assign_setup_access")()
    assert str(refused.value) == base.production_guard_message()
    assert org.writes() == []


def test_a_scratch_org_config_needs_no_consent(make_task, org, org_config, no_terminal):
    _setup_access_to_assign(org, PRODUCTION)
    org_config.config["scratch"] = True
    assert make_task("sixsense_assign_setup_access")()["assigned"] is True
    assert org.writes() == ["POST /services/data/v65.0/composite/sobjects"]


@pytest.mark.parametrize("organization", [{"Name": "UAT", "IsSandbox": True}], ids=["sandbox"])
def test_a_sandbox_needs_no_consent(make_task, org, organization, no_terminal):
    _setup_access_to_assign(org, organization)
    assert make_task("sixsense_assign_setup_access")()["assigned"] is True


def test_plan_mode_on_production_asks_nothing_and_writes_nothing(make_task, org, no_terminal):
    _setup_access_to_assign(org, PRODUCTION)
    result = make_task("sixsense_assign_setup_access", plan="True")()
    assert result["would_assign"] == ["Sixsense_Setup_Access"]
    assert org.writes() == []


@pytest.mark.parametrize("answer", ["n", ""], ids=["n", "enter"])
def test_at_a_terminal_the_question_names_the_org_and_the_write_and_no_is_the_default(
    make_task, org, errors, monkeypatch, capsys, answer
):
    _setup_access_to_assign(org, PRODUCTION)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr("sys.stdin", Terminal(f"{answer}\n"))
    with pytest.raises(errors.ConfirmationRequired):
        make_task("sixsense_assign_setup_access")()
    question = capsys.readouterr().out
    assert (
        f"Acme Corp is a production org. Write to it (assign Sixsense_Setup_Access to {ADMIN}) and in "
        "the later steps of this run? [y/N]"
    ) in question
    assert org.writes() == []


def test_at_a_terminal_yes_writes_and_the_consent_is_logged_and_kept(
    make_task, org, monkeypatch, capsys, caplog
):
    _setup_access_to_assign(org, PRODUCTION)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    caplog.set_level(logging.INFO)
    task = make_task("sixsense_assign_setup_access")
    assert task()["assigned"] is True
    assert org.writes() == ["POST /services/data/v65.0/composite/sobjects"]
    assert task.options["confirm_production"] is True
    assert (
        "Confirmed at the terminal: write to the production org Acme Corp (assign Sixsense_Setup_Access "
        f"to {ADMIN}) and in the later steps of this run."
    ) in caplog.messages
    assert task.audit_notes["confirmed"] == [
        "at the terminal: write to the production org Acme Corp (assign Sixsense_Setup_Access "
        f"to {ADMIN}) and in the later steps of this run"
    ]


def test_at_a_terminal_an_unnamed_production_org_is_this_org(
    make_task, org, monkeypatch, capsys, caplog
):
    _setup_access_to_assign(org, {"IsSandbox": False})
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    caplog.set_level(logging.INFO)
    make_task("sixsense_assign_setup_access")()
    assert "This org is a production org. Write to it" in capsys.readouterr().out
    assert any(
        m.startswith("Confirmed at the terminal: write to the production org (assign")
        for m in caplog.messages
    ), caplog.messages


def test_at_a_terminal_in_ci_nobody_is_asked(make_task, org, errors, monkeypatch, capsys):
    _setup_access_to_assign(org, PRODUCTION)
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    with pytest.raises(errors.ConfirmationRequired):
        make_task("sixsense_assign_setup_access")()
    assert "[y/N]" not in capsys.readouterr().out
    assert org.writes() == []


def test_interactive_true_without_a_terminal_cannot_be_answered(
    make_task, org, errors, no_terminal
):
    _setup_access_to_assign(org, PRODUCTION)
    with pytest.raises(errors.ConfirmationRequired):
        make_task("sixsense_assign_setup_access", interactive="True")()
    assert org.writes() == []


# -- the gates before the first read -------------------------------------------------------------------


def test_a_task_that_needs_the_integration_user_says_how_to_pass_it(make_task, org, errors):
    with pytest.raises(errors.SixsenseInputError) as refused:
        make_task("sixsense_verify")
    assert str(refused.value) == (
        "integration_username is required. In a flow pass it once: "
        "-o sixsense_validate_inputs__integration_username <username>; "
        "for this task alone: -o integration_username <username>."
    )
    assert org.soql == [] and org.writes() == []


def test_the_setup_user_gate_names_the_step_and_both_ways_to_pass_another_user(
    make_task, org, errors, tasks_module
):
    step = tasks_module("procedure").step("authorize_setup_user").name
    with pytest.raises(errors.SixsenseInputError) as refused:
        make_task(
            "sixsense_assign_setup_access",
            integration_username=INTEGRATION,
            setup_username=INTEGRATION,
        )()
    assert str(refused.value) == (
        f"The setup user ({INTEGRATION}) is the integration user: one person cannot be both (the same "
        "user). The vendor article requires "
        f"'{step}' by a setup user who is not the integration user. Pass "
        "-o setup_username <admin username> (this task alone) or "
        "-o sixsense_validate_inputs__setup_username <admin username> (flow). Nothing was written."
    )
    assert org.soql == [] and org.writes() == []


@pytest.mark.parametrize("name", ["sixsense_assign_setup_access", "sixsense_authorize_setup_user"])
def test_without_an_integration_user_a_setup_user_task_alone_is_refused_before_any_read(
    make_task, org, errors, name
):
    """Without the integration username the task cannot tell whether the setup user given is the
    integration user (issue 17 kind 6): it refuses, reading and writing nothing."""
    _setup_access_to_assign(org, {"Name": "UAT", "IsSandbox": True})
    with pytest.raises(errors.SixsenseInputError) as refused:
        make_task(name, integration_username="")()
    assert str(refused.value).startswith("integration_username is required.")
    assert "-o integration_username <username>" in str(refused.value)
    assert org.soql == [] and org.writes() == []


# -- the connected user's rights: read once per flow run ----------------------------------------------------


@pytest.mark.parametrize(
    "checked_in_flow", [True, False], ids=["checked-earlier-in-the-flow", "not-yet"]
)
def test_in_a_flow_the_connected_users_rights_are_read_once_per_flow_run(
    make_task, tasks_module, monkeypatch, checked_in_flow
):
    """A step in a flow whose rights an earlier step (sixsense_validate_inputs) read does not read them
    again; one that needs a right not yet read reads it, and the flow run then holds it."""
    audit = tasks_module("audit")
    task = make_task("sixsense_assign_setup_access")
    flow = type("Flow", (), {})()  # the flow run is keyed by its coordinator: any object stands in
    monkeypatch.setattr(task, "flow", flow, raising=False)
    if checked_in_flow:
        audit.flow_run(flow).rights_checked.update(task.connected_user_needs)
    reads = []
    monkeypatch.setattr(task, "_check_connected_user", lambda needs: reads.append(list(needs)))
    task._require_connected_user_rights()
    assert reads == ([] if checked_in_flow else [list(task.connected_user_needs)])
    assert audit.flow_run(flow).rights_checked >= set(task.connected_user_needs)


def test_a_scratch_my_domain_is_a_scratch_org_whatever_the_org_config_says(
    make_task, org, monkeypatch
):
    """The step judges its own org from its instance URL too: a ``*.scratch.my.salesforce.com`` host is a
    scratch org (no production consent) even when the org config does not say scratch."""
    task = make_task("sixsense_assign_setup_access")
    monkeypatch.setattr(task, "_query", lambda soql: [PRODUCTION])
    monkeypatch.setattr(
        task, "_instance_url", lambda: "https://acme-dev-ed.scratch.my.salesforce.com"
    )
    assert task._org_kind() == ("scratch", "Acme Corp")
