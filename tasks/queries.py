"""The SOQL texts of the sixsense_* tasks, each written once (SOQL and SOSL Reference).

Values are quoted with ``soql_quote``; no query selects a token value (``OauthToken.AccessToken``,
``DeleteToken``, ``RequestToken``). Each function returns one query string.
"""

from collections.abc import Iterable


def soql_quote(value: str) -> str:
    """A SOQL string literal: backslash and single quote escaped (SOQL reference, "Quoted String Escape
    Sequences"). ``soql_quote("O'Brien")`` -> ``'O\\'Brien'``."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def soql_in(values: Iterable[str]) -> str:
    """``('a', 'b')`` for ``WHERE x IN ...``; values are quoted with ``soql_quote``."""
    return "(" + ", ".join(soql_quote(v) for v in values) + ")"


def connected_apps_soql(names: Iterable[str]) -> str:
    """The installed apps among ``names`` (ConnectedApplication; read-only object)."""
    return (
        "SELECT Id, Name, CreatedDate, LastModifiedDate, OptionsAllowAdminApprovedUsersOnly "
        f"FROM ConnectedApplication WHERE Name IN {soql_in(names)}"
    )


def _oauth_tokens_where(
    names: Iterable[str] | None, user_id: str | None, user_ids: Iterable[str] | None
) -> str:
    where = []
    if names:
        where.append(f"AppName IN {soql_in(names)}")
    if user_id:
        where.append(f"UserId = {soql_quote(user_id)}")
    if user_ids is not None:
        where.append(f"UserId IN {soql_in(user_ids)}")
    return " WHERE " + " AND ".join(where) if where else ""


def oauth_tokens_soql(
    names: Iterable[str] | None = None,
    user_id: str | None = None,
    user_ids: Iterable[str] | None = None,
) -> str:
    """OauthToken rows of the app ``names`` and/or one user (``user_id``) or a chunk of users
    (``user_ids``); never the token values."""
    soql = (
        "SELECT AppName, UserId, User.Username, CreatedDate, LastUsedDate, UseCount, AppMenuItemId "
        "FROM OauthToken"
    )
    return soql + _oauth_tokens_where(names, user_id, user_ids)


def oauth_tokens_count_soql(
    names: Iterable[str] | None = None,
    user_id: str | None = None,
    user_ids: Iterable[str] | None = None,
) -> str:
    """``SELECT COUNT()`` of the rows :func:`oauth_tokens_soql` selects with the same arguments (facts §4.1:
    count first, a COUNT() is not cut by the 2,500-row cap)."""
    return "SELECT COUNT() FROM OauthToken" + _oauth_tokens_where(names, user_id, user_ids)


#: Every user's Id, to read OauthToken by chunks of users past the row cap (facts §4.1 "split the query by
#: UserId"). SOQL on User returns inactive users too.
USER_IDS_SOQL = "SELECT Id FROM User ORDER BY Id"


def app_access_parents_soql(app_ids: Iterable[str]) -> str:
    """The permission sets (profile-owned ones included) pre-authorized for the apps ``app_ids``
    (ConnectedApplication Ids): SetupEntityAccess ``ParentId`` (facts §5)."""
    return f"SELECT ParentId FROM SetupEntityAccess WHERE SetupEntityId IN {soql_in(app_ids)}"


def assignees_soql(user_ids: Iterable[str], permission_set_ids: Iterable[str]) -> str:
    """Which of ``user_ids`` hold one of ``permission_set_ids`` (a profile-owned one counts: orgs return a
    PermissionSetAssignment for the profile's permission set)."""
    return (
        "SELECT AssigneeId FROM PermissionSetAssignment "
        f"WHERE AssigneeId IN {soql_in(user_ids)} AND PermissionSetId IN {soql_in(permission_set_ids)}"
    )


def assigned_permission_sets_soql(user_id: str) -> str:
    """The PermissionSetId of every assignment of ``user_id``."""
    return (
        "SELECT PermissionSetId FROM PermissionSetAssignment "
        f"WHERE AssigneeId = {soql_quote(user_id)}"
    )


def permission_sources_soql(user_id: str, permission: str) -> str:
    """The assignments through which ``user_id`` holds ``Permissions<permission>``."""
    return (
        "SELECT PermissionSet.Name, PermissionSet.IsOwnedByProfile, PermissionSet.Profile.Name "
        f"FROM PermissionSetAssignment WHERE AssigneeId = {soql_quote(user_id)} "
        f"AND PermissionSet.Permissions{permission} = true"
    )


# OauthToken: query() returns up to 500 rows per call, queryMore() continues to a hard cap of 2,500
# (salesforce-facts.md §4.1, OauthToken object reference).
OAUTH_TOKEN_ROW_CAP = 2500
# Salesforce keeps at most this many tokens per user per app; a new authorization beyond it revokes the
# oldest (salesforce-facts.md §10.1 "Per-user token cap"; 5 for most apps).
TOKENS_PER_USER_PER_APP = 5
# The only OauthToken fields diagnose ever selects (no AccessToken, DeleteToken, RequestToken).
TOKEN_FIELDS = "AppName, UserId, CreatedDate, LastUsedDate, UseCount, AppMenuItemId"
ORGANIZATION_SOQL = "SELECT Id, Name, OrganizationType, IsSandbox, InstanceName, TrialExpirationDate FROM Organization"


def app_tokens_where(names) -> str:
    """The OauthToken filter of the app ``names``."""
    return f"AppName IN {soql_in(names)}"


def token_count_soql(where: str) -> str:
    return f"SELECT COUNT() FROM OauthToken WHERE {where}"


def token_rows_soql(where: str, count: int) -> str:
    """OauthToken rows for ``where`` (never the secret fields); ``LIMIT`` the row cap past it."""
    limit = f" LIMIT {OAUTH_TOKEN_ROW_CAP}" if count > OAUTH_TOKEN_ROW_CAP else ""
    return f"SELECT {TOKEN_FIELDS} FROM OauthToken WHERE {where} ORDER BY CreatedDate{limit}"


def app_menu_items_soql(names, app_ids) -> str:
    where = [f"Name IN {soql_in(names)}", f"Label IN {soql_in(names)}"]
    if app_ids:
        where.append(f"ApplicationId IN {soql_in(app_ids)}")
    return (
        "SELECT Id, Name, Label, ApplicationId, IsUsingAdminAuthorization, Type FROM AppMenuItem "
        f"WHERE {' OR '.join(where)}"
    )


def eca_soql(names) -> str:
    """The packaged External Client App among ``names`` (DeveloperName or MasterLabel)."""
    names = soql_in(names)
    return (
        "SELECT Id, DeveloperName, MasterLabel, DistributionState FROM ExternalClientApplication "
        f"WHERE DeveloperName IN {names} OR MasterLabel IN {names}"
    )


def setup_audit_trail_soql(since: str) -> str:
    """SetupAuditTrail entries since ``since`` (a SOQL dateTime literal, ``2026-12-03T10:00:00Z``), newest
    first. ``Section`` and ``Display`` cannot be filtered (facts §10.4): callers match them in the client."""
    return (
        "SELECT Action, Section, Display, CreatedDate, CreatedBy.Username, DelegateUser "
        f"FROM SetupAuditTrail WHERE CreatedDate >= {since} ORDER BY CreatedDate DESC"
    )
