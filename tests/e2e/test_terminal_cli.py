"""The real ``cci task run`` at a real (pseudo-)terminal: the production guard's question is asked, Enter
means no (nothing written, non-zero exit), "y" writes.

The in-process tests answer every confirmation with a terminal-like standard input
(tests/tasks/test_terminal_confirmations.py); this one checks, once, that the real CLI in a real terminal
(``pty.openpty``: standard input, output and error are the terminal's slave side) gets there too: cci does
not swallow the question, and the answer typed reaches it.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time

import pytest

from tests.conftest import INTEGRATION_USER, ROOT, cci_environment, last_seq, writes_since
from tests.tasks.test_production_guard_alone import scenario_variant

pytestmark = pytest.mark.cli

QUESTION = "is a production org. Write to it"


def run_at_terminal(args: list[str], env: dict, question: str, answer: str, timeout: float = 240):
    """Run ``args`` with a pseudo-terminal as standard input, output and error; when ``question`` shows,
    type ``answer`` and Enter. Returns ``(exit code, everything printed, whether the question showed)``."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 250, 0, 0))  # rows, columns
    proc = subprocess.Popen(
        args,
        cwd=ROOT,
        env={**env, "TERM": "dumb"},
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
    )
    os.close(slave)
    output, asked = b"", False
    deadline = time.monotonic() + timeout
    try:
        while True:
            assert time.monotonic() < deadline, output.decode(errors="replace")
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed its side of the terminal
                chunk = b""
            if not chunk:
                if proc.poll() is not None:
                    break
                continue
            output += chunk
            if not asked and question in output.decode(errors="replace"):
                asked = True
                os.write(master, f"{answer}\n".encode())
        return proc.wait(timeout=30), output.decode(errors="replace"), asked
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


def _not_assigned(data):
    [pset] = [p for p in data["permission_sets"] if p["name"] == "Sixsense_Integration_Access"]
    pset["assigned_to"] = []


def test_cci_task_at_a_terminal_enter_writes_nothing_and_yes_writes(start_sim, tmp_path):
    """sixsense_grant_app_access alone on production, only the PermissionSetAssignment missing."""
    sim = start_sim(scenario_variant(tmp_path, "configured", _not_assigned), org_kind="production")
    env = cci_environment(sim, tmp_path / "home")
    cci = [str(ROOT / ".venv" / "bin" / "cci"), "task", "run", "sixsense_grant_app_access"]
    args = [*cci, "--org", "sim", "-o", "integration_username", INTEGRATION_USER]

    mark = last_seq(sim)
    code, output, asked = run_at_terminal(args, env, QUESTION, "")
    assert asked, output
    assert "[y/N]" in output, output  # the safe default is shown
    assert code != 0, output
    assert "Not written: this org (Initech) is a production org" in " ".join(output.split())
    assert "Traceback" not in output, output
    assert writes_since(sim, mark) == []

    code, output, asked = run_at_terminal(args, env, QUESTION, "y")
    assert asked and code == 0, output
    text = " ".join(output.split())
    assert "Confirmed at the terminal: write to the production org Initech" in text, output
    assert writes_since(sim, mark) != []
    state = sim.state()["objects"]
    [pset] = [p for p in state["PermissionSet"] if p["Name"] == "Sixsense_Integration_Access"]
    [user] = [u for u in state["User"] if u["Username"] == INTEGRATION_USER]
    assert [
        a
        for a in state["PermissionSetAssignment"]
        if a["AssigneeId"] == user["Id"] and a["PermissionSetId"] == pset["Id"]
    ]
