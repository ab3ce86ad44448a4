"""Fleet figures (``make bench``): fleet diagnose over simulated orgs at 100 ms injected latency.

One simulator process per org (``fleet.sim``, ``--latency-ms 100``: every API request waits 100 ms, as
``benchmarks/run.py`` injects it), the bundled scenarios in turn (``client_app_not_allowlisted`` and ``client_app_blocked``
left out: they cannot connect, so they cost next to nothing), ``FLEET_BENCH_ORGS`` orgs (default 50). For concurrency 1, 4 and
16 it runs ``.venv-fleet/bin/python -m fleet diagnose`` once and prints:

- orgs per minute over the orgs' phase (the fleet JSON's ``elapsed_seconds``: first org started to last
  ended; Prefect's local-mode start-up, a fixed cost per fleet run, is given apart), and the speed-up over
  concurrency 1 (sequential);
- where the CPU goes, per org: cci's start-up (a ``cci task info`` run: interpreter, CumulusCI, project
  config), the rest of the org's cci process (our diagnose code, its HTTP client and CumulusCI's org
  handling), the simulator (its process's CPU during the run), and the orchestrator (Prefect and the fleet
  code, per run: the fleet process and its temporary server, less the cci processes);
- the CPU-bound ceiling on this machine: cores x 60 / (CPU seconds of one org: its cci process and its
  simulator), in orgs per minute, and the target: concurrency 16 at least 70% of it.

Writes ``benchmarks/fleet-results.json``. Runs with the project's ``.venv`` (it imports only ``fleet.sim``).
"""

from __future__ import annotations

import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fleet import sim  # noqa: E402

LATENCY_MS = 100
CONCURRENCY = (1, 4, 16)
TARGET = 0.70
TICKS = os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def _wrapper(work: Path) -> Path:
    """A cci that appends its process tree's CPU to a log (bash ``times``, run in the script's own shell:
    in a pipe it would run in a subshell with no children)."""
    script = work / "cci-timed"
    script.write_text(
        "#!/bin/bash\n"
        f'"{ROOT}/.venv/bin/cci" "$@"\nrc=$?\n'
        'times >> "$FLEET_BENCH_CPU_LOG"\nexit $rc\n'
    )
    script.chmod(0o755)
    return script


def _seconds(text: str) -> float:
    total = 0.0
    for part in text.split():
        minutes, _, seconds = part.rstrip("s").partition("m")
        total += int(minutes) * 60 + float(seconds)
    return total


