"""What every verification task shares: checks collected as PASS, FAIL, UNREADABLE or SKIPPED, the verdict
(``passed``), the log table, and the JSON and HTML reports (``sixsense_verify``, ``sixsense_verify_eca``)."""

import json
from datetime import UTC, datetime
from pathlib import Path

from cumulusci.core.exceptions import CumulusCIFailure

from . import html_report
from .errors import SixsenseOrgError
from .vendor import VENDOR

#: The ``fix`` of a check whose read the org refused or failed (its ``actual`` says what happened).
RECHECK_FIX = (
    "the verification again once Salesforce answers this read (actual says what it refused)"
)


class VerificationFailed(CumulusCIFailure):
    """At least one check failed or could not be checked; the message names the step to run for each."""


class Unreadable:
    """A fact the org did not give: the read was refused or failed (``error``: Salesforce's words and what
    to do). A check that needs it says UNREADABLE, never PASS or "absent"."""

    def __init__(self, error):
        self.error = str(error)

    def __str__(self):
        return self.error


class CheckReport:
    """What every verification task shares: collect checks, then log the table, note the audit, and (outside
    plan mode) write the JSON report and fail naming the step to run for each check that is not established.

    A check is ``{"check", "expected", "actual", "result", "fix"}`` with ``result`` one of:

    - ``PASS``: the org shows the step done;
    - ``FAIL``: the org shows it not done (``fix`` names the step to run);
    - ``UNREADABLE``: a read it needs was refused or failed (``actual`` starts "could not check:");
    - ``SKIPPED``: the org offers no way to read it (``actual`` says why, ``fix`` how to check by hand).

    ``passed`` is True only when no check FAILs, none is UNREADABLE and no SKIPPED check *matters* (each
    task says which skips do not matter, and why, through ``_skip(..., matters=False, note=...)``).

    The report is ``{"generated_at", "org_id", "instance_url", **fields, "passed", "checks", "not_checked"}``;
    ``not_checked`` lists every SKIPPED or UNREADABLE check as ``{"check", "result", "reason", "matters",
    "note"}``. No tokens: only names, dates and counts. Needs ``self.options["report_path"]`` (relative
    paths are under the repo root); a self-contained HTML page of the same report is written beside it
    (``.html``, ``tasks/html_report.py``). Return values: ``passed``, ``failed`` (FAIL check names),
    ``not_checked`` (names of the UNREADABLE checks and of the SKIPPED ones that matter), ``report_path``,
    ``html_path``.
    """

    report_title = f"{VENDOR.label} verification"

    def _add(self, check, expected, actual, ok, fix=""):
        """Record a check the org answered: PASS when ``ok``, else FAIL naming ``fix`` (the step to run)."""
        self._record(check, expected, actual, "PASS" if ok else "FAIL", "" if ok else fix)

    def _skip(self, check, expected, actual, fix, matters=True, note=""):
        """Record a check the org offers no way to read (SKIPPED): ``fix`` says how to check it by hand;
        ``matters`` False (with ``note``, why) when it does not keep ``passed`` from being True."""
        self._record(check, expected, actual, "SKIPPED", fix, matters, note)

    def _add_unreadable(self, check, expected, error):
        """Record a check whose facts the org did not give (``error``: an :class:`Unreadable` or text)."""
        self._record(check, expected, f"could not check: {error}", "UNREADABLE", RECHECK_FIX)

    def _record(self, check, expected, actual, result, fix, matters=True, note=""):
        """One row of the report; ``matters``/``note`` count only for SKIPPED (UNREADABLE always matters)."""
        self.checks.append(
            {"check": check, "expected": expected, "actual": actual, "result": result, "fix": fix}
        )
        self._skip_notes()[check] = (matters, note)

    def _skip_notes(self) -> dict[str, tuple[bool, str]]:
        """check -> (matters, note) of every check recorded (a mixin has no ``__init__``: made on first use)."""
        return self.__dict__.setdefault("_skip_notes_by_check", {})

    def _read_fact(self, fn, *args):
        """``fn(*args)``, or :class:`Unreadable` when Salesforce refuses or fails the read
        (``SixsenseOrgError``)."""
        try:
            return fn(*args)
        except SixsenseOrgError as error:
            return Unreadable(error)

    def _set_matters(self, check: str, matters: bool, note: str) -> None:
        """Decide, once the other checks are known, whether a SKIPPED ``check`` matters (``note``: why not)."""
        self._skip_notes()[check] = (matters, note)

    def _matters(self, check: dict) -> bool:
        """Whether a check that is not PASS or FAIL keeps ``passed`` from being True."""
        if check["result"] == "UNREADABLE":
            return True
        return self._skip_notes()[check["check"]][0]

    def _note(self, check: dict) -> str:
        """Why a SKIPPED check does not matter ("" when it does)."""
        return self._skip_notes()[check["check"]][1]

    def _finish(self, report_fields: dict) -> None:
        """End the task: table, audit note, return values; then the report and the verdict."""
        self._log_table(
            self.report_title,
            [["check", "expected", "actual", "result"]]
            + [[c["check"], c["expected"], c["actual"], c["result"]] for c in self.checks],
        )
        failed = [c for c in self.checks if c["result"] == "FAIL"]
        unchecked = [c for c in self.checks if c["result"] in ("SKIPPED", "UNREADABLE")]
        open_checks = [c for c in unchecked if self._matters(c)]
        passed = not failed and not open_checks
        failed_names = [c["check"] for c in failed]
        open_names = [c["check"] for c in open_checks]
        self._audit_note(
            after={"passed": passed, "failed": failed_names, "not_checked": open_names}
        )
        self.return_values = {
            "passed": passed,
            "failed": failed_names,
            "not_checked": open_names,
            "report_path": "",
            "html_path": "",
        }
        if self.plan:
            self.logger.info(
                f"Plan: {len(failed)} of {len(self.checks)} checks fail and {len(open_checks)} cannot be "
                "checked in the org as it is now; the steps above would address the failures. "
                "No report written."
            )
            return
        path = Path(self.options["report_path"])
        if not path.is_absolute():
            path = Path(self.project_config.repo_root or ".") / path
        path.parent.mkdir(parents=True, exist_ok=True)
        not_checked = [
            {
                "check": c["check"],
                "result": c["result"],
                "reason": c["actual"],
                "matters": self._matters(c),
                "note": self._note(c),
            }
            for c in unchecked
        ]
        report = {
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "org_id": self.org_config.org_id,
            "instance_url": self._instance_url(),
            **report_fields,
            "passed": passed,
            "checks": self.checks,
            "not_checked": not_checked,
        }
        path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        html_path = path.with_suffix(".html")
        html_path.write_text(
            html_report.verification_page(report, self.report_title), encoding="utf-8"
        )
        self.return_values["report_path"] = str(path)
        self.return_values["html_path"] = str(html_path)
        if not passed:
            lines = [f"  - {c['check']}: {c['actual']}; run {c['fix']}" for c in failed]
            lines += [
                f"  - {c['check']}: {c['actual']}; run {c['fix']}"
                for c in open_checks
                if c["result"] == "UNREADABLE"
            ]
            lines += [
                f"  - {c['check']}: not checked ({c['actual']}); {c['fix']}"
                for c in open_checks
                if c["result"] == "SKIPPED"
            ]
            raise VerificationFailed(
                ("Verification failed:\n" if failed else "Verification incomplete:\n")
                + "\n".join(lines)
                + f"\nReport: {path}"
            )
        skipped = [c for c in unchecked if not self._matters(c)]
        if skipped:
            self.logger.info(
                "Verification passed; not every check ran: "
                + "; ".join(
                    f"{c['check']} skipped ({c['actual']}): {self._note(c)}" for c in skipped
                )
                + f". Report: {path}"
            )
            return
        self.logger.info(f"All checks passed. Report: {path}")
