"""The real ``cci flow run``, as users run it: what only the CLI shows, once.

Every flow x scenario, with the autopilot and a second run, and every stop -> operator action -> resume
sequence, is specified in-process in test_flows.py (same flows, same CumulusCI code, polling sleeps patched).
A ``cci flow run`` subprocess takes 5-15 s, so this file keeps only what needs the real CLI:

- ``test_cci_flow_run_with_autopilot_then_second_run_writes_nothing``, each flow once on its own scenario:
  the options given as ``-o task__option`` on the command line (including the existing-customer flow's
  ``confirm_reauthorization``), the keychain and org loaded from a fresh ``$HOME``, real polling sleeps while
  the autopilot acts, exit code 0 and the verification report written; then a second run in a new process
  (nothing cached in memory from the first run) that exits 0, writes nothing and says "already done" on the
  console.
- ``test_cci_flow_run_non_interactive_stops_at_the_manual_step_and_resumes``: without a terminal the run
  stops at the first pending manual step with a non-zero exit code, the instructions and "run the flow
  again" on the console and no traceback (cci prints tracebacks for exceptions it does not know: the exit
  code and console text are what the operator and CI see); after the operator's action the next
  ``cci flow run`` resumes past that step and stops at the next one.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import ROOT, flow_options, last_seq, production_consent, writes_since
from tests.e2e.outcomes import (
    EXPECTED_FAILURES,
    EXPECTED_STOPS,
    FLOWS,
    assert_setup_complete,
    confirmations,
    do_manual_step,
)

pytestmark = pytest.mark.cli

#: The scenario each flow is meant for (a new customer, an existing customer with tokens for other apps).
OWN_SCENARIO = {
    "sixsense_new_customer": "new_customer",
    "sixsense_existing_customer": "existing_customer",
}


def _run(
    cci,
    sim,
    flow,
    tmp_path,
    *,
    scenario: str,
    interactive: bool,
    extra: dict | None = None,
):
    args = ["flow", "run", flow, "--org", "sim"]
    args += flow_options(
        interactive=interactive,
        poll_interval="1",
        wait_timeout="120",
        **production_consent(sim),
    )
    args += ["-o", "sixsense_verify__report_path", str(tmp_path / "verification.json")]
    # The operator's word for the refresh-token policy the org cannot show by API (README: real orgs).
    args += ["-o", "sixsense_verify__refresh_token_policy_checked", "True"]
    # The disruptive steps' explicit consents this scenario needs when nobody is at a terminal.
    for task, opts in confirmations(scenario).items():
        for name, value in opts.items():
            args += ["-o", f"{task}__{name}", str(value)]
    for task, opts in (extra or {}).items():
        for name, value in opts.items():
            args += ["-o", f"{task}__{name}", str(value)]
    return cci(sim, *args)


README_EXCERPT = re.compile(
    r"(<!-- ci-log-excerpt:start -->\n```text\n)(.*?)(```\n<!-- ci-log-excerpt:end -->)", re.S
)


def write_ci_log_excerpt(output: str) -> None:
    """The README's CI-log excerpt is the end of this piped run's log (from ``To do`` to the summary), with
    the run's port, paths and counts made stable: the test fails when they differ, and rewrites the README's
    block instead when CI_LOG_EXCERPT_UPDATE=1."""
    import os

    lines = [
        re.sub(r"^\[[0-9/: ]+\]\s?|^\s{20}", "", line).rstrip() for line in output.splitlines()
    ]
    start = next(i for i, line in enumerate(lines) if line.startswith("To do ("))
    end = next(i for i, line in enumerate(lines) if line.startswith("  Audit report:"))
    text = "\n".join(lines[start : end + 1]) + "\n"
    text = re.sub(r"https://127\.0\.0\.1:\d+", "https://acme.my.salesforce.com", text)
    text = re.sub(r"Audit report: \S+", "Audit report: .sixsense/audit/<run>.json", text)
    text = re.sub(
        r"(API requests[^\n]*?)\d+([^\n]*)", lambda m: re.sub(r"\d+", "<n>", m.group(0)), text
    )
    readme = ROOT / "README.md"
    current = readme.read_text(encoding="utf-8")
    match = README_EXCERPT.search(current)
    assert match, "README.md has no ci-log-excerpt block"
    if os.environ.get("CI_LOG_EXCERPT_UPDATE") == "1":
        readme.write_text(
            current[: match.start(2)] + text + current[match.end(2) :], encoding="utf-8"
        )
    else:
        assert match.group(2) == text, (
            "README.md's CI-log excerpt differs from what a run prints now; rerun "
            "tests/e2e/test_flows_cli.py with CI_LOG_EXCERPT_UPDATE=1 and check the diff"
        )


def _pending_step(output: str) -> str:
    """The task cci was running when the flow stopped (the last "Running task:" line)."""
    return re.findall(r"Running task: (\w+)", output)[-1]


@pytest.mark.parametrize("flow", FLOWS)
def test_cci_flow_run_with_autopilot_then_second_run_writes_nothing(flow, start_sim, cci, tmp_path):
    scenario = OWN_SCENARIO[flow]
    assert (scenario, flow) not in EXPECTED_FAILURES
    sim = start_sim(scenario, autopilot=True)
    result = _run(cci, sim, flow, tmp_path, scenario=scenario, interactive=True)
    assert result.returncode == 0, result.stdout[-4000:]
    assert_setup_complete(sim.state())
    report = json.loads((tmp_path / "verification.json").read_text())
    assert report["passed"] is True

    mark = last_seq(sim)
    again = _run(cci, sim, flow, tmp_path, scenario=scenario, interactive=False)
    assert again.returncode == 0, again.stdout[-4000:]
    assert writes_since(sim, mark) == [], "a second run of a finished flow must write nothing"
    assert "already done" in again.stdout


def test_cci_flow_run_non_interactive_stops_at_the_manual_step_and_resumes(
    start_sim, cci, tmp_path
):
    scenario, flow = "new_customer", "sixsense_new_customer"
    stops = EXPECTED_STOPS[(scenario, flow)]
    assert len(stops) >= 2, "the resumed run must have a later manual step to stop at"
    sim = start_sim(scenario)
    first = _run(cci, sim, flow, tmp_path, scenario=scenario, interactive=False)
    assert first.returncode != 0
    assert "Traceback" not in first.stdout
    assert _pending_step(first.stdout) == stops[0]
    assert "run the flow again" in first.stdout.lower()
    # Piped, as in a CI log (issue 18): no line is wrapped, so the link into the org is whole, and the
    # run ends with its summary.
    assert f"{sim.url}/lightning/setup/ConnectedAppsUsage/home" in first.stdout
    assert "Run summary:" in first.stdout
    summary = [line for line in first.stdout.splitlines() if "Run summary:" in line]
    assert summary and all(line == line.rstrip() for line in summary), "piped lines are not padded"
    assert f"{stops[0]}: manual step pending" in first.stdout
    write_ci_log_excerpt(first.stdout)

    extra = do_manual_step(sim, stops[0])
    second = _run(cci, sim, flow, tmp_path, scenario=scenario, interactive=False, extra=extra)
    assert second.returncode != 0
    assert "Traceback" not in second.stdout, second.stdout[-4000:]
    assert _pending_step(second.stdout) == stops[1], second.stdout[-4000:]
