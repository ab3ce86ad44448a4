"""The exhaustive fault sweep (``make sweep``): which points run, what each point found, and the summary.

A point is (flow, fault kind, request index). ``test_faults.test_fault_sweep_point`` is parametrized per point
at collection time from a fault-free run of each flow, made in every pytest process that collects (each
pytest-xdist worker collects on its own; that run is also the worker's baseline), so the number of points
follows the flows' request count and xdist spreads the points over its workers. Each point's outcome travels
to the controlling process in its test report (``user_properties``), so nothing is merged from files: at the
end of the session the controller writes the results file and prints, per flow,
``<flow>: N/M injection points converged (<kind>: n/m, ...)``.

Subset (environment variables, comma-separated; unset means everything):

- ``SWEEP_FLOWS=new_customer``: flows, full names or without the ``sixsense_`` prefix;
- ``SWEEP_KINDS=503,reset``: fault kinds (``orgsim.observe.FAULT_KINDS``);
- ``SWEEP_POINTS=1-5,40,120-``: request indexes, 1-based, ranges inclusive, ``N-`` to the last request;
  indexes past a run's last request are not applicable and are left out.

The full sweep writes ``benchmarks/sweep-results.json``; a subset writes ``benchmarks/sweep-results-subset.json``
so a trial never replaces the full sweep's figures; ``SWEEP_RESULTS`` names another file.
``python -m tests.e2e.sweep`` prints the summary lines of the results file the current selection writes.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

import pytest

from orgsim.observe import FAULT_KINDS
from tests.e2e.faults import FLOW_SCENARIOS

ROOT = Path(__file__).resolve().parents[2]
FLOWS = tuple(sorted(FLOW_SCENARIOS))
#: Every fault kind the simulator supports.
KINDS = FAULT_KINDS
TEST_NAME = "test_fault_sweep_point"
#: user_properties keys: the point (flow, kind, index, requests of the fault-free run), then its outcome.
POINT = "sweep_point"
PROBLEM = "sweep_problem"
FULL_RESULTS = ROOT / "benchmarks" / "sweep-results.json"
SUBSET_RESULTS = ROOT / "benchmarks" / "sweep-results-subset.json"
_RANGE = re.compile(r"^(\d+)(?:-(\d*))?$")


@dataclasses.dataclass(frozen=True)
class Selection:
    flows: tuple[str, ...]
    kinds: tuple[str, ...]
    points: str | None = None  # SWEEP_POINTS as given; None: every request
    ranges: tuple[tuple[int, int | None], ...] = ()  # (first, last or None for "to the end")

    @property
    def subset(self) -> bool:
        return self.flows != FLOWS or self.kinds != KINDS or self.points is not None

    def indexes(self, total: int) -> list[int]:
        """The selected request indexes (1-based) of a run of ``total`` requests."""
        if self.points is None:
            return list(range(1, total + 1))
        chosen: set[int] = set()
        for first, last in self.ranges:
            chosen.update(range(first, min(total if last is None else last, total) + 1))
        return sorted(chosen)

    def describe(self) -> dict:
        return {
            "flows": list(self.flows),
            "kinds": list(self.kinds),
            "points": self.points or "all",
        }


def _listed(variable: str) -> list[str] | None:
    items = [v.strip() for v in os.environ.get(variable, "").split(",") if v.strip()]
    return items or None


def _ranges(spec: str) -> tuple[tuple[int, int | None], ...]:
    ranges = []
    for part in spec.split(","):
        match = _RANGE.match(part.strip())
        if not match or int(match[1]) < 1:
            raise pytest.UsageError(
                f"SWEEP_POINTS: '{part}' is not a request index (1-based), a range N-M or N-"
            )
        first = int(match[1])
        last = first if match[2] is None else (int(match[2]) if match[2] else None)
        if last is not None and last < first:
            raise pytest.UsageError(f"SWEEP_POINTS: '{part}' ends before it starts")
        ranges.append((first, last))
    return tuple(ranges)


def selection() -> Selection:
    """The points ``SWEEP_FLOWS``, ``SWEEP_KINDS`` and ``SWEEP_POINTS`` select. Raises ``pytest.UsageError``
    naming a bad value."""
    flows = FLOWS
    if (names := _listed("SWEEP_FLOWS")) is not None:
        full = [name if name.startswith("sixsense_") else f"sixsense_{name}" for name in names]
        unknown = [name for name, flow in zip(names, full, strict=True) if flow not in FLOWS]
        if unknown:
            raise pytest.UsageError(
                f"SWEEP_FLOWS: {', '.join(unknown)} not among {', '.join(FLOWS)} (sixsense_ optional)"
            )
        flows = tuple(f for f in FLOWS if f in full)
    kinds = KINDS
    if (names := _listed("SWEEP_KINDS")) is not None:
        unknown = [k for k in names if k not in KINDS]
        if unknown:
            raise pytest.UsageError(
                f"SWEEP_KINDS: {', '.join(unknown)} not among the simulator's fault kinds {', '.join(KINDS)}"
            )
        kinds = tuple(k for k in KINDS if k in names)
    points = os.environ.get("SWEEP_POINTS", "").strip() or None
    return Selection(flows, kinds, points, _ranges(points) if points else ())


def results_path(chosen: Selection | None = None) -> Path:
    if os.environ.get("SWEEP_RESULTS"):
        return Path(os.environ["SWEEP_RESULTS"]).resolve()
    return SUBSET_RESULTS if (chosen or selection()).subset else FULL_RESULTS


def point_id(flow: str, kind: str, index: int | str) -> str:
    return f"{flow}-{kind}-{index}"


def _point_of_nodeid(nodeid: str) -> dict | None:
    match = re.search(rf"{TEST_NAME}\[(\w+)-(\w+)-(\d+)\]$", nodeid)
    if not match:
        return None
    return {"flow": match[1], "kind": match[2], "index": int(match[3]), "requests": None}


def _kind_order(kind: str) -> int:
    return KINDS.index(kind) if kind in KINDS else len(KINDS)


def summarize(points: list[dict]) -> dict:
    """``{flow: {requests, points, converged, kinds: {kind: {points, converged, failures}}}}``."""
    flows: dict[str, dict] = {}
    for p in sorted(points, key=lambda p: (p["flow"], _kind_order(p["kind"]), p["index"])):
        flow = flows.setdefault(
            p["flow"], {"requests": None, "points": 0, "converged": 0, "kinds": {}}
        )
        flow["requests"] = flow["requests"] or p.get("requests")
        kind = flow["kinds"].setdefault(p["kind"], {"points": 0, "converged": 0, "failures": []})
        for counts in (flow, kind):
            counts["points"] += 1
            counts["converged"] += p["problem"] is None
        if p["problem"] is not None:
            kind["failures"].append({"index": p["index"], "problem": p["problem"]})
    return flows


def summary_lines(results: dict) -> list[str]:
    lines = []
    for flow, figures in results["flows"].items():
        kinds = ", ".join(
            f"{kind}: {k['converged']}/{k['points']}" for kind, k in figures["kinds"].items()
        )
        lines.append(
            f"{flow}: {figures['converged']}/{figures['points']} injection points converged ({kinds})"
        )
    if results.get("subset"):
        lines.append(f"(subset: {json.dumps(results['selection'])})")
    if results.get("interrupted"):
        lines.append("(interrupted: not every selected point ran)")
    return lines


def _timing(points: list[dict], wall: float, workers: int) -> dict:
    seconds = [p["seconds"] for p in points if p.get("seconds") is not None]
    out = {"wall_seconds": round(wall, 1), "workers": workers, "points": len(points)}
    if seconds:
        out.update(
            mean_point_seconds=round(statistics.mean(seconds), 2),
            median_point_seconds=round(statistics.median(seconds), 2),
            max_point_seconds=round(max(seconds), 2),
            point_seconds_total=round(sum(seconds), 1),
        )
    return out


class SweepReport:
    """Registered in the controlling process (or the only one) when ``--run-sweep`` is given."""

    def __init__(self, config):
        self.config = config
        self.points: dict[str, dict] = {}
        self.started = time.monotonic()
        self.lines: list[str] = []
        self.path: Path | None = None
        self.chosen = selection()

    def pytest_sessionstart(self, session):
        # A results file must come from this run: a fault sweep that records nothing leaves none to print.
        # A run of the other sweeps alone (the could-not-read sweeps, the flows matrix) keeps the last one's.
        if self._sweeps_faults():
            results_path(self.chosen).unlink(missing_ok=True)

    def _sweeps_faults(self) -> bool:
        """Whether this run's paths reach tests/e2e/test_faults.py (no path: the whole suite does)."""
        faults = (ROOT / "tests" / "e2e" / "test_faults.py").resolve()
        paths = [Path(str(a).split("::")[0]).resolve() for a in self.config.args] or [ROOT]
        return any(p == faults or p in faults.parents for p in paths)

    def pytest_runtest_logreport(self, report):
        properties = dict(report.user_properties)
        if POINT in properties and report.when == "call":
            point = json.loads(properties[POINT])
            if PROBLEM in properties:
                point["problem"] = json.loads(properties[PROBLEM])
            else:  # the test raised before it could record an outcome
                point["problem"] = f"the test raised: {_last_line(report)}"
            point["seconds"] = round(report.duration, 2)
            self.points[report.nodeid] = point
        elif report.failed and report.nodeid not in self.points:
            point = _point_of_nodeid(report.nodeid)
            if point is not None:  # failed in set-up, or its worker died
                point.update(problem=f"{report.when} failed: {_last_line(report)}", seconds=None)
                self.points[report.nodeid] = point

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session, exitstatus):
        if not self.points:
            return
        points = list(self.points.values())
        workers = getattr(self.config.option, "numprocesses", None) or 1
        results = {
            "generated_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "selection": self.chosen.describe(),
            "subset": self.chosen.subset,
            "interrupted": exitstatus == pytest.ExitCode.INTERRUPTED,
            "timing": _timing(points, time.monotonic() - self.started, workers),
            "flows": summarize(points),
        }
        results["timing"]["estimate"] = _estimate(results)
        self.path = results_path(self.chosen)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(results, indent=2) + "\n")
        self.lines = summary_lines(results)

    def pytest_terminal_summary(self, terminalreporter):
        if not self.lines:
            return
        terminalreporter.write_sep("=", "fault sweep")
        for line in self.lines:
            terminalreporter.write_line(line)
        terminalreporter.write_line(f"results: {self.path}")


