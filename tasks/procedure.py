"""The procedure, once: every step's name, task, vendor-article step number and what "done" means.

The table is data, ``datasets/procedure.yml``; this module reads it. Everything that names a step reads this table: the tasks' messages and reports, diagnose's next step, the
runbooks (``flows/*.md``, checked by ``tests/e2e/test_runbooks.py``), the error catalogue's fixes
(``tasks/error_codes.yml``, ``{step:<key>}`` placeholders) and the end-to-end tests' expected stops. The
flows in ``cumulusci.yml`` list the same tasks in this order (``tests/ci/test_static.py`` checks it).

An operator reads one name per step, e.g. "Install the app (article step 2)": the title, and the vendor
article's step number where the article has one (the prerequisites and the External Client App steps have
none).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import SixsenseInputError
from .vendor import VENDOR


@dataclass(frozen=True)
class Step:
    """One step. ``key``: short id used in code and placeholders; ``task``: the cci task that does or
    checks it; ``article_step``: the vendor article's number, or None; ``done``: what the check queries."""

    key: str
    title: str
    task: str
    article_step: int | None
    done: str
    guided: bool = False

    @property
    def ref(self) -> str:
        """``sixsense_install_connected_app (Install the app, article step 2)``: the task and the step, for
        fixes that say what to run."""
        number = f", article step {self.article_step}" if self.article_step is not None else ""
        return f"{self.task} ({self.title}{number})"

    @property
    def name(self) -> str:
        """``Install the app (article step 2)``; the title alone when the article has no number."""
        if self.article_step is None:
            return self.title
        return f"{self.title} (article step {self.article_step})"


PROCEDURE_PATH = Path(__file__).resolve().parent.parent / "datasets" / "procedure.yml"


def _load(path: Path = PROCEDURE_PATH) -> tuple[tuple[Step, ...], tuple[Step, ...]]:
    """(connected-app steps, External Client App steps) from ``datasets/procedure.yml``, vendor fields
    filled in. ``SixsenseInputError`` naming the file for a malformed table."""
    fields = {
        "vendor": VENDOR.label,
        "setup_permission_set": VENDOR.setup_permission_set,
        "integration_permission_set": VENDOR.integration_permission_set,
    }
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        routes = tuple(
            tuple(
                Step(
                    key=str(row["key"]),
                    title=str(row["title"]).format(**fields),
                    task=str(row["task"]),
                    article_step=row.get("article_step"),
                    done=str(row["done"]).format(**fields),
                    guided=bool(row.get("guided", False)),
                )
                for row in data[route]
            )
            for route in ("connected_app", "external_client_app")
        )
    except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
        raise SixsenseInputError(f"The procedure table {path} is malformed: {error!r}") from None
    return routes


#: The connected-app route (the vendor article), and the External Client App route, in order.
CONNECTED_APP_STEPS, ECA_STEPS = _load()
STEPS = CONNECTED_APP_STEPS + ECA_STEPS
_BY_KEY = {s.key: s for s in STEPS}
_BY_TASK = {s.task: s for s in STEPS}


def step(key: str) -> Step:
    """The step with ``key``; ``KeyError`` for an unknown key."""
    return _BY_KEY[key]


def step_for_task(task_name: str) -> Step | None:
    """The step a cci task does, or None for a task outside the procedure."""
    return _BY_TASK.get(task_name)


def render(text: str) -> str:
    """``text`` with each ``{step:<key>}`` replaced by that step's name (error catalogue fixes)."""
    for s in STEPS:
        text = text.replace("{step:" + s.key + "}", s.name)
    return text
