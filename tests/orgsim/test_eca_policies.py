"""The ECA's OAuth policies (facts §6.3, §10.2): the SOQL columns of ExtlClntAppOauthPlcyCnfg, the metadata-only
fields of ExtlClntAppOauthConfigurablePolicies, set by scenario, shown by retrieve and readMetadata, changed by
deploy, and bad values refused by deploy and by the scenario loader."""

from __future__ import annotations

import pytest
import yaml
from lxml import etree
from simple_salesforce.exceptions import SalesforceError

from orgsim import eca, scenario
from tests.orgsim.simclient import MD_NS, deploy, retrieve, sf_for, soap

ADMIN = "admin@example.com"
INTEGRATION = "sixsense.integration@example.com"
OTHER = "other@example.com"
COLUMNS = (
    "PermittedUsersPolicyType, IpRelaxationPolicyType, RefreshTokenPolicyType, "
    "RefreshTokenValidityPeriod, RefreshTokenValidityUnit"
)


def write(tmp_path, policies: dict | None = None, name: str = "eca_policies.yml") -> str:
    data = {
        "features": {"eca_policy_metadata_deployable": True},
        "connected_user": ADMIN,
        "users": [
            {"username": ADMIN, "alias": "aadmin", "profile": "System Administrator"},
            {"username": INTEGRATION, "alias": "sixint", "profile": "Standard User"},
            {"username": OTHER, "alias": "other", "profile": "Standard User"},
        ],
        "permission_sets": [
            {"name": "Eca_Users", "label": "ECA Users", "assigned_to": [INTEGRATION]},
        ],
        "eca": {"installed": True, "policies": policies or {}},
    }
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return str(path)


ALL_SET = {
    "ip_relaxation": "Enforce_RelaxRefresh",
    "comma_separated_permission_set": ["Eca_Users"],
    "comma_separated_profile": ["System Administrator"],
    "session_timeout_minutes": 120,
    "policy_action": "RaiseSessionLevel",
    "required_session_level": "HIGH_ASSURANCE",
}


def policy_file(sim, **fields: str) -> str:
    body = "".join(f"<{tag}>{value}</{tag}>" for tag, value in sorted(fields.items()))
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><ExtlClntAppOauthConfigurablePolicies xmlns="{MD_NS}">'
        f"<externalClientApplication>{eca.ECA_DEVELOPER_NAME}</externalClientApplication>{body}"
        "</ExtlClntAppOauthConfigurablePolicies>"
    )


def deploy_policy(sim, **fields: str):
    name = eca.full_name(sim.org)
    return deploy(sim, {f"{eca.MD_FOLDER}/{name}{eca.MD_SUFFIX}": policy_file(sim, **fields)})


def retrieved(sim) -> dict[str, str]:
    name = eca.full_name(sim.org)
    files, problems = retrieve(sim, {eca.MD_TYPE: [name]})
    assert not problems, problems
    root = etree.fromstring(files[f"unpackaged/{eca.MD_FOLDER}/{name}{eca.MD_SUFFIX}"])
    return {etree.QName(c).localname: c.text for c in root if isinstance(c.tag, str)}


def policy_row(sim) -> dict:
    [row] = sf_for(sim).query(f"SELECT {COLUMNS} FROM ExtlClntAppOauthPlcyCnfg")["records"]
    return row


def test_the_columns_of_facts_10_2_are_queryable_with_ip_relaxation_in_soql_casing(
    make_sim, tmp_path
):
    sim = make_sim(write(tmp_path, {"ip_relaxation": "Enforce_RelaxRefresh"}))
    row = policy_row(sim)
    assert row["IpRelaxationPolicyType"] == "Enforce_relaxrefresh"
    assert row["PermittedUsersPolicyType"] == "AllSelfAuthorized"
    filtered = sf_for(sim).query(
        "SELECT Id FROM ExtlClntAppOauthPlcyCnfg WHERE IpRelaxationPolicyType = 'Enforce_relaxrefresh'"
    )
    assert filtered["totalSize"] == 1


def test_a_fresh_install_enforces_ip_restrictions(make_sim, tmp_path):
    sim = make_sim(write(tmp_path))
    assert policy_row(sim)["IpRelaxationPolicyType"] == "Enforce"
    assert retrieved(sim)["ipRelaxationPolicyType"] == "Enforce"


