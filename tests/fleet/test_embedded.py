"""Fleet diagnose in Prefect's local mode (no server) over simulated orgs: one row per org with its state
and model; an org with bad credentials and an unreachable org become their own rows (the unreachable one
retried) without stopping the others; a changed org id since the previous fleet run shows as refreshed; no
token reaches the reports, the output or Prefect's database."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from fleet import sim
from tests.fleet.helpers import fleet_json, run_fleet

SCENARIOS = {
    "new_customer": "new_customer",
    "configured": "configured",
    "eca_policies": "eca_installed_default_policies",
}


def _org_json(env: dict, name: str) -> dict:
    return json.loads(env[f"CUMULUSCI_ORG_{name}"])


@pytest.mark.timeout(420)
def test_fleet_diagnose_reports_every_org_whatever_the_others_do(
    fleet_python, prefect_env, tmp_path
):
    out = tmp_path / "out"
    with sim.Simulators(SCENARIOS, tmp_path / "sims") as sims:
        env = sims.environ()
        env.update(prefect_env)
        real = _org_json(env, "new_customer")
        # Bad credentials: the org exists, its tokens do not.
        bad = {
            **real,
            "access_token": "00D5i000000SIMU!BadBadBadBadBadBad",
            "refresh_token": "5Aep" + "x" * 60,
        }
        env["CUMULUSCI_ORG_badcreds"] = json.dumps(bad)
        # Unreachable: nothing listens at this address.
        gone = {
            **real,
            "instance_url": "https://127.0.0.1:9",
            "id": real["id"].replace(real["instance_url"], "https://127.0.0.1:9"),
        }
        env["CUMULUSCI_ORG_gone"] = json.dumps(gone)
        fleet = yaml.safe_load(
            sims.fleet_yaml(concurrency=3, retries={"count": 1, "backoff_seconds": 1})
        )
        for name in ("badcreds", "gone"):
            fleet["orgs"].append(
                {
                    "name": name,
                    "env": f"CUMULUSCI_ORG_{name}",
                    "integration_username": "sixsense.integration@example.com",
                    "flow": "sixsense_new_customer",
                }
            )
        path = tmp_path / "fleet.yml"
        path.write_text(yaml.safe_dump(fleet), encoding="utf-8")
        # A previous fleet run: "configured" had another org id (refreshed since), new_customer the same.
        org_id = re.search(r"/id/(00D\w+)/", real["id"]).group(1)
        out.mkdir()
        previous = {
            "run_id": "20000101T000000Z-diagnose-0000",
            "orgs": [
                {"name": "configured", "org_id": "00D000000000001AAA"},
                {"name": "new_customer", "org_id": org_id},
            ],
        }
        (out / "20000101T000000Z-diagnose-0000.json").write_text(json.dumps(previous))

        result = run_fleet(fleet_python, ["diagnose", str(path), "--out", str(out)], env)
        text = result.stdout + result.stderr
        secrets = [
            v
            for name in (*SCENARIOS, "badcreds", "gone")
            for k, v in json.loads(env[f"CUMULUSCI_ORG_{name}"]).items()
            if k.endswith("token")
        ]

    assert result.returncode == 1, text  # two orgs could not be reached
    report = fleet_json(out)
    rows = {row["name"]: row for row in report["orgs"]}
    assert list(rows) == [*SCENARIOS, "badcreds", "gone"]  # the file's order

    assert rows["new_customer"]["state"] == "waiting"
    assert rows["new_customer"]["step"] == "1. Authorize the 6sense app once as the setup user"
    assert rows["new_customer"]["state_text"].startswith("waiting at step 1: ")
    assert rows["new_customer"]["model"] == "neither"
    assert rows["configured"]["state"] == "done"
    assert rows["configured"]["model"] == "connected app"
    assert rows["eca_policies"]["model"] == "ECA"
    assert any("IP restrictions" in d for d in rows["eca_policies"]["policy_drift"])
    assert Path(rows["configured"]["report"]).exists()

    assert rows["badcreds"]["state"] == "could not connect", rows["badcreds"]
    assert rows["badcreds"]["attempts"] == 1  # bad credentials are not retried
    assert rows["gone"]["state"] == "could not connect", rows["gone"]
    assert rows["gone"]["attempts"] == 2  # a refused connection is retried once (retries.count 1)
    assert rows["gone"]["reason"]

    assert rows["configured"]["refreshed"] is True
    assert "00D000000000001AAA" in rows["configured"]["refreshed_why"]
    assert rows["new_customer"]["refreshed"] is False
    assert rows["eca_policies"]["refreshed"] is None

    assert report["summary"] == {"done": 1, "waiting": 2, "failed": 0, "could not connect": 2}
    assert "5 orgs: 1 done, 2 waiting, 0 failed, 2 could not connect" in result.stdout
    for kind in ("json", "md", "html"):
        assert Path(report["paths"][kind]).exists()
        assert report["paths"][kind] in result.stdout
    md = Path(report["paths"]["md"]).read_text()
    assert "| new_customer | waiting at step 1: " in md
    html = Path(report["paths"]["html"]).read_text()
    assert "<table>" in html and "could not connect" in html

    # No token anywhere: reports, per-org reports, output, Prefect's database and files.
    assert len(secrets) == 10
    stores = [text.encode(), *(p.read_bytes() for p in out.rglob("*") if p.is_file())]
    stores += [p.read_bytes() for p in Path(prefect_env["PREFECT_HOME"]).rglob("*") if p.is_file()]
    assert any(p.suffix == ".db" for p in Path(prefect_env["PREFECT_HOME"]).rglob("*"))
    for secret in secrets:
        assert not any(secret.encode() in blob for blob in stores), secret[:8]
