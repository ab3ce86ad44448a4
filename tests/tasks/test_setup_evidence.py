"""Issue 17, kind 9: a manual Setup step verified during a run is recorded with the org's own evidence, the
SetupAuditTrail entry naming the app (who, when, what), not credited to "the operator"
(tasks/setup_audit_trail.py, facts §10.4). "No entry found" and "could not read" are results of their own."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from tests.conftest import SETUP_USER

SINCE = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
APP = "sfdc_6sense_oauth_app"


class Trail:
    """A task stand-in whose ``_query`` answers the SetupAuditTrail query with ``rows`` (or raises)."""

    def __init__(self, rows=None, error=None):
        self.rows, self.error, self.soql = rows or [], error, []

    def _query(self, soql):
        self.soql.append(soql)
        if self.error:
            raise self.error
        return self.rows


def entry(section="Connected Apps", display=f"Installed connected app {APP}", by=SETUP_USER, **kw):
    return {
        "Action": "connectedAppInstall",
        "Section": section,
        "Display": display,
        "CreatedDate": "2026-12-03T10:01:02.000+0000",
        "CreatedBy": {"Username": by},
        "DelegateUser": None,
        **kw,
    }


@pytest.fixture
def trail_module(tasks_module):
    return tasks_module("setup_audit_trail")


def test_the_entry_naming_the_app_in_its_section_is_the_evidence(trail_module):
    task = Trail([entry(display="Installed connected app Pardot"), entry()])
    found = trail_module.find(task, "Connected Apps", [APP], SINCE)
    assert found.found is True
    assert f'"Installed connected app {APP}" by {SETUP_USER}' in found.text
    assert "2026-12-03T10:01:02" in found.text
    # Filtered by date only (Section and Display cannot be filtered), from before the step began.
    [soql] = task.soql
    assert (
        "WHERE CreatedDate >= 2026-12-03T09:50:00Z" in soql
        and "Section" not in soql.split("WHERE")[1]
    )


def test_login_as_is_named(trail_module):
    task = Trail([entry(DelegateUser="support@example.com")])
    assert (
        "logged in as them by support@example.com"
        in trail_module.find(task, "Connected Apps", [APP], SINCE).text
    )


@pytest.mark.parametrize(
    "rows",
    [
        [],
        [entry(section="Manage Users")],
        [entry(display="Installed connected app Salesloft")],
    ],
    ids=["empty trail", "other section", "other app"],
)
def test_no_matching_entry_is_reported_as_none_found(trail_module, rows):
    found = trail_module.find(Trail(rows), "Connected Apps", [APP], SINCE)
    assert found.found is False
    assert found.text.startswith("no SetupAuditTrail entry found in section Connected Apps naming")


def test_a_refused_read_is_could_not_read_not_none_found(trail_module, errors):
    refused = errors.SixsenseOrgError(
        "INSUFFICIENT_ACCESS: insufficient access rights on object id"
    )
    found = trail_module.find(Trail(error=refused), "Connected Apps", [APP], SINCE)
    assert found.found is None
    assert found.text.startswith("could not read SetupAuditTrail: INSUFFICIENT_ACCESS")


def test_a_flow_records_the_audit_trail_entries_of_its_manual_steps(
    start_sim, run_flow_inprocess, tmp_path
):
    """new_customer with the simulated operator: the install and the Permitted Users change are done in
    Setup during the run; the audit report's changes carry the org's entries, by the admin who did them."""
    from tests.e2e.outcomes import confirmations

    sim = start_sim("new_customer", autopilot=True)
    coordinator, error, output = run_flow_inprocess(
        sim,
        "sixsense_new_customer",
        task_options=confirmations("new_customer"),
        confirm_production="True",
        interactive="True",
        poll_interval="1",
        wait_timeout="60",
        audit_dir=str(tmp_path / "audit"),
    )
    assert error is None, f"{error}\n{output}"
    [report] = [
        p
        for p in (tmp_path / "audit").glob("*.json")
        if re.search(r"-sixsense_new_customer-[0-9a-f]{8}\.json$", p.name)
    ]
    steps = {s["task"]: s for s in json.loads(report.read_text())["steps"]}
    for task, words in (
        ("sixsense_install_connected_app", "Installed connected app"),
        ("sixsense_set_permitted_users", "Permitted Users"),
    ):
        [change] = steps[task]["changed"]
        evidence = change.get("evidence", "")
        assert evidence.startswith("SetupAuditTrail "), (task, change)
        assert words in evidence and f"by {SETUP_USER}" in evidence, (task, evidence)
        assert "operator" not in change["action"]
