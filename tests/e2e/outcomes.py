"""What a finished setup looks like in the simulated org, and what an operator does at each manual step.

Shared by the in-process and the CLI end-to-end tests. Everything is read from the simulator's state
(``GET /_sim/state``), never from what the tasks say about themselves.
"""

from __future__ import annotations

from collections import Counter

from tests.procedure_table import guided_tasks, step_name

SETUP_USER = "admin@example.com"
INTEGRATION_USER = "sixsense.integration@example.com"
INTEGRATION_SET = "Sixsense_Integration_Access"
FLOWS = ("sixsense_new_customer", "sixsense_existing_customer")

#: (scenario, flow) pairs that cannot finish: the flow is right to stop. Value: text its error must carry.
EXPECTED_FAILURES = {
    # The existing-customer flow does not give the setup user Approve Uninstalled Connected Apps, so nobody
    # can make the app visible: the install step must time out and send the operator back to step 1.
    ("setup_user_lacks_permission", "sixsense_existing_customer"): step_name(
        "authorize_setup_user"
    ),
}

#: Scenarios whose setup completes but whose org keeps a policy that breaks the sync: the flow's last step,
#: the verification, must fail naming that check (issue 17 kind 5). Value: text its error must carry.
VERIFY_FAILURES = {
    "refresh_token_expires_immediately": "refresh token policy: zero",
}

#: Scenarios where the tool cannot tell which connected app is the vendor's (issue 17 kind 3): every flow stops
#: in sixsense_diagnose (its step 2) with the choice, before any write. Value: text its error must carry.
CHOICE_STOPS = {
    "two_candidate_apps": "Cannot tell which connected app is 6sense's",
}

