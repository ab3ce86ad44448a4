"""``.venv-fleet/bin/python -m fleet ...``: the fleet's command line (README: Fleet).

    python -m fleet validate FLEET.yml             check the file only (exit 0, or 2 with the error)
    python -m fleet diagnose FLEET.yml [--out DIR] read-only report of every org
    python -m fleet setup FLEET.yml [--out DIR]    run every org's flow; run again to continue waiting orgs
    python -m fleet demo [--scenario S ...] [--latency-ms N] [--out DIR]
                                                   diagnose bundled scenarios as simulated orgs, all at once
    python -m fleet deploy diagnose|setup FLEET.yml --pool POOL [--name N] [--cron CRON] [--out DIR]
                                                   a deployment on the Prefect server at PREFECT_API_URL

Exit status: 0 every org done or waiting; 1 an org failed or could not be reached (the report says which);
2 bad input (the fleet file, before any org is touched). Without PREFECT_API_URL the flows run in Prefect's
local mode; PREFECT_HOME defaults to ``.sixsense/fleet/prefect`` so nothing is written under ``~``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from . import config, sim
from .report import summary_line

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _prefect_env() -> None:
    os.environ.setdefault("PREFECT_HOME", str(PROJECT_ROOT / ".sixsense" / "fleet" / "prefect"))
    # Local mode: a temporary in-process server that Prefect starts and stops itself, quietly.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_UI_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)


def _print_result(data: dict) -> int:
    width = max(len(r["name"]) for r in data["orgs"])
    for row in data["orgs"]:
        extra = " (refreshed)" if row.get("refreshed") else ""
        text = (
            row["state_text"] if len(row["state_text"]) <= 160 else row["state_text"][:157] + "..."
        )
        print(f"  {row['name']:<{width}}  {text}{extra}")
    print(f"fleet {data['mode']} {data['run_id']}: {summary_line(data['summary'])}")
    for kind, path in data["paths"].items():
        print(f"  {kind}: {path}")
    bad = data["summary"].get("failed", 0) + data["summary"].get("could not connect", 0)
    return 1 if bad else 0


def _run(mode: str, fleet_path: str, out: str | None) -> int:
    config.load(
        fleet_path, PROJECT_ROOT
    )  # before Prefect starts: a bad file exits 2, nothing touched
    _prefect_env()
    from . import engine

    data = engine.FLOWS[mode](fleet_path, out)
    return _print_result(data)


def _demo(args) -> int:
    names = args.scenario or sim.bundled_scenarios()
    unknown = [n for n in names if n not in sim.bundled_scenarios()]
    if unknown:
        raise config.FleetFileError(f"unknown scenario(s): {', '.join(unknown)}")
    out = Path(args.out) if args.out else PROJECT_ROOT / ".sixsense" / "fleet" / "demo"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fleet-demo-") as tmp:
        print(f"fleet demo: starting {len(names)} simulated orgs (one per scenario)")
        with sim.Simulators({n: n for n in names}, Path(tmp), latency_ms=args.latency_ms) as sims:
            fleet_path = out / "demo-fleet.yml"
            fleet_path.write_text(sims.fleet_yaml(concurrency=args.concurrency), encoding="utf-8")
            os.environ.clear()
            os.environ.update(sims.environ())
            _run("diagnose", str(fleet_path), str(out))
            return 0  # the demo shows every state, "could not connect" included


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fleet", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("validate", "diagnose", "setup"):
        p = sub.add_parser(name)
        p.add_argument("fleet_file")
        p.add_argument("--out", help="report folder (default .sixsense/fleet)")
    p = sub.add_parser("demo")
    p.add_argument("--scenario", action="append", help="a bundled scenario (repeat); default: all")
    p.add_argument("--latency-ms", type=int, default=0)
    p.add_argument("--concurrency", type=int, default=None, help="default: every org at once")
    p.add_argument("--out", help="report folder (default .sixsense/fleet/demo)")
    p = sub.add_parser("deploy")
    p.add_argument("mode", choices=["diagnose", "setup"])
    p.add_argument("fleet_file")
    p.add_argument("--pool", required=True, help="a process work pool (prefect work-pool create)")
    p.add_argument("--name", default="nightly")
    p.add_argument("--cron", default=None, help='e.g. "0 3 * * *" (03:00 every night)')
    p.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    try:
        if args.command == "validate":
            fleet = config.load(args.fleet_file, PROJECT_ROOT)
            print(
                f"{args.fleet_file}: {len(fleet.orgs)} orgs, concurrency {fleet.concurrency}: valid"
            )
            return 0
        if args.command in ("diagnose", "setup"):
            return _run(args.command, args.fleet_file, args.out)
        if args.command == "demo":
            return _demo(args)
        config.load(args.fleet_file, PROJECT_ROOT)
        if not os.environ.get("PREFECT_API_URL"):
            print("fleet deploy: set PREFECT_API_URL to the Prefect server's API", file=sys.stderr)
            return 2
        from . import engine

        deployment = engine.deploy(
            args.mode, args.fleet_file, args.name, args.pool, args.cron, args.out
        )
        print(f"deployment fleet-{args.mode}/{args.name}: {deployment}")
        return 0
    except config.FleetFileError as e:
        print(f"fleet: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
