"""One org's work: a ``cci`` process of the project's virtualenv, its outcome read back as a row.

``run_org(org, mode, run_dir, project_root, timeout)`` runs, in ``project_root``:

- diagnose: ``cci task run sixsense_diagnose --org <cci_org> -o integration_username U -o json_path
  <run_dir>/<name>-diagnosis.json`` (and the Markdown and HTML paths beside it), then reads that JSON;
- setup: ``cci flow run <flow> --org <cci_org> -o sixsense_validate_inputs__interactive False -o
  sixsense_validate_inputs__audit_dir <out>/orgs/<name>/audit`` plus the org's options (each as
  ``sixsense_validate_inputs__<option>``, or ``<step>__<option>`` for ``config.STEP_OPTIONS``), then reads
  the run's audit report (JSON) from that folder.

The process's environment is the caller's without any ``CUMULUSCI_ORG_*`` variable but this org's own (an
``env`` org), so one org's credentials never reach another org's process. Its output is scrubbed
(``scrub``) of the org's tokens and anything token-like before it is kept. Returns a row (``report.row_*``)
plus ``transient`` (bool: a retry may help) and ``output_tail`` (the last scrubbed lines).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

from . import report
from .config import ENV_PREFIX, STEP_OPTIONS
from .scrub import scrub, secrets_of

#: cci output that means the org could not be reached or logged in to (not a task failure).
CONNECT_RE = re.compile(
    r"OrgNotFound|Org named .{0,80}not found|Could not find org|OrgCannotBeLoaded|invalid_grant|"
    r"expired access/refresh token|authentication failure|INVALID_SESSION_ID|Session expired|app_blocked|"
    r"Connection ?refused|NewConnectionError|Max retries exceeded|Failed to establish|"
    r"Name or service not known|SSLError|CERTIFICATE_VERIFY_FAILED|RemoteDisconnected|"
    r"Connection aborted|Connection reset",
    re.IGNORECASE,
)
#: Faults worth a retry: the network or the org's service, not the credentials or the procedure.
TRANSIENT_RE = re.compile(
    r"Connection ?refused|NewConnectionError|Max retries exceeded|Failed to establish|RemoteDisconnected|"
    r"Connection aborted|Connection reset|Read timed out|\b503\b|Service Unavailable|UNABLE_TO_LOCK_ROW|"
    r"SERVER_UNAVAILABLE",
    re.IGNORECASE,
)
TAIL_LINES = 15


def cci_path(project_root: Path, environ) -> str:
    """``$SIXSENSE_FLEET_CCI`` or the project's ``.venv/bin/cci``."""
    return environ.get("SIXSENSE_FLEET_CCI") or str(project_root / ".venv" / "bin" / "cci")


def org_environment(org: dict, environ) -> tuple[dict, list[str]]:
    """``(env, secrets)``: the process environment for ``org`` and the secret values to scrub."""
    env = {k: v for k, v in environ.items() if not k.startswith(ENV_PREFIX)}
    secrets: list[str] = []
    if org.get("env"):
        value = environ.get(org["env"], "")
        env[org["env"]] = value
        try:
            secrets = secrets_of(json.loads(value))
        except ValueError:
            secrets = []
    env["COLUMNS"] = "200"  # fewer wrapped lines in cci's output
    env.setdefault("SF_DISABLE_TELEMETRY", "true")
    env.setdefault("SF_DISABLE_AUTOUPDATE", "true")
    return env, secrets


def command(org: dict, mode: str, run_dir: Path, out_dir: Path, cci: str) -> list[str]:
    """The cci command line for ``org`` (names and paths only, never a secret)."""
    if mode == "diagnose":
        base = run_dir / f"{org['name']}-diagnosis"
        cmd = [cci, "task", "run", "sixsense_diagnose", "--org", org["cci_org"]]
        opts = {"integration_username": org["integration_username"]}
        for key in ("setup_username", "connected_app_names"):
            if key in org["options"]:
                opts[key] = org["options"][key]
        opts.update(json_path=f"{base}.json", markdown_path=f"{base}.md", html_path=f"{base}.html")
        for key, value in opts.items():
            cmd += ["-o", key, str(value)]
        return cmd
    opts = {
        "integration_username": org["integration_username"],
        **org["options"],
        "interactive": False,
        "audit_dir": str(audit_dir(out_dir, org["name"])),
    }
    cmd = [cci, "flow", "run", org["flow"], "--org", org["cci_org"]]
    for key, value in opts.items():
        step = STEP_OPTIONS.get(key, "sixsense_validate_inputs")
        cmd += ["-o", f"{step}__{key}", str(value)]
    return cmd


