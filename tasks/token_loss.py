"""The OAuth grants (OauthToken rows) a step will revoke, read whole (issue 17 kind 1).

Two steps revoke tokens, and each lists, before it writes or instructs anything, exactly which grants will
be lost: one row per grant with its user, app, created, last used, use count and why. (The reauthorization,
``sixsense_reauthorize_integration_user``, is asked only where the integration user holds no token for the app,
so Salesforce's per-user cap, facts §10.1, revokes none of its grants: it lists only the other apps' sessions.)

- Permitted Users "Admin approved users are pre-authorized" (``sixsense_set_permitted_users``): the tokens of
  users *without* pre-authorization are revoked (facts §10.1); the vendor article says "all users" are logged
  out, so the pre-authorized users' grants are listed too, as "may be lost" (:func:`lost_to_admin_approval`).
- Removing the old app's access grants (``sixsense_remove_connected_app_access``): on an admin-approved app the
  users lose their pre-authorization, so their grants stop working (:func:`lost_to_access_removal`).

A lost grant used within the last :data:`RECENT_USE_DAYS` days (``LastUsedDate``) may be the live sync: the
step then asks for confirmation (its confirm option, or a terminal question) before anything is written or
instructed. Plan mode lists the grants and asks nothing.

No list is cut by a row cap: :func:`read_tokens` counts first (``SELECT COUNT()``, not cut by the cap) and,
past what one query returns (2,500 rows, facts §4.1 "Row limits"), reads by chunks of users; when it still
cannot read them all it raises :class:`TokensUnreadable` ("could not read all N tokens"), never a short list.
Token values (``AccessToken``, ``DeleteToken``, ``RequestToken``) are never selected.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from . import connected_user, procedure
from .errors import SixsenseOrgError
from .formatting import parse_sf_datetime
from .queries import (
    OAUTH_TOKEN_ROW_CAP,
    USER_IDS_SOQL,
    app_access_parents_soql,
    assignees_soql,
    oauth_tokens_count_soql,
    oauth_tokens_soql,
)

#: A lost grant whose LastUsedDate is within this many days counts as "used recently": it may be the live
#: sync, so the step asks for confirmation. Salesforce updates LastUsedDate when the token is used.
RECENT_USE_DAYS = 7
#: Users per OauthToken query past the row cap (an ``IN`` list of 18-character Ids, ~4,400 characters).
USER_CHUNK = 200

NOT_PRE_AUTHORIZED = "no pre-authorization: admin approved revokes it"
MAY_BE_LOST = "may be lost: pre-authorized, Salesforce's texts differ"
ACCESS_REMOVED = "no pre-authorization once the access grants are removed (admin-approved app)"

HEADER = ["user", "app", "created", "last used", "use count", "lost"]


class TokensUnreadable(SixsenseOrgError):
    """Not every OauthToken row could be read: the message says "could not read all N tokens" and why."""


def _connected_user_id(org_config) -> str | None:
    """The Id of the user cci is connected as, from the org config (``user_id``, or the end of the identity
    URL ``id``), or None when the config has neither."""
    config = getattr(org_config, "config", None) or {}
    return config.get("user_id") or (config.get("id") or "").rsplit("/", 1)[-1] or None


def _refuse_if_hidden(task, user_id: str) -> None:
    """After an empty read of user ``user_id``'s tokens: ``TokensUnreadable`` when that is another user (or the
    connected user's Id is unknown) and other users' tokens may be hidden from the connected user
    (``connected_user.others_tokens_hidden``, read now): the empty answer is then not "no token" (issue 17
    kind 8, facts §10.1)."""
    if user_id == _connected_user_id(task.org_config):
        return
    hidden = connected_user.others_tokens_hidden(task)
    if hidden:
        raise TokensUnreadable(f"could not read the OAuth tokens of user {user_id}: {hidden}")


def _chunks(values: Sequence[str], size: int):
    for i in range(0, len(values), size):
        yield list(values[i : i + size])


def read_tokens(task, names: Sequence[str] | None = None, user_id: str | None = None) -> list[dict]:
    """Every OauthToken row (AppName, UserId, User.Username, CreatedDate, LastUsedDate, UseCount,
    AppMenuItemId) of the app ``names`` and/or one user; ``task`` gives ``_query`` and ``_total``.

    Across users: ``SELECT COUNT()`` first; within 2,500 one query, past it one query per chunk of users
    (``SELECT Id FROM User``; a chunk still past the cap is split in two). One user's tokens (the guided
    steps' polls, one request each) are read in one query and counted only when it returned the cap; an
    empty answer about another user is :func:`_refuse_if_hidden`'s to judge.
    Raises :class:`TokensUnreadable` when the rows read fall short of the count (one user past the cap, or
    tokens of users the User query does not list)."""
    if user_id:
        rows = task._query(oauth_tokens_soql(names, user_id))
        if not rows:
            _refuse_if_hidden(task, user_id)
        if len(rows) < OAUTH_TOKEN_ROW_CAP:
            return rows  # the cap cuts at 2,500 rows exactly: a shorter answer is whole
        count = task._total(oauth_tokens_count_soql(names, user_id))
        if count > len(rows):
            raise _unreadable(count, len(rows), "one user holds more than one query returns")
        return rows
    count = task._total(oauth_tokens_count_soql(names))
    if count <= OAUTH_TOKEN_ROW_CAP:
        return task._query(oauth_tokens_soql(names))
    task.logger.info(
        f"{count} OauthToken rows match; one query returns at most {OAUTH_TOKEN_ROW_CAP} (Object Reference, OauthToken), "
        f"so they are read by chunks of users."
    )
    user_ids = [r["Id"] for r in task._query(USER_IDS_SOQL)]
    rows: list[dict] = []
    for chunk in _chunks(user_ids, USER_CHUNK):
        rows += _read_users(task, names, chunk, count)
    if len(rows) < count:
        raise _unreadable(count, len(rows), "tokens of users the User query does not list")
    return rows


def _read_users(task, names, user_ids: list[str], total: int) -> list[dict]:
    count = task._total(oauth_tokens_count_soql(names, user_ids=user_ids))
    if count == 0:
        return []
    if count <= OAUTH_TOKEN_ROW_CAP:
        return task._query(oauth_tokens_soql(names, user_ids=user_ids))
    if len(user_ids) == 1:
        raise _unreadable(total, None, f"user {user_ids[0]} alone holds {count}")
    half = len(user_ids) // 2
    return _read_users(task, names, user_ids[:half], total) + _read_users(
        task, names, user_ids[half:], total
    )


def _unreadable(count: int, read: int | None, why: str) -> TokensUnreadable:
    got = "" if read is None else f" (read {read})"
    return TokensUnreadable(
        f"Could not read all {count} tokens{got}: {why}, and Salesforce returns at most "
        f"{OAUTH_TOKEN_ROW_CAP} OauthToken rows per query (Object Reference, OauthToken). No list is shown rather than a "
        "short one; nothing was written. Review the grants on Setup > Connected Apps OAuth Usage."
    )


def pre_authorized_users(task, app_ids: Sequence[str], user_ids: Sequence[str]) -> set[str]:
    """The users among ``user_ids`` whose profile or an assigned permission set is granted the apps
    ``app_ids`` (SetupEntityAccess, facts §5): pre-authorized for an admin-approved app."""
    if not app_ids or not user_ids:
        return set()
    parents = sorted({r["ParentId"] for r in task._query(app_access_parents_soql(app_ids))})
    if not parents:
        return set()
    out: set[str] = set()
    for chunk in _chunks(sorted(set(user_ids)), USER_CHUNK):
        out |= {r["AssigneeId"] for r in task._query(assignees_soql(chunk, parents))}
    return out


def used_recently(token: dict, now: datetime | None = None) -> bool:
    """``LastUsedDate`` within the last :data:`RECENT_USE_DAYS` days."""
    last = parse_sf_datetime(token.get("LastUsedDate"))
    return last is not None and (now or datetime.now(UTC)) - last <= timedelta(days=RECENT_USE_DAYS)


def loss(token: dict, why: str, now: datetime | None = None) -> dict:
    """One lost grant: ``{user, app, created, last_used, use_count, effect, recently_used}`` (the audit's
    ``sessions_affected`` entry; ``effect`` says why it is lost)."""
    return {
        "user": (token.get("User") or {}).get("Username") or token.get("UserId"),
        "app": token.get("AppName"),
        "created": token.get("CreatedDate"),
        "last_used": token.get("LastUsedDate"),
        "use_count": token.get("UseCount"),
        "effect": why,
        "recently_used": used_recently(token, now),
    }


def _by_age(tokens):
    return sorted(tokens, key=lambda t: (t.get("CreatedDate") or "", t.get("UserId") or ""))


def lost_to_admin_approval(
    tokens: list[dict], pre_authorized: set[str], now: datetime | None = None
) -> list[dict]:
    """Every grant of the app: lost without pre-authorization, "may be lost" with it (facts §10.1 against
    the vendor article's "all users are logged out")."""
    return [
        loss(t, MAY_BE_LOST if t.get("UserId") in pre_authorized else NOT_PRE_AUTHORIZED, now)
        for t in _by_age(tokens)
    ]


def lost_to_access_removal(tokens: list[dict], now: datetime | None = None) -> list[dict]:
    """Every grant of an admin-approved app whose access grants are all removed."""
    return [loss(t, ACCESS_REMOVED, now) for t in _by_age(tokens)]


def table(losses: list[dict]) -> list[list]:
    """The log table of ``losses``, header first."""
    return [HEADER] + [
        [x["user"], x["app"], x["created"], _last_used(x), x["use_count"], x["effect"]]
        for x in losses
    ]


def _last_used(x: dict) -> str:
    return f"{x['last_used']}{' (recently)' if x['recently_used'] else ''}"


def recent(losses: list[dict]) -> list[dict]:
    """The lost grants used within :data:`RECENT_USE_DAYS` days."""
    return [x for x in losses if x["recently_used"]]


#: How many grants a message names before "and N more" (the table above it lists them all).
DESCRIBE_AT_MOST = 5


def describe(losses: list[dict]) -> str:
    """``admin@example.com's sfdc_6sense_oauth_app grant (last used 2026-12-02T10:00:00.000+0000)``, ...;
    past :data:`DESCRIBE_AT_MOST` grants, ``... and N more (listed above)``."""
    named = "; ".join(
        f"{x['user']}'s {x['app']} grant (last used {x['last_used']})"
        for x in losses[:DESCRIBE_AT_MOST]
    )
    more = len(losses) - DESCRIBE_AT_MOST
    return named + (f" and {more} more (listed above)" if more > 0 else "")


# -- the integration user's token after the Permitted Users switch (issue 17 kind 2) ---------------------------


class TokenVerdict(NamedTuple):
    """Whether the integration user's authorization holds: ``ok``; ``actual``, what the rows show (the
    operator's text); ``step``, the key of the procedure step that fixes the first failing fact (``install``,
    ``permitted_users``, ``app_access``, ``reauthorize``; ``None`` when ``ok``)."""

    ok: bool
    actual: str
    step: str | None = None

    @property
    def fix(self) -> str:
        """The fixing step's reference (``sixsense_... (name, article step N)``); ``""`` when ``ok``."""
        return procedure.step(self.step).ref if self.step else ""


def integration_user_token(
    app: dict | None,
    tokens: list[dict],
    pre_authorized: set[str],
    user_id: str,
    app_names: Sequence[str],
    username: str,
) -> TokenVerdict:
    """The one rule, on rows already read after the Permitted Users switch (facts §10.1: check by query which
    tokens survived; the switch deletes the tokens it revokes): the integration user (``user_id``,
    ``username``) holds an OauthToken for the app now, is pre-authorized now (``user_id`` in
    ``pre_authorized``, from :func:`pre_authorized_users`) and the app row (``ConnectedApplication``, ``None``
    or empty when not installed) is admin approved (``OptionsAllowAdminApprovedUsersOnly``).

    ``tokens``: OauthToken rows (``UserId``, ``AppName``, ``CreatedDate``); only those of ``user_id`` whose
    ``AppName`` is one of ``app_names`` (case-insensitive) count, whatever else the caller read. Facts are
    judged in procedure order and the first failing one names its step; a reauthorization fixes only "no
    token". Passing, ``actual`` says whether the token predates the app's ``LastModifiedDate`` (its last
    change: the switch or a later edit, named as that proxy; the switch's own date and author are the
    Permitted Users step's SetupAuditTrail evidence) or was created after it. No I/O."""
    wanted = {n.lower() for n in app_names}
    mine = [
        t
        for t in tokens
        if t.get("UserId") == user_id and (t.get("AppName") or "").lower() in wanted
    ]
    newest = max((t.get("CreatedDate") or "" for t in mine), default="")
    held = f"{len(mine)} token(s), newest created {newest}" if mine else "no token"
    if not app:
        return TokenVerdict(False, "app not installed", "install")
    if not app.get("OptionsAllowAdminApprovedUsersOnly"):
        return TokenVerdict(False, f"{held}; Permitted Users not admin approved", "permitted_users")
    if user_id not in pre_authorized:
        return TokenVerdict(
            False,
            f"{held}; {username} is not pre-authorized for {app.get('Name')} (no permission set of it nor "
            "its profile has access)",
            "app_access",
        )
    if not mine:
        return TokenVerdict(
            False,
            "no token (never authorized, or the Permitted Users change revoked it)",
            "reauthorize",
        )
    changed = app.get("LastModifiedDate") or ""
    if min(t.get("CreatedDate") or "" for t in mine) <= changed:
        # LastModifiedDate is the app's last change, the switch or a later edit: a proxy, said as one. When
        # the switch itself happened is the Permitted Users step's SetupAuditTrail evidence (audit report).
        return TokenVerdict(
            True,
            f"{username}'s token predates the app's last change (ConnectedApplication.LastModifiedDate "
            f"{changed}), so it survived the switch: pre-authorized; no reauthorization needed ({held}; "
            "admin approved)",
        )
    return TokenVerdict(
        True,
        f"{username} holds a token created {newest}, after the switch, and is pre-authorized "
        f"({len(mine)} token(s); admin approved)",
    )
