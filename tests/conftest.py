"""Shared fixtures: a simulated org per test, the real ``cci`` as a subprocess, and flows run in-process.

Layers (docs/architecture.md): tests/orgsim/ drive the simulator with real clients; tests/tasks/ run the
task classes; tests/e2e/ run whole flows, in-process (fast, polling sleeps patched) and through the real
``cci`` CLI (slow, marked ``cli``).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

#: The exhaustive fault sweep's point selection, results file and summary (``make sweep``).
pytest_plugins = ["tests.e2e.sweep"]

ROOT = Path(__file__).resolve().parent.parent
SCENARIO_DIR = ROOT / "datasets" / "scenarios"
INTEGRATION_USER = "sixsense.integration@example.com"
SETUP_USER = "admin@example.com"
CUMULUSCI_KEY = "0123456789abcdef"


def pytest_addoption(parser):
    parser.addoption(
        "--run-sweep",
        action="store_true",
        default=False,
        help="run the exhaustive fault-injection sweep (every fault kind at every request)",
    )


def pytest_collection_modifyitems(config, items):
    if config.getoption("--run-sweep"):
        return
    skip = pytest.mark.skip(reason="exhaustive sweep: run with `make sweep`")
    for item in items:
        if "sweep" in item.keywords:
            item.add_marker(skip)


#: Bundled scenarios where cci is connected as a user WITHOUT the admin rights the procedure needs: every
#: flow must stop in sixsense_validate_inputs before any write (tests/e2e/test_connected_user_rights.py), so
#: they are not in the matrix of scenarios the flows finish on.
NON_ADMIN_SCENARIOS = (
    "connected_user_api_only",
    "connected_user_view_setup_only",
    "connected_user_cannot_see_tokens",
)
#: Bundled scenarios whose integration user cannot authorize (frozen, no API licence, the connected user):
#: every flow must stop in sixsense_validate_inputs before any write (issue 17 kind 6,
#: tests/e2e/test_users_who_cannot_authorize.py), so they are not in the matrix either.
USER_REFUSED_SCENARIOS = (
    "integration_user_frozen",
    "integration_user_is_connected_user",
    "integration_user_without_api_licence",
)
#: Bundled scenarios where cci cannot use the org at all, so every flow stops before its first step with one
#: message (tests/e2e/test_client_app.py); the flow and plan tables cover every other bundled scenario.
UNCONNECTABLE_SCENARIOS = frozenset({"client_app_not_allowlisted", "client_app_blocked"})


def bundled_scenarios() -> list[str]:
    """Names of the scenario files shipped in datasets/scenarios/ where cci is connected as an admin who
    holds what the procedure needs and the users can authorize (all but :data:`NON_ADMIN_SCENARIOS` and
    :data:`USER_REFUSED_SCENARIOS`), sorted."""
    refused = (*NON_ADMIN_SCENARIOS, *USER_REFUSED_SCENARIOS)
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.yml") if p.stem not in refused)


def connectable_scenarios() -> list[str]:
    """The bundled scenarios in which cci can use the org (all but ``UNCONNECTABLE_SCENARIOS``)."""
    unknown = UNCONNECTABLE_SCENARIOS - set(bundled_scenarios())
    assert not unknown, f"UNCONNECTABLE_SCENARIOS names no bundled scenario: {sorted(unknown)}"
    return [s for s in bundled_scenarios() if s not in UNCONNECTABLE_SCENARIOS]


@pytest.fixture
def start_sim():
    """Factory: ``start_sim("new_customer", autopilot=True)`` -> a running ``orgsim.server.SimServer``.

    Every server started through it is stopped at teardown.
    """
    from orgsim import server

    started = []

    def _start(scenario: str, **kwargs):
        sim = server.start(scenario, **kwargs)
        started.append(sim)
        return sim

    yield _start
    for sim in started:
        sim.stop()


def cci_environment(sim, home: Path) -> dict[str, str]:
    """The environment a shell needs to run ``cci`` against ``sim`` with an isolated keychain."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CUMULUSCI_", "SFDX_"))}
    env.pop("CI", None)
    env.update(sim.env())
    # The simulator's certificate alone: requests re-reads the CA file on every connection, and the full
    # certifi bundle makes each request slow. cci's PyPI check (the only other HTTPS peer) is off below.
    env["REQUESTS_CA_BUNDLE"] = sim.cert_file
    home.mkdir(parents=True, exist_ok=True)
    (home / ".cumulusci").mkdir(exist_ok=True)
    # cci checks PyPI for a newer version hourly; a far-future stamp keeps it offline.
    (home / ".cumulusci" / "cumulus_timestamp").write_text("99999999999")
    env.update(
        HOME=str(home),
        CUMULUSCI_KEY=CUMULUSCI_KEY,
        SF_DISABLE_TELEMETRY="true",
        SF_DISABLE_AUTOUPDATE="true",
        PATH=os.pathsep.join(
            [str(ROOT / "tools/sf-cli/node_modules/.bin"), str(ROOT / ".venv/bin"), env["PATH"]]
        ),
    )
    return env


