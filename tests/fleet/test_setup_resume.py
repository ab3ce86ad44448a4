"""Fleet setup: an org that stops at a manual step is reported waiting at that step with its instructions;
after the person's step, running the fleet again continues it to done; a third run leaves the finished org
untouched (no write request reaches the simulator)."""

from __future__ import annotations

import pytest

from fleet import sim
from tests.fleet.helpers import fleet_json, run_fleet, sim_action, sim_requests

INTEGRATION_USER = "sixsense.integration@example.com"
ECA_LABEL = "6sense External Client App"


def _writes(sims, env) -> list[dict]:
    return [r for r in sim_requests(sims, "acme", env) if r["kind"] == "write"]


@pytest.mark.timeout(420)
def test_setup_waits_at_the_manual_step_then_continues_and_leaves_a_finished_org_untouched(
    fleet_python, prefect_env, tmp_path
):
    out = tmp_path / "out"
    with sim.Simulators({"acme": "eca_installed_policies_deployable"}, tmp_path / "sims") as sims:
        env = sims.environ()
        env.update(prefect_env)
        path = tmp_path / "fleet.yml"
        path.write_text(
            sims.fleet_yaml(flow="sixsense_eca", options={"confirm_production": True}),
            encoding="utf-8",
        )
        args = ["setup", str(path), "--out", str(out)]

        first = run_fleet(fleet_python, args, env)
        assert first.returncode == 0, first.stdout + first.stderr
        row = fleet_json(out)["orgs"][0]
        assert row["state"] == "waiting", row
        assert row["state_text"] == (
            "waiting at step 5: Authorize the 6sense External Client App as the integration user"
        )
        assert row["step"] == "5. sixsense_authorize_eca"
        assert "Approve the OAuth consent screen" in row["instructions"]
        assert row["model"] == "ECA"
        assert "waiting at step 5" in first.stdout
        policies_written = _writes(sims, env)
        assert policies_written  # the policies were deployed before the manual step

        assert sim_action(sims, "acme", env, "authorize", username=INTEGRATION_USER, app=ECA_LABEL)[
            "ok"
        ]
        second = run_fleet(fleet_python, args, env)
        assert second.returncode == 0, second.stdout + second.stderr
        row = fleet_json(out)["orgs"][0]
        assert row["state"] == "done", row
        assert row["refreshed"] is False  # same org id as the first run

        third = run_fleet(fleet_python, args, env)
        assert third.returncode == 0, third.stdout + third.stderr
        assert fleet_json(out)["orgs"][0]["state"] == "done"
        assert _writes(sims, env) == policies_written  # finished: nothing written again
