"""Simulated orgs for the embedded demo, the tests and the benchmark: one ``orgsim serve`` process per org.

``Simulators(scenarios, work_dir, ...)`` starts ``.venv/bin/python -m orgsim serve --scenario S --port 0``
for each org (the simulator serves one org per process), waits for each to write its environment (as
``scripts/with-sim`` does), and gives, like with-sim, what cci needs to reach them: ``environ`` (the
caller's environment plus one ``CUMULUSCI_ORG_<org>`` variable per org, the CA bundle, an isolated HOME with
cci's PyPI check pre-seeded, a CUMULUSCI_KEY) and ``fleet_yaml()`` (a fleet file naming each org by its
variable). ``stop()`` ends the processes it started (SIGTERM, then SIGKILL) and keeps each one's request
summary (stderr) in ``work_dir/<org>.log``. Runs the simulator from the project's ``.venv``; imports
nothing of it.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from pathlib import Path

import yaml

from .config import ENV_PREFIX

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SCENARIOS_DIR = PROJECT_ROOT / "datasets" / "scenarios"
DEFAULT_USER = "sixsense.integration@example.com"


def bundled_scenarios() -> list[str]:
    """Every bundled scenario's name (``datasets/scenarios/*.yml``), sorted."""
    return sorted(p.stem for p in SCENARIOS_DIR.glob("*.yml"))


def integration_user(scenario: str) -> str:
    """The scenario's integration user (its autopilot's), or the usual one."""
    path = Path(scenario) if scenario.endswith(".yml") else SCENARIOS_DIR / f"{scenario}.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return ((data.get("autopilot") or {}).get("integration_user")) or DEFAULT_USER


class SimError(RuntimeError):
    """A simulator did not start; the message names the org and quotes its stderr's end."""


class Simulators:
    """Start simulators: ``orgs`` maps an org name (letters, digits, _) to a scenario name or path."""

    def __init__(
        self,
        orgs: dict[str, str],
        work_dir: Path,
        latency_ms: int = 0,
        autopilot: bool = False,
        extra_args: dict[str, list[str]] | None = None,
        start_timeout: float = 120,
    ):
        self.orgs = orgs
        self.work_dir = Path(work_dir)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.procs: dict[str, subprocess.Popen] = {}
        self.env_lines: dict[str, dict[str, str]] = {}
        self.latency_ms = latency_ms
        self.autopilot = autopilot
        self.extra_args = extra_args or {}
        self.start_timeout = start_timeout

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self) -> None:
        python = os.environ.get("ORGSIM_PYTHON") or str(PROJECT_ROOT / ".venv" / "bin" / "python")
        env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
        try:
            for name, scenario in self.orgs.items():
                cmd = [
                    python,
                    "-m",
                    "orgsim",
                    "serve",
                    "--scenario",
                    scenario,
                    "--port",
                    "0",
                    "--env-file",
                    str(self.work_dir / f"{name}.env"),
                ]
                if self.latency_ms:
                    cmd += ["--latency-ms", str(self.latency_ms)]
                if self.autopilot:
                    cmd.append("--autopilot")
                cmd += self.extra_args.get(name, [])
                log = open(self.work_dir / f"{name}.log", "w", encoding="utf-8")  # noqa: SIM115
                self.procs[name] = subprocess.Popen(
                    cmd,
                    cwd=PROJECT_ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                    stdin=subprocess.DEVNULL,
                )
                log.close()
            deadline = time.monotonic() + self.start_timeout
            for name, proc in self.procs.items():
                path = self.work_dir / f"{name}.env"
                while not (path.exists() and path.stat().st_size):
                    if proc.poll() is not None or time.monotonic() > deadline:
                        tail = (self.work_dir / f"{name}.log").read_text(encoding="utf-8")[-800:]
                        raise SimError(f"simulator of {name} did not start: {tail}")
                    time.sleep(0.05)
                self.env_lines[name] = _parse_env(path.read_text(encoding="utf-8"))
        except BaseException:
            self.stop()
            raise

    def environ(self, base=None) -> dict[str, str]:
        """``base`` (default: this process's environment) plus what cci needs to reach every org."""
        env = {
            k: v
            for k, v in (os.environ if base is None else base).items()
            if not k.startswith(ENV_PREFIX)
        }
        home = self.work_dir / "home"
        (home / ".cumulusci").mkdir(parents=True, exist_ok=True)
        (home / ".cumulusci" / "cumulus_timestamp").write_text("99999999999\n")
        env.update(HOME=str(home), CUMULUSCI_KEY="0123456789abcdef")
        for name, lines in self.env_lines.items():
            env[f"{ENV_PREFIX}{name}"] = lines[f"{ENV_PREFIX}sim"]
            env["REQUESTS_CA_BUNDLE"] = lines["REQUESTS_CA_BUNDLE"]
            env["CUMULUSCI_KEYCHAIN_CLASS"] = lines["CUMULUSCI_KEYCHAIN_CLASS"]
        return env

    def url(self, name: str) -> str:
        return self.env_lines[name]["ORGSIM_URL"]

    def admin_token(self, name: str) -> str:
        return self.env_lines[name]["ORGSIM_ADMIN_TOKEN"]

    def fleet_yaml(
        self,
        concurrency: int | None = None,
        flow: str = "sixsense_new_customer",
        options: dict | None = None,
        retries: dict | None = None,
    ) -> str:
        """A fleet file naming each simulated org by its environment variable."""
        data = {
            "concurrency": concurrency or len(self.orgs),
            "retries": retries or {"count": 1, "backoff_seconds": 1},
            "timeout_seconds": 600,
            "orgs": [
                {
                    "name": name,
                    "env": f"{ENV_PREFIX}{name}",
                    "integration_username": integration_user(scenario),
                    "flow": flow,
                    **({"options": options} if options else {}),
                }
                for name, scenario in self.orgs.items()
            ],
        }
        return yaml.safe_dump(data, sort_keys=False)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _parse_env(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        parts = shlex.split(line)
        if len(parts) == 2 and parts[0] == "export" and "=" in parts[1]:
            key, _, value = parts[1].partition("=")
            out[key] = value
    return out
