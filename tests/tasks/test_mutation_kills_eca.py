"""The External Client App route as the operator meets it (tasks/eca/: the verification's report, the
policies and authorization steps' "done" checks, the ECA lookups they share): what each check expects, shows
and names as the fix. Written against the survivors of ``make mutate`` (tests/mutation-equivalent.txt lists
the ones that change nothing observable). The failing states: tests/tasks/test_checks_fail.py.
"""

from __future__ import annotations

import pytest

from orgsim.eca import ECA_DEVELOPER_NAME, ECA_LABEL, VERSIONS
from tests.conftest import last_seq, writes_since
from tests.tasks.test_checks_fail import (
    ECA_WANTED,
    INTEGRATION,
    add_token,
    result,
    scenario_file,
)
from tests.tasks.test_checks_fail_eca import eca_complete, eca_scenario, verify_eca, without_fields

NAMES = "Sixsense_External_Client_App or 6sense External Client App"
V10, V11 = VERSIONS["1.0"]["Id"], VERSIONS["1.1"]["Id"]
MANAGER_PATH = "/lightning/setup/ManageExternalClientApplication/home"
IP_EXPECTED = "Enforce or relaxed (as the connected app's)"


def rows(report) -> dict[str, tuple[str, str, str, str]]:
    """check -> (expected, actual, result, fix)."""
    return {
        c["check"]: (c["expected"], c["actual"], c["result"], c["fix"]) for c in report["checks"]
    }


def token_created(sim) -> list[str]:
    return [t["CreatedDate"] for t in sim.org.store.find("OauthToken", AppName=ECA_LABEL)]


# -- sixsense_verify_eca: the report -------------------------------------------------------------------------


def test_the_complete_orgs_report_names_what_each_check_expected_and_found(sim_task, tmp_path):
    sim, make = eca_complete(sim_task, tmp_path)
    report, error, task = verify_eca(make, tmp_path)
    assert error is None, error
    [created] = token_created(sim)
    assert rows(report) == {
        "package installed": (f"{V10} or newer", f"{V10} (1.0.0)", "PASS", ""),
        "External Client App": (f"{NAMES}, Packaged", f"{ECA_LABEL} (Packaged)", "PASS", ""),
        "policy: Permitted Users": ("AllSelfAuthorized", "AllSelfAuthorized", "PASS", ""),
        "policy: Refresh Token Policy": ("SpecificInactivity", "SpecificInactivity", "PASS", ""),
        "policy: Refresh token validity period": ("30", "30", "PASS", ""),
        "policy: Refresh token validity unit": ("Days", "Days", "PASS", ""),
        "policy: Start Page": ("None", "None", "PASS", ""),
        "policy: IP Relaxation": (
            IP_EXPECTED,
            "Enforce: Enforce IP restrictions: 6sense's refreshes must come from the integration user's "
            "profile login IP ranges, if it has any",
            "PASS",
            "",
        ),
        "integration user authorized": (
            f"{INTEGRATION} holds a token for the ECA",
            f"1 token(s), newest created {created}",
            "PASS",
            "",
        ),
    }
    assert [c["check"] for c in report["checks"]] == list(rows(report))[:9]
    assert report["model"] == "external_client_app"
    assert report["integration_username"] == INTEGRATION
    assert report["eca_names"] == ["Sixsense_External_Client_App", "6sense External Client App"]
    assert report["package_version"] == V10
    assert task.return_values["passed"] is True
    assert task.return_values["failed"] == task.return_values["not_checked"] == []


