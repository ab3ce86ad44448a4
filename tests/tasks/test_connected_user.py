"""sixsense_validate_inputs: the user cci is connected as must hold the admin rights the procedure needs
(tasks/connected_user.py), read from its profile and its permission sets, before anything else is read or
written. FakeOrg answers the queries; the simulator cases are in tests/e2e/test_connected_user_rights.py."""

import pytest

from tests.tasks.conftest import ADMIN, ADMIN_USER, INTEGRATION, INTEGRATION_USER

ALL = {
    "ModifyAllData",
    "ModifyMetadata",
    "ViewSetup",
    "ManageUsers",
    "CustomizeApplication",
    "ManageProfilesPermissionsets",
}


def connected(**profile_permissions):
    """The connected user's row (admin@example.com) with these Profile.Permissions<X> flags."""
    return {
        **ADMIN_USER,
        "Profile": {
            "Name": "Custom Profile",
            **{f"Permissions{p}": v for p, v in profile_permissions.items()},
        },
    }


@pytest.fixture
def admin_org(org):
    org.permission_fields |= ALL
    org.on("FROM User WHERE Username IN", records=[ADMIN_USER, INTEGRATION_USER])
    return org


def run(make_task):
    return make_task(
        "sixsense_validate_inputs", integration_username=INTEGRATION, interactive="false"
    )()


def test_missing_rights_stop_first_and_are_each_named(make_task, admin_org, errors):
    admin_org.on(f"FROM User WHERE Username = '{ADMIN}'", records=[connected(ViewSetup=True)])
    admin_org.on("FROM PermissionSetAssignment", records=[])
    with pytest.raises(errors.SixsenseInputError) as err:
        run(make_task)
    message = str(err.value)
    for label in (
        "Modify All Data or Modify Metadata Through Metadata API Functions",
        "Manage Users",
        "Customize Application",
        "Manage Profiles and Permission Sets",
    ):
        assert f"  - {label}: to " in message
    assert "  - View Setup and Configuration" not in message
    assert "nothing was written" in message and "cci org connect" in message
    # Stopped before the inputs' own reads: no query of the two users, nothing written.
    assert not any("Username IN" in q for q in admin_org.soql)
    assert admin_org.writes() == []


def test_permission_sets_count_as_well_as_the_profile(make_task, admin_org):
    """Modify Metadata (the alternative to Modify All Data) and the rest come from a permission set."""
    admin_org.on(
        f"FROM User WHERE Username = '{ADMIN}'",
        records=[connected(ViewSetup=True, ManageUsers=True)],
    )
    admin_org.on(
        "FROM PermissionSetAssignment",
        records=[
            {
                "PermissionSet": {
                    "Name": "Delegated_Admin",
                    "PermissionsModifyMetadata": True,
                    "PermissionsCustomizeApplication": True,
                    "PermissionsManageProfilesPermissionsets": True,
                }
            }
        ],
    )
    result = run(make_task)
    assert result["setup_username"] == ADMIN
    psa = next(q for q in admin_org.soql if "FROM PermissionSetAssignment" in q)
    assert "AssigneeId = '005000000000001AAA'" in psa
    assert "PermissionSet.IsOwnedByProfile = false" in psa
    assert admin_org.writes() == []


def test_a_permission_unknown_to_the_org_is_not_required(make_task, admin_org):
    """An org whose describe has no PermissionsModifyMetadata: Modify All Data alone suffices."""
    admin_org.permission_fields.discard("ModifyMetadata")
    admin_org.on(
        f"FROM User WHERE Username = '{ADMIN}'",
        records=[connected(**{p: True for p in ALL - {"ModifyMetadata"}})],
    )
    assert run(make_task)["setup_username"] == ADMIN
    assert not any("ModifyMetadata" in q for q in admin_org.soql)
