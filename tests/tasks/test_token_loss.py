"""Issue 17 kind 1: the grants a step will revoke are listed, one row per grant, before anything is written
or instructed; a recently used one needs consent; no list is cut by the 2,500-row OauthToken cap.

In-process against the simulator (``sim_task``), on the bundled scenarios ``integration_user_at_token_cap``
and ``permitted_users_revokes_recent_grant`` and a generated org of more than 2,500 tokens. Terminal answers
are scripted as in tests/tasks/test_terminal_confirmations.py.
"""

from __future__ import annotations

import io
import logging

import pytest
import yaml

from tests.conftest import INTEGRATION_USER, SCENARIO_DIR, last_seq, writes_since
from tests.e2e.outcomes import app_state, rows, user_id
from tests.tasks.conftest import ADMIN_USER, APP
from tests.tasks.test_production_guard_alone import ECA_LABEL

CAP = "integration_user_at_token_cap"
PERMITTED = "permitted_users_revokes_recent_grant"
SALES_OPS = "sales.ops@example.com"
NOT_PRE_AUTHORIZED = "no pre-authorization: admin approved revokes it"
MAY_BE_LOST = "may be lost: pre-authorized, Salesforce's texts differ"
ACCESS_REMOVED = "no pre-authorization once the access grants are removed (admin-approved app)"
REAUTHORIZE_INSTRUCTION = "Sign in with a different Salesforce account"
PERMITTED_INSTRUCTION = "Edit Policies"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def at_terminal(monkeypatch):
    """``at_terminal("n")``: standard input is a terminal that answers ``n`` (then end of input)."""

    def answer(*answers: str):
        monkeypatch.delenv("CI", raising=False)
        monkeypatch.setattr("sys.stdin", Terminal("".join(f"{a}\n" for a in answers)))

    return answer


def _tokens(sim, username: str) -> list[dict]:
    state = sim.state()
    return rows(state, "OauthToken", UserId=user_id(state, username))


def _reauthorize(make, **options):
    return make(
        "sixsense_reauthorize_integration_user",
        integration_username=INTEGRATION_USER,
        **{"interactive": "False", **options},
    )


# -- the reauthorization at the per-user cap (facts §10.1) ------------------------------------------------
# The integration user holds the 5 tokens of the cap, the oldest in daily use, read after the switch with its
# access granted: they survived it, so no reauthorization is asked and none of them is revoked (issue 17
# kind 2). A reauthorization is asked only where the user holds no token for the app, so the cap loses none.


@pytest.mark.parametrize("interactive", ["False", "True"])
def test_a_working_sync_at_the_cap_is_not_reauthorized_and_loses_no_grant(
    interactive, sim_task, caplog, at_terminal
):
    caplog.set_level(logging.INFO)
    sim, make = sim_task(CAP)
    at_terminal()  # a terminal with no answer: a question would abort
    # OauthToken.Id is always null (facts §4.1): a grant's identity here is its DeleteToken.
    before = sorted(t["DeleteToken"] for t in _tokens(sim, INTEGRATION_USER))
    mark = last_seq(sim)
    task = _reauthorize(make, interactive=interactive)
    result = task()
    assert result["status"] == "already done"
    assert "no reauthorization needed" in result["detail"]
    assert "sessions_affected" not in task.audit_notes
    assert REAUTHORIZE_INSTRUCTION not in caplog.text
    assert writes_since(sim, mark) == []
    assert len(before) == 5
    assert sorted(t["DeleteToken"] for t in _tokens(sim, INTEGRATION_USER)) == before


def test_reauthorization_without_a_token_revokes_nothing_and_asks_nothing(
    sim_task, errors, tmp_path
):
    """No token for the app (the switch revoked it, or never authorized): a reauthorization is asked, and the
    cap revokes none of the app's grants, so no consent is needed (the check can fail: it is asked)."""
    path = _variant(tmp_path, CAP, lambda data: data.update(tokens=[]))
    sim, make = sim_task(path)
    task = _reauthorize(make)
    with pytest.raises(errors.ManualStepPending) as err:
        task()
    assert REAUTHORIZE_INSTRUCTION in str(err.value)
    assert task.audit_notes["sessions_affected"] == []


# -- Permitted Users: who loses the app (facts §10.1) -----------------------------------------------------