@pytest.mark.parametrize(
    "column",
    [
        "SessionTimeoutInMinutes",
        "PolicyAction",
        "RequiredSessionLevel",
        "CommaSeparatedPermissionSet",
        "CommaSeparatedProfile",
    ],
)
def test_metadata_only_policies_are_no_soql_column(make_sim, tmp_path, column):
    sim = make_sim(write(tmp_path, ALL_SET))
    with pytest.raises(SalesforceError) as err:
        sf_for(sim).query(f"SELECT {column} FROM ExtlClntAppOauthPlcyCnfg")
    assert "INVALID_FIELD" in str(err.value)


def test_the_scenario_sets_every_policy_and_retrieve_and_read_metadata_show_them(
    make_sim, tmp_path
):
    sim = make_sim(write(tmp_path, ALL_SET))
    with sim.org.lock:
        ps_id = sim.org.store.find_one("PermissionSet", Name="Eca_Users")["Id"]
    fields = retrieved(sim)
    assert {k: fields.get(k) for k in ALL_EXPECTED} == {
        **ALL_EXPECTED,
        "commaSeparatedPermissionSet": ps_id,
    }
    resp = soap(
        sim,
        f"<readMetadata xmlns='{MD_NS}'><type>{eca.MD_TYPE}</type>"
        f"<fullNames>{eca.full_name(sim.org)}</fullNames></readMetadata>",
    )
    record = etree.fromstring(resp.content).find(f".//{{{MD_NS}}}records")
    read = {etree.QName(c).localname: c.text for c in record}
    assert read["ipRelaxationPolicyType"] == "Enforce_RelaxRefresh"
    assert read["sessionTimeoutInMinutes"] == "120"
    assert read["requiredSessionLevel"] == "HIGH_ASSURANCE"


ALL_EXPECTED = {
    "ipRelaxationPolicyType": "Enforce_RelaxRefresh",
    "commaSeparatedPermissionSet": None,  # replaced by the permission set's id in the test
    "commaSeparatedProfile": "System Administrator",
    "sessionTimeoutInMinutes": "120",
    "policyAction": "RaiseSessionLevel",
    "requiredSessionLevel": "HIGH_ASSURANCE",
}


def test_deploy_changes_the_policies_and_clears_optional_ones_left_out(make_sim, tmp_path):
    sim = make_sim(write(tmp_path, ALL_SET))
    result = deploy_policy(
        sim,
        ipRelaxationPolicyType="Bypass_2factor",
        sessionTimeoutInMinutes="30",
        policyAction="Block",
    )
    assert result.findtext(f"{{{MD_NS}}}success") == "true", etree.tostring(result)
    assert policy_row(sim)["IpRelaxationPolicyType"] == "Bypass_2factor"
    fields = retrieved(sim)
    assert fields["ipRelaxationPolicyType"] == "Bypass_2factor"
    assert fields["sessionTimeoutInMinutes"] == "30"
    assert fields["policyAction"] == "Block"
    for gone in ("requiredSessionLevel", "commaSeparatedPermissionSet", "commaSeparatedProfile"):
        assert gone not in fields, fields
    # Left out, the picklists with a value of their own keep it.
    assert fields["permittedUsersPolicyType"] == "AllSelfAuthorized"


@pytest.mark.parametrize(
    ("tag", "value"),
    [
        ("ipRelaxationPolicyType", "Enforce_relaxrefresh"),  # the SOQL casing is no metadata value
        ("ipRelaxationPolicyType", "ENFORCE"),  # the connected app's spelling
        ("policyAction", "Allow"),
        ("requiredSessionLevel", "MFA"),
        ("sessionTimeoutInMinutes", "0"),
        ("sessionTimeoutInMinutes", "ten"),
        ("commaSeparatedPermissionSet", "0PS000000000000AAA"),
        ("commaSeparatedProfile", "No Such Profile"),
    ],
)
def test_deploy_refuses_a_bad_value_and_changes_nothing(make_sim, tmp_path, tag, value):
    sim = make_sim(write(tmp_path))
    before = retrieved(sim)
    result = deploy_policy(sim, **{tag: value})
    assert result.findtext(f"{{{MD_NS}}}success") == "false"
    problem = result.findtext(f".//{{{MD_NS}}}componentFailures/{{{MD_NS}}}problem")
    assert tag in problem and value in problem, problem
    assert retrieved(sim) == before


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "ip_relaxation",
            "ENFORCE",
            "must be one of Enforce, Bypass, Bypass_2factor, Enforce_RelaxRefresh",
        ),
        ("ip_relaxation", "Enforce_relaxrefresh", "must be one of"),
        ("policy_action", "Allow", "must be one of Block, RaiseSessionLevel"),
        ("required_session_level", "MFA", "must be one of"),
        ("session_timeout_minutes", 0, "from 1 to 1,440"),
        ("session_timeout_minutes", 100000, "from 1 to 1,440"),
        ("refresh_token_policy", "Never", "must be one of"),
        ("comma_separated_permission_set", ["Nope"], "unknown permission set 'Nope'"),
        ("comma_separated_profile", ["Nobody"], "unknown profile 'Nobody'"),
    ],
)
def test_the_scenario_refuses_a_bad_policy_naming_file_and_field(tmp_path, key, value, message):
    path = write(tmp_path, {key: value}, name="bad_policy.yml")
    with pytest.raises(scenario.ScenarioError) as err:
        scenario.load(path)
    text = str(err.value)
    assert "bad_policy.yml" in text and f"eca.policies.{key}" in text and message in text, text


