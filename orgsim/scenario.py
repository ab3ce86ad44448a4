"""Scenario YAML loading and validation (docs/architecture.md §1.2; the field reference is the comment at the
top of ``datasets/scenarios/new_customer.yml``).

``load(name_or_path) -> Scenario`` finds ``datasets/scenarios/<name>.yml`` (or takes a path), parses it and
validates every field. A malformed scenario raises :class:`ScenarioError` whose message names the file, the
field path and what is wrong, e.g. ``datasets/scenarios/x.yml: users[1].profile: unknown profile 'Foo'``.
The returned ``Scenario.data`` is normalised: every optional field is present with its default.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from orgsim.connected_app import TOKENS_PER_USER_PER_APP
from orgsim.scenario_fields import (
    Invalid,
    bounded,
    expect,
    keys,
    one_of,
    validate_eca,
    validate_oauth_policy,
)

ROOT = Path(__file__).resolve().parent.parent
SCENARIO_DIR = ROOT / "datasets" / "scenarios"
DEFAULT_APP = "sfdc_6sense_oauth_app"

#: Built-in standard profiles: name -> (user licence, user permissions). System Administrator holds
#: CanApproveUninstalledApps (salesforce-facts.md §1.3, KB 005132365).
STANDARD_PROFILES: dict[str, tuple[str, list[str]]] = {
    "System Administrator": (
        "Salesforce",
        [
            "ApiEnabled",
            "CustomizeApplication",
            "ModifyAllData",
            "ViewSetup",
            "ManageUsers",
            "CanApproveUninstalledApps",
            "ModifyMetadata",
            "AssignPermissionSets",
            "ManageProfilesPermissionsets",
        ],
    ),
    "Standard User": ("Salesforce", ["ApiEnabled"]),
    "Minimum Access - Salesforce": ("Salesforce", []),
    "Minimum Access - API Only Integrations": (
        "Salesforce Integration",
        ["ApiEnabled", "ApiUserOnly"],
    ),
}
ORG_KINDS = ("production", "sandbox", "scratch")
#: features.oauth_token_visibility: which permission lets a user see other users' OauthToken rows (facts
#: §10.1): ``both`` (default, the conservative reading: Customize Application and Manage Users),
#: ``customize_application`` (Object Reference v67), ``manage_users`` (older documentation).
OAUTH_TOKEN_VISIBILITY = ("both", "customize_application", "manage_users")
#: features.admin_approval_revokes: whose tokens of the app the switch of Permitted Users to admin approved
#: revokes (facts §10.1, UNCERTAIN which text holds): ``not_pre_authorized`` (default: Salesforce's warning,
#: "anyone using the app loses access" unless their profile or permission set authorizes it, facts §7.1)
#: or ``all`` (the vendor article: "the system logs out all users").
ADMIN_APPROVAL_REVOKES = ("not_pre_authorized", "all")
#: The tool's own connected app (CumulusCI's built-in app) as the org sees it (facts §10.1, §2).
CLIENT_APP_STATES = ("uninstalled", "installed", "allowlisted", "blocked")
PERMITTED = ("admin_approved", "all_users")
#: No org's daily API allowance comes near this (Enterprise Edition: 100,000 plus 1,000 per Salesforce
#: licence; the REST API guide's example header is ``api-usage=10018/100000``): a larger value is a typo.
#: The browser login password of every scenario user that sets none (``users[].password``).
DEMO_PASSWORD = "orgsim-demo"
MAX_API_REQUESTS = 1_000_000_000
#: Days back a scenario may date something: Salesforce was founded in 1999, so no org holds anything older
#: than about 27 years (10,000 days).
MAX_DAYS = 10_000
#: A token used a billion times is a typo, not an org.
MAX_USE_COUNT = 1_000_000_000


class ScenarioError(ValueError):
    """A scenario file that cannot be loaded; the message is one line: ``file: field.path: problem``."""


@dataclasses.dataclass
class Scenario:
    name: str
    path: Path
    data: dict[str, Any]


def resolve(name_or_path: str) -> Path:
    """``new_customer`` -> ``datasets/scenarios/new_customer.yml``; an existing path is taken as is."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yml", ".yaml") or candidate.exists():
        if not candidate.is_file():
            raise ScenarioError(f"{name_or_path}: scenario file not found")
        return candidate
    path = SCENARIO_DIR / f"{name_or_path}.yml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.yml")))
        raise ScenarioError(f"unknown scenario '{name_or_path}' (bundled: {known})")
    return path


