"""Each flow's runbook in flows/ lists exactly the steps `cci flow info` shows, in the same order."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT, run_cci

FLOWS = [
    "sixsense_new_customer",
    "sixsense_existing_customer",
    "sixsense_eca",
    "sixsense_migrate_to_eca",
]


def runbook_steps(flow: str) -> list[tuple[int, str]]:
    """``(number, task)`` pairs from the runbook's "## Steps" list (``N. task_name — ...``)."""
    text = (ROOT / "flows" / f"{flow}.md").read_text()
    section = text.split("## Steps", 1)[1].split("\n## ", 1)[0]
    return [(int(n), task) for n, task in re.findall(r"^(\d+)\. `?([a-z_]+)`?", section, re.M)]


def flow_info_steps(flow: str, tmp_path) -> list[tuple[int, str]]:
    """``(position, task)`` of every task ``cci flow info`` lists, subflows expanded in place."""
    env = {
        "HOME": str(tmp_path),
        "CUMULUSCI_KEY": "0123456789abcdef",
        "PATH": "/usr/bin:/bin",
    }
    (tmp_path / ".cumulusci").mkdir()
    (tmp_path / ".cumulusci" / "cumulus_timestamp").write_text("99999999999")
    result = run_cci(["flow", "info", flow], env, timeout=120)
    assert result.returncode == 0, result.stdout
    # A subflow's tasks are listed nested under "N) flow: name" with their own numbers; the runbook numbers
    # the tasks as the operator meets them, so count them in order.
    tasks = re.findall(r"^\s*\d+\) task: (\w+)", result.stdout, re.M)
    return list(enumerate(tasks, start=1))


@pytest.mark.parametrize("flow", FLOWS)
def test_runbook_steps_match_cci_flow_info(flow, tmp_path):
    expected = flow_info_steps(flow, tmp_path)
    assert expected, f"cci flow info {flow} listed no steps"
    assert runbook_steps(flow) == expected


@pytest.mark.parametrize("flow", FLOWS)
def test_runbook_has_a_mermaid_diagram_and_undo_section(flow):
    text = (ROOT / "flows" / f"{flow}.md").read_text()
    assert "```mermaid" in text
    assert re.search(r"^## .*[Uu]ndo", text, re.M)