def audit_dir(out_dir: Path, name: str) -> Path:
    """Where an org's setup runs keep their audit reports: one folder per org, across fleet runs."""
    return out_dir / "orgs" / name / "audit"


def _newest_audit(folder: Path, since: float) -> dict | None:
    reports = [
        p
        for p in folder.glob("*.json")
        if not p.stem.endswith("-diagnosis") and p.stat().st_mtime >= since - 1
    ]
    if not reports:
        return None
    path = max(reports, key=lambda p: p.stat().st_mtime)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    data["_path"] = str(path)
    return data


def run_org(
    org: dict,
    mode: str,
    run_dir: Path,
    out_dir: Path,
    project_root: Path,
    timeout: float,
    environ=None,
) -> dict:
    """Run one org's cci process and return its row (never raises for the org's own failures)."""
    environ = os.environ if environ is None else environ
    env, secrets = org_environment(org, environ)
    cmd = command(org, mode, run_dir, out_dir, cci_path(project_root, environ))
    started = time.monotonic()
    wall = time.time()
    timed_out = False
    try:
        code, output, timed_out = _run_process(cmd, project_root, env, timeout)
    except OSError as e:
        code, output = None, f"could not start cci ({cmd[0]}): {e.strerror}"
    output = scrub(output, secrets)
    tail = [line for line in output.splitlines() if line.strip()][-TAIL_LINES:]
    seconds = round(time.monotonic() - started, 2)
    base = {
        "name": org["name"],
        "flow": org["flow"],
        "cci_org": org["cci_org"],
        "seconds": seconds,
        "exit_code": code,
    }
    if timed_out:
        row = report.row_failed(base, f"timed out after {timeout:g} s", "failed")
        row["transient"] = True
    elif mode == "diagnose" and code == 0:
        path = run_dir / f"{org['name']}-diagnosis.json"
        try:
            diagnosis = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            row = report.row_failed(base, f"cci succeeded but its report {path} is unreadable: {e}")
        else:
            row = report.row_from_diagnosis(base, diagnosis, str(path))
        row["transient"] = False
    elif mode == "setup" and code is not None:
        audit = _newest_audit(audit_dir(out_dir, org["name"]), wall)
        row = report.row_from_setup(base, code, audit, output)
        row["transient"] = row["state"] in ("failed", "could not connect") and bool(
            TRANSIENT_RE.search(output)
        )
    else:
        reason = error_line(output) or f"cci exited with status {code}"
        state = "could not connect" if CONNECT_RE.search(output) else "failed"
        row = report.row_failed(base, reason, state)
        row["transient"] = bool(TRANSIENT_RE.search(output))
    row["output_tail"] = tail
    return row


def _run_process(
    cmd: list[str], cwd: Path, env: dict, timeout: float
) -> tuple[int | None, str, bool]:
    """``(exit code or None, stdout + stderr, timed out)``. The process runs in its own session, so a
    timeout ends its whole tree (cci's own children, such as the sf CLI, too) and never waits on them."""
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = proc.communicate(timeout=timeout)
        return proc.returncode, output or "", False
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        output, _ = proc.communicate()
        return None, output or "", True


def error_line(output: str) -> str | None:
    """cci's closing error line (``Error: ...``), or the last non-empty line; scrubbed text in, out."""
    lines = [line.strip() for line in output.splitlines()]
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].startswith("Error:"):
            message = []
            for line in lines[index:]:  # the message may run on over a few lines
                if not line:
                    break
                message.append(line)
            return " ".join(message)[:500]
    lines = [line for line in lines if line]
    return lines[-1][:500] if lines else None
