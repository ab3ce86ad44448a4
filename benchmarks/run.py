"""Benchmark figures (a script, not a test): wall time and HTTP requests by endpoint of each flow, in-process
against the simulator with the autopilot, at 0 ms and 100 ms injected latency, side by side with the same
procedure done with CumulusCI's standard tasks (benchmarks/standard.py). Run: ``make bench`` (or
``.venv/bin/python benchmarks/run.py``).

Also: diagnose against ``cci org info`` through the real CLI; diagnose, a 3-table relationship query and the
simulator (its own process) on an org with 10,000 and 100,000 users and tokens (benchmarks/scale.py).

Bounds (issue 13), printed as figures with PASS/MISS, not timed tests: each flow at most 1.5x the baseline's
wall time at 100 ms; diagnose at most 2x ``cci org info``; at 100,000 tokens diagnose's peak memory under
200 MB and its time linear in the data. Request counts are reported, not bounded (the request-count targets
were withdrawn). Figures are written to benchmarks/results.json. ``BENCH_REPS`` sets the CLI repetitions.
"""

from __future__ import annotations

import collections
import contextlib
import importlib
import json
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
from tests.conftest import INTEGRATION_USER, cci_environment, production_consent  # noqa: E402

FLOWS = {"sixsense_new_customer": "new_customer", "sixsense_existing_customer": "existing_customer"}

#: Seconds the last run spent in ``sf project convert source`` (the deploy's SFDX -> Metadata API conversion).
CONVERSION_SECONDS: list[float] = []


@contextlib.contextmanager
def timed_conversion(path, name, logger):
    """CumulusCI's ``convert_sfdx_source`` (a Node process), timed into ``CONVERSION_SECONDS``."""
    from cumulusci.core.sfdx import convert_sfdx_source

    started = time.perf_counter()
    with convert_sfdx_source(path, name, logger) as converted:
        CONVERSION_SECONDS.append(time.perf_counter() - started)
        yield converted


#: Each flow's wall time at 100 ms latency, at most this many times the standard tasks' (issue 13).
FLOW_BOUND = 1.5
#: diagnose's wall time, at most this many times ``cci org info``'s (issue 13).
DIAGNOSE_BOUND = 2.0
#: diagnose's peak memory at 100,000 tokens, under this many MB (issue 13).
PEAK_MB_BOUND = 200


