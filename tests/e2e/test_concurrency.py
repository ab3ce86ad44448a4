"""Two runs of the same flow on one org at the same time (two real ``cci`` processes) end in one correct
state with no duplicate records: an insert that loses the race (DUPLICATE_VALUE, or a composite row that
was not saved) is re-queried and counted as already there."""

from __future__ import annotations

import threading

import pytest

from tests.conftest import cci_environment, flow_options, production_consent, run_cci
from tests.e2e.outcomes import assert_no_duplicates, assert_setup_complete

OPTIONS = {
    "sixsense_set_permitted_users": {"confirm_logout": "True"},
    "sixsense_reauthorize_integration_user": {"confirm_reauthorization": "True"},
}


@pytest.mark.cli
@pytest.mark.parametrize(
    "flow,scenario",
    [("sixsense_new_customer", "new_customer")],
)
def test_two_concurrent_runs_end_in_one_correct_state(flow, scenario, start_sim, tmp_path):
    sim = start_sim(scenario, autopilot=True)
    results = {}

    def run(name):
        args = ["flow", "run", flow, "--org", "sim"]
        args += flow_options(
            interactive=True,
            poll_interval="1",
            wait_timeout="120",
            **production_consent(sim),
        )
        args += ["-o", "sixsense_verify__report_path", str(tmp_path / name / "verification.json")]
        args += [
            "-o",
            "sixsense_verify__refresh_token_policy_checked",
            "True",
        ]  # the page, looked at
        for task, opts in OPTIONS.items():
            for option, value in opts.items():
                args += ["-o", f"{task}__{option}", value]
        results[name] = run_cci(args, cci_environment(sim, tmp_path / name / "home"))

    threads = [threading.Thread(target=run, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name, result in results.items():
        assert result.returncode == 0, f"run {name}:\n{result.stdout[-4000:]}"
    state = sim.state()
    assert_setup_complete(state)
    assert_no_duplicates(state)
