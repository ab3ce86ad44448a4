"""Mutation score of the safety-critical code (a script, not a test): ``make mutate`` runs mutmut, then this.

The modules and, where not a whole file, the functions mutated are configured in one place, pyproject.toml:
``[tool.mutmut] only_mutate`` (files) and ``[tool.mutation-scope]`` (file -> "Class.method", "function" or
"Class.*" patterns; a file absent there counts whole). Results are read from mutmut's ``mutants/*.py.meta``.

Commands:
  ``python benchmarks/mutation.py globs [FILE ...]``: mutmut mutant-name globs of the scope (of FILE ...
  only, e.g. ``tasks/setup_access.py``), one per line, for ``mutmut run``.
  ``python benchmarks/mutation.py survivors [FILE ...]``: the survivors of the last run (not the equivalent
  ones), one per line: ``MUTATE_SURVIVORS=1 make mutate`` runs only these again, keeping the other
  mutants' results (after tests were written against them: a module's whole run takes long).
  ``python benchmarks/mutation.py report [FILE ...]``: per module, killed / (total - equivalent) in %,
  against the 85 % target; lists the survivors (``mutmut show NAME`` prints one's diff); writes
  benchmarks/mutation-results.json (-subset.json for some FILEs, whose modules then replace theirs in
  mutation-results.json: it holds the latest figure of each module, with the date and commit it was measured
  at). Exit 1 when a module misses the target or none was run.

Counted as killed: a failing test run, a timeout (the mutant made the tests hang, which ``pytest-timeout``
or mutmut's own limit turned into a failure) and a crash. Survivors: tests passed, or no selected test
reaches the function ("no tests"). Equivalent: survivors listed in tests/mutation-equivalent.txt
(``<mutant name>  <reason>``, ``#`` comments), which cannot be killed because they change no behaviour;
they leave the total. Mutants not run yet ("not checked") are reported, not scored.
"""

from __future__ import annotations

import datetime
import fnmatch
import json
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "mutants"
EQUIVALENT_FILE = ROOT / "tests" / "mutation-equivalent.txt"
RESULTS_FILE = ROOT / "benchmarks" / "mutation-results.json"
TARGET = 85.0

#: mutmut 3's exit codes (mutmut/stats.py) -> the verdict used here.
KILLED_CODES = {1, 3, 24, -24, 36, 152, 255, -11, -9}
SURVIVED_CODES = {0}
NO_TESTS_CODES = {5, 33}


def load_scope(root: Path = ROOT) -> dict[str, list[str] | None]:
    """``{file: patterns or None (whole file)}`` from pyproject.toml, in ``only_mutate`` order."""
    tool = tomllib.loads((root / "pyproject.toml").read_text())["tool"]
    patterns = tool.get("mutation-scope", {})
    return {path: patterns.get(path) for path in tool["mutmut"]["only_mutate"]}


def module_name(path: str) -> str:
    """``tasks/verify.py`` -> ``tasks.verify`` (mutmut's mutant-name prefix)."""
    return path.removesuffix(".py").replace("/", ".")


def pattern_glob(module: str, pattern: str) -> str:
    """One scope pattern as a mutmut mutant-name glob: ``VerifyEca.*`` -> ``tasks.eca.verify.xǁVerifyEcaǁ*__mutmut_*``,
    ``parse_bool_option`` -> ``tasks.options.x_parse_bool_option__mutmut_*``."""
    if "." in pattern:
        klass, method = pattern.split(".", 1)
        return f"{module}.xǁ{klass}ǁ{method}__mutmut_*"
    return f"{module}.x_{pattern}__mutmut_*"


def globs(scope: dict[str, list[str] | None], files: list[str] | None = None) -> list[str]:
    """The mutant-name globs of ``scope`` (of ``files`` only, when given)."""
    out = []
    for path, patterns in scope.items():
        if files and path not in files:
            continue
        module = module_name(path)
        out += [pattern_glob(module, p) for p in patterns] if patterns else [f"{module}.*"]
    return out


def load_equivalent(path: Path = EQUIVALENT_FILE) -> dict[str, str]:
    """``{mutant name: reason}`` from the equivalent-mutants file (absent file: none)."""
    equivalent = {}
    if path.exists():
        for line in path.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                name, _, reason = line.partition(" ")
                equivalent[name] = reason.strip()
    return equivalent


def verdict(code) -> str:
    if code is None:
        return "not checked"
    if code in KILLED_CODES:
        return "killed"
    if code in SURVIVED_CODES:
        return "survived"
    if code in NO_TESTS_CODES:
        return "no tests"
    return "suspicious"


