"""Troubleshoot's tailoring: for an error catalogue entry's ``tailor`` name, the org-specific cause and fix
lines drawn from a diagnosis dict (pure functions: ``tailor_<name>(diagnosis) -> (cause lines, fix lines)``,
``TAILORS`` maps the names). Used by ``sixsense_troubleshoot``."""

from __future__ import annotations

from . import procedure
from .queries import TOKENS_PER_USER_PER_APP
from .vendor import VENDOR

SANDBOX_HOST = "test.salesforce.com"
PRODUCTION_HOST = "login.salesforce.com"
#: The start of a fact that shows the catalogue's cause does not hold in this org now: troubleshoot then says
#: so instead of stating the cause as this org's (``troubleshoot.explain``).
RULED_OUT = "Not the cause here now: "


# ---------------------------------------------------------------------------------------------------------
# Tailoring: what the live org says about the cause, and the org-specific fix. Each takes the diagnosis and
# returns (facts, fixes): short sentences.


def _setup_access_fact(d: dict) -> tuple[list[str], list[str]]:
    setup = d["users"].get("setup") or {}
    if setup.get("provided") and setup.get("found") is None:
        return [
            f"The setup user {setup.get('username')} could not be read (the User query failed), so its permissions are unknown."
        ], []
    if not setup.get("found"):
        return [f"The setup user {setup.get('username') or '(unknown)'} was not found."], []
    sources = setup.get("approve_uninstalled_sources")
    if sources is None:
        return [
            "This org's PermissionSet describe has no PermissionsCanApproveUninstalledApps field, so who holds "
            "Approve Uninstalled Connected Apps cannot be checked by query."
        ], []
    if sources:
        return [
            f"The setup user {setup['username']} holds Approve Uninstalled Connected Apps "
            f"(through {', '.join(sources)})."
        ], []
    return (
        [
            f"The setup user {setup['username']} does NOT hold Approve Uninstalled Connected Apps "
            f"(profile {setup.get('profile')}; only the standard System Administrator profile gets it "
            "automatically)."
        ],
        [
            "Give the setup user the permission: cci task run sixsense_assign_setup_access "
            f"-o setup_username {setup['username']} -o integration_username "
            f"{(d['users'].get('integration') or {}).get('username') or '<integration username>'}."
        ],
    )


def tailor_uninstalled(d: dict) -> tuple[list[str], list[str]]:
    app, acc = d["app"], d["api_access_control"]
    facts, fixes = [], []
    if app["installed"]:
        facts.append(
            f"{RULED_OUT}the app is installed now ({app['primary']}, state {app['state']}), so this error "
            "should not recur; it was probably raised before the install, or for another app name."
        )
        if app["admin_approved"]:
            fixes.append(
                f"Retry the authorization in {VENDOR.label}; if it now fails with invalid_app_access, give the user "
                "access (sixsense_grant_app_access)."
            )
        return facts, fixes
    facts.append(f"The {VENDOR.label} app ({', '.join(app['names'])}) is NOT installed.")
    token_users = _app_token_users(d)
    if app["used"]:
        facts.append(
            "It is in use (OauthToken rows exist), so it is listed on Connected Apps OAuth Usage and can be "
            "installed now."
        )
        if app.get("used_by_others"):
            facts.append(
                "Users who authorized it before the September 2025 restriction keep working on their existing "
                f"tokens{token_users}; new users and reauthorizations are refused."
            )
    else:
        facts.append(
            "No token and no installed row: the app has not been used here yet, so it is not listed on "
            "Connected Apps OAuth Usage (or only as a denied attempt)."
        )
    more_facts, more_fixes = _setup_access_fact(d)
    facts += more_facts
    fixes += more_fixes
    if acc["enforcing"]:
        facts.append(
            "API Access Control is enforcing: uninstalled apps are refused for everyone (often seen as "
            "OAUTH_APP_BLOCKED); installing the app is the only way forward."
        )
    fixes.append(f"Next: {d['next_step']['text']}.")
    return facts, fixes


def tailor_blocked(d: dict) -> tuple[list[str], list[str]]:
    app, acc = d["app"], d["api_access_control"]
    facts, fixes = [], []
    if app["blocked"]:
        facts.append(
            "The app IS on this org's blocked list (BlacklistedConsumer): an admin selected Block on "
            "Connected Apps OAuth Usage."
        )
        fixes.append(f"Select Unblock for the app on {app['oauth_usage_url']}.")
    elif not app.get("blocked_detectable", True):
        facts.append(
            "The blocked list (BlacklistedConsumer) could not be read, so a Block cannot be ruled out."
        )
    else:
        facts.append("The app is not on this org's blocked list (BlacklistedConsumer).")
    if not app["installed"]:
        reason = (
            "API Access Control is enforcing, so the uninstalled app is refused as blocked"
            if acc["enforcing"]
            else "the app is not installed"
        )
        facts.append(f"The app is NOT installed; {reason}.")
        fixes.append(
            f"Install the app on Connected Apps OAuth Usage ({procedure.step('install').ref})."
        )
    elif app["admin_approved"]:
        more_facts, more_fixes = _integration_access_fact(d)
        facts += more_facts
        fixes += more_fixes
    else:
        facts.append("The app is installed and all users may self-authorize.")
    if acc["enforcing"]:
        facts.append(
            "API Access Control is enforcing (Settings:ConnectedApp enableAdminApprovedAppsOnly)."
        )
    fixes.append(f"Next: {d['next_step']['text']}.")
    return facts, fixes


