"""pytest plugin for `make mutate` only (``-p tests.mutation_plugin`` in pyproject.toml [tool.mutmut]).

Deselects the tests that run the real ``cci`` as a subprocess (those that request the ``cci`` fixture):
mutmut records which function each test reaches inside the pytest process, so it cannot see what a
subprocess reaches, and its copy of the project (mutants/) has no venv to run ``cci`` from.

Runs the tests fastest first, by the durations mutmut recorded in its stats run (``mutmut-stats.json`` in
mutants/, the working folder of every run): mutmut hands each mutant's tests over as a set, in no order,
and stops at the first failure (``-x``), so a mutant is killed by its fastest failing test instead of
after a slow end-to-end flow. Without the file (the stats run itself) the order is pytest's.
"""

from __future__ import annotations

import json
from pathlib import Path

STATS = Path("mutmut-stats.json")


def _durations() -> dict[str, float]:
    try:
        return json.loads(STATS.read_text()).get("duration_by_test") or {}
    except (OSError, ValueError):
        return {}


def pytest_collection_modifyitems(config, items):
    subprocess_tests = [item for item in items if "cci" in getattr(item, "fixturenames", ())]
    if subprocess_tests:
        config.hook.pytest_deselected(items=subprocess_tests)
        items[:] = [item for item in items if item not in subprocess_tests]
    durations = _durations()
    if durations:
        items.sort(key=lambda item: durations.get(item.nodeid, float("inf")))