def test_an_org_without_the_package_fails_every_check_with_its_step(sim_task, tmp_path):
    sim, make = sim_task("eca_not_installed")
    report, error, task = verify_eca(make, tmp_path)
    install, policies, authorize = (
        "sixsense_install_eca_package",
        "sixsense_set_eca_policies",
        "sixsense_authorize_eca",
    )
    assert rows(report) == {
        "package installed": (f"{V10} or newer", "not installed", "FAIL", install),
        "External Client App": (f"{NAMES}, Packaged", "not found", "FAIL", install),
        "policy: Permitted Users": ("AllSelfAuthorized", "ECA not installed", "FAIL", policies),
        "policy: Refresh Token Policy": (
            "SpecificInactivity",
            "ECA not installed",
            "FAIL",
            policies,
        ),
        "policy: Refresh token validity period": ("30", "ECA not installed", "FAIL", policies),
        "policy: Refresh token validity unit": ("Days", "ECA not installed", "FAIL", policies),
        "policy: Start Page": ("None", "ECA not installed", "FAIL", policies),
        "policy: IP Relaxation": (IP_EXPECTED, "ECA not installed", "FAIL", policies),
        "integration user authorized": (
            f"{INTEGRATION} holds a token for the ECA",
            "ECA not installed",
            "FAIL",
            authorize,
        ),
    }
    assert task.return_values["passed"] is False
    assert len(task.return_values["failed"]) == 9
    assert type(error).__name__ == "VerificationFailed"


def test_a_newer_version_of_the_package_passes(sim_task, tmp_path):
    path = scenario_file(
        tmp_path,
        "eca_installed_default_policies",
        eca={"installed": True, "installed_version": "1.1", "policies": ECA_WANTED},
    )
    sim, make = sim_task(path)
    report, error, _ = verify_eca(make, tmp_path)
    assert rows(report)["package installed"] == (f"{V10} or newer", f"{V11} (1.1.0)", "PASS", "")


def test_an_older_version_than_the_one_asked_for_fails(sim_task, tmp_path):
    sim, make = eca_complete(sim_task, tmp_path)
    report, error, _ = verify_eca(make, tmp_path, package_version=V11)
    assert rows(report)["package installed"] == (
        f"{V11} or newer",
        f"{V10} (1.0.0)",
        "FAIL",
        "sixsense_install_eca_package",
    )
    assert report["passed"] is False


def test_an_installed_version_the_org_cannot_describe_shows_its_id_and_is_not_newer(
    sim_task, tmp_path
):
    """The installed version's SubscriberPackageVersion row is not readable: the report shows its id, and it
    does not count as the version asked for (another id) or newer."""
    sim, make = eca_complete(sim_task, tmp_path)
    sim.org.store.conn.execute('DELETE FROM "SubscriberPackageVersion" WHERE Id = ?', (V10,))
    report, error, _ = verify_eca(make, tmp_path, package_version=V11)
    assert rows(report)["package installed"] == (
        f"{V11} or newer",
        V10,
        "FAIL",
        "sixsense_install_eca_package",
    )


def test_the_packaged_eca_is_chosen_over_a_local_one_of_the_same_name(sim_task, tmp_path):
    """A Local ECA (created in this org) carrying the vendor's names, listed first, is not the vendor's app:
    the packaged one is checked."""
    sim, make = eca_complete(sim_task, tmp_path)
    store = sim.org.store
    [packaged] = store.find("ExternalClientApplication")
    # The Local copy takes the packaged row's place (and Id: listed first); the packaged app gets a new row
    # and the policy row.
    store.conn.execute(
        "UPDATE \"ExternalClientApplication\" SET DistributionState = 'Local' WHERE Id = ?",
        (packaged["Id"],),
    )
    new_id = store.insert(
        "ExternalClientApplication",
        {
            "MasterLabel": ECA_LABEL,
            "DeveloperName": ECA_DEVELOPER_NAME,
            "NamespacePrefix": packaged.get("NamespacePrefix"),
            "DistributionState": "Packaged",
        },
    )
    store.conn.execute(
        'UPDATE "ExtlClntAppOauthPlcyCnfg" SET ExternalClientApplicationId = ?', (new_id,)
    )
    report, error, _ = verify_eca(make, tmp_path)
    assert rows(report)["External Client App"][1:3] == (f"{ECA_LABEL} (Packaged)", "PASS")
    assert report["passed"] is True, report