def test_permitted_users_lists_a_recent_grant_without_pre_authorization_and_stops_without_consent(
    sim_task, errors, caplog
):
    caplog.set_level(logging.INFO)
    sim, make = sim_task(PERMITTED)
    [grant] = _tokens(sim, SALES_OPS)
    mark = last_seq(sim)
    task = make("sixsense_set_permitted_users", interactive="False")
    with pytest.raises(errors.ConfirmationRequired) as err:
        task()
    assert "confirm_logout True" in str(err.value) and SALES_OPS in str(err.value)
    [lost] = task.audit_notes["sessions_affected"]
    assert (lost["user"], lost["effect"], lost["recently_used"]) == (
        SALES_OPS,
        NOT_PRE_AUTHORIZED,
        True,
    )
    assert (lost["created"], lost["last_used"], lost["use_count"]) == (
        grant["CreatedDate"],
        grant["LastUsedDate"],
        900,
    )
    assert "Grants the Permitted Users change revokes" in caplog.messages
    assert PERMITTED_INSTRUCTION not in caplog.text
    assert writes_since(sim, mark) == []
    assert not app_state(sim.state())["admin_approved"]


def test_another_users_grant_made_during_the_run_still_needs_consent(
    sim_task, errors, monkeypatch, tasks_module
):
    """Only the setup user's grant made during the flow run (article step 1's) is the procedure's own;
    another user's grant made while the run waited may be a live sync: consent, nothing written."""
    from types import SimpleNamespace

    sim, make = sim_task(PERMITTED)
    [grant] = _tokens(sim, SALES_OPS)
    assert grant["CreatedDate"] > "2000"  # the run began before it was made
    run = SimpleNamespace(data={"started_at": "2000-01-01T00:00:00+00:00"})
    # The step's view of its flow run only (the audit itself keeps its own run).
    audit_view = SimpleNamespace(run_for=lambda task, create=True: run)
    monkeypatch.setattr(tasks_module("permitted_users"), "audit", audit_view)
    mark = last_seq(sim)
    with pytest.raises(errors.ConfirmationRequired) as err:
        make("sixsense_set_permitted_users", interactive="False")()
    assert SALES_OPS in str(err.value)
    assert writes_since(sim, mark) == []
    # The setup user's own grant made in the run is exempt (test_a_grant_made_in_this_run_needs_no_consent).


def test_permitted_users_with_consent_instructs_the_guided_step(sim_task, errors):
    sim, make = sim_task(PERMITTED)
    with pytest.raises(errors.ManualStepPending) as err:
        make("sixsense_set_permitted_users", interactive="False", confirm_logout="True")()
    assert PERMITTED_INSTRUCTION in str(err.value)


def test_permitted_users_lists_a_pre_authorized_users_grant_as_may_be_lost(
    sim_task, errors, tmp_path
):
    """The Standard User profile granted the app: Salesforce's texts differ on whether its grant survives."""
    path = _variant(
        tmp_path,
        PERMITTED,
        lambda data: data["app"].update(
            access={"permission_sets": [], "profiles": ["Standard User"]}
        ),
    )
    sim, make = sim_task(path)
    task = make("sixsense_set_permitted_users", interactive="False")
    with pytest.raises(errors.ConfirmationRequired):  # conservative: it may be the live sync
        task()
    [lost] = task.audit_notes["sessions_affected"]
    assert (lost["user"], lost["effect"]) == (SALES_OPS, MAY_BE_LOST)


def _connected_as_user_manager(data):
    """cci connected as a user with Manage Users but not Customize Application: whether it sees other users'
    tokens is in doubt (facts §10.1; the simulator's default reading needs both, so it sees only its own)."""
    data.setdefault("profiles", []).append(
        {
            "name": "User Manager",
            "license": "Salesforce",
            "permissions": ["ApiEnabled", "ViewSetup", "ModifyMetadata", "ManageUsers"],
        }
    )
    data["users"].append(
        {
            "username": "usermgr@example.com",
            "name": "Una Mgr",
            "alias": "umgr",
            "profile": "User Manager",
        }
    )
    data["connected_user"] = "usermgr@example.com"


def test_permitted_users_with_other_users_tokens_hidden_does_not_say_no_grant_is_lost(
    sim_task, errors, tmp_path, caplog
):
    """The sales-ops grant is there but hidden from cci's user: the step says it could not read the grants,
    never "Nobody holds a token", and asks consent as for a recent grant (it may be the live sync)."""
    caplog.set_level(logging.INFO)
    sim, make = sim_task(_variant(tmp_path, PERMITTED, _connected_as_user_manager))
    mark = last_seq(sim)
    # Pinned: with other users' tokens hidden, which candidate is in use cannot be read (an unpinned run stops
    # for that choice, tests/tasks/test_unreadable_tokens.py).
    task = make("sixsense_set_permitted_users", interactive="False", connected_app_names=APP)
    with pytest.raises(errors.ConfirmationRequired) as err:
        task()
    assert "which grants it revokes could not be read" in str(err.value)
    assert "holds Manage Users but not Customize Application" in str(err.value)
    assert "Nobody holds a token" not in caplog.text
    assert "Could not read other users' OAuth tokens" in caplog.text
    assert PERMITTED_INSTRUCTION not in caplog.text
    assert writes_since(sim, mark) == []
    assert not app_state(sim.state())["admin_approved"]


