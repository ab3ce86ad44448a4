"""sixsense_assign_setup_access: assign unless the permission is already held, and say through what."""

import pytest

from tests.tasks.conftest import ADMIN, ADMIN_USER, SETUP_PS, user


def test_system_administrator_profile_already_holds_it(make_task, org):
    org.on("FROM User", records=[ADMIN_USER])
    org.on("FROM PermissionSet WHERE Name IN", records=[SETUP_PS])
    org.on("FROM PermissionSetAssignment", records=[])
    result = make_task("sixsense_assign_setup_access")()
    assert result == {"assigned": False, "held_through": "profile System Administrator"}
    assert org.writes() == []


def test_custom_admin_gets_the_permission_set(make_task, org):
    custom = user(
        "custom.admin@example.com", "005000000000003AAA", profile="Custom Admin", approve=False
    )
    assigned = []
    org.on("FROM User", records=[custom])
    org.on("FROM PermissionSet WHERE Name IN", records=[SETUP_PS])
    org.on("FROM PermissionSetAssignment", records=lambda: assigned)
    org.on(
        "PermissionSetAssignments", records=[{"Id": custom["Id"], "PermissionSetAssignments": None}]
    )
    org.on_insert = lambda sobject, body: assigned.append(
        {"PermissionSetId": body["PermissionSetId"]}
    )
    result = make_task(
        "sixsense_assign_setup_access",
        setup_username="custom.admin@example.com",
        confirm_production="True",
    )()
    assert result == {"assigned": True, "held_through": "permission set Sixsense_Setup_Access"}
    assert org.writes() == ["POST /services/data/v65.0/composite/sobjects"]
    assert org.inserted[0][1]["AssigneeId"] == custom["Id"]
    assert org.inserted[0][1]["PermissionSetId"] == SETUP_PS["Id"]


def test_already_assigned_is_already_done(make_task, org, caplog):
    custom = user(ADMIN, "005000000000001AAA", profile="Custom Admin", approve=False)
    org.on("FROM User", records=[custom])
    org.on("FROM PermissionSet WHERE Name IN", records=[SETUP_PS])
    org.on(
        "FROM PermissionSetAssignment",
        records=[
            {
                "AssigneeId": custom["Id"],
                "PermissionSetId": SETUP_PS["Id"],
                "PermissionSet": {
                    "Name": "Sixsense_Setup_Access",
                    "IsOwnedByProfile": False,
                    "Profile": None,
                    "PermissionsCanApproveUninstalledApps": True,
                },
            }
        ],
    )
    caplog.set_level("INFO")
    result = make_task("sixsense_assign_setup_access")()
    assert result == {"assigned": False, "held_through": "permission set Sixsense_Setup_Access"}
    assert org.writes() == []
    assert "already done" in caplog.text


def test_permission_set_not_deployed_yet(make_task, org, errors):
    org.on("FROM User", records=[ADMIN_USER])
    org.on("FROM PermissionSet WHERE Name IN", records=[])
    with pytest.raises(errors.SixsenseOrgError, match="deploy them first"):
        make_task("sixsense_assign_setup_access")()
    assert org.writes() == []
