"""sixsense_verify (tasks/verify.py) as the operator meets it, written against the survivors of
``make mutate`` (tests/mutation-equivalent.txt lists the ones that change nothing observable). The failing
states of each check: tests/tasks/test_checks_fail.py."""

from __future__ import annotations

import pytest

from tests.conftest import last_seq, writes_since


@pytest.mark.parametrize(
    "username, says",
    [
        (
            "nobody@example.com",
            "The integration user nobody@example.com does not exist in this org; check the username "
            "(-o integration_username ...).",
        ),
    ],
)
def test_an_integration_user_not_in_the_org_is_named_with_its_role_and_option(
    sim_task, errors, tmp_path, username, says
):
    sim, make = sim_task("configured")
    mark = last_seq(sim)
    task = make(
        "sixsense_verify",
        integration_username=username,
        report_path=str(tmp_path / "verification.json"),
    )
    with pytest.raises(errors.SixsenseInputError) as err:
        task()
    assert str(err.value) == says
    assert writes_since(sim, mark) == []
