"""Whether the setup and integration users can authorize: one check, used by ``sixsense_validate_inputs`` and
by every task that takes a user when it runs alone (through ``SixsenseOrgMixin._require_users``).

A user who cannot log in cannot make the vendor's OAuth authorization, and an integration user without API
access cannot sync. Refused before any write, one message per problem naming the user, its state and the fix:

- the setup user is the integration user (the vendor article: the one-time authorization is made by a setup
  user who is not the integration user);
- the integration user is the user cci is connected as (the procedure changes that user's access and asks it
  to reauthorize in the vendor's application: cci would act on, and may lose, its own session);
- a user that does not exist, or is inactive (``User.IsActive``);
- a user that is frozen (``UserLogin.IsFrozen``) or locked out after failed logins (``UserLogin.IsPasswordLocked``):
  neither can log in until an admin unfreezes or unlocks it (Object Reference "UserLogin"; Salesforce Help
  "Freeze or Unfreeze User Accounts", "Unlock a User"). UNCERTAIN in salesforce-facts.md: not in §10 yet;
- an integration user without API Enabled (facts §1.3: "To make any API call, a user must have the API
  Enabled permission"), or whose licence does not allow it (UNCERTAIN: :data:`API_LICENCES` lists the user
  licences known to allow API Enabled; for another licence the message says so rather than "give API Enabled").

Reading UserLogin needs Manage Users (which ``sixsense_validate_inputs`` already requires of the connected
user). Where it cannot be read, the states are reported "could not read" with the reason, never "not frozen",
and nothing is refused on them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from . import procedure
from .errors import SixsenseInputError, SixsenseOrgError
from .queries import soql_in

#: User licences (``Profile.UserLicense.Name``) known to allow the API Enabled permission (UNCERTAIN: Salesforce
#: Help "User Licenses"; not exhaustive).
API_LICENCES = (
    "Salesforce",
    "Salesforce Platform",
    "Salesforce Integration",
    "Force.com - App Subscription",
    "Force.com - One App",
    "Identity",
)

SETUP = "setup user"
INTEGRATION = "integration user"


def user_login_soql(user_ids: Sequence[str]) -> str:
    """The UserLogin rows (frozen, password-locked) of ``user_ids``."""
    return f"SELECT UserId, IsFrozen, IsPasswordLocked FROM UserLogin WHERE UserId IN {soql_in(user_ids)}"


@dataclass
class UserCheck:
    """What :func:`check_users` found: ``users`` by role (only those found), ``rows`` for an Inputs table
    (``[check, value, result]``), ``problems`` (one message each; empty when every user can authorize)."""

    users: dict[str, dict] = field(default_factory=dict)
    rows: list[list[str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def raise_problems(self) -> None:
        """``SixsenseInputError`` with every problem (one line when there is one), or nothing."""
        refuse(self.problems)


def refuse(problems: Sequence[str]) -> None:
    """``SixsenseInputError`` with every problem (one line when there is one), or nothing."""
    if not problems:
        return
    if len(problems) == 1:
        raise SixsenseInputError(problems[0])
    raise SixsenseInputError(
        "The users cannot authorize; nothing was written:\n"
        + "\n".join(f"  - {p}" for p in problems)
    )


def same_user_problems(
    setup: str | None, integration: str | None, connected: str | None, *, setup_defaulted: bool
) -> list[str]:
    """The problems that need no request: the setup user is the integration user, the integration user is the
    user cci is connected as. ``setup_defaulted``: ``setup`` is the connected user (no ``setup_username``)."""
    problems = []
    connected_is_integration = bool(
        integration and connected and integration.lower() == connected.lower()
    )
    setup_is_integration = bool(setup and integration and setup.lower() == integration.lower())
    # A defaulted setup user that is the integration user is the connected user: that message says the fix.
    if setup_is_integration and not (setup_defaulted and connected_is_integration):
        who = ", the user cci is connected as" if setup_defaulted else ""
        problems.append(
            f"The setup user ({setup}{who}) is the integration user: one person cannot be both (the same "
            f"user). The vendor article requires '{procedure.step('authorize_setup_user').name}' by a setup "
            "user who is not the integration user. Pass "
            "-o setup_username <admin username> (this task alone) or "
            "-o sixsense_validate_inputs__setup_username <admin username> (flow). Nothing was written."
        )
    if connected_is_integration:
        problems.append(
            f"The integration user {integration} is the user cci is connected as: the procedure changes that "
            "user's access and has it reauthorize in the vendor's application, which can end cci's own "
            "session mid-run, and cci's admin work would run as the sync user. Connect cci as an admin who "
            "is not the integration user (cci org connect <org>, logging in as that admin), or pass the real "
            "integration user. Nothing was written."
        )
    return problems


def missing_user(role: str, username: str) -> str:
    """The problem line for a ``role`` user (``setup user`` / ``integration user``) not in the org."""
    return (
        f"The {role} {username} does not exist in this org; check the username "
        f"(-o {role.replace(' ', '_')}name ...)."
    )


def inactive_user(role: str, username: str) -> str:
    """The problem line for an inactive ``role`` user."""
    return (
        f"The {role} {username} is inactive (User.IsActive false), so it cannot log in to "
        "authorize; activate it in Setup > Users or choose another user."
    )


def check_users(
    query: Callable[[str], list[dict]],
    usernames: dict[str, str],
    *,
    get_users: Callable[[Sequence[str]], dict[str, dict]],
    api_sources: Callable[[dict], list[str] | None],
) -> UserCheck:
    """Read the users of ``usernames`` (``{role: username}``, roles :data:`SETUP` / :data:`INTEGRATION`) and
    say whether each can authorize. Read-only: the User query of ``get_users``, one UserLogin query, and for
    the integration user its permission sources (``api_sources(user)``: where it holds API Enabled, ``[]``
    none, ``None`` not checkable). ``query``: the task's SOQL reader (raises ``SixsenseOrgError``)."""
    out = UserCheck()
    found = get_users(list(dict.fromkeys(usernames.values())))
    for role, username in usernames.items():
        user = found.get(username.lower())
        if not user:
            out.problems.append(missing_user(role, username))
            out.rows.append([f"{role} exists", username, "FAIL"])
            continue
        out.users[role] = user
        out.rows.append([f"{role} exists", user["Username"], "ok"])
        if not user.get("IsActive"):
            out.problems.append(inactive_user(role, username))
            out.rows.append([f"{role} active", "inactive", "FAIL"])
        else:
            out.rows.append([f"{role} active", "active", "ok"])
    if out.users:
        _login_states(query, out)
    integration = out.users.get(INTEGRATION)
    if integration is not None:
        _api_access(integration, api_sources(integration), out)
    return out


