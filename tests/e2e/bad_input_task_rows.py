"""The bad-input catalogue's options of tasks run alone, and the options without a row (with the reason);
see bad_input_rows.py."""

from __future__ import annotations

from tests.conftest import INTEGRATION_USER, SETUP_USER

# ---------------------------------------------------------------------------------------------------------
# Options of tasks run alone (``cci task run <task> -o x ...``): (id, scenario, task or tasks, the bad
# options, words). A row naming several tasks runs once per task, with BASE_OPTIONS (a task ignores those it
# does not declare) and the bad options over them (None: the option left out).

BASE_OPTIONS = {"integration_username": INTEGRATION_USER, "error": "OAUTH_APP_BLOCKED"}

#: The tasks that take each common option.
USER_TASKS = (
    "sixsense_validate_inputs",
    "sixsense_assign_setup_access",
    "sixsense_authorize_setup_user",
    "sixsense_install_connected_app",
    "sixsense_set_permitted_users",
    "sixsense_grant_app_access",
    "sixsense_reauthorize_integration_user",
    "sixsense_verify",
    "sixsense_diagnose",
    "sixsense_preflight",
    "sixsense_set_eca_policies",
    "sixsense_authorize_eca",
    "sixsense_verify_eca",
    "sixsense_remove_connected_app_access",
    "sixsense_troubleshoot",
    "sixsense_ci_expect_manual_step",
)
APP_TASKS = tuple(
    t
    for t in USER_TASKS
    if t not in ("sixsense_assign_setup_access", "sixsense_ci_expect_manual_step")
)
WAITING_TASKS = tuple(
    t
    for t in APP_TASKS
    if t
    not in (
        "sixsense_diagnose",
        "sixsense_preflight",
        "sixsense_troubleshoot",
        # never wait (tasks/options.py NO_WAIT_OPTIONS)
        "sixsense_verify",
        "sixsense_verify_eca",
        "sixsense_grant_app_access",
        "sixsense_remove_connected_app_access",
        "sixsense_ci_expect_manual_step",
    )
)
#: The waiting tasks, and the writing tasks that ask at a terminal.
INTERACTIVE_TASKS = (
    *WAITING_TASKS,
    "sixsense_verify",
    "sixsense_grant_app_access",
    "sixsense_remove_connected_app_access",
)
PLAN_TASKS = (
    *(t for t in APP_TASKS if t != "sixsense_preflight"),
    "sixsense_assign_setup_access",
    "sixsense_detect_api_access_control",
    "sixsense_deploy_access",
    "sixsense_install_eca_package",
)
WRITING_TASKS = (
    "sixsense_validate_inputs",
    "sixsense_ci_integration_user",
    "sixsense_deploy_access",
    "sixsense_assign_setup_access",
    "sixsense_set_permitted_users",
    "sixsense_grant_app_access",
    "sixsense_install_eca_package",
    "sixsense_set_eca_policies",
    "sixsense_remove_connected_app_access",
)
ECA_TASKS = (
    "sixsense_install_eca_package",
    "sixsense_set_eca_policies",
    "sixsense_authorize_eca",
    "sixsense_verify_eca",
    "sixsense_remove_connected_app_access",
)

