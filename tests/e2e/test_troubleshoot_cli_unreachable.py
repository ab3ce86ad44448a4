"""Issue 17, kind 4, with the real ``cci``: where CumulusCI fails first (``cci org info``, ``cci org connect``,
the start of a flow or task that is not ours), its exact text is what the README's error table quotes
(``CCI_REFUSED_TEXT``), and ``cci task run sixsense_troubleshoot`` explains that text although the org refuses
cci's session (``client_app_not_allowlisted``). Nothing is written."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT, last_seq, writes_since
from tests.tasks.test_troubleshoot import CCI_REFUSED_TEXT

SCENARIO = "client_app_not_allowlisted"


def _normalized(text: str, instance: str = "") -> str:
    text = " ".join(text.split())
    if instance:
        text = text.replace(instance, "https://INSTANCE")
    text = re.sub(r"https://acme\.my\.salesforce\.com", "https://INSTANCE", text)
    return re.sub(r"/v\d+\.\d+/", "/vNN.N/", text)


@pytest.mark.cli
def test_cumulusci_s_own_text_is_the_one_the_readme_quotes(start_sim, cci):
    sim = start_sim(SCENARIO)
    result = cci(sim, "org", "info", "--org", "sim")
    assert result.returncode != 0
    seen = _normalized(result.stdout, sim.url)
    # cci wraps long lines anywhere, even inside the org id: compare without the line breaks.
    expected = _normalized(CCI_REFUSED_TEXT)
    assert expected.replace(" ", "") in seen.replace(" ", ""), result.stdout
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert (
        "Expired session for https://<instance>/services/data/vNN.N/sobjects/Organization/<org id>. "
        "Response content: [{'message': 'This session is not valid for use with the REST API', "
        "'errorCode': 'INVALID_SESSION_ID'}]"
    ) in readme


@pytest.mark.cli
def test_troubleshoot_explains_it_while_the_org_refuses_cci(start_sim, cci):
    sim = start_sim(SCENARIO)
    mark = last_seq(sim)
    result = cci(
        sim, "task", "run", "sixsense_troubleshoot", "--org", "sim", "-o", "error", CCI_REFUSED_TEXT
    )
    out = " ".join(result.stdout.split())
    assert result.returncode == 0, result.stdout
    assert "CLIENT_APP_NOT_ALLOWLISTED" in out
    assert "could not be reached" in out and "this same refusal" in out
    assert "Connected Apps OAuth Usage" in out
    assert "Traceback" not in result.stdout
    assert writes_since(sim, mark) == []