def test_the_pre_authorized_lists_let_their_users_authorize(make_sim, tmp_path):
    """With AdminApprovedPreAuthorized, commaSeparatedPermissionSet / commaSeparatedProfile pre-authorize
    (facts §6.3); a user in neither is refused."""
    sim = make_sim(
        write(
            tmp_path,
            {
                "permitted_users": "AdminApprovedPreAuthorized",
                "comma_separated_permission_set": ["Eca_Users"],
                "comma_separated_profile": ["System Administrator"],
            },
        )
    )
    assert sim.action("authorize", username=INTEGRATION, app="eca")["ok"]
    assert sim.action("authorize", username=ADMIN, app="eca")["ok"]
    refused = sim.action("authorize", username=OTHER, app="eca")
    assert refused.get("error") == "invalid_app_access", refused


def _eca_token_holders(sim) -> list[str]:
    """Usernames holding a token of the 6sense ECA, by query (OauthToken, facts §4.1)."""
    rows = sf_for(sim).query(
        f"SELECT User.Username FROM OauthToken WHERE AppName = '{eca.ECA_LABEL}'"
    )["records"]
    return sorted(r["User"]["Username"] for r in rows)


@pytest.mark.parametrize("revokes,survivors", [("not_pre_authorized", [INTEGRATION]), ("all", [])])
def test_the_eca_switch_to_admin_approved_follows_the_connected_apps_rule(
    make_sim, tmp_path, revokes, survivors
):
    """The ECA's Permitted Users switch revokes what the connected app's does (facts §7.1, §10.1; scenario
    ``features.admin_approval_revokes``): a user without pre-authorization always loses the token; a
    pre-authorized one keeps it by Salesforce's warning and loses it where the switch logs out all users.
    Setting it again once admin approved revokes no pre-authorized user's token."""
    data = yaml.safe_load(open(write(tmp_path, {"comma_separated_permission_set": ["Eca_Users"]})))
    data["features"]["admin_approval_revokes"] = revokes
    path = tmp_path / f"eca_revokes_{revokes}.yml"
    path.write_text(yaml.safe_dump(data))
    sim = make_sim(str(path))
    for user in (INTEGRATION, OTHER):
        assert sim.action("authorize", username=user, app="eca")["ok"]
    switched = sim.action("eca_policy", permitted_users="AdminApprovedPreAuthorized")
    assert switched["revoked_tokens"] == 2 - len(survivors)
    assert _eca_token_holders(sim) == survivors
    if not survivors:
        assert sim.action("authorize", username=INTEGRATION, app="eca")["ok"]
    again = sim.action("eca_policy", permitted_users="AdminApprovedPreAuthorized")
    assert again["revoked_tokens"] == 0
    assert _eca_token_holders(sim) == [INTEGRATION]


def test_the_bundled_eca_scenario_where_the_switch_logs_out_all_users(make_sim):
    """``eca_admin_approval_logs_out_all_users``: the integration user, pre-authorized by its profile in the
    policy, loses its ECA token at the switch (the vendor article's text, facts §10.1)."""
    sim = make_sim("eca_admin_approval_logs_out_all_users")
    assert sim.action("authorize", username=INTEGRATION, app="eca")["ok"]
    assert _eca_token_holders(sim) == [INTEGRATION]
    switched = sim.action("eca_policy", permitted_users="AdminApprovedPreAuthorized")
    assert switched["revoked_tokens"] == 1 and _eca_token_holders(sim) == []
    # Still pre-authorized: it may authorize again.
    assert sim.action("authorize", username=INTEGRATION, app="eca")["ok"]
