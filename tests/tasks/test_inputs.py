"""sixsense_validate_inputs: every bad input is one clear error and nothing is written."""

import pytest
from cumulusci.core.exceptions import TaskOptionsError

from tests.conftest import ROOT
from tests.tasks.conftest import ADMIN, ADMIN_USER, INTEGRATION, INTEGRATION_USER, user


def run(make_task, **options):
    return make_task("sixsense_validate_inputs", **options)()


def test_valid_inputs_are_returned_normalized_as_strings(make_task, org):
    org.on("FROM User", records=[ADMIN_USER, INTEGRATION_USER])
    result = run(make_task, integration_username=INTEGRATION.upper(), interactive="false")
    assert result == {
        "integration_username": INTEGRATION,
        "setup_username": ADMIN,
        "connected_app_names": "sfdc_6sense_oauth_app,sfdc_6sense_integration_connected_app",
        "wait_timeout": "900",
        "poll_interval": "10",
        "interactive": "False",
        "integration_user_id": INTEGRATION_USER["Id"],
        "setup_user_id": ADMIN_USER["Id"],
        "integration_profile": "Minimum Access - API Only Integrations",
        "plan": "False",
        "confirm_reauthorization": "False",
        "confirm_production": "False",
        "audit_dir": str(ROOT / ".sixsense" / "audit"),  # relative: from the project folder
    }
    assert org.writes() == []
    user_query = next(q for q in org.soql if "FROM User WHERE Username IN" in q)
    assert f"Username IN ('{INTEGRATION.upper()}', '{ADMIN}')" in user_query


def test_unknown_integration_user(make_task, org, errors):
    org.on("FROM User", records=[ADMIN_USER])
    with pytest.raises(
        errors.SixsenseInputError, match="integration user nobody@example.com does not exist"
    ):
        run(make_task, integration_username="nobody@example.com")
    assert org.writes() == []


def test_inactive_setup_user(make_task, org, errors):
    inactive = user("old.admin@example.com", "005000000000009AAA", active=False)
    org.on("FROM User", records=[inactive, INTEGRATION_USER])
    with pytest.raises(errors.SixsenseInputError, match="old.admin@example.com is inactive"):
        run(make_task, integration_username=INTEGRATION, setup_username="old.admin@example.com")
    assert org.writes() == []


def test_setup_user_must_not_be_the_integration_user(make_task, org, errors):
    with pytest.raises(errors.SixsenseInputError, match="same user") as err:
        run(make_task, integration_username=INTEGRATION, setup_username=INTEGRATION.upper())
    assert "sixsense_validate_inputs__setup_username" in str(err.value)
    assert org.soql == [] and org.writes() == []


def test_a_user_option_given_twice(make_task, org, errors):
    with pytest.raises(errors.SixsenseInputError, match="more than one user"):
        run(
            make_task,
            integration_username=f"{INTEGRATION},{ADMIN}",
            setup_username="boss@example.com",
        )
    assert org.writes() == []


def test_integration_user_without_api_access(make_task, org, errors):
    no_api = user(
        INTEGRATION, "005000000000002AAA", profile="Minimum Access - Salesforce", api=False
    )
    org.on("FROM User", records=[ADMIN_USER, no_api])
    org.on("FROM PermissionSetAssignment", records=[])
    with pytest.raises(errors.SixsenseInputError, match="has no API access"):
        run(make_task, integration_username=INTEGRATION)
    assert any("PermissionSet.PermissionsApiEnabled = true" in q for q in org.soql)
    assert org.writes() == []


