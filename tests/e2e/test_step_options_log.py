"""Issue 18, "steps receive the values the run was given": cci logs each step's declared options ("Options:"
then "  name: value"). A step declares only the options it uses (tasks/options.py ``NO_WAIT_OPTIONS`` for the
steps that never wait), and the flows hand every step the run's values (cumulusci.yml's anchors), so no step
shows a default the run overrode, or a wait option it never uses."""

from __future__ import annotations

import re

from tests.e2e.outcomes import confirmations

GIVEN = {"poll_interval": "2", "wait_timeout": "120", "interactive": "True"}


def _options_by_step(output: str) -> dict[str, dict[str, str]]:
    """``{task class: {option: value}}`` from cci's "Options:" blocks of a flow run's log."""
    blocks: dict[str, dict[str, str]] = {}
    current = None
    for line in output.splitlines():
        begin = re.search(r"Running task: (\w+)", line)
        if begin:
            current = blocks.setdefault(begin.group(1), {})
            continue
        option = re.search(r"\s{2}(\w+): (.*)$", line)
        if current is not None and option and option.group(1) in (*GIVEN, "plan"):
            current[option.group(1)] = option.group(2).strip()
    return blocks


def test_every_step_shows_the_values_the_run_gave(start_sim, run_flow_inprocess):
    sim = start_sim("new_customer", autopilot=True)
    coordinator, error, output = run_flow_inprocess(
        sim,
        "sixsense_new_customer",
        task_options=confirmations("new_customer"),
        confirm_production="True",
        **GIVEN,
    )
    assert error is None, output
    blocks = _options_by_step(output)
    assert "sixsense_verify" in blocks and "sixsense_install_connected_app" in blocks, list(blocks)
    for step, options in blocks.items():
        for name in ("poll_interval", "wait_timeout"):
            if name in options:
                assert options[name] == GIVEN[name], (step, name, options[name])
    # ``interactive`` is the run's for the steps that may wait; a writing step that does not wait asks its
    # production question at a terminal by its own reading of standard input (tasks/base.py), not the run's.
    waiting = [s for s, o in blocks.items() if "poll_interval" in o]
    assert len(waiting) >= 5, waiting
    for step in waiting:
        assert blocks[step]["interactive"] == "True", (step, blocks[step])
    # Read-only steps that never wait declare no wait option.
    for step in ("sixsense_verify", "sixsense_diagnose", "sixsense_detect_api_access_control"):
        assert not set(blocks[step]) & {"poll_interval", "wait_timeout"}, (step, blocks[step])
    # The guided steps got the run's values.
    assert blocks["sixsense_install_connected_app"]["poll_interval"] == "2"
