"""Fleet tests: the fleet runs in its own virtualenv (``.venv-fleet``, made by ``scripts/setup``), so these
tests drive ``.venv-fleet/bin/python -m fleet`` as a subprocess; the plain modules (``config``, ``scrub``,
``report``, ``sim``: no Prefect) are imported here directly. A missing ``.venv-fleet`` fails the tests: it is
never a reason to skip them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
FLEET_PYTHON = ROOT / ".venv-fleet" / "bin" / "python"


def run_fleet(python: str, args: list[str], env: dict, timeout: float = 240):
    """``python -m fleet ARGS`` in the project folder; returns the CompletedProcess (text)."""
    env = {k: v for k, v in env.items() if v != ""}
    return subprocess.run(
        [python, "-m", "fleet", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def fleet_json(out: Path) -> dict:
    """The newest fleet JSON in ``out``."""
    [*_, path] = sorted(out.glob("*.json"))
    return json.loads(path.read_text(encoding="utf-8"))


def sim_requests(sims, name: str, env: dict) -> list[dict]:
    """The simulator's request log of org ``name``."""
    resp = requests.get(
        sims.url(name) + "/_sim/requests",
        headers={"Authorization": "Bearer " + sims.admin_token(name)},
        verify=env["REQUESTS_CA_BUNDLE"],
        timeout=30,
    )
    resp.raise_for_status()
    return resp.json()


def sim_action(sims, name: str, env: dict, action: str, **params) -> dict:
    """A person's step on simulated org ``name`` (``POST /_sim/actions/<action>``)."""
    resp = requests.post(
        sims.url(name) + f"/_sim/actions/{action}",
        json=params,
        headers={"Authorization": "Bearer " + sims.admin_token(name)},
        verify=env["REQUESTS_CA_BUNDLE"],
        timeout=30,
    )
    return resp.json()


def base_env(extra: dict) -> dict:
    env = dict(os.environ)
    env.update(extra)
    return env
