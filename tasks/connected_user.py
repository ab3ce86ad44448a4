"""The admin rights the 6sense procedure needs from the user cci is connected as, read by query before any
step writes: all of them by ``sixsense_validate_inputs`` at the start of a flow, and the ones a writing step
needs (its ``connected_user_needs``) by the step itself before its first write when it runs alone or in a flow
that did not check them (``SixsenseOrgMixin._before_first_write``).

Salesforce refuses a user with API access and no admin rights the Metadata API (``INSUFFICIENT_ACCESS``),
permission set assignments (``INSUFFICIENT_ACCESS_OR_READONLY``) and the Setup objects (``INVALID_TYPE``):
the rules and their sources are in ``docs/salesforce-permissions.md``. Without this check a flow would fail
halfway, after earlier steps wrote; with it, it stops first and names each missing permission.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .errors import SixsenseOrgError
from .queries import soql_quote
from .vendor import VENDOR

#: Setup labels of the user permissions named here (API name without the ``Permissions`` prefix).
LABELS = {
    "ModifyAllData": "Modify All Data",
    "ModifyMetadata": "Modify Metadata Through Metadata API Functions",
    "ViewSetup": "View Setup and Configuration",
    "ManageUsers": "Manage Users",
    "AssignPermissionSets": "Assign Permission Sets",
    "CustomizeApplication": "Customize Application",
    "ManageProfilesPermissionsets": "Manage Profiles and Permission Sets",
}


@dataclass(frozen=True)
class Requirement:
    """One need of the procedure, named by ``key`` (what a step lists in ``connected_user_needs``): any of
    ``permissions`` (API names) suffices; ``why`` is shown to the user."""

    key: str
    permissions: tuple[str, ...]
    why: str

    @property
    def label(self) -> str:
        return " or ".join(LABELS[p] for p in self.permissions)


#: What the flows do as the connected user, and the permission each needs (docs/salesforce-permissions.md).
REQUIREMENTS = (
    Requirement(
        "metadata_api",
        ("ModifyAllData", "ModifyMetadata"),
        "deploy and retrieve through the Metadata API (the permission sets in force-app, Permitted Users, "
        "the ECA policies)",
    ),
    Requirement(
        "view_setup",
        ("ViewSetup",),
        "read PermissionSetAssignment, SetupEntityAccess and the Tooling API",
    ),
    Requirement(
        "manage_users",
        ("ManageUsers",),
        "assign permission sets and see other users' OAuth tokens (the integration user's grants)",
    ),
    Requirement(
        "customize_application",
        ("CustomizeApplication",),
        f"see other users' OAuth tokens and install the {VENDOR.label} ECA package",
    ),
    Requirement(
        "manage_profiles_permission_sets",
        ("ManageProfilesPermissionsets",),
        f"give permission sets and profiles access to the {VENDOR.label} app (SetupEntityAccess)",
    ),
)

#: The requirements by key.
BY_KEY = {r.key: r for r in REQUIREMENTS}

#: PermissionSetAssignment is readable only with one of these (Object Reference, Special Access Rules).
ASSIGNMENTS_READABLE_WITH = ("ViewSetup", "AssignPermissionSets", "ManageUsers")


def check_connected_user(
    task, needs: Sequence[str] | None = None
) -> tuple[list[list[str]], str | None]:
    """Read the connected user's effective permissions (profile plus assigned permission sets) and compare
    them with :data:`REQUIREMENTS`, or only the ones whose keys ``needs`` lists (``KeyError`` for an unknown
    key). Read-only: one User query, one PermissionSetAssignment query.

    Returns ``(rows, problem)``: rows for the Inputs table (``[check, value, result]``) and ``None``, or one
    message naming every missing permission, what it is for and how to get it. A requirement none of whose
    permissions this org's ``describe('Profile')`` knows is "not checkable" (logged, never "held").
    When the user's permission sets cannot be read, only the profile counts and the message says so: could
    not read is never "not held", but the flow still stops, as it cannot show the rights are there.
    """
    requirements = REQUIREMENTS if needs is None else tuple(BY_KEY[key] for key in needs)
    username = task.org_config.username
    known = [
        p
        for r in requirements
        for p in r.permissions
        if task._has_permission_field(p, "Profile") and task._has_permission_field(p)
    ]
    if not username:
        task.logger.warning(
            "cci's org config names no username; the connected user's admin rights were not checked."
        )
        return [["connected user admin rights", "not checkable", "skipped"]], None
    if not known:
        task.logger.warning(
            "This org's PermissionSet and Profile describes have none of the permission fields the "
            "procedure needs; the connected user's admin rights were not checked."
        )
        return [["connected user admin rights", "not checkable", "skipped"]], None
    profile_fields = ", ".join(f"Profile.Permissions{p}" for p in known)
    users = task._query(
        f"SELECT Id, Username, Profile.Name, {profile_fields} FROM User "
        f"WHERE Username = {soql_quote(username)}"
    )
    users = [u for u in users if (u.get("Username") or "").lower() == username.lower()]
    if not users:
        return [["connected user", username, "FAIL"]], (
            f"The user cci is connected as ({username}) was not found in this org; reconnect the org "
            "(cci org connect <org>)."
        )
    user = users[0]
    profile = user.get("Profile") or {}
    sources: dict[str, list[str]] = {
        p: [f"profile {profile.get('Name')}"] for p in known if profile.get(f"Permissions{p}")
    }
    unreadable = None
    fields = ", ".join(f"PermissionSet.Permissions{p}" for p in known)
    try:
        rows = task._query(
            f"SELECT PermissionSet.Name, {fields} FROM PermissionSetAssignment "
            f"WHERE AssigneeId = {soql_quote(user['Id'])} AND PermissionSet.IsOwnedByProfile = false"
        )
    except SixsenseOrgError as error:
        text = str(error)
        code = next((c for c in ("INVALID_TYPE", "INSUFFICIENT_ACCESS") if c in text), None)
        unreadable = f"the org answered {code}" if code else text.splitlines()[0][:200]
        rows = []
    for row in rows:
        ps = row.get("PermissionSet") or {}
        for p in known:
            if ps.get(f"Permissions{p}"):
                sources.setdefault(p, []).append(f"permission set {ps.get('Name')}")

    table = [["connected user", f"{user['Username']} (profile {profile.get('Name')})", "ok"]]
    missing = []
    for req in requirements:
        checkable = [p for p in req.permissions if p in known]
        if not checkable:
            task.logger.warning(
                f"This org's describe has no field for {req.label}; not checked for the connected user."
            )
            table.append([f"connected user: {req.label}", "not checkable", "skipped"])
            continue
        held = [s for p in checkable for s in sources.get(p, [])]
        if held:
            table.append([f"connected user: {req.label}", ", ".join(dict.fromkeys(held)), "ok"])
        else:
            missing.append(req)
            table.append([f"connected user: {req.label}", "not held", "FAIL"])
    if not missing:
        return table, None
    lines = [
        f"The user cci is connected as ({user['Username']}, profile {profile.get('Name')}) lacks permissions "
        f"the {VENDOR.label} setup needs; nothing was written:"
    ]
    lines += [f"  - {req.label}: to {req.why}." for req in missing]
    if unreadable:
        lines.append(
            "  Its permission sets could not be read, so only its profile was checked: reading them needs "
            f"{' or '.join(LABELS[p] for p in ASSIGNMENTS_READABLE_WITH)} ({unreadable})."
        )
    lines.append(
        "Give this user these permissions (a permission set assigned to it, or the System Administrator "
        "profile), or connect cci as an admin who holds them (cci org connect <org>, logging in as that "
        "admin). Then run it again."
    )
    return table, "\n".join(lines)


#: The rights under which other users' OauthToken rows are visible: the Object Reference v67 says Customize
#: Application, older documentation Manage Users (facts §10.1). Only a user holding both sees them under either
#: reading; holding one is "in doubt", and the facts say to report "could not see other users' tokens" then.
OTHERS_TOKENS_NEED = ("manage_users", "customize_application")


def others_tokens_hidden(task) -> str | None:
    """Why other users' OauthToken rows may be hidden from the connected user (a sentence for "could not
    read: ..."), or ``None`` when it holds both :data:`OTHERS_TOKENS_NEED` rights, read now
    (:func:`check_connected_user`, read-only). Rights that could not be read are a reason too: an empty OauthToken read is then
    never "no tokens". (Where this org's describe has neither permission field, nothing can be checked and,
    as in :func:`check_connected_user`, nothing is concluded: ``None``.)"""
    try:
        rows, problem = check_connected_user(task, OTHERS_TOKENS_NEED)
    except SixsenseOrgError as error:
        return f"the connected user's rights could not be read: {str(error).splitlines()[0][:200]}"
    if problem is None:
        return None
    results = {row[0]: row[2] for row in rows}
    labels = [BY_KEY[key].label for key in OTHERS_TOKENS_NEED]
    held = [label for label in labels if results.get(f"connected user: {label}") == "ok"]
    if not held:
        return (
            "the user cci is connected as holds neither Manage Users nor Customize Application, and "
            "Salesforce then shows it only its own OAuth tokens"
        )
    lacking = [label for label in labels if label not in held]
    return (
        f"the user cci is connected as holds {held[0]} but not {lacking[0]}; Salesforce documents either one "
        "as the right that shows other users' OAuth tokens (the current Object Reference says Customize "
        "Application, older documentation Manage Users), so an empty read may be only its own tokens. "
        "Give it both to read them"
    )
