"""Fleet test fixtures (helpers: ``tests/fleet/helpers.py``). A missing ``.venv-fleet`` fails the tests: it
is never a reason to skip them."""

from __future__ import annotations

import pytest

from tests.fleet.helpers import FLEET_PYTHON


@pytest.fixture(scope="session")
def fleet_python() -> str:
    if not FLEET_PYTHON.exists():
        pytest.fail(
            f"{FLEET_PYTHON} is missing: run scripts/setup (make setup), which creates the fleet's virtualenv"
        )
    return str(FLEET_PYTHON)


@pytest.fixture
def prefect_env(tmp_path):
    """Environment keys that keep Prefect's state in the test's folder (never ~/.prefect)."""
    home = tmp_path / "prefect"
    home.mkdir()
    return {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_API_URL": "",
    }
