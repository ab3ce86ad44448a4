"""Issue 17 kind 3: which connected app is the vendor's (tasks/app_resolution.py). ``choice`` is pure: each of
its stops, and where the app can be told apart. Against the simulator: two_candidate_apps edited so that both
candidate names are in use, or both installed and none in use; each step stops with the choice and the option
that pins the name, writing nothing (facts §3: ConnectedApplication rows are the installed apps; §4.1:
OauthToken.AppName is the app in use)."""

from __future__ import annotations

import pytest

from tasks.app_resolution import PIN_FLOW, PIN_TASK, choice
from tests.conftest import INTEGRATION_USER, last_seq, writes_since
from tests.tasks.test_production_guard_alone import scenario_variant

OLD, NEW = "sfdc_6sense_oauth_app", "sfdc_6sense_integration_connected_app"
NAMES = [OLD, NEW]


def rows(*names):
    return [{"Id": f"0H4{i}", "Name": n} for i, n in enumerate(names)]


def test_two_names_in_use_is_a_choice():
    why = choice(NAMES, rows(OLD, NEW), {OLD: 1, NEW: 3})
    assert why is not None
    assert f"more than one candidate name is in use ({OLD}, {NEW})" in why
    assert f"{OLD}: installed, 1 token(s)" in why and f"{NEW}: installed, 3 token(s)" in why
    assert PIN_FLOW in why and PIN_TASK in why and "Nothing was written" in why


def test_two_names_in_use_is_a_choice_even_with_one_installed():
    """The tokens of a name that is not installed still show it is in use: which one is the vendor's is not
    known."""
    why = choice(NAMES, rows(NEW), {OLD: 2, NEW: 1})
    assert f"more than one candidate name is in use ({OLD}, {NEW})" in why
    assert f"{OLD}: not installed, 2 token(s)" in why


def test_two_installed_and_none_in_use_is_a_choice():
    why = choice(NAMES, rows(OLD, NEW), {OLD: 0, NEW: 0})
    assert why is not None
    assert f"more than one candidate is installed ({OLD}, {NEW}) and none is in use" in why
    assert f"{OLD}: installed, 0 token(s)" in why and f"{NEW}: installed, 0 token(s)" in why
    assert PIN_FLOW in why and PIN_TASK in why


@pytest.mark.parametrize(
    "installed, counts",
    [
        ((), {OLD: 3, NEW: 3}),  # nothing installed: nothing to configure yet
        ((OLD,), {}),  # one installed, none in use
        ((NEW,), {NEW: 4}),  # the installed one is the one in use
    ],
)
def test_one_app_that_can_be_told_apart_is_no_choice(installed, counts):
    assert choice(NAMES, rows(*installed), counts) is None


# -- against the simulator ------------------------------------------------------------------------------------


def _both_in_use(data):
    data["tokens"].append(
        {
            "user": INTEGRATION_USER,
            "app": OLD,
            "created_days_ago": 400,
            "last_used_days_ago": 1,
            "use_count": 900,
        }
    )


def _none_in_use(data):
    data["tokens"] = [t for t in data["tokens"] if t["app"] not in NAMES]


@pytest.mark.parametrize(
    "edit, why",
    [
        (_both_in_use, "more than one candidate name is in use ({})"),
        (_none_in_use, "more than one candidate is installed ({}) and none is in use"),
    ],
    ids=["both names in use", "both installed, none in use"],
)
@pytest.mark.parametrize("task", ["sixsense_grant_app_access", "sixsense_set_permitted_users"])
def test_a_step_stops_for_the_choice_before_writing(sim_task, tmp_path, errors, edit, why, task):
    sim, make = sim_task(scenario_variant(tmp_path, "two_candidate_apps", edit))
    mark = last_seq(sim)
    with pytest.raises(errors.SixsenseInputError) as caught:
        make(task, integration_username=INTEGRATION_USER, confirm_production="True")()
    assert type(caught.value).__name__ == "AppChoiceRequired"
    message = str(caught.value)
    # the names in configured order (in use) or in the org's row order (installed, no ORDER BY)
    assert any(why.format(", ".join(n)) in message for n in (NAMES, NAMES[::-1])), message
    assert PIN_TASK in message and "Nothing was written" in message
    assert writes_since(sim, mark) == []
    assert not [a for a in sim.state()["apps"] if a.get("admin_approved")]
