"""The audit report tells the truth on disk (issue 18): unique run ids, a dead run marked interrupted by the
next one, terminal consent recorded with when and who, private atomic files that never follow a symlink, one
folder for relative paths, and ``sixsense_history`` listing the runs."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
from types import SimpleNamespace

import pytest


@pytest.fixture
def audit(tasks_module):
    return tasks_module("audit")


def new_run(audit, folder, flow="sixsense_new_customer"):
    return audit.AuditRun(
        SimpleNamespace(name=flow), folder, SimpleNamespace(repo_root=str(folder)), None
    )


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def running_report(folder, run_id, pid):
    data = {
        "run_id": run_id,
        "flow": "sixsense_new_customer",
        "status": "running",
        "started_at": "2026-12-01T10:00:00.000+00:00",
        "writer": {"pid": pid, "host": socket.gethostname(), "os_user": "someone"},
        "consent": [],
        "steps": [{"task": "sixsense_deploy_access", "status": "running", "changed": ["x"]}],
    }
    (folder / f"{run_id}.json").write_text(json.dumps(data))


def test_runs_started_in_the_same_second_get_their_own_reports(audit, tmp_path):
    runs = [new_run(audit, tmp_path) for _ in range(5)]
    for run in runs:
        run.write()
    assert len({r.run_id for r in runs}) == 5
    assert len(list(tmp_path.glob("*.json"))) == 5


def test_a_run_whose_process_died_is_marked_interrupted_by_the_next(audit, tmp_path):
    running_report(tmp_path, "dead-run", dead_pid())
    running_report(tmp_path, "live-run", os.getpid())  # still running: must stay as it is
    run = new_run(audit, tmp_path)
    assert run.data["interrupted_runs_found"] == ["dead-run"]
    dead = json.loads((tmp_path / "dead-run.json").read_text())
    assert dead["status"] == "interrupted"
    assert dead["interrupted"]["noted_by_run"] == run.run_id
    assert dead["steps"][0]["status"] == "interrupted"
    assert json.loads((tmp_path / "live-run.json").read_text())["status"] == "running"


def test_terminal_consent_is_recorded_with_when_and_who(audit, tmp_path):
    run = new_run(audit, tmp_path)
    run.record_consent(
        SimpleNamespace(name="sixsense_deploy_access"), "write to the production org Acme"
    )
    saved = json.loads(run.json_path.read_text())
    [consent] = saved["consent"]
    assert consent["what"] == "write to the production org Acme"
    assert consent["step"] == "sixsense_deploy_access"
    assert consent["os_user"] == audit.os_user() != ""
    assert consent["at"].startswith("20")
    assert "consent at the terminal: write to the production org Acme" in run.md_path.read_text()


def test_a_new_audit_folder_is_private(audit, tmp_path):
    run = new_run(audit, tmp_path / "new" / "audit")
    assert stat.S_IMODE(run.json_path.parent.stat().st_mode) == 0o700


def test_reports_are_private_and_a_planted_symlink_is_not_followed(audit, tmp_path):
    run = new_run(audit, tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    run.json_path.symlink_to(victim)
    run.write()
    assert victim.read_text() == "keep me"
    assert not run.json_path.is_symlink()
    for path in (run.json_path, run.md_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (
        stat.S_IMODE(tmp_path.stat().st_mode) & 0o077
        == stat.S_IMODE(tmp_path.stat().st_mode) & 0o077
    )
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_a_relative_audit_dir_is_taken_from_the_project_folder(audit, tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(tmp_path)
    path = audit.resolve_audit_dir(SimpleNamespace(repo_root=str(project)), "reports/audit")
    assert path == project / "reports" / "audit"
    assert not path.exists()  # checked, not created


@pytest.mark.parametrize("case", ["a file", "under a file"])
def test_a_bad_audit_dir_is_one_line_naming_it(audit, tasks_module, tmp_path, case):
    taken = tmp_path / "taken"
    taken.write_text("")
    target, expected = (
        (taken, "is a file") if case == "a file" else (taken / "audit", "cannot be created")
    )
    with pytest.raises(tasks_module("errors").SixsenseInputError) as error:
        audit.resolve_audit_dir(SimpleNamespace(repo_root=str(tmp_path)), str(target))
    assert expected in str(error.value) and str(target) in str(error.value)
    assert "\n" not in str(error.value)


def test_history_lists_the_runs_of_the_folder(audit, make_task, tmp_path):
    running_report(tmp_path, "dead-run", dead_pid())
    run = new_run(audit, tmp_path, flow="sixsense_existing_customer")
    run.write()
    task = make_task("sixsense_history", audit_dir=str(tmp_path))
    task()
    runs = {r["run_id"]: r for r in task.return_values["runs"]}
    assert set(runs) == {"dead-run", run.run_id}
    assert runs["dead-run"]["status"] == "interrupted"
    assert runs["dead-run"]["changed"] == 1
    assert runs[run.run_id]["flow"] == "sixsense_existing_customer"
