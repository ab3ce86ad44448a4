"""The real Salesforce CLI (``tools/sf-cli``, pinned) against a simulator: an isolated HOME, the simulator's
certificate trusted through ``NODE_EXTRA_CA_CERTS``, and a login with ``sf org login access-token`` (the
access token in ``SF_ACCESS_TOKEN``, as the CLI reads it with ``--no-prompt``).

``SfCli(sim, home).login(alias="sim")`` then ``.run("data", "query", ...) -> CompletedProcess``;
``.json(...)`` adds ``--json`` and returns the parsed ``result`` (asserting exit 0).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SF = ROOT / "tools" / "sf-cli" / "node_modules" / ".bin" / "sf"


class SfCli:
    def __init__(self, sim, home: Path, token: str | None = None):
        home.mkdir(parents=True, exist_ok=True)
        self.sim = sim
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("SF_", "SFDX_"))}
        self.env.pop("CI", None)
        self.env.update(
            HOME=str(home),
            NODE_EXTRA_CA_CERTS=sim.cert_file,
            SF_ACCESS_TOKEN=token or sim.session["access_token"],
            SF_DISABLE_TELEMETRY="true",
            SF_DISABLE_AUTOUPDATE="true",
            SF_AUTOUPDATE_DISABLE="true",
            SF_SKIP_NEW_VERSION_CHECK="true",
            SF_USE_GENERIC_UNIX_KEYCHAIN="true",
        )

    def run(self, *args: str, cwd: Path | None = None, timeout: float = 180):
        return subprocess.run(
            [str(SF), *args],
            env=self.env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def json(self, *args: str, cwd: Path | None = None) -> Any:
        done = self.run(*args, "--json", cwd=cwd)
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout)["result"]

    def login(self, alias: str = "sim") -> dict:
        return self.json(
            "org",
            "login",
            "access-token",
            "--instance-url",
            self.sim.url,
            "--no-prompt",
            "--alias",
            alias,
        )
