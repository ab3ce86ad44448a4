"""A step whose REST call is refused because API Access Control does not allow cci's own connected app
(``client_app_not_allowlisted``) stops with the one message that says how to allowlist it, without renewing
the session (a new token from the same app is refused alike) and without writing."""

from __future__ import annotations

import pytest

from tests.conftest import INTEGRATION_USER, last_seq, writes_since


@pytest.mark.parametrize(
    ("task", "options"),
    [
        ("sixsense_validate_inputs", {"integration_username": INTEGRATION_USER}),
        (
            "sixsense_assign_setup_access",
            {"setup_username": "admin@example.com", "confirm_production": "True"},
        ),
    ],
)
def test_the_refused_client_is_one_message_and_no_write(sim_task, errors, task, options):
    sim, make = sim_task("client_app_not_allowlisted")
    resilience = __import__("tasks.resilience", fromlist=["CLIENT_NOT_ALLOWLISTED_MESSAGE"])
    mark = last_seq(sim)
    with pytest.raises(errors.SixsenseOrgError) as raised:
        make(task, **options)()
    assert str(raised.value) == resilience.CLIENT_NOT_ALLOWLISTED_MESSAGE
    assert writes_since(sim, mark) == []
    assert not [r for r in sim.requests(since=mark) if r["kind"] == "auth"], "no session renewal"
