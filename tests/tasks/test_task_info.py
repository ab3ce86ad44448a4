"""Every sixsense task documents itself (`cci task info`) and can be frozen without an org (MetaDeploy)."""

import os
import subprocess

import pytest

from tests.tasks.conftest import ROOT

TASKS = [
    "sixsense_validate_inputs",
    "sixsense_detect_api_access_control",
    "sixsense_deploy_access",
    "sixsense_assign_setup_access",
    "sixsense_authorize_setup_user",
    "sixsense_install_connected_app",
    "sixsense_set_permitted_users",
    "sixsense_grant_app_access",
    "sixsense_reauthorize_integration_user",
    "sixsense_verify",
    "sixsense_diagnose",
    "sixsense_troubleshoot",
]


@pytest.mark.parametrize("task", TASKS)
def test_cci_task_info_renders(task, tmp_path):
    (tmp_path / ".cumulusci").mkdir()
    (tmp_path / ".cumulusci" / "cumulus_timestamp").write_text("99999999999")
    env = {
        "HOME": str(tmp_path),
        "CUMULUSCI_KEY": "0123456789abcdef",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }
    result = subprocess.run(
        [str(ROOT / ".venv/bin/cci"), "task", "info", task],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Configuration Warning" not in result.stdout + result.stderr
    assert "Class: tasks." in result.stdout
    assert "Return values" in result.stdout
    if task != "sixsense_detect_api_access_control":  # the only task without options
        assert "Options" in result.stdout and "Description: " in result.stdout


@pytest.mark.parametrize("task", TASKS)
def test_options_parse_without_an_org_and_keep_return_value_references(task, runtime):
    """MetaDeploy freezes steps with org_config=None and the flow's ^^ references unresolved."""
    from cumulusci.core.config import TaskConfig

    options = {
        "integration_username": "^^sixsense_validate_inputs.integration_username",
        "wait_timeout": "^^sixsense_validate_inputs.wait_timeout",
        "interactive": "^^sixsense_validate_inputs.interactive",
        "connected_app_names": "^^sixsense_validate_inputs.connected_app_names",
        "api_access_control_provisioned": "^^sixsense_detect_api_access_control.provisioned",
        "plan": "^^sixsense_validate_inputs.plan",
        "confirm_reauthorization": "^^sixsense_validate_inputs.confirm_reauthorization",
        "error": "OAUTH_APP_BLOCKED",
    }
    base = runtime.project_config.get_task(task)
    cls = base.get_class()
    allowed = {k: v for k, v in options.items() if k in cls.task_options}
    instance = cls(
        runtime.project_config, TaskConfig({**base.config, "options": allowed}), org_config=None
    )
    for key, value in allowed.items():
        assert instance.options[key] == value
