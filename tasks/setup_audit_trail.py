"""Evidence of a manual Setup step from SetupAuditTrail: who did it and when, as the org recorded it
(salesforce-facts.md §10.4), instead of crediting "the operator" or reading ``LastModifiedDate``.

Salesforce does not document the ``Action`` values written for a connected app's install or policy change,
and ``Section`` and ``Display`` cannot be filtered: the query filters by ``CreatedDate`` only, and an entry
matches when its ``Section`` is the step's and its ``Display`` names the app (and the words given). "No entry
found" is a result, reported as such, never a guess; a refused read is "could not read", never "no entry".
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .errors import SixsenseOrgError
from .queries import setup_audit_trail_soql

#: The Setup menu section of the connected-app pages (Connected Apps OAuth Usage, Manage Connected Apps).
CONNECTED_APPS = "Connected Apps"
#: How far before the step began an entry still counts: the org's clock and this machine's may differ.
CLOCK_SKEW = timedelta(minutes=10)
#: How long Salesforce keeps SetupAuditTrail entries (facts §10.4: "at least the last 180 days").
RETENTION = timedelta(days=180)
#: Words the entry of a step found already done must hold besides the app's name, by procedure key: the
#: trail holds other entries naming the app (the install, the Permitted Users change, other policy edits), and
#: Salesforce's ``Display`` texts are not documented (facts §10.4, UNCERTAIN), so these are the Setup page's
#: own words ("Install"; "Permitted Users"). Where the org words it otherwise, the result is "no entry found"
#: naming them: a stated result, never a guess.
STEP_WORDS = {"install": ("install",), "permitted_users": ("permitted users",)}


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
    ``words`` (case-insensitive). One query through ``task._read`` (the wrapper's errors and retries), read a
    page at a time until the first match (:func:`_newest_first`)."""
    start = (since - CLOCK_SKEW).strftime("%Y-%m-%dT%H:%M:%SZ")
    names = [n.lower() for n in app_names if n]
    wanted = [w.lower() for w in words]
    try:
        for row in _newest_first(task, setup_audit_trail_soql(start)):
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
    except SixsenseOrgError as error:
        reason = str(error).splitlines()[0][:200]
        return Evidence(f"could not read SetupAuditTrail: {reason}", None)
    holding = f" with the words {', '.join(repr(w) for w in words)}" if words else ""
    return Evidence(
        f"no SetupAuditTrail entry found in section {section} naming {' or '.join(app_names)}{holding} "
        f"since {start}",
        False,
    )


def _newest_first(task, soql: str) -> Iterator[dict]:
    """The rows of ``soql`` a page at a time (``task.sf.query``, then ``query_more`` through the wrapper's
    ``task._read``), so a match on the first page reads no more: 180 days of a busy org's trail can be many
    pages of 2,000 entries, and each page is an API request."""
    page = task._read("Query", task.sf.query, soql)
    while True:
        yield from page.get("records") or []
        if page.get("done", True) or not page.get("nextRecordsUrl"):
            return
        page = task._read(
            "Query", task.sf.query_more, page["nextRecordsUrl"], identifier_is_url=True
        )


def for_step(task, step: str, app_names: Sequence[str]) -> Evidence:
    """The evidence of the connected-app step ``step`` (a key of :data:`STEP_WORDS`), for the audit report:

    - guided in this run (``task._guide_began``, an aware datetime, set when its instructions were given): the
      newest entry naming the app since then (:func:`find`);
    - found already done at the start of the run: the newest entry naming the app and the step's words within
      the trail's :data:`RETENTION`, so the admin who did it earlier, who may be another than the operator,
      and when. None found says that the trail keeps 180 days (an older step leaves no entry).

    A refused read is "could not read SetupAuditTrail: ...", in both cases."""
    began = getattr(task, "_guide_began", None)
    if began is not None:
        return find(task, CONNECTED_APPS, app_names, began)
    found = find(task, CONNECTED_APPS, app_names, datetime.now(UTC) - RETENTION, STEP_WORDS[step])
    if found.found is False:
        return Evidence(
            f"{found.text} (the trail keeps {RETENTION.days} days: the step may be older)", False
        )
    return found