def summarize(
    scope: dict[str, list[str] | None],
    exit_codes: dict[str, dict[str, int | None]],
    equivalent: dict[str, str],
) -> dict:
    """Per module: counts by verdict, the score and the survivors. ``exit_codes``: file -> mutant -> code."""
    modules = {}
    for path, patterns in scope.items():
        in_scope = globs({path: patterns})
        codes = {
            name: code
            for name, code in exit_codes.get(path, {}).items()
            if any(fnmatch.fnmatchcase(name, g) for g in in_scope)
        }
        counts: dict[str, int] = {}
        survivors, equivalents = [], []
        for name, code in sorted(codes.items()):
            v = verdict(code)
            if v in ("survived", "no tests", "suspicious") and name in equivalent:
                equivalents.append(name)
                v = "equivalent"
            elif v in ("survived", "no tests", "suspicious"):
                survivors.append({"mutant": name, "verdict": v})
            counts[v] = counts.get(v, 0) + 1
        scored = sum(n for v, n in counts.items() if v not in ("not checked", "equivalent"))
        killed = counts.get("killed", 0)
        modules[path] = {
            "scope": patterns or "whole file",
            "mutants": len(codes),
            "counts": counts,
            "scored": scored,
            "killed": killed,
            "score": round(100.0 * killed / scored, 1) if scored else None,
            "survivors": survivors,
            "equivalent": equivalents,
        }
    return {"target": TARGET, "modules": modules}


def read_exit_codes(scope: dict[str, list[str] | None]) -> dict[str, dict[str, int | None]]:
    out = {}
    for path in scope:
        meta = MUTANTS / (path + ".meta")
        if meta.exists():
            out[path] = json.loads(meta.read_text())["exit_code_by_key"]
    return out


def measured_at(root: Path = ROOT) -> dict:
    """``{"date": "YYYY-MM-DD", "commit": short hash}`` of the checkout measured (``+changes`` when tasks/
    or tests/ differ from it), for the figures' provenance."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    if git("status", "--porcelain", "--", "tasks", "tests"):
        commit += "+changes"
    return {"date": datetime.date.today().isoformat(), "commit": commit}


def merge(latest: dict, summary: dict, scope: dict, measured: dict) -> dict:
    """``latest`` (mutation-results.json's content, or {}) with the run modules of ``summary`` replacing
    theirs, each stamped ``measured``; modules no longer in ``scope`` are dropped, in ``scope`` order."""
    old = latest.get("modules", {})
    modules = {}
    for path in scope:
        m = summary["modules"].get(path)
        if m is not None and m["score"] is not None:
            modules[path] = {**m, "measured": measured}
        elif path in old:
            modules[path] = old[path]
        elif m is not None:
            modules[path] = m
    return {"target": TARGET, "modules": modules}


def report(summary: dict) -> bool:
    """Print the table and survivors; True when every scored module reaches the target."""
    ok = True
    ran = False
    print(
        f"{'module':28} {'killed':>7} {'scored':>7} {'score':>7}  target {TARGET:.0f}%  (not run / equivalent)"
    )
    for path, m in summary["modules"].items():
        if m["score"] is None:
            print(
                f"{path:28} {'-':>7} {'-':>7} {'-':>7}  NOT RUN  ({m['counts'].get('not checked', 0)} mutants)"
            )
            continue
        ran = True
        status = "PASS" if m["score"] >= TARGET else "MISS"
        ok &= status == "PASS"
        print(
            f"{path:28} {m['killed']:>7} {m['scored']:>7} {m['score']:>6.1f}%  {status}     "
            f"({m['counts'].get('not checked', 0)} / {m['counts'].get('equivalent', 0)})"
        )
    for path, m in summary["modules"].items():
        if m["survivors"]:
            print(
                f"\nSurvivors in {path} ({len(m['survivors'])}; `mutmut show NAME` for the diff):"
            )
            for s in m["survivors"]:
                print(f"  {s['mutant']}  [{s['verdict']}]")
    return ok and ran


def main(argv: list[str]) -> int:
    command, files = (argv[0], argv[1:]) if argv else ("report", [])
    scope = load_scope()
    unknown = [f for f in files if f not in scope]
    if unknown:
        print(f"not in [tool.mutmut] only_mutate: {', '.join(unknown)}", file=sys.stderr)
        return 2
    if command == "globs":
        print("\n".join(globs(scope, files)))
        return 0
    if command == "survivors":
        chosen = {f: scope[f] for f in files} if files else scope
        summary = summarize(chosen, read_exit_codes(chosen), load_equivalent())
        print("\n".join(s["mutant"] for m in summary["modules"].values() for s in m["survivors"]))
        return 0
    if command != "report":
        print(__doc__, file=sys.stderr)
        return 2
    full_scope = scope
    if files:
        scope = {f: scope[f] for f in files}
    summary = summarize(scope, read_exit_codes(scope), load_equivalent())
    written = []
    if files:
        subset_file = RESULTS_FILE.with_name("mutation-results-subset.json")
        subset_file.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
        written.append(subset_file)
    latest = json.loads(RESULTS_FILE.read_text()) if RESULTS_FILE.exists() else {}
    merged = merge(latest, summary, full_scope, measured_at())
    RESULTS_FILE.write_text(json.dumps(merged, indent=2, ensure_ascii=False) + "\n")
    written.append(RESULTS_FILE)
    ok = report(summary)
    print(f"\nWritten: {', '.join(str(f.relative_to(ROOT)) for f in written)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
