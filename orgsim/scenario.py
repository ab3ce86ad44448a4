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
from orgsim.metadata import IP_RELAXATIONS, REFRESH_TOKEN_POLICY_RE

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
#: The tool's own connected app (CumulusCI's built-in app) as the org sees it (facts §10.1, §2).
CLIENT_APP_STATES = ("uninstalled", "installed", "allowlisted")
PERMITTED = ("admin_approved", "all_users")
#: No org's daily API allowance comes near this (Enterprise Edition: 100,000 plus 1,000 per Salesforce
#: licence; the REST API guide's example header is ``api-usage=10018/100000``): a larger value is a typo.
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
    except _Invalid as exc:
        raise ScenarioError(f"{shown}: {exc.path}: {exc.problem}") from None
    return Scenario(name=path.stem, path=path, data=data)


class _Invalid(Exception):
    def __init__(self, path: str, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path, self.problem = path, problem


def _expect(value, kind, path, default=None, required=False):
    if value is None:
        if required:
            raise _Invalid(path, "required")
        return default
    kinds = {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "true or false",
        int: "an integer",
    }
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise _Invalid(path, f"must be {kinds[kind]}, got {value!r}")
    return value


def _bounded(value, path: str, default: int, low: int, high: int) -> int:
    """An integer field within ``[low, high]``, else ``path: must be between low and high``."""
    number = _expect(value, int, path, default)
    if not low <= number <= high:
        raise _Invalid(path, f"must be between {low:,} and {high:,}, got {number:,}")
    return number


def _keys(mapping: dict, allowed: set[str], path: str) -> None:
    for key in mapping:
        if key not in allowed:
            raise _Invalid(
                f"{path}.{key}" if path else str(key),
                f"unknown field (allowed: {', '.join(sorted(allowed))})",
            )


def _validate(raw: Any) -> dict[str, Any]:  # noqa: C901 - one linear walk over the format
    top = _expect(raw, dict, "(top level)", required=True)
    _keys(
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
    out: dict[str, Any] = {"description": _expect(top.get("description"), str, "description", "")}

    org = _expect(top.get("org"), dict, "org", {})
    _keys(
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
    kind = _expect(org.get("kind"), str, "org.kind", "production")
    if kind not in ORG_KINDS:
        raise _Invalid("org.kind", f"must be one of {', '.join(ORG_KINDS)}, got '{kind}'")
    out["org"] = {
        "name": _expect(org.get("name"), str, "org.name", "Acme Corp"),
        "edition": _expect(org.get("edition"), str, "org.edition", "Enterprise Edition"),
        "kind": kind,
        "instance_name": _expect(org.get("instance_name"), str, "org.instance_name", "NA224"),
        "namespace_prefix": _expect(org.get("namespace_prefix"), str, "org.namespace_prefix"),
        "trial_days": (
            None
            if org.get("trial_days") is None
            else _bounded(org.get("trial_days"), "org.trial_days", 0, 0, MAX_DAYS)
        ),
        # The daily API request allowance and the requests already used (Identity.count_api_request).
        "daily_api_requests": _bounded(
            org.get("daily_api_requests"), "org.daily_api_requests", 100_000, 1, MAX_API_REQUESTS
        ),
    }
    out["org"]["api_requests_used"] = _bounded(
        org.get("api_requests_used"),
        "org.api_requests_used",
        0,
        0,
        out["org"]["daily_api_requests"],
    )

    features = _expect(top.get("features"), dict, "features", {})
    _keys(
        features,
        {
            "api_access_control",
            "connected_app_metadata_retrievable",
            "eca_policy_metadata_deployable",
            "oauth_token_visibility",
        },
        "features",
    )
    acc = _expect(features.get("api_access_control"), dict, "features.api_access_control", {})
    _keys(acc, {"provisioned", "enforcing"}, "features.api_access_control")
    provisioned = _expect(
        acc.get("provisioned"), bool, "features.api_access_control.provisioned", False
    )
    enforcing = _expect(acc.get("enforcing"), bool, "features.api_access_control.enforcing", False)
    if enforcing and not provisioned:
        raise _Invalid(
            "features.api_access_control.enforcing", "cannot be true unless provisioned is true"
        )
    out["features"] = {
        "api_access_control": {"provisioned": provisioned, "enforcing": enforcing},
        "connected_app_metadata_retrievable": _expect(
            features.get("connected_app_metadata_retrievable"),
            bool,
            "features.connected_app_metadata_retrievable",
            False,
        ),
        # Whether ExtlClntAppOauthConfigurablePolicies can be deployed for the packaged 6sense ECA (facts §6.3).
        "eca_policy_metadata_deployable": _expect(
            features.get("eca_policy_metadata_deployable"),
            bool,
            "features.eca_policy_metadata_deployable",
            False,
        ),
        # Who sees other users' OauthToken rows (facts §10.1: two readings; docs/salesforce-permissions.md).
        "oauth_token_visibility": _expect(
            features.get("oauth_token_visibility"),
            str,
            "features.oauth_token_visibility",
            "both",
        ),
    }
    if out["features"]["oauth_token_visibility"] not in OAUTH_TOKEN_VISIBILITY:
        raise _Invalid(
            "features.oauth_token_visibility",
            f"must be one of {', '.join(OAUTH_TOKEN_VISIBILITY)}",
        )

    profiles = dict(STANDARD_PROFILES)
    out["profiles"] = []
    for i, prof in enumerate(_expect(top.get("profiles"), list, "profiles", [])):
        p = f"profiles[{i}]"
        _expect(prof, dict, p, required=True)
        _keys(prof, {"name", "license", "permissions"}, p)
        name = _expect(prof.get("name"), str, f"{p}.name", required=True)
        if name in profiles:
            raise _Invalid(f"{p}.name", f"duplicate profile '{name}'")
        perms = _permissions(prof.get("permissions"), f"{p}.permissions")
        profiles[name] = (_expect(prof.get("license"), str, f"{p}.license", "Salesforce"), perms)
        out["profiles"].append({"name": name, "license": profiles[name][0], "permissions": perms})

    usernames: dict[
        str, None
    ] = {}  # ordered, with O(1) lookups (scenarios may hold thousands of users)
    out["users"] = []
    for i, user in enumerate(_expect(top.get("users"), list, "users", [])):
        p = f"users[{i}]"
        _expect(user, dict, p, required=True)
        _keys(
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
            },
            p,
        )
        username = _expect(user.get("username"), str, f"{p}.username", required=True)
        if username in usernames:
            raise _Invalid(f"{p}.username", f"duplicate username '{username}'")
        profile = _expect(user.get("profile"), str, f"{p}.profile", required=True)
        if profile not in profiles:
            raise _Invalid(f"{p}.profile", f"unknown profile '{profile}'")
        name = _expect(user.get("name"), str, f"{p}.name", username.split("@")[0])
        alias = _expect(user.get("alias"), str, f"{p}.alias", username.split("@")[0][:8])
        if len(alias) > 8:
            raise _Invalid(f"{p}.alias", f"at most 8 characters (User.Alias), got '{alias}'")
        usernames[username] = None
        out["users"].append(
            {
                "username": username,
                "name": name,
                "alias": alias,
                "profile": profile,
                "email": _expect(user.get("email"), str, f"{p}.email", username),
                "active": _expect(user.get("active"), bool, f"{p}.active", True),
                # UserLogin.IsFrozen / IsPasswordLocked (Object Reference "UserLogin"; default false).
                "frozen": _expect(user.get("frozen"), bool, f"{p}.frozen", False),
                "password_locked": _expect(
                    user.get("password_locked"), bool, f"{p}.password_locked", False
                ),
            }
        )
    if not usernames:
        raise _Invalid("users", "at least one user is required")

    connected = _expect(top.get("connected_user"), str, "connected_user", next(iter(usernames)))
    if connected not in usernames:
        raise _Invalid("connected_user", f"unknown user '{connected}'")
    out["connected_user"] = connected

    permsets: list[str] = []
    out["permission_sets"] = []
    for i, ps in enumerate(_expect(top.get("permission_sets"), list, "permission_sets", [])):
        p = f"permission_sets[{i}]"
        _expect(ps, dict, p, required=True)
        _keys(ps, {"name", "label", "permissions", "assigned_to"}, p)
        name = _expect(ps.get("name"), str, f"{p}.name", required=True)
        if name in permsets:
            raise _Invalid(f"{p}.name", f"duplicate permission set '{name}'")
        assigned = _expect(ps.get("assigned_to"), list, f"{p}.assigned_to", [])
        for j, who in enumerate(assigned):
            if who not in usernames:
                raise _Invalid(f"{p}.assigned_to[{j}]", f"unknown user '{who}'")
        permsets.append(name)
        out["permission_sets"].append(
            {
                "name": name,
                "label": _expect(ps.get("label"), str, f"{p}.label", name.replace("_", " ")),
                "permissions": _permissions(ps.get("permissions"), f"{p}.permissions"),
                "assigned_to": assigned,
            }
        )

    app = _expect(top.get("app"), dict, "app", {})
    _keys(
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
            "oauth_policy",
        },
        "app",
    )
    a = {
        "name": _expect(app.get("name"), str, "app.name", DEFAULT_APP),
        "visible": _expect(app.get("visible"), bool, "app.visible", False),
        "installed": _expect(app.get("installed"), bool, "app.installed", False),
        "admin_approved": _expect(app.get("admin_approved"), bool, "app.admin_approved", False),
        "blocked": _expect(app.get("blocked"), bool, "app.blocked", False),
        "installed_days_ago": _bounded(
            app.get("installed_days_ago"), "app.installed_days_ago", 30, 0, MAX_DAYS
        ),
        "policy_changed_days_ago": (
            None
            if app.get("policy_changed_days_ago") is None
            else _bounded(
                app.get("policy_changed_days_ago"), "app.policy_changed_days_ago", 0, 0, MAX_DAYS
            )
        ),
    }
    a["label"] = _expect(app.get("label"), str, "app.label", a["name"])
    a["consumer_key"] = _expect(
        app.get("consumer_key"), str, "app.consumer_key", "3MVG9" + a["name"]
    )
    if a["installed"] and not a["visible"]:
        raise _Invalid(
            "app.installed", "an installed app must also be visible (it was used before Install)"
        )
    if a["admin_approved"] and not a["installed"]:
        raise _Invalid("app.admin_approved", "only an installed app has policies")
    access = _expect(app.get("access"), dict, "app.access", {})
    _keys(access, {"permission_sets", "profiles"}, "app.access")
    a["access"] = {"permission_sets": [], "profiles": []}
    for j, name in enumerate(
        _expect(access.get("permission_sets"), list, "app.access.permission_sets", [])
    ):
        if name not in permsets:
            raise _Invalid(f"app.access.permission_sets[{j}]", f"unknown permission set '{name}'")
        a["access"]["permission_sets"].append(name)
    for j, name in enumerate(_expect(access.get("profiles"), list, "app.access.profiles", [])):
        if name not in profiles:
            raise _Invalid(f"app.access.profiles[{j}]", f"unknown profile '{name}'")
        a["access"]["profiles"].append(name)
    if (a["access"]["permission_sets"] or a["access"]["profiles"]) and not a["installed"]:
        raise _Invalid(
            "app.access", "access can only be granted to an installed app (SetupEntityAccess)"
        )
    a["oauth_policy"] = _validate_oauth_policy(app.get("oauth_policy"), "app.oauth_policy")
    out["app"] = a

    app_names = [a["name"]]
    out["other_apps"] = []
    for i, other in enumerate(_expect(top.get("other_apps"), list, "other_apps", [])):
        p = f"other_apps[{i}]"
        _expect(other, dict, p, required=True)
        _keys(other, {"name", "label", "installed"}, p)
        name = _expect(other.get("name"), str, f"{p}.name", required=True)
        if name in app_names:
            raise _Invalid(f"{p}.name", f"duplicate app '{name}'")
        app_names.append(name)
        out["other_apps"].append(
            {
                "name": name,
                "label": _expect(other.get("label"), str, f"{p}.label", name),
                "installed": _expect(other.get("installed"), bool, f"{p}.installed", True),
            }
        )

    out["tokens"] = []
    per_user_app: dict[tuple[str, str], int] = {}
    for i, tok in enumerate(_expect(top.get("tokens"), list, "tokens", [])):
        p = f"tokens[{i}]"
        _expect(tok, dict, p, required=True)
        _keys(tok, {"user", "app", "created_days_ago", "last_used_days_ago", "use_count"}, p)
        who = _expect(tok.get("user"), str, f"{p}.user", required=True)
        if who not in usernames:
            raise _Invalid(f"{p}.user", f"unknown user '{who}'")
        app_name = _expect(tok.get("app"), str, f"{p}.app", a["name"])
        if app_name not in app_names:
            raise _Invalid(
                f"{p}.app", f"unknown app '{app_name}' (declare it under app or other_apps)"
            )
        if app_name == a["name"] and not a["visible"]:
            raise _Invalid(
                f"{p}.app", "the app has a token, so it must be visible (app.visible: true)"
            )
        held = per_user_app[(who, app_name)] = per_user_app.get((who, app_name), 0) + 1
        if held > TOKENS_PER_USER_PER_APP:
            raise _Invalid(
                f"{p}.user",
                f"more than {TOKENS_PER_USER_PER_APP} tokens for user '{who}' and app '{app_name}' "
                f"(Salesforce keeps at most {TOKENS_PER_USER_PER_APP} per user per app and revokes the "
                "oldest on a new authorization, facts §10.1)",
            )
        created = _bounded(tok.get("created_days_ago"), f"{p}.created_days_ago", 30, 0, MAX_DAYS)
        out["tokens"].append(
            {
                "user": who,
                "app": app_name,
                "created_days_ago": created,
                # A token is used after it is created: at most created_days_ago days ago.
                "last_used_days_ago": _bounded(
                    tok.get("last_used_days_ago"), f"{p}.last_used_days_ago", 0, 0, created
                ),
                "use_count": _bounded(tok.get("use_count"), f"{p}.use_count", 1, 0, MAX_USE_COUNT),
            }
        )

    out["eca"] = _validate_eca(top.get("eca"), out)

    client = _expect(top.get("client_app"), dict, "client_app", {})
    _keys(client, {"state", "installed_days_ago"}, "client_app")
    client_state = _expect(client.get("state"), str, "client_app.state", "uninstalled")
    if client_state not in CLIENT_APP_STATES:
        raise _Invalid(
            "client_app.state",
            f"must be one of {', '.join(CLIENT_APP_STATES)}, got '{client_state}'",
        )
    out["client_app"] = {
        "state": client_state,
        "installed_days_ago": _bounded(
            client.get("installed_days_ago"), "client_app.installed_days_ago", 90, 0, MAX_DAYS
        ),
    }

    auto = _expect(top.get("autopilot"), dict, "autopilot", {})
    _keys(auto, {"setup_user", "integration_user", "polls_before_action"}, "autopilot")
    out["autopilot"] = {
        "setup_user": _expect(auto.get("setup_user"), str, "autopilot.setup_user", connected),
        "integration_user": _expect(
            auto.get("integration_user"), str, "autopilot.integration_user"
        ),
        "polls_before_action": _expect(
            auto.get("polls_before_action"), int, "autopilot.polls_before_action", 3
        ),
    }
    for key in ("setup_user", "integration_user"):
        who = out["autopilot"][key]
        if who is not None and who not in usernames:
            raise _Invalid(f"autopilot.{key}", f"unknown user '{who}'")
    if out["autopilot"]["polls_before_action"] < 1:
        raise _Invalid("autopilot.polls_before_action", "must be at least 1")
    _check_permission_names(out)
    return out


def _validate_oauth_policy(raw, path: str) -> dict[str, str]:
    """``{ip_relaxation [ENFORCE], refresh_token_policy [infinite]}``: the installed app's OAuth policies as
    its ConnectedApp metadata shows them (``oauthPolicy/ipRelaxation``, ``refreshTokenPolicy``; facts §6.1
    gives both defaults)."""
    policy = _expect(raw, dict, path, {})
    _keys(policy, {"ip_relaxation", "refresh_token_policy"}, path)
    ip = _expect(policy.get("ip_relaxation"), str, f"{path}.ip_relaxation", "ENFORCE")
    if ip not in IP_RELAXATIONS:
        raise _Invalid(f"{path}.ip_relaxation", f"must be one of {', '.join(IP_RELAXATIONS)}")
    refresh = _expect(
        policy.get("refresh_token_policy"), str, f"{path}.refresh_token_policy", "infinite"
    )
    if not REFRESH_TOKEN_POLICY_RE.fullmatch(refresh):
        raise _Invalid(
            f"{path}.refresh_token_policy",
            "must be zero, infinite, specific_lifetime:N:UNIT or specific_inactivity:N:UNIT "
            f"(UNIT HOURS, DAYS or MONTHS), got '{refresh}'",
        )
    return {"ip_relaxation": ip, "refresh_token_policy": refresh}


def _validate_eca(raw, out: dict[str, Any]) -> dict[str, Any]:
    """``eca: {installed, installed_version, policies: {...}}`` (the keys of ``orgsim.eca.POLICY_FIELDS``,
    metadata values; see ``orgsim/eca.py``). Each policy value is checked by ``eca.check_policy_value``;
    ``comma_separated_permission_set`` lists names of this scenario's ``permission_sets`` and
    ``comma_separated_profile`` names of its profiles (the seed writes the permission sets' ids)."""
    from orgsim import eca

    e = _expect(raw, dict, "eca", {})
    _keys(e, {"installed", "installed_version", "policies"}, "eca")
    version = _expect(e.get("installed_version"), str, "eca.installed_version", "1.0")
    if version not in eca.VERSIONS:
        raise _Invalid("eca.installed_version", f"must be one of {', '.join(eca.VERSIONS)}")
    policies = dict(_expect(e.get("policies"), dict, "eca.policies", {}))
    _keys(policies, {key for _, _, key in eca.POLICY_FIELDS}, "eca.policies")
    known = {
        "comma_separated_permission_set": {p["name"] for p in out["permission_sets"]},
        "comma_separated_profile": set(STANDARD_PROFILES) | {p["name"] for p in out["profiles"]},
    }
    for key, value in policies.items():
        path = f"eca.policies.{key}"
        if key in known:
            names = _expect(value, list, path, [])
            for i, name in enumerate(names):
                if name not in known[key]:
                    what = "permission set" if key.endswith("permission_set") else "profile"
                    raise _Invalid(f"{path}[{i}]", f"unknown {what} {name!r}")
            policies[key] = names or None
            continue
        try:
            policies[key] = eca.check_policy_value(key, value)
        except ValueError as exc:
            raise _Invalid(path, str(exc)) from None
    return {
        "installed": _expect(e.get("installed"), bool, "eca.installed", False),
        "installed_version": version,
        "policies": policies,
    }


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
                    raise _Invalid(
                        f"{kind}[{i}].permissions[{j}]",
                        f"unknown user permission '{perm}' in this org (known: {', '.join(sorted(known))})",
                    )


def _permissions(value, path) -> list[str]:
    perms = _expect(value, list, path, [])
    for j, perm in enumerate(perms):
        if not isinstance(perm, str) or not perm.isidentifier() or perm.startswith("Permissions"):
            raise _Invalid(
                f"{path}[{j}]",
                f"must be a user permission API name like 'ApiEnabled', got {perm!r}",
            )
    return list(perms)
