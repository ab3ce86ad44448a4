"""sixsense_diagnose: a read-only report of everything the 6sense procedure depends on, and the next step.

Reads only: SOQL queries, describes, and Metadata API ``retrieve`` / ``listMetadata`` (SOAP POSTs that read).
Never a DML, a deploy, or a token value (``OauthToken.AccessToken``/``DeleteToken``/``RequestToken`` are never
selected).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from .. import html_report, token_loss
from ..app_resolution import AppChoiceRequired
from ..base import (
    SixsenseTask,
)
from ..errors import SixsenseOrgError
from ..formatting import format_table
from ..vendor import VENDOR
from . import render
from .app_facts import AppFacts
from .facts import OrgUserFacts
from .next_step import next_step, recommend_model


class Diagnose(OrgUserFacts, AppFacts, SixsenseTask):
    task_docs = f"""
Read-only diagnosis of the {VENDOR.label} connected-app setup, with the next step of the vendor procedure.

Reports:

- org: production / sandbox / scratch (Organization.IsSandbox, TrialExpirationDate, the org config), edition
  (OrganizationType), My Domain (from the instance URL), API version;
- API Access Control: provisioned (``PermissionsUseAnyApiClient`` in ``describe('PermissionSet')``) and
  enforcing (Metadata retrieve of ``Settings: ConnectedApp``, ``enableAdminApprovedAppsOnly``);
- the setup and integration users: active, profile, licence, API Enabled, and where each holds
  CanApproveUninstalledApps (profile or which permission set);
- every candidate for the {VENDOR.label} app (``connected_app_names``): OauthToken AppName, ConnectedApplication,
  AppMenuItem, blocked consumers (BlacklistedConsumer ``listMetadata``), with its state
  (never_used / used / installed / admin_approved / blocked), and the permission sets and profiles with
  access (SetupEntityAccess);
- OauthToken: counted first (``SELECT COUNT()``), read only filtered by AppName / UserId, within the
  2,500-row cap of OauthToken queries: the integration user's tokens for the app (count, first created, last used)
  and for other apps (Pardot, Sales Engagement can be disturbed by reauthorization);
- which candidate is the {VENDOR.label} app: exact configured names only; when more than one name is in use, or
  an installed candidate is not the one in use, ``app.choice_required`` says so and how to pin the name
  (``tasks/app_resolution.py``); apps whose name merely contains "{VENDOR.label}" are listed apart as
  ``app.not_matched`` and never used;
- the installed app's refresh-token policy and IP relaxation (``app.policies``, from ConnectedApp metadata:
  "not readable" where the org does not list it; then the refresh-token verdict is what ConnectedApplication's
  validity fields establish, ``connected_application``) and whether they break the sync; its session fields
  (``session_policy``) as information;
- the next step and the flow or task that does it, as a command that runs as printed: it repeats the run's
  integration user, and its setup user and pinned ``connected_app_names`` where given (``inputs``).

Writes a JSON, a Markdown and a self-contained HTML report (no token values; the page draws the procedure
with the org's position on it) and logs a table. Never writes to the org. As a step of a flow (step 2 of
both), the reports default to ``<audit_dir>/<run>-diagnosis.json|md|html`` next to the run's audit report. As a flow step it stops the flow (``AppChoiceRequired``, after writing the reports) when
``app.choice_required``: nothing is written before the operator pins the app.

