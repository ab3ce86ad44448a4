"""Fault injection over whole flow runs: inject one fault at one request of a run, run the flow again, and
compare the org's final state with a fault-free run's.

Used by ``test_faults.py`` (a deterministic sample in the normal suite, the exhaustive sweep with
``make sweep``). The state comparison ignores what differs between any two runs (record ids, timestamps,
random token values, usage counters) but not which records exist or how they point at each other.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import re
import shutil
import tempfile
from collections import Counter
from pathlib import Path

from orgsim.observe import FAULT_KINDS, WRITE_FAULT_KINDS

#: The flows under fault injection and the scenario each is meant for.
FLOW_SCENARIOS = {
    "sixsense_new_customer": "new_customer",
    "sixsense_existing_customer": "existing_customer",
}

#: A failure message must tell the operator what to do: one of these phrases (lowercase).
REMEDY_PHRASES = (
    "run the flow again",
    "run the same command again",
    "run this step again",
    "try again",
    "then run",
    "re-run",
    "rerun",
)

_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
_ID = re.compile(r"^[a-zA-Z0-9]{3}[a-zA-Z0-9]{12}([a-zA-Z0-9]{3})?$")
#: Values that differ between two runs by design (random tokens, counters moved by polling).
_VOLATILE = {"AccessToken", "DeleteToken", "RequestToken", "UseCount", "SystemModstamp"}


def api_request_count(log: list[dict]) -> int:
    """Requests of a request ``log`` (``sim.requests()``) a fault can hit (``nth`` counts these):
    everything except ``/_sim/``, Setup pages and composite subrequests (logged with a ``parent``)."""
    return sum(1 for r in log if r["kind"] != "sim" and not r.get("parent"))


def normalized_state(state: dict) -> dict:
    """``{object: Counter(canonical row)}`` plus the app lifecycle flags. A canonical row replaces every
    record id it mentions by the canonical form of the record it points to, and drops timestamps, ids and
    volatile values, so two runs that made the same records compare equal."""
    by_id: dict[str, tuple[str, dict]] = {}
    for sobject, rows in state["objects"].items():
        for row in rows:
            by_id[row["Id"]] = (sobject, row)
    memo: dict[str, tuple] = {}

    def canon(record_id: str, depth: int = 0) -> tuple:
        if record_id in memo:
            return memo[record_id]
        sobject, row = by_id[record_id]
        fields = []
        for key, value in sorted(row.items()):
            if key == "Id" or key in _VOLATILE:
                continue
            if isinstance(value, str) and _DATETIME.match(value):
                continue
            if isinstance(value, str) and value in by_id and depth < 3:
                value = canon(value, depth + 1)
            fields.append((key, value))
        result = (sobject, tuple(fields))
        if depth == 0:
            memo[record_id] = result
        return result

    objects = {
        sobject: Counter(canon(row["Id"]) for row in rows)
        for sobject, rows in state["objects"].items()
    }
    apps = sorted(
        tuple(
            (k, v)
            for k, v in sorted(app.items())
            if k not in ("connected_application_id", "app_menu_item_id", "policy_modified")
        )
        for app in state["apps"]
    )
    return {"objects": objects, "apps": apps}


def state_difference(expected: dict, actual: dict) -> list[str]:
    """Human-readable differences between two ``normalized_state`` values (empty when equal)."""
    out = []
    if expected["apps"] != actual["apps"]:
        out.append(f"apps: {expected['apps']} != {actual['apps']}")
    for sobject in sorted(set(expected["objects"]) | set(actual["objects"])):
        want = expected["objects"].get(sobject, Counter())
        have = actual["objects"].get(sobject, Counter())
        if want != have:
            out.append(
                f"{sobject}: missing {list((want - have).elements())}, extra {list((have - want).elements())}"
            )
    return out


def says_what_to_do(message: str) -> bool:
    text = message.lower()
    return any(phrase in text for phrase in REMEDY_PHRASES)


#: The sample the normal suite runs: (fault kind, kind of request), each kind once, together covering a
#: read, a write and a Metadata call. A dropped connection on a Metadata read (retrieve) and on a REST write
#: are checked at task level (tests/tasks/test_against_simulator.py, tests/tasks), and every point by the sweep.
#: ``lost_write`` and ``reset_after`` fire on REST writes only: each at the flow's first write (every insert
#: of the writing steps under them, and their retries: tests/tasks/test_write_faults.py).
SAMPLE = (
    ("503", "metadata"),
    ("UNABLE_TO_LOCK_ROW", "write"),
    ("INVALID_SESSION_ID", "read"),
    ("reset", "read"),
    ("lost_write", "write"),
    ("reset_after", "write"),
)


def request_class(entry: dict) -> str | None:
    """``read`` (a REST GET), ``write`` (a REST insert/update) or ``metadata`` (a Metadata API call) for a
    request-log entry; None for authentication and anything else."""
    if entry["kind"] == "auth":
        return None
    if entry["path"].startswith("/services/Soap/m/"):
        return "metadata"
    if entry["kind"] == "write":
        return "write"
    if entry["method"] == "GET" and "/query" in entry["path"]:
        return "read"
    return None


def pick_point(log: list[dict], kind: str, target: str) -> int:
    """The request index (``nth``, 1-based over the API requests of a fault-free run's ``log``) at which
    the sample injects ``kind``: a request of class ``target`` inside the flow's steps (after cci's own
    start-of-flow token refresh, which fails before any step), picked by a fixed rule so that edits to
    the flows move the point with the request rather than onto another one. Metadata: the first deploy
    for 503 (Salesforce refused it unprocessed), else the first call (a retrieve or listMetadata).
    Writes: the last for UNABLE_TO_LOCK_ROW, the first otherwise. Reads: the middle one."""
    api = [e for e in log if e["kind"] != "sim" and not e.get("parent")]
    refreshes = [i for i, e in enumerate(api) if e["kind"] == "auth" and e["method"] == "POST"]
    first_step = refreshes[1] if len(refreshes) > 1 else 0
    candidates = [i + 1 for i, e in enumerate(api) if i > first_step and request_class(e) == target]
    if not candidates:
        raise ValueError(f"the fault-free run made no {target} request")
    if target == "metadata" and kind == "503":
        deploys = [i for i in candidates if (api[i - 1]["action"] or "") == "deploy"]
        return (deploys or candidates)[0]
    if target == "write":
        return candidates[-1] if kind == "UNABLE_TO_LOCK_ROW" else candidates[0]
    if target == "read":
        return candidates[len(candidates) // 2]
    return candidates[0]


def rest_write_indexes(log: list[dict]) -> set[int]:
    """The request indexes (``nth``, as :func:`api_request_count` counts) of the REST writes of ``log``: the
    only requests ``lost_write`` and ``reset_after`` fire on (``orgsim.observe.WRITE_FAULT_KINDS``)."""
    api = [e for e in log if e["kind"] != "sim" and not e.get("parent")]
    return {
        i + 1
        for i, e in enumerate(api)
        if e["method"] != "GET" and e["path"].startswith("/services/data/")
    }


def indexes_for(kind: str, indexes, log: list[dict]) -> list[int]:
    """``indexes`` where ``kind`` can fire: all of them, or only the REST writes for a write-only kind (at
    another index it would fire on the next write, a point already in the sweep)."""
    if kind not in WRITE_FAULT_KINDS:
        return list(indexes)
    writes = rest_write_indexes(log)
    return [i for i in indexes if i in writes]


def sample_points(total: int, step: int) -> list[tuple[str, int]]:
    """Deterministic sample of (fault kind, request index): every ``step``-th index for each kind, offset
    per kind so the sample covers different requests for each."""
    return [
        (kind, index)
        for offset, kind in enumerate(FAULT_KINDS)
        for index in range(1 + offset % step, total + 1, step)
    ]


#: ``{(source folder, package name, digest of its files): folder holding the converted MDAPI source}``
_CONVERTED: dict[tuple, Path] = {}


def _source_key(path, name) -> tuple | None:
    if not path or not Path(path).is_dir():
        return None
    folder = Path(path).resolve()
    digest = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(file.relative_to(folder).as_posix().encode() + b"\0" + file.read_bytes())
    return (str(folder), name, digest.hexdigest())


@contextlib.contextmanager
def reused_source_conversion(path, name, logger):
    """CumulusCI's ``convert_sfdx_source``, converting each source folder once per process.

    The deploy step converts ``force-app`` with ``sf project convert source``, a Node process of about 3 s
    (more than the rest of a fault-free in-process run) with the same output every time. The conversion is
    local (no request to the org, so no fault point), so the sweep converts for real once per process (in
    the fault-free baseline run) and gives every later deploy of the same files a fresh copy of that output;
    a changed file changes the key. Measured on one point: 10.6 s with the real conversion, 4.2 s without.
    Every in-process flow run of the suite uses it too (``run_flow_inprocess`` in tests/conftest.py)."""
    from cumulusci.core.sfdx import convert_sfdx_source

    key = _source_key(path, name)
    cached = _CONVERTED.get(key) if key else None
    if cached is None:
        with convert_sfdx_source(path, name, logger) as converted:
            if key and converted and os.fspath(converted) != os.fspath(path):
                keep = Path(tempfile.mkdtemp(prefix="sixsense-mdapi-"))
                atexit.register(shutil.rmtree, keep, ignore_errors=True)
                shutil.copytree(converted, keep, dirs_exist_ok=True)
                _CONVERTED[key] = keep
            yield converted
        return
    logger.info("Converting from SFDX to MDAPI format (output of the first conversion reused).")
    with tempfile.TemporaryDirectory(prefix="sixsense-mdapi-") as copy:
        shutil.copytree(cached, copy, dirs_exist_ok=True)
        yield copy


def reuse_source_conversion(monkeypatch) -> None:
    """Patch the deploy task's ``convert_sfdx_source`` with ``reused_source_conversion``."""
    import importlib

    # The module, not the class the package exports under the same name.
    deploy = importlib.import_module("cumulusci.tasks.salesforce.Deploy")
    monkeypatch.setattr(deploy, "convert_sfdx_source", reused_source_conversion)
