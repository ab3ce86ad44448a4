"""Network and platform faults at every request of a flow run: the flow either survives the fault or stops
with a message that says what to do, and running it again ends in the fault-free run's org state with no
duplicate records.

The normal suite runs a deterministic sample (``faults.SAMPLE``: each fault kind once, at a read, a write or a
Metadata call) on the new-customer flow, whose steps include every step of the other flow;
the points are picked from a fault-free run's request log (``faults.pick_point``), not fixed indexes, so flow
edits do not shift them. The exhaustive sweep (every kind at every request of both flows) runs with
``make sweep``: one test per point, listed at collection time from a fault-free run of each flow
(``pytest_generate_tests`` below; selection, results and summary in ``sweep.py``).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest

from orgsim import server
from orgsim.observe import FAULT_KINDS
from tests.conftest import flow_runner, production_consent
from tests.e2e import sweep
from tests.e2e.faults import (
    FLOW_SCENARIOS,
    SAMPLE,
    api_request_count,
    indexes_for,
    normalized_state,
    pick_point,
    reuse_source_conversion,
    says_what_to_do,
    state_difference,
)
from tests.e2e.outcomes import assert_no_duplicates, assert_setup_complete

FAST = {"poll_interval": "1", "wait_timeout": "60"}

#: flow -> (request log of a fault-free run, its normalized final state), once per process.
_baselines: dict[str, tuple[list[dict], dict]] = {}


def _options(tmp_path) -> dict:
    return {
        "sixsense_verify": {"report_path": str(tmp_path / "verification.json")},
        # The explicit consents a run without a terminal gives (see outcomes.py).
        "sixsense_set_permitted_users": {"confirm_logout": "True"},
        "sixsense_reauthorize_integration_user": {"confirm_reauthorization": "True"},
    }


def _fresh_home(tmp_path):
    """cci saves the refreshed org config in $HOME; a new simulator needs a keychain without it."""
    shutil.rmtree(tmp_path / "home", ignore_errors=True)


def _run(run_flow_inprocess, sim, flow, tmp_path):
    return run_flow_inprocess(
        sim,
        flow,
        task_options=_options(tmp_path),
        interactive="True",
        **FAST,
        **production_consent(sim),
    )


def baseline(flow, start_sim, run_flow_inprocess, tmp_path) -> tuple[list[dict], dict]:
    """(request log of a fault-free run, its normalized final state), once per worker."""
    if flow not in _baselines:
        _fresh_home(tmp_path)
        sim = start_sim(FLOW_SCENARIOS[flow], autopilot=True)
        try:
            _, error, output = _run(run_flow_inprocess, sim, flow, tmp_path)
            assert error is None, f"the fault-free run of {flow} failed: {error}\n{output}"
            assert_setup_complete(sim.state())
            _baselines[flow] = (sim.requests(), normalized_state(sim.state()))
        finally:
            sim.stop()
    return _baselines[flow]


def collection_baseline(flow) -> tuple[list[dict], dict]:
    """``baseline`` outside a test, for the sweep's collection: its own keychain and audit folder, the
    environment restored afterwards. The deploy's source conversion made here is the one the points reuse."""
    if flow not in _baselines:
        with pytest.MonkeyPatch.context() as monkeypatch, tempfile.TemporaryDirectory() as tmp:
            reuse_source_conversion(monkeypatch)
            tmp_path = Path(tmp)
            baseline(flow, server.start, flow_runner(tmp_path, monkeypatch), tmp_path)
    return _baselines[flow]


