"""``make bench`` figures that need processes of their own: the real ``cci`` CLI and ``python -m orgsim serve``.

- ``diagnose_vs_org_info``: ``cci task run sixsense_diagnose`` against ``cci org info``, same simulated org,
  median of a few runs of each.
- ``big_org``: a state file pre-filled with N extra users, N OAuth tokens and N permission set assignments
  (bulk ``executemany`` straight into the simulator's SQLite store, with its conventions: 18-character ids with
  the object's key prefix, ``YYYY-MM-DDTHH:MM:SS.mmm+0000`` datetimes), served by a separate simulator process;
  diagnose's wall time and peak RSS (``wait4`` rusage of the cci process), a 3-table relationship query's rate
  over HTTP, and the simulator's peak RSS (``VmHWM`` in ``/proc/PID/status``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import requests

ROOT = Path(__file__).resolve().parent.parent
CCI = str(ROOT / ".venv" / "bin" / "cci")
PYTHON = str(ROOT / ".venv" / "bin" / "python")
APP = "sfdc_6sense_oauth_app"
OTHER_APPS = ("Salesforce for Outlook", "Salesforce Mobile", "Slack", "Tableau", "DataLoader")


# Started by a fresh, small interpreter rather than by this process: on Linux, exec records the peak RSS of
# the address space it replaces in the new program's ru_maxrss (fs/exec.c, setmax_mm_hiwater_rss), and a
# child forked (or vforked) from this process replaces *this* process's address space. Started from here,
# the measured "peak" of cci was this benchmark's own RSS whenever that was the larger, e.g. about 160 MB
# after fill() built its 100,000-row lists, while cci's own peak is about 80 MB at 10,000 and at 100,000
# rows. The launcher's own RSS (about 10 MB) is far below what it measures.
LAUNCHER = """
import json, os, subprocess, sys, time
started = time.perf_counter()
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
wall = time.perf_counter() - started
with open(sys.argv[1], "w") as out:
    json.dump([wall, usage.ru_maxrss, os.waitstatus_to_exitcode(status)], out)
