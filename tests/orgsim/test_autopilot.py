"""The autopilot performs the manual steps in order once the tool has polled without the org changing."""

from __future__ import annotations

from tests.orgsim.simclient import sf_for

INTEGRATION = "sixsense.integration@example.com"


def _poll(sf, times=3):
    for _ in range(times):
        sf.query("SELECT Id FROM ConnectedApplication")


def test_autopilot_walks_a_new_customer_through_the_manual_steps(make_sim):
    sim = make_sim("new_customer", autopilot=True)
    sf = sf_for(sim)
    _poll(sf)  # (a) authorize as the setup user
    assert sim.org.app_state()["visible"] is True
    _poll(sf)  # (b) install
    assert sim.org.app_state()["installed"] is True
    _poll(sf)  # (c) Permitted Users = admin approved
    assert sim.org.app_state()["admin_approved"] is True
    _poll(sf, 4)  # (d) waits: the integration user is not pre-authorized yet
    assert (
        sf.query(f"SELECT Id FROM OauthToken WHERE User.Username = '{INTEGRATION}'")["totalSize"]
        == 0
    )
    ps = sf.PermissionSet.create(
        {"Name": "Sixsense_Integration_Access", "Label": "6sense Integration Access"}
    )["id"]
    sf.PermissionSetAssignment.create(
        {"AssigneeId": sim.org.user_by_username(INTEGRATION)["Id"], "PermissionSetId": ps}
    )
    sf.SetupEntityAccess.create(
        {"ParentId": ps, "SetupEntityId": sim.org.app_state()["connected_application_id"]}
    )
    _poll(sf)  # (d) authorize as the integration user
    assert (
        sf.query(f"SELECT Id FROM OauthToken WHERE User.Username = '{INTEGRATION}'")["totalSize"]
        == 1
    )
    actions = [r["action"] for r in sim.requests() if r["kind"] == "sim"]
    assert actions == [
        "autopilot:authorize",
        "autopilot:install",
        "autopilot:policy",
        "autopilot:authorize",
    ]


def test_autopilot_leaves_the_policy_to_metadata_etl_where_retrievable(make_sim):
    sim = make_sim("connected_app_metadata_retrievable", autopilot=True)
    sf = sf_for(sim)
    _poll(sf, 10)
    state = sim.org.app_state()
    assert state["installed"] is True and state["admin_approved"] is False


def test_autopilot_does_nothing_when_the_setup_user_cannot_authorize(make_sim):
    sim = make_sim("setup_user_lacks_permission", autopilot=True)
    _poll(sf_for(sim), 6)
    assert sim.org.app_state()["visible"] is False


def test_autopilot_is_off_by_default(sim):
    _poll(sf_for(sim), 6)
    assert sim.org.app_state()["visible"] is False


def test_autopilot_waits_for_the_tool_to_poll_for_the_outcome_not_for_any_read(make_sim):
    sim = make_sim("new_customer", autopilot=True)
    sf = sf_for(sim)
    for _ in range(6):  # validation-style reads: not a wait for a human step
        sf.query("SELECT Id, IsActive FROM User WHERE Username = 'admin@example.com'")
        sf.describe()
    assert sim.org.app_state()["visible"] is False
    for _ in range(2):
        sf.query("SELECT Id FROM ConnectedApplication")
        # a different check: each query counts on its own
        sf.query("SELECT AppName FROM OauthToken")
    assert sim.org.app_state()["visible"] is False
    # the same check, a third time: the tool is waiting
    sf.query("SELECT Id FROM ConnectedApplication")
    assert sim.org.app_state()["visible"] is True
