"""UserLogin (Object Reference "UserLogin"): one row per user with IsFrozen and IsPasswordLocked, set per
user by the scenario (``users[].frozen``, ``users[].password_locked``), readable with Manage Users only,
updatable only as the object reference allows."""

from __future__ import annotations

import pytest
import yaml
from simple_salesforce.exceptions import SalesforceError

from orgsim import scenario
from tests.orgsim.simclient import sf_for

ADMIN = "admin@example.com"
FROZEN = "frozen@example.com"
LOCKED = "locked@example.com"
READER = "reader@example.com"


def write(tmp_path) -> str:
    data = {
        "connected_user": ADMIN,
        "profiles": [{"name": "Setup Reader", "permissions": ["ApiEnabled", "ViewSetup"]}],
        "users": [
            {"username": ADMIN, "alias": "aadmin", "profile": "System Administrator"},
            {"username": FROZEN, "alias": "frozen", "profile": "Standard User", "frozen": True},
            {
                "username": LOCKED,
                "alias": "locked",
                "profile": "Standard User",
                "password_locked": True,
            },
            {"username": READER, "alias": "reader", "profile": "Setup Reader"},
        ],
    }
    path = tmp_path / "user_login.yml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


@pytest.fixture
def org(make_sim, tmp_path):
    return make_sim(write(tmp_path))


def logins(sf) -> dict[str, tuple[bool, bool]]:
    rows = sf.query("SELECT User.Username, IsFrozen, IsPasswordLocked FROM UserLogin")["records"]
    return {r["User"]["Username"]: (r["IsFrozen"], r["IsPasswordLocked"]) for r in rows}


def test_every_user_has_a_user_login_row_set_by_the_scenario(org):
    assert logins(sf_for(org)) == {
        ADMIN: (False, False),
        FROZEN: (True, False),
        LOCKED: (False, True),
        READER: (False, False),
    }
    frozen = sf_for(org).query("SELECT UserId FROM UserLogin WHERE IsFrozen = true")["records"]
    with org.org.lock:
        assert [r["UserId"] for r in frozen] == [org.org.user_by_username(FROZEN)["Id"]]


def test_a_user_created_through_the_api_gets_an_unfrozen_user_login(org):
    sf = sf_for(org)
    profile = sf.query("SELECT Id FROM Profile WHERE Name = 'Standard User'")["records"][0]["Id"]
    new = sf.User.create(
        {
            "Username": "new@example.com",
            "LastName": "New",
            "Alias": "new",
            "Email": "new@example.com",
            "ProfileId": profile,
        }
    )["id"]
    rows = sf.query(f"SELECT IsFrozen, IsPasswordLocked FROM UserLogin WHERE UserId = '{new}'")
    assert [(r["IsFrozen"], r["IsPasswordLocked"]) for r in rows["records"]] == [(False, False)]


def test_user_login_needs_manage_users(org):
    with pytest.raises(SalesforceError) as exc:
        sf_for(org, READER).query("SELECT Id FROM UserLogin")
    assert exc.value.content[0]["errorCode"] == "INVALID_TYPE"


def test_freeze_and_unlock_but_never_lock_through_the_api(org):
    sf = sf_for(org)
    ids = {
        r["User"]["Username"]: r["Id"]
        for r in sf.query("SELECT Id, User.Username FROM UserLogin")["records"]
    }
    sf.UserLogin.update(ids[READER], {"IsFrozen": True})
    sf.UserLogin.update(ids[LOCKED], {"IsPasswordLocked": False})
    with pytest.raises(SalesforceError) as exc:
        sf.UserLogin.update(ids[ADMIN], {"IsPasswordLocked": True})
    assert exc.value.content[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    with pytest.raises(SalesforceError) as exc:
        sf.UserLogin.update(ids[ADMIN], {"UserId": ids[READER]})
    assert exc.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    with pytest.raises(SalesforceError) as exc:
        sf.UserLogin.create({"UserId": ids[ADMIN]})
    assert exc.value.content[0]["errorCode"] == "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY"
    state = logins(sf)
    assert state[READER] == (True, False) and state[LOCKED] == (False, False)
    assert state[ADMIN] == (False, False)


def test_frozen_must_be_a_boolean(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text("users:\n  - {username: a@b.c, profile: Standard User, frozen: 'yes'}\n")
    with pytest.raises(scenario.ScenarioError, match=r"users\[0\]\.frozen: must be true or false"):
        scenario.load(str(path))


@pytest.mark.parametrize("username", [FROZEN, LOCKED])
def test_a_frozen_or_locked_user_cannot_authorize_an_app(org, username):
    """ "If a user's account is frozen, they can't log in" (Object Reference "UserLogin"); a locked one
    neither. The 6sense authorization is refused; an unfrozen user's succeeds."""
    refused = org.action("authorize", username=username)
    assert refused.get("error") == "invalid_grant", refused
    with org.org.lock:
        uid = org.org.user_by_username(username)["Id"]
        assert org.org.store.find("OauthToken", UserId=uid) == []
    assert org.action("authorize", username=ADMIN)["ok"] is True
