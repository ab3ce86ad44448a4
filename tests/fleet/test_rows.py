"""An org's row from its diagnosis, its refreshed flag against the previous fleet run, cci's error line."""

from __future__ import annotations

from fleet import report, runner

BASE = {"name": "acme", "flow": "sixsense_eca", "cci_org": "acme", "seconds": 1.0, "exit_code": 0}


def _diagnosis(**changes) -> dict:
    d = {
        "org": {"id": "00D000000000001AAA", "kind": "sandbox"},
        "app": {"primary": "sfdc_6sense_oauth_app", "policies": {}},
        "eca": {"readable": True, "installed": False},
        "users": {
            "integration": {"provided": True, "found": True, "username": "i@x.com", "active": True},
            "setup": {"provided": True, "found": True, "username": "a@x.com", "active": True},
        },
        "tokens": {"integration_user": {"other_apps": []}},
        "warnings": [],
        "unreadable": [],
        "next_step": {"done": True},
        "recommendation": {"model": "connected_app"},
    }
    d.update(changes)
    return d


def test_a_finished_org_is_done_with_nothing_to_report():
    row = report.row_from_diagnosis(BASE, _diagnosis(), "r.json")
    assert (row["state"], row["state_text"], row["model"]) == ("done", "done", "connected app")
    assert row["blockers"] == row["token_risks"] == row["policy_drift"] == []
    assert (row["org_id"], row["org_kind"], row["report"]) == (
        "00D000000000001AAA",
        "sandbox",
        "r.json",
    )


def test_blockers_risks_and_drift_come_from_the_diagnosis():
    d = _diagnosis(
        next_step={
            "done": False,
            "number": 2,
            "title": "Install the app",
            "text": "Install it",
            "why": "w",
        },
        recommendation={"model": "external_client_app"},
        app={
            "primary": "sfdc_6sense_oauth_app",
            "blocked": True,
            "choice_required": {"why": "two apps in use"},
            "policies": {"refresh_ok": False, "refresh_why": "expires immediately", "ip_ok": True},
        },
        users={
            "integration": {"provided": True, "found": False, "username": "i@x.com"},
            "setup": {"provided": True, "found": True, "username": "a@x.com", "active": False},
            "problems": [
                "The integration user i@x.com does not exist in this org; check the username.",
                "The setup user a@x.com is inactive (User.IsActive false); activate it.",
            ],
        },
        tokens={
            "integration_user": {"app": {"count": 5}, "other_apps": [{"app": "Pardot", "count": 2}]}
        },
        unreadable=["External Client App"],
        warnings=[
            "sfdc_6sense_oauth_app's refresh-token policy breaks the sync: expires immediately; fix"
        ],
    )
    row = report.row_from_diagnosis(BASE, d, None)
    assert row["state"] == "waiting"
    assert row["step"] == "2. Install the app"
    assert row["state_text"] == "waiting at step 2: Install the app"
    assert (row["instructions"], row["reason"], row["model"]) == ("Install it", "w", "ECA")
    assert row["blockers"] == [
        "app choice required: two apps in use",
        "the app sfdc_6sense_oauth_app is blocked in this org",
        "The integration user i@x.com does not exist in this org; check the username.",
        "The setup user a@x.com is inactive (User.IsActive false); activate it.",
        "could not read: External Client App",
    ]
    # The structured line, and not the warning that says the same again.
    assert row["policy_drift"] == ["connected app refresh-token policy: expires immediately"]
    risks = row["token_risks"]
    assert len(risks) == 3, risks
    assert "refresh-token policy revokes 6sense's tokens: expires immediately" in risks[0]
    assert "5 tokens of the app" in risks[1] and "revokes the oldest" in risks[1]
    assert "Pardot" in risks[2]


def test_below_the_token_cap_is_no_risk():
    d = _diagnosis(tokens={"integration_user": {"app": {"count": 4}, "other_apps": []}})
    assert report.row_from_diagnosis(BASE, d, None)["token_risks"] == []


def _lost(user, recently_used, app="sfdc_6sense_oauth_app"):
    return {
        "user": user,
        "app": app,
        "created": "2026-01-05T10:00:00.000+0000",
        "last_used": "2026-12-01T08:00:00.000+0000" if recently_used else None,
        "use_count": 40 if recently_used else 0,
        "effect": "no pre-authorization: admin approved revokes it",
        "recently_used": recently_used,
    }


def test_grants_the_permitted_users_switch_revokes_are_a_token_risk_recent_ones_by_name():
    d = _diagnosis(
        switch_revokes=[
            _lost("ops@x.com", True),
            _lost("ops@x.com", False),
            _lost("b@x.com", False),
        ]
    )
    (risk,) = report.row_from_diagnosis(BASE, d, None)["token_risks"]
    assert risk.startswith("the Permitted Users switch ahead revokes 3 grant(s) of 2 user(s)"), risk
    assert "may be the live sync: ops@x.com (sfdc_6sense_oauth_app, last used 2026-12-01" in risk
    assert "b@x.com" not in risk


