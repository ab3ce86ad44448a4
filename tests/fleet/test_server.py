"""The team mode against a real local Prefect server: ``prefect server start`` (random port, temporary
PREFECT_HOME), a process work pool, a ``prefect worker start`` process, a deployment of the fleet diagnose
flow (``python -m fleet deploy``, with a nightly schedule), one run of it: the flow run ends COMPLETED and the report exists."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from fleet import sim
from tests.fleet.helpers import ROOT, fleet_json, run_fleet


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.timeout(420)
def test_fleet_diagnose_deployment_runs_on_a_prefect_server_and_worker(fleet_python, tmp_path):
    prefect = str(Path(fleet_python).with_name("prefect"))
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    out = tmp_path / "out"
    procs: list[subprocess.Popen] = []
    with sim.Simulators({"acme": "new_customer"}, tmp_path / "sims") as sims:
        env = sims.environ()
        env.update(
            PREFECT_HOME=str(tmp_path / "prefect"),
            PREFECT_API_URL=api,
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_UI_ENABLED="false",
        )
        fleet_file = tmp_path / "fleet.yml"
        fleet_file.write_text(sims.fleet_yaml(), encoding="utf-8")
        logs = {
            n: open(tmp_path / f"{n}.log", "w+", encoding="utf-8") for n in ("server", "worker")
        }  # noqa: SIM115
        try:
            procs.append(
                subprocess.Popen(
                    [
                        prefect,
                        "server",
                        "start",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(port),
                        "--no-ui",
                        "--analytics-off",
                    ],
                    cwd=tmp_path,
                    env=env,
                    stdout=logs["server"],
                    stderr=subprocess.STDOUT,
                )
            )
            deadline = time.monotonic() + 180
            while True:
                try:
                    if requests.get(f"{api}/health", timeout=2).ok:
                        break
                except requests.RequestException:
                    pass
                assert procs[0].poll() is None, Path(logs["server"].name).read_text()
                assert time.monotonic() < deadline, "the Prefect server did not answer in 180 s"
                time.sleep(0.5)
            pool = subprocess.run(
                [prefect, "work-pool", "create", "fleet-test", "--type", "process"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert pool.returncode == 0, pool.stdout + pool.stderr
            procs.append(
                subprocess.Popen(
                    [prefect, "worker", "start", "--pool", "fleet-test", "--name", "test-worker"],
                    cwd=ROOT,
                    env=env,
                    stdout=logs["worker"],
                    stderr=subprocess.STDOUT,
                )
            )
            deployed = run_fleet(
                fleet_python,
                [
                    "deploy",
                    "diagnose",
                    str(fleet_file),
                    "--pool",
                    "fleet-test",
                    "--name",
                    "test",
                    "--cron",
                    "0 3 * * *",
                    "--out",
                    str(out),
                ],
                env,
                timeout=120,
            )
            assert deployed.returncode == 0, deployed.stdout + deployed.stderr
            deployment = requests.get(
                f"{api}/deployments/name/fleet-diagnose/test", timeout=10
            ).json()
            crons = [s["schedule"].get("cron") for s in deployment.get("schedules") or []]
            assert crons == ["0 3 * * *"], deployment  # the nightly schedule
            assert deployment["parameters"]["fleet_path"] == str(fleet_file.resolve())
            started = subprocess.run(
                [
                    prefect,
                    "deployment",
                    "run",
                    "fleet-diagnose/test",
                    "--watch",
                    "--watch-timeout",
                    "240",
                ],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            text = started.stdout + started.stderr
            match = re.search(r"UUID:\s*([0-9a-f-]{36})", text)
            assert match, text
            run = requests.get(f"{api}/flow_runs/{match.group(1)}", timeout=10).json()
            assert run["state_type"] == "COMPLETED", (
                text + Path(logs["worker"].name).read_text()[-4000:]
            )
            report = fleet_json(out)
            assert [row["name"] for row in report["orgs"]] == ["acme"]
            assert report["orgs"][0]["state"] == "waiting", report["orgs"][0]
            assert report["orgs"][0]["model"] == "neither"
            # The task run of the org is in the server's database, under the one flow run.
            tasks = requests.post(
                f"{api}/task_runs/filter",
                json={"flow_runs": {"id": {"any_": [match.group(1)]}}},
                timeout=10,
            ).json()
            assert [t["name"] for t in tasks] == ["diagnose acme"], tasks
        finally:
            for proc in reversed(procs):
                _stop(proc)
            for log in logs.values():
                log.close()