def _estimate(results: dict) -> dict | None:
    """Wall time of every kind at every request of the flows this run saw, at this run's mean time per
    point and number of workers (a subset's figures extrapolated to the full sweep)."""
    timing = results["timing"]
    if "mean_point_seconds" not in timing:
        return None
    total = sum(len(KINDS) * f["requests"] for f in results["flows"].values() if f["requests"])
    if not total:
        return None
    minutes = total * timing["mean_point_seconds"] / timing["workers"] / 60
    return {"flows": list(results["flows"]), "points": total, "minutes": round(minutes)}


def _last_line(report) -> str:
    """The exception of a failed report (``RuntimeError: ...``), else the last line of its text."""
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None and getattr(crash, "message", None):
        return crash.message.splitlines()[0]
    text = (report.longreprtext or "").strip().splitlines()
    return text[-1] if text else report.outcome


def pytest_configure(config):
    if config.getoption("--run-sweep", default=False) and not hasattr(config, "workerinput"):
        config.pluginmanager.register(SweepReport(config), "sixsense-sweep-report")


def main() -> int:
    path = results_path()
    if not path.exists():
        print(f"no fault sweep results in {path}: the sweep recorded no point", file=sys.stderr)
        return 1
    results = json.loads(path.read_text())
    for line in summary_lines(results):
        print(line)
    estimate = results["timing"].get("estimate")
    if estimate and results.get("subset"):
        print(
            f"(at {results['timing']['mean_point_seconds']} s a point on {results['timing']['workers']} "
            f"workers, all {estimate['points']} points of {', '.join(estimate['flows'])} would take about "
            f"{estimate['minutes']} min)"
        )
    print(f"results: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
