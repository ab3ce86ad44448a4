"""The real ``cci flow run`` of both flows against every bundled scenario, as users run it.

With the autopilot playing the operator (interactive waits), then a second run that must write nothing; and
non-interactively: the run stops at the first manual step still pending, exits non-zero with the
instructions, and resumes past that step once it is done. The full stop-and-resume sequence of every
scenario runs in-process in test_flows.py; here each scenario's own flow goes through one cycle.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import (
    bundled_scenarios,
    flow_options,
    last_seq,
    production_consent,
    writes_since,
)
from tests.e2e.outcomes import (
    EXPECTED_FAILURES,
    EXPECTED_STOPS,
    FLOWS,
    assert_no_duplicates,
    assert_setup_complete,
    confirmations,
    do_manual_step,
)

pytestmark = pytest.mark.cli


def _run(
    cci,
    sim,
    flow,
    tmp_path,
    *,
    scenario: str,
    interactive: bool,
    extra: dict | None = None,
    wait_timeout: int = 120,
):
    args = ["flow", "run", flow, "--org", "sim"]
    args += flow_options(
        interactive=interactive,
        poll_interval="0.3",
        wait_timeout=str(wait_timeout),
        **production_consent(sim),
    )
    args += ["-o", "sixsense_verify__report_path", str(tmp_path / "verification.json")]
    # The disruptive steps' explicit consents this scenario needs when nobody is at a terminal.
    for task, opts in confirmations(scenario).items():
        for name, value in opts.items():
            args += ["-o", f"{task}__{name}", str(value)]
    for task, opts in (extra or {}).items():
        for name, value in opts.items():
            args += ["-o", f"{task}__{name}", str(value)]
    return cci(sim, *args)


def _pending_step(output: str) -> str:
    """The task cci was running when the flow stopped (the last "Running task:" line)."""
    return re.findall(r"Running task: (\w+)", output)[-1]


@pytest.mark.parametrize("flow", FLOWS)
@pytest.mark.parametrize("scenario", bundled_scenarios())
def test_cci_flow_run_with_autopilot_then_second_run_writes_nothing(
    scenario, flow, start_sim, cci, tmp_path
):
    sim = start_sim(scenario, autopilot=True)
    expected_failure = EXPECTED_FAILURES.get((scenario, flow))
    # A run that must time out waits for real: keep its wait short.
    result = _run(
        cci,
        sim,
        flow,
        tmp_path,
        scenario=scenario,
        interactive=True,
        wait_timeout=6 if expected_failure else 120,
    )
    if expected_failure:
        assert result.returncode != 0
        assert expected_failure in result.stdout
        assert "Traceback" not in result.stdout
        assert_no_duplicates(sim.state())
        return
    assert result.returncode == 0, result.stdout[-4000:]
    assert_setup_complete(sim.state())
    report = json.loads((tmp_path / "verification.json").read_text())
    assert report["passed"] is True

    mark = last_seq(sim)
    again = _run(cci, sim, flow, tmp_path, scenario=scenario, interactive=False)
    assert again.returncode == 0, again.stdout[-4000:]
    assert writes_since(sim, mark) == [], "a second run of a finished flow must write nothing"
    assert "already done" in again.stdout


OWN_FLOW = {"existing_customer": "sixsense_existing_customer"}


@pytest.mark.parametrize("scenario", bundled_scenarios())
def test_cci_flow_run_non_interactive_stops_at_the_manual_step_and_resumes(
    scenario, start_sim, cci, tmp_path
):
    flow = OWN_FLOW.get(scenario, "sixsense_new_customer")
    stops = EXPECTED_STOPS[(scenario, flow)]
    sim = start_sim(scenario)
    first = _run(cci, sim, flow, tmp_path, scenario=scenario, interactive=False)
    if not stops:
        assert first.returncode == 0, first.stdout[-4000:]
        return
    assert first.returncode != 0
    assert "Traceback" not in first.stdout
    assert _pending_step(first.stdout) == stops[0]
    assert "run the flow again" in first.stdout.lower()

    extra = do_manual_step(sim, stops[0])
    second = _run(cci, sim, flow, tmp_path, scenario=scenario, interactive=False, extra=extra)
    if len(stops) == 1:
        assert second.returncode == 0, second.stdout[-4000:]
    else:
        assert second.returncode != 0
        assert _pending_step(second.stdout) == stops[1], second.stdout[-4000:]