@pytest.mark.parametrize("name", [ECA_DEVELOPER_NAME, ECA_LABEL], ids=["developer_name", "label"])
def test_the_eca_is_found_by_its_developer_name_or_its_label(sim_task, tmp_path, name):
    sim, make = eca_complete(sim_task, tmp_path)
    report, error, _ = verify_eca(make, tmp_path, eca_names=name)
    assert rows(report)["External Client App"] == (
        f"{name}, Packaged",
        f"{ECA_LABEL} (Packaged)",
        "PASS",
        "",
    )
    assert error is None, error


def test_a_skipped_policy_names_where_to_check_it_by_hand(sim_task, tmp_path):
    sim, make = eca_complete(sim_task, tmp_path)
    report, error, task = verify_eca(
        make, tmp_path, prepare=without_fields("StartUrl", "RefreshTokenValidityUnit")
    )
    start = result(report, "policy: Start Page")
    unit = result(report, "policy: Refresh token validity unit")
    assert (start["expected"], unit["expected"]) == ("None", "Days")
    for check, label in ((start, "Start Page"), (unit, "Refresh token validity unit")):
        assert check["result"] == "SKIPPED"
        assert check["actual"] == (
            "not readable by SOQL (ExtlClntAppOauthPlcyCnfg has no such field here)"
        )
        assert check["fix"] == (
            f"check {label} by hand in External Client App Manager "
            f"({report['instance_url']}{MANAGER_PATH})"
        )
    not_checked = {c["check"]: c for c in report["not_checked"]}
    assert (
        not_checked["policy: Start Page"]["matters"],
        not_checked["policy: Start Page"]["note"],
    ) == (
        False,
        "Start Page only sets the page shown after authorizing; the integration does not use it",
    )
    unit_skip = not_checked["policy: Refresh token validity unit"]
    assert (unit_skip["matters"], unit_skip["note"]) == (True, "")
    assert task.return_values["not_checked"] == ["policy: Refresh token validity unit"]
    assert report["passed"] is False


def test_the_token_check_counts_the_integration_users_tokens_and_shows_the_newest(
    sim_task, tmp_path
):
    sim, make = eca_complete(sim_task, tmp_path)
    assert sim.action("authorize", username=INTEGRATION, app=ECA_LABEL).get("ok")
    created = token_created(sim)
    assert len(created) == 2 and created[0] != created[1], created
    report, error, _ = verify_eca(make, tmp_path)
    actual = rows(report)["integration user authorized"][1]
    assert actual == f"{len(created)} token(s), newest created {max(created)}", created


def test_the_token_read_asks_for_the_integration_users_tokens_only(sim_task, tmp_path):
    """The ECA's tokens are read for the integration user in the query itself, not for every user who
    authorized the ECA (bounded reads; a connected user who cannot see others' tokens still gets an answer)."""
    sim, make = eca_complete(sim_task, tmp_path)
    soql = []

    def record(task):
        query = task._query
        task._query = lambda text, *a, **kw: soql.append(text) or query(text, *a, **kw)

    report, error, _ = verify_eca(make, tmp_path, prepare=record)
    assert error is None, error
    user_id = sim.org.store.find("User", Username=INTEGRATION)[0]["Id"]
    reads = [q for q in soql if "FROM OauthToken" in q]
    assert reads and all(f"UserId = '{user_id}'" in q for q in reads), soql


# -- sixsense_set_eca_policies and sixsense_authorize_eca: the "done" checks ----------------------------------


def plan(make, name, prepare=None, **options):
    """A guided ECA step in plan mode (reads only): its return values, whose detail is its check's."""
    task = make(name, plan="True", integration_username=INTEGRATION, **options)
    if prepare:
        prepare(task)
    task()
    return task.return_values


def test_policies_step_names_each_policy_that_differs(sim_task, tmp_path):
    """The installed ECA's defaults: the refresh token never expires, no validity period or unit."""
    sim, make = sim_task("eca_installed_default_policies")
    values = plan(make, "sixsense_set_eca_policies")
    assert values["done"] is False
    assert values["detail"] == (
        "Refresh Token Policy is Infinite; Refresh token validity period is none; "
        "Refresh token validity unit is none"
    )