#: The manual steps a non-interactive run stops at, in order, per (scenario, flow): every bundled scenario
#: with every flow (a pair missing here fails tests/e2e/test_flows.py, it is never skipped).
#: The guided steps of the procedure table, in order; the existing-customer flow has no step 1 (the app is
#: already in use, so it is listed on Connected Apps OAuth Usage).
_NEW = guided_tasks()
_EXISTING = [t for t in _NEW if t != "sixsense_authorize_setup_user"]
EXPECTED_STOPS = {
    ("new_customer", "sixsense_new_customer"): _NEW,
    ("new_customer", "sixsense_existing_customer"): _EXISTING,
    # The same org as a sandbox: the same stops; no production confirmation (tests/e2e/test_sandbox.py).
    ("sandbox_new_customer", "sixsense_new_customer"): _NEW,
    ("sandbox_new_customer", "sixsense_existing_customer"): _EXISTING,
    # API Access Control hides the denied attempt: step 1 stays pending until the operator confirms it.
    ("new_customer_acc", "sixsense_new_customer"): [_NEW[0], _NEW[0], *_NEW[1:]],
    ("new_customer_acc", "sixsense_existing_customer"): _EXISTING,
    # The integration user's token predates the run; its access is granted before the Permitted Users switch,
    # so the token survives it (facts §10.1, §7.1) and no reauthorization is asked (issue 17 kind 2).
    ("existing_customer", "sixsense_new_customer"): _NEW[:3],
    ("existing_customer", "sixsense_existing_customer"): _EXISTING[:2],
    # The same org where the switch logs out all users (the vendor article's text): the token does not
    # survive, so the reauthorization is asked; the tool reads which text held rather than assuming it.
    ("admin_approval_logs_out_all_users", "sixsense_new_customer"): _NEW,
    ("admin_approval_logs_out_all_users", "sixsense_existing_customer"): _EXISTING,
    ("configured", "sixsense_new_customer"): [],
    ("configured", "sixsense_existing_customer"): [],
    ("setup_user_lacks_permission", "sixsense_new_customer"): _NEW,
    # The install step's instructions send the operator back to step 1: the setup user's attempt is refused
    # (it lacks Approve Uninstalled Connected Apps) but makes the app visible, so it can be installed. The
    # autopilot does only the flow's own steps, so there the run times out (EXPECTED_FAILURES).
    ("setup_user_lacks_permission", "sixsense_existing_customer"): _EXISTING,
    # Metadata ETL sets Permitted Users itself (with confirm_logout), so that step never stops.
    ("connected_app_metadata_retrievable", "sixsense_new_customer"): [_NEW[0], _NEW[1], _NEW[3]],
    ("connected_app_metadata_retrievable", "sixsense_existing_customer"): [
        _EXISTING[0],
        _EXISTING[2],
    ],
    # ECA scenarios: the simulator models Salesforce, not 6sense's support policy, so the 6sense connected app
    # can still be authorized and installed there (never used before): the seed's flows finish as on
    # new_customer. The ECA present or absent changes nothing for them (tests/e2e/test_eca.py covers the ECA).
    ("eca_not_installed", "sixsense_new_customer"): _NEW,
    ("eca_not_installed", "sixsense_existing_customer"): _EXISTING,
    ("eca_installed_default_policies", "sixsense_new_customer"): _NEW,
    ("eca_installed_default_policies", "sixsense_existing_customer"): _EXISTING,
    ("eca_installed_policies_deployable", "sixsense_new_customer"): _NEW,
    ("eca_installed_policies_deployable", "sixsense_existing_customer"): _EXISTING,
    # The ECA's Permitted Users switch logs out all users (tests/e2e/test_eca.py); the connected app is new.
    ("eca_admin_approval_logs_out_all_users", "sixsense_new_customer"): _NEW,
    ("eca_admin_approval_logs_out_all_users", "sixsense_existing_customer"): _EXISTING,
    # The migration scenario's connected app is fully configured, as in configured.yml.
    ("connected_app_in_use_eca_absent", "sixsense_new_customer"): [],
    ("connected_app_in_use_eca_absent", "sixsense_existing_customer"): [],
    # Configured, but its refresh tokens expire immediately: nothing to do by hand; verify fails.
    ("refresh_token_expires_immediately", "sixsense_new_customer"): [],
    ("refresh_token_expires_immediately", "sixsense_existing_customer"): [],
    # Issue 17 kinds 1 and 2: configured, the integration user at the 5-token cap, its oldest grant in daily
    # use: read now with its access, its tokens survived the switch; nothing remains and nothing is revoked.
    ("integration_user_at_token_cap", "sixsense_new_customer"): [],
    ("integration_user_at_token_cap", "sixsense_existing_customer"): [],
    # Installed, self-authorize, a sales-ops user's grant used two days ago: Permitted Users (with
    # confirm_logout, as outcomes.confirmations passes) and the reauthorization remain.
    ("permitted_users_revokes_recent_grant", "sixsense_new_customer"): [_NEW[2], _NEW[3]],
    ("permitted_users_revokes_recent_grant", "sixsense_existing_customer"): [
        _EXISTING[1],
        _EXISTING[2],
    ],
    # Issue 17 kind 9: another admin installed the app and set Permitted Users before the run (already done,
    # with her SetupAuditTrail entries as evidence); the integration user never authorized: step 5 remains.
    ("app_set_up_by_another_admin", "sixsense_new_customer"): [_NEW[3]],
    ("app_set_up_by_another_admin", "sixsense_existing_customer"): [_EXISTING[2]],
    # Stops for a choice before any write (CHOICE_STOPS): no manual step is reached.
    ("two_candidate_apps", "sixsense_new_customer"): [],
    ("two_candidate_apps", "sixsense_existing_customer"): [],
}


#: (scenario, flow) -> (step, options): with the autopilot and nobody at a terminal, the run stops at ``step``
#: (timed out) and the operator runs the flow again with ``options``. Where API Access Control is enforcing,
#: Salesforce denies the setup user's attempt and keeps no token, so no query can show that step 1 was done:
#: the operator confirms it (authorization_attempted, as step 1's instructions say).
AUTOPILOT_RERUNS = {
    ("new_customer_acc", "sixsense_new_customer"): (
        "sixsense_authorize_setup_user",
        {"sixsense_authorize_setup_user": {"authorization_attempted": "True"}},
    ),
}

#: Scenarios where the integration user holds tokens for other apps (Pardot, Sales Engagement): where the
#: reauthorization step asks for one, it needs ``confirm_reauthorization True`` when nobody confirms at a
#: terminal (passed to the flows on these scenarios whether or not the token survived the switch).
NEEDS_REAUTHORIZATION_CONFIRMATION = {"existing_customer", "admin_approval_logs_out_all_users"}


def confirmations(scenario: str, flow: str = "sixsense_new_customer") -> dict:
    """The explicit consents a non-TTY run of ``flow`` on ``scenario`` must pass, as task options (only for
    steps the flow has: a misplaced option stops the run)."""
    if flow not in FLOWS:  # the ECA flows have neither step
        return {}
    options = {
        # Where the org lets the app be retrieved, the flow sets Permitted Users itself: a disruptive write.
        "sixsense_set_permitted_users": {"confirm_logout": "True"},
    }
    if scenario in NEEDS_REAUTHORIZATION_CONFIRMATION:
        options["sixsense_reauthorize_integration_user"] = {"confirm_reauthorization": "True"}
    return options


