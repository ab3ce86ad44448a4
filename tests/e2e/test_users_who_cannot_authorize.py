"""Issue 17, kind 6: users who cannot authorize. A frozen, locked-out or inactive user cannot log in to make the
vendor's authorization; an integration user without API access (or on a licence that does not allow it) cannot
sync; the integration user must be neither the setup user nor the user cci is connected as. Each is refused
before any write: in the flows by sixsense_validate_inputs, and by every task that takes a user when it runs
alone (tasks/user_checks.py). The org's state and request log are read from the simulator."""

from __future__ import annotations

import pytest

from tests.conftest import (
    INTEGRATION_USER,
    SCENARIO_DIR,
    USER_REFUSED_SCENARIOS,
    last_seq,
    writes_since,
)
from tests.tasks.test_production_guard_alone import scenario_variant

FAST = {"poll_interval": "1", "wait_timeout": "60", "confirm_production": "True"}
FLOWS = (
    "sixsense_new_customer",
    "sixsense_existing_customer",
    "sixsense_eca",
    "sixsense_migrate_to_eca",
)
#: scenario -> words the refusal must carry (lowercased): the user, the state, the fix.
NEEDLES = {
    "integration_user_frozen": [INTEGRATION_USER, "is frozen", "userlogin.isfrozen", "unfreeze"],
    "integration_user_without_api_licence": [
        INTEGRATION_USER,
        "no api access",
        "chatter free",
        "salesforce integration licence",
    ],
    "integration_user_is_connected_user": [
        INTEGRATION_USER,
        "is the user cci is connected as",
        "cci org connect",
        "nothing was written",
    ],
}


def _user(data: dict, username: str) -> dict:
    [user] = [u for u in data["users"] if u["username"] == username]
    return user


def _integration(**fields):
    return lambda data: _user(data, INTEGRATION_USER).update(fields)


def _other_admin(**fields):
    def edit(data):
        data["users"].append(
            {
                "username": "other.admin@example.com",
                "name": "Other Admin",
                "alias": "oadmin",
                "profile": "System Administrator",
                **fields,
            }
        )

    return edit


def test_every_user_refused_scenario_is_bundled_and_expected():
    assert set(NEEDLES) == set(USER_REFUSED_SCENARIOS)
    for name in USER_REFUSED_SCENARIOS:
        assert (SCENARIO_DIR / f"{name}.yml").is_file()


def _assert_refused(error, output, needles):
    assert type(error).__name__ == "SixsenseInputError", f"{error!r}\n{output}"
    message = str(error).lower()
    for needle in needles:
        assert needle.lower() in message, f"{needle!r} not in: {error}"


@pytest.mark.parametrize("flow", FLOWS)
@pytest.mark.parametrize("scenario", USER_REFUSED_SCENARIOS)
def test_flow_stops_in_validate_inputs_before_any_write(
    scenario, flow, start_sim, run_flow_inprocess
):
    sim = start_sim(scenario)
    before = sim.state()
    mark = last_seq(sim)
    coordinator, error, output = run_flow_inprocess(sim, flow, interactive="False", **FAST)
    _assert_refused(error, output, NEEDLES[scenario])
    assert [r.task_name for r in coordinator.results if r.exception] == ["sixsense_validate_inputs"]
    assert writes_since(sim, mark) == []
    # Every row as it was (cci's own session's OauthToken row records its use: not a write of ours).
    after = sim.state()["objects"]
    assert {k: v for k, v in after.items() if k != "OauthToken"} == {
        k: v for k, v in before["objects"].items() if k != "OauthToken"
    }


#: id -> (edit of new_customer, extra flow options, words of the refusal)
VARIANTS = {
    "password-locked integration user": (
        _integration(password_locked=True),
        {},
        [INTEGRATION_USER, "locked out", "userlogin.ispasswordlocked", "unlock"],
    ),
    "frozen setup user": (
        _other_admin(frozen=True),
        {"setup_username": "other.admin@example.com"},
        ["setup user other.admin@example.com", "is frozen", "unfreeze"],
    ),
    "frozen and locked integration user: both problems, one line each": (
        _integration(frozen=True, password_locked=True),
        {},
        ["  - the integration user", "is frozen", "locked out"],
    ),
}


@pytest.mark.parametrize("edit, options, needles", VARIANTS.values(), ids=list(VARIANTS))
def test_user_states_stop_the_flow_before_any_write(
    edit, options, needles, start_sim, run_flow_inprocess, tmp_path
):
    sim = start_sim(scenario_variant(tmp_path, "new_customer", edit))
    mark = last_seq(sim)
    coordinator, error, output = run_flow_inprocess(
        sim, "sixsense_new_customer", interactive="False", **FAST, **options
    )
    _assert_refused(error, output, needles)
    assert [r.task_name for r in coordinator.results if r.exception] == ["sixsense_validate_inputs"]
    assert writes_since(sim, mark) == []