TASK_OPTION_ROWS = [
    (
        "commas in integration_username",
        "new_customer",
        USER_TASKS,
        {"integration_username": f"{INTEGRATION_USER},{SETUP_USER}"},
        ["integration_username", "more than one user", "exactly one username"],
    ),
    (
        "setup_username that is not a username",
        "new_customer",
        USER_TASKS,
        {"setup_username": "admin"},
        ["setup_username", "not a salesforce username", "name@example.com"],
    ),
    (
        "connected_app_names of commas only",
        "new_customer",
        APP_TASKS,
        {"connected_app_names": " , ,"},
        ["connected_app_names", "is empty", "separated by commas"],
    ),
    (
        "negative wait_timeout",
        "new_customer",
        WAITING_TASKS,
        {"wait_timeout": "-30"},
        ["wait_timeout", "positive number", "-o wait_timeout 900"],
    ),
    (
        "poll_interval under the floor",
        "new_customer",
        WAITING_TASKS,
        {"poll_interval": "0.2"},
        ["poll_interval", "at least 1 seconds", "-o poll_interval 10"],
    ),
    (
        "non-boolean interactive",
        "new_customer",
        INTERACTIVE_TASKS,
        {"interactive": "maybe"},
        ["interactive", "true or false", "-o interactive true"],
    ),
    (
        "non-boolean plan",
        "new_customer",
        PLAN_TASKS,
        {"plan": "dry"},
        ["plan", "true or false", "-o plan true"],
    ),
    (
        "non-boolean confirm_production",
        "new_customer",
        WRITING_TASKS,
        {"confirm_production": "perhaps"},
        ["confirm_production", "true or false", "-o confirm_production true"],
    ),
    (
        "a ^^ reference given by hand",
        "configured",
        ("sixsense_verify", "sixsense_grant_app_access"),
        {"integration_username": "^^sixsense_validate_inputs.integration_username"},
        ["integration_username", "only a flow fills in", "pass the value itself"],
    ),
    (
        "empty eca_names",
        "new_customer",
        ECA_TASKS,
        {"eca_names": ","},
        ["eca_names", "is empty", "separated by commas"],
    ),
    (
        "package_version that is not an id",
        "new_customer",
        ECA_TASKS,
        {"package_version": "2.1"},
        ["package_version", "not a package version id", "04t"],
    ),
    (
        "install_eca version that is not an id",
        "new_customer",
        "sixsense_install_eca_package",
        {"version": "latest"},
        ["version", "not a package version id", "-o version 04t"],
    ),
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
        {"include_integration_profile": "x"},
        ["include_integration_profile", "true or false"],
    ),
    (
        "non-boolean confirm_logout",
        "existing_customer",
        "sixsense_set_permitted_users",
        {"confirm_logout": "ok"},
        ["confirm_logout", "true or false"],
    ),
    (
        "non-boolean remove_connected_app_access",
        "connected_app_in_use_eca_absent",
        "sixsense_remove_connected_app_access",
        {"remove_connected_app_access": "sure"},
        ["remove_connected_app_access", "true or false"],
    ),
    (
        "non-boolean confirm_reauthorization",
        "configured",
        ("sixsense_reauthorize_integration_user", "sixsense_validate_inputs"),
        {"confirm_reauthorization": "yes please"},
        ["confirm_reauthorization", "true or false"],
    ),
    (
        "non-boolean authorization_attempted",
        "new_customer",
        "sixsense_authorize_setup_user",
        {"authorization_attempted": "tried"},
        ["authorization_attempted", "true or false"],
    ),
    (
        "non-boolean api_access_control_enforcing",
        "new_customer",
        "sixsense_authorize_setup_user",
        {"api_access_control_enforcing": "enforcing"},
        ["api_access_control_enforcing", "true or false"],
    ),
    (
        "non-boolean refresh_token_policy_checked",
        "configured",
        "sixsense_verify",
        {
            "integration_username": "sixsense.integration@example.com",
            "refresh_token_policy_checked": "looked",
        },
        ["refresh_token_policy_checked", "true or false"],
    ),
    (
        "grant without integration_username",
        "configured",
        "sixsense_grant_app_access",
        {"integration_username": None},
        ["integration_username is required", "-o integration_username"],
    ),
    (
        "verify report_path under a file",
        "configured",
        ("sixsense_verify", "sixsense_verify_eca"),
        {"report_path": "README.md/v.json"},
        ["report_path", "README.md", "directory"],
    ),
    (
        "report paths that are a directory",
        "configured",
        ("sixsense_diagnose", "sixsense_troubleshoot"),
        {"json_path": "tasks", "markdown_path": "tasks"},
        ["json_path", "is a directory", "pass a file path"],
    ),
    (
        "html_path under a file",
        "configured",
        "sixsense_diagnose",
        {"html_path": "README.md/d.html"},
        ["html_path", "README.md", "-o html_path"],
    ),
    (
        "markdown_path under a file",
        "configured",
        ("sixsense_diagnose", "sixsense_troubleshoot"),
        {"markdown_path": "README.md/d.md"},
        ["markdown_path", "README.md", "-o markdown_path"],
    ),
    (
        "troubleshoot error of only spaces",
        "configured",
        "sixsense_troubleshoot",
        {"error": "   "},
        ["error is required", "-o error OAUTH_APPROVAL_ERROR_GENERIC"],
    ),
    (
        "history audit_dir is a file",
        "new_customer",
        ("sixsense_history", "sixsense_validate_inputs"),
        {"audit_dir": "README.md"},
        ["audit_dir", "is a file", "pass a directory"],
    ),
    (
        "ci expect: audit_dir under a file",
        "new_customer",
        "sixsense_ci_expect_manual_step",
        {"audit_dir": "README.md/audit"},
        ["audit_dir", "README.md", "-o audit_dir"],
    ),
    (
        "ci expect: unknown flow",
        "new_customer",
        "sixsense_ci_expect_manual_step",
        {"flow": "sixsense_new_custmer"},
        ["flow 'sixsense_new_custmer'", "not a flow", "-o flow sixsense_new_customer"],
    ),
    (
        "ci expect: expected_step not in the flow",
        "new_customer",
        "sixsense_ci_expect_manual_step",
        {"expected_step": "sixsense_install_eca_package"},
        ["expected_step", "not a step of sixsense_new_customer", "-o expected_step"],
    ),
    (
        "ci user: alias longer than 8 characters",
        "new_customer",
        "sixsense_ci_integration_user",
        {"alias": "sixsense_int"},
        ["alias", "longer than 8 characters", "-o alias sixint"],
    ),
    (
        "ci user: username that is not one",
        "new_customer",
        "sixsense_ci_integration_user",
        {"username": "integration"},
        ["username", "not a salesforce username", "-o username"],
    ),
    (
        "ci user: non-boolean allow_non_scratch",
        "new_customer",
        "sixsense_ci_integration_user",
        {"allow_non_scratch": "if needed"},
        ["allow_non_scratch", "true or false"],
    ),
    (
        "ci user: generator_yaml missing",
        "new_customer",
        "sixsense_ci_integration_user",
        {"generator_yaml": "datasets/no_such.recipe.yml", "allow_non_scratch": "True"},
        ["generator_yaml", "no_such.recipe.yml"],
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
        {"confirm_production": "False"},
        ["production", "-o confirm_production True"],
    ),
]

