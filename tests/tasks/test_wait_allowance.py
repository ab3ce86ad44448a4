"""Issue 18, bounded API use: a guided wait spends at most ``WAIT_API_SHARE`` of the org's remaining daily API
requests (read from ``Sforce-Limit-Info``, tasks/guided.py ``GuidedStep._paced_interval``): it checks less
often when the allowance is short, and does not wait at all when not one check fits. Against the simulator,
whose allowance a scenario sets (``org.daily_api_requests``, ``org.api_requests_used``)."""

from __future__ import annotations

import pytest

from tests.conftest import last_seq, writes_since
from tests.tasks.test_production_guard_alone import scenario_variant


def _allowance(used: int, total: int = 100_000):
    def edit(data):
        data["org"].update(daily_api_requests=total, api_requests_used=used)

    return edit


def _wait_for_install(make, timeout="900"):
    """The install step waiting ``timeout`` seconds, polling every second, for an operator who never acts."""
    return make(
        "sixsense_install_connected_app",
        interactive="True",
        poll_interval="1",
        wait_timeout=timeout,
    )


def test_a_short_allowance_slows_the_checks(sim_task, tmp_path, no_sleep, errors, tasks_module):
    """3,000 requests left: a wait may spend 30, so 900 one-second polls become 30-second ones."""
    share = tasks_module("guided").WAIT_API_SHARE
    sim, make = sim_task(scenario_variant(tmp_path, "new_customer", _allowance(97_000)))
    mark = last_seq(sim)
    with pytest.raises(errors.ManualStepPending, match="Timed out after 15:00"):
        _wait_for_install(make)()
    budget = int(3_000 * share)
    sleeps = [call.args[0] for call in no_sleep.call_args_list]
    assert 0 < len(sleeps) <= budget, sleeps
    assert min(sleeps[:-1]) >= 900 / budget, sleeps  # the last one is what is left of the 900 s
    # Each check is one query (plus none else): the requests of the wait stay within the share.
    polls = [r for r in sim.requests(since=mark) if r["action"] == "ConnectedApplication"]
    assert len(sleeps) <= len(polls) <= budget + 1, len(polls)
    assert writes_since(sim, mark) == []


def test_a_full_allowance_keeps_the_poll_interval(sim_task, tmp_path, no_sleep, errors):
    sim, make = sim_task(scenario_variant(tmp_path, "new_customer", _allowance(0)))
    with pytest.raises(errors.ManualStepPending, match="Timed out after 01:00"):
        _wait_for_install(make, timeout="60")()
    sleeps = [call.args[0] for call in no_sleep.call_args_list]
    assert len(sleeps) == 60 and set(sleeps) == {1}


def test_no_wait_when_not_one_check_fits(sim_task, tmp_path, no_sleep, errors):
    """50 requests left: 1% of them is not one check; the step stops at once with the instructions."""
    sim, make = sim_task(scenario_variant(tmp_path, "new_customer", _allowance(99_950)))
    mark = last_seq(sim)
    with pytest.raises(errors.ManualStepPending) as stopped:
        _wait_for_install(make)()
    message = str(stopped.value)
    assert message.startswith("Not waiting for: Install the app (article step 2).")
    assert "API requests left today" in message and "To do (" in message
    assert no_sleep.call_count == 0
    assert writes_since(sim, mark) == []
