"""Request log, latency and fault injection.

Request log: every request except reads of the log and state themselves (``GET /_sim/requests``,
``GET /_sim/state``) is recorded as ``{"seq", "time", "method", "path", "action", "status", "duration_ms",
"kind", "parent"}``:

- ``parent``: ``None``, or for a REST Composite subrequest the ``seq`` of its composite. A composite is
  logged first, then each of its subrequests in order (so ``seq`` keeps growing); a write inside a composite
  is a ``write`` entry of its own, and a composite with any non-GET subrequest is a ``write`` too. A
  subrequest refused for its URL (``/_sim/``, any non-``/services/data/`` path) is logged with status 404;

- ``action``: the SOAP operation (``deploy``, ``checkDeployStatus``...), the SOQL object (``FROM`` of the
  outer query), the sObject type of a DML or describe call, the OAuth grant, or the simulator action;
- ``kind``: ``auth`` (``/services/oauth2/*``, ``/id/*``), ``write`` (REST POST/PATCH/DELETE, SOAP ``deploy``),
  ``read`` (every other Salesforce API call: the autopilot counts these as polls), ``sim`` (``/_sim/*``,
  Setup pages, autopilot actions).

Fault spec grammar (``--fault SPEC`` and ``POST /_sim/faults {"spec": SPEC}``)::

    SPEC  := FAULT (";" FAULT)*
    FAULT := PAIR (":" PAIR)*
    PAIR  := "nth=" N        the N-th API request counted from when the spec was set (1-based)
           | "match=" TEXT   requests whose path+query or SOAP operation contains TEXT
           | "kind=" KIND    503 | UNABLE_TO_LOCK_ROW | reset | INVALID_SESSION_ID | refused
                             | lost_write | reset_after                                    (required)
           | "times=" N      how many times the fault fires (default 1 with nth, unlimited without)

A fault fires on a request when the request number is >= ``nth`` (if given) and the request matches
``match`` (if given), until it has fired ``times`` times. ``/_sim/*`` requests and Setup pages are never
counted or faulted, nor are REST Composite subrequests on their own (the composite, one HTTP request, is
counted and faulted as a whole; its ``match`` target is the composite's URL).
Kinds: ``503`` (HTTP 503, Salesforce's "service unavailable" body), ``UNABLE_TO_LOCK_ROW`` (REST 400
``[{"errorCode": "UNABLE_TO_LOCK_ROW", ...}]``, SOAP fault ``sf:UNABLE_TO_LOCK_ROW``), ``reset`` (the
connection is closed without a response, before the request is processed), ``INVALID_SESSION_ID`` (REST 401 /
SOAP fault, as for an expired session), ``refused`` (the org refuses the call for the connected user's
access, in the shape docs/salesforce-permissions.md gives each API: a SOQL query 400 ``INVALID_TYPE``
"sObject type 'X' is not supported..." (R2), a Metadata API call SOAP fault ``sf:INSUFFICIENT_ACCESS``
(R1), any other REST call 403 ``INSUFFICIENT_ACCESS`` "insufficient access rights on object id"; it is
answered at once, so a client's retries do not hide it).

Two kinds model a write whose outcome the client cannot trust; they fire only on REST writes (``POST``,
``PATCH``, ``DELETE`` under ``/services/data/``: sObject, sObject Collections, Composite, Tooling) and
other requests neither count towards their ``times`` nor are faulted by them (``nth`` still counts every
request):

- ``lost_write``: the request is processed and answered exactly as on success (e.g. ``201 {"id": ...,
  "success": true}``), then everything it wrote is rolled back: "acknowledged but not saved". Salesforce does
  not document such a loss; it stands for any write whose acknowledgement cannot be taken as proof, which is
  why a task verifies its writes by query.
- ``reset_after``: the request is processed and saved, then the connection is closed without a response
  (a client sees a dropped connection and cannot tell whether the write happened).

Examples: ``nth=5:kind=503``, ``match=/composite/:kind=UNABLE_TO_LOCK_ROW:times=1``,
``match=/sobjects/SetupEntityAccess:kind=lost_write:times=2``.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as _dt
import re
import threading
import time

FAULT_KINDS = (
    "503",
    "UNABLE_TO_LOCK_ROW",
    "reset",
    "INVALID_SESSION_ID",
    "refused",
    "lost_write",
    "reset_after",
)
#: Kinds that fire on REST writes only (module docstring).
WRITE_FAULT_KINDS = ("lost_write", "reset_after")


@dataclasses.dataclass
class Fault:
    kind: str
    nth: int | None = None
    match: str | None = None
    times: int | None = None
    fired: int = 0

    def applies(self, number: int, target: str, write: bool = True) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        if self.kind in WRITE_FAULT_KINDS and not write:
            return False
        if self.nth is not None and number < self.nth:
            return False
        return self.match is None or self.match in target


def parse_fault_spec(spec: str | None) -> list[Fault]:
    """Parse a fault spec (grammar in the module docstring). Raises ``ValueError`` naming the bad part."""
    faults = []
    for part in (spec or "").split(";"):
        part = part.strip()
        if not part:
            continue
        values: dict[str, str] = {}
        for pair in part.split(":"):
            key, sep, value = pair.partition("=")
            if not sep or key not in ("nth", "match", "kind", "times"):
                raise ValueError(
                    f"fault spec '{part}': expected nth=N, match=TEXT, kind=KIND or times=N, got '{pair}'"
                )
            values[key] = value
        kind = values.get("kind")
        if kind not in FAULT_KINDS:
            raise ValueError(f"fault spec '{part}': kind must be one of {', '.join(FAULT_KINDS)}")
        numbers = {}
        for key in ("nth", "times"):
            if key in values:
                if not values[key].isdigit() or int(values[key]) < 1:
                    raise ValueError(f"fault spec '{part}': {key} must be a positive integer")
                numbers[key] = int(values[key])
        times = numbers.get("times", 1 if "nth" in numbers else None)
        faults.append(
            Fault(kind=kind, nth=numbers.get("nth"), match=values.get("match"), times=times)
        )
    return faults


def soql_object(soql: str) -> str | None:
    """The object of the outer ``FROM`` (subqueries in parentheses are skipped)."""
    text = soql or ""
    previous = None
    while previous != text:
        previous, text = text, re.sub(r"\([^()]*\)", " ", text)
    match = re.search(r"\bfrom\s+(\w+)", text, re.IGNORECASE)
    return match.group(1) if match else None


class Observer:
    """The request log, the latency setting and the active faults of one server. Thread-safe."""

    def __init__(
        self, *, latency_ms: int = 0, fault_spec: str | None = None, max_entries: int = 100_000
    ):
        self.latency_ms = latency_ms
        self._lock = threading.Lock()
        self._log: collections.deque = collections.deque(maxlen=max_entries)
        self._seq = 0
        self._count = 0
        self.faults = parse_fault_spec(fault_spec)

    def set_faults(self, spec: str | None) -> None:
        """Replace the fault spec and restart the request count. Raises ``ValueError`` for a bad spec."""
        faults = parse_fault_spec(spec)
        with self._lock:
            self.faults = faults
            self._count = 0

    def next_fault(self, target: str, write: bool = False) -> Fault | None:
        """Count one API request; return the fault to inject into it, if any. ``write``: the request is a
        REST write (the only requests ``lost_write`` and ``reset_after`` fire on)."""
        with self._lock:
            self._count += 1
            for fault in self.faults:
                if fault.applies(self._count, target, write):
                    fault.fired += 1
                    return fault
        return None

    def delay(self) -> None:
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)

    def record(
        self,
        *,
        method: str,
        path: str,
        action: str | None,
        status: int,
        duration_ms: float,
        kind: str,
        subrequests: list[dict] | None = None,
    ) -> int:
        """Append one entry and return its ``seq``. ``subrequests``: the entries (``method``, ``path``,
        ``action``, ``status``, ``duration_ms``, ``kind``) of a composite's subrequests, appended right after
        it, in one step, with ``parent`` = its ``seq``."""
        now = _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")
        with self._lock:
            self._seq += 1
            parent = self._seq
            self._log.append(
                {
                    "seq": parent,
                    "time": now,
                    "method": method,
                    "path": path,
                    "action": action,
                    "status": status,
                    "duration_ms": round(duration_ms, 2),
                    "kind": kind,
                    "parent": None,
                }
            )
            for sub in subrequests or []:
                self._seq += 1
                self._log.append(
                    {
                        "seq": self._seq,
                        "time": now,
                        "method": sub["method"],
                        "path": sub["path"],
                        "action": sub["action"],
                        "status": sub["status"],
                        "duration_ms": round(sub["duration_ms"], 2),
                        "kind": sub["kind"],
                        "parent": parent,
                    }
                )
            return parent

    def requests(self, since: int = 0) -> list[dict]:
        with self._lock:
            return [dict(e) for e in self._log if e["seq"] > since]

    def summary(self) -> str:
        """Multi-line text: totals per kind, per (method, action) and per status."""
        entries = self.requests()
        if not entries:
            return "orgsim: no requests served"
        kinds = collections.Counter(e["kind"] for e in entries)
        actions = collections.Counter((e["method"], e["action"] or e["path"]) for e in entries)
        statuses = collections.Counter(e["status"] for e in entries)
        total_ms = sum(e["duration_ms"] for e in entries)
        lines = [
            f"orgsim: {len(entries)} requests ({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}), "
            f"{total_ms:.0f} ms in handlers; statuses: {', '.join(f'{k}x{v}' for k, v in sorted(statuses.items()))}"
        ]
        for (method, action), count in actions.most_common():
            lines.append(f"  {count:5d}  {method:6s} {action}")
        return "\n".join(lines)
