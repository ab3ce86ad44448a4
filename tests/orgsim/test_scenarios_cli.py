"""Scenario loading and validation, the serve CLI's bad-input behaviour, state files, scripts/with-sim."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from simple_salesforce.exceptions import SalesforceExpiredSession

from orgsim import scenario, server
from tests.conftest import UNCONNECTABLE_SCENARIOS
from tests.orgsim.simclient import sf_for

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = sorted(p.stem for p in (ROOT / "datasets" / "scenarios").glob("*.yml"))


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_scenarios_load_and_serve(make_sim, name):
    """Every bundled scenario serves cci's session, except where API Access Control refuses cci's own
    connected app: there every REST call answers 401 (tests/orgsim/test_oauth_strict.py)."""
    sim = make_sim(name)
    soql = "SELECT Id FROM User WHERE Username = 'admin@example.com'"
    if name in UNCONNECTABLE_SCENARIOS:
        # Refused by API Access Control, or ended by the block of cci's app (facts §10.1, §6.2).
        refusal = {
            "client_app_not_allowlisted": "not valid for use with the REST API",
            "client_app_blocked": "Session expired or invalid",
        }[name]
        with pytest.raises(SalesforceExpiredSession, match=refusal):
            sf_for(sim).query(soql)
        return
    assert sf_for(sim).query(soql)["totalSize"] == 1


def test_configured_scenario_is_fully_set_up(make_sim):
    sim = make_sim("configured")
    state = sim.org.app_state()
    assert state["installed"] and state["admin_approved"] and not state["blocked"]
    integration = sim.org.user_by_username("sixsense.integration@example.com")
    assert sim.org.is_pre_authorized(integration["Id"])
    tokens = sim.org.store.find("OauthToken", UserId=integration["Id"])
    assert tokens[0]["CreatedDate"] > state["policy_modified"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "users:\n  - {username: a@b.c, profile: Foo}\n",
            "users[0].profile: unknown profile 'Foo'",
        ),
        (
            "users:\n  - {username: a@b.c, profile: Standard User}\n  - {username: b@b.c, profile: Bar}\n",
            "users[1].profile: unknown profile 'Bar'",
        ),
        ("users: []\n", "users: at least one user is required"),
        (
            "users:\n  - {username: a@b.c, profile: Standard User}\nfeatures: {api_access_control: {enforcing: true}}\n",
            "features.api_access_control.enforcing: cannot be true unless provisioned is true",
        ),
        (
            "users:\n  - {username: a@b.c, profile: Standard User}\npermission_sets:\n  - {name: X, permissions: [UseAnyApiClient]}\n",
            "permission_sets[0].permissions[0]: unknown user permission 'UseAnyApiClient'",
        ),
        (
            "users:\n  - {username: a@b.c, profile: Standard User}\ntokens:\n  - {user: a@b.c}\n",
            "tokens[0].app: the app has a token, so it must be visible",
        ),
        (
            "users:\n  - {username: a@b.c, profile: Standard User}\nbogus: 1\n",
            "bogus: unknown field",
        ),
        ("users: [\n", "invalid YAML"),
        # More tokens per user per app than Salesforce keeps (facts §10.1): refused, not cut at load.
        (
            "users:\n  - {username: a@b.c, profile: Standard User}\napp: {visible: true}\ntokens:\n"
            + "  - {user: a@b.c}\n" * 6,
            "tokens[5].user: more than 5 tokens for user 'a@b.c' and app 'sfdc_6sense_oauth_app'",
        ),
        # Numbers beyond any real value.
        (
            "users:\n  - {username: a@b.c, profile: Standard User}\napp: {visible: true}\ntokens:\n"
            "  - {user: a@b.c, created_days_ago: -3}\n",
            "tokens[0].created_days_ago: must be between 0 and 10,000, got -3",
        ),
        (
            "users:\n  - {username: a@b.c, profile: Standard User}\napp: {visible: true}\ntokens:\n"
            "  - {user: a@b.c, created_days_ago: 5, last_used_days_ago: 9}\n",
            "tokens[0].last_used_days_ago: must be between 0 and 5, got 9",
        ),
        (
            "users:\n  - {username: a@b.c, profile: Standard User}\napp: {visible: true}\ntokens:\n"
            "  - {user: a@b.c, use_count: 99999999999}\n",
            "tokens[0].use_count: must be between 0 and 1,000,000,000",
        ),
        (
            "users:\n  - {username: a@b.c, profile: Standard User}\napp: {installed_days_ago: -1}\n",
            "app.installed_days_ago: must be between 0 and 10,000, got -1",
        ),
        (
            "users:\n  - {username: a@b.c, profile: Standard User}\norg: {trial_days: 99999}\n",
            "org.trial_days: must be between 0 and 10,000, got 99,999",
        ),
        (
            "users:\n  - {username: a@b.c, profile: Standard User}\n"
            "features: {admin_approval_revokes: everyone}\n",
            "features.admin_approval_revokes: must be one of not_pre_authorized, all",
        ),
        (
            "users:\n  - {username: a@b.c, profile: System Administrator}\n"
            "app: {visible: true, installed: true, installed_by: nobody@b.c}\n",
            "app.installed_by: unknown user 'nobody@b.c'",
        ),
        (
            "users:\n  - {username: a@b.c, profile: System Administrator}\n"
            "app: {visible: true, installed: true, policy_changed_by: a@b.c}\n",
            "app.policy_changed_by: only an app with app.admin_approved: true was changed by someone",
        ),
        (
            "users:\n  - {username: a@b.c, profile: System Administrator}\n"
            "  - {username: u@b.c, profile: Standard User}\n"
            "app: {visible: true, installed: true, installed_by: u@b.c}\n",
            "app.installed_by: 'u@b.c' could not have done it: lacks CustomizeApplication, ModifyAllData",
        ),
    ],
)
def test_malformed_scenarios_name_file_field_and_problem(tmp_path, text, message):
    path = tmp_path / "x.yml"
    path.write_text(text)
    with pytest.raises(scenario.ScenarioError) as exc:
        scenario.load(str(path))
    assert str(exc.value).startswith(f"{path}: ")
    assert message in str(exc.value)


def _serve(*args, timeout=30):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "orgsim", "serve", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=timeout,
    )


def test_unknown_scenario_is_one_line_on_stderr():
    result = _serve("--scenario", "no_such_scenario", "--port", "0")
    assert result.returncode != 0
    assert (
        result.stderr.strip().count("\n") == 0
        and "unknown scenario 'no_such_scenario'" in result.stderr
    )


def test_port_in_use_is_refused_and_the_state_file_not_created(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        state = tmp_path / "org.db"
        result = _serve("--scenario", "new_customer", "--port", str(port), "--state", str(state))
    assert result.returncode != 0 and "already in use" in result.stderr
    assert not state.exists()


def test_corrupt_state_file_is_refused_and_left_untouched(tmp_path):
    state = tmp_path / "org.db"
    state.write_bytes(b"this is not sqlite" * 100)
    before = state.read_bytes()
    result = _serve("--scenario", "new_customer", "--port", "0", "--state", str(state))
    assert result.returncode != 0 and "not a simulator state file" in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert state.read_bytes() == before


def test_state_file_keeps_the_org_across_restarts(tmp_path):
    state = tmp_path / "org.db"
    first = server.start("new_customer", state_file=state)
    try:
        first.action("authorize", username="admin@example.com")
    finally:
        first.stop()
    second = server.start("new_customer", state_file=state)
    try:
        assert second.org.app_state()["visible"] is True
    finally:
        second.stop()
    with pytest.raises(server.StartError, match="holds scenario 'new_customer'"):
        server.start("existing_customer", state_file=state)


def test_certificate_has_the_localhost_san(sim):
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(Path(sim.cert_file).read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


def test_env_has_what_cci_needs(sim):
    import json

    env = sim.env()
    org = json.loads(env["CUMULUSCI_ORG_sim"])
    assert org["instance_url"] == sim.url == env["ORGSIM_URL"]
    user = sim.org.connected_user()
    assert org["id"] == f"{sim.url}/id/{sim.org.org_id}/{user['Id']}"
    assert org["username"] == "admin@example.com" and org["refresh_token"] and org["access_token"]
    assert env["CUMULUSCI_KEYCHAIN_CLASS"].endswith("EnvironmentProjectKeychain")
    bundle = Path(env["REQUESTS_CA_BUNDLE"]).read_text()
    assert (
        Path(sim.cert_file).read_text().strip() in bundle and bundle.count("BEGIN CERTIFICATE") > 10
    )


@pytest.mark.cli
def test_with_sim_runs_the_real_cci_org_info():
    result = subprocess.run(
        [
            str(ROOT / "scripts" / "with-sim"),
            "new_customer",
            "--",
            str(ROOT / ".venv/bin/cci"),
            "org",
            "info",
            "--org",
            "sim",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={
            k: v for k, v in os.environ.items() if not k.startswith(("CUMULUSCI_", "REQUESTS_CA"))
        },
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Org: sim" in result.stdout
    assert "Enterprise Edition" in result.stdout and "NA224" in result.stdout
    assert "GET    Organization" in result.stderr  # the request summary printed on shutdown


@pytest.mark.cli
def test_with_sim_exits_with_the_command_status():
    result = subprocess.run(
        [str(ROOT / "scripts" / "with-sim"), "new_customer", "--", "sh", "-c", "exit 7"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 7


@pytest.mark.cli
def test_with_sim_passes_state_so_a_second_run_sees_the_first_runs_org(tmp_path):
    """``--state FILE`` reaches ``serve``: an authorization made in the first run (it lists the app on OAuth
    Usage) is in the org the second run serves."""
    state = tmp_path / "org.db"

    def with_sim(*command):
        return subprocess.run(
            [
                str(ROOT / "scripts" / "with-sim"),
                "new_customer",
                "--state",
                str(state),
                "--",
                *command,
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )

    python = str(ROOT / ".venv" / "bin" / "python")
    first = with_sim(
        python, "-m", "orgsim", "action", "authorize", "--username", "admin@example.com"
    )
    assert first.returncode == 0, first.stdout + first.stderr
    assert state.exists()
    check = (
        "import os, requests; r = requests.get(os.environ['ORGSIM_URL'] + '/_sim/state', "
        "headers={'Authorization': 'Bearer ' + os.environ['ORGSIM_ADMIN_TOKEN']}); "
        "print([a['visible'] for a in r.json()['apps'] if a['name'] == 'sfdc_6sense_oauth_app'])"
    )
    second = with_sim(python, "-c", check)
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.strip() == "[True]"


def test_with_sim_refuses_a_start_timeout_that_is_not_a_number():
    result = subprocess.run(
        [str(ROOT / "scripts" / "with-sim"), "new_customer", "--", "true"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={**os.environ, "WITH_SIM_START_TIMEOUT": "soon"},
    )
    assert result.returncode == 2
    assert "WITH_SIM_START_TIMEOUT must be a number of seconds" in result.stderr


# -- bad simulator flags: one line naming the flag, non-zero exit, nothing written -----------------------


def _bad_flags(tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("not a directory")
    missing = tmp_path / "missing" / "deeper"
    return [
        (["--latency-ms", "-5"], "--latency-ms -5: must be between 0 and 60,000"),
        (["--latency-ms", "86400000"], "--latency-ms 86400000: must be between 0 and 60,000"),
        (["--port", "-1"], "--port -1: must be between 0 and 65535"),
        (["--port", "70000"], "--port 70000: must be between 0 and 65535"),
        (["--state", str(missing / "org.db")], f"--state {missing / 'org.db'}: directory"),
        (["--state", str(tmp_path)], f"--state {tmp_path}: is a directory"),
        (["--cert-dir", str(a_file)], f"--cert-dir {a_file}: not a directory"),
        (["--env-file", str(missing / "env")], f"--env-file {missing / 'env'}: directory"),
        (["--env-file", str(tmp_path)], f"--env-file {tmp_path}: is a directory"),
    ]


@pytest.mark.parametrize("case", range(9))
def test_bad_serve_flags_are_one_line_naming_the_flag_and_write_nothing(tmp_path, case):
    args, message = _bad_flags(tmp_path)[case]
    state = tmp_path / "org.db"
    extra = [] if "--state" in args else ["--state", str(state)]
    before = sorted(p.name for p in tmp_path.iterdir())
    result = _serve("--scenario", "new_customer", "--port", "0", *extra, *args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert result.stderr.startswith("orgsim: ") and message in result.stderr, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no state, env or certificate file


def test_a_failed_seed_leaves_no_state_file(tmp_path, monkeypatch):
    from orgsim import seed

    def broken(org, name, data):
        org.put("User", {"Username": "half@example.com"})
        raise RuntimeError("seed broke half way")

    monkeypatch.setattr(seed, "seed", broken)
    state = tmp_path / "org.db"
    with pytest.raises(RuntimeError, match="half way"):
        server.start("new_customer", state_file=state)
    assert not state.exists()


def test_an_earlier_install_and_policy_change_by_another_admin_are_theirs_in_setup_audit_trail(
    make_sim,
):
    """``app.installed_by`` / ``app.policy_changed_by`` (issue 17 kind 9): the seeded SetupAuditTrail entries
    (facts §10.4) and the ConnectedApplication's creator are that admin, not the connected user."""
    sim = make_sim("app_set_up_by_another_admin")
    rows = sf_for(sim).query(
        "SELECT Display, CreatedBy.Username FROM SetupAuditTrail ORDER BY CreatedDate"
    )["records"]
    mine = [(r["Display"], r["CreatedBy"]["Username"]) for r in rows if "6sense" in r["Display"]]
    assert mine == [
        ("Installed connected app sfdc_6sense_oauth_app", "grace.it@example.com"),
        (
            "Changed Permitted Users for connected app sfdc_6sense_oauth_app to Admin approved users "
            "are pre-authorized",
            "grace.it@example.com",
        ),
    ]
    [app] = sf_for(sim).query(
        "SELECT CreatedBy.Username FROM ConnectedApplication WHERE Name = 'sfdc_6sense_oauth_app'"
    )["records"]
    assert app["CreatedBy"]["Username"] == "grace.it@example.com"
