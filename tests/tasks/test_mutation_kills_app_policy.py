"""The app-policy translations and the lost-grant lists, pinned where ``make mutate`` found them unchecked
(tasks/app_policy.py ``eca_refresh_value``, tasks/token_loss.py ``lost_to_access_removal``): an ECA's
refresh-token policy in the form the verdict reads, whatever casing SOQL or the metadata gives (facts §10.2),
an unknown value kept as it is (so the verdict says "unknown", never "empty"), and a removal's lost grants
dated against the clock they are given."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import pytest


@pytest.fixture(autouse=True)
def _modules(runtime):
    """The project's modules as cci loads them (its runtime puts tasks/ on the import path)."""
    global app_policy, token_loss
    app_policy = importlib.import_module("tasks.app_policy")
    token_loss = importlib.import_module("tasks.token_loss")


@pytest.mark.parametrize(
    ("policy_type", "period", "unit", "expected"),
    [
        # metadata casing (ExtlClntAppOauthConfigurablePolicies.refreshTokenPolicyType)
        ("SpecificInactivity", 30, "Days", "specific_inactivity:30:DAYS"),
        ("SpecificLifetime", "90", "Days", "specific_lifetime:90:DAYS"),
        ("Infinite", None, None, "infinite"),
        ("Zero", None, None, "zero"),
        # SOQL casing with an underscore (as IpRelaxationPolicyType's Enforce_relaxrefresh), and a float
        ("Specific_inactivity", 2.0, "hours", "specific_inactivity:2:HOURS"),
        ("Specific_Lifetime", None, "Days", "specific_lifetime:0:DAYS"),
    ],
)
def test_an_eca_refresh_policy_in_the_verdict_s_form(policy_type, period, unit, expected):
    assert app_policy.eca_refresh_value(policy_type, period, unit) == expected


def test_an_unknown_eca_refresh_policy_is_kept_as_it_is_not_dropped():
    """A value Salesforce adds later must reach the verdict as itself (which FAILs it as unknown), not as
    None (which reads as "not set")."""
    assert app_policy.eca_refresh_value("SpecificUsage") == "SpecificUsage"
    assert app_policy.eca_refresh_value("") is None and app_policy.eca_refresh_value(None) is None
    ok, why = app_policy.assess_refresh(app_policy.eca_refresh_value("SpecificUsage"), None)
    assert ok is False, why


def test_only_the_two_timed_policies_take_a_period():
    assert app_policy.eca_refresh_value("Infinite", 30, "Days") == "infinite"
    assert app_policy.eca_refresh_value("Zero", 30, "Days") == "zero"


def test_a_removal_s_lost_grants_are_dated_against_the_clock_given():
    """``now`` is passed on: a grant used the day before a given ``now`` in 2020 is "recently used" then,
    whatever today's date."""
    tokens = [
        {
            "UserId": "005B",
            "User": {"Username": "b@example.com"},
            "AppName": "sfdc_6sense_oauth_app",
            "CreatedDate": "2019-06-01T00:00:00.000+0000",
            "LastUsedDate": "2020-01-01T00:00:00.000+0000",
            "UseCount": 7,
        },
        {
            "UserId": "005A",
            "AppName": "sfdc_6sense_oauth_app",
            "CreatedDate": "2019-01-01T00:00:00.000+0000",
            "LastUsedDate": "2019-02-01T00:00:00.000+0000",
            "UseCount": 1,
        },
    ]
    now = datetime(2020, 1, 2, tzinfo=UTC)
    losses = token_loss.lost_to_access_removal(tokens, now)
    assert [x["user"] for x in losses] == ["005A", "b@example.com"]  # oldest first
    assert [x["recently_used"] for x in losses] == [False, True]
    assert {x["effect"] for x in losses} == {token_loss.ACCESS_REMOVED}
    assert token_loss.recent(losses) == [losses[1]]


@pytest.mark.parametrize("value", [None, ""])
def test_a_metadata_without_a_refresh_policy_fails_and_says_so(value):
    """No ``refreshTokenPolicy`` read is never a pass, whatever the desired policy."""
    assert app_policy.assess_refresh(value, "infinite") == (
        False,
        "no refreshTokenPolicy in the app's metadata",
    )
    assert app_policy.assess_refresh(value, None)[0] is False


@pytest.mark.parametrize("value", [None, ""])
def test_an_empty_eca_ip_relaxation_stays_empty(value):
    """An empty value is "not set" (None), never a policy named "NONE"."""
    assert app_policy.eca_ip_value(value) is None


