"""Issue 17 kind 10: the ECA's policy file name is generated per org and found with listMetadata (facts §10.2)."""

from __future__ import annotations

import logging

import pytest

from orgsim.eca import ECA_DEVELOPER_NAME
from tests.conftest import INTEGRATION_USER
from tests.orgsim.simclient import MD_NS, deploy
from tests.tasks.test_checks_fail_eca import eca_complete, without_fields
from tests.tasks.test_terminal_confirmations import _guard_case

N = f"{{{MD_NS}}}"


SCENARIO = "eca_installed_policies_deployable"


def _policies_step(make, **options):
    """sixsense_set_eca_policies for the integration user, non-interactive (``options``: more options)."""
    return make(
        "sixsense_set_eca_policies",
        interactive=False,
        integration_username=INTEGRATION_USER,
        **options,
    )


def test_the_org_generates_the_policy_file_name_and_refuses_another(sim_task, tmp_path):
    """The simulator: the listed name is not derived from the ECA's names; a file under a guessed name is a
    second policy for the same ECA: "duplicate value found: ExternalClientApplicationId"."""
    sim, make = sim_task(SCENARIO)
    [listed] = sim.org.list_metadata("ExtlClntAppOauthConfigurablePolicies")
    full_name = listed["fullName"]
    assert not full_name.lower().startswith(ECA_DEVELOPER_NAME.lower())
    guessed = f"{ECA_DEVELOPER_NAME}_oauthPlcy"
    result = deploy(
        sim,
        {
            f"extlClntAppOauthPolicies/{guessed}.ecaOauthPlcy": (
                f'<?xml version="1.0" encoding="UTF-8"?><ExtlClntAppOauthConfigurablePolicies xmlns="{MD_NS}">'
                f"<externalClientApplication>{ECA_DEVELOPER_NAME}</externalClientApplication>"
                "<permittedUsersPolicyType>AllSelfAuthorized</permittedUsersPolicyType>"
                "</ExtlClntAppOauthConfigurablePolicies>"
            )
        },
    )
    assert result.findtext(f"{N}status") == "Failed"
    problems = [p.text for p in result.iter(f"{N}problem")]
    assert any("duplicate value found: ExternalClientApplicationId" in p for p in problems), (
        problems
    )


def test_set_eca_policies_finds_the_generated_name_and_deploys(sim_task, tmp_path):
    sim, make = sim_task(SCENARIO)
    task = _policies_step(make)
    task()
    assert task.return_values["method"] == "metadata", task.return_values
    assert task.return_values["status"] == "deployed"
    [policy] = sim.org.store.find("ExtlClntAppOauthPlcyCnfg")
    assert policy["RefreshTokenPolicyType"] == "SpecificInactivity"


DIFFERENCES = (
    "Refresh Token Policy is Infinite; Refresh token validity period is none; "
    "Refresh token validity unit is none"
)


def test_plan_mode_names_the_generated_file_it_would_deploy_and_what_differs(sim_task, caplog):
    caplog.set_level(logging.INFO)
    sim, make = sim_task(SCENARIO)
    [listed] = sim.org.list_metadata("ExtlClntAppOauthConfigurablePolicies")
    task = _policies_step(make, plan="True")
    task()
    assert task.return_values == {
        "done": False,
        "status": "would deploy",
        "detail": DIFFERENCES,
        "method": "metadata",
    }
    assert (
        f"PLAN: would deploy ExtlClntAppOauthConfigurablePolicies {listed['fullName']}: {DIFFERENCES}"
        in caplog.messages
    )