# -- no list cut by the 2,500-row cap (facts §4.1) --------------------------------------------------------


def _many_tokens(data, users: int = 520):
    for i in range(users):
        username = f"rep{i}@example.com"
        data["users"].append(
            {
                "username": username,
                "name": f"Rep {i}",
                "alias": f"rep{i}",
                "profile": "Standard User",
            }
        )
        data["tokens"] += [
            {"user": username, "created_days_ago": 40 + k, "last_used_days_ago": 30, "use_count": 1}
            for k in range(5)
        ]


def test_a_token_list_over_2500_rows_is_read_completely(sim_task, tmp_path):
    """2,601 grants of the app: the plan lists every one (a single query stops at 2,500, done=true)."""
    sim, make = sim_task(_variant(tmp_path, PERMITTED, _many_tokens))
    assert len(rows(sim.state(), "OauthToken")) > 2601  # plus cci's own session
    task = make("sixsense_set_permitted_users", interactive="False", plan="True")
    task()
    losses = task.audit_notes["sessions_affected"]
    assert len(losses) == 2601
    assert len({(x["user"], x["created"]) for x in losses}) == 2601
    assert any(x["user"] == SALES_OPS and x["recently_used"] for x in losses)
    assert any("need confirm_logout True" in p for p in task.audit_notes["plan"])


def test_tokens_that_cannot_all_be_read_are_reported_not_listed_short(make_task, org, errors):
    """The count says 2,600 but the chunks by user find none: "could not read all 2600 tokens", no list."""
    org.on("FROM ConnectedApplication", records=[{"Id": "0H4000000000001AAA", "Name": APP}])
    org.on("FROM OauthToken", records=[])
    org.on("SELECT COUNT() FROM OauthToken WHERE AppName IN", records=[{}] * 2600)
    org.on("SELECT Id FROM User ORDER BY Id", records=[{"Id": ADMIN_USER["Id"]}])
    task = make_task("sixsense_set_permitted_users", interactive="False", plan="True")
    with pytest.raises(errors.SixsenseOrgError, match="Could not read all 2600 tokens"):
        task()
    assert "sessions_affected" not in getattr(task, "audit_notes", {})
    assert org.writes() == []


def _variant(tmp_path, base: str, edit) -> str:
    data = yaml.safe_load((SCENARIO_DIR / f"{base}.yml").read_text())
    edit(data)
    path = tmp_path / f"{base}-variant.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


# -- the migration's removal of the connected app's access grants ----------------------------------------


def test_migration_removal_lists_the_grants_it_revokes_before_asking(sim_task, tmp_path, caplog):
    """Admin-approved app: removing its access grants leaves no user pre-authorized, so every grant of the
    connected app is listed as lost (the integration user's was used today); without consent nothing."""
    caplog.set_level(logging.INFO)
    path = _variant(
        tmp_path, "connected_app_in_use_eca_absent", lambda d: d.update(eca={"installed": True})
    )
    sim, make = sim_task(path, org_kind="sandbox")
    assert sim.action("authorize", username=INTEGRATION_USER, app=ECA_LABEL).get("ok")
    app_grants = [t for t in rows(sim.state(), "OauthToken") if t["AppName"] == APP]
    mark = last_seq(sim)
    task = make(
        "sixsense_remove_connected_app_access",
        integration_username=INTEGRATION_USER,
        interactive="False",
    )
    result = task()
    assert result["status"] == "not confirmed"
    losses = task.audit_notes["sessions_affected"]
    assert sorted((x["user"], x["created"]) for x in losses) == sorted(
        (u["Username"], t["CreatedDate"])
        for t in app_grants
        for u in rows(sim.state(), "User", Id=t["UserId"])
    )
    assert {x["effect"] for x in losses} == {ACCESS_REMOVED}
    assert [x["user"] for x in losses if x["recently_used"]] == [INTEGRATION_USER]
    assert "Grants of the connected app the removal revokes" in caplog.messages
    assert writes_since(sim, mark) == []


