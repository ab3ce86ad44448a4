"""tasks/user_checks.py word for word and row for row (`make mutate`'s survivors): which users cannot
authorize, the message that names each one and its fix, and the Inputs table's rows. No org: the module's
readers are passed in (``query``, ``get_users``, ``api_sources``), so each case gives exactly the rows a real
org would return. The same checks through the tasks and the simulator: test_user_checks_alone.py and
tests/e2e/test_users_who_cannot_authorize.py."""

from __future__ import annotations

import importlib

import pytest


@pytest.fixture(autouse=True)
def _modules(runtime):
    """The project's modules as cci loads them (its runtime puts tasks/ on the import path)."""
    global user_checks, SixsenseInputError, SixsenseOrgError
    user_checks = importlib.import_module("tasks.user_checks")
    errors = importlib.import_module("tasks.errors")
    SixsenseInputError, SixsenseOrgError = errors.SixsenseInputError, errors.SixsenseOrgError


SETUP = "admin@example.com"
INTEGRATION = "sync@example.com"
#: The user licences known to allow API Enabled (tasks/user_checks.py API_LICENCES, UNCERTAIN there).
LICENCES = (
    "Salesforce",
    "Salesforce Platform",
    "Salesforce Integration",
    "Force.com - App Subscription",
    "Force.com - One App",
    "Identity",
)
ALLOWED = {"Name": "Minimum Access - API Only Integrations", "UserLicense": {"Name": "Salesforce"}}


def _user(uid, username, active=True, profile=None):
    return {"Id": uid, "Username": username, "IsActive": active, "Profile": profile or ALLOWED}


def _run(users, logins=None, sources=("profile",), login_error=None):
    """check_users over ``users`` (rows as the User query returns them), ``logins`` (UserLogin rows by Id;
    default: neither frozen nor locked) and ``sources`` (the integration user's API Enabled sources)."""
    queries = []

    def query(soql):
        queries.append(soql)
        if login_error:
            raise SixsenseOrgError(login_error)
        rows = logins if logins is not None else {u["Id"]: {} for u in users}
        return [{"UserId": uid, **row} for uid, row in rows.items()]

    asked = []

    def get_users(names):
        asked.append(list(names))
        wanted = {n.lower() for n in names}
        return {u["Username"].lower(): u for u in users if u["Username"].lower() in wanted}

    out = user_checks.check_users(
        query,
        {user_checks.SETUP: SETUP, user_checks.INTEGRATION: INTEGRATION},
        get_users=get_users,
        api_sources=lambda user: None if sources is None else list(sources),
    )
    return out, queries, asked


def test_role_names_are_the_words_the_messages_use():
    assert user_checks.SETUP == "setup user"
    assert user_checks.INTEGRATION == "integration user"


def test_user_login_query_text():
    assert user_checks.user_login_soql(["005A", "005B"]) == (
        "SELECT UserId, IsFrozen, IsPasswordLocked FROM UserLogin WHERE UserId IN ('005A', '005B')"
    )


def test_refuse_nothing_one_line_or_every_problem_listed():
    assert user_checks.refuse([]) is None
    with pytest.raises(SixsenseInputError) as one:
        user_checks.refuse(["only problem"])
    assert str(one.value) == "only problem"
    with pytest.raises(SixsenseInputError) as two:
        user_checks.refuse(["first", "second"])
    assert str(two.value) == (
        "The users cannot authorize; nothing was written:\n  - first\n  - second"
    )
    with pytest.raises(SixsenseInputError) as raised:
        user_checks.UserCheck(problems=["a", "b"]).raise_problems()
    assert str(raised.value).endswith("\n  - a\n  - b")
    assert user_checks.UserCheck().raise_problems() is None


def test_missing_and_inactive_user_messages_word_for_word():
    assert user_checks.missing_user("setup user", "x@y.com") == (
        "The setup user x@y.com does not exist in this org; check the username (-o setup_username ...)."
    )
    assert user_checks.missing_user("integration user", "x@y.com").endswith(
        "(-o integration_username ...)."
    )
    assert user_checks.inactive_user("integration user", "x@y.com") == (
        "The integration user x@y.com is inactive (User.IsActive false), so it cannot log in to "
        "authorize; activate it in Setup > Users or choose another user."
    )