def run_flow(
    flow: str, scenario: str, latency_ms: int, standard: bool = False
) -> tuple[float, list[dict], str | None]:
    """One in-process run; ``standard``: the standard-task baseline instead of ``flow``."""
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
                **production_consent(sim),
            },
            "sixsense_verify": {
                "report_path": str(home / "verification.json"),
                "refresh_token_policy_checked": "True",  # the page, looked at (not readable by API)
            },
            "sixsense_set_permitted_users": {"confirm_logout": "True"},
            "sixsense_reauthorize_integration_user": {"confirm_reauthorization": "True"},
        }
        coordinator = None if standard else runtime.get_flow(flow, options=options)
        error = None
        CONVERSION_SECONDS.clear()
        started = time.perf_counter()
        with (
            mock.patch("time.sleep"),
            mock.patch.object(
                importlib.import_module("cumulusci.tasks.salesforce.Deploy"),
                "convert_sfdx_source",
                timed_conversion,
            ),
        ):
            try:
                if standard:
                    from benchmarks.standard import run_standard

                    run_standard(runtime, org_config, INTEGRATION_USER)
                else:
                    coordinator.run(org_config)
            except Exception as exc:  # reported, not raised
                error = f"{type(exc).__name__}: {exc}"
        wall = time.perf_counter() - started
        return (
            wall,
            [r for r in sim.requests() if r["kind"] != "sim" and not r.get("parent")],
            error,
        )
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
    print(
        "Baseline: the new-customer procedure with CumulusCI's standard tasks (benchmarks/standard.py), on "
        "the new_customer scenario; the existing-customer flow does a subset of that work (no setup access, "
        "no step 1). Every deploy, ours and the baseline's, converts force-app with the sf CLI "
        "(CumulusCI's deploy).\n"
    )
    results: dict = {"flows": {}}
    for latency in (0, 100):
        base, base_requests, base_error = run_flow("", "new_customer", latency, standard=True)
        base_sf = sum(CONVERSION_SECONDS)
        results[f"baseline_{latency}ms"] = {
            "s": round(base, 1),
            "requests": len(base_requests),
            "sf_convert_s": round(base_sf, 1),
            "errors": [base_error] if base_error else [],
        }
        print(
            f"standard tasks, {latency} ms latency: {base:.1f} s wall, {len(base_requests)} requests "
            f"(sf project convert source {base_sf:.1f} s)"
            + (f"; FAILED: {base_error}" if base_error else "")
        )
        for flow, scenario in FLOWS.items():
            wall, requests, error = run_flow(flow, scenario, latency)
            ratio = wall / base
            bound = (
                f"; bound <= {FLOW_BOUND}x: {verdict(ratio <= FLOW_BOUND)}"
                if latency == 100
                else ""
            )
            print(
                f"{flow} on {scenario}, {latency} ms latency: {wall:.1f} s wall ({ratio:.2f}x the "
                f"baseline{bound}), {len(requests)} requests ({len(base_requests)} for the baseline; "
                f"sf project convert source {sum(CONVERSION_SECONDS):.1f} s)"
                + (f"; FAILED: {error}" if error else "")
            )
            results["flows"][f"{flow}_{latency}ms"] = {
                "s": round(wall, 1),
                "requests": len(requests),
                "ratio_to_baseline": round(ratio, 2),
                "sf_convert_s": round(sum(CONVERSION_SECONDS), 1),
                "errors": [error] if error else [],
            }
            if latency == 0:
                for endpoint, count in by_endpoint(requests).most_common():
                    print(f"    {count:4d}  {endpoint}")
        print()
    results.update(more_figures())
    (ROOT / "benchmarks" / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print("\nFigures written to benchmarks/results.json")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def more_figures() -> dict:
    from benchmarks import scale
    from tests.conftest import cci_environment

    reps = int(os.environ.get("BENCH_REPS", "3"))
    out = {}
    # (b) diagnose vs cci org info, real CLI, same simulated org.
    sim = server.start("new_customer")
    home = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    try:
        env = cci_environment(sim, home)
        figures = scale.diagnose_vs_org_info(env, home, INTEGRATION_USER, reps)
    finally:
        sim.stop()
        shutil.rmtree(home, ignore_errors=True)
    out["diagnose_vs_org_info"] = figures
    print(
        f"\ndiagnose {figures['diagnose_s']} s vs cci org info {figures['org_info_s']} s (median of {reps}, "
        f"real CLI): {figures['ratio']}x (bound <= {DIAGNOSE_BOUND}x): "
        f"{verdict(figures['ratio'] <= DIAGNOSE_BOUND)}"
    )
    # (c, d) a big org, the simulator in its own process.
    print("\nBig org (users, tokens and assignments filled straight into the state file):")
    sizes = {}
    for n in (10_000, 100_000):
        sizes[n] = scale.big_org(
            n, "new_customer", INTEGRATION_USER, cci_environment, 10 if n == 100_000 else 0
        )
        f = sizes[n]
        print(
            f"  {n:,} users/tokens: filled in {f['fill_s']} s; diagnose {f['diagnose_s']} s, peak "
            f"{f['diagnose_peak_mb']} MB (bound < {PEAK_MB_BOUND} MB: "
            f"{verdict(f['diagnose_peak_mb'] < PEAK_MB_BOUND)}); simulator "
            f"peak {f['simulator_peak_mb']} MB (target < 300 MB: {verdict(f['simulator_peak_mb'] < 300)})"
        )
    small, big = sizes[10_000], sizes[100_000]
    growth = big["diagnose_s"] / small["diagnose_s"]
    out["big_org"] = {"10000": small, "100000": big, "diagnose_growth_10x_data": round(growth, 2)}
    print(
        f"  diagnose time at 10x the data: {growth:.2f}x (linear in the data: bound <= 10x): "
        f"{verdict(growth <= 10)}"
    )
    print(
        f"  3-table relationship query (PermissionSetAssignment -> Assignee -> Profile, PermissionSet) over "
        f"HTTP, 100,000 users: {big['query_per_s']} queries/s, one client; simulator peak "
        f"{big['simulator_peak_mb']} MB"
    )
    return out


if __name__ == "__main__":
    main()
