"""sixsense_detect_api_access_control: is API Access Control provisioned, and is it enforcing?"""

import io

from cumulusci.salesforce_api.exceptions import MetadataApiError
from cumulusci.salesforce_api.metadata import ApiRetrieveUnpackaged
from lxml import etree

from .base import USE_ANY_API_CLIENT, SixsenseTask
from .errors import SixsenseOrgError
from .metadata_xml import MD_NS, package_xml
from .options import PLAN_OPTION

SETTINGS_FILE = "settings/ConnectedApp.settings"
RETRIEVE_FAILED = "retrieve failed"


class DetectApiAccessControl(SixsenseTask):
    task_docs = """
Detects API Access Control, which decides which permission the setup user needs (vendor prerequisite).

- provisioned: ``PermissionsUseAnyApiClient`` is a field of ``describe('PermissionSet')`` (the field exists
  only after Salesforce Support provisioned the feature).
- enforcing: a Metadata API retrieve of ``Settings: ConnectedApp`` has ``enableAdminApprovedAppsOnly`` true
  ("For admin-approved users, limit API access to only allowlisted connected apps"). Absent or false means
  not enforcing. A failed retrieve is not "not enforcing": where the feature is provisioned the step stops
  with "could not be read" (nothing is written); where it is not, the setting cannot be on.

Read-only (``plan`` is accepted so a flow can pass it to every step; it changes nothing here). Return values: ``provisioned`` (bool), ``enforcing`` (bool), ``signals`` (dict: which signal
said what).
    """
    task_options = {"plan": PLAN_OPTION}

    def _run_task(self):
        signals = {}
        provisioned = self._has_permission_field(USE_ANY_API_CLIENT)
        signals["describe PermissionSet"] = (
            "PermissionsUseAnyApiClient present: provisioned"
            if provisioned
            else "PermissionsUseAnyApiClient absent: not provisioned"
        )
        enforcing, signals["Settings:ConnectedApp"] = self._read_enforcing()
        if enforcing is None:  # the retrieve failed: "could not read" is never "not enforcing"
            if provisioned:
                raise SixsenseOrgError(
                    "API Access Control is provisioned (PermissionsUseAnyApiClient is in the PermissionSet "
                    "describe), but whether it is enforcing could not be read: Settings:ConnectedApp "
                    f"{signals['Settings:ConnectedApp']}. The setup user's authorization step depends on it. "
                    "Check that the user cci is connected as can retrieve Settings (Modify All Data, or "
                    "Modify Metadata Through Metadata API Functions), then run again. Nothing was written."
                )
            # The setting exists only once Salesforce Support provisioned the feature (facts §2).
            signals["Settings:ConnectedApp"] += "; not provisioned, so not enforcing"
            enforcing = False
        if enforcing and not provisioned:
            self.logger.warning(
                "enableAdminApprovedAppsOnly is true although the describe shows no "
                "PermissionsUseAnyApiClient field; treating API Access Control as enforcing."
            )
        self._log_table(
            "API Access Control",
            [["signal", "says"]] + [[k, v] for k, v in signals.items()],
        )
        self.logger.info(f"API Access Control: provisioned={provisioned}, enforcing={enforcing}")
        self._audit_note(after={"provisioned": provisioned, "enforcing": enforcing})
        self.return_values = {
            "provisioned": provisioned,
            "enforcing": enforcing,
            "signals": signals,
        }

    def _read_enforcing(self):
        """(enforcing, signal text) from the ConnectedApp settings retrieve; enforcing is None when the
        retrieve failed (the signal then starts with :data:`RETRIEVE_FAILED`)."""
        return self._retrieve_enforcing()

    def _retrieve_enforcing(self):
        api_version = self.project_config.project__package__api_version
        manifest = package_xml("Settings", ["ConnectedApp"], api_version)
        try:
            zip_file = self._read(
                "Metadata retrieve", ApiRetrieveUnpackaged(self, manifest, api_version)
            )
        except MetadataApiError as e:
            return None, f"{RETRIEVE_FAILED} ({e})"
        if SETTINGS_FILE not in zip_file.namelist():
            return False, "no ConnectedApp settings returned: not enforcing"
        root = etree.parse(io.BytesIO(zip_file.read(SETTINGS_FILE))).getroot()
        values = root.xpath(
            "/md:ConnectedAppSettings/md:enableAdminApprovedAppsOnly/text()",
            namespaces={"md": MD_NS},
        )
        if not values:
            return False, "enableAdminApprovedAppsOnly absent: not enforcing"
        enforcing = values[0].strip().lower() == "true"
        return enforcing, (
            "enableAdminApprovedAppsOnly true: enforcing"
            if enforcing
            else f"enableAdminApprovedAppsOnly {values[0].strip()}: not enforcing"
        )