def test_api_access_through_a_permission_set_is_accepted(make_task, org):
    no_api = user(
        INTEGRATION, "005000000000002AAA", profile="Minimum Access - Salesforce", api=False
    )
    org.on("FROM User", records=[ADMIN_USER, no_api])
    org.on(
        "FROM PermissionSetAssignment",
        records=[
            {
                "PermissionSet": {
                    "Name": "Api_Set",
                    "IsOwnedByProfile": False,
                    "Profile": None,
                    "PermissionsApiEnabled": True,
                }
            }
        ],
    )
    assert run(make_task, integration_username=INTEGRATION)["integration_user_id"] == no_api["Id"]
    (query,) = [q for q in org.soql if "FROM PermissionSetAssignment" in q]
    assert f"AssigneeId = '{no_api['Id']}'" in query


@pytest.mark.parametrize(
    "names, message",
    [
        (" , ,", "connected_app_names is empty"),
        ("sfdc_6sense_oauth_app,bad'name", "implausible connected app name"),
        ("a_app,a_app", "more than once"),
    ],
)
def test_bad_connected_app_names(make_task, org, errors, names, message):
    with pytest.raises(errors.SixsenseInputError, match=message):
        run(make_task, integration_username=INTEGRATION, connected_app_names=names)
    assert org.soql == [] and org.writes() == []


@pytest.mark.parametrize(
    "option, value",
    [
        ("wait_timeout", "-5"),
        ("wait_timeout", "soon"),
        ("poll_interval", "0"),
        ("poll_interval", "nan"),
    ],
)
def test_bad_numbers_fail_when_options_are_parsed(make_task, org, errors, option, value):
    with pytest.raises(errors.SixsenseInputError, match=f"{option} must be a positive number"):
        make_task("sixsense_validate_inputs", integration_username=INTEGRATION, **{option: value})
    assert org.writes() == []


def test_poll_interval_longer_than_timeout(make_task, org, errors):
    with pytest.raises(errors.SixsenseInputError, match="longer than wait_timeout"):
        run(make_task, integration_username=INTEGRATION, wait_timeout="5", poll_interval="10")


def test_interactive_must_be_a_bool(make_task, errors):
    with pytest.raises(TaskOptionsError, match="interactive must be True or False"):
        make_task("sixsense_validate_inputs", integration_username=INTEGRATION, interactive="maybe")


def test_missing_integration_username_names_the_flow_option(make_task, errors):
    with pytest.raises(TaskOptionsError, match="integration_username"):
        make_task("sixsense_validate_inputs")


def test_soql_quoting(tasks_module):
    queries = tasks_module("queries")
    assert queries.soql_quote("O'Brien\\x") == "'O\\'Brien\\\\x'"
    assert queries.soql_in(["a", "b'c"]) == "('a', 'b\\'c')"


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("plan", "maybe", "plan must be True or False"),
        ("confirm_reauthorization", "perhaps", "confirm_reauthorization must be True or False"),
    ],
)
def test_plan_and_confirmation_options_must_be_booleans(make_task, org, option, value, message):
    with pytest.raises(TaskOptionsError, match=message):
        make_task("sixsense_validate_inputs", integration_username=INTEGRATION, **{option: value})
    assert org.writes() == []


def test_audit_dir_must_not_be_a_file(make_task, org, tmp_path):
    existing = tmp_path / "a-file"
    existing.write_text("x")
    with pytest.raises(TaskOptionsError, match="audit_dir .* is a file"):
        make_task(
            "sixsense_validate_inputs", integration_username=INTEGRATION, audit_dir=str(existing)
        )
    assert org.writes() == []


def test_plan_and_confirmation_are_returned_for_later_steps(make_task, org, tmp_path):
    org.on("FROM User", records=[ADMIN_USER, INTEGRATION_USER])
    result = run(
        make_task,
        integration_username=INTEGRATION,
        plan="True",
        confirm_reauthorization="yes",
        audit_dir=str(tmp_path / "audit"),
    )
    assert (result["plan"], result["confirm_reauthorization"]) == ("True", "True")
    assert result["audit_dir"] == str(tmp_path / "audit")
    assert not (tmp_path / "audit").exists(), "outside a flow there is no audit report"
