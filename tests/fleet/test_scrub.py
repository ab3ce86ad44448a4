"""Nothing token-like survives ``fleet.scrub`` (it runs on every cci output before it is logged or kept)."""

from __future__ import annotations

import pytest

from fleet.scrub import REDACTED, scrub, secrets_of

ACCESS = "00D5i000000SIMU!SbFsFyDr9Cw8zVMKgOD2TC0aSgQGdorjEcznyLFK4TK3HAoc0qVrEw"
REFRESH = "5Aep861Hs3vmAbXj-gUtkxakE9Da680D7V6hO27N-jIn9y4fgTMuV2qeP9MXhkdS51FZmgvxftrEoa03t"


@pytest.mark.parametrize(
    "text, secret",
    [
        (f"session {ACCESS} expired", ACCESS),
        (f"refresh with {REFRESH}", REFRESH),
        ("auth url force://PlatformCLI::5Aep8xyz@acme.my.salesforce.com ok", "force://PlatformCLI"),
        ("Authorization: Bearer abc.def-ghi", "abc.def-ghi"),
        ('{"access_token": "plainvalue123", "x": 1}', "plainvalue123"),
        ("client_secret=shhh-1234&grant=x", "shhh-1234"),
        ("password: hunter2hunter2", "hunter2hunter2"),
        ("sid=abcdefghijklmnop; path=/", "abcdefghijklmnop"),
    ],
)
def test_token_like_values_are_redacted(text, secret):
    out = scrub(text)
    assert secret not in out
    assert REDACTED in out


def test_known_secrets_are_redacted_wherever_they_appear():
    org_json = {
        "access_token": "opaque-value-1",
        "refresh_token": "opaque-value-2",
        "username": "a@b.c",
    }
    known = secrets_of(org_json)
    assert sorted(known) == ["opaque-value-1", "opaque-value-2"]
    out = scrub("tokens opaque-value-1 and opaque-value-2 for a@b.c", known)
    assert "opaque-value" not in out
    assert "a@b.c" in out  # a username is not a secret


def test_ordinary_output_is_left_alone():
    text = "Next: Install the app (article step 2) - run `cci flow run sixsense_new_customer`; 3 tokens"
    assert scrub(text) == text
