"""Scenario seeding: write a validated scenario (``scenario.py``) into an empty org through the org's own
rules (install, access, policy, tokens), so a seeded org is one the rules could have produced.
How to add a scenario field: ``docs/architecture.md`` §1.
"""

from __future__ import annotations

import datetime as _dt
import re
import secrets
from typing import Any

from orgsim import eca, schema
from orgsim.identity import TOOL_CLIENT, TOOL_CLIENTS
from orgsim.scenario import STANDARD_PROFILES
from orgsim.store import format_datetime

ORG_ID_15 = "00D5i000000SIMU"
#: The 6sense app's OAuth callback URL (as its ConnectedApp metadata shows it).
SIXSENSE_CALLBACK = "https://login.6sense.com/salesforce/callback"


#: The compound ``Organization.Address`` value's keys (the recorded Organization record in the cumulusci
#: wheel, ``tests/shared_cassettes/GET_sobjects_Organization.yaml``).
ADDRESS_KEYS = (
    "city",
    "country",
    "geocodeAccuracy",
    "latitude",
    "longitude",
    "postalCode",
    "state",
    "street",
)
#: Organization settings no rule reads, with the values of that same recorded org.
ORG_SETTINGS = {
    "ReceivesInfoEmails": True,
    "ReceivesAdminInfoEmails": True,
    "PreferencesConsentManagementEnabled": True,
    "PreferencesLightningLoginEnabled": True,
    "FiscalYearStartMonth": 1,
    "DefaultAccountAccess": "Edit",
    "DefaultContactAccess": "ControlledByParent",
    "DefaultOpportunityAccess": "Edit",
    "DefaultLeadAccess": "ReadEditTransfer",
    "DefaultCaseAccess": "ReadEditTransfer",
    "DefaultCalendarAccess": "HideDetailsInsert",
    "DefaultPricebookAccess": "ReadSelect",
    "DefaultCampaignAccess": "All",
    "UiSkin": "Theme3",
    "SignupCountryIsoCode": "US",
    "NumKnowledgeService": 0,
    "WebToCaseDefaultOrigin": "Web",
    "MonthlyPageViewsUsed": 0,
    "MonthlyPageViewsEntitlement": 0,
}


def _days_ago(days: int | None) -> str | None:
    if days is None:
        return None
    return format_datetime(_dt.datetime.now(_dt.UTC) - _dt.timedelta(days=days))


