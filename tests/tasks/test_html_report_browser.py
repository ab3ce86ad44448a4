"""The diagnosis page in a real browser: headless Chromium (Debian's ``chromium``, installed by
``scripts/setup``) loads the page a diagnose of a simulated org wrote, and the test reads what it shows
through the DOM (``--dump-dom``): the org's step marked on the procedure diagram, the integration user's row;
a value holding ``<script>`` shows as text, not as an element. It also takes a screenshot, the README's
``docs/img/diagnosis.png``: rewritten only when ``HTML_SCREENSHOT_UPDATE=1``.

Without ``/usr/bin/chromium`` (the set-up installs it where it can: Debian, as root) the tests are skipped
with that reason (issue 19), which pytest's summary shows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import html as lxml_html

from tests.conftest import INTEGRATION_USER
from tests.tasks.conftest import INTEGRATION, ROOT

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = ROOT / "docs" / "img" / "diagnosis.png"
#: What works on these machines (a closed network: no background fetches, no first-run, no sandbox as root).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Run headless Chromium with ``args`` and a new profile under ``tmp_path``; fails when it is missing."""
    if not os.access(CHROMIUM, os.X_OK):
        reason = (
            f"{CHROMIUM} is missing: the browser test needs Debian's chromium. Run scripts/setup (make setup) "
            "as root on Debian, which installs it with apt-get, or: apt-get install -y chromium"
        )
        pytest.skip(reason)
    profile = tmp_path / "chromium-profile"
    profile.mkdir(exist_ok=True)
    result = subprocess.run(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def dom(tmp_path: Path, page: Path):
    """The page's DOM after Chromium loaded it from ``file://``, parsed (lxml)."""
    out = chromium(tmp_path, "--dump-dom", page.resolve().as_uri()).stdout
    assert "<html" in out, out[:2000]
    return lxml_html.fromstring(out)


@pytest.fixture
def diagnose(sim_task, tmp_path):
    """``diagnose(scenario, **options)`` -> the return values of sixsense_diagnose against the simulator,
    reports under ``tmp_path``."""

    def _run(scenario, **options):
        _, make = sim_task(scenario)
        options.setdefault("json_path", str(tmp_path / "diagnosis.json"))
        options.setdefault("markdown_path", str(tmp_path / "diagnosis.md"))
        task = make("sixsense_diagnose", **options)
        task()
        return task.return_values

    return _run


def test_browser_shows_the_orgs_step_and_the_integration_users_row(
    diagnose, tasks_module, tmp_path
):
    procedure = tasks_module("procedure")
    result = diagnose("existing_customer", integration_username=INTEGRATION)
    page = Path(result["html_path"])
    assert page == tmp_path / "diagnosis.html"
    tree = dom(tmp_path, page)

    current = tree.xpath('//ol[@class="procedure"]/li[@data-current="true"]')
    assert len(current) == 1
    install = procedure.step("install")
    assert result["next_step"]["task"] == install.task
    assert current[0].get("data-step") == "install"
    assert current[0].get("data-state") == "current"
    assert install.name in current[0].text_content()
    states = [li.get("data-state") for li in tree.xpath('//ol[@class="procedure"]/li')]
    keys = [s.key for s in procedure.CONNECTED_APP_STEPS]
    at = keys.index("install")
    assert states == ["done"] * at + ["current"] + ["todo"] * (len(keys) - at - 1)

    row = tree.xpath('//section[@id="users"]//tr[@data-key="integration"]')
    assert len(row) == 1
    cells = [td.text_content() for td in row[0].xpath("td")]
    assert cells[:3] == ["integration", INTEGRATION, "yes"]
    tokens = tree.xpath('//section[@id="tokens"]//tbody/tr')
    assert tokens, "the integration user's tokens table is shown"

    shot = tmp_path / "diagnosis.png"
    chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,1600", page.resolve().as_uri())
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000
    if os.environ.get("HTML_SCREENSHOT_UPDATE") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)
    assert SCREENSHOT.is_file(), (
        f"{SCREENSHOT} (shown in the README) is missing: rerun this test with HTML_SCREENSHOT_UPDATE=1"
    )


def test_browser_shows_a_script_in_org_data_as_text(diagnose, tmp_path):
    """Org data is not trusted: a profile named with a script (as an admin could name one) shows as text.
    (A script in an option is refused before the diagnosis runs: tests/e2e/test_bad_inputs.py.)"""
    from tests.tasks.test_production_guard_alone import scenario_variant

    evil = "<script>document.title='owned'</script>Integrations"

    def edit(data):
        data.setdefault("profiles", []).append(
            {"name": evil, "license": "Salesforce Integration", "permissions": ["ApiEnabled"]}
        )
        for user in data["users"]:
            if user["username"] == INTEGRATION_USER:
                user["profile"] = evil

    result = diagnose(
        scenario_variant(tmp_path, "new_customer", edit), integration_username=INTEGRATION_USER
    )
    tree = dom(tmp_path, Path(result["html_path"]))
    assert tree.xpath("//script") == []
    assert "owned" not in tree.findtext(".//title")
    row = tree.xpath('//section[@id="users"]//tr[@data-key="integration"]')
    cells = [td.text_content() for td in row[0].xpath("td")]
    assert cells[:2] == ["integration", INTEGRATION_USER]
    assert evil in cells