def _login_states(query: Callable[[str], list[dict]], out: UserCheck) -> None:
    ids = list(dict.fromkeys(u["Id"] for u in out.users.values()))
    try:
        rows = {r.get("UserId"): r for r in query(user_login_soql(ids))}
    except SixsenseOrgError as error:
        reason = str(error).splitlines()[0][:200]
        for role in out.users:
            out.rows.append([f"{role} frozen / locked", f"could not read: {reason}", "not checked"])
        return
    for role, user in out.users.items():
        login = rows.get(user["Id"])
        name = user["Username"]
        if login is None:
            out.rows.append(
                [f"{role} frozen / locked", "could not read: no UserLogin row", "not checked"]
            )
            continue
        if login.get("IsFrozen"):
            out.problems.append(
                f"The {role} {name} is frozen (UserLogin.IsFrozen), so it cannot log in to authorize; "
                f"unfreeze it in Setup > Users > {name} > Unfreeze, or choose another user."
            )
        if login.get("IsPasswordLocked"):
            out.problems.append(
                f"The {role} {name} is locked out after too many failed logins (UserLogin.IsPasswordLocked), "
                f"so it cannot log in to authorize; unlock it in Setup > Users > {name} > Unlock (or wait "
                "for the lockout period to end), then run again."
            )
        states = [
            s
            for s, on in (
                ("frozen", login.get("IsFrozen")),
                ("locked", login.get("IsPasswordLocked")),
            )
            if on
        ]
        out.rows.append(
            [f"{role} frozen / locked", ", ".join(states) or "neither", "FAIL" if states else "ok"]
        )


def _api_access(user: dict, sources: list[str] | None, out: UserCheck) -> None:
    name = user["Username"]
    profile = user.get("Profile") or {}
    licence = (profile.get("UserLicense") or {}).get("Name")
    if sources is None:
        out.rows.append(["integration user API Enabled", "not checkable", "skipped"])
        return
    if sources:
        out.rows.append(["integration user API Enabled", ", ".join(sources), "ok"])
        return
    out.rows.append(["integration user API Enabled", "not held", "FAIL"])
    if licence and licence not in API_LICENCES:
        out.problems.append(
            f"The integration user {name} has no API access and its licence {licence} (profile "
            f"{profile.get('Name')}) is not one that allows API Enabled, so it cannot sync. Give the user a "
            "profile of the Salesforce or Salesforce Integration licence with API Enabled (for example "
            "'Minimum Access - API Only Integrations'), or choose another user."
        )
        return
    out.problems.append(
        f"The integration user {name} has no API access (API Enabled is on neither its profile "
        f"{profile.get('Name')} nor an assigned permission set), so it cannot sync. Give it API Enabled "
        "(for example the 'Minimum Access - API Only Integrations' profile)."
    )