Return values (dict): ``org``, ``api_access_control`` {{provisioned, enforcing, signals}}, ``users``
{{setup, integration}}, ``app`` {{state, names, candidates, installed, admin_approved, blocked, used, access}},
``tokens`` {{app_total, integration_user {{app, other_apps}}, setup_user {{app}}}}, ``switch_revokes`` (the
grants the Permitted Users switch, while still ahead, will revoke: [{{user, app, created, last_used, use_count,
effect, recently_used}}], or "could not read: why"), ``inputs`` {{integration_username, setup_username,
connected_app_names}} (what the commands repeat; None where not given or not pinned), ``next_step`` {{step,
number, task, flow, command, why, text, done}}, ``warnings`` (list), ``json_path``, ``markdown_path``, ``html_path``.
    """
    task_options = {
        **{
            k: v
            for k, v in SixsenseTask.task_options.items()
            if k in ("integration_username", "setup_username", "connected_app_names", "plan")
        },
        "json_path": {
            "description": "Where to write the JSON report. Default: .sixsense/diagnosis.json",
            "type": "path",
        },
        "markdown_path": {
            "description": "Where to write the Markdown report. Default: .sixsense/diagnosis.md",
            "type": "path",
        },
        "html_path": {
            "description": "Where to write the HTML report (one self-contained page: no network needed "
            "to view it). Default: beside the JSON report, with .html (.sixsense/diagnosis.html)",
            "type": "path",
        },
    }

    default_json_path = ".sixsense/diagnosis.json"
    default_markdown_path = ".sixsense/diagnosis.md"

    def _init_options(self, kwargs):
        # Parses options only: must not touch the org (MetaDeploy freezes steps with org_config=None).
        super()._init_options(kwargs)
        self._paths_defaulted = not (
            self.options.get("json_path") or self.options.get("markdown_path")
        )
        self.options["json_path"] = self.options.get("json_path") or self.default_json_path
        self.options["markdown_path"] = (
            self.options.get("markdown_path") or self.default_markdown_path
        )

    # -- main ------------------------------------------------------------------------------------------

    def _run_task(self):
        from ..audit import run_for

        run = run_for(self, create=False)
        if run and getattr(self, "_paths_defaulted", False):
            # In a flow: next to the run's audit report, so each run keeps its own diagnosis.
            self.options["json_path"] = str(run.json_path.with_name(f"{run.run_id}-diagnosis.json"))
            self.options["markdown_path"] = str(run.md_path.with_name(f"{run.run_id}-diagnosis.md"))
        if not self.options.get("html_path"):
            self.options["html_path"] = str(Path(self.options["json_path"]).with_suffix(".html"))
        diagnosis = self.diagnose()
        self._audit_note(
            before={
                "app": diagnosis["app"].get("state"),
                "next step": diagnosis["next_step"]["text"],
            }
        )
        self._log_report(diagnosis)
        json_path, md_path, html_path = self._write_reports(diagnosis)
        diagnosis["json_path"] = str(json_path)
        diagnosis["markdown_path"] = str(md_path)
        diagnosis["html_path"] = str(html_path)
        self.logger.info(f"Next: {diagnosis['next_step']['text']}")
        rec = diagnosis["recommendation"]
        self.logger.info(
            f"Model: {rec['model']}; recommended flow: {rec['command']} ({rec['why']})"
        )
        self.logger.info(f"Reports: {json_path}, {md_path}, {html_path}")
        self.return_values = diagnosis
        choice = diagnosis["app"].get("choice_required")
        if choice and getattr(self, "flow", None) is not None:
            # In a flow the writing steps follow: stop here, before any write, rather than configure an
            # app that may not be the vendor's (tasks/app_resolution.py).
            raise AppChoiceRequired(choice)

    def diagnose(self) -> dict:
        """Collect every fact (read-only) and compute the next step. Sections that the org refuses to
        answer (missing permission, object not available) are reported in ``warnings`` and left empty."""
        self.warnings: list[str] = []
        self.unreadable: list[
            str
        ] = []  # the sections the org refused to answer (OrgUserFacts._not_readable)
        diagnosis = {
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "org": self._org_facts(),
            "api_access_control": self._api_access_control(),
        }
        users = self._user_facts()
        diagnosis["users"] = users
        app, tokens = self._app_facts(users)
        diagnosis["app"] = app
        diagnosis["tokens"] = tokens
        integration = users.get("integration") or {}
        if integration.get("found"):
            integration["has_app_access"], integration["app_access_via"] = self._user_access(
                integration, app
            )
        diagnosis["eca"] = self._eca_facts(users)
        diagnosis["warnings"] = self.warnings
        diagnosis["unreadable"] = self.unreadable
        self._add_warnings(diagnosis)
        diagnosis["inputs"] = self._inputs()
        diagnosis["next_step"] = next_step(diagnosis)
        diagnosis["switch_revokes"] = self._grants_the_switch_revokes(diagnosis)
        diagnosis["recommendation"] = recommend_model(diagnosis)
        return diagnosis

    def _inputs(self) -> dict:
        """The options of this run that the next step's commands repeat (``next_step.command_options``):
        ``{"integration_username", "setup_username" (given, else None), "connected_app_names" (pinned: not
        the vendor's list, else None)}``."""
        names = list(self.app_names)
        default = [n.lower() for n in VENDOR.connected_app_names]
        return {
            "integration_username": self.integration_username,
            "setup_username": self.options.get("setup_username") or None,
            "connected_app_names": names if [n.lower() for n in names] != default else None,
        }

    def _grants_the_switch_revokes(self, d: dict) -> list[dict] | str:
        """The grants the Permitted Users switch, still ahead, will revoke (issue 17 kind 1), as
        ``token_loss.loss`` rows (user, app, created, last used, use count, effect): users without
        pre-authorization lose theirs, pre-authorized users' "may be lost" (facts §10.1). The integration user
        counts as pre-authorized: the procedure gives it access before the switch. ``[]`` once the app is
        admin approved (no switch ahead); ``"could not read: why"`` when the grants cannot be read. Read whole
        with ``token_loss``, as the step itself reads them."""
        if d["app"]["admin_approved"]:
            return []
        if "OauthToken" in d["unreadable"]:
            return "could not read: other users' OAuth tokens (see unreadable)"
        installed = [c for c in d["app"]["candidates"] if c.get("installed")]
        names = [c["name"] for c in installed] or list(self.app_names)
        integration = (d["users"].get("integration") or {}).get("id")
        try:
            tokens = self._oauth_tokens(names)
            pre = token_loss.pre_authorized_users(
                self,
                [c["connected_application_id"] for c in installed],
                [t["UserId"] for t in tokens],
            )
        except SixsenseOrgError as error:
            return f"could not read: {str(error).splitlines()[0][:200]}"
        return token_loss.lost_to_admin_approval(tokens, pre | {integration} - {None})

    # -- output ----------------------------------------------------------------------------------------

    def _log_report(self, d: dict):
        for title, rows in render.sections(d):
            for line in format_table(title, rows):
                self.logger.info(line)
            self.logger.info("")
        for w in d["warnings"]:
            self.logger.warning(w)

    def _audit_return_values(self) -> dict:
        d = self.return_values or {}
        return {
            "next_step": (d.get("next_step") or {}).get("text"),
            "app_state": (d.get("app") or {}).get("state"),
            "model": (d.get("recommendation") or {}).get("model"),
            "warnings": d.get("warnings") or [],
            "json_path": d.get("json_path"),
            "markdown_path": d.get("markdown_path"),
            "html_path": d.get("html_path"),
        }

    def _path(self, option: str) -> Path:
        path = Path(self.options[option])
        if not path.is_absolute():
            path = Path(self.project_config.repo_root or ".") / path
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def _write_reports(self, d: dict) -> tuple[Path, Path, Path]:
        json_path = self._path("json_path")
        md_path = self._path("markdown_path")
        html_path = self._path("html_path")
        json_path.write_text(json.dumps(d, indent=2, default=str) + "\n", encoding="utf-8")
        md_path.write_text(render.markdown(d), encoding="utf-8")
        html_path.write_text(html_report.diagnosis_page(d, render.sections(d)), encoding="utf-8")
        return json_path, md_path, html_path