def test_able_users_pass_with_every_row_ok_and_one_user_login_query():
    out, queries, asked = _run([_user("005S", SETUP), _user("005I", INTEGRATION)])
    assert out.problems == []
    assert out.users == {
        "setup user": _user("005S", SETUP),
        "integration user": _user("005I", INTEGRATION),
    }
    assert out.rows == [
        ["setup user exists", SETUP, "ok"],
        ["setup user active", "active", "ok"],
        ["integration user exists", INTEGRATION, "ok"],
        ["integration user active", "active", "ok"],
        ["setup user frozen / locked", "neither", "ok"],
        ["integration user frozen / locked", "neither", "ok"],
        ["integration user API Enabled", "profile", "ok"],
    ]
    assert queries == [user_checks.user_login_soql(["005S", "005I"])]
    assert asked == [[SETUP, INTEGRATION]]


def test_one_user_for_both_roles_is_read_once():
    queries = []

    def query(soql):
        queries.append(soql)
        return [{"UserId": "005S"}]

    asked = []
    out = user_checks.check_users(
        query,
        {user_checks.SETUP: SETUP, user_checks.INTEGRATION: SETUP},
        get_users=lambda names: asked.append(list(names)) or {SETUP: _user("005S", SETUP)},
        api_sources=lambda user: ["profile"],
    )
    assert asked == [[SETUP]]
    assert queries == [user_checks.user_login_soql(["005S"])]
    assert out.problems == []


def test_missing_and_inactive_users_each_named_with_failed_rows():
    out, queries, _ = _run([_user("005I", INTEGRATION, active=False)])
    assert out.problems == [
        user_checks.missing_user("setup user", SETUP),
        user_checks.inactive_user("integration user", INTEGRATION),
    ]
    assert ["setup user exists", SETUP, "FAIL"] in out.rows
    assert ["integration user active", "inactive", "FAIL"] in out.rows
    assert "setup user" not in out.users
    assert queries == [user_checks.user_login_soql(["005I"])]


def test_no_user_found_reads_no_user_login():
    out, queries, _ = _run([])
    assert queries == []
    assert len(out.problems) == 2
    assert out.users == {}


def test_frozen_and_locked_users_word_for_word():
    logins = {"005S": {"IsFrozen": True}, "005I": {"IsPasswordLocked": True, "IsFrozen": True}}
    out, _, _ = _run([_user("005S", SETUP), _user("005I", INTEGRATION)], logins=logins)
    assert out.problems == [
        f"The setup user {SETUP} is frozen (UserLogin.IsFrozen), so it cannot log in to authorize; "
        f"unfreeze it in Setup > Users > {SETUP} > Unfreeze, or choose another user.",
        f"The integration user {INTEGRATION} is frozen (UserLogin.IsFrozen), so it cannot log in to "
        f"authorize; unfreeze it in Setup > Users > {INTEGRATION} > Unfreeze, or choose another user.",
        f"The integration user {INTEGRATION} is locked out after too many failed logins "
        "(UserLogin.IsPasswordLocked), so it cannot log in to authorize; unlock it in Setup > Users > "
        f"{INTEGRATION} > Unlock (or wait for the lockout period to end), then run again.",
    ]
    assert ["setup user frozen / locked", "frozen", "FAIL"] in out.rows
    assert ["integration user frozen / locked", "frozen, locked", "FAIL"] in out.rows


def test_unreadable_login_states_are_not_checked_never_neither():
    out, _, _ = _run(
        [_user("005S", SETUP), _user("005I", INTEGRATION)],
        login_error="INSUFFICIENT_ACCESS: no Manage Users\nsecond line",
    )
    assert out.problems == []
    assert [
        "setup user frozen / locked",
        "could not read: INSUFFICIENT_ACCESS: no Manage Users",
        "not checked",
    ] in out.rows
    assert [
        "integration user frozen / locked",
        "could not read: INSUFFICIENT_ACCESS: no Manage Users",
        "not checked",
    ] in out.rows


def test_unreadable_login_state_reason_is_cut_at_200_characters():
    out, _, _ = _run([_user("005S", SETUP), _user("005I", INTEGRATION)], login_error="x" * 300)
    row = next(r for r in out.rows if r[0] == "setup user frozen / locked")
    assert row[1] == "could not read: " + "x" * 200


def test_a_user_without_a_user_login_row_is_not_checked():
    out, _, _ = _run([_user("005S", SETUP), _user("005I", INTEGRATION)], logins={"005I": {}})
    assert [
        "setup user frozen / locked",
        "could not read: no UserLogin row",
        "not checked",
    ] in out.rows
    assert ["integration user frozen / locked", "neither", "ok"] in out.rows
    assert out.problems == []


def test_api_access_not_checkable_is_skipped_not_ok():
    out, _, _ = _run([_user("005S", SETUP), _user("005I", INTEGRATION)], sources=None)
    assert out.rows[-1] == ["integration user API Enabled", "not checkable", "skipped"]
    assert out.problems == []


