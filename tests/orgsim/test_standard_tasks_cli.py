"""CumulusCI's standard tasks run unchanged against the simulator, through the real ``cci flow run``.

A throwaway CumulusCI project (its own cumulusci.yml and .git) deploys a permission set from an MDAPI folder
with the standard ``deploy``, assigns it with ``assign_permission_sets`` and creates a record with
``insert_record``; the simulator's state then shows each effect.
"""

from __future__ import annotations

import subprocess
import textwrap

import pytest

from tests.conftest import ROOT, cci_environment

pytestmark = pytest.mark.cli

PERMISSION_SET = """<?xml version="1.0" encoding="UTF-8"?>
<PermissionSet xmlns="http://soap.sforce.com/2006/04/metadata">
    <label>Standard Task Check</label>
    <hasActivationRequired>false</hasActivationRequired>
    <userPermissions>
        <enabled>true</enabled>
        <name>ApiEnabled</name>
    </userPermissions>
</PermissionSet>
"""

PACKAGE_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Package xmlns="http://soap.sforce.com/2006/04/metadata">
    <types><members>Standard_Task_Check</members><name>PermissionSet</name></types>
    <version>65.0</version>
</Package>
"""

CUMULUSCI_YML = textwrap.dedent(
    """
    project:
        name: standard-task-check
        package:
            api_version: "65.0"
    flows:
        standard_tasks:
            steps:
                1:
                    task: deploy
                    options:
                        path: src
                2:
                    task: assign_permission_sets
                    options:
                        api_names: Standard_Task_Check
                        user_alias: sixint
                3:
                    task: insert_record
                    options:
                        object: PermissionSet
                        values:
                            Name: Inserted_By_Insert_Record
                            Label: Inserted by insert_record
    """
)


@pytest.fixture
def standard_project(tmp_path):
    project = tmp_path / "project"
    (project / "src" / "permissionsets").mkdir(parents=True)
    (project / "src" / "package.xml").write_text(PACKAGE_XML)
    (project / "src" / "permissionsets" / "Standard_Task_Check.permissionset").write_text(
        PERMISSION_SET
    )
    (project / "cumulusci.yml").write_text(CUMULUSCI_YML)
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    return project


def test_standard_deploy_assign_and_insert_record_flow(standard_project, start_sim, tmp_path):
    sim = start_sim("new_customer")
    env = cci_environment(sim, tmp_path / "home")
    result = subprocess.run(
        [str(ROOT / ".venv/bin/cci"), "flow", "run", "standard_tasks", "--org", "sim"],
        cwd=standard_project,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    objects = sim.state()["objects"]
    by_name = {p["Name"]: p for p in objects["PermissionSet"]}
    deployed = by_name["Standard_Task_Check"]
    assert deployed["Label"] == "Standard Task Check"
    assert deployed["PermissionsApiEnabled"] in (1, True)
    [integration] = [u for u in objects["User"] if u["Alias"] == "sixint"]
    assert [
        a
        for a in objects["PermissionSetAssignment"]
        if a["AssigneeId"] == integration["Id"] and a["PermissionSetId"] == deployed["Id"]
    ]
    assert by_name["Inserted_By_Insert_Record"]["Label"] == "Inserted by insert_record"
