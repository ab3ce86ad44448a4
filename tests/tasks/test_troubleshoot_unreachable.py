"""Issue 17, kind 4: ``sixsense_troubleshoot`` explains the refusal of the tool's own client (CumulusCI's exact
text, and the REST 401 text) even when the org cannot be reached: with the org refusing cci's session
(``client_app_not_allowlisted``), and with no org at all. Where the org can be reached it uses the org's
state. Never writes."""

from __future__ import annotations

import pytest

from tests.conftest import last_seq, writes_since
from tests.tasks.test_troubleshoot import CCI_BLOCKED_TEXT, CCI_REFUSED_TEXT

REST_401_TEXT = "[{'message': 'This session is not valid for use with the REST API', 'errorCode': 'INVALID_SESSION_ID'}]"


@pytest.mark.parametrize("text", [CCI_REFUSED_TEXT, REST_401_TEXT], ids=["cci", "REST 401"])
def test_the_refused_client_is_explained_when_the_org_refuses_this_run_too(sim_task, text):
    sim, make = sim_task("client_app_not_allowlisted")
    mark = last_seq(sim)
    result = make("sixsense_troubleshoot", error=text)()
    assert result["code"] == "CLIENT_APP_NOT_ALLOWLISTED"
    assert result["org_reached"] is False and result["diagnosis"] is None
    facts = " ".join(result["org_facts"])
    assert (
        "could not be reached" in facts
        and "This session is not valid for use with the REST API" in facts
    )
    assert "this same refusal" in facts
    assert "Expired session for" in result["cause"] and "did not expire" in result["cause"]
    assert "Connected Apps OAuth Usage" in result["fix"]
    assert "Admin approved users are pre-authorized" in result["fix"]
    assert writes_since(sim, mark) == []


def test_the_blocked_client_is_explained_when_the_block_refuses_this_run_too(sim_task):
    sim, make = sim_task("client_app_blocked")
    mark = last_seq(sim)
    task = make("sixsense_troubleshoot", error=CCI_BLOCKED_TEXT)
    del (
        task.org_config.refresh_oauth_token
    )  # sim_task's stub: the real refresh is the refused grant
    result = task()
    assert result["code"] == "CLIENT_APP_BLOCKED"
    assert result["org_reached"] is False and result["diagnosis"] is None
    facts = " ".join(result["org_facts"])
    assert "could not be reached" in facts and "app_blocked" in facts
    assert "this same refusal: the connected app cci logs in through is blocked" in facts
    assert "Unblock" in result["fix"] and "cci org connect" in result["fix"]
    assert writes_since(sim, mark) == []


def test_where_the_org_answers_the_blocked_client_is_another(sim_task):
    sim, make = sim_task("new_customer")
    result = make("sixsense_troubleshoot", error=CCI_BLOCKED_TEXT)()
    assert result["code"] == "CLIENT_APP_BLOCKED" and result["org_reached"] is True
    assert "is not blocked now" in " ".join(result["org_facts"])


def test_with_no_org_the_catalogue_still_answers(make_task, tmp_path):
    result = make_task("sixsense_troubleshoot", org=None, error=CCI_REFUSED_TEXT)()
    assert result["code"] == "CLIENT_APP_NOT_ALLOWLISTED"
    assert result["org_reached"] is False
    assert "no org was given" in " ".join(result["org_facts"])
    assert "Install" in result["fix"]


def test_where_the_org_answers_it_uses_the_org_state(sim_task):
    """new_customer: API Access Control is not provisioned, so nothing is refused there today."""
    sim, make = sim_task("new_customer")
    result = make("sixsense_troubleshoot", error=REST_401_TEXT)()
    assert result["code"] == "CLIENT_APP_NOT_ALLOWLISTED"
    assert result["org_reached"] is True and result["diagnosis"] is not None
    assert "API Access Control is not provisioned in this org now" in " ".join(result["org_facts"])


def test_where_cci_is_allowlisted_under_enforcement_the_refused_client_is_another(sim_task):
    sim, make = sim_task("new_customer_acc")
    result = make("sixsense_troubleshoot", error=REST_401_TEXT)()
    assert result["org_reached"] is True
    assert "the client that was refused is another connected app" in " ".join(result["org_facts"])