def seed(org, scenario_name: str, data: dict[str, Any]) -> None:
    """Write a validated scenario (``scenario.load(...).data``) into the empty store of ``org``
    (a ``platform.Org``)."""
    store = org.store
    store.set_meta("scenario", data)
    store.set_meta("scenario_name", scenario_name)
    store.set_meta("acc", data["features"]["api_access_control"])
    org_id = schema.to_18(ORG_ID_15)
    store.set_meta("org_id", org_id)
    o = data["org"]
    trial = (
        o["trial_days"] if o["trial_days"] is not None else (30 if o["kind"] == "scratch" else None)
    )
    org.put(
        "Organization",
        {
            "Id": org_id,
            "Name": o["name"],
            "OrganizationType": o["edition"],
            # Scratch orgs report IsSandbox true with a TrialExpirationDate (how orgs tell them apart).
            "IsSandbox": o["kind"] in ("sandbox", "scratch"),
            "InstanceName": o["instance_name"],
            "NamespacePrefix": o["namespace_prefix"],
            "TrialExpirationDate": _days_ago(-trial) if trial is not None else None,
            "Division": None,
            "LanguageLocaleKey": "en_US",
            "DefaultLocaleSidKey": "en_US",
            "TimeZoneSidKey": "America/Los_Angeles",
            "Country": "US",
            "PrimaryContact": None,
            "Address": {**dict.fromkeys(ADDRESS_KEYS), "country": "US"},
            **ORG_SETTINGS,
        },
    )
    licences: dict[str, str] = {}
    profiles = dict(STANDARD_PROFILES.items())
    for prof in data["profiles"]:
        profiles[prof["name"]] = (prof["license"], prof["permissions"])
    profile_ps: dict[str, str] = {}
    for pname, (licence, perms) in profiles.items():
        if licence not in licences and "UserLicense" in schema.OBJECTS:
            licences[licence] = org.put(
                "UserLicense",
                {
                    "Name": licence,
                    "MasterLabel": licence,
                    "LicenseDefinitionKey": licence.upper().replace(" ", "_"),
                    "Status": "Active",
                },
            )
        flags = {"Permissions" + p: 1 for p in perms}
        prof_id = org.put(
            "Profile",
            {
                "Name": pname,
                "UserLicenseId": licences.get(licence),
                "UserType": "Standard",
                **flags,
            },
        )
        ps_id = store.new_id("PermissionSet")
        org.put(
            "PermissionSet",
            {
                "Id": ps_id,
                "Name": "X" + ps_id[:15],
                "Label": ps_id[:15],
                "IsOwnedByProfile": 1,
                "ProfileId": prof_id,
                "IsCustom": False,
                **flags,
            },
        )
        profile_ps[pname] = ps_id
    users: dict[str, str] = {}
    for u in data["users"]:
        first, _, last = u["name"].rpartition(" ")
        prof_id = store.find_one("Profile", Name=u["profile"])["Id"]
        uid = org.put(
            "User",
            {
                "Username": u["username"],
                "Name": u["name"],
                "FirstName": first or None,
                "LastName": last,
                "Alias": u["alias"],
                "Email": u["email"],
                "ProfileId": prof_id,
                "IsActive": u["active"],
                "UserType": "Standard",
                "TimeZoneSidKey": "America/Los_Angeles",
                "LocaleSidKey": "en_US",
                "LanguageLocaleKey": "en_US",
                "EmailEncodingKey": "UTF-8",
                "CommunityNickname": u["alias"],
            },
        )
        users[u["username"]] = uid
        # Every user has one UserLogin row (Object Reference "UserLogin"): the scenario's frozen/locked flags.
        org.put(
            "UserLogin",
            {"UserId": uid, "IsFrozen": u["frozen"], "IsPasswordLocked": u["password_locked"]},
        )
        org.put(
            "PermissionSetAssignment",
            {"AssigneeId": uid, "PermissionSetId": profile_ps[u["profile"]], "IsActive": 1},
        )
    store.set_meta("connected_user_id", users[data["connected_user"]])
    permsets: dict[str, str] = {}
    for ps in data["permission_sets"]:
        flags = {"Permissions" + p: 1 for p in ps["permissions"]}
        ps_id = org.put(
            "PermissionSet",
            {
                "Name": ps["name"],
                "Label": ps["label"],
                "IsOwnedByProfile": 0,
                "IsCustom": True,
                **flags,
            },
        )
        permsets[ps["name"]] = ps_id
        for who in ps["assigned_to"]:
            org.put(
                "PermissionSetAssignment",
                {"AssigneeId": users[who], "PermissionSetId": ps_id, "IsActive": 1},
            )
    app = data["app"]
    apps = [(app["name"], app["label"], app["consumer_key"], app["visible"], app["blocked"])]
    apps += [
        (a["name"], a["label"], "3MVG9" + re.sub(r"\W", "", a["name"]), True, False)
        for a in data["other_apps"]
    ]
    for name, label, key, visible, blocked in apps:
        store.sim_put(
            "app",
            {
                "name": name,
                "label": label,
                "consumer_key": key,
                "visible": visible,
                "blocked": blocked,
                "managed": 0,
            },
        )
    for name, _label, key, _visible, _blocked in apps:
        # Connected apps are confidential clients: their secret is the app's, never the tool's.
        callback = (
            SIXSENSE_CALLBACK if name == app["name"] else f"https://{name}.example.com/callback"
        )
        org.register_oauth_client(key, name, secret=secrets.token_hex(32), callback_urls=[callback])
    seed_tool_clients(org, data, profile_ps[_profile_of(data, data["connected_user"])])
    store.set_meta("app_policies", {app["name"]: app["oauth_policy"]})
    installed_at = _days_ago(app["installed_days_ago"])
    for other in data["other_apps"]:
        if other["installed"]:
            org.install(other["name"], installed_at=installed_at)
    by = {k: users[app[k]] if app[k] else None for k in ("installed_by", "policy_changed_by")}
    if app["installed"]:
        org.install(app["name"], installed_at=installed_at, by=by["installed_by"])
        parents = [permsets[n] for n in app["access"]["permission_sets"]]
        parents += [profile_ps[n] for n in app["access"]["profiles"]]
        org.set_access(app["name"], parents)
        if app["admin_approved"]:
            days = app["policy_changed_days_ago"]
            org.set_policy(
                "admin_approved",
                app["name"],
                at=_days_ago(days if days is not None else app["installed_days_ago"]),
                by=by["policy_changed_by"],
            )
    states: dict[
        str, dict
    ] = {}  # app_state reads every token of the app: once per app, not per token
    for tok in data["tokens"]:
        state = states.get(tok["app"]) or states.setdefault(tok["app"], org.app_state(tok["app"]))
        org.grant_token(
            users[tok["user"]],
            state,
            created=_days_ago(tok["created_days_ago"]),
            last_used=_days_ago(tok["last_used_days_ago"]),
            use_count=tok["use_count"],
        )
    eca.seed(org)
    _stamp_creators(store, users[data["connected_user"]])
    store.set_meta("version", 0)


