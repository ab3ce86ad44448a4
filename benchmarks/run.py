"""Benchmark figures (a script, not a test): wall time and HTTP requests by endpoint of each flow, in-process
against the simulator with the autopilot, at 0 ms and 100 ms injected latency, against the minimum number of
requests the procedure needs. Run: ``make bench`` (or ``.venv/bin/python benchmarks/run.py``).

Not measured yet (reported as such): the baseline built from CumulusCI's standard tasks, diagnose on an org
with 100,000 users and tokens, and the simulator's query rate and peak memory.
"""

from __future__ import annotations

import collections
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)

from orgsim import server  # noqa: E402
from tests.conftest import INTEGRATION_USER, cci_environment  # noqa: E402

FLOWS = {"sixsense_new_customer": "new_customer", "sixsense_existing_customer": "existing_customer"}

#: The fewest API requests the procedure can take, and why (new-customer flow; existing skips steps 4-5).
MINIMUM = [
    ("auth: token refresh, userinfo, Organization (cci, once)", 3),
    ("users: one query for both users with profile permissions", 1),
    ("permission sets: one query to compare with the source", 1),
    ("deploy + checkDeployStatus (fresh org: both sets missing)", 2),
    ("setup user's assignments: one query", 1),
    ("insert the setup access assignment", 1),
    ("guided steps 1, 2, 3, 5: at least one check each", 4),
    ("app access: one SetupEntityAccess query, one insert", 2),
    ("integration user's assignment: one insert", 1),
    ("verification: one query per object checked (app, access, assignment, token)", 4),
]
MINIMUM_EXISTING = (
    sum(n for _, n in MINIMUM) - 2 - 1
)  # no setup access step, one fewer guided check


def run_flow(flow: str, scenario: str, latency_ms: int) -> tuple[float, list[dict], str | None]:
    from cumulusci.cli.runtime import CliRuntime

    sim = server.start(scenario, autopilot=True, latency_ms=latency_ms)
    # The flow's poll sleeps are patched below (time.sleep); the simulator's latency must stay real.
    real_sleep = time.sleep
    sim.observer.delay = lambda: real_sleep(latency_ms / 1000) if latency_ms else None
    home = Path(tempfile.mkdtemp(prefix="bench-home-"))
    saved = dict(os.environ)
    try:
        os.environ.update(cci_environment(sim, home))
        runtime = CliRuntime(load_keychain=True)
        _, org_config = runtime.get_org("sim")
        options = {
            "sixsense_validate_inputs": {
                "integration_username": INTEGRATION_USER,
                "interactive": "True",
                "poll_interval": "1",
                "wait_timeout": "120",
            },
            "sixsense_verify": {"report_path": str(home / "verification.json")},
            "sixsense_set_permitted_users": {"confirm_logout": "True"},
            "sixsense_reauthorize_integration_user": {"confirm_reauthorization": "True"},
        }
        coordinator = runtime.get_flow(flow, options=options)
        error = None
        started = time.perf_counter()
        with mock.patch("time.sleep"):
            try:
                coordinator.run(org_config)
            except Exception as exc:  # reported, not raised
                error = f"{type(exc).__name__}: {exc}"
        wall = time.perf_counter() - started
        return wall, [r for r in sim.requests() if r["kind"] != "sim"], error
    finally:
        os.environ.clear()
        os.environ.update(saved)
        sim.stop()
        shutil.rmtree(home, ignore_errors=True)


def by_endpoint(requests: list[dict]) -> collections.Counter:
    return collections.Counter(f"{r['method']} {r['action'] or r['path']}" for r in requests)


def main() -> None:
    import logging

    logging.getLogger("cumulusci").setLevel(logging.WARNING)
    print("Benchmarks: flows in-process against orgsim with the autopilot (poll sleeps patched)\n")
    minimum = sum(n for _, n in MINIMUM)
    print(f"Minimum requests of the new-customer procedure: {minimum}")
    for why, n in MINIMUM:
        print(f"  {n:3d}  {why}")
    print(f"  (existing-customer flow: {MINIMUM_EXISTING})\n")
    for flow, scenario in FLOWS.items():
        least = minimum if flow == "sixsense_new_customer" else MINIMUM_EXISTING
        for latency in (0, 100):
            wall, requests, error = run_flow(flow, scenario, latency)
            ratio = len(requests) / least
            print(
                f"{flow} on {scenario}, {latency} ms latency: {wall:.1f} s wall, "
                f"{len(requests)} requests ({ratio:.1f}x the minimum {least}; target <= 2x: "
                f"{'met' if ratio <= 2 else 'MISSED'})" + (f"; FAILED: {error}" if error else "")
            )
            if latency == 0:
                for endpoint, count in by_endpoint(requests).most_common():
                    print(f"    {count:4d}  {endpoint}")
        print()
    print(
        "Not measured by this script yet: the standard-task baseline (so the '<= half the baseline's wall "
        "time' target is unchecked), diagnose vs `cci org info`, and the 100,000-user/token figures."
    )


if __name__ == "__main__":
    main()
