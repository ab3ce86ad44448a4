"""The fleet's Prefect flows: one flow run per fleet operation, one task run per org.

``fleet_diagnose(fleet_path, out_dir=None)`` and ``fleet_setup(fleet_path, out_dir=None)`` validate the
fleet file (``config``; a bad file fails the flow run before any org is touched), then run every org's
``cci`` process (``runner``) on a thread pool of the file's ``concurrency`` (each task only waits on its
process), retry an org's transient faults (the file's ``retries``: Prefect task retries with bounded,
doubling delays), and write the fleet reports (``report``). They return the fleet JSON's content.

Prefect stores each task run's parameters: they are names and paths only (the org's entry: name, cci org,
env variable name, integration username, flow, options), never an org JSON or a token; results are not
persisted. Log lines are scrubbed.

Called directly they run in Prefect's local mode (no server); deployed (``python -m fleet deploy``), a
worker runs them from this folder's ``fleet/engine.py``.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import task_run
from prefect.task_runners import ThreadPoolTaskRunner

from . import config, report, runner
from .scrub import scrub

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = PROJECT_ROOT / ".sixsense" / "fleet"


class TransientOrgFault(RuntimeError):
    """Raised inside an org's task so Prefect retries it; the message is the scrubbed reason."""


@task(name="org", task_run_name="{mode} {org[name]}", cache_policy=NO_CACHE, persist_result=False)
def org_task(
    org: dict, mode: str, run_dir: str, out_dir: str, timeout: float, retries: int
) -> dict:
    """One org: run its cci process, return its row; raise :class:`TransientOrgFault` to be retried
    while retries remain (the last attempt returns the failed row instead, so the flow goes on)."""
    logger = get_run_logger()
    row = runner.run_org(org, mode, Path(run_dir), Path(out_dir), PROJECT_ROOT, timeout)
    attempt = task_run.run_count or 1
    row["attempts"] = attempt
    if row.pop("transient", False) and attempt <= retries:
        logger.warning(
            "%s: transient fault, will retry: %s", org["name"], scrub(row["reason"] or "")
        )
        raise TransientOrgFault(scrub(row["reason"] or "transient fault"))
    logger.info("%s: %s", org["name"], scrub(row["state_text"] or ""))
    if row["state"] in ("failed", "could not connect"):
        for line in row.get("output_tail") or []:
            logger.info("%s | %s", org["name"], line)
    return row


def _run(mode: str, fleet_path: str, out_dir: str | None) -> dict:
    logger = get_run_logger()
    fleet = config.load(
        fleet_path, PROJECT_ROOT
    )  # FleetFileError fails the flow run: nothing touched
    out = Path(out_dir) if out_dir else DEFAULT_OUT
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_id = f"{stamp}-{mode}-{secrets.token_hex(2)}"
    run_dir = out / run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    started = report.now()
    logger.info(
        "fleet %s %s: %d orgs, concurrency %d, retries %d",
        mode,
        run_id,
        len(fleet.orgs),
        fleet.concurrency,
        fleet.retries,
    )
    task_fn = org_task.with_options(
        retries=fleet.retries, retry_delay_seconds=fleet.retry_delays or 0
    )
    rows = []
    begun = time.monotonic()
    with ThreadPoolTaskRunner(max_workers=fleet.concurrency) as pool:
        futures = [
            (
                org,
                pool.submit(
                    task_fn,
                    parameters={
                        "org": org.to_dict(),
                        "mode": mode,
                        "run_dir": str(run_dir),
                        "out_dir": str(out),
                        "timeout": fleet.timeout_seconds,
                        "retries": fleet.retries,
                    },
                ),
            )
            for org in fleet.orgs
        ]
        for org, future in futures:
            try:
                row = future.result()
            except Exception as e:  # noqa: BLE001 - an org's crash is its row, never the fleet's end
                base = {
                    "name": org.name,
                    "flow": org.flow,
                    "cci_org": org.cci_org,
                    "seconds": None,
                    "exit_code": None,
                }
                row = report.row_failed(base, scrub(f"{type(e).__name__}: {e}"))
                row["attempts"] = fleet.retries + 1
            row.pop("output_tail", None)
            rows.append(row)
    previous = report.previous_run(out, run_id)
    report.mark_refreshed(rows, previous)
    data = {
        "run_id": run_id,
        "mode": mode,
        "fleet_file": str(fleet_path),
        "concurrency": fleet.concurrency,
        "started_at": started,
        "finished_at": report.now(),
        "elapsed_seconds": round(
            time.monotonic() - begun, 2
        ),  # the orgs' phase: first start to last end
        "summary": report.summary(rows),
        "orgs": rows,
    }
    report.write(out, data)  # adds data["paths"]
    logger.info("fleet %s %s: %s", mode, run_id, report.summary_line(data["summary"]))
    return data


@flow(name="fleet-diagnose", log_prints=False, persist_result=False)
def fleet_diagnose(fleet_path: str, out_dir: str | None = None) -> dict:
    """Diagnose every org of the fleet file (read-only); returns the fleet report's content."""
    return _run("diagnose", fleet_path, out_dir)


@flow(name="fleet-setup", log_prints=False, persist_result=False)
def fleet_setup(fleet_path: str, out_dir: str | None = None) -> dict:
    """Run every org's flow non-interactively; waiting orgs continue on the next run."""
    return _run("setup", fleet_path, out_dir)


FLOWS = {"diagnose": fleet_diagnose, "setup": fleet_setup}


def deploy(mode: str, fleet_path: str, name: str, pool: str, cron: str | None, out_dir: str | None):
    """Register a deployment of ``fleet-<mode>`` on a Prefect server (``PREFECT_API_URL``), run by the
    process work pool ``pool`` from this folder; ``cron`` schedules it. Returns the deployment id."""
    source = flow.from_source(source=str(PROJECT_ROOT), entrypoint=f"fleet/engine.py:fleet_{mode}")
    return source.deploy(
        name=name,
        work_pool_name=pool,
        parameters={"fleet_path": str(Path(fleet_path).resolve()), "out_dir": out_dir},
        cron=cron,
        build=False,
        push=False,
        print_next_steps=False,
    )