def _integration_access_fact(d: dict) -> tuple[list[str], list[str]]:
    app = d["app"]
    integration = d["users"].get("integration") or {}
    access = ", ".join(f"{a['type']} {a['name']}" for a in app["access"]) or "none"
    facts = [
        f"Permitted Users is admin approved; permission sets and profiles with access: {access}."
    ]
    fixes = []
    if not integration.get("provided"):
        facts.append(
            "Pass -o integration_username <user> to check whether the integration user has access."
        )
    elif integration.get("found") is None:
        facts.append(f"The integration user {integration.get('username')} could not be read.")
    elif not integration.get("found"):
        facts.append(f"The integration user {integration.get('username')} was not found.")
    elif integration.get("has_app_access"):
        facts.append(
            f"The integration user {integration['username']} has access "
            f"(through {', '.join(integration.get('app_access_via') or [])}); if the change is recent, wait "
            "(vendors report up to an hour) and retry."
        )
    else:
        facts.append(
            f"The integration user {integration['username']} has NO access: none of its permission sets nor "
            f"its profile ({integration.get('profile')}) is given the app."
        )
        fixes.append(
            "Give it access: cci task run sixsense_grant_app_access "
            f"-o integration_username {integration['username']} ({procedure.step('app_access').name})."
        )
    return facts, fixes


def tailor_admin_access(d: dict) -> tuple[list[str], list[str]]:
    app = d["app"]
    if not app["installed"]:
        return (
            ["The app is NOT installed, so it cannot be admin approved or pre-authorized yet."],
            [f"Next: {d['next_step']['text']}."],
        )
    if not app["admin_approved"]:
        return (
            [
                f"{RULED_OUT}Permitted Users is 'All users may self-authorize' (not admin approved), so "
                "pre-authorization does not apply; the user must consent once."
            ],
            [f"Next: {d['next_step']['text']}."],
        )
    facts, fixes = _integration_access_fact(d)
    fixes.append(f"Next: {d['next_step']['text']}.")
    return facts, fixes


def tailor_tokens(d: dict) -> tuple[list[str], list[str]]:
    integration = d["users"].get("integration") or {}
    tokens = (d.get("tokens") or {}).get("integration_user")
    facts, fixes = [], []
    if not integration.get("found") or not tokens:
        facts.append("Pass -o integration_username <user> to see the integration user's tokens.")
        return facts, [f"Next: {d['next_step']['text']}."]
    t = tokens["app"]
    if t["count"]:
        facts.append(
            f"The integration user {integration['username']} holds {t['count']} token(s) for the app (first "
            f"created {t['first_created']}, last used {t['last_used']})."
        )
        if t["count"] >= TOKENS_PER_USER_PER_APP - 1:
            facts.append(
                "That is at or near the per-user limit of grants per app: the next authorization revokes the "
                "oldest one silently."
            )
        if d["app"]["installed"] and not integration.get("has_app_access"):
            facts.append(
                "It is NOT pre-authorized (no permission set or profile of it has access to the app): with "
                "Permitted Users admin approved those tokens cannot be used; give it access."
            )
    else:
        facts.append(
            f"The integration user {integration['username']} holds NO token for the app: it was revoked."
        )
    if tokens.get("other_apps"):
        facts.append(
            "It also holds tokens for "
            + ", ".join(f"{o['app']} ({o['count']})" for o in tokens["other_apps"])
            + "; reauthorizing may log those out."
        )
    fixes.append(
        f"Reauthorize in {VENDOR.label} as the integration user: cci task run sixsense_reauthorize_integration_user "
        f"-o integration_username {integration['username']}."
    )
    return facts, fixes


def tailor_users(d: dict) -> tuple[list[str], list[str]]:
    facts = []
    for role in ("setup", "integration"):
        u = d["users"].get(role) or {}
        if u.get("found"):
            facts.append(
                f"The {role} user {u['username']} is {'active' if u['active'] else 'INACTIVE'}"
                f" (API Enabled: {_yes_no(u.get('api_enabled'))})."
            )
        elif u.get("provided"):
            facts.append(f"The {role} user {u['username']} does NOT exist in this org.")
    return facts, []


