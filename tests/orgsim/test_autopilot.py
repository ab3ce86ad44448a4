"""The autopilot does a manual step only when the tool repeats *that step's* poll (orgsim/autopilot.py).

The queries below are the texts the guided steps send while they wait (tasks/guided.py,
tasks/permitted_users.py; built by tasks/queries.py ``connected_apps_soql`` and ``oauth_tokens_soql``).
"""

from __future__ import annotations

from tests.orgsim.simclient import sf_for

SETUP = "admin@example.com"
INTEGRATION = "sixsense.integration@example.com"
APPS = "('sfdc_6sense_oauth_app', 'sfdc_6sense_integration_connected_app')"
TOKEN_FIELDS = "AppName, UserId, User.Username, CreatedDate, LastUsedDate, UseCount, AppMenuItemId"
#: Steps 2 and 3 wait on this query (step 1 reads it once, before it waits).
CONNECTED_APPS = (
    "SELECT Id, Name, CreatedDate, LastModifiedDate, OptionsAllowAdminApprovedUsersOnly "
    f"FROM ConnectedApplication WHERE Name IN {APPS}"
)


def setup_tokens(sim) -> str:
    user = sim.org.user_by_username(SETUP)["Id"]
    return f"SELECT {TOKEN_FIELDS} FROM OauthToken WHERE AppName IN {APPS} AND UserId = '{user}'"


def integration_tokens(sim) -> str:
    """Step 5's poll: all of the integration user's tokens."""
    user = sim.org.user_by_username(INTEGRATION)["Id"]
    return f"SELECT {TOKEN_FIELDS} FROM OauthToken WHERE UserId = '{user}'"


def poll_step_1(sf, sim, times=3):
    """Step 1's poll: the setup user's token query, sent alone."""
    poll(sf, setup_tokens(sim), times)


def poll(sf, soql, times=3):
    for _ in range(times):
        sf.query(soql)


def actions(sim) -> list[str]:
    """What the autopilot did (the test's own ``sim.action`` calls are logged too, without the prefix)."""
    return [
        r["action"] for r in sim.requests() if r["kind"] == "sim" and "autopilot:" in r["action"]
    ]


def grant_integration_access(sf, sim):
    ps = sf.PermissionSet.create(
        {"Name": "Sixsense_Integration_Access", "Label": "6sense Integration Access"}
    )["id"]
    sf.PermissionSetAssignment.create(
        {"AssigneeId": sim.org.user_by_username(INTEGRATION)["Id"], "PermissionSetId": ps}
    )
    sf.SetupEntityAccess.create(
        {"ParentId": ps, "SetupEntityId": sim.org.app_state()["connected_application_id"]}
    )


def test_autopilot_walks_a_new_customer_through_the_manual_steps(make_sim):
    sim = make_sim("new_customer", autopilot=True)
    sf = sf_for(sim)
    poll_step_1(sf, sim)  # step 1: authorize as the setup user
    assert sim.org.app_state()["visible"] is True
    assert sim.org.app_state()["installed"] is False
    poll(sf, CONNECTED_APPS)  # step 2: install
    assert sim.org.app_state()["installed"] is True
    poll(sf, CONNECTED_APPS)  # step 3: Permitted Users = admin approved
    assert sim.org.app_state()["admin_approved"] is True
    poll(
        sf, integration_tokens(sim), 4
    )  # step 5 waits: the integration user is not pre-authorized yet
    assert sf.query(integration_tokens(sim))["totalSize"] == 0
    grant_integration_access(sf, sim)
    poll(sf, integration_tokens(sim))  # step 5: authorize as the integration user
    assert sf.query(integration_tokens(sim))["totalSize"] == 1
    assert actions(sim) == [
        "autopilot:authorize",
        "autopilot:install",
        "autopilot:policy",
        "autopilot:authorize",
    ]