def test_a_deploy_names_every_policy_soql_does_not_show_and_a_second_run_is_already_done(
    sim_task, caplog
):
    """Start Page and the refresh-token policy not exposed to SOQL: the deploy's detail names both, and
    only the refresh-token policy keeps it from being verified. Exposed again, a second run is already
    done, and says so."""
    caplog.set_level(logging.INFO)
    sim, make = sim_task(SCENARIO)
    task = _policies_step(make)
    without_fields("StartUrl", "RefreshTokenPolicyType")(task)
    task()
    assert task.audit_notes["before"] == (
        "Refresh token validity period is none; Refresh token validity unit is none"
    )  # what the check found before the deploy (the refresh-token policy itself unread)
    [listed] = sim.org.list_metadata("ExtlClntAppOauthConfigurablePolicies")
    assert task.audit_notes["changed"] == [
        {
            "object": "ExtlClntAppOauthConfigurablePolicies",
            "action": "deployed",
            "what": listed["fullName"],
            "details": [  # the file's values before -> after, whatever SOQL shows
                "refreshTokenPolicyType: 'Infinite' -> 'SpecificInactivity'",
                "refreshTokenValidityPeriod: '' -> '30'",
                "refreshTokenValidityUnit: '' -> 'Days'",
            ],
        }
    ]
    assert task.return_values["detail"] == (
        "as 6sense asks (Refresh Token Policy, Start Page not readable by SOQL) "
        "(metadata deploy, verified by query but for Refresh Token Policy)"
    )
    again = _policies_step(make)
    again()
    assert (again.return_values["done"], again.return_values["status"]) == (True, "already done")
    assert (
        "Set the 6sense External Client App policies: already done (as 6sense asks)."
        in caplog.messages
    )


def test_on_production_the_question_names_the_policy_file_it_would_deploy(
    sim_task, tmp_path, terminal, errors
):
    sim, make, task_name, options, mark = _guard_case(
        "set_eca_policies metadata", sim_task, tmp_path
    )
    [listed] = sim.org.list_metadata("ExtlClntAppOauthConfigurablePolicies")
    terminal("n")
    with pytest.raises(errors.ConfirmationRequired):
        make(task_name, **options)()
    org_name = sim.state()["objects"]["Organization"][0]["Name"]
    assert terminal.questions() == [
        f"{org_name} is a production org. Write to it (deploy the ECA policies ({listed['fullName']})) "
        "and in the later steps of this run? [y/N]:"
    ]


@pytest.mark.parametrize(
    "hidden, verified",
    [
        ((), "verified by query"),
        (
            ("PermittedUsersPolicyType", "RefreshTokenPolicyType"),
            "verified by query but for Permitted Users, Refresh Token Policy",
        ),
    ],
    ids=["all-shown", "two-hidden"],
)
def test_a_deploy_says_what_the_query_verified(sim_task, hidden, verified):
    sim, make = sim_task(SCENARIO)
    task = _policies_step(make)
    without_fields(*hidden)(task)
    task()
    assert task.return_values["detail"].endswith(f"(metadata deploy, {verified})")


def test_a_deploy_the_org_does_not_show_falls_back_to_the_guided_step(sim_task, caplog, errors):
    """The deploy reports success but the policies read back unchanged (a Metadata deploy's answer is not
    proof): the step says so, and gives the instructions to set them by hand."""
    caplog.set_level(logging.INFO)
    sim, make = sim_task(SCENARIO)
    task = _policies_step(make)
    task._deploy = lambda member: []  # acknowledged, nothing changed
    with pytest.raises(errors.ManualStepPending):
        task()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert (
        "The policy deploy succeeded but the org does not show the policies; set them by hand:"
        in warnings
    )
    assert task.method == "guided"


def test_a_policy_it_cannot_read_or_deploy_is_tabled_as_not_verified(
    sim_task, tmp_path, monkeypatch
):
    sim, make = eca_complete(sim_task, tmp_path)
    task = _policies_step(make)
    without_fields("RefreshTokenPolicyType")(task)
    tables = []
    monkeypatch.setattr(task, "_log_table", lambda title, rows: tables.append((title, rows)))
    task()
    assert tables == [
        (
            "Set the 6sense External Client App policies",
            [
                ["check", "result"],
                [
                    "ExtlClntAppOauthPlcyCnfg of 6sense External Client App",
                    "not verified: Refresh Token Policy not readable by SOQL: not verified",
                ],
            ],
        )
    ]
    detail = "Refresh Token Policy not readable by SOQL: not verified"
    assert (task.audit_notes["before"], task.audit_notes["after"]) == (
        detail,
        f"not verified: {detail}",
    )
    assert "changed" not in task.audit_notes
