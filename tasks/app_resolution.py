"""Which installed connected app is the vendor's in this org: the one its connection actually uses.

``connected_app_names`` lists the names the vendor's app may carry. Matching is exact (a name of the list,
case-insensitive as SOQL ``=``); an app whose label only looks like the vendor's is never a match. Among the
installed candidates (``ConnectedApplication`` rows, facts §3) the vendor's app is the one that holds tokens
(``OauthToken.AppName``, facts §4.1): the integration user's, or the vendor's connection made by the setup user.
When that cannot be told apart, :class:`AppChoiceRequired` stops the step before anything is written, naming
each candidate with its tokens and the option that pins the name. A single configured name is the operator's
choice and is taken as it is.

Tokens are counted (``SELECT COUNT()``, then their ``AppName`` only), never a token value; past the
2,500-row cap one ``COUNT()`` per name (facts §4.1), so no row cap cuts the counts.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import connected_user
from .errors import SixsenseInputError
from .queries import (
    OAUTH_TOKEN_ROW_CAP,
    connected_apps_soql,
    soql_in,
    soql_quote,
    token_count_soql,
)
from .vendor import VENDOR

PIN_FLOW = "-o sixsense_validate_inputs__connected_app_names <name>"
PIN_TASK = "-o connected_app_names <name>"


class AppChoiceRequired(SixsenseInputError):
    """More than one connected app could be the vendor's, or an installed candidate is not the one in use.
    Raised before any write; the message lists the candidates and the option that pins the name."""


def tokens_by_name(task, names: Sequence[str]) -> dict[str, int]:
    """``{name: OauthToken count}`` for each of ``names``, any user (needs Customize Application to see other
    users' tokens, which the connected user is checked for). One ``SELECT COUNT()``; within the 2,500-row cap
    (facts §4.1) one read of the rows' ``AppName`` (never a token value), past it one ``COUNT()`` per name."""
    names = list(names)
    where = f"AppName IN {soql_in(names)}"
    total = task._total(token_count_soql(where))
    if total > OAUTH_TOKEN_ROW_CAP:
        return {n: task._total(token_count_soql(f"AppName = {soql_quote(n)}")) for n in names}
    counts = dict.fromkeys(names, 0)
    if total:
        by_lower = {n.lower(): n for n in names}
        for row in task._query(f"SELECT AppName FROM OauthToken WHERE {where}"):
            name = by_lower.get((row.get("AppName") or "").lower())
            if name:
                counts[name] += 1
    return counts


def choice(names: Sequence[str], rows: list[dict], counts: dict[str, int]) -> str | None:
    """Why the vendor's app cannot be told apart (None when it can): pure. ``rows``: installed candidates
    (ConnectedApplication rows among ``names``); ``counts``: tokens per name. Nothing installed: None (there
    is nothing to configure yet; the install step installs the app the vendor's connection lists, and the
    choice is asked once a candidate is installed)."""
    if not rows:
        return None
    installed = [r["Name"] for r in rows]
    used = [n for n in names if counts.get(n)]
    used_lower = {n.lower() for n in used}
    if len(used) > 1:
        why = f"more than one candidate name is in use ({', '.join(used)})"
    elif used and any(n.lower() not in used_lower for n in installed):
        other = [n for n in installed if n.lower() not in used_lower]
        why = f"{', '.join(other)} is installed but {used[0]} is the app in use"
    elif not used and len(installed) > 1:
        why = f"more than one candidate is installed ({', '.join(installed)}) and none is in use"
    else:
        return None
    lines = [
        f"{name}: {'installed' if name.lower() in {i.lower() for i in installed} else 'not installed'}, "
        f"{counts.get(name, 0)} token(s)"
        for name in names
    ]
    return (
        f"Cannot tell which connected app is {VENDOR.label}'s: {why}. Candidates: "
        + "; ".join(lines)
        + f". Pin the app {VENDOR.label} uses: {PIN_FLOW} (flow) or {PIN_TASK} (this task alone); "
        "check on Connected Apps OAuth Usage which app the integration user's connection uses. Nothing was "
        "written."
    )


def hidden_choice(names: Sequence[str], rows: list[dict], hidden: str) -> str:
    """Why the vendor's app cannot be told apart when other users' OAuth tokens are hidden from the connected
    user (``hidden``, from ``connected_user.others_tokens_hidden``): which candidate is in use is then unknown,
    not "none" (issue 17 kinds 3 and 8). Pure; ``rows``: the installed candidates."""
    installed = {r["Name"].lower() for r in rows}
    lines = [f"{n}: {'installed' if n.lower() in installed else 'not installed'}" for n in names]
    return (
        f"Cannot tell which connected app is {VENDOR.label}'s: which candidate is in use could not be read "
        f"(other users' OAuth tokens may be hidden: {hidden}). Candidates: "
        + "; ".join(lines)
        + f". Pin the app {VENDOR.label} uses: {PIN_FLOW} (flow) or {PIN_TASK} (this task alone), or "
        "connect cci as an admin with Manage Users and Customize Application. Nothing was written."
    )


def resolve(task, names: Sequence[str]) -> list[dict]:
    """The vendor's installed app among ``names``: ``[]`` (none installed) or ``[ConnectedApplication row]``.
    ``AppChoiceRequired`` when more than one could be it, an installed one is not the one in use, or which is
    in use cannot be read (other users' tokens hidden from the connected user, :func:`hidden_choice`). Once
    resolved, later calls of the same task read only that name's row (a guided step's poll stays one query).
    ``task``: a SixsenseOrgMixin task."""
    names = list(names)
    cache = task.__dict__.setdefault("_resolved_app_names", {})
    key = tuple(n.lower() for n in names)
    if key in cache:
        return task._query(connected_apps_soql([cache[key]]))
    rows = task._query(connected_apps_soql(names))
    if not rows or len(names) == 1:
        if len(rows) == 1:
            cache[key] = rows[0]["Name"]
        return rows
    hidden = connected_user.others_tokens_hidden(task)
    if hidden:
        # A step whose own rights are missing says so first: that is the fix to make before any choice.
        require_rights = getattr(task, "_require_connected_user_rights", None)
        if require_rights is not None:
            require_rights()
        raise AppChoiceRequired(hidden_choice(names, rows, hidden))
    why = choice(names, rows, tokens_by_name(task, names))
    if why:
        raise AppChoiceRequired(why)
    row = rows[0]
    cache[key] = row["Name"]
    return [row]
