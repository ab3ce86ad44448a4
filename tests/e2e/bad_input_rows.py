"""The bad-input catalogue's options in a flow (tests/e2e/test_bad_inputs.py runs them); the options of tasks
run alone are in bad_input_task_rows.py.

Each row gives one bad value and the words its one-line error must hold: the option's name and what to do.
``test_every_option_of_every_task_has_a_bad_input_row`` reads every ``sixsense_*`` task of cumulusci.yml and
fails unless each of its options has a row, alone and in a flow, or is in ``WITHOUT_ROW`` with the reason.
"""

from __future__ import annotations

from tests.conftest import INTEGRATION_USER, SETUP_USER

FLOW = "sixsense_new_customer"

# ---------------------------------------------------------------------------------------------------------
# Options of the flow, given once to sixsense_validate_inputs (``-o sixsense_validate_inputs__x``):
# (id, options, words the message must hold)

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
        ["integration_username", "more than one user", "exactly one username"],
    ),
    (
        "two setup users",
        {"setup_username": f"{SETUP_USER},other@example.com"},
        ["setup_username", "exactly one username"],
    ),
    (
        "malformed integration username",
        {"integration_username": "not-a-username"},
        ["integration_username", "not a salesforce username", "name@example.com"],
    ),
    (
        "empty connected_app_names",
        {"connected_app_names": ","},
        ["connected_app_names is empty", "separated by commas"],
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

# ---------------------------------------------------------------------------------------------------------
# Options given to one later step of a flow (``-o <step>__x``): (id, flow, step, options, words). The run's
# first step parses them as the step will, so the refusal comes before any step writes.

STEP_OPTION_ROWS = [
    (
        "wait_timeout of a guided step",
        FLOW,
        "sixsense_authorize_setup_user",
        {"wait_timeout": "-5"},
        ["-o sixsense_authorize_setup_user__wait_timeout", "positive number", "nothing was"],
    ),
    (
        "two integration users for verify",
        FLOW,
        "sixsense_verify",
        {"integration_username": f"{INTEGRATION_USER},{SETUP_USER}"},
        ["sixsense_verify__integration_username", "more than one user", "exactly one"],
    ),
    (
        "invalid api_names",
        FLOW,
        "sixsense_assign_setup_access",
        {"api_names": "6sense_Setup_Access"},
        ["sixsense_assign_setup_access__api_names", "begins with a letter"],
    ),
    (
        "non-boolean refresh_token_policy_checked in a flow",
        FLOW,
        "sixsense_verify",
        {"refresh_token_policy_checked": "looked"},
        ["sixsense_verify__refresh_token_policy_checked", "true or false"],
    ),
    (
        "non-boolean interactive of verify in a flow",
        FLOW,
        "sixsense_verify",
        {"interactive": "sometimes"},
        ["sixsense_verify__interactive", "true or false"],
    ),
    (
        "verify report_path is a directory",
        FLOW,
        "sixsense_verify",
        {"report_path": "tasks"},
        ["sixsense_verify__report_path", "is a directory", "pass a file path"],
    ),
    (
        "non-boolean api_access_control_provisioned",
        FLOW,
        "sixsense_deploy_access",
        {"api_access_control_provisioned": "perhaps"},
        ["sixsense_deploy_access__api_access_control_provisioned", "true or false"],
    ),
    (
        "deploy source folder missing",
        FLOW,
        "sixsense_deploy_access",
        {"path": "no/such/folder"},
        ["no/such/folder", "does not exist"],
    ),
    (
        "non-boolean authorization_attempted",
        FLOW,
        "sixsense_authorize_setup_user",
        {"authorization_attempted": "tried"},
        ["sixsense_authorize_setup_user__authorization_attempted", "true or false"],
    ),
    (
        "non-boolean api_access_control_enforcing",
        FLOW,
        "sixsense_authorize_setup_user",
        {"api_access_control_enforcing": "enforcing"},
        ["sixsense_authorize_setup_user__api_access_control_enforcing", "true or false"],
    ),
    (
        "non-boolean confirm_logout",
        FLOW,
        "sixsense_set_permitted_users",
        {"confirm_logout": "ok"},
        ["sixsense_set_permitted_users__confirm_logout", "true or false"],
    ),
    (
        "non-boolean include_integration_profile",
        FLOW,
        "sixsense_grant_app_access",
        {"include_integration_profile": "x"},
        ["sixsense_grant_app_access__include_integration_profile", "true or false"],
    ),
    (
        "diagnose json_path under a file",
        FLOW,
        "sixsense_diagnose",
        {"json_path": "README.md/d.json"},
        ["sixsense_diagnose__json_path", "README.md", "writable directory"],
    ),
    (
        "diagnose html_path is a directory",
        FLOW,
        "sixsense_diagnose",
        {"html_path": "tasks"},
        ["sixsense_diagnose__html_path", "is a directory"],
    ),
    (
        "diagnose markdown_path is a directory",
        FLOW,
        "sixsense_diagnose",
        {"markdown_path": "tasks"},
        ["sixsense_diagnose__markdown_path", "is a directory"],
    ),
    (
        "a ^^ reference to no step",
        FLOW,
        "sixsense_verify",
        {"setup_username": "^^sixsense_validate_input.setup_username"},
        ["sixsense_verify__setup_username", "not a step of this flow", "pass the value itself"],
    ),
    (
        "empty eca_names",
        "sixsense_eca",
        "sixsense_set_eca_policies",
        {"eca_names": " , "},
        ["sixsense_set_eca_policies__eca_names", "is empty", "separated by commas"],
    ),
    (
        "package_version that is not an id",
        "sixsense_eca",
        "sixsense_verify_eca",
        {"package_version": "1.4"},
        ["sixsense_verify_eca__package_version", "04t", "not a package version id"],
    ),
    (
        "verify_eca report_path under a file",
        "sixsense_eca",
        "sixsense_verify_eca",
        {"report_path": "README.md/e.json"},
        ["sixsense_verify_eca__report_path", "README.md", "writable directory"],
    ),
    (
        "non-boolean remove_connected_app_access",
        "sixsense_migrate_to_eca",
        "sixsense_remove_connected_app_access",
        {"remove_connected_app_access": "sure"},
        ["sixsense_remove_connected_app_access__remove_connected_app_access", "true or false"],
    ),
    (
        "install_eca package_version that is not an id",
        "sixsense_eca",
        "sixsense_install_eca_package",
        {"package_version": "latest"},
        ["package_version", "04t", "not a package version id"],
    ),
]

#: ``interactive`` of a writing step the flow does not give it (``-o <step>__interactive`` only).
STEP_OPTION_ROWS += [
    (
        "sixsense_grant_app_access: non-boolean interactive",
        FLOW,
        "sixsense_grant_app_access",
        {"interactive": "sometimes"},
        ["-o sixsense_grant_app_access__interactive", "true or false"],
    ),
]
#: The wait options given to steps that never wait: refused as options those steps do not take (they
#: declare none, so cci's log of the step shows no default the run did not give).
STEP_OPTION_ROWS += [
    (
        f"{step}: {option}, which it does not take",
        flow,
        step,
        {option: value},
        [f"-o {step}__{option}", f"takes no option {option}"],
    )
    for step, flow in (
        ("sixsense_grant_app_access", FLOW),
        ("sixsense_verify", FLOW),
        ("sixsense_verify_eca", "sixsense_eca"),
    )
    for option, value in (("wait_timeout", "0"), ("poll_interval", "0.5"))
]
#: The ECA steps' own options.
STEP_OPTION_ROWS += [
    (
        f"{step}: eca_names of commas only",
        flow,
        step,
        {"eca_names": ",,"},
        [f"-o {step}__eca_names", "is empty"],
    )
    for step, flow in (
        ("sixsense_authorize_eca", "sixsense_eca"),
        ("sixsense_install_eca_package", "sixsense_eca"),
        ("sixsense_verify_eca", "sixsense_eca"),
        ("sixsense_remove_connected_app_access", "sixsense_migrate_to_eca"),
    )
]
STEP_OPTION_ROWS += [
    (
        f"{step}: {option} that is not an id",
        flow,
        step,
        {option: value},
        [f"-o {step}__{option}", "not a package version id", "04t"],
    )
    for step, flow, option, value in (
        ("sixsense_authorize_eca", "sixsense_eca", "package_version", "04tX"),
        (
            "sixsense_remove_connected_app_access",
            "sixsense_migrate_to_eca",
            "package_version",
            "ECA 1.2",
        ),
        ("sixsense_set_eca_policies", "sixsense_eca", "package_version", "033000000000000"),
        ("sixsense_install_eca_package", "sixsense_eca", "version", "latest"),
    )
]