def test_an_eca_ip_relaxation_in_the_connected_app_s_form():
    assert app_policy.eca_ip_value(" Enforce_relaxrefresh ") == "ENFORCE_RELAXREFRESH"
    assert app_policy.eca_ip_value("Bypass") == "BYPASS"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("infinite", (True, "Refresh token is valid until revoked")),
        (
            "specific_lifetime:90:DAYS",
            (
                False,
                "Expire refresh token after a specific time (90 days): 6sense's sync stops that long "
                "after each authorization, however often it runs",
            ),
        ),
        ("SPECIFIC_LIFETIME:1:HOURS", (False, None)),
        (
            "specific_inactivity:30:DAYS:x",
            (False, "unrecognised refreshTokenPolicy 'specific_inactivity:30:DAYS:x'"),
        ),
    ],
)
def test_each_refresh_policy_is_judged_and_described(value, expected):
    """The verdict's words, not only its truth: a fixed lifetime is named as such (not "unrecognised"), and
    the policy read is the one described."""
    ok, why = app_policy.assess_refresh(value, None)
    assert ok is expected[0], why
    if expected[1] is not None:
        assert why == expected[1]
    else:
        assert why.startswith("Expire refresh token after a specific time (1 hours): "), why


def test_the_idle_limit_is_at_least_the_vendor_s_own_and_says_so():
    """Exactly the vendor's idle limit keeps the sync (at least, not more than); an hour less breaks it,
    and the verdict names the policy read and the limit in days."""
    limit = app_policy.MIN_IDLE_HOURS
    ok, why = app_policy.assess_refresh(f"specific_inactivity:{limit}:HOURS", None)
    assert (ok, why) == (
        True,
        f"Expire refresh token if not used for a specific time ({limit} hours)",
    )
    ok, why = app_policy.assess_refresh(f"specific_inactivity:{limit - 1}:HOURS", None)
    assert ok is False
    assert why == (
        f"Expire refresh token if not used for a specific time ({limit - 1} hours): shorter than the "
        f"{limit // 24} days 6sense's own External Client App allows, so a pause of the sync ends it"
    )


def test_a_metadata_without_ip_relaxation_fails_and_says_so():
    assert app_policy.assess_ip(None, "ENFORCE") == (False, "no ipRelaxation in the app's metadata")
    assert app_policy.assess_ip("", None) == (False, "no ipRelaxation in the app's metadata")


def test_an_eca_period_or_unit_left_empty_is_not_invented():
    assert (
        app_policy.eca_refresh_value("SpecificInactivity", "", "Days")
        == "specific_inactivity:0:DAYS"
    )
    assert app_policy.eca_refresh_value("SpecificInactivity", 5, None) == "specific_inactivity:5:"