def test_step_1_s_poll_never_installs_the_app(make_sim):
    """The app is listed (the integration user used it) but step 1 waits for the setup user's token: the
    operator authorizes as the setup user; the Install is step 2's, never done while step 1 polls."""
    sim = make_sim("existing_customer", autopilot=True)
    sf = sf_for(sim)
    poll_step_1(sf, sim, 9)
    assert sim.org.app_state()["installed"] is False
    assert set(actions(sim)) <= {"autopilot:authorize"}


def test_each_poll_triggers_its_own_step_only(make_sim):
    sim = make_sim("new_customer", autopilot=True)
    sf = sf_for(sim)
    sim.action("authorize", username=SETUP)
    sim.action("install")
    grant_integration_access(sf, sim)
    # Step 5's poll while Permitted Users is not admin approved: no reauthorization, no policy change.
    poll(sf, integration_tokens(sim), 6)
    assert sim.org.app_state()["admin_approved"] is False
    assert actions(sim) == []
    sim.action("policy", permitted_users="admin_approved")
    # Step 3's poll once admin approved, with the integration user still to reauthorize: nothing to do.
    poll(sf, CONNECTED_APPS, 6)
    assert actions(sim) == []
    poll(sf, integration_tokens(sim))
    assert actions(sim) == ["autopilot:authorize"]
    assert sf.query(integration_tokens(sim))["totalSize"] == 1


def test_another_read_of_the_polled_objects_breaks_the_run_but_other_reads_do_not(make_sim):
    sim = make_sim("new_customer", autopilot=True)
    sim.action("authorize", username=SETUP)
    sf = sf_for(sim)
    poll(sf, CONNECTED_APPS, 2)
    sf.query(
        f"SELECT {TOKEN_FIELDS} FROM OauthToken WHERE AppName IN {APPS}"
    )  # another step's read
    poll(sf, CONNECTED_APPS, 2)
    assert sim.org.app_state()["installed"] is False
    # Other reads while the tool waits (describes, even of the polled objects; other objects' rows) change
    # nothing.
    sf.OauthToken.describe()
    sf.query(f"SELECT Id, IsActive FROM User WHERE Username = '{SETUP}'")
    sf.describe()
    poll(sf, CONNECTED_APPS, 1)
    assert sim.org.app_state()["installed"] is True


def test_reads_that_are_no_step_s_poll_never_act(make_sim):
    """Validation, diagnose and verify reads repeated: no "first applicable step"."""
    sim = make_sim("new_customer", autopilot=True)
    sf = sf_for(sim)
    for soql in (
        "SELECT Id FROM ConnectedApplication",
        f"SELECT {TOKEN_FIELDS} FROM OauthToken WHERE AppName IN {APPS}",
        f"SELECT Id, IsActive FROM User WHERE Username = '{SETUP}'",
    ):
        poll(sf, soql, 6)
    assert actions(sim) == []
    assert sim.org.app_state()["visible"] is False


def test_autopilot_leaves_the_policy_to_metadata_etl_where_retrievable(make_sim):
    sim = make_sim("connected_app_metadata_retrievable", autopilot=True)
    sf = sf_for(sim)
    poll_step_1(sf, sim)
    poll(sf, CONNECTED_APPS)
    assert sim.org.app_state()["installed"] is True
    poll(sf, CONNECTED_APPS, 10)
    state = sim.org.app_state()
    assert state["installed"] is True and state["admin_approved"] is False


def test_autopilot_does_nothing_when_the_setup_user_cannot_authorize(make_sim):
    sim = make_sim("setup_user_lacks_permission", autopilot=True)
    sf = sf_for(sim)
    poll_step_1(sf, sim, 6)
    poll(sf, CONNECTED_APPS, 6)
    assert sim.org.app_state()["visible"] is False
    assert actions(sim) == []


def test_autopilot_is_off_by_default(sim):
    sf = sf_for(sim)
    poll_step_1(sf, sim, 6)
    poll(sf, CONNECTED_APPS, 6)
    assert sim.org.app_state()["visible"] is False