def load(name_or_path: str) -> Scenario:
    """Load and validate a scenario. Raises :class:`ScenarioError`."""
    path = resolve(name_or_path)
    try:
        shown = str(path.resolve().relative_to(ROOT))
    except ValueError:
        shown = str(path)
    try:
        # libyaml's loader where available: a scenario with thousands of tokens loads in a second.
        raw = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "yaml"
        raise ScenarioError(
            f"{shown}: {where}: invalid YAML ({getattr(exc, 'problem', exc)})"
        ) from None
    try:
        data = _validate(raw)
    except Invalid as exc:
        raise ScenarioError(f"{shown}: {exc.path}: {exc.problem}") from None
    return Scenario(name=path.stem, path=path, data=data)


def _validate(raw: Any) -> dict[str, Any]:  # noqa: C901 - one linear walk over the format
    top = expect(raw, dict, "(top level)", required=True)
    keys(
        top,
        {
            "description",
            "org",
            "features",
            "connected_user",
            "profiles",
            "users",
            "permission_sets",
            "app",
            "other_apps",
            "tokens",
            "autopilot",
            "eca",
            "client_app",
        },
        "",
    )
    out: dict[str, Any] = {"description": expect(top.get("description"), str, "description", "")}

    org = expect(top.get("org"), dict, "org", {})
    keys(
        org,
        {
            "name",
            "edition",
            "kind",
            "instance_name",
            "namespace_prefix",
            "trial_days",
            "daily_api_requests",
            "api_requests_used",
        },
        "org",
    )
    kind = expect(org.get("kind"), str, "org.kind", "production")
    if kind not in ORG_KINDS:
        raise Invalid("org.kind", f"must be one of {', '.join(ORG_KINDS)}, got '{kind}'")
    out["org"] = {
        "name": expect(org.get("name"), str, "org.name", "Acme Corp"),
        "edition": expect(org.get("edition"), str, "org.edition", "Enterprise Edition"),
        "kind": kind,
        "instance_name": expect(org.get("instance_name"), str, "org.instance_name", "NA224"),
        "namespace_prefix": expect(org.get("namespace_prefix"), str, "org.namespace_prefix"),
        "trial_days": (
            None
            if org.get("trial_days") is None
            else bounded(org.get("trial_days"), "org.trial_days", 0, 0, MAX_DAYS)
        ),
        # The daily API request allowance and the requests already used (Identity.count_api_request).
        "daily_api_requests": bounded(
            org.get("daily_api_requests"), "org.daily_api_requests", 100_000, 1, MAX_API_REQUESTS
        ),
    }
    out["org"]["api_requests_used"] = bounded(
        org.get("api_requests_used"),
        "org.api_requests_used",
        0,
        0,
        out["org"]["daily_api_requests"],
    )

    features = expect(top.get("features"), dict, "features", {})
    keys(
        features,
        {
            "api_access_control",
            "connected_app_metadata_retrievable",
            "eca_policy_metadata_deployable",
            "oauth_token_visibility",
            "admin_approval_revokes",
        },
        "features",
    )
    acc = expect(features.get("api_access_control"), dict, "features.api_access_control", {})
    keys(acc, {"provisioned", "enforcing"}, "features.api_access_control")
    provisioned = expect(
        acc.get("provisioned"), bool, "features.api_access_control.provisioned", False
    )
    enforcing = expect(acc.get("enforcing"), bool, "features.api_access_control.enforcing", False)
    if enforcing and not provisioned:
        raise Invalid(
            "features.api_access_control.enforcing", "cannot be true unless provisioned is true"
        )
    out["features"] = {
        "api_access_control": {"provisioned": provisioned, "enforcing": enforcing},
        "connected_app_metadata_retrievable": expect(
            features.get("connected_app_metadata_retrievable"),
            bool,
            "features.connected_app_metadata_retrievable",
            False,
        ),
        # Whether ExtlClntAppOauthConfigurablePolicies can be deployed for the packaged 6sense ECA (facts §6.3).
        "eca_policy_metadata_deployable": expect(
            features.get("eca_policy_metadata_deployable"),
            bool,
            "features.eca_policy_metadata_deployable",
            False,
        ),
        # Who sees other users' OauthToken rows (facts §10.1: two readings; docs/salesforce-permissions.md).
        "oauth_token_visibility": one_of(
            features.get("oauth_token_visibility"),
            OAUTH_TOKEN_VISIBILITY,
            "features.oauth_token_visibility",
            "both",
        ),
        # Whose tokens the Permitted Users switch revokes (facts §10.1: two texts; ADMIN_APPROVAL_REVOKES).
        "admin_approval_revokes": one_of(
            features.get("admin_approval_revokes"),
            ADMIN_APPROVAL_REVOKES,
            "features.admin_approval_revokes",
            "not_pre_authorized",
        ),
    }

    profiles = dict(STANDARD_PROFILES)
    out["profiles"] = []
    for i, prof in enumerate(expect(top.get("profiles"), list, "profiles", [])):
        p = f"profiles[{i}]"
        expect(prof, dict, p, required=True)
        keys(prof, {"name", "license", "permissions"}, p)
        name = expect(prof.get("name"), str, f"{p}.name", required=True)
        if name in profiles:
            raise Invalid(f"{p}.name", f"duplicate profile '{name}'")
        perms = _permissions(prof.get("permissions"), f"{p}.permissions")
        profiles[name] = (expect(prof.get("license"), str, f"{p}.license", "Salesforce"), perms)
        out["profiles"].append({"name": name, "license": profiles[name][0], "permissions": perms})

    usernames: dict[
        str, None
    ] = {}  # ordered, with O(1) lookups (scenarios may hold thousands of users)
    out["users"] = []
    for i, user in enumerate(expect(top.get("users"), list, "users", [])):
        p = f"users[{i}]"
        expect(user, dict, p, required=True)
        keys(
            user,
            {
                "username",
                "name",
                "alias",
                "profile",
                "email",
                "active",
                "frozen",
                "password_locked",
                "password",
            },
            p,
        )
        username = expect(user.get("username"), str, f"{p}.username", required=True)
        if username in usernames:
            raise Invalid(f"{p}.username", f"duplicate username '{username}'")
        profile = expect(user.get("profile"), str, f"{p}.profile", required=True)
        if profile not in profiles:
            raise Invalid(f"{p}.profile", f"unknown profile '{profile}'")
        name = expect(user.get("name"), str, f"{p}.name", username.split("@")[0])
        alias = expect(user.get("alias"), str, f"{p}.alias", username.split("@")[0][:8])
        if len(alias) > 8:
            raise Invalid(f"{p}.alias", f"at most 8 characters (User.Alias), got '{alias}'")
        usernames[username] = None
        out["users"].append(
            {
                "username": username,
                "name": name,
                "alias": alias,
                "profile": profile,
                "email": expect(user.get("email"), str, f"{p}.email", username),
                "active": expect(user.get("active"), bool, f"{p}.active", True),
                # UserLogin.IsFrozen / IsPasswordLocked (Object Reference "UserLogin"; default false).
                "frozen": expect(user.get("frozen"), bool, f"{p}.frozen", False),
                "password_locked": expect(
                    user.get("password_locked"), bool, f"{p}.password_locked", False
                ),
                # The password of the simulator's browser login page (setup_pages.py; never an API
                # credential: the API takes OAuth tokens only).
                "password": expect(user.get("password"), str, f"{p}.password", DEMO_PASSWORD),
            }
        )
    if not usernames:
        raise Invalid("users", "at least one user is required")

    connected = expect(top.get("connected_user"), str, "connected_user", next(iter(usernames)))
    if connected not in usernames:
        raise Invalid("connected_user", f"unknown user '{connected}'")
    out["connected_user"] = connected

    permsets: list[str] = []
    out["permission_sets"] = []
    for i, ps in enumerate(expect(top.get("permission_sets"), list, "permission_sets", [])):
        p = f"permission_sets[{i}]"
        expect(ps, dict, p, required=True)
        keys(ps, {"name", "label", "permissions", "assigned_to"}, p)
        name = expect(ps.get("name"), str, f"{p}.name", required=True)
        if name in permsets:
            raise Invalid(f"{p}.name", f"duplicate permission set '{name}'")
        assigned = expect(ps.get("assigned_to"), list, f"{p}.assigned_to", [])
        for j, who in enumerate(assigned):
            if who not in usernames:
                raise Invalid(f"{p}.assigned_to[{j}]", f"unknown user '{who}'")
        permsets.append(name)
        out["permission_sets"].append(
            {
                "name": name,
                "label": expect(ps.get("label"), str, f"{p}.label", name.replace("_", " ")),
                "permissions": _permissions(ps.get("permissions"), f"{p}.permissions"),
                "assigned_to": assigned,
            }
        )

    app = expect(top.get("app"), dict, "app", {})
    keys(
        app,
        {
            "name",
            "label",
            "consumer_key",
            "visible",
            "installed",
            "admin_approved",
            "blocked",
            "access",
            "installed_days_ago",
            "policy_changed_days_ago",
            "installed_by",
            "policy_changed_by",
            "oauth_policy",
        },
        "app",
    )
    a = {
        "name": expect(app.get("name"), str, "app.name", DEFAULT_APP),
        "visible": expect(app.get("visible"), bool, "app.visible", False),
        "installed": expect(app.get("installed"), bool, "app.installed", False),
        "admin_approved": expect(app.get("admin_approved"), bool, "app.admin_approved", False),
        "blocked": expect(app.get("blocked"), bool, "app.blocked", False),
        "installed_days_ago": bounded(
            app.get("installed_days_ago"), "app.installed_days_ago", 30, 0, MAX_DAYS
        ),
        "policy_changed_days_ago": (
            None
            if app.get("policy_changed_days_ago") is None
            else bounded(
                app.get("policy_changed_days_ago"), "app.policy_changed_days_ago", 0, 0, MAX_DAYS
            )
        ),
    }
    a["label"] = expect(app.get("label"), str, "app.label", a["name"])
    a["consumer_key"] = expect(
        app.get("consumer_key"), str, "app.consumer_key", "3MVG9" + a["name"]
    )
    if a["installed"] and not a["visible"]:
        raise Invalid(
            "app.installed", "an installed app must also be visible (it was used before Install)"
        )
    if a["admin_approved"] and not a["installed"]:
        raise Invalid("app.admin_approved", "only an installed app has policies")
    access = expect(app.get("access"), dict, "app.access", {})
    keys(access, {"permission_sets", "profiles"}, "app.access")
    a["access"] = {"permission_sets": [], "profiles": []}
    for j, name in enumerate(
        expect(access.get("permission_sets"), list, "app.access.permission_sets", [])
    ):
        if name not in permsets:
            raise Invalid(f"app.access.permission_sets[{j}]", f"unknown permission set '{name}'")
        a["access"]["permission_sets"].append(name)
    for j, name in enumerate(expect(access.get("profiles"), list, "app.access.profiles", [])):
        if name not in profiles:
            raise Invalid(f"app.access.profiles[{j}]", f"unknown profile '{name}'")
        a["access"]["profiles"].append(name)
    if (a["access"]["permission_sets"] or a["access"]["profiles"]) and not a["installed"]:
        raise Invalid(
            "app.access", "access can only be granted to an installed app (SetupEntityAccess)"
        )
    a["oauth_policy"] = validate_oauth_policy(app.get("oauth_policy"), "app.oauth_policy")
    for key, needs in (("installed_by", "installed"), ("policy_changed_by", "admin_approved")):
        a[key] = _admin_by(app.get(key), f"app.{key}", needs, a[needs], out, profiles)
    out["app"] = a

    app_names = [a["name"]]
    out["other_apps"] = []
    for i, other in enumerate(expect(top.get("other_apps"), list, "other_apps", [])):
        p = f"other_apps[{i}]"
        expect(other, dict, p, required=True)
        keys(other, {"name", "label", "installed"}, p)
        name = expect(other.get("name"), str, f"{p}.name", required=True)
        if name in app_names:
            raise Invalid(f"{p}.name", f"duplicate app '{name}'")
        app_names.append(name)
        out["other_apps"].append(
            {
                "name": name,
                "label": expect(other.get("label"), str, f"{p}.label", name),
                "installed": expect(other.get("installed"), bool, f"{p}.installed", True),
            }
        )

    out["tokens"] = []
    per_user_app: dict[tuple[str, str], int] = {}
    for i, tok in enumerate(expect(top.get("tokens"), list, "tokens", [])):
        p = f"tokens[{i}]"
        expect(tok, dict, p, required=True)
        keys(tok, {"user", "app", "created_days_ago", "last_used_days_ago", "use_count"}, p)
        who = expect(tok.get("user"), str, f"{p}.user", required=True)
        if who not in usernames:
            raise Invalid(f"{p}.user", f"unknown user '{who}'")
        app_name = expect(tok.get("app"), str, f"{p}.app", a["name"])
        if app_name not in app_names:
            raise Invalid(
                f"{p}.app", f"unknown app '{app_name}' (declare it under app or other_apps)"
            )
        if app_name == a["name"] and not a["visible"]:
            raise Invalid(
                f"{p}.app", "the app has a token, so it must be visible (app.visible: true)"
            )
        held = per_user_app[(who, app_name)] = per_user_app.get((who, app_name), 0) + 1
        if held > TOKENS_PER_USER_PER_APP:
            raise Invalid(
                f"{p}.user",
                f"more than {TOKENS_PER_USER_PER_APP} tokens for user '{who}' and app '{app_name}' "
                f"(Salesforce keeps at most {TOKENS_PER_USER_PER_APP} per user per app and revokes the "
                "oldest on a new authorization, facts §10.1)",
            )
        created = bounded(tok.get("created_days_ago"), f"{p}.created_days_ago", 30, 0, MAX_DAYS)
        out["tokens"].append(
            {
                "user": who,
                "app": app_name,
                "created_days_ago": created,
                # A token is used after it is created: at most created_days_ago days ago.
                "last_used_days_ago": bounded(
                    tok.get("last_used_days_ago"), f"{p}.last_used_days_ago", 0, 0, created
                ),
                "use_count": bounded(tok.get("use_count"), f"{p}.use_count", 1, 0, MAX_USE_COUNT),
            }
        )

    out["eca"] = validate_eca(top.get("eca"), out, STANDARD_PROFILES)

    client = expect(top.get("client_app"), dict, "client_app", {})
    keys(client, {"state", "installed_days_ago"}, "client_app")
    client_state = expect(client.get("state"), str, "client_app.state", "uninstalled")
    if client_state not in CLIENT_APP_STATES:
        raise Invalid(
            "client_app.state",
            f"must be one of {', '.join(CLIENT_APP_STATES)}, got '{client_state}'",
        )
    out["client_app"] = {
        "state": client_state,
        "installed_days_ago": bounded(
            client.get("installed_days_ago"), "client_app.installed_days_ago", 90, 0, MAX_DAYS
        ),
    }

    auto = expect(top.get("autopilot"), dict, "autopilot", {})
    keys(auto, {"setup_user", "integration_user", "polls_before_action"}, "autopilot")
    out["autopilot"] = {
        "setup_user": expect(auto.get("setup_user"), str, "autopilot.setup_user", connected),
        "integration_user": expect(auto.get("integration_user"), str, "autopilot.integration_user"),
        "polls_before_action": expect(
            auto.get("polls_before_action"), int, "autopilot.polls_before_action", 3
        ),
    }
    for key in ("setup_user", "integration_user"):
        who = out["autopilot"][key]
        if who is not None and who not in usernames:
            raise Invalid(f"autopilot.{key}", f"unknown user '{who}'")
    if out["autopilot"]["polls_before_action"] < 1:
        raise Invalid("autopilot.polls_before_action", "must be at least 1")
    _check_permission_names(out)
    return out