#: Options without a bad-input row, each with the reason: (task, options, reason). Options no value of which is
#: bad, and CumulusCI's own options a task inherits unchanged from a standard task: CumulusCI parses and
#: reports those itself (our parser, tasks/options.py, never sees them), so a row would test CumulusCI.
WITHOUT_ROW = [
    (
        "sixsense_install_eca_package",
        ("namespace",),
        "not used: the package is named by its version id (version / package_version), so no value is bad",
    ),
    (
        "sixsense_deploy_access",
        (
            "unmanaged namespace_inject namespace_strip check_only collision_check test_level "
            "specified_tests static_resource_path namespaced_org clean_meta_xml transforms "
            "rest_deploy"
        ).split(),
        "CumulusCI's deploy options, inherited unchanged and parsed by CumulusCI's Deploy",
    ),
    (
        "sixsense_install_eca_package",
        (
            "name version_number activateRSS retries retry_interval retry_interval_add "
            "interactive base_package_url_format security_type name_conflict_resolution "
            "activate_remote_site_settings password apex_compile_type upgrade_type"
        ).split(),
        "CumulusCI's install options, inherited unchanged and parsed by CumulusCI's InstallPackageVersion",
    ),
    (
        "sixsense_ci_integration_user",
        (
            "num_records num_records_tablename batch_size data_generation_task "
            "data_generation_options vars replace_database working_directory validate_only "
            "database_url mapping start_step sql_path ignore_row_errors reset_oids bulk_mode "
            "inject_namespaces drop_missing_schema set_recently_viewed org_shape_match_only "
            "enable_rollback plugin_options generate_mapping_file continuation_file "
            "generate_continuation_file loading_rules"
        ).split(),
        "CumulusCI's Snowfakery options, inherited unchanged and parsed by GenerateAndLoadDataFromYaml",
    ),
]