def test_api_access_sources_joined():
    out, _, _ = _run([_user("005S", SETUP), _user("005I", INTEGRATION)], sources=("profile", "PS"))
    assert out.rows[-1] == ["integration user API Enabled", "profile, PS", "ok"]


def test_no_api_access_on_an_api_licence_names_the_permission():
    out, _, _ = _run([_user("005S", SETUP), _user("005I", INTEGRATION)], sources=())
    assert out.rows[-1] == ["integration user API Enabled", "not held", "FAIL"]
    assert out.problems == [
        f"The integration user {INTEGRATION} has no API access (API Enabled is on neither its profile "
        "Minimum Access - API Only Integrations nor an assigned permission set), so it cannot sync. Give it "
        "API Enabled (for example the 'Minimum Access - API Only Integrations' profile)."
    ]


@pytest.mark.parametrize("licence", LICENCES)
def test_every_api_licence_gets_the_permission_message(licence):
    profile = {"Name": "P", "UserLicense": {"Name": licence}}
    out, _, _ = _run(
        [_user("005S", SETUP), _user("005I", INTEGRATION, profile=profile)], sources=()
    )
    assert "nor an assigned permission set" in out.problems[0]


def test_api_licences_listed():
    assert user_checks.API_LICENCES == LICENCES


def test_no_api_access_on_another_licence_names_the_licence():
    profile = {"Name": "Chatter Free User", "UserLicense": {"Name": "Chatter Free"}}
    out, _, _ = _run(
        [_user("005S", SETUP), _user("005I", INTEGRATION, profile=profile)], sources=()
    )
    assert out.problems == [
        f"The integration user {INTEGRATION} has no API access and its licence Chatter Free (profile "
        "Chatter Free User) is not one that allows API Enabled, so it cannot sync. Give the user a profile "
        "of the Salesforce or Salesforce Integration licence with API Enabled (for example 'Minimum Access "
        "- API Only Integrations'), or choose another user."
    ]


def test_no_api_access_without_a_profile_still_names_the_permission():
    user = _user("005I", INTEGRATION)
    user["Profile"] = None
    out, _, _ = _run([_user("005S", SETUP), user], sources=())
    assert out.problems[0].startswith(
        f"The integration user {INTEGRATION} has no API access (API Enabled is on neither its profile None"
    )


def test_same_user_problems_word_for_word():
    step = user_checks.procedure.step("authorize_setup_user").name
    given = user_checks.same_user_problems("A@x.com", "a@X.com", "c@x.com", setup_defaulted=False)
    assert given == [
        "The setup user (A@x.com) is the integration user: one person cannot be both (the same user). The "
        f"vendor article requires '{step}' by a setup user who is not the integration user. Pass "
        "-o setup_username <admin username> (this task alone) or -o sixsense_validate_inputs__setup_username "
        "<admin username> (flow). Nothing was written."
    ]
    defaulted = user_checks.same_user_problems(
        "a@x.com", "a@x.com", "c@x.com", setup_defaulted=True
    )
    assert defaulted[0].startswith(
        "The setup user (a@x.com, the user cci is connected as) is the integration user"
    )
    connected = user_checks.same_user_problems(
        "s@x.com", "C@x.com", "c@X.com", setup_defaulted=False
    )
    assert connected == [
        "The integration user C@x.com is the user cci is connected as: the procedure changes that user's "
        "access and has it reauthorize in the vendor's application, which can end cci's own session "
        "mid-run, and cci's admin work would run as the sync user. Connect cci as an admin who is not the "
        "integration user (cci org connect <org>, logging in as that admin), or pass the real integration "
        "user. Nothing was written."
    ]


def test_same_user_problems_defaulted_setup_user_as_the_connected_integration_user_says_one_fix():
    both = user_checks.same_user_problems("c@x.com", "c@x.com", "c@x.com", setup_defaulted=True)
    assert len(both) == 1 and "is the user cci is connected as" in both[0]
    given = user_checks.same_user_problems("c@x.com", "c@x.com", "c@x.com", setup_defaulted=False)
    assert len(given) == 2


@pytest.mark.parametrize(
    "setup, integration, connected",
    [
        (None, "a@x.com", "c@x.com"),
        ("a@x.com", None, "a@x.com"),
        ("s@x.com", "a@x.com", None),
        ("s@x.com", "a@x.com", "c@x.com"),
    ],
)
def test_same_user_problems_none_where_the_users_differ_or_are_not_given(
    setup, integration, connected
):
    assert (
        user_checks.same_user_problems(setup, integration, connected, setup_defaulted=False) == []
    )