#: What a user needs to install a connected app on OAuth Usage (facts §7.1: "Customize Application AND either
#: Modify All Data OR Manage Connected Apps"; the simulator has no Manage Connected Apps, so Modify All Data),
#: and, the simulator assumes, to edit its policies (UNCERTAIN: not documented separately).
INSTALL_PERMISSIONS = ("CustomizeApplication", "ModifyAllData")


def _admin_by(value, path: str, needs: str, holds: bool, out: dict, profiles: dict) -> str | None:
    """``app.installed_by`` / ``app.policy_changed_by``: the username of the admin who did that Setup change
    before the run (its SetupAuditTrail entry's ``CreatedById``, facts §10.4; default None: the autopilot's
    setup user, else the connected user). Refused: an unknown user, a change the app does not have (``needs``
    false), or a user without :data:`INSTALL_PERMISSIONS` through its profile or assigned permission sets."""
    who = expect(value, str, path)
    if who is None:
        return None
    user = next((u for u in out["users"] if u["username"] == who), None)
    if user is None:
        raise Invalid(path, f"unknown user '{who}'")
    if not holds:
        raise Invalid(path, f"only an app with app.{needs}: true was changed by someone")
    held = set(profiles[user["profile"]][1])
    for ps in out["permission_sets"]:
        if who in ps["assigned_to"]:
            held |= set(ps["permissions"])
    missing = [p for p in INSTALL_PERMISSIONS if p not in held]
    if missing:
        raise Invalid(
            path,
            f"'{who}' could not have done it: lacks {', '.join(missing)} (installing a connected app "
            "needs Customize Application and Modify All Data, facts §7.1)",
        )
    return who


def _check_permission_names(out: dict[str, Any]) -> None:
    """Every listed permission must be a ``Permissions*`` field of this org's PermissionSet (so
    ``UseAnyApiClient`` only where API Access Control is provisioned; salesforce-facts.md §1.2)."""
    from orgsim import schema

    features = (
        {schema.API_ACCESS_CONTROL}
        if out["features"]["api_access_control"]["provisioned"]
        else set()
    )
    known = {schema.permission_name(n) for n in schema.permission_field_names(features)}
    for kind in ("profiles", "permission_sets"):
        for i, entry in enumerate(out[kind]):
            for j, perm in enumerate(entry["permissions"]):
                if perm not in known:
                    raise Invalid(
                        f"{kind}[{i}].permissions[{j}]",
                        f"unknown user permission '{perm}' in this org (known: {', '.join(sorted(known))})",
                    )


def _permissions(value, path) -> list[str]:
    perms = expect(value, list, path, [])
    for j, perm in enumerate(perms):
        if not isinstance(perm, str) or not perm.isidentifier() or perm.startswith("Permissions"):
            raise Invalid(
                f"{path}[{j}]",
                f"must be a user permission API name like 'ApiEnabled', got {perm!r}",
            )
    return list(perms)