def run_cci(
    args: list[str], env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess:
    """Run the real ``cci`` from the project's venv in the repo root; stdout and stderr combined.
    A ``flow run`` that names no ``audit_dir`` writes its audit report next to ``env``'s HOME (the
    test's tmp dir), not into the checkout's .sixsense/."""
    cci = ROOT / ".venv" / "bin" / "cci"
    if args[:2] == ["flow", "run"] and not any("audit_dir" in str(a) for a in args):
        audit = Path(env.get("HOME") or tempfile.gettempdir()).parent / "audit"
        args = [*args, "-o", "sixsense_validate_inputs__audit_dir", str(audit)]
    return subprocess.run(
        [str(cci), *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def cci(tmp_path):
    """Factory: ``cci(sim, "flow", "run", ...)`` runs the real CLI against ``sim``."""

    def _cci(sim, *args, timeout: float = 300):
        return run_cci(list(args), cci_environment(sim, tmp_path / "home"), timeout=timeout)

    return _cci


def flow_options(integration_user: str = INTEGRATION_USER, **common) -> list[str]:
    """``-o sixsense_validate_inputs__<name> <value>`` arguments for ``cci flow run``."""
    values = {"integration_username": integration_user, **common}
    out: list[str] = []
    for name, value in values.items():
        out += ["-o", f"sixsense_validate_inputs__{name}", str(value)]
    return out


@pytest.fixture
def run_flow_inprocess(tmp_path, monkeypatch):
    """Factory: run a flow in this process against ``sim`` with ``time.sleep`` patched out.

    Returns ``(coordinator, exception_or_None, output)``; the coordinator's ``results`` hold each step's
    return values. Options are the common options of ``sixsense_validate_inputs``.

    The deploy step's ``sf project convert source`` (about 3 s, local, no request to the org) runs for real
    once per worker and later deploys of the same files get a copy of its output
    (``tests.e2e.faults.reused_source_conversion``). The real conversion is specified by
    tests/tasks/test_deploy_access.py and every ``cci`` subprocess test.
    """
    from tests.e2e.faults import reuse_source_conversion

    reuse_source_conversion(monkeypatch)
    return flow_runner(tmp_path, monkeypatch)


def flow_runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``run_flow_inprocess`` outside a test (the sweep's collection-time baseline): the keychain goes in
    ``tmp_path / "home"``; the environment and working directory are set through ``monkeypatch``."""
    import logging
    from unittest import mock

    def _run(sim, flow: str, *, task_options: dict | None = None, **common):
        env = cci_environment(sim, tmp_path / "home")
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.chdir(ROOT)
        from cumulusci.cli.runtime import CliRuntime

        runtime = CliRuntime(load_keychain=True)
        _, org_config = runtime.get_org("sim")
        # Each run's audit report goes to the test's tmp dir unless the test names one (also for flows
        # whose first step is not sixsense_validate_inputs: the default audit_dir).
        common.setdefault("audit_dir", str(tmp_path / "audit"))
        audit_reports_into(monkeypatch, tmp_path / "audit")
        options = {"sixsense_validate_inputs": {"integration_username": INTEGRATION_USER, **common}}
        for task, opts in (task_options or {}).items():
            options.setdefault(task, {}).update(opts)
        coordinator = runtime.get_flow(flow, options=options)
        if "sixsense_verify" in {s.task_name for s in coordinator.steps}:
            # This helper's defaults, only where the flow has the step (a misplaced option is refused); the
            # steps take their options when the flow is built, so it is built again with them.
            verify_options = options.setdefault("sixsense_verify", {})
            verify_options.setdefault("report_path", str(tmp_path / "verification.json"))
            # The operator's word a real run gives after looking at the app's policy page, where the org
            # cannot show the refresh-token policy by API (the scenarios' apps keep refresh tokens unless the
            # policy is readable). Without it: tests/e2e/test_refresh_policy_flow.py.
            verify_options.setdefault("refresh_token_policy_checked", "True")
            coordinator = runtime.get_flow(flow, options=options)
        records: list[str] = []

        class _Capture(logging.Handler):
            def emit(self, record):
                records.append(record.getMessage())

        handler = _Capture(level=logging.INFO)
        root = logging.getLogger("cumulusci")
        root.addHandler(handler)
        previous = root.level
        root.setLevel(logging.INFO)
        error = None
        try:
            with mock.patch("time.sleep"):
                coordinator.run(org_config)
        except Exception as exc:  # the flow's failure is part of what a test asserts
            error = exc
        finally:
            root.removeHandler(handler)
            root.setLevel(previous)
        return coordinator, error, "\n".join(records)

    return _run


def audit_reports_into(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Audit runs that name no ``audit_dir`` write into ``folder`` (``tasks.audit.DEFAULT_AUDIT_DIR``),
    not into the checkout's .sixsense/. ``tasks.inputs`` is imported first so that its ``audit_dir``
    option keeps the documented default whatever test runs first in the worker. Needs cci's runtime
    (it puts the project's tasks/ on the import path)."""
    import importlib

    importlib.import_module("tasks.inputs")
    monkeypatch.setattr(importlib.import_module("tasks.audit"), "DEFAULT_AUDIT_DIR", str(folder))


def production_consent(sim) -> dict[str, str]:
    """``{"confirm_production": "True"}`` where ``sim`` presents a production org, else ``{}``: the explicit
    consent a run without a terminal needs before it writes to production (common option of the flows)."""
    return {"confirm_production": "True"} if sim.org_kind == "production" else {}


def writes_since(sim, seq: int) -> list[dict]:
    """Write requests (DML, composite, Metadata deploy) the simulator logged after ``seq``; a write inside a
    REST Composite is there twice: the composite (a ``write``) and the subrequest (its ``parent`` set)."""
    return [r for r in sim.requests(since=seq) if r["kind"] == "write"]


def org_rows(state: dict) -> dict:
    """``state["objects"]`` without what signing in changes by itself: the tool's own clients' OauthToken
    ``LastUsedDate``/``UseCount`` (cci refreshes its token at every task start, and Salesforce counts each
    use on the grant: facts §10.1). Compare two of these to say "nothing was written"."""
    from orgsim.identity import TOOL_CLIENTS

    tools = set(TOOL_CLIENTS)
    objects = dict(state["objects"])
    objects["OauthToken"] = [
        {k: v for k, v in row.items() if k not in ("LastUsedDate", "UseCount")}
        if row.get("AppName") in tools
        else row
        for row in objects.get("OauthToken", [])
    ]
    return objects


def last_seq(sim) -> int:
    """The ``seq`` of the last logged request (a composite's subrequests come after it), 0 for none."""
    log = sim.requests()
    return log[-1]["seq"] if log else 0


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())
