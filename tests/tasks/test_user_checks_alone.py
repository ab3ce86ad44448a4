"""Issue 17, kind 6, tasks run alone (``cci task run ...``): every task that takes a user refuses a user who
cannot authorize (frozen, locked out, inactive, without API access) and an integration user that is the user cci
is connected as, before any write, wait or instruction (tasks/user_checks.py through
``SixsenseOrgMixin._require_users``). The flows: tests/e2e/test_users_who_cannot_authorize.py."""

from __future__ import annotations

import pytest

from tests.conftest import INTEGRATION_USER, SETUP_USER, last_seq, writes_since
from tests.e2e.test_users_who_cannot_authorize import NEEDLES, _integration, _other_admin
from tests.tasks.test_production_guard_alone import scenario_variant


def _no_access(data):
    data["app"]["access"]["permission_sets"] = []
    for pset in data["permission_sets"]:
        if pset["name"] == "Sixsense_Integration_Access":
            pset["assigned_to"] = []


#: id -> (task, base scenario, edit, options, words of the refusal). In each, without the check the task
#: would write (grant, assign) or print the instructions and wait.
ALONE = {
    "assign_setup_access connected as the integration user": (
        "sixsense_assign_setup_access",
        "integration_user_is_connected_user",
        None,
        {"setup_username": SETUP_USER, "integration_username": INTEGRATION_USER},
        [INTEGRATION_USER, "is the user cci is connected as"],
    ),
    "grant_app_access to a frozen integration user": (
        "sixsense_grant_app_access",
        "configured",
        lambda d: (_no_access(d), _integration(frozen=True)(d)),
        {"integration_username": INTEGRATION_USER},
        [INTEGRATION_USER, "is frozen"],
    ),
    "grant_app_access to an inactive integration user": (
        "sixsense_grant_app_access",
        "configured",
        lambda d: (_no_access(d), _integration(active=False)(d)),
        {"integration_username": INTEGRATION_USER},
        [INTEGRATION_USER, "is inactive"],
    ),
    "grant_app_access to an integration user without API access": (
        "sixsense_grant_app_access",
        "configured",
        lambda d: (_no_access(d), _integration(profile="Minimum Access - Salesforce")(d)),
        {"integration_username": INTEGRATION_USER},
        [INTEGRATION_USER, "no api access", "api enabled"],
    ),
    "reauthorize a password-locked integration user": (
        "sixsense_reauthorize_integration_user",
        "configured",
        _integration(password_locked=True),
        {"integration_username": INTEGRATION_USER, "interactive": "True", "wait_timeout": "3"},
        [INTEGRATION_USER, "locked out"],
    ),
    "authorize as a frozen setup user": (
        "sixsense_authorize_setup_user",
        "new_customer",
        _other_admin(frozen=True),
        {
            "setup_username": "other.admin@example.com",
            "integration_username": INTEGRATION_USER,
            "interactive": "True",
            "wait_timeout": "3",
            "poll_interval": "1",
        },
        ["setup user other.admin@example.com", "is frozen"],
    ),
}

#: sixsense_authorize_eca run alone: without the check it printed the instructions to a user who cannot
#: authorize and waited (it looked the user up with ``_get_user``: missing or inactive only).
_ECA_ALONE = {"integration_username": INTEGRATION_USER, "interactive": "True", "wait_timeout": "3"}
ALONE.update(
    {
        f"authorize_eca: {scenario}": (
            "sixsense_authorize_eca",
            scenario,
            None,
            _ECA_ALONE,
            NEEDLES[scenario],
        )
        for scenario in (
            "integration_user_frozen",
            "integration_user_without_api_licence",
            "integration_user_is_connected_user",
        )
    }
)


@pytest.mark.parametrize("task, base, edit, options, needles", ALONE.values(), ids=list(ALONE))
def test_a_task_run_alone_refuses_before_any_write(
    task, base, edit, options, needles, sim_task, tmp_path, errors
):
    scenario = scenario_variant(tmp_path, base, edit) if edit else base
    sim, make = sim_task(scenario)
    mark = last_seq(sim)
    with pytest.raises(errors.SixsenseInputError) as refused:
        make(task, confirm_production="True", **options)()
    message = str(refused.value).lower()
    for needle in needles:
        assert needle.lower() in message, f"{needle!r} not in: {refused.value}"
    assert writes_since(sim, mark) == []


def test_the_connected_integration_user_is_refused_before_any_request(sim_task, errors):
    """No request is needed to see it: the task stops before reading the org."""
    sim, make = sim_task("integration_user_is_connected_user")
    mark = last_seq(sim)
    with pytest.raises(errors.SixsenseInputError, match="is the user cci is connected as"):
        make(
            "sixsense_grant_app_access",
            integration_username=INTEGRATION_USER,
            confirm_production="True",
        )()
    assert sim.requests(since=mark) == []