"""


def run_measured(args: list[str], env: dict) -> tuple[float, float, int, str]:
    """(wall seconds, peak RSS in MB, exit status, output) of one child process, from its own rusage
    (``wait4``), read by a small launcher process (``LAUNCHER``) so this process's memory is not counted."""
    fd, result = tempfile.mkstemp(prefix="measured-", suffix=".json")
    os.close(fd)
    try:
        proc = subprocess.Popen(
            [PYTHON, "-I", "-c", LAUNCHER, result, *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        output = proc.stdout.read().decode(errors="replace")
        if proc.wait() != 0:
            raise RuntimeError(
                f"the measuring launcher failed ({proc.returncode}):\n{output[-2000:]}"
            )
        wall, maxrss_kb, status = json.loads(Path(result).read_text())
    finally:
        os.unlink(result)
    return wall, maxrss_kb / 1024, status, output


def diagnose_args(home: Path, integration_user: str) -> list[str]:
    return [
        CCI,
        "task",
        "run",
        "sixsense_diagnose",
        "--org",
        "sim",
        "-o",
        "integration_username",
        integration_user,
        "-o",
        "json_path",
        str(home / "diagnosis.json"),
        "-o",
        "markdown_path",
        str(home / "diagnosis.md"),
    ]


def diagnose_vs_org_info(env: dict, home: Path, integration_user: str, reps: int) -> dict:
    times = {"diagnose": [], "org_info": []}
    for _ in range(reps):
        for name, args in (
            ("org_info", [CCI, "org", "info", "sim"]),
            ("diagnose", diagnose_args(home, integration_user)),
        ):
            wall, _, status, output = run_measured(args, env)
            if status != 0:
                raise RuntimeError(f"{name} failed ({status}):\n{output[-2000:]}")
            times[name].append(wall)
    diag, info = statistics.median(times["diagnose"]), statistics.median(times["org_info"])
    return {
        "diagnose_s": round(diag, 2),
        "org_info_s": round(info, 2),
        "ratio": round(diag / info, 2),
        "runs": reps,
    }


# -- a big org ------------------------------------------------------------------------------------------


def _to_18(prefix: str, n: int) -> str:
    from orgsim import schema

    digits = ""
    while n:
        n, r = divmod(n, 62)
        digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"[r] + digits
    return schema.to_18(prefix + "5i" + digits.rjust(10, "0"))


def fill(state: Path, n: int) -> None:
    """Add ``n`` users, ``n`` OAuth tokens (1 in 20 for the 6sense app, the rest for five others) and ``n``
    permission set assignments to the state file, ids continuing the store's sequence."""
    from orgsim import schema
    from orgsim.store import format_datetime

    conn = sqlite3.connect(state)
    seq = json.loads(conn.execute("SELECT value FROM _sim_meta WHERE key = 'id_seq'").fetchone()[0])
    profile = conn.execute("SELECT Id FROM Profile WHERE Name = 'Standard User'").fetchone() or (
        conn.execute("SELECT Id FROM Profile").fetchone()
    )
    permset = conn.execute(
        "SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = 0"
    ).fetchone() or (conn.execute("SELECT Id FROM PermissionSet").fetchone())
    prefix = {name: schema.OBJECTS[name].key_prefix for name in ("User", "OauthToken")}
    prefix["PSA"] = schema.OBJECTS["PermissionSetAssignment"].key_prefix
    base = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    users, tokens, assignments = [], [], []
    for i in range(n):
        created = format_datetime(base + dt.timedelta(seconds=i))
        user_id = _to_18(prefix["User"], seq + 3 * i + 1)
        users.append(
            (
                user_id,
                f"user{i}@bench.example.com",
                f"User {i}",
                "User",
                f"{i}",
                f"u{i}"[:8],
                f"user{i}@bench.example.com",
                1,
                profile[0],
                "Standard",
                created,
                created,
            )
        )
        app = APP if i % 20 == 0 else OTHER_APPS[i % len(OTHER_APPS)]
        tokens.append(
            (
                _to_18(prefix["OauthToken"], seq + 3 * i + 2),
                app,
                user_id,
                created,
                created,
                i % 50,
                f"tok{i}",
                None,
            )
        )
        assignments.append(
            (_to_18(prefix["PSA"], seq + 3 * i + 3), user_id, permset[0], 1, created)
        )
    with conn:
        conn.executemany(
            'INSERT INTO "User" (Id, Username, Name, FirstName, LastName, Alias, Email, IsActive, '
            "ProfileId, UserType, CreatedDate, LastModifiedDate) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            users,
        )
        conn.executemany(
            'INSERT INTO "OauthToken" (Id, AppName, UserId, CreatedDate, LastUsedDate, UseCount, '
            "AccessToken, AppMenuItemId) VALUES (?,?,?,?,?,?,?,?)",
            tokens,
        )
        conn.executemany(
            'INSERT INTO "PermissionSetAssignment" (Id, AssigneeId, PermissionSetId, IsActive, '
            "SystemModstamp) VALUES (?,?,?,?,?)",
            assignments,
        )
        conn.execute(
            "UPDATE _sim_meta SET value = ? WHERE key = 'id_seq'", (json.dumps(seq + 3 * n + 3),)
        )
    conn.close()


def serve(state: Path, scenario: str, workdir: Path) -> tuple[subprocess.Popen, dict]:
    """A separate simulator process on the state file; (process, the exports it printed)."""
    env_file = workdir / "sim.env"
    proc = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "orgsim",
            "serve",
            "--scenario",
            scenario,
            "--port",
            "0",
            "--state",
            str(state),
            "--env-file",
            str(env_file),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(600):
        if env_file.exists():
            break
        if proc.poll() is not None:
            raise RuntimeError("the simulator did not start")
        time.sleep(0.1)
    exports = {}
    for line in env_file.read_text().splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        exports[key] = shlex.split(value)[0]
    return proc, exports


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def query_rate(exports: dict, seconds: float, n: int) -> tuple[float, int]:
    """Requests per second of a 3-table relationship query (PermissionSetAssignment -> User -> Profile, and
    PermissionSet) by one HTTP client for ``seconds``, a different user each time."""
    org = json.loads(exports["CUMULUSCI_ORG_sim"])
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {org['access_token']}"
    url = f"{org['instance_url']}/services/data/v65.0/query/"
    # Trust the simulator's certificate alone (orgsim.server.ensure_certificate writes it beside the bundle):
    # requests re-reads its CA file for every new connection, and loading certifi's whole bundle each time
    # would measure the client's CA parsing rather than the simulator.
    bundle = Path(exports["REQUESTS_CA_BUNDLE"])
    cert_only = bundle.with_name(bundle.name.replace("bundle-", "cert-", 1))
    verify = str(cert_only) if cert_only.exists() else str(bundle)
    count, rows, i = 0, 0, 0
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        soql = (
            "SELECT Id, Assignee.Username, Assignee.Profile.Name, PermissionSet.Name "
            f"FROM PermissionSetAssignment WHERE Assignee.Username = 'user{i * 7919 % n}@bench.example.com'"
        )
        response = session.get(url, params={"q": soql}, timeout=60, verify=verify)
        response.raise_for_status()
        rows += response.json()["totalSize"]
        count += 1
        i += 1
    return count / (time.perf_counter() - started), rows


def big_org(n: int, scenario: str, integration_user: str, cci_env, qps_seconds: float) -> dict:
    """Diagnose's wall time and peak RSS, the relationship query's rate, the simulator's peak RSS."""
    from orgsim import server

    work = Path(tempfile.mkdtemp(prefix=f"bench-{n}-"))
    state = work / "org.db"
    sim = server.start(scenario, state_file=str(state))  # creates the state file from the scenario
    sim.stop()
    started = time.perf_counter()
    fill(state, n)
    fill_s = time.perf_counter() - started
    proc, exports = serve(state, scenario, work)
    try:
        env = cci_env(
            SimpleNamespace(env=lambda: exports, cert_file=exports["REQUESTS_CA_BUNDLE"]),
            work / "home",
        )
        wall, rss, status, output = run_measured(diagnose_args(work, integration_user), env)
        if status != 0:
            raise RuntimeError(f"diagnose failed ({status}):\n{output[-2000:]}")
        qps, rows = query_rate(exports, qps_seconds, n) if qps_seconds else (None, 0)
        sim_rss = vm_hwm_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {
        "users": n,
        "tokens": n,
        "fill_s": round(fill_s, 1),
        "diagnose_s": round(wall, 2),
        "diagnose_peak_mb": round(rss, 1),
        "simulator_peak_mb": round(sim_rss, 1),
        "query_per_s": round(qps, 1) if qps is not None else None,
        "query_rows": rows,
    }


if __name__ == "__main__":  # quick manual check: python benchmarks/scale.py 10000
    sys.path.insert(0, str(ROOT))
    from tests.conftest import INTEGRATION_USER, cci_environment

    print(big_org(int(sys.argv[1]), "new_customer", INTEGRATION_USER, cci_environment, 5))