def test_a_message_names_at_most_five_grants_and_counts_the_rest(tasks_module):
    """The consent message stays one readable line however many recent grants the table lists."""
    token_loss = tasks_module("token_loss")
    losses = [
        {"user": f"u{i}@example.com", "app": APP, "last_used": "2026-12-01T00:00:00.000+0000"}
        for i in range(8)
    ]
    text = token_loss.describe(losses)
    assert text.count("grant (last used") == 5 and text.endswith("and 3 more (listed above)")
    assert token_loss.describe(losses[:2]).count("grant (last used") == 2


def test_a_grant_made_in_this_run_needs_no_consent(start_sim, run_flow_inprocess):
    """The new-customer flow as `make demo` runs it (no confirm_logout): the switch revokes the setup user's
    grant that article step 1 made minutes earlier in this run, which article step 5 replaces; it is part
    of the procedure, not a live sync, so the flow goes on without asking."""
    sim = start_sim("new_customer", autopilot=True)
    coordinator, error, output = run_flow_inprocess(
        sim,
        "sixsense_new_customer",
        interactive="True",
        confirm_production="True",
        poll_interval="1",
        wait_timeout="60",
    )
    assert error is None, f"{error}\n{output}"
    assert "Grants the Permitted Users change revokes" in output
    assert coordinator.results[-1].task_name == "sixsense_verify"


@pytest.mark.parametrize("flow", ["sixsense_new_customer", "sixsense_existing_customer"])
def test_a_flow_without_consent_stops_before_the_switch_that_revokes_a_recent_grant(
    flow, start_sim, run_flow_inprocess
):
    """The flows as an unattended run calls them (no terminal, no confirm_logout): the switch would revoke
    sales.ops's grant, used today (it may be the live sync), so the flow stops at that step, before it."""
    sim = start_sim(PERMITTED, autopilot=True)
    coordinator, error, output = run_flow_inprocess(
        sim,
        flow,
        interactive="True",
        confirm_production="True",
        poll_interval="1",
        wait_timeout="60",
    )
    assert type(error).__name__ == "ConfirmationRequired", f"{error}\n{output}"
    assert "confirm_logout True" in str(error) and SALES_OPS in str(error)
    assert coordinator.results[-1].task_name != "sixsense_verify"
    assert not app_state(sim.state())["admin_approved"]
    assert [t["UserId"] for t in _tokens(sim, SALES_OPS)], "the grant is still there"


# -- diagnose: the grants the Permitted Users switch, still ahead, will revoke ---------------------------------


def _diagnosis(make, tmp_path) -> dict:
    import json

    path = tmp_path / "diagnosis.json"
    make("sixsense_diagnose", integration_username=INTEGRATION_USER, json_path=str(path))()
    return json.loads(path.read_text())


def test_diagnose_lists_the_grants_the_switch_will_revoke(sim_task, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    _, make = sim_task("permitted_users_revokes_recent_grant")
    [grant] = _diagnosis(make, tmp_path)["switch_revokes"]
    assert grant["user"] == "sales.ops@example.com" and grant["app"] == APP
    assert grant["effect"].startswith("no pre-authorization") and grant["recently_used"] is True
    assert grant["use_count"] == 900 and grant["created"] and grant["last_used"]
    assert "Grants the Permitted Users switch will revoke (still ahead)" in caplog.messages
    assert "- sales.ops@example.com" in caplog.messages


def test_diagnose_counts_the_integration_user_as_pre_authorized_before_the_switch(
    sim_task, tmp_path
):
    """existing_customer: the integration user's grant is the only one, and the procedure gives it access
    before the switch, so it "may be lost" (the texts differ), never "lost: no pre-authorization"."""
    _, make = sim_task("existing_customer")
    [grant] = _diagnosis(make, tmp_path)["switch_revokes"]
    assert grant["user"] == INTEGRATION_USER and grant["effect"].startswith("may be lost"), grant


def test_diagnose_lists_none_once_the_app_is_admin_approved(sim_task, tmp_path):
    _, make = sim_task("configured")
    assert _diagnosis(make, tmp_path)["switch_revokes"] == []


def test_diagnose_says_when_the_grants_could_not_be_read(
    sim_task, tmp_path, monkeypatch, tasks_module
):
    monkeypatch.setattr(
        tasks_module("connected_user"), "others_tokens_hidden", lambda task: "it lacks Manage Users"
    )
    _, make = sim_task("permitted_users_revokes_recent_grant")
    revokes = _diagnosis(make, tmp_path)["switch_revokes"]
    assert isinstance(revokes, str) and revokes.startswith("could not read"), revokes
