"""Network and platform faults at every request of a flow run: the flow either survives the fault or stops
with a message that says what to do, and running it again ends in the fault-free run's org state with no
duplicate records.

The normal suite runs a deterministic sample (one multiple of ``SAMPLE_STEP`` per fault kind and flow, spread
over the run); the exhaustive sweep (every kind at every request of both flows) runs with ``make sweep``.
"""

from __future__ import annotations

import shutil

import pytest

from orgsim.observe import FAULT_KINDS
from tests.e2e.faults import (
    api_request_count,
    normalized_state,
    says_what_to_do,
    state_difference,
)
from tests.e2e.outcomes import assert_no_duplicates, assert_setup_complete

SAMPLE_STEP = 7
#: The scenario each flow is meant for.
FLOW_SCENARIOS = {
    "sixsense_new_customer": "new_customer",
    "sixsense_existing_customer": "existing_customer",
}
FAST = {"poll_interval": "1", "wait_timeout": "60"}

_baselines: dict[str, tuple[int, dict]] = {}


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
        sim, flow, task_options=_options(tmp_path), interactive="True", **FAST
    )


def baseline(flow, start_sim, run_flow_inprocess, tmp_path) -> tuple[int, dict]:
    """(API requests of a fault-free run, its normalized final state), once per worker."""
    if flow not in _baselines:
        _fresh_home(tmp_path)
        sim = start_sim(FLOW_SCENARIOS[flow], autopilot=True)
        _, error, output = _run(run_flow_inprocess, sim, flow, tmp_path)
        assert error is None, f"{error}\n{output}"
        assert_setup_complete(sim.state())
        _baselines[flow] = (api_request_count(sim), normalized_state(sim.state()))
        sim.stop()
    return _baselines[flow]


def run_point(flow, kind, index, expected, start_sim, run_flow_inprocess, tmp_path) -> str | None:
    """Inject ``kind`` at request ``index``, run the flow, run it again; None when it converged, else why."""
    _fresh_home(tmp_path)
    sim = start_sim(FLOW_SCENARIOS[flow], autopilot=True, fault=f"nth={index}:kind={kind}")
    try:
        coordinator, error, output = _run(run_flow_inprocess, sim, flow, tmp_path)
        in_step = any(r.exception for r in coordinator.results)
        # A fault in cci's own start of the flow (its first token refresh, before any step) surfaces as
        # cci's error; the steps' own failures must say what to do.
        if error is not None and in_step and not says_what_to_do(str(error)):
            return f"{kind}@{index}: the failure does not say what to do: {error!r}"
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


def _check(points, flow, expected, start_sim, run_flow_inprocess, tmp_path):
    problems = [
        p
        for kind, index in points
        if (p := run_point(flow, kind, index, expected, start_sim, run_flow_inprocess, tmp_path))
    ]
    converged = len(points) - len(problems)
    print(f"{flow}: {converged}/{len(points)} injection points converged")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("kind", FAULT_KINDS)
@pytest.mark.parametrize("flow", sorted(FLOW_SCENARIOS))
def test_fault_sample_converges(flow, kind, start_sim, run_flow_inprocess, tmp_path):
    """One run takes about 10 s in-process, so the suite samples one multiple of SAMPLE_STEP per kind and
    flow, spread over the run (validation, deploy, assignments, guided polls, verification)."""
    total, expected = baseline(flow, start_sim, run_flow_inprocess, tmp_path)
    position = (FAULT_KINDS.index(kind) + 1) / (len(FAULT_KINDS) + 1)
    index = max(SAMPLE_STEP, round(total * position / SAMPLE_STEP) * SAMPLE_STEP)
    _check([(kind, index)], flow, expected, start_sim, run_flow_inprocess, tmp_path)


@pytest.mark.sweep
@pytest.mark.parametrize("kind", FAULT_KINDS)
@pytest.mark.parametrize("flow", sorted(FLOW_SCENARIOS))
def test_fault_sweep_every_request(flow, kind, start_sim, run_flow_inprocess, tmp_path):
    total, expected = baseline(flow, start_sim, run_flow_inprocess, tmp_path)
    points = [(kind, i) for i in range(1, total + 1)]
    _check(points, flow, expected, start_sim, run_flow_inprocess, tmp_path)
