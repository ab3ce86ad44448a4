"""sixsense_verify's "integration user authorized" check against the fake org (tests/tasks/conftest.py):
what it reads and what an unreadable token means for the checks that lean on it. Written against the
survivors of ``make mutate``; the rows word for word: test_mutation_kills_verify_fake.py."""

from __future__ import annotations

from cumulusci.salesforce_api.exceptions import MetadataApiError

from tests.tasks.conftest import INTEGRATION_USER
from tests.tasks.test_checks_fail import verify
from tests.tasks.test_mutation_kills_verify_fake import _retrieve_raises
from tests.tasks.test_mutation_kills_verify_report import RECHECK, TOKEN_EXPECTED, rows


def test_the_token_read_asks_for_this_apps_tokens_of_the_integration_user(make_task, org, tmp_path):
    """The integration user's tokens are read for this app's names only, in the query itself."""
    from tests.tasks.test_verify import configured

    configured(org)
    verify(make_task, tmp_path, refresh_token_policy_checked="True")
    user = f"UserId = '{INTEGRATION_USER['Id']}'"
    reads = [q for q in org.soql if "FROM OauthToken" in q and user in q]
    assert reads, org.soql
    assert all(
        "AppName IN ('sfdc_6sense_oauth_app', 'sfdc_6sense_integration_connected_app')" in q
        for q in reads
    ), reads


def test_an_unreadable_token_leaves_an_undetectable_blocked_list_mattering(
    make_task, org, tmp_path, monkeypatch
):
    """The blocked list not offered (INVALID_TYPE) and the tokens refused: nothing shows the app is not
    blocked, so that skip matters, and the token row could not be checked."""
    from tests.tasks.test_verify import configured

    configured(org)
    org.refuse("FROM OauthToken", message="no access to OauthToken")
    _retrieve_raises(monkeypatch, MetadataApiError("INVALID_TYPE: BlacklistedConsumer", None))
    report, error, task = verify(make_task, tmp_path, refresh_token_policy_checked="True")
    token = rows(report)[-1]
    assert token[:2] == ("integration user authorized", TOKEN_EXPECTED)
    assert token[2].startswith("could not check: ") and "no access to OauthToken" in token[2]
    assert token[3:] == ("UNREADABLE", RECHECK)
    [unread] = [c for c in report["not_checked"] if c["check"] == "integration user authorized"]
    assert unread == {
        "check": "integration user authorized",
        "result": "UNREADABLE",
        "reason": token[2],
        "matters": True,
        "note": "",
    }
    [skip] = [c for c in report["not_checked"] if c["check"] == "app not blocked"]
    assert (skip["matters"], skip["note"]) == (True, "")
    assert error is not None
