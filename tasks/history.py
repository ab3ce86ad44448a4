"""sixsense_history: the runs recorded in an audit folder, oldest first (read-only, no org needed)."""

from pathlib import Path

from cumulusci.core.tasks import BaseTask

from .audit import DEFAULT_AUDIT_DIR, list_runs, resolve_audit_dir
from .formatting import format_table
from .options import parse_options


class History(BaseTask):
    task_docs = f"""
Lists the flow runs recorded in an audit folder (default ``{DEFAULT_AUDIT_DIR}``, relative to the project
folder): run id, flow, status (ok | manual step pending | failed | interrupted | ...), when it started and
last wrote, the org, how many changes and terminal consents it recorded, and the report's path. A run whose
process died is shown ``interrupted`` once a later run in the folder noticed it. Reads only local files.

Return values: ``runs`` (list of dicts with those fields), ``audit_dir``.
    """
    task_options = {
        "audit_dir": {
            "description": "The audit folder. A relative path is relative to the project folder. "
            f"Default: {DEFAULT_AUDIT_DIR}",
            "type": "text",
            "default": DEFAULT_AUDIT_DIR,
        },
    }

    def _init_options(self, kwargs):
        super()._init_options(kwargs)
        parse_options(self.options, self.task_options)
        self.options["audit_dir"] = str(
            resolve_audit_dir(self.project_config, self.options["audit_dir"])
        )

    def _run_task(self):
        folder = self.options["audit_dir"]
        runs = list_runs(Path(folder)) if Path(folder).is_dir() else []
        rows = [["run", "flow", "status", "started", "changes", "consents"]] + [
            [
                r["run_id"],
                r.get("flow"),
                r["status"],
                r.get("started_at"),
                r.get("changed"),
                r.get("consent"),
            ]
            for r in runs
        ]
        if runs:
            for line in format_table(f"Runs in {folder}", rows):
                self.logger.info(line)
        else:
            self.logger.info(f"No runs recorded in {folder}.")
        self.return_values = {"runs": runs, "audit_dir": folder}
