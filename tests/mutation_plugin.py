"""pytest plugin for `make mutate` only (``-p tests.mutation_plugin`` in pyproject.toml [tool.mutmut]).

Deselects the tests that run the real ``cci`` as a subprocess (those that request the ``cci`` fixture):
mutmut records which function each test reaches inside the pytest process, so it cannot see what a
subprocess reaches, and its copy of the project (mutants/) has no venv to run ``cci`` from.
"""

from __future__ import annotations


def pytest_collection_modifyitems(config, items):
    subprocess_tests = [item for item in items if "cci" in getattr(item, "fixturenames", ())]
    if subprocess_tests:
        config.hook.pytest_deselected(items=subprocess_tests)
        items[:] = [item for item in items if item not in subprocess_tests]
