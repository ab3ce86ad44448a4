"""Every sixsense task documents itself (`cci task info`) and can be frozen without an org (MetaDeploy)."""

import os
import subprocess

import pytest
import yaml

from tests.tasks.conftest import ROOT

#: Every task the project registers (cumulusci.yml), so a new task is covered without editing this file.
TASKS = sorted(
    name
    for name in yaml.safe_load((ROOT / "cumulusci.yml").read_text())["tasks"]
    if name.startswith("sixsense_")
)


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
    # Options a task inherits from a CumulusCI standard class keep that class's meaning and are not among
    # the common options the flows pass with ^^ (install_managed's own `interactive` prompt).
    inherited = {"sixsense_install_eca_package": {"interactive"}}.get(task, set())
    allowed = {k: v for k, v in options.items() if k in cls.task_options and k not in inherited}
    instance = cls(
        runtime.project_config, TaskConfig({**base.config, "options": allowed}), org_config=None
    )
    for key, value in allowed.items():
        assert instance.options[key] == value