def _profile_of(data: dict[str, Any], username: str) -> str:
    return next(u["profile"] for u in data["users"] if u["username"] == username)


def seed_tool_clients(org, data: dict[str, Any], connected_profile_ps: str | None) -> None:
    """Register the tool's own OAuth clients (``identity.TOOL_CLIENTS``: CumulusCI's built-in connected app
    and the sf CLI's) as apps of this org, and put CumulusCI's app in the scenario's ``client_app.state``
    (facts §10.1): ``uninstalled`` (an uninstalled third-party app: the default), ``installed`` (Install on
    OAuth Usage, all users may self-authorize), ``allowlisted`` (installed, "Admin approved users are
    pre-authorized", and the connected user's profile granted access: what API Access Control allows,
    facts §2) or ``blocked`` (Block on OAuth Usage, a BlacklistedConsumer: no grant through it succeeds and
    the block ends its sessions, facts §6.2; the server ends cci's stored session when it starts). CumulusCI's
    app is listed on OAuth Usage, as the connected user has used it."""
    state = data["client_app"]["state"]
    for name, (key, callbacks) in TOOL_CLIENTS.items():
        org.store.sim_put(
            "app",
            {
                "name": name,
                "label": name,
                "consumer_key": key,
                "visible": name == TOOL_CLIENT,
                "blocked": name == TOOL_CLIENT and state == "blocked",
                "managed": 0,
            },
        )
        org.register_oauth_client(key, name, secret=None, callback_urls=callbacks)
    if state in ("installed", "allowlisted"):
        org.install(TOOL_CLIENT, installed_at=_days_ago(data["client_app"]["installed_days_ago"]))
    if state == "allowlisted":
        org.set_access(TOOL_CLIENT, [connected_profile_ps])
        org.set_policy("admin_approved", TOOL_CLIENT)


def _stamp_creators(store, user_id: str) -> None:
    """Seeded rows that Metadata API ``listMetadata`` reports (``createdById``, ``lastModifiedById``) were
    created by the connected user, as if the scenario's past had been done by that admin."""
    for sobject in ("PermissionSet", "Profile", "ConnectedApplication"):
        cols = store.columns(sobject)
        for column in ("CreatedById", "LastModifiedById"):
            if column in cols:
                with store.lock:
                    store.conn.execute(
                        f'UPDATE "{sobject}" SET "{column}" = ? WHERE "{column}" IS NULL',
                        (user_id,),
                    )
