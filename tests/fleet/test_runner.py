"""One org's cci process (``fleet.runner``) with a stand-in cci: a timeout is that org's failed row, the
org's tokens never reach its row, and each process sees only its own org's CUMULUSCI_ORG_ variable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fleet import runner
from tests.fleet.helpers import ROOT

TOKEN = "opaque-access-value-123456"
ORG = {
    "name": "acme",
    "cci_org": "acme",
    "env": "CUMULUSCI_ORG_acme",
    "integration_username": "i@x.com",
    "flow": "sixsense_eca",
    "options": {"confirm_production": True},
}


def _cci(tmp_path: Path, body: str) -> dict:
    script = tmp_path / "cci"
    script.write_text("#!/bin/sh\n" + body + "\n")
    script.chmod(0o755)
    return {
        "PATH": "/usr/bin:/bin",
        "SIXSENSE_FLEET_CCI": str(script),
        "CUMULUSCI_ORG_acme": json.dumps({"access_token": TOKEN, "instance_url": "https://x"}),
        "CUMULUSCI_ORG_other": json.dumps({"access_token": "other-org-secret-value"}),
    }


def _run(tmp_path, environ, mode="diagnose", timeout=30.0):
    run_dir = tmp_path / "run"
    run_dir.mkdir(exist_ok=True)
    return runner.run_org(ORG, mode, run_dir, tmp_path, ROOT, timeout, environ)


def test_a_timeout_is_that_orgs_failed_row_and_may_be_retried(tmp_path):
    # cci's own child (as the sf CLI would be) holds the output pipe: the timeout ends it too.
    row = _run(tmp_path, _cci(tmp_path, "sleep 10 & sleep 10"), timeout=0.5)
    assert row["state"] == "failed"
    assert row["reason"] == "timed out after 0.5 s"
    assert row["transient"] is True
    assert row["seconds"] < 5


def test_bad_credentials_are_could_not_connect_without_the_token(tmp_path):
    body = f'echo "Error: invalid_grant: expired access/refresh token {TOKEN}"; exit 1'
    row = _run(tmp_path, _cci(tmp_path, body))
    assert row["state"] == "could not connect"
    assert row["transient"] is False  # credentials do not get better by retrying
    assert "invalid_grant" in row["reason"]
    assert TOKEN not in json.dumps(row)


@pytest.mark.parametrize(
    "line",
    [
        # the sixsense tasks' message (tasks.resilience.client_blocked_message), and cci's own
        'Error: Salesforce refused cci\'s token refresh: "app_blocked: this app is blocked by admin". The '
        "connected app cci logs in through ... is blocked in this org",
        "Error: OAuth failed\nstatus_code: 400\ncontent: "
        """b'{"error":"app_blocked","error_description":"this app is blocked by admin"}'""",
    ],
    ids=["ours", "cci"],
)
def test_a_blocked_client_app_is_could_not_connect(tmp_path, line):
    """cci's own connected app blocked on OAuth Usage (scenario client_app_blocked): the org cannot be
    logged in to, which is not a failure of the procedure and not worth a retry."""
    body = f"cat <<'EOF'\n{line}\nEOF\nexit 1"
    row = _run(tmp_path, _cci(tmp_path, body))
    assert row["state"] == "could not connect", row
    assert row["transient"] is False
    assert "app_blocked" in row["reason"] or "OAuth failed" in row["reason"]


def test_a_later_steps_option_goes_to_that_step(tmp_path):
    """refresh_token_policy_checked is sixsense_verify's, not the first step's (config.STEP_OPTIONS)."""
    org = {
        **ORG,
        "flow": "sixsense_new_customer",
        "options": {"refresh_token_policy_checked": True},
    }
    cmd = runner.command(org, "setup", tmp_path, tmp_path, "cci")
    assert cmd[cmd.index("sixsense_verify__refresh_token_policy_checked") + 1] == "True"
    assert "sixsense_validate_inputs__refresh_token_policy_checked" not in cmd
    assert "sixsense_validate_inputs__interactive" in cmd


def test_each_process_sees_only_its_own_org_and_the_options_as_names(tmp_path):
    seen = tmp_path / "seen"
    row = _run(tmp_path, _cci(tmp_path, f'env > {seen}; echo "$@" >> {seen}; exit 3'), mode="setup")
    text = seen.read_text()
    assert "CUMULUSCI_ORG_acme=" in text
    assert "other-org-secret-value" not in text
    assert "-o sixsense_validate_inputs__interactive False" in text
    assert "-o sixsense_validate_inputs__confirm_production True" in text
    assert "flow run sixsense_eca --org acme" in text
    assert row["state"] == "failed"
    assert TOKEN not in json.dumps(row)
