"""sixsense_detect_api_access_control: describe says provisioned, Settings:ConnectedApp says enforcing."""

SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<ConnectedAppSettings xmlns="http://soap.sforce.com/2006/04/metadata">
    <enableAdminApprovedAppsOnly>{value}</enableAdminApprovedAppsOnly>
</ConnectedAppSettings>"""


def test_not_provisioned(make_task, org):
    result = make_task("sixsense_detect_api_access_control")()
    assert result["provisioned"] is False and result["enforcing"] is False
    assert result["signals"] == {
        "describe PermissionSet": "PermissionsUseAnyApiClient absent: not provisioned",
        "Settings:ConnectedApp": "no ConnectedApp settings returned: not enforcing",
    }
    # CumulusCI's ApiRetrieveUnpackaged: retrieve, poll checkStatus, then checkRetrieveStatus for the zip.
    assert org.soap_actions() == ["retrieve", "checkStatus", "checkRetrieveStatus"]
    assert org.writes() == []


def test_provisioned_and_enforcing(make_task, org):
    org.permission_fields.add("UseAnyApiClient")
    org.retrieve_files = {"settings/ConnectedApp.settings": SETTINGS.format(value="true")}
    result = make_task("sixsense_detect_api_access_control")()
    assert (result["provisioned"], result["enforcing"]) == (True, True)
    assert (
        result["signals"]["Settings:ConnectedApp"] == "enableAdminApprovedAppsOnly true: enforcing"
    )


def test_provisioned_not_enforcing(make_task, org):
    org.permission_fields.add("UseAnyApiClient")
    org.retrieve_files = {"settings/ConnectedApp.settings": SETTINGS.format(value="false")}
    result = make_task("sixsense_detect_api_access_control")()
    assert (result["provisioned"], result["enforcing"]) == (True, False)


def test_a_failed_retrieve_without_provisioning_is_one_line_and_not_enforcing(make_task, org):
    """A retrieve Salesforce reports failed (CumulusCI's ApiRetrieveUnpackaged raises the whole SOAP
    answer) surfaces as ``errorStatusCode: errorMessage`` in one line. Without provisioning (no
    PermissionsUseAnyApiClient in the describe) the setting cannot be on: not enforcing, and it says why."""
    org.retrieve_error = ("INVALID_CROSS_REFERENCE_KEY", "No such settings: ConnectedApp")
    result = make_task("sixsense_detect_api_access_control")()
    assert result["enforcing"] is False
    assert result["signals"]["Settings:ConnectedApp"] == (
        "retrieve failed (INVALID_CROSS_REFERENCE_KEY: No such settings: ConnectedApp); "
        "not provisioned, so not enforcing"
    )
    assert org.writes() == []


def test_a_failed_retrieve_where_provisioned_stops_as_could_not_read(make_task, org, errors):
    """Provisioned, and the settings could not be read: whether it is enforcing is unknown, never "not
    enforcing" (issue 17 kind 8); the step stops naming the read and what to check."""
    org.permission_fields.add("UseAnyApiClient")
    org.retrieve_error = ("INSUFFICIENT_ACCESS", "insufficient access rights on object id")
    task = make_task("sixsense_detect_api_access_control")
    try:
        task()
    except errors.SixsenseOrgError as error:
        text = str(error)
    else:
        raise AssertionError(f"passed with {task.return_values}")
    assert "whether it is enforcing could not be read" in text
    assert "retrieve failed (INSUFFICIENT_ACCESS: insufficient access rights on object id)" in text
    assert text.endswith("Nothing was written.")
    assert org.writes() == []