def startup_cpu(env: dict, reps: int = 3) -> float:
    """Median CPU seconds of ``cci task info sixsense_diagnose`` (start-up, project config; no org)."""
    values = []
    for _ in range(reps):
        before = _children_cpu()
        subprocess.run(
            [str(ROOT / ".venv" / "bin" / "cci"), "task", "info", "sixsense_diagnose"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            check=True,
        )
        values.append(_children_cpu() - before)
    return statistics.median(values)


def run_once(sims: sim.Simulators, env: dict, work: Path, concurrency: int, n: int) -> dict:
    fleet = work / f"fleet-c{concurrency}.yml"
    fleet.write_text(sims.fleet_yaml(concurrency=concurrency), encoding="utf-8")
    log = work / f"cpu-c{concurrency}.log"
    out = work / f"out-c{concurrency}"
    run_env = {**env, "FLEET_BENCH_CPU_LOG": str(log), "SIXSENSE_FLEET_CCI": str(_wrapper(work))}
    sim_before = {name: _proc_cpu(p.pid) for name, p in sims.procs.items()}
    cpu_before = _children_cpu()
    started = time.monotonic()
    proc = subprocess.run(
        [
            str(ROOT / ".venv-fleet" / "bin" / "python"),
            "-m",
            "fleet",
            "diagnose",
            str(fleet),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=run_env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.monotonic() - started
    total_cpu = _children_cpu() - cpu_before
    sim_cpu = sum(_proc_cpu(p.pid) - sim_before[name] for name, p in sims.procs.items())
    [report_path] = out.glob("*.json")
    data = json.loads(report_path.read_text())
    # bash `times` prints two lines: the shell's own, then its children's (the cci process tree).
    cci_cpu = sum(_seconds(line) for line in log.read_text().splitlines()[1::2])
    elapsed = data["elapsed_seconds"]
    return {
        "concurrency": concurrency,
        "orgs": n,
        "exit_code": proc.returncode,
        "summary": data["summary"],
        "elapsed_s": elapsed,
        "wall_s": round(wall, 1),
        "prefect_startup_s": round(wall - elapsed, 1),
        "orgs_per_min": round(n * 60 / elapsed, 1),
        "cpu_cci_s": round(cci_cpu, 1),
        "cpu_simulator_s": round(sim_cpu, 1),
        "cpu_orchestrator_s": round(total_cpu - cci_cpu, 1),
        # The orgs' own work (cci and simulators) over the orgs' phase: how many cores the run got.
        "cores_used": round((cci_cpu + sim_cpu) / elapsed, 2),
        "load_average_after": round(os.getloadavg()[0], 1),
    }


def main() -> None:
    n = int(os.environ.get("FLEET_BENCH_ORGS", "50"))
    cores = os.cpu_count() or 1
    unconnectable = {"client_app_not_allowlisted", "client_app_blocked"}
    names = [s for s in sim.bundled_scenarios() if s not in unconnectable]
    orgs = {f"org{i:02d}": scenario for i, scenario in zip(range(n), itertools.cycle(names))}
    print(
        f"\nFleet: fleet diagnose over {n} simulated orgs (one simulator each, {LATENCY_MS} ms injected "
        f"latency), Prefect local mode; {cores} cores, load average {os.getloadavg()[0]:.1f} at start"
    )
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        work = Path(tmp)
        with sim.Simulators(orgs, work / "sims", latency_ms=LATENCY_MS, start_timeout=600) as sims:
            env = sims.environ()
            env["PREFECT_HOME"] = str(work / "prefect")
            env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
            env.pop("PREFECT_API_URL", None)
            startup = startup_cpu(env)
            runs = [run_once(sims, env, work, c, n) for c in CONCURRENCY]
    base = runs[0]["orgs_per_min"]
    last = runs[-1]
    per_org_cci = last["cpu_cci_s"] / n
    per_org_sim = last["cpu_simulator_s"] / n
    per_org = per_org_cci + per_org_sim
    ceiling = cores * 60 / per_org
    for r in runs:
        r["speedup"] = round(r["orgs_per_min"] / base, 2)
        print(
            f"  concurrency {r['concurrency']:2d}: {r['orgs_per_min']:6.1f} orgs/min ({r['elapsed_s']:.1f} s "
            f"for {n} orgs, {r['speedup']:.2f}x sequential; Prefect start-up {r['prefect_startup_s']} s); "
            f"the orgs' work used {r['cores_used']:.2f} of {cores} cores (load average "
            f"{r['load_average_after']} after); states {r['summary']}"
        )
    share = last["orgs_per_min"] / ceiling
    print(
        f"  CPU per org: {per_org:.2f} s = cci {per_org_cci:.2f} s (start-up {startup:.2f} s, the rest "
        f"{per_org_cci - startup:.2f} s: our diagnose code, its HTTP client, CumulusCI's org handling) + "
        f"simulator {per_org_sim:.2f} s; orchestrator (Prefect, fleet) {last['cpu_orchestrator_s']:.1f} s "
        f"per run ({last['cpu_orchestrator_s'] / n:.2f} s per org at {n} orgs)"
    )
    print(
        f"  CPU-bound ceiling on {cores} cores: {ceiling:.1f} orgs/min; concurrency 16 reaches "
        f"{last['orgs_per_min']:.1f} = {share:.0%} of it (target >= {TARGET:.0%}): "
        f"{'PASS' if share >= TARGET else 'MISS'}"
        + (
            f" (the orgs' work got {last['cores_used']:.2f} of {cores} cores: other processes held the rest)"
            if last["cores_used"] < cores * 0.9
            else ""
        )
    )
    results = {
        "orgs": n,
        "latency_ms": LATENCY_MS,
        "cores": cores,
        "runs": runs,
        "cpu_per_org_s": {
            "total": round(per_org, 2),
            "cci": round(per_org_cci, 2),
            "cci_startup": round(startup, 2),
            "simulator": round(per_org_sim, 2),
            "orchestrator_per_run": last["cpu_orchestrator_s"],
        },
        "ceiling_orgs_per_min": round(ceiling, 1),
        "c16_share_of_ceiling": round(share, 2),
        "target": TARGET,
    }
    (ROOT / "benchmarks" / "fleet-results.json").write_text(json.dumps(results, indent=2) + "\n")
    print("  Figures written to benchmarks/fleet-results.json")


if __name__ == "__main__":
    main()