def test_grants_the_switch_revokes_none_recent_are_counted_only():
    (risk,) = report.row_from_diagnosis(
        BASE, _diagnosis(switch_revokes=[_lost("b@x.com", False)]), None
    )["token_risks"]
    assert risk == "the Permitted Users switch ahead revokes 1 grant(s) of 1 user(s)"


def test_grants_the_switch_revokes_that_could_not_be_read_are_a_risk_never_none():
    why = "could not read: other users' OAuth tokens (see unreadable)"
    (risk,) = report.row_from_diagnosis(BASE, _diagnosis(switch_revokes=why), None)["token_risks"]
    assert "could not list" in risk and why in risk
    for nothing in ([], None):
        d = _diagnosis(switch_revokes=nothing)
        assert report.row_from_diagnosis(BASE, d, None)["token_risks"] == []


def test_an_unnumbered_step_reads_waiting_at_its_title():
    d = _diagnosis(next_step={"done": False, "number": None, "title": "Pin the app"})
    row = report.row_from_diagnosis(BASE, d, None)
    assert (row["step"], row["state_text"]) == ("Pin the app", "waiting at: Pin the app")


def test_refreshed_compares_org_ids_with_the_previous_run():
    rows = [
        {"name": "same", "org_id": "00DA"},
        {"name": "new_id", "org_id": "00DB"},
        {"name": "unread", "org_id": None},
        {"name": "first_seen", "org_id": "00DC"},
    ]
    previous = {
        "run_id": "r1",
        "orgs": [
            {"name": "same", "org_id": "00DA"},
            {"name": "new_id", "org_id": "00DZ"},
            {"name": "unread", "org_id": "00DU"},
        ],
    }
    report.mark_refreshed(rows, previous)
    assert [r["refreshed"] for r in rows] == [False, True, None, None]
    assert "00DZ" in rows[1]["refreshed_why"] and "00DB" in rows[1]["refreshed_why"]
    fresh = [{"name": "a", "org_id": "00DA"}]
    report.mark_refreshed(fresh, None)
    assert fresh[0]["refreshed"] is None


def test_previous_run_is_the_newest_earlier_fleet_json(tmp_path):
    for run_id in ("20260101T000000Z-diagnose-aaaa", "20260102T000000Z-setup-bbbb"):
        (tmp_path / f"{run_id}.json").write_text(f'{{"run_id": "{run_id}", "orgs": []}}')
    (tmp_path / "20260103T000000Z-diagnose-cccc.json").write_text("not json")
    found = report.previous_run(tmp_path, "20260104T000000Z-diagnose-dddd")
    assert found["run_id"] == "20260102T000000Z-setup-bbbb"
    assert report.previous_run(tmp_path, "20260101T000000Z-diagnose-aaaa") is None


def test_summary_counts_every_state():
    rows = [{"state": "done"}, {"state": "waiting"}, {"state": "waiting"}]
    assert report.summary(rows) == {"done": 1, "waiting": 2, "failed": 0, "could not connect": 0}


def test_cci_error_message_is_kept_whole_across_wrapped_lines():
    output = 'log line\nError: Salesforce refused the session cci connected with: "This session is\nnot valid"\n\nmore'
    assert runner.error_line(output) == (
        'Error: Salesforce refused the session cci connected with: "This session is not valid"'
    )
    assert runner.error_line("only\nlast line") == "last line"


def _verify_stopped(failed: list, not_checked: list) -> dict:
    step = {
        "step": "15",
        "task": "sixsense_verify",
        "status": "failed",
        "error": "VerificationFailed: Verification incomplete:\n  - refresh token policy: not checked (...); "
        "check it on Manage App Policies of sfdc_6sense_oauth_app ...",
        "return_values": {"passed": False, "failed": failed, "not_checked": not_checked},
    }
    return {"steps": [{"step": "1", "task": "sixsense_validate_inputs", "status": "ok"}, step]}


def test_only_the_refresh_policy_to_check_is_waiting_for_the_operator():
    """The connected-app verification stops only on the refresh-token policy the org cannot show: the org
    waits for the operator's look at the policy page and the fleet file's option, it has not failed."""
    row = report.row_from_setup(BASE, 1, _verify_stopped([], ["refresh token policy"]), "")
    assert row["state"] == "waiting"
    assert row["state_text"] == "waiting at step 15: check the app's Refresh Token Policy"
    assert row["instructions"].startswith(
        "Verification incomplete:\n  - refresh token policy: not checked (...); check it on Manage App "
        "Policies of sfdc_6sense_oauth_app ..."
    ), row["instructions"]
    assert row["instructions"].endswith(report.REFRESH_POLICY_IN_THE_FLEET)
    assert "refresh_token_policy_checked: true" in row["instructions"]


def test_a_verification_that_failed_or_could_not_read_more_is_failed():
    for failed, not_checked in (
        (["app installed"], ["refresh token policy"]),
        ([], ["refresh token policy", "app not blocked"]),
        ([], ["IP relaxation"]),
    ):
        row = report.row_from_setup(BASE, 1, _verify_stopped(failed, not_checked), "")
        assert row["state"] == "failed", (failed, not_checked, row)
