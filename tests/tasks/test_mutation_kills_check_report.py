"""The verdict and reports every verification shares (tasks/check_report.py), written against the survivors
of ``make mutate`` (tests/mutation-equivalent.txt lists the ones that change nothing observable): a skip
that matters carries no "why it does not matter" note, and the log's table is titled."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.tasks.test_checks_fail import verify


def test_a_skip_that_matters_carries_no_note_and_one_that_does_not_says_why(
    sim_task, tmp_path, monkeypatch
):
    monkeypatch.setenv("CI", "1")  # no terminal question
    sim, make = sim_task("configured")
    report, error, _ = verify(make, tmp_path)
    notes = {n["check"]: (n["matters"], n["note"]) for n in report["not_checked"]}
    assert notes["refresh token policy"] == (True, "")
    matters, note = notes["IP relaxation"]
    assert matters is False and note.startswith("an installed third-party app is usually not"), note


def test_the_log_table_is_titled_with_the_report_title(sim_task, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    sim, make = sim_task("configured")
    verify(make, tmp_path, refresh_token_policy_checked="True")
    lines = [r.getMessage() for r in caplog.records]
    assert "6sense verification" in lines, lines[:5]


class _PlanReport:
    """The smallest task CheckReport needs, in plan mode (table, audit note and return values only)."""

    plan = True

    def __init__(self, runtime_logger):
        self.checks = []
        self.logger = runtime_logger
        self.notes = {}

    def _log_table(self, title, rows):
        from tasks.formatting import format_table

        for line in format_table(title, rows):
            self.logger.info(line)

    def _audit_note(self, **fields):
        self.notes.update(fields)


def test_a_narrow_table_has_its_title_and_header_line(runtime, caplog):
    from tasks.check_report import CheckReport

    class Report(_PlanReport, CheckReport):
        pass

    caplog.set_level(logging.INFO)
    report = Report(logging.getLogger("check_report_test"))
    report._add("a", "b", "c", True, "fix")
    report._skip("d", "e", "f", "g", matters=False, note="why")
    report._finish({})
    assert report.checks == [
        {"check": "a", "expected": "b", "actual": "c", "result": "PASS", "fix": ""},
        {"check": "d", "expected": "e", "actual": "f", "result": "SKIPPED", "fix": "g"},
    ]
    lines = [r.getMessage() for r in caplog.records]
    assert lines[:3] == [
        "6sense verification",
        "check  expected  actual  result",
        "-----  --------  ------  -------",
    ]
    assert report.return_values["passed"] is True
    assert report.notes["after"] == {"passed": True, "failed": [], "not_checked": []}


def test_plan_mode_counts_the_failures_and_the_open_checks_and_writes_no_report(runtime, caplog):
    """Plan mode: the verdict of the org as it is now, in the log, the audit and the return values (no
    report paths); nothing is written and nothing raised."""
    from tasks.check_report import CheckReport

    class Report(_PlanReport, CheckReport):
        pass

    caplog.set_level(logging.INFO)
    report = Report(logging.getLogger("check_report_test"))
    report._add("ok", "x", "x", True)
    report._add("bad", "x", "y", False, "fix it")
    report._add_unreadable("unread", "x", "refused")
    report._skip("open", "x", "not shown", "look", matters=True)
    report._skip("fine", "x", "not shown", "look", matters=False, note="why not")
    report._finish({})
    assert report.return_values == {
        "passed": False,
        "failed": ["bad"],
        "not_checked": ["unread", "open"],
        "report_path": "",
        "html_path": "",
    }
    assert report.notes["after"] == {
        "passed": False,
        "failed": ["bad"],
        "not_checked": ["unread", "open"],
    }
    assert caplog.messages[-1] == (
        "Plan: 1 of 5 checks fail and 2 cannot be checked in the org as it is now; the steps above "
        "would address the failures. No report written."
    )


class _WrittenReport(_PlanReport):
    """_PlanReport outside plan mode: ``report_path`` as given, the project at ``repo_root``."""

    plan = False

    def __init__(self, runtime_logger, report_path, repo_root):
        from types import SimpleNamespace

        super().__init__(runtime_logger)
        self.options = {"report_path": report_path}
        self.project_config = SimpleNamespace(repo_root=repo_root)
        self.org_config = SimpleNamespace(org_id="00D000000000001AAA")

    def _instance_url(self):
        return "https://example.my.salesforce.com"


@pytest.mark.parametrize("in_project", [True, False], ids=["project-root", "no-project-root"])
def test_a_relative_report_path_is_under_the_project_root_else_the_working_folder(
    runtime, tmp_path, monkeypatch, in_project
):
    from tasks.check_report import CheckReport

    class Report(_WrittenReport, CheckReport):
        pass

    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(project if not in_project else elsewhere)
    report = Report(
        logging.getLogger("check_report_test"),
        "out/deep/verification.json",
        str(project) if in_project else None,
    )
    report._add("a", "b", "b", True)
    report._finish({})
    written = project / "out" / "deep" / "verification.json"
    named = (
        written if in_project else Path("out/deep/verification.json")
    )  # relative to the working folder
    assert report.return_values["report_path"] == str(named)
    assert report.return_values["html_path"] == str(named.with_suffix(".html"))
    assert written.is_file() and written.with_suffix(".html").is_file()


def test_the_written_report_names_the_org_and_the_time_in_utc(runtime, tmp_path):
    import json
    from datetime import datetime

    from tasks.check_report import CheckReport

    class Report(_WrittenReport, CheckReport):
        pass

    report = Report(logging.getLogger("check_report_test"), str(tmp_path / "v.json"), None)
    report._add("a", "b", "b", True)
    report._finish({"integration_username": "i@example.com"})
    written = json.loads((tmp_path / "v.json").read_text())
    assert list(written) == [
        "generated_at",
        "org_id",
        "instance_url",
        "integration_username",
        "passed",
        "checks",
        "not_checked",
    ]
    assert written["org_id"] == "00D000000000001AAA"
    assert written["instance_url"] == "https://example.my.salesforce.com"
    assert written["integration_username"] == "i@example.com"
    assert written["passed"] is True and written["not_checked"] == []
    at = datetime.fromisoformat(written["generated_at"])
    assert at.utcoffset().total_seconds() == 0 and at.microsecond == 0
    # for people and diffs: indented by 2, one line per field, ending with a newline
    assert (tmp_path / "v.json").read_text() == json.dumps(written, indent=2) + "\n"


@pytest.mark.parametrize("with_failure", [True, False], ids=["a-check-fails", "only-unreadable"])
def test_the_error_says_failed_when_a_check_fails_else_incomplete_and_the_page_has_the_title(
    runtime, tmp_path, with_failure
):
    from tasks.check_report import CheckReport, VerificationFailed

    class Report(_WrittenReport, CheckReport):
        report_title = "Example verification"

    report = Report(logging.getLogger("check_report_test"), str(tmp_path / "v.json"), None)
    if with_failure:
        report._add("bad", "x", "y", False, "step_x")
    report._add_unreadable("unread", "e", "boom")
    with pytest.raises(VerificationFailed) as raised:
        report._finish({})
    lines = str(raised.value).splitlines()
    assert lines[0] == ("Verification failed:" if with_failure else "Verification incomplete:")
    assert lines[-1] == f"Report: {tmp_path / 'v.json'}"
    assert ("  - bad: y; run step_x" in lines) is with_failure
    assert "<title>Example verification</title>" in (tmp_path / "v.html").read_text()


@pytest.mark.parametrize("skips", [0, 2], ids=["all-passed", "two-skips-that-do-not-matter"])
def test_a_passing_verification_logs_its_verdict_and_each_skip_with_its_reason(
    runtime, tmp_path, caplog, skips
):
    from tasks.check_report import CheckReport

    class Report(_WrittenReport, CheckReport):
        pass

    caplog.set_level(logging.INFO)
    report = Report(logging.getLogger("check_report_test"), str(tmp_path / "v.json"), None)
    report._add("a", "b", "b", True)
    for name in ["s1", "s2"][:skips]:
        report._skip(
            name, "e", f"{name} unread", "by hand", matters=False, note=f"{name} is optional"
        )
    report._finish({})
    assert caplog.messages[-1] == (
        "Verification passed; not every check ran: s1 skipped (s1 unread): s1 is optional; "
        f"s2 skipped (s2 unread): s2 is optional. Report: {tmp_path / 'v.json'}"
        if skips
        else f"All checks passed. Report: {tmp_path / 'v.json'}"
    )
