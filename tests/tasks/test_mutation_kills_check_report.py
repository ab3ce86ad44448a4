"""The verdict and reports every verification shares (tasks/check_report.py), written against the survivors
of ``make mutate`` (tests/mutation-equivalent.txt lists the ones that change nothing observable): a skip
that matters carries no "why it does not matter" note, and the log's table is titled."""

from __future__ import annotations

import logging

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