def test_policies_step_done_says_which_policies_it_could_not_read(sim_task, tmp_path):
    """Start Page does not decide the sync: unread, it is named and the step is still done."""
    sim, make = eca_complete(sim_task, tmp_path)
    values = plan(make, "sixsense_set_eca_policies", prepare=without_fields("StartUrl"))
    assert (values["done"], values["status"]) == (True, "already done")
    assert values["detail"] == "as 6sense asks (Start Page not readable by SOQL)"


def test_policies_step_is_not_done_on_a_refresh_policy_it_could_not_read(sim_task, tmp_path):
    """Never a pass on a fact that was not read (issue 12; issue 17 kind 8): the refresh-token policy
    decides whether 6sense keeps syncing, so when SOQL does not show it the step is not done."""
    sim, make = eca_complete(sim_task, tmp_path)
    values = plan(
        make,
        "sixsense_set_eca_policies",
        prepare=without_fields("StartUrl", "RefreshTokenValidityUnit"),
    )
    assert values["done"] is False
    assert values["status"] in ("manual step remains", "would deploy")
    assert values["detail"] == "Refresh token validity unit not readable by SOQL: not verified"


def test_policies_step_unread_refresh_policy_guided_says_to_check_it_and_is_not_done(
    sim_task, tmp_path, caplog
):
    """Where the policies cannot be deployed: the instructions to check them by hand, no wait (nothing
    here could show them), not done, nothing written."""
    import logging

    caplog.set_level(logging.INFO)
    sim, make = eca_complete(sim_task, tmp_path)
    mark = last_seq(sim)
    task = make(
        "sixsense_set_eca_policies",
        interactive="True",
        integration_username=INTEGRATION,
        confirm_production="True",
    )
    without_fields("RefreshTokenPolicyType")(task)
    task()
    values = task.return_values
    assert (values["done"], values["status"], values["method"]) == (
        False,
        "not verified",
        "guided",
    )
    assert values["unverified"] == ["Refresh Token Policy"]
    warning = next(r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert warning == (
        "Refresh Token Policy: not readable by SOQL in this org, so not verified by query. Check them in "
        f"External Client App Manager > {ECA_LABEL} > Edit Policies ({task._instance_url()}{MANAGER_PATH}); "
        "sixsense_verify_eca reports them as not checked."
    )
    assert any("Select Save." in r.getMessage() for r in caplog.records)
    assert not any("checking ExtlClntAppOauthPlcyCnfg" in r.getMessage() for r in caplog.records)
    assert writes_since(sim, mark) == []


def test_policies_step_names_every_unread_policy_comma_separated(sim_task, tmp_path, caplog):
    import logging

    caplog.set_level(logging.INFO)
    sim, make = eca_complete(sim_task, tmp_path)
    task = make(
        "sixsense_set_eca_policies",
        interactive="True",
        integration_username=INTEGRATION,
        confirm_production="True",
    )
    without_fields("RefreshTokenPolicyType", "RefreshTokenValidityUnit")(task)
    task()
    assert task.return_values["unverified"] == [
        "Refresh Token Policy",
        "Refresh token validity unit",
    ]
    assert task.return_values["detail"] == (
        "Refresh Token Policy, Refresh token validity unit not readable by SOQL: not verified"
    )
    warning = next(r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert warning.startswith(
        "Refresh Token Policy, Refresh token validity unit: not readable by SOQL in this org"
    )


def test_policies_step_unread_refresh_policy_is_deployed_again_and_still_not_done(sim_task):
    """Where the policies can be deployed: the step cannot tell whether the unread policy is set, so it
    deploys them (the deploy sets it) and still says it is not verified."""
    sim, make = sim_task("eca_installed_policies_deployable")
    task = make("sixsense_set_eca_policies", interactive="False", integration_username=INTEGRATION)
    without_fields("RefreshTokenPolicyType")(task)
    task()
    values = task.return_values
    assert (values["done"], values["status"], values["method"]) == (False, "deployed", "metadata")
    assert values["unverified"] == ["Refresh Token Policy"]
    assert values["detail"].endswith(
        "(metadata deploy, verified by query but for Refresh Token Policy)"
    )
    [policy] = sim.org.store.find("ExtlClntAppOauthPlcyCnfg")
    assert policy["RefreshTokenPolicyType"] == "SpecificInactivity"


def test_policies_step_done_when_every_policy_reads_as_asked(sim_task, tmp_path):
    sim, make = eca_complete(sim_task, tmp_path)
    values = plan(make, "sixsense_set_eca_policies")
    assert (values["done"], values["status"], values["detail"]) == (
        True,
        "already done",
        "as 6sense asks",
    )


def test_policies_step_without_a_policy_row_is_not_done(sim_task, tmp_path):
    sim, make = eca_complete(sim_task, tmp_path)
    sim.org.store.conn.execute('DELETE FROM "ExtlClntAppOauthPlcyCnfg"')
    values = plan(make, "sixsense_set_eca_policies")
    assert (values["done"], values["detail"]) == (False, "no OAuth policy row for the ECA")


@pytest.mark.parametrize("step", ["sixsense_set_eca_policies", "sixsense_authorize_eca"])
def test_eca_step_before_the_install_plans_it_and_refuses_to_run(sim_task, errors, step):
    sim, make = sim_task("eca_not_installed")
    values = plan(make, step)
    assert (values["done"], values["detail"]) == (
        False,
        "the ECA is not installed yet (an earlier step)",
    )
    task = make(step, interactive="False", integration_username=INTEGRATION)
    with pytest.raises(errors.SixsenseOrgError) as raised:
        task()
    assert str(raised.value) == (
        "The 6sense External Client App is not installed: run sixsense_install_eca_package first."
    )


def test_authorize_step_done_names_the_newest_token(sim_task, tmp_path):
    sim, make = eca_complete(sim_task, tmp_path)
    assert sim.action("authorize", username=INTEGRATION, app=ECA_LABEL).get("ok")
    created = token_created(sim)
    assert len(set(created)) == 2, created
    values = plan(make, "sixsense_authorize_eca")
    assert (values["done"], values["detail"]) == (
        True,
        f"{INTEGRATION} holds a token for {ECA_LABEL} (created {max(created)})",
    )


def test_authorize_step_not_done_without_the_integration_users_token(sim_task, tmp_path):
    sim, make = sim_task(eca_scenario(tmp_path))
    values = plan(make, "sixsense_authorize_eca")
    assert (values["done"], values["detail"]) == (False, "no token")


# -- the values compared ------------------------------------------------------------------------------------


def test_a_policy_value_is_compared_as_trimmed_text(tasks_module):
    normalize = tasks_module("eca.common").normalize
    assert normalize(None) == ""
    assert normalize(30.0) == "30"
    assert normalize(30) == "30"
    assert normalize(2.5) == "2.5"
    assert normalize(" Days ") == "Days"
    assert normalize("AllSelfAuthorized") == "AllSelfAuthorized"


def test_a_package_version_compares_by_its_four_numbers(tasks_module):
    version_tuple = tasks_module("eca.common").version_tuple
    row = {"MajorVersion": 2, "MinorVersion": 3, "PatchVersion": 4, "BuildNumber": 5}
    assert version_tuple(row) == (2, 3, 4, 5)
    assert version_tuple({}) == (0, 0, 0, 0)
    assert version_tuple({"MajorVersion": None, "MinorVersion": "7"}) == (0, 7, 0, 0)


def test_an_installed_version_with_the_numbers_asked_for_satisfies_it(tasks_module):
    """Another id with the same four numbers (Major.Minor.Patch.Build) is that version, not an older one."""
    numbers = {"MajorVersion": 1, "MinorVersion": 1, "PatchVersion": 0, "BuildNumber": 2}
    answers = [
        [{"Id": "04tTARGET", "SubscriberPackageId": "033PKG", **numbers}],
        [{"SubscriberPackageId": "033PKG", "SubscriberPackageVersionId": "04tOTHER"}],
        [{"Id": "04tOTHER", "IsBeta": False, **numbers}],
    ]

    class Status(tasks_module("eca.common").EcaMixin):
        options = {"package_version": "04tTARGET"}

        def _tooling_query(self, soql):
            return answers.pop(0)

    status = Status()._package_status()
    assert status["installed"]["Id"] == "04tOTHER" and status["satisfied"] is True, status
    assert answers == []


def test_verify_eca_refuses_an_integration_user_not_in_the_org(sim_task, tmp_path, errors):
    sim, make = eca_complete(sim_task, tmp_path)
    task = make(
        "sixsense_verify_eca",
        integration_username="nobody@example.com",
        report_path=str(tmp_path / "verification-eca.json"),
    )
    with pytest.raises(errors.SixsenseInputError) as raised:
        task()
    assert str(raised.value) == (
        "The integration user nobody@example.com does not exist in this org; check the username "
        "(-o integration_username ...)."
    )


@pytest.mark.parametrize(
    "fault, name, expected, read",
    [
        (
            "match=InstalledSubscriberPackage:kind=503",
            "package installed",
            f"{V10} or newer",
            "Tooling query",
        ),
        (
            "match=FROM+ExternalClientApplication+:kind=503",
            "External Client App",
            f"{NAMES}, Packaged",
            "Query",
        ),
        (
            "match=ExtlClntAppOauthPlcyCnfg:kind=503",
            "policy: Refresh Token Policy",
            "SpecificInactivity",
            "describe ExtlClntAppOauthPlcyCnfg",
        ),
        (
            "match=FROM+OauthToken:kind=503",
            "integration user authorized",
            f"{INTEGRATION} holds a token for the ECA",
            "Query",
        ),
    ],
    ids=["package", "eca", "policies", "tokens"],
)
def test_a_check_that_could_not_read_says_what_it_expected_and_which_read_failed(
    sim_task, tmp_path, fault, name, expected, read
):
    sim, make = eca_complete(sim_task, tmp_path)
    report, error, _ = verify_eca(make, tmp_path, sim, fault)
    check = result(report, name)
    assert (check["result"], check["expected"]) == ("UNREADABLE", expected), check
    assert check["actual"].startswith(
        f"could not check: {read} failed: HTTP 503: Service Unavailable."
    ), check


def test_a_token_named_by_the_ecas_developer_name_counts(sim_task, tmp_path):
    """Which name OauthToken.AppName carries for an ECA is not documented (the simulator uses its label):
    a token under either of the ECA's names is the integration user's authorization."""
    sim, make = sim_task(eca_scenario(tmp_path))
    add_token(sim, INTEGRATION, app=ECA_DEVELOPER_NAME)
    report, error, _ = verify_eca(make, tmp_path)
    assert rows(report)["integration user authorized"][2] == "PASS", report
    values = plan(make, "sixsense_authorize_eca")
    assert values["done"] is True, values


def test_without_a_policy_row_each_policy_fails_saying_what_it_expected(sim_task, tmp_path):
    sim, make = eca_complete(sim_task, tmp_path)
    sim.org.store.conn.execute('DELETE FROM "ExtlClntAppOauthPlcyCnfg"')
    report, error, _ = verify_eca(make, tmp_path)
    found = {name: row for name, row in rows(report).items() if name.startswith("policy: ")}
    assert found == {
        f"policy: {label}": (
            wanted,
            "no OAuth policy row for the ECA",
            "FAIL",
            "sixsense_set_eca_policies",
        )
        for label, wanted in (
            ("Permitted Users", "AllSelfAuthorized"),
            ("Refresh Token Policy", "SpecificInactivity"),
            ("Refresh token validity period", "30"),
            ("Refresh token validity unit", "Days"),
            ("Start Page", "None"),
            ("IP Relaxation", IP_EXPECTED),
        )
    }


def test_without_the_eca_row_the_token_check_could_not_check_either(sim_task, tmp_path):
    sim, make = eca_complete(sim_task, tmp_path)
    report, error, _ = verify_eca(
        make, tmp_path, sim, "match=FROM+ExternalClientApplication+:kind=503"
    )
    check = result(report, "integration user authorized")
    assert (check["result"], check["expected"]) == (
        "UNREADABLE",
        f"{INTEGRATION} holds a token for the ECA",
    ), check
    assert check["actual"].startswith("could not check: Query failed: HTTP 503"), check
