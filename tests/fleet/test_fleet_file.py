"""The fleet file is validated before any org is touched: each bad input gives one clear error naming the
entry, exit status 2, and no cci process starts (a stand-in cci records any call)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fleet import config
from tests.fleet.helpers import ROOT, run_fleet

GOOD_ORG = (
    "  - name: acme\n"
    "    cci_org: acme\n"
    "    integration_username: int@acme.example.com\n"
    "    flow: sixsense_eca\n"
)
SECRET = "00D5i000000SIMU!SbFsSECRETSECRETSECRET"


def _org(**changes) -> str:
    fields = {
        "name": "acme",
        "cci_org": "acme",
        "integration_username": "int@acme.example.com",
        "flow": "sixsense_eca",
    }
    fields.update(changes)
    lines = []
    for i, (key, value) in enumerate((k, v) for k, v in fields.items() if v is not None):
        lines.append(("  - " if i == 0 else "    ") + f"{key}: {value}")
    return "\n".join(lines) + "\n"


# (fleet file text, environment additions, words the one error line must contain)
BAD = {
    "malformed YAML": ("orgs: [\n  - name: acme\n", {}, ["not valid YAML", "line"]),
    "not a mapping": ("- acme\n", {}, ["must be a mapping"]),
    "no orgs": ("concurrency: 2\n", {}, ["orgs must be a non-empty list"]),
    "concurrency 0": ("concurrency: 0\norgs:\n" + GOOD_ORG, {}, ["concurrency", "at least 1", "0"]),
    "concurrency negative": ("concurrency: -3\norgs:\n" + GOOD_ORG, {}, ["concurrency", "-3"]),
    "concurrency not a number": ("concurrency: many\norgs:\n" + GOOD_ORG, {}, ["concurrency"]),
    "retries negative": (
        "retries: {count: -1}\norgs:\n" + GOOD_ORG,
        {},
        ["retries.count", "at least 0"],
    ),
    "unknown top-level key": (
        "parallelism: 3\norgs:\n" + GOOD_ORG,
        {},
        ["parallelism", "top level"],
    ),
    "unknown retries key": (
        "retries: {count: 1, jitter: 2}\norgs:\n" + GOOD_ORG,
        {},
        ["retries", "jitter"],
    ),
    "missing environment variable": (
        "orgs:\n" + _org(cci_org=None, env="CUMULUSCI_ORG_fleet_test_absent"),
        {},
        ["orgs[0] (acme)", "CUMULUSCI_ORG_fleet_test_absent", "not set"],
    ),
    "environment variable not org JSON": (
        "orgs:\n" + _org(cci_org=None, env="CUMULUSCI_ORG_fleet_test_bad"),
        {"CUMULUSCI_ORG_fleet_test_bad": SECRET},
        ["orgs[0] (acme)", "CUMULUSCI_ORG_fleet_test_bad", "org JSON"],
    ),
    "env not a CUMULUSCI_ORG_ variable": (
        "orgs:\n" + _org(cci_org=None, env="HOME"),
        {},
        ["orgs[0] (acme)", "CUMULUSCI_ORG_"],
    ),
    "both cci_org and env": (
        "orgs:\n" + _org(env="CUMULUSCI_ORG_acme"),
        {"CUMULUSCI_ORG_acme": "{}"},
        ["orgs[0] (acme)", "exactly one of cci_org"],
    ),
    "neither cci_org nor env": (
        "orgs:\n" + _org(cci_org=None),
        {},
        ["orgs[0] (acme)", "exactly one"],
    ),
    "unknown flow": (
        "orgs:\n" + _org(flow="sixsense_everything"),
        {},
        ["orgs[0] (acme)", "unknown flow", "sixsense_everything", "sixsense_eca"],
    ),
    "duplicate org names": (
        "orgs:\n" + GOOD_ORG + _org(cci_org="other"),
        {},
        ["orgs[1] (acme)", "duplicate", "orgs[0]"],
    ),
    "two entries for one org": (
        "orgs:\n" + GOOD_ORG + _org(name="acme2"),
        {},
        ["orgs[1] (acme2)", "same org", "orgs[0]"],
    ),
    "bad org name": ("orgs:\n" + _org(name="'a b'"), {}, ["orgs[0]", "name must be"]),
    "bad integration username": (
        "orgs:\n" + _org(integration_username="int"),
        {},
        ["orgs[0] (acme)", "integration_username"],
    ),
    "unknown org key (a secret)": (
        "orgs:\n" + _org(access_token="abc"),
        {},
        ["orgs[0] (acme)", "access_token", "secrets never go in the fleet file"],
    ),
    "an SFDX auth URL": (
        "orgs:\n" + _org(sfdx_auth_url="force://x"),
        {},
        ["orgs[0] (acme)", "sfdx_auth_url", "sf org login sfdx-url"],
    ),
    "unknown option": (
        "orgs:\n" + GOOD_ORG + "    options: {colour: red}\n",
        {},
        ["orgs[0] (acme)", "colour"],
    ),
    "interactive option": (
        "orgs:\n" + GOOD_ORG + "    options: {interactive: true}\n",
        {},
        ["orgs[0] (acme)", "interactive", "never waits"],
    ),
    "plan option": (
        "orgs:\n" + GOOD_ORG + "    options: {plan: true}\n",
        {},
        ["orgs[0] (acme)", "unknown option 'plan'"],
    ),
    "production consent not a boolean": (
        "orgs:\n" + GOOD_ORG + "    options: {confirm_production: 'yes'}\n",
        {},
        ["orgs[0] (acme)", "confirm_production", "true or false"],
    ),
    "a step's option on a flow without that step": (
        "orgs:\n" + GOOD_ORG + "    options: {refresh_token_policy_checked: true}\n",
        {},
        [
            "orgs[0] (acme)",
            "refresh_token_policy_checked is for sixsense_verify",
            "sixsense_eca does not",
        ],
    ),
    "production consent fleet-wide": (
        "confirm_production: true\norgs:\n" + GOOD_ORG,
        {},
        ["confirm_production", "top level"],
    ),
}


@pytest.fixture
def stand_in_cci(tmp_path):
    """A cci that records that it was called: a bad fleet file must never get this far."""
    marker = tmp_path / "cci-was-called"
    script = tmp_path / "cci"
    script.write_text(f"#!/bin/sh\necho called >> {marker}\nexit 0\n")
    script.chmod(0o755)
    return script, marker


@pytest.mark.parametrize("case", list(BAD))
def test_bad_fleet_file_is_one_error_naming_the_entry_and_touches_nothing(
    case, fleet_python, stand_in_cci, prefect_env, tmp_path
):
    text, extra_env, words = BAD[case]
    script, marker = stand_in_cci
    path = tmp_path / "fleet.yml"
    path.write_text(text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CUMULUSCI_ORG_")}
    env.update(prefect_env, SIXSENSE_FLEET_CCI=str(script), **extra_env)
    out = tmp_path / "out"
    result = run_fleet(fleet_python, ["diagnose", str(path), "--out", str(out)], env, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert str(path) in lines[0]
    assert SECRET not in result.stdout + result.stderr
    assert not marker.exists()
    assert not out.exists()
    assert not list(Path(prefect_env["PREFECT_HOME"]).iterdir())  # Prefect never started


def test_a_good_fleet_file_gives_per_org_entries_and_bounded_retry_delays():
    text = (
        "concurrency: 3\nretries: {count: 4, backoff_seconds: 200}\norgs:\n"
        + GOOD_ORG
        + "    options: {confirm_production: true}\n"
        + _org(
            name="beta", cci_org=None, env="CUMULUSCI_ORG_Beta_UAT", flow="sixsense_new_customer"
        )
    )
    fleet = config.parse(text, "f.yml", ROOT, {"CUMULUSCI_ORG_Beta_UAT": json.dumps({"a": 1})})
    assert fleet.concurrency == 3
    assert fleet.retry_delays == [200, 400, 600, 600]
    first, second = fleet.orgs
    assert first.options == {"confirm_production": True}
    assert second.options == {}  # consent is per org: the first org's never reaches the second
    assert (second.cci_org, second.env) == ("beta_uat", "CUMULUSCI_ORG_Beta_UAT")
    assert "CUMULUSCI_ORG_Beta_UAT" not in json.dumps(first.to_dict())


def test_a_step_option_is_kept_for_a_flow_with_that_step():
    text = (
        "orgs:\n"
        + _org(flow="sixsense_existing_customer")
        + ("    options: {refresh_token_policy_checked: true}\n")
    )
    [org] = config.parse(text, "f.yml", ROOT, {}).orgs
    assert org.options == {"refresh_token_policy_checked": True}


def test_the_example_fleet_file_is_valid():
    fleet = config.load(
        ROOT / "fleets" / "example.yml", ROOT, {"CUMULUSCI_ORG_globex_prod": json.dumps({})}
    )
    assert [o.name for o in fleet.orgs] == ["acme-prod", "acme-uat", "globex-prod"]
