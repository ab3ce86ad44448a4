"""No credential ever leaks: every token the simulator issued (cci's access and refresh tokens, every
refreshed session, the OauthToken AccessToken/DeleteToken values) is searched for in everything the flows
print and write: the in-process log, the real ``cci flow run`` console output, the reports and any other file
under the test's directory (.sixsense reports, audit files, cci's keychain home)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import flow_options, production_consent

OPTIONS = {
    "sixsense_set_permitted_users": {"confirm_logout": "True"},
    "sixsense_reauthorize_integration_user": {"confirm_reauthorization": "True"},
}


def issued_secrets(sim) -> set[str]:
    """Every token value the simulator issued to anyone."""
    secrets = {sim.session["access_token"], sim.session["refresh_token"]}
    with sim.org.lock:
        secrets |= {row["token"] for row in sim.org.store.sim_rows("session")}
    for row in sim.state()["objects"].get("OauthToken", []):
        secrets |= {row.get(k) for k in ("AccessToken", "DeleteToken", "RequestToken")}
    return {s for s in secrets if s and len(s) >= 16}


def leaks(secrets: set[str], texts: dict[str, str]) -> list[str]:
    return [
        f"{where} contains a token ({secret[:6]}...)"
        for where, text in texts.items()
        for secret in secrets
        if secret in text
    ]


def files_under(*roots: Path) -> dict[str, str]:
    out = {}
    for root in roots:
        if not root.exists():
            continue
        for path in root.rglob("*"):
            if path.is_file() and path.stat().st_size < 5_000_000:
                out[str(path)] = path.read_bytes().decode("utf-8", "replace")
    return out


def test_in_process_flows_print_and_write_no_token(start_sim, run_flow_inprocess, tmp_path):
    texts = {}
    secrets: set[str] = set()
    for flow, scenario in (
        ("sixsense_new_customer", "new_customer"),
        ("sixsense_existing_customer", "existing_customer"),
    ):
        sim = start_sim(scenario, autopilot=True)
        report = tmp_path / scenario / ".sixsense" / "verification.json"
        options = {**OPTIONS, "sixsense_verify": {"report_path": str(report)}}
        _, error, output = run_flow_inprocess(
            sim,
            flow,
            task_options=options,
            interactive="True",
            poll_interval="1",
            wait_timeout="60",
            **production_consent(sim),
        )
        assert error is None, f"{error}\n{output}"
        texts[f"{flow} log"] = output
        # A non-interactive run on a fresh org stops at a manual step: its message is printed too.
        fresh = start_sim(scenario)
        _, pending, output = run_flow_inprocess(
            fresh,
            flow,
            task_options=options,
            interactive="False",
            poll_interval="1",
            **production_consent(fresh),
        )
        texts[f"{flow} pending log"] = output + str(pending)
        secrets |= issued_secrets(sim) | issued_secrets(fresh)
    texts.update(files_under(tmp_path))
    assert secrets, "the simulator issued no tokens?"
    assert not leaks(secrets, texts), leaks(secrets, texts)


@pytest.mark.cli
def test_cci_flow_run_console_and_files_hold_no_token(start_sim, cci, tmp_path):
    sim = start_sim("new_customer", autopilot=True)
    args = ["flow", "run", "sixsense_new_customer", "--org", "sim"]
    args += flow_options(
        interactive=True, poll_interval="1", wait_timeout="120", **production_consent(sim)
    )
    args += [
        "-o",
        "sixsense_verify__report_path",
        str(tmp_path / ".sixsense" / "verification.json"),
    ]
    # The operator's word for the refresh-token policy the org cannot show by API (README: real orgs).
    args += ["-o", "sixsense_verify__refresh_token_policy_checked", "True"]
    for task, opts in OPTIONS.items():
        for name, value in opts.items():
            args += ["-o", f"{task}__{name}", value]
    result = cci(sim, *args)
    assert result.returncode == 0, result.stdout[-3000:]
    texts = {"cci console output": result.stdout, **files_under(tmp_path)}
    assert (tmp_path / ".sixsense" / "verification.json").exists()
    secrets = issued_secrets(sim)
    assert not leaks(secrets, texts), leaks(secrets, texts)
