"""Issue 17 kind 8 for the writing steps: a read the org refuses or fails never leads to a write that the
same task would not make when every read is answered. Each writing task runs alone, with consent, on an org
where it has something to write (``tests/tasks/test_production_guard_alone.py`` ``CASES``); each read of its
clean run is then failed, every time, in one of the could-not-read sweep's three ways (503, refused for the
connected user's access, a 401 a new session does not cure). The task may stop, or finish; it must never
write what the clean run did not (by method and object or operation: an extra insert, a deploy, a delete;
the same deploy submitted again after its status could not be read is the clean run's write, retried).
Its error is one line or a short message, never a traceback.

The suite runs the sweep's deterministic sample (every read fails once, the kinds in turn); ``make sweep``
fails every read all three ways."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.conftest import last_seq, writes_since
from tests.tasks.test_production_guard_alone import CASES, scenario_variant
from tests.tasks.test_unreadable_sweep import SWEEP_KINDS, _cases, _reads


def _signature(entry: dict) -> tuple[str, str]:
    """A write as the org sees it, without record Ids: the method and the object or operation."""
    return entry["method"], entry["action"] or entry["path"].split("?")[0]


#: A Metadata deploy whose status could not be read is submitted again whole (tasks/resilience.py: a deploy
#: of the same source is idempotent), so a repeat of a deploy the clean run made is that same write.
DEPLOY = ("POST", "deploy")


def _extra(writes: Counter, clean: Counter) -> Counter:
    """The writes the clean run did not make (a repeated deploy of the clean run's is not one)."""
    more = writes - clean
    if clean[DEPLOY]:
        more.pop(DEPLOY, None)
    return more


def _run(make, task_name, options):
    try:
        make(task_name, **options, confirm_production="True")()
        return None
    except Exception as error:  # noqa: BLE001 - the sweep asserts on what the task raised
        return error


@pytest.mark.parametrize("kind", SWEEP_KINDS)
@pytest.mark.parametrize("case", list(CASES))
def test_a_read_that_fails_never_leads_to_another_write(
    case, kind, sim_task, tmp_path, monkeypatch, no_sleep
):
    from tests.e2e.faults import reuse_source_conversion

    reuse_source_conversion(monkeypatch)
    task_name, base, edit, options, before = CASES[case]
    scenario = scenario_variant(tmp_path, base, edit) if edit else base

    def fresh():
        sim, make = sim_task(scenario, org_kind="production")
        if before:
            before(sim)
        return sim, make

    sim, make = fresh()
    mark = last_seq(sim)
    assert _run(make, task_name, options) is None
    clean = Counter(_signature(w) for w in writes_since(sim, mark))
    points = _reads(sim, mark)
    assert clean and points, (clean, points)
    extra = []
    for _, match, fault in _cases(points, kind):
        sim, make = fresh()
        mark = last_seq(sim)
        sim.observer.set_faults(f"match={match}:kind={fault}")
        error = _run(make, task_name, options)
        if error is not None:
            text = str(error)
            assert "Traceback" not in text and len(text.splitlines()) <= 12, (match, fault, text)
        more = _extra(Counter(_signature(w) for w in writes_since(sim, mark)), clean)
        if more:
            extra.append((match, fault, dict(more)))
    assert extra == []