def test_a_grant_used_exactly_the_recent_window_ago_is_recent():
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    edge = (now - timedelta(days=token_loss.RECENT_USE_DAYS)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    assert token_loss.used_recently({"LastUsedDate": edge}, now) is True
    older = (now - timedelta(days=token_loss.RECENT_USE_DAYS, seconds=1)).strftime(
        "%Y-%m-%dT%H:%M:%S.000+0000"
    )
    assert token_loss.used_recently({"LastUsedDate": older}, now) is False


def test_ip_relaxation_is_read_in_any_case_and_an_unknown_desired_one_means_enforce():
    assert app_policy.assess_ip("bypass", None) == (True, "Relax IP restrictions")
    # A desired value the table does not know is read as the strictest, ENFORCE: never an error.
    assert app_policy.assess_ip("ENFORCE_RELAXREFRESH", "Something_New") == (
        True,
        "Enforce IP restrictions, but relax for refresh tokens",
    )
    ok, why = app_policy.assess_ip("ENFORCE", "BYPASS")
    assert ok is False and why.startswith(
        "Enforce IP restrictions: 6sense's refreshes must come from"
    )


def test_enforced_ip_relaxation_says_where_refreshes_must_come_from():
    assert app_policy.assess_ip("ENFORCE", None) == (
        True,
        "Enforce IP restrictions: 6sense's refreshes must come from the integration user's profile login "
        "IP ranges, if it has any",
    )


# -- token_loss.integration_user_token: the one rule after the switch, on rows already read ---------------

APP = {
    "Name": "sfdc_6sense_oauth_app",
    "OptionsAllowAdminApprovedUsersOnly": True,
    "LastModifiedDate": "2026-06-01T00:00:00.000+0000",
}
NAMES = ["sfdc_6sense_oauth_app"]


def _token(created):
    return {"UserId": "005I", "AppName": "sfdc_6sense_oauth_app", "CreatedDate": created}


def test_the_newest_token_is_named_even_beside_one_without_a_date():
    verdict = token_loss.integration_user_token(
        APP,
        [_token(None), _token("2026-07-01T00:00:00.000+0000")],
        {"005I"},
        "005I",
        NAMES,
        "int@x",
    )
    assert verdict.ok is True
    assert verdict.actual == (
        "int@x's token predates the app's last change (ConnectedApplication.LastModifiedDate "
        "2026-06-01T00:00:00.000+0000), so it survived the switch: pre-authorized; no reauthorization "
        "needed (2 token(s), newest created 2026-07-01T00:00:00.000+0000; admin approved)"
    )


def test_an_app_without_a_last_change_date_is_never_said_to_be_predated():
    app = {**APP, "LastModifiedDate": None}
    verdict = token_loss.integration_user_token(
        app, [_token("2026-07-01T00:00:00.000+0000")], {"005I"}, "005I", NAMES, "int@x"
    )
    assert verdict.actual.startswith(
        "int@x holds a token created 2026-07-01T00:00:00.000+0000, after"
    )


def test_a_user_without_access_is_named_with_what_it_lacks():
    verdict = token_loss.integration_user_token(
        APP, [_token("2026-07-01T00:00:00.000+0000")], set(), "005I", NAMES, "int@x"
    )
    assert (verdict.ok, verdict.actual) == (
        False,
        "1 token(s), newest created 2026-07-01T00:00:00.000+0000; int@x is not pre-authorized for "
        "sfdc_6sense_oauth_app (no permission set of it nor its profile has access)",
    )


def test_connectedapplication_s_validity_without_a_period_cannot_tell_and_says_why():
    ok, why = app_policy.assess_validity({"period": None, "idle": False})
    assert ok is None
    assert why.endswith(
        ": 'valid until revoked' or 'Expire refresh token immediately' (ConnectedApplication does not say "
        "which)"
    ), why


def test_an_idle_period_of_zero_breaks_the_sync():
    ok, why = app_policy.assess_validity({"period": 0, "idle": True})
    assert ok is False and why.endswith(": refresh tokens expire as soon as they are unused"), why


def test_a_switch_s_lost_grants_are_dated_against_the_clock_given():
    tokens = [
        {
            "UserId": "005A",
            "AppName": "sfdc_6sense_oauth_app",
            "CreatedDate": "2019-01-01T00:00:00.000+0000",
            "LastUsedDate": "2020-01-01T00:00:00.000+0000",
        }
    ]
    now = datetime(2020, 1, 2, tzinfo=UTC)
    [lost] = token_loss.lost_to_admin_approval(tokens, set(), now)
    assert lost["recently_used"] is True and lost["effect"] == token_loss.NOT_PRE_AUTHORIZED


@pytest.mark.parametrize(
    ("period", "unless"),
    [(1, "months"), (29, "months"), (30, "days or months")],
)
def test_a_short_idle_period_without_a_unit_is_undecided_and_says_which_unit_would_do(
    period, unless
):
    """ConnectedApplication gives no unit: 1 might be a month (enough), so it is not called a failure."""
    ok, why = app_policy.assess_validity({"period": period, "idle": True})
    assert ok is None
    assert why == (
        f"RefreshTokenValidityPeriod {period}, OptionsRefreshTokenValidityMetric true: Expire refresh token "
        f"if not used for a specific time ({period} hours, days or months; ConnectedApplication gives no "
        f"unit): shorter than {app_policy.MIN_IDLE_HOURS // 24} days unless the unit is {unless}"
    )


def test_pre_authorized_users_are_collected_over_every_chunk_of_users():
    """Past ``USER_CHUNK`` users the assignees are read chunk by chunk: every chunk's count, not the last's."""
    users = [f"005{i:015d}" for i in range(2 * token_loss.USER_CHUNK + 50)]
    granted = {users[5], users[token_loss.USER_CHUNK + 7], users[-1]}

    class Task:
        def _query(self, soql):
            if "FROM SetupEntityAccess" in soql:
                return [{"ParentId": "0PS000000000001AAA"}]
            return [{"AssigneeId": u} for u in sorted(granted) if f"'{u}'" in soql]

    assert token_loss.pre_authorized_users(Task(), ["0H4000000000001AAA"], users) == granted
