"""Evidence of a manual Setup step from SetupAuditTrail: who did it and when, as the org recorded it
(salesforce-facts.md §10.4), instead of crediting "the operator" or reading ``LastModifiedDate``.

Salesforce does not document the ``Action`` values written for a connected app's install or policy change,
and ``Section`` and ``Display`` cannot be filtered: the query filters by ``CreatedDate`` only, and an entry
matches when its ``Section`` is the step's and its ``Display`` names the app (and the words given). "No entry
found" is a result, reported as such, never a guess; a refused read is "could not read", never "no entry".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .errors import SixsenseOrgError
from .queries import setup_audit_trail_soql

#: The Setup menu section of the connected-app pages (Connected Apps OAuth Usage, Manage Connected Apps).
CONNECTED_APPS = "Connected Apps"
#: How far before the step began an entry still counts: the org's clock and this machine's may differ.
CLOCK_SKEW = timedelta(minutes=10)


@dataclass(frozen=True)
class Evidence:
    """One line for the audit report and the log (``text``), and ``found``: True (an entry matched),
    False (the trail was read and no entry matched), None (the trail could not be read)."""

    text: str
    found: bool | None


def find(
    task, section: str, app_names: Sequence[str], since: datetime, words: Sequence[str] = ()
) -> Evidence:
    """The newest SetupAuditTrail entry since ``since`` (minus :data:`CLOCK_SKEW`; an aware datetime) whose
    ``Section`` is ``section`` and whose ``Display`` names one of ``app_names`` and holds every one of
    ``words`` (case-insensitive). One query through ``task._query`` (the wrapper's errors and retries)."""
    start = (since - CLOCK_SKEW).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        rows = task._query(setup_audit_trail_soql(start))
    except SixsenseOrgError as error:
        reason = str(error).splitlines()[0][:200]
        return Evidence(f"could not read SetupAuditTrail: {reason}", None)
    names = [n.lower() for n in app_names if n]
    wanted = [w.lower() for w in words]
    for row in rows:
        display = (row.get("Display") or "").lower()
        if (row.get("Section") or "") != section:
            continue
        if any(n in display for n in names) and all(w in display for w in wanted):
            by = (row.get("CreatedBy") or {}).get("Username") or "an unknown user"
            delegate = row.get("DelegateUser")
            as_text = f", logged in as them by {delegate}" if delegate else ""
            return Evidence(
                f'SetupAuditTrail {row.get("CreatedDate")}: "{row.get("Display")}" by {by}{as_text}',
                True,
            )
    return Evidence(
        f"no SetupAuditTrail entry found in section {section} naming {' or '.join(app_names)} since "
        f"{start}",
        False,
    )
