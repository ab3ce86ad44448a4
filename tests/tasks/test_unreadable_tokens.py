"""Issue 17 kind 8, "unreadable is not absent", on a scenario of its own: ``connected_user_cannot_see_tokens``
is the configured org with cci connected as a delegated admin who lacks Manage Users, so Salesforce shows it
only its own OAuth tokens (facts §10.1; the simulator's conservative ``oauth_token_visibility: both``). The
integration user's token exists. No task may read the empty answer as "no token" or "not in use": which
candidate app is 6sense's cannot be told from tokens it cannot see, so each task stops for the app to be pinned
(or diagnose names that choice); with the app pinned, verify says it could not check the token (never PASS,
never "reauthorize"), and the reauthorization step stops before any instruction instead of waiting for a
token it could never see. The flows stop earlier, in sixsense_validate_inputs, naming Manage Users
(tests/e2e/test_connected_user_rights.py)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import INTEGRATION_USER, last_seq, writes_since

SCENARIO = "connected_user_cannot_see_tokens"
CHECK = "integration user authorized"
APP = "sfdc_6sense_oauth_app"
HIDDEN = "which candidate is in use could not be read (other users' OAuth tokens may be hidden: "


def _the_token_exists(sim) -> None:
    """The scenario's premise, read from the simulator's own rows (not through the connected user)."""
    with sim.org.lock:
        user = sim.org.user_by_username(INTEGRATION_USER)
        mine = sim.org.store.find("OauthToken", UserId=user["Id"])
    assert mine, "the scenario must give the integration user a token the connected user cannot see"


def test_verify_says_it_could_not_check_the_token(sim_task, tmp_path):
    sim, make = sim_task(SCENARIO)
    _the_token_exists(sim)
    path = tmp_path / "verify.json"
    with pytest.raises(Exception) as raised:
        make(
            "sixsense_verify",
            integration_username=INTEGRATION_USER,
            connected_app_names=APP,
            report_path=str(path),
        )()
    assert type(raised.value).__name__ == "VerificationFailed", raised.value
    report = json.loads(path.read_text())
    assert report["passed"] is False
    token = next(c for c in report["checks"] if c["check"] == CHECK)
    assert token["result"] == "UNREADABLE", token
    assert token["actual"].startswith("could not check:"), token
    assert "Manage Users" in token["actual"], token
    assert "no token" not in token["actual"]
    assert "sixsense_reauthorize_integration_user" not in token["fix"]
    # Every other check passes: the token is the one thing verify could not tell.
    others = [c for c in report["checks"] if c["check"] != CHECK and c["result"] == "FAIL"]
    assert others == []
    assert CHECK in str(raised.value) and "could not check" in str(raised.value)


def test_the_reauthorization_step_stops_before_any_instruction(sim_task, errors, caplog):
    sim, make = sim_task(SCENARIO)
    mark = last_seq(sim)
    step = make(
        "sixsense_reauthorize_integration_user",
        integration_username=INTEGRATION_USER,
        connected_app_names=APP,
        interactive="False",
        wait_timeout="5",
        poll_interval="1",
    )
    with pytest.raises(errors.SixsenseOrgError) as raised:
        step()
    message = str(raised.value)
    assert type(raised.value).__name__ == "TokensUnreadable", message
    assert "could not read the OAuth tokens" in message and "Manage Users" in message
    assert (
        "To do" not in caplog.text
        and "Sign in with a different Salesforce account" not in caplog.text
    )
    assert writes_since(sim, mark) == []


def test_diagnose_lists_the_tokens_as_unreadable_and_asks_for_the_app(sim_task, tmp_path):
    _, make = sim_task(SCENARIO)
    path = tmp_path / "diagnose.json"
    make("sixsense_diagnose", integration_username=INTEGRATION_USER, json_path=str(path))()
    result = json.loads(path.read_text())
    assert "OauthToken" in result["unreadable"], result["unreadable"]
    assert result["tokens"]["integration_user"] is None  # unknown, not zero
    assert HIDDEN in result["app"]["choice_required"], result["app"]["choice_required"]
    assert "-o connected_app_names <name>" in result["app"]["choice_required"]
    assert result["next_step"]["done"] is False
    assert "connected_app_names" in result["next_step"]["text"], result["next_step"]


@pytest.mark.parametrize("task", ["sixsense_verify", "sixsense_set_permitted_users"])
def test_an_unpinned_task_stops_for_the_app_choice_writing_nothing(sim_task, tmp_path, task):
    """Two candidate names, one installed, tokens hidden: the other name may be the one 6sense uses, so no
    task picks the installed one on a guess (issue 17 kind 3: never configure the wrong app)."""
    sim, make = sim_task(SCENARIO)
    mark = last_seq(sim)
    options = (
        {"report_path": str(tmp_path / "v.json")}
        if task == "sixsense_verify"
        else {"interactive": "False", "confirm_logout": "True"}
    )
    with pytest.raises(Exception) as raised:
        make(task, integration_username=INTEGRATION_USER, confirm_production="True", **options)()
    assert HIDDEN in str(raised.value), raised.value
    assert "connected_app_names" in str(raised.value)
    assert writes_since(sim, mark) == []


def test_a_task_missing_its_own_rights_says_that_first(sim_task, errors):
    """sixsense_grant_app_access needs Manage Users itself: that refusal comes before the app choice, as it is
    the fix to make first (the choice would stop it next)."""
    sim, make = sim_task(SCENARIO)
    mark = last_seq(sim)
    with pytest.raises(errors.SixsenseInputError) as refused:
        make(
            "sixsense_grant_app_access",
            integration_username=INTEGRATION_USER,
            confirm_production="True",
        )()
    assert "Manage Users" in str(refused.value) and "nothing was written" in str(refused.value)
    assert HIDDEN not in str(refused.value)
    assert writes_since(sim, mark) == []


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {"id": "https://login.salesforce.com/id/00D000000000001/005000000000001AAA"},
            "005000000000001AAA",
        ),
        (
            {"user_id": "005000000000002AAA", "id": "https://x/id/00D/005000000000001AAA"},
            "005000000000002AAA",
        ),
        # No identity in the config (cci's own code guards this too): unknown, so an empty read of any user's
        # tokens is judged as another user's (the rights are read), never taken as "no token".
        ({}, None),
    ],
)
def test_the_connected_users_id_comes_from_the_org_config(tasks_module, config, expected):
    from cumulusci.core.config import OrgConfig

    assert tasks_module("token_loss")._connected_user_id(OrgConfig(config, "prod")) == expected
