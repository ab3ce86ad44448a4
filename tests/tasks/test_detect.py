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


def test_a_failed_retrieve_is_one_line_and_not_enforcing(make_task, org):
    """A retrieve Salesforce reports failed (CumulusCI's ApiRetrieveUnpackaged raises the whole SOAP
    answer) surfaces as ``errorStatusCode: errorMessage`` in one line; detection assumes not enforcing."""
    org.retrieve_error = ("INVALID_CROSS_REFERENCE_KEY", "No such settings: ConnectedApp")
    result = make_task("sixsense_detect_api_access_control")()
    assert result["enforcing"] is False
    assert result["signals"]["Settings:ConnectedApp"] == (
        "retrieve failed (INVALID_CROSS_REFERENCE_KEY: No such settings: ConnectedApp); "
        "assuming not enforcing"
    )
    assert org.writes() == []
