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
    """A task stand-in whose ``sf.query`` (through ``_read``, as the wrapper calls it) answers the
    SetupAuditTrail query with ``rows`` (or raises), ``page`` rows at a time (``query_more`` for the rest)."""

    def __init__(self, rows=None, error=None, page=2000):
        self.rows, self.error, self.page, self.soql = rows or [], error, page, []
        self.sf, self.pages_read = self, 0

    def _read(self, what, call, *args, **kwargs):
        return call(*args, **kwargs)

    def query(self, soql):
        self.soql.append(soql)
        if self.error:
            raise self.error
        return self.query_more("0", identifier_is_url=True)

    def query_more(self, url, identifier_is_url=False):
        assert identifier_is_url
        start = int(url)
        self.pages_read += 1
        end = start + self.page
        more = end < len(self.rows)
        return {
            "records": self.rows[start:end],
            "done": not more,
            **({"nextRecordsUrl": str(end)} if more else {}),
        }


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


def test_the_newest_match_ends_the_read_and_a_later_page_is_read_only_when_needed(trail_module):
    """Newest first, a page at a time: a match on the first page reads no more pages (180 days of a busy
    org's trail can be many API requests); a match further down is still found."""
    other = entry(display="Installed connected app Pardot")
    first = Trail([entry(by="first@example.com"), other, other, other], page=2)
    assert "by first@example.com" in trail_module.find(first, "Connected Apps", [APP], SINCE).text
    assert first.pages_read == 1
    later = Trail([other, other, other, entry(by="later@example.com")], page=2)
    assert "by later@example.com" in trail_module.find(later, "Connected Apps", [APP], SINCE).text
    assert later.pages_read == 2


def test_a_step_found_already_done_reads_its_own_entry_within_the_retention(trail_module):
    """Not guided in this run (no ``_guide_began``): the newest entry naming the app AND the step's words,
    from 180 days back (facts §10.4), so the install's evidence is not the later Permitted Users change."""
    policy = entry(
        display=f"Changed Permitted Users for connected app {APP} to Admin approved users are "
        "pre-authorized",
        by="grace.it@example.com",
    )
    install = entry(by="grace.it@example.com", CreatedDate="2026-10-19T16:04:56.000+0000")
    task = Trail([policy, install])
    found = trail_module.for_step(task, "install", [APP])
    assert found.found is True
    assert "2026-10-19T16:04:56" in found.text and "by grace.it@example.com" in found.text
    assert "Permitted Users" not in found.text
    [soql] = task.soql
    start = datetime.fromisoformat(soql.split("CreatedDate >= ")[1].split(" ")[0])
    assert 180 <= (datetime.now(UTC) - start).days <= 181
    assert (
        "Permitted Users"
        in trail_module.for_step(Trail([policy, install]), "permitted_users", [APP]).text
    )


def test_a_step_found_already_done_without_an_entry_says_so_and_why(trail_module, errors):
    none = trail_module.for_step(
        Trail([entry(display=f"Changed something of {APP}")]), "install", [APP]
    )
    assert none.found is False
    assert none.text.startswith("no SetupAuditTrail entry found in section Connected Apps naming")
    assert "with the words 'install'" in none.text and "the trail keeps 180 days" in none.text
    refused = errors.SixsenseOrgError(
        "INSUFFICIENT_ACCESS: insufficient access rights on object id"
    )
    unread = trail_module.for_step(Trail(error=refused), "permitted_users", [APP])
    assert unread.found is None and unread.text.startswith("could not read SetupAuditTrail")


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


def _audit_report_of_a_run(run_flow_inprocess, sim, flow, tmp_path, task_options):
    """Run ``flow`` in-process against ``sim`` (its operator playing the manual steps) with the reports in
    ``tmp_path``; the run's audit report (JSON path). Fails on a flow error."""
    coordinator, error, output = run_flow_inprocess(
        sim,
        flow,
        task_options=task_options,
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
        if re.search(rf"-{flow}-[0-9a-f]{{8}}\.json$", p.name)
    ]
    return report


def test_a_flow_records_the_audit_trail_entries_of_its_manual_steps(
    start_sim, run_flow_inprocess, tmp_path
):
    """new_customer with the simulated operator: the install and the Permitted Users change are done in
    Setup during the run; the audit report's changes carry the org's entries, by the admin who did them."""
    from tests.e2e.outcomes import confirmations

    sim = start_sim("new_customer", autopilot=True)
    report = _audit_report_of_a_run(
        run_flow_inprocess, sim, "sixsense_new_customer", tmp_path, confirmations("new_customer")
    )
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


OTHER_ADMIN = "grace.it@example.com"


@pytest.mark.parametrize("flow", ["sixsense_new_customer", "sixsense_existing_customer"])
def test_steps_another_admin_did_before_the_run_carry_that_admins_entries(
    flow, start_sim, run_flow_inprocess, tmp_path
):
    """``app_set_up_by_another_admin``: Grace installed the app and set Permitted Users before the run. The
    flow finds both steps already done, and its audit report gives her SetupAuditTrail entries (who, when)
    as their evidence, in the JSON, the Markdown and the HTML; nothing is credited to the operator."""
    from tests.e2e.outcomes import confirmations

    sim = start_sim("app_set_up_by_another_admin", autopilot=True)
    trail = {
        r["Display"]: r["CreatedDate"][:19]
        for r in sim.state()["objects"]["SetupAuditTrail"]
        if APP in r["Display"]
    }
    report = _audit_report_of_a_run(
        run_flow_inprocess,
        sim,
        flow,
        tmp_path,
        {
            **confirmations("app_set_up_by_another_admin", flow),
            "sixsense_verify": {"report_path": str(tmp_path / "verification.json")},
        },
    )
    steps = {s["task"]: s for s in json.loads(report.read_text())["steps"]}
    markdown = report.with_suffix(".md").read_text()
    page = report.with_suffix(".html").read_text()
    for task, display in (
        ("sixsense_install_connected_app", f"Installed connected app {APP}"),
        ("sixsense_set_permitted_users", f"Changed Permitted Users for connected app {APP}"),
    ):
        step = steps[task]
        assert step["changed"] == [] and step["skipped"][0].startswith("already done"), step
        [(shown, created)] = [(d, c) for d, c in trail.items() if d.startswith(display)]
        evidence = step["evidence"] or ""
        assert evidence.startswith(f"SetupAuditTrail {created}"), (task, evidence, trail)
        assert f'"{shown}" by {OTHER_ADMIN}' in evidence, (task, evidence)
        assert step["return_values"]["evidence"] == evidence
        assert f"- evidence: {evidence}" in markdown
        assert OTHER_ADMIN in page and "operator" not in evidence
