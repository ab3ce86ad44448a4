"""The baseline of ``make bench``: the new-customer procedure done with CumulusCI's standard tasks and plain reads.

The procedure's checks and writes on the ``new_customer`` scenario, with no reporting or diagnosis: standard
``deploy`` of force-app, ``assign_permission_sets`` (setup user, then integration user), ``insert_record`` of the
SetupEntityAccess row, ``retrieve_unpackaged`` for the two Metadata API checks (API Access Control: the
ConnectedApp settings' ``enableAdminApprovedAppsOnly``, seed "before you begin"; the app not blocked:
BlacklistedConsumer, in the verification), and plain simple-salesforce ``query`` calls for the validation, the
guided waits (the same autopilot performs the manual steps after the same number of polls) and the other
verification queries. Each standard task refreshes the session as it starts, as any cci task does.

Until 2026-11-29 the baseline left out the two Metadata API checks (``WITH_METADATA_CHECKS = False`` gives
that older baseline back; the README gives both figures).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from lxml import etree
from simple_salesforce import Salesforce

SETUP_USER = "admin@example.com"
APP = "sfdc_6sense_oauth_app"
#: Include the two Metadata API checks of the procedure (API Access Control, app not blocked).
WITH_METADATA_CHECKS = True
PACKAGE_XML = """<?xml version="1.0" encoding="UTF-8"?>
<Package xmlns="http://soap.sforce.com/2006/04/metadata">
    <types>
        <members>{members}</members>
        <name>{type}</name>
    </types>
    <version>{version}</version>
</Package>
"""


def _retrieve(runtime, org_config, md_type: str, members: str) -> Path:
    """CumulusCI's standard ``retrieve_unpackaged`` of one type into a temporary folder."""
    folder = Path(tempfile.mkdtemp(prefix="baseline-retrieve-"))
    package = folder / "package.xml"
    version = runtime.project_config.project__package__api_version
    package.write_text(PACKAGE_XML.format(members=members, type=md_type, version=version))
    _task(
        runtime,
        org_config,
        "retrieve_unpackaged",
        package_xml=str(package),
        path=str(folder / "retrieved"),
        api_version=version,
    )
    return folder / "retrieved"


def _task(runtime, org_config, name: str, **options):
    from cumulusci.core.config import TaskConfig

    base = runtime.project_config.get_task(name)
    config = {**base.config, "options": {**(base.config.get("options") or {}), **options}}
    return base.get_class()(runtime.project_config, TaskConfig(config), org_config=org_config)()


def run_standard(runtime, org_config, integration_user: str, max_polls: int = 50) -> None:
    """Raises when a check fails; ``time.sleep`` is the caller's (patched in the harness)."""
    org_config.refresh_oauth_token(runtime.keychain)
    sf = Salesforce(
        instance_url=org_config.instance_url,
        session_id=org_config.access_token,
        version=runtime.project_config.project__package__api_version,
    )

    def query(soql: str) -> list[dict]:
        return sf.query_all(soql)["records"]

    def wait_for(soql: str, ok) -> list[dict]:
        for _ in range(max_polls):
            rows = query(soql)
            if ok(rows):
                return rows
        raise RuntimeError(f"gave up waiting: {soql}")

    # Validation: both users, their profiles' permissions.
    users = query(
        "SELECT Id, Username, Alias, IsActive, Profile.Name, Profile.PermissionsApiEnabled FROM User "
        f"WHERE Username IN ('{SETUP_USER}', '{integration_user}')"
    )
    by_name = {u["Username"].lower(): u for u in users}
    assert len(by_name) == 2 and all(u["IsActive"] for u in users), users
    if WITH_METADATA_CHECKS:  # API Access Control: the ConnectedApp settings
        settings = _retrieve(runtime, org_config, "Settings", "ConnectedApp")
        root = etree.parse(str(settings / "settings" / "ConnectedApp.settings")).getroot()
        ns = {"md": "http://soap.sforce.com/2006/04/metadata"}
        root.xpath("string(md:enableAdminApprovedAppsOnly)", namespaces=ns)
    # Current state: the app, tokens, the setup user's assignments.
    query(
        f"SELECT Id, OptionsAllowAdminApprovedUsersOnly FROM ConnectedApplication WHERE Name = '{APP}'"
    )
    query(f"SELECT Id, UserId FROM OauthToken WHERE AppName = '{APP}'")
    # Deploy the permission sets, give the setup user Approve Uninstalled Connected Apps.
    _task(runtime, org_config, "deploy", path="force-app")
    _task(
        runtime,
        org_config,
        "assign_permission_sets",
        api_names="Sixsense_Setup_Access",
        user_alias=by_name[SETUP_USER]["Alias"],
    )
    # Guided steps 1-3: the operator authorizes, installs, sets Permitted Users (the autopilot). Each wait
    # polls the query the procedure checks (and the autopilot recognises, orgsim/autopilot.py): step 1 the
    # setup user's token for the app, steps 2-3 the app by Name, step 5 the integration user's tokens.
    setup_id = by_name[SETUP_USER]["Id"]
    wait_for(f"SELECT Id FROM OauthToken WHERE AppName = '{APP}' AND UserId = '{setup_id}'", bool)
    wait_for(f"SELECT Id FROM ConnectedApplication WHERE Name = '{APP}'", bool)
    app = wait_for(
        f"SELECT Id, OptionsAllowAdminApprovedUsersOnly FROM ConnectedApplication WHERE Name = '{APP}'",
        lambda rows: rows and rows[0]["OptionsAllowAdminApprovedUsersOnly"],
    )[0]
    # Step 4: the integration access set gets the app; the integration user gets the set.
    permset = query("SELECT Id FROM PermissionSet WHERE Name = 'Sixsense_Integration_Access'")[0]
    existing = query(
        f"SELECT Id FROM SetupEntityAccess WHERE ParentId = '{permset['Id']}' "
        f"AND SetupEntityId = '{app['Id']}'"
    )
    if not existing:
        _task(
            runtime,
            org_config,
            "insert_record",
            object="SetupEntityAccess",
            values=f"ParentId:{permset['Id']},SetupEntityId:{app['Id']}",
        )
    _task(
        runtime,
        org_config,
        "assign_permission_sets",
        api_names="Sixsense_Integration_Access",
        user_alias=by_name[integration_user.lower()]["Alias"],
    )
    # Step 5: the integration user reauthorizes (the autopilot).
    integration_id = by_name[integration_user.lower()]["Id"]
    wait_for(
        f"SELECT Id, AppName FROM OauthToken WHERE UserId = '{integration_id}'",
        lambda rows: any(r["AppName"] == APP for r in rows),
    )
    # Step 6: verification, one query per object checked.
    assert query(
        f"SELECT Id FROM ConnectedApplication WHERE Name = '{APP}' "
        "AND OptionsAllowAdminApprovedUsersOnly = true"
    )
    assert query(
        f"SELECT Id FROM SetupEntityAccess WHERE ParentId = '{permset['Id']}' "
        f"AND SetupEntityId = '{app['Id']}'"
    )
    assert query(
        f"SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = '{integration_id}' "
        f"AND PermissionSetId = '{permset['Id']}'"
    )
    assert query(
        f"SELECT Id FROM OauthToken WHERE AppName = '{APP}' AND UserId = '{integration_id}'"
    )
    if WITH_METADATA_CHECKS:  # the app is not blocked
        blocked = _retrieve(runtime, org_config, "BlacklistedConsumer", "*")
        assert not list(blocked.glob(f"blacklistedConsumers/{APP}.*"))