SIXSENSE_APP_NAMES = ("sfdc_6sense_oauth_app", "sfdc_6sense_integration_connected_app")


def app_state(state: dict) -> dict:
    """The 6sense app's lifecycle state (other apps, such as Pardot, are listed too)."""
    [app] = [a for a in state["apps"] if a["name"] in SIXSENSE_APP_NAMES]
    return app


def rows(state: dict, sobject: str, **match) -> list[dict]:
    return [
        r for r in state["objects"].get(sobject, []) if all(r.get(k) == v for k, v in match.items())
    ]


def user_id(state: dict, username: str) -> str:
    [user] = rows(state, "User", Username=username)
    return user["Id"]


def assert_setup_complete(state: dict) -> None:
    """The seed's end state: installed, admin-approved, access granted and assigned, the integration user
    holding a token for the app (read after the Permitted Users change: it survived it or is newer), nothing
    duplicated."""
    app = app_state(state)
    assert app["installed"], app
    assert app["admin_approved"], app
    assert not app["blocked"], app
    [pset] = rows(state, "PermissionSet", Name=INTEGRATION_SET)
    access = rows(
        state,
        "SetupEntityAccess",
        ParentId=pset["Id"],
        SetupEntityId=app["connected_application_id"],
    )
    assert len(access) == 1, access
    integration = user_id(state, INTEGRATION_USER)
    assert (
        len(
            rows(
                state, "PermissionSetAssignment", AssigneeId=integration, PermissionSetId=pset["Id"]
            )
        )
        == 1
    )
    held = rows(state, "OauthToken", UserId=integration, AppName=app["label"])
    assert held, "the integration user holds no token for the app"
    assert_no_duplicates(state)


def assert_no_duplicates(state: dict) -> None:
    pairs = Counter(
        (r["ParentId"], r["SetupEntityId"]) for r in state["objects"].get("SetupEntityAccess", [])
    )
    assert all(n == 1 for n in pairs.values()), pairs
    assignments = Counter(
        (r["AssigneeId"], r["PermissionSetId"])
        for r in state["objects"].get("PermissionSetAssignment", [])
    )
    assert all(n == 1 for n in assignments.values()), assignments
    names = Counter(
        r["Name"] for r in state["objects"].get("PermissionSet", []) if not r["IsOwnedByProfile"]
    )
    assert all(n == 1 for n in names.values()), names


def do_manual_step(sim, step: str) -> dict:
    """Do what the instructions of ``step`` ask, as the operator would, through the simulator's actions.

    Returns extra task options the operator passes on the next run (the API Access Control confirmation).
    """
    app = app_state(sim.state())
    if step == "sixsense_authorize_setup_user":
        if app["visible"]:  # already attempted: the denied attempt left nothing the API can read
            return {"sixsense_authorize_setup_user": {"authorization_attempted": "True"}}
        sim.action("authorize", username=SETUP_USER)
    elif step == "sixsense_install_connected_app":
        if not app["visible"]:  # the instructions say: repeat step 1 first
            sim.action("authorize", username=SETUP_USER)
        result = sim.action("install")
        assert result.get("ok"), result
    elif step == "sixsense_set_permitted_users":
        result = sim.action("policy", permitted_users="admin_approved")
        assert result.get("ok"), result
    elif step == "sixsense_reauthorize_integration_user":
        result = sim.action("authorize", username=INTEGRATION_USER)
        assert result.get("ok"), result
    else:
        raise AssertionError(f"not a manual step: {step}")
    return {}


def assert_second_run_writes_nothing(run_flow_inprocess, sim, flow: str, **run_options) -> None:
    """Run a finished ``flow`` again, non-interactively: it ends without error, writes nothing (the
    simulator's request log) and says "already done". ``run_options``: ``run_flow_inprocess`` options."""
    from tests.conftest import last_seq, production_consent, writes_since

    mark = last_seq(sim)
    _, error, output = run_flow_inprocess(
        sim, flow, interactive="False", **run_options, **production_consent(sim)
    )
    assert error is None, f"{error}\n{output}"
    assert writes_since(sim, mark) == [], "a second run of a finished flow must write nothing"
    assert "already done" in output.lower()
