"""Issue 17 kind 10: the ECA's policy file name is generated per org and found with listMetadata (facts §10.2)."""

from __future__ import annotations

from orgsim.eca import ECA_DEVELOPER_NAME
from tests.orgsim.simclient import MD_NS, deploy

N = f"{{{MD_NS}}}"


SCENARIO = "eca_installed_policies_deployable"


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
    task = make(
        "sixsense_set_eca_policies",
        interactive=False,
        integration_username="sixsense.integration@example.com",
    )
    task()
    assert task.return_values["method"] == "metadata", task.return_values
    assert task.return_values["status"] == "deployed"
    [policy] = sim.org.store.find("ExtlClntAppOauthPlcyCnfg")
    assert policy["RefreshTokenPolicyType"] == "SpecificInactivity"
