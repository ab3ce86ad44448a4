"""The HTML pages of the reports (issue 19): written beside the JSON and Markdown, every value escaped, no
address outside the org, the org's position on the procedure diagram, each verification check with its
result. Diagnose and verify run against the simulator; the audit page is read back from an audit run's
files. The browser's view of the same page: tests/tasks/test_html_report_browser.py."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from lxml import html as lxml_html

from tests.tasks.conftest import INTEGRATION

EVIL = "<script>alert('x')</script>\"><img src=https://evil.example/x.png>"


@pytest.fixture
def html_report(tasks_module):
    return tasks_module("html_report")


@pytest.fixture
def procedure(tasks_module):
    return tasks_module("procedure")


def diagnose(sim_task, tmp_path, scenario="existing_customer", **options):
    _, make = sim_task(scenario)
    options.setdefault("json_path", str(tmp_path / "out" / "diagnosis.json"))
    options.setdefault("markdown_path", str(tmp_path / "out" / "diagnosis.md"))
    task = make("sixsense_diagnose", integration_username=INTEGRATION, **options)
    task()
    return task.return_values


def addresses(page: str) -> list[str]:
    """Every address the page could load or lead to: src, href, action, srcset, data, poster, xlink:href."""
    tree = lxml_html.fromstring(page)
    names = ("src", "href", "action", "srcset", "data", "poster", "formaction", "xlink:href")
    return [value for el in tree.iter() for name, value in el.attrib.items() if name in names]


def assert_self_contained(page: str, org_url: str) -> None:
    tree = lxml_html.fromstring(page)
    assert not tree.xpath("//script | //link | //img | //iframe | //object | //embed | //form")
    for address in addresses(page):
        assert address.startswith(org_url + "/") or address == org_url, address
    style = "".join(tree.xpath("//style/text()"))
    assert "url(" not in style and "@import" not in style and "@font-face" not in style
    [csp] = tree.xpath('//meta[@http-equiv="Content-Security-Policy"]/@content')
    assert "default-src 'none'" in csp


# -- beside the JSON and Markdown -------------------------------------------------------------------------


def test_diagnose_writes_the_page_beside_the_json_and_markdown(sim_task, tmp_path):
    result = diagnose(sim_task, tmp_path)
    out = tmp_path / "out"
    assert result["html_path"] == str(out / "diagnosis.html")
    assert result["json_path"] == str(out / "diagnosis.json")
    assert result["markdown_path"] == str(out / "diagnosis.md")
    page = (out / "diagnosis.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert json.loads((out / "diagnosis.json").read_text())["next_step"] == result["next_step"]
    assert_self_contained(page, result["org"]["instance_url"])


def test_diagnose_html_path_option_puts_the_page_where_asked(sim_task, tmp_path):
    result = diagnose(sim_task, tmp_path, html_path=str(tmp_path / "pages" / "d.html"))
    assert result["html_path"] == str(tmp_path / "pages" / "d.html")
    assert (tmp_path / "pages" / "d.html").is_file()
    assert not (tmp_path / "out" / "diagnosis.html").exists()


def test_diagnose_refuses_an_html_path_that_is_a_directory(sim_task, tmp_path, errors):
    _, make = sim_task("new_customer")
    with pytest.raises(errors.SixsenseInputError, match="html_path"):
        make("sixsense_diagnose", html_path=str(tmp_path))


@pytest.mark.parametrize(
    ("scenario", "results"),
    [("configured", {"PASS", "SKIPPED"}), ("existing_customer", {"PASS", "FAIL"})],
)
def test_verify_writes_each_check_with_its_result_beside_the_json(
    sim_task, tmp_path, scenario, results
):
    _, make = sim_task(scenario)
    path = tmp_path / "v" / "verification.json"
    task = make("sixsense_verify", integration_username=INTEGRATION, report_path=str(path))
    try:
        task()
    except Exception as error:  # a FAIL ends the task; the page is written first
        assert type(error).__name__ == "VerificationFailed"
    report = json.loads(path.read_text())
    assert task.return_values["html_path"] == str(path.with_suffix(".html"))
    page = path.with_suffix(".html").read_text(encoding="utf-8")
    assert_self_contained(page, report["instance_url"])
    tree = lxml_html.fromstring(page)
    shown = {}
    for tr in tree.xpath('//section[@id="checks"]//tbody/tr'):
        [cell] = tr.xpath("td[@data-result]")
        shown[tr.get("data-key")] = (cell.get("data-result"), tr.xpath("td")[2].text_content())
    assert shown == {c["check"]: (c["result"], c["actual"]) for c in report["checks"]}
    assert {r for r, _ in shown.values()} == results
    [verdict] = tree.xpath('//section[@id="verdict"]/p[@data-passed]')
    assert verdict.get("data-passed") == str(report["passed"]).lower()


# -- escaping, no address outside the org -----------------------------------------------------------------


def diagnosis_dict(procedure, task="sixsense_install_connected_app", done=False, username=EVIL):
    return {
        "generated_at": "2026-12-01T10:00:00+00:00",
        "org": {
            "name": EVIL,
            "kind": "production",
            "instance_url": "https://acme.my.salesforce.com",
        },
        "next_step": {
            "task": task,
            "text": EVIL,
            "why": EVIL,
            "command": EVIL,
            "done": done,
            "step": EVIL,
        },
        "recommendation": {"model": "connected_app", "flow": EVIL, "why": EVIL},
        "app": {
            "access": [{"type": "PermissionSet", "name": EVIL, "app_id": "0H4"}],
            "candidates": [],
        },
        "users": {
            "integration": {
                "found": True,
                "username": username,
                "has_app_access": True,
                "app_access_via": [EVIL],
            }
        },
        "warnings": [EVIL],
    }


def audit_data():
    return {
        "run_id": EVIL,
        "flow": "sixsense_new_customer",
        "plan": False,
        "status": "ok",
        "started_at": "2026-12-01T10:00:00.000+00:00",
        "finished_at": "2026-12-01T10:01:00.000+00:00",
        "org": {
            "instance_url": "https://acme.my.salesforce.com",
            "org_id": "00D",
            "username": EVIL,
        },
        "consent": [{"what": EVIL, "step": "x", "at": "t", "os_user": EVIL}],
        "steps": [
            {
                "step": "7",
                "task": "sixsense_install_connected_app",
                "status": "ok",
                "changed": [
                    {
                        "object": "ConnectedApplication",
                        "action": "installed",
                        "what": EVIL,
                        "evidence": f"SetupAuditTrail: {EVIL}",
                    }
                ],
                "sessions_affected": [
                    {"user": EVIL, "app": "Pardot", "tokens": 1, "effect": "logged out"}
                ],
                "skipped": [EVIL],
            }
        ],
    }


def test_every_value_is_escaped_in_every_page(html_report, procedure):
    pages = [
        html_report.diagnosis_page(
            diagnosis_dict(procedure), [("Users", [["role", "username"], ["integration", EVIL]])]
        ),
        html_report.verification_page(
            {
                "instance_url": "https://acme.my.salesforce.com",
                "passed": False,
                "integration_username": EVIL,
                "checks": [
                    {"check": EVIL, "expected": EVIL, "actual": EVIL, "result": "FAIL", "fix": EVIL}
                ],
                "not_checked": [
                    {
                        "check": EVIL,
                        "result": "SKIPPED",
                        "reason": EVIL,
                        "matters": True,
                        "note": EVIL,
                    }
                ],
            },
            EVIL,
        ),
        html_report.audit_page(audit_data()),
    ]
    for page in pages:
        assert "<script" not in page.lower() and "<img" not in page.lower()
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&quot;&gt;&lt;img" in page
        assert_self_contained(page, "https://acme.my.salesforce.com")
        assert EVIL in lxml_html.fromstring(page).text_content()


def test_only_https_addresses_become_links(html_report):
    assert html_report.link("javascript:alert(1)") == "javascript:alert(1)"
    assert html_report.link('https://acme.my.salesforce.com/x?a=1&b="2"') == (
        '<a href="https://acme.my.salesforce.com/x?a=1&amp;b=&quot;2&quot;">'
        "https://acme.my.salesforce.com/x?a=1&amp;b=&quot;2&quot;</a>"
    )


# -- the org's position on the procedure -------------------------------------------------------------------


def test_the_next_step_is_the_one_step_marked_current(html_report, procedure):
    keys = [s.key for s in procedure.CONNECTED_APP_STEPS]
    for at, step in enumerate(procedure.CONNECTED_APP_STEPS):
        page = html_report.diagnosis_page(
            diagnosis_dict(procedure, step.task, username="u@example.com"), []
        )
        tree = lxml_html.fromstring(page)
        [current] = tree.xpath('//ol[@class="procedure"]/li[@data-current="true"]')
        assert current.get("data-step") == step.key
        assert step.name in current.text_content()
        states = [li.get("data-state") for li in tree.xpath('//ol[@class="procedure"]/li')]
        assert states == ["done"] * at + ["current"] + ["todo"] * (len(keys) - at - 1)


def test_a_complete_setup_shows_every_step_done(html_report, procedure):
    page = html_report.diagnosis_page(diagnosis_dict(procedure, "sixsense_verify", done=True), [])
    tree = lxml_html.fromstring(page)
    assert {li.get("data-state") for li in tree.xpath('//ol[@class="procedure"]/li')} == {"done"}
    assert tree.xpath('//li[@data-current="true"]/@data-step') == ["verify"]


def test_a_next_step_outside_the_procedure_marks_no_step(html_report, procedure):
    page = html_report.diagnosis_page(diagnosis_dict(procedure, None), [])
    tree = lxml_html.fromstring(page)
    assert tree.xpath('//li[@data-current="true"]') == []
    assert {li.get("data-state") for li in tree.xpath('//ol[@class="procedure"]/li')} == {"todo"}
    assert tree.xpath('//p[@data-off-procedure="true"]')


# -- the audit page ---------------------------------------------------------------------------------------


def test_audit_run_writes_its_page_beside_the_json_and_markdown(tasks_module, tmp_path):
    audit = tasks_module("audit")
    run = audit.AuditRun(
        SimpleNamespace(name="sixsense_new_customer"),
        tmp_path,
        SimpleNamespace(repo_root=str(tmp_path)),
        None,
    )
    entry = run.begin(SimpleNamespace(name="sixsense_install_connected_app", stepnum=7))
    entry.update({k: v for k, v in audit_data()["steps"][0].items() if k not in ("step", "task")})
    run.write()
    assert run.html_path == run.json_path.with_suffix(".html")
    tree = lxml_html.fromstring(run.html_path.read_text(encoding="utf-8"))
    [change] = tree.xpath('//section[@id="changes"]//tbody/tr')
    assert change.xpath("td")[3].text_content() == f"SetupAuditTrail: {EVIL}"
    [session] = tree.xpath('//section[@id="sessions"]//tbody/tr')
    assert [td.text_content() for td in session.xpath("td")][2:] == [
        EVIL,
        "Pardot",
        "1",
        "logged out",
    ]
    [current] = tree.xpath('//li[@data-current="true"]') or [None]
    assert current is None  # every step that ran ended ok
    assert tree.xpath('//li[@data-step="install"]/@data-state') == ["done"]
    assert tree.xpath('//li[@data-step="verify"]/@data-state') == ["not-run"]
