"""Issue 18, "every user-facing text stands alone": what an operator reads (task help, messages, reports, the
error catalogue's explanations, the vendor's instructions) points to Salesforce's or the vendor's public
pages, never to this project's internal notes (salesforce-facts.md, field-cases.md, design.md) that a user of
the installed tool does not have. Docstrings and comments are for maintainers and may cite them."""

from __future__ import annotations

import re

import yaml

from tests.ci.test_vendor_data import ROOT, _string_literals, tasks_literals_matching

INTERNAL = re.compile(r"facts §|salesforce-facts|field-cases|design\.md|\bseed (FAQ|article)", re.I)
#: The error catalogue's fields an operator reads (sixsense_troubleshoot prints and writes them).
SHOWN = ("title", "cause", "fix", "fix_steps", "source")


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_no_task_text_cites_internal_notes():
    assert tasks_literals_matching(INTERNAL) == []


def test_no_catalogue_explanation_cites_internal_notes():
    data = yaml.safe_load((ROOT / "tasks" / "error_codes.yml").read_text(encoding="utf-8"))
    found = [
        f"{entry.get('code')}.{field}: {text[:80]!r}"
        for entry in data["entries"]
        for field in SHOWN
        for text in _strings(entry.get(field))
        if INTERNAL.search(text)
    ]
    assert found == []


def test_no_vendor_or_procedure_text_cites_internal_notes():
    found = [
        f"{path.name}: {text[:80]!r}"
        for path in [
            *sorted((ROOT / "datasets" / "vendors").glob("*.yml")),
            ROOT / "datasets" / "procedure.yml",
        ]
        for text in _strings(yaml.safe_load(path.read_text(encoding="utf-8")))
        if INTERNAL.search(text)
    ]
    assert found == []


def test_the_scan_sees_a_planted_reference(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text('"""Cites facts §1 (allowed)."""\nX = "see facts §10.4"\n')
    assert [t for _, t in _string_literals(planted) if INTERNAL.search(t)] == ["see facts §10.4"]
