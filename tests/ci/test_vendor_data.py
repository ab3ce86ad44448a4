"""6sense specifics are data (datasets/vendors/6sense.yml), not literals in tasks/ code (issue 14)."""

import ast
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
# The vendor's name, its app names, its package version id and our permission sets' API names.
VENDOR_LITERAL = re.compile(r"6sense|04tOH0000003W1lYAE|Sixsense_(Setup|Integration)_Access", re.I)


def _string_literals(path: Path):
    """(line, text) of every string constant of ``path`` that is not a docstring."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            yield node.lineno, node.value


def tasks_literals_matching(pattern: re.Pattern) -> list[str]:
    """``path:line: text`` of every non-docstring string of tasks/ that ``pattern`` finds."""
    return [
        f"{path.relative_to(ROOT)}:{line}: {text[:80]!r}"
        for path in sorted((ROOT / "tasks").rglob("*.py"))
        for line, text in _string_literals(path)
        if pattern.search(text)
    ]


def test_no_vendor_literal_in_tasks_code():
    assert tasks_literals_matching(VENDOR_LITERAL) == []


def test_the_rule_sees_a_planted_literal(tmp_path):
    """The scan above must be able to fail: a planted f-string and a plain string are both found."""
    planted = tmp_path / "planted.py"
    planted.write_text(
        '"""Doc about 6sense."""\nX = "the 6sense app"\nY = f"{X} 04tOH0000003W1lYAE"\n'
    )
    texts = [text for _, text in _string_literals(planted) if VENDOR_LITERAL.search(text)]
    assert texts == ["the 6sense app", " 04tOH0000003W1lYAE"]


def test_the_vendor_file_holds_what_the_tasks_read():
    data = yaml.safe_load(
        (ROOT / "datasets" / "vendors" / "6sense.yml").read_text(encoding="utf-8")
    )
    assert data["label"] == "6sense"
    assert data["connected_app_names"] and all(
        isinstance(n, str) for n in data["connected_app_names"]
    )
    assert set(data["permission_sets"]) == {"setup", "integration"}
    for name in data["permission_sets"].values():
        assert (
            ROOT
            / "force-app"
            / "main"
            / "default"
            / "permissionsets"
            / f"{name}.permissionset-meta.xml"
        ).exists()
    assert re.fullmatch(r"04t[A-Za-z0-9]{15}", data["external_client_app"]["package_version"])
    assert set(data["environments"]) == {"production", "sandbox"}
    assert {"authorize_setup_user", "reauthorize_integration_user", "authorize_eca"} <= set(
        data["instructions"]
    )