def run_point(
    flow, kind, index, expected, start_sim, run_flow_inprocess, tmp_path, rerun_always=True
) -> str | None:
    """Inject ``kind`` at request ``index``, run the flow, run it again; None when it converged, else why.
    ``rerun_always=False`` (the sample): a run that survived the fault is compared as it is."""
    _fresh_home(tmp_path)
    sim = start_sim(FLOW_SCENARIOS[flow], autopilot=True, fault=f"nth={index}:kind={kind}")
    try:
        coordinator, error, output = _run(run_flow_inprocess, sim, flow, tmp_path)
        if not sim.observer.faults[0].fired:
            return (
                f"{kind}@{index}: the fault never fired (the run differs from the fault-free one)"
            )
        in_step = any(r.exception for r in coordinator.results)
        # A fault in cci's own start of the flow (its first token refresh, before any step) surfaces as
        # cci's error; the steps' own failures must say what to do.
        if error is not None and in_step and not says_what_to_do(str(error)):
            return f"{kind}@{index}: the failure does not say what to do: {error!r}"
        if error is not None or rerun_always:
            _, again, output = _run(run_flow_inprocess, sim, flow, tmp_path)
            if again is not None:
                return f"{kind}@{index}: the run after the fault failed: {again!r}"
        state = sim.state()
        try:
            assert_no_duplicates(state)
        except AssertionError as exc:
            return f"{kind}@{index}: duplicates: {exc}"
        diff = state_difference(expected, normalized_state(state))
        if diff:
            return f"{kind}@{index}: final state differs: {'; '.join(diff)}"
        return None
    finally:
        sim.stop()


@pytest.mark.parametrize(("kind", "target"), SAMPLE, ids=[f"{k}-at-{t}" for k, t in SAMPLE])
def test_fault_sample_converges(kind, target, start_sim, run_flow_inprocess, tmp_path):
    """One run takes 6-15 s in-process, so the suite samples six points of the new-customer flow (each fault
    kind once); a run that survives the fault is compared with the fault-free state without a second run."""
    flow = "sixsense_new_customer"
    log, expected = baseline(flow, start_sim, run_flow_inprocess, tmp_path)
    index = pick_point(log, kind, target)
    problem = run_point(
        flow, kind, index, expected, start_sim, run_flow_inprocess, tmp_path, rerun_always=False
    )
    assert problem is None, problem


def pytest_generate_tests(metafunc):
    """The sweep's points: every selected fault kind at every selected request index of a fault-free run
    of each selected flow (``sweep.selection``), run here at collection: the flows' request count is not
    fixed. Without ``--run-sweep`` one placeholder per (flow, kind), skipped, and no run."""
    if metafunc.definition.name != sweep.TEST_NAME:
        return
    names = ("flow", "kind", "index")
    if not metafunc.config.getoption("--run-sweep"):
        placeholders = [(flow, kind, None) for flow in sweep.FLOWS for kind in FAULT_KINDS]
        metafunc.parametrize(
            names, placeholders, ids=[sweep.point_id(f, k, "all") for f, k, _ in placeholders]
        )
        return
    chosen = sweep.selection()
    points = []
    for flow in chosen.flows:
        log = collection_baseline(flow)[0]
        total = api_request_count(log)
        points += [
            pytest.param(flow, kind, index, id=sweep.point_id(flow, kind, index))
            for kind in chosen.kinds
            for index in indexes_for(kind, chosen.indexes(total), log)
        ]
    metafunc.parametrize(names, points)


@pytest.fixture
def reused_conversion(monkeypatch):
    reuse_source_conversion(monkeypatch)


@pytest.mark.sweep
def test_fault_sweep_point(
    flow, kind, index, start_sim, run_flow_inprocess, tmp_path, request, reused_conversion
):
    """One point of the exhaustive sweep: ``kind`` at request ``index`` of ``flow``, then a second run
    whatever the first did; the outcome goes to the sweep's summary (``sweep.py``)."""
    log, expected = baseline(flow, start_sim, run_flow_inprocess, tmp_path)
    point = {"flow": flow, "kind": kind, "index": index, "requests": api_request_count(log)}
    request.node.user_properties.append((sweep.POINT, json.dumps(point)))
    problem = run_point(flow, kind, index, expected, start_sim, run_flow_inprocess, tmp_path)
    request.node.user_properties.append((sweep.PROBLEM, json.dumps(problem)))
    assert problem is None, problem
