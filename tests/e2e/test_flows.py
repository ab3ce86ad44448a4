"""Both flows, in-process, against every bundled scenario: with the autopilot, and non-interactively. The
suite runs each (scenario, flow) pair in one of the two modes (:func:`flow_matrix`); ``make sweep`` runs every
pair in both.

The org's final state is read from the simulator, not from the tasks' own reports.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import connectable_scenarios, last_seq, production_consent, writes_since
from tests.e2e.autopilot_order import (
    assert_actions_follow_instructions,
    assert_autopilot_did,
    recording,
)
from tests.e2e.outcomes import (
    AUTOPILOT_RERUNS,
    CHOICE_STOPS,
    EXPECTED_FAILURES,
    EXPECTED_STOPS,
    FLOWS,
    VERIFY_FAILURES,
    assert_no_duplicates,
    assert_second_run_writes_nothing,
    assert_setup_complete,
    confirmations,
    do_manual_step,
)

FAST = {"poll_interval": "1", "wait_timeout": "60"}


def flow_matrix(mode: int) -> list:
    """``(scenario, flow)`` params of every bundled scenario with every flow. The suite runs a deterministic
    half: each scenario with one flow here (``mode`` 0, with the autopilot) and the other flow in the other
    mode (1, non-interactive), so every pair runs once; the other half is marked ``sweep`` (``make sweep``
    runs the whole matrix)."""
    return [
        pytest.param(
            scenario,
            flow,
            id=f"{scenario}-{flow}",
            marks=() if (i + j + mode) % 2 == 0 else pytest.mark.sweep,
        )
        for i, scenario in enumerate(connectable_scenarios())
        for j, flow in enumerate(FLOWS)
    ]


def _options(tmp_path, extra: dict | None = None, scenario: str = "") -> dict:
    options = {
        "sixsense_verify": {"report_path": str(tmp_path / "verification.json")},
        # The disruptive steps need explicit consent when nobody is at a terminal (outcomes.confirmations):
        # confirm_logout for the Metadata ETL of Permitted Users, confirm_reauthorization where the
        # integration user holds tokens for other apps.
        **confirmations(scenario),
    }
    for task, opts in (extra or {}).items():
        options.setdefault(task, {}).update(opts)
    return options


def failed_step(coordinator) -> str:
    """The task name of the step whose exception stopped the flow."""
    return [r for r in coordinator.results if r.exception][-1].task_name


def assert_stops_for_the_app_choice(sim, flow, run_flow_inprocess, tmp_path, scenario, interactive):
    """CHOICE_STOPS: the flow stops in sixsense_diagnose naming the choice and the pinning option, and
    nothing was written."""
    mark = last_seq(sim)
    coordinator, error, output = run_flow_inprocess(
        sim,
        flow,
        task_options=_options(tmp_path, scenario=scenario),
        interactive=interactive,
        **FAST,
        **production_consent(sim),
    )
    assert type(error).__name__ == "AppChoiceRequired", f"{error!r}\n{output}"
    assert CHOICE_STOPS[scenario] in str(error)
    assert "-o sixsense_validate_inputs__connected_app_names <name>" in str(error)
    assert failed_step(coordinator) == "sixsense_diagnose"
    assert writes_since(sim, mark) == []


@pytest.mark.parametrize("scenario, flow", flow_matrix(0))
def test_flow_with_autopilot_finishes_and_second_run_writes_nothing(
    scenario, flow, start_sim, run_flow_inprocess, tmp_path
):
    """Also: every autopilot action came while the tool waited in the step that asks for it
    (tests/e2e/autopilot_order.py), and the actions are the manual steps a non-interactive run stops at."""
    sim = start_sim(scenario, autopilot=True)
    if scenario in CHOICE_STOPS:
        assert_stops_for_the_app_choice(sim, flow, run_flow_inprocess, tmp_path, scenario, "True")
        return
    with recording(sim) as log:
        coordinator, error, output = run_flow_inprocess(
            sim,
            flow,
            task_options=_options(tmp_path, scenario=scenario),
            interactive="True",
            **FAST,
            **production_consent(sim),
        )
        rerun = AUTOPILOT_RERUNS.get((scenario, flow))
        if rerun:
            # The operator's answer to a stop that polling cannot end (outcomes.AUTOPILOT_RERUNS).
            assert type(error).__name__ == "ManualStepPending", f"{error!r}\n{output}"
            assert failed_step(coordinator) == rerun[0], failed_step(coordinator)
            log.new_run()
            coordinator, error, output = run_flow_inprocess(
                sim,
                flow,
                task_options=_options(tmp_path, rerun[1], scenario),
                interactive="True",
                **FAST,
                **production_consent(sim),
            )
    actions = assert_actions_follow_instructions(log)
    expected_failure = EXPECTED_FAILURES.get((scenario, flow))
    if expected_failure:
        assert error is not None, "the flow should have stopped"
        assert expected_failure in str(error), str(error)
        assert_no_duplicates(sim.state())
        return
    if scenario in VERIFY_FAILURES:
        assert type(error).__name__ == "VerificationFailed", f"{error!r}\n{output}"
        assert VERIFY_FAILURES[scenario] in str(error), str(error)
        assert failed_step(coordinator) == "sixsense_verify"
        assert_setup_complete(sim.state())
        return
    assert error is None, f"{error}\n{output}"
    assert_setup_complete(sim.state())
    # Each manual step a non-interactive run stops at was done by the autopilot, in that order.
    assert_autopilot_did(actions, EXPECTED_STOPS[(scenario, flow)])
    report = json.loads((tmp_path / "verification.json").read_text())
    assert report["passed"] is True
    # PASS, or SKIPPED where the org offers no read and the skip does not matter (e.g. the app's policies
    # where it is not ConnectedApp metadata): never FAIL or UNREADABLE
    assert {c["result"] for c in report["checks"]} <= {"PASS", "SKIPPED"}
    assert not [c for c in report["not_checked"] if c["matters"]], report["not_checked"]

    assert_second_run_writes_nothing(
        run_flow_inprocess, sim, flow, task_options=_options(tmp_path, scenario=scenario), **FAST
    )


@pytest.mark.parametrize("scenario, flow", flow_matrix(1))
def test_non_interactive_flow_stops_at_each_manual_step_and_resumes(
    scenario, flow, start_sim, run_flow_inprocess, tmp_path
):
    expected = EXPECTED_STOPS.get((scenario, flow))
    if expected is None:  # never a silent pass
        pytest.fail(
            f"no expected outcome for {flow} on {scenario}: add its manual stops to EXPECTED_STOPS in "
            "tests/e2e/outcomes.py"
        )
    sim = start_sim(scenario)
    if scenario in CHOICE_STOPS:
        assert_stops_for_the_app_choice(sim, flow, run_flow_inprocess, tmp_path, scenario, "False")
        return
    stops: list[str] = []
    extra: dict = {}
    for _ in range(len(expected) + 1):
        coordinator, error, output = run_flow_inprocess(
            sim,
            flow,
            task_options=_options(tmp_path, extra, scenario),
            interactive="False",
            **FAST,
            **production_consent(sim),
        )
        if error is None:
            break
        if scenario in VERIFY_FAILURES and type(error).__name__ == "VerificationFailed":
            assert VERIFY_FAILURES[scenario] in str(error), str(error)
            error = None
            break
        assert type(error).__name__ == "ManualStepPending", f"{error!r}\n{output}"
        step = failed_step(coordinator)
        stops.append(step)
        extra_now = do_manual_step(sim, step)
        for task, opts in extra_now.items():
            extra.setdefault(task, {}).update(opts)
    assert error is None, f"{error}\n{output}"
    assert stops == expected
    assert_setup_complete(sim.state())


def test_the_suites_half_of_the_matrix_runs_every_scenario_with_every_flow():
    """The sample is deterministic and complete over the two modes: each pair exactly once unmarked."""
    unmarked = [tuple(p.values) for mode in (0, 1) for p in flow_matrix(mode) if not p.marks]
    pairs = [(scenario, flow) for scenario in connectable_scenarios() for flow in FLOWS]
    assert sorted(unmarked) == sorted(pairs)


def test_every_scenario_and_flow_has_an_expected_outcome():
    """The expectation tables name every bundled scenario with every flow, and nothing else."""
    pairs = {(scenario, flow) for scenario in connectable_scenarios() for flow in FLOWS}
    assert sorted(pairs - set(EXPECTED_STOPS)) == [], (
        "add them to tests/e2e/outcomes.py EXPECTED_STOPS"
    )
    assert sorted((set(EXPECTED_STOPS) | set(EXPECTED_FAILURES)) - pairs) == [], (
        "not a bundled pair"
    )


def test_pending_step_prints_exact_instructions_and_writes_nothing_more(
    start_sim, run_flow_inprocess, tmp_path
):
    sim = start_sim("new_customer")
    coordinator, error, _ = run_flow_inprocess(
        sim,
        "sixsense_new_customer",
        task_options=_options(tmp_path, scenario="new_customer"),
        interactive="False",
        **FAST,
        **production_consent(sim),
    )
    assert type(error).__name__ == "ManualStepPending"
    message = str(error)
    assert "admin@example.com" in message
    assert "6sense" in message
    assert "run the flow again" in message.lower()
    mark = last_seq(sim)
    _, again, _ = run_flow_inprocess(
        sim,
        "sixsense_new_customer",
        task_options=_options(tmp_path, scenario="new_customer"),
        interactive="False",
        **FAST,
        **production_consent(sim),
    )
    assert type(again).__name__ == "ManualStepPending"
    assert writes_since(sim, mark) == [], (
        "re-running up to the same pending step must write nothing"
    )
