"""Fixtures for the simulator's own tests: in-process servers on free ports (``port=0``).

``sim`` starts ``new_customer``; ``make_sim("name", **kw)`` starts any scenario and stops it at teardown.
Client helpers (simple-salesforce, raw SOAP) are in ``simclient.py``.
"""

from __future__ import annotations

import pytest

from orgsim import server


@pytest.fixture
def make_sim(monkeypatch):
    started = []

    def _start(scenario: str = "new_customer", **kwargs):
        sim = server.start(scenario, **kwargs)
        started.append(sim)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", sim.cert_file)
        return sim

    yield _start
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(make_sim):
    return make_sim("new_customer")


@pytest.fixture
def conn():
    """The small SQLite org of the SOQL tests (tests/orgsim/soql_org.py)."""
    from tests.orgsim.soql_org import build_org

    return build_org()
