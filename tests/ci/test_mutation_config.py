"""`make mutate`'s configuration and score (benchmarks/mutation.py), without running mutmut: the scope names
files and functions that exist, and the score counts what it should."""

from __future__ import annotations

import ast
import fnmatch

from benchmarks import mutation
from tests.conftest import ROOT


def _functions(path):
    """Names of a file's functions and methods as mutmut names them (``x_f``, ``xǁClassǁmethod``)."""
    tree = ast.parse((ROOT / path).read_text())
    names = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.append(f"x_{node.name}")
        elif isinstance(node, ast.ClassDef):
            names += [
                f"xǁ{node.name}ǁ{item.name}"
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
            ]
    return names


def test_every_scope_file_and_pattern_names_existing_code():
    """A module renamed or a function moved must show up here, not as a silently empty scope."""
    scope = mutation.load_scope()
    assert scope, "[tool.mutmut] only_mutate is empty"
    for path, patterns in scope.items():
        assert (ROOT / path).is_file(), f"{path} in only_mutate does not exist"
        module = mutation.module_name(path)
        names = [f"{module}.{n}__mutmut_1" for n in _functions(path)]
        for glob in mutation.globs({path: patterns}):
            assert any(fnmatch.fnmatchcase(n, glob) for n in names), (
                f"{glob} matches no function of {path}"
            )


def test_scope_globs_follow_mutmut_names():
    assert mutation.pattern_glob("tasks.eca.verify", "VerifyEca.*") == (
        "tasks.eca.verify.xǁVerifyEcaǁ*__mutmut_*"
    )
    assert mutation.pattern_glob("tasks.options", "parse_bool_option") == (
        "tasks.options.x_parse_bool_option__mutmut_*"
    )
    assert mutation.globs({"tasks/verify.py": None}) == ["tasks.verify.*"]


def test_score_counts_killed_over_scored_and_equivalents_leave_the_total():
    scope = {"tasks/a.py": None, "tasks/b.py": ["f"]}
    codes = {
        "tasks/a.py": {
            "tasks.a.x_f__mutmut_1": 1,  # killed
            "tasks.a.x_f__mutmut_2": 36,  # timeout: killed
            "tasks.a.x_f__mutmut_3": 0,  # survived
            "tasks.a.x_f__mutmut_4": 0,  # survived, judged equivalent
            "tasks.a.x_f__mutmut_5": 33,  # no test reaches it: a survivor
            "tasks.a.x_f__mutmut_6": None,  # not run: not scored
        },
        "tasks/b.py": {"tasks.b.x_f__mutmut_1": 1, "tasks.b.x_g__mutmut_1": 0},  # g: out of scope
    }
    summary = mutation.summarize(scope, codes, {"tasks.a.x_f__mutmut_4": "same output"})
    a, b = summary["modules"]["tasks/a.py"], summary["modules"]["tasks/b.py"]
    assert (a["killed"], a["scored"], a["score"]) == (2, 4, 50.0)
    assert [s["mutant"] for s in a["survivors"]] == [
        "tasks.a.x_f__mutmut_3",
        "tasks.a.x_f__mutmut_5",
    ]
    assert a["equivalent"] == ["tasks.a.x_f__mutmut_4"]
    assert a["counts"]["not checked"] == 1
    assert (b["mutants"], b["killed"], b["score"]) == (1, 1, 100.0)


def test_equivalent_file_lines_name_a_mutant_and_give_a_reason(tmp_path):
    listed = mutation.load_equivalent()
    assert all(reason for reason in listed.values()), "every equivalent mutant needs its reason"
    f = tmp_path / "eq.txt"
    f.write_text("# comment\n\ntasks.a.x_f__mutmut_4  returns the same text  # why\n")
    assert mutation.load_equivalent(f) == {"tasks.a.x_f__mutmut_4": "returns the same text"}


def test_a_subset_run_replaces_only_its_modules_in_the_latest_figures():
    """mutation-results.json holds the latest figure of each module: a run of some modules replaces theirs
    (stamped with when and at which commit), keeps the others', and drops modules left out of the scope."""
    scope = {"tasks/a.py": None, "tasks/b.py": None}
    latest = {
        "modules": {
            "tasks/a.py": {"score": 50.0, "measured": {"date": "2026-01-01", "commit": "old"}},
            "tasks/b.py": {"score": 90.0, "measured": {"date": "2026-01-01", "commit": "old"}},
            "tasks/gone.py": {"score": 10.0},
        }
    }
    run = mutation.summarize({"tasks/a.py": None}, {"tasks/a.py": {"tasks.a.x_f__mutmut_1": 1}}, {})
    now = {"date": "2026-12-03", "commit": "abc1234"}
    merged = mutation.merge(latest, run, scope, now)
    assert list(merged["modules"]) == ["tasks/a.py", "tasks/b.py"]
    assert merged["modules"]["tasks/a.py"]["score"] == 100.0
    assert merged["modules"]["tasks/a.py"]["measured"] == now
    assert merged["modules"]["tasks/b.py"] == latest["modules"]["tasks/b.py"]
    not_run = mutation.summarize(
        {"tasks/b.py": None}, {"tasks/b.py": {"tasks.b.x_f__mutmut_1": None}}, {}
    )
    assert mutation.merge(latest, not_run, scope, now)["modules"]["tasks/b.py"]["score"] == 90.0
