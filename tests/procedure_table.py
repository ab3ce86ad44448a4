"""The procedure table (datasets/procedure.yml) as the tests read it: without importing tasks/ (cci puts
tasks/ on the import path only once a project config exists), so the expected stops and step names below
come from the same data the product reads."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
_TABLE = yaml.safe_load((ROOT / "datasets" / "procedure.yml").read_text(encoding="utf-8"))
_VENDOR_FILES = sorted((ROOT / "datasets" / "vendors").glob("*.yml"))
VENDOR = yaml.safe_load(_VENDOR_FILES[0].read_text(encoding="utf-8"))


def steps(route: str = "connected_app") -> list[dict]:
    """The rows of ``route`` (``connected_app`` | ``external_client_app``), in order."""
    return list(_TABLE[route])


def _row(key: str) -> dict:
    return next(r for route in _TABLE.values() for r in route if r["key"] == key)


def step_name(key: str) -> str:
    """What the operator reads for step ``key``: "<title> (article step N)", or the title alone."""
    row = _row(key)
    title = row["title"].format(vendor=VENDOR["label"])
    number = row.get("article_step")
    return f"{title} (article step {number})" if number is not None else title


def step_ref(key: str) -> str:
    """``<task> (<title>, article step N)``: how fixes name the task to run."""
    row = _row(key)
    title = row["title"].format(vendor=VENDOR["label"])
    number = row.get("article_step")
    return f"{row['task']} ({title}" + (f", article step {number})" if number is not None else ")")


def guided_tasks(route: str = "connected_app") -> list[str]:
    """The tasks of the guided steps of ``route``, in order (where a non-interactive run can stop)."""
    return [r["task"] for r in steps(route) if r.get("guided")]