def tailor_host(d: dict) -> tuple[list[str], list[str]]:
    org = d["org"]
    host = SANDBOX_HOST if org["kind"] in ("sandbox", "scratch") else PRODUCTION_HOST
    domain = f"{org['my_domain']}.my.salesforce.com" if org.get("my_domain") else None
    facts = [
        f"This org is a {org['kind']} org"
        + (f" with My Domain {domain}" if domain else "")
        + f"; its login host is {host}"
        + (f" (or {domain})" if domain else "")
        + "."
    ]
    fixes = [
        f"In {VENDOR.label}, connect to Salesforce {'(Sandbox)' if host == SANDBOX_HOST else '(Production)'} so the "
        f"login goes to {host}."
    ]
    return facts, fixes


def tailor_install(d: dict) -> tuple[list[str], list[str]]:
    org = d["org"]
    return (
        [
            f"This org is a {org['kind']} org ({org.get('edition') or 'edition unknown'}); tell {VENDOR.label}, since "
            "some vendor apps install only in sandboxes or only in production."
        ],
        [],
    )


def tailor_acc(d: dict) -> tuple[list[str], list[str]]:
    acc = d["api_access_control"]
    if acc["enforcing"]:
        return (
            [
                "API Access Control is enforcing in this org: only installed, allowlisted connected apps may "
                "call the API."
            ],
            [
                "Install the connected app you connect with on Connected Apps OAuth Usage and give your user "
                "access to it; or ask an admin to relax API Access Control."
            ],
        )
    return (
        [
            f"API Access Control is {'provisioned but not enforcing' if acc['provisioned'] else 'not provisioned'}"
            " here, so the session most likely expired: reconnect (cci org connect / cci org info refreshes it)."
        ],
        [],
    )


def tailor_client(d: dict) -> tuple[list[str], list[str]]:
    """The org answered this run, so cci's own session is allowed here now: the refused client is another
    one, or it was allowlisted since."""
    acc = d["api_access_control"]
    if acc.get("enforcing"):
        facts = [
            "API Access Control is enforcing in this org. cci's own session reached it for this report, so "
            "the client that was refused is another connected app (the Salesforce CLI's, another tool's), "
            "or cci's app was allowlisted since the error."
        ]
        return facts, []
    state = "provisioned but not enforcing" if acc.get("provisioned") else "not provisioned"
    return (
        [
            f"{RULED_OUT}API Access Control is {state} in this org now, so no client is refused here today: "
            "the error came from another org, or from before API Access Control was relaxed."
        ],
        [],
    )


def tailor_client_blocked(d: dict) -> tuple[list[str], list[str]]:
    """The org answered this run, so the app cci logs in through is not blocked now: the blocked client is
    another one, or it was unblocked since."""
    return (
        [
            "cci's own session reached this org for this report, so the connected app cci logs in through "
            "is not blocked now: the blocked client is another connected app (the Salesforce CLI's, another "
            "tool's), or it was unblocked since the error."
        ],
        [],
    )


def tailor_permission_gate(d: dict) -> tuple[list[str], list[str]]:
    acc = d["api_access_control"]
    setup = d["users"].get("setup") or {}
    facts = [
        "UseAnyApiClient "
        + ("exists" if acc["provisioned"] else "does NOT exist")
        + " in this org (API Access Control "
        + ("provisioned" if acc["provisioned"] else "not provisioned")
        + ")."
    ]
    if setup.get("found") and setup.get("approve_uninstalled_sources") is None:
        facts.append(
            "CanApproveUninstalledApps is not a field of this org's PermissionSet describe."
        )
    return facts, [
        "Deploy with cci task run sixsense_deploy_access, which leaves out permissions the org does not have."
    ]


def tailor_licence(d: dict) -> tuple[list[str], list[str]]:
    facts = []
    for role in ("integration", "setup"):
        u = d["users"].get(role) or {}
        if u.get("found"):
            facts.append(
                f"The {role} user {u['username']} has licence {u.get('licence')} (profile {u.get('profile')})."
            )
    return facts, []


def tailor_none(d: dict) -> tuple[list[str], list[str]]:
    return [], []


TAILORS = {
    "uninstalled": tailor_uninstalled,
    "blocked": tailor_blocked,
    "admin_access": tailor_admin_access,
    "tokens": tailor_tokens,
    "users": tailor_users,
    "host": tailor_host,
    "install": tailor_install,
    "acc": tailor_acc,
    "client": tailor_client,
    "client_blocked": tailor_client_blocked,
    "permission_gate": tailor_permission_gate,
    "licence": tailor_licence,
    "none": tailor_none,
}


def _app_token_users(d: dict) -> str:
    app = d["app"]
    counts = [c["token_user_count"] for c in app["candidates"] if c.get("token_user_count")]
    return f" ({sum(counts)} user(s) hold tokens)" if counts else ""


def _yes_no(value) -> str:
    return "?" if value is None else ("yes" if value else "no")
