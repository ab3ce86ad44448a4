"""sixsense_troubleshoot: explain an error from the 6sense setup (code, browser URL or pasted text) with the
live org state: runs the read-only diagnosis, picks the catalogue entry, and tailors cause and fix."""

from __future__ import annotations

import json

from .diagnose import render
from .diagnose.task import Diagnose
from .error_codes import CATALOGUE_PATH, ErrorEntry, catalogue, match, parse_error_input
from .error_tailoring import RULED_OUT, TAILORS, tailor_none
from .errors import SixsenseInputError, SixsenseOrgError
from .resilience import client_blocked, client_not_allowlisted
from .vendor import VENDOR


def unreachable_facts(reason: str) -> list[str]:
    """What to say about an org this run could not read (``reason``: the one-line error)."""
    facts = [f"The org could not be reached, so this explanation does not use its state: {reason}"]
    if client_not_allowlisted(SixsenseOrgError(reason)):
        facts.append(
            "That is this same refusal: API Access Control refuses the connected app cci logs in through, "
            "for this run too."
        )
    elif client_blocked(SixsenseOrgError(reason)):
        facts.append(
            "That is this same refusal: the connected app cci logs in through is blocked in this org, for "
            "this run too."
        )
    return facts


def explain(
    entry: ErrorEntry | None, seen: str | None, diagnosis: dict | None, unreachable: str = ""
) -> dict:
    """Cause and fix for a catalogue entry (or None: unknown) tailored to ``diagnosis``; with ``diagnosis``
    None (the org could not be reached: ``unreachable`` says why), the catalogue's cause and fix with that
    fact instead of the org's state.

    Returns ``{"code", "known", "title", "cause", "fix", "fix_steps", "org_facts", "source", "cases",
    "org_reached"}`` (and ``cause_holds`` for a known code checked against the org: False when the org's
    state rules the catalogue's cause out, and the title and cause then say so); ``cause`` and ``fix`` are
    strings (``fix`` numbered lines), ``fix_steps`` and ``org_facts`` lists.
    """
    if diagnosis is None:
        return _explain_offline(entry, seen, unreachable)
    if entry is None:
        code = seen or "(none)"
        steps = [
            "Check the error text for a code (error=... in the URL) and run sixsense_troubleshoot again.",
            f"From the org state: {diagnosis['next_step']['text']}.",
        ]
        return {
            "code": code,
            "known": False,
            "title": f"unknown error code {code}",
            "cause": f"unknown error code {code}: it is not in the {VENDOR.label} error catalogue "
            f"({CATALOGUE_PATH.name}). The diagnosis below shows the org state.",
            "fix": "\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1)),
            "fix_steps": steps,
            "org_facts": [],
            "source": "",
            "cases": [],
            "org_reached": True,
        }
    facts, fixes = TAILORS.get(entry.tailor, tailor_none)(diagnosis)
    task = diagnosis["next_step"].get("task")
    if task and any(task in f for f in fixes if not f.startswith("Next:")):
        # The tailored fix already runs the next step's task: drop the repeated "Next: ..." line.
        fixes = [f for f in fixes if not f.startswith("Next:")]
    steps = list(dict.fromkeys([*fixes, *entry.fix]))
    ruled_out = any(f.startswith(RULED_OUT) for f in facts)
    facts = [f.removeprefix(RULED_OUT) for f in facts]
    if ruled_out:
        # The org's state contradicts the catalogue's cause: say so, never state it as this org's.
        cause = f"Usually: {entry.cause} That is not the cause in this org now: " + " ".join(
            f[:1].upper() + f[1:] for f in facts
        )
    else:
        cause = entry.cause + (" In this org: " + " ".join(facts) if facts else "")
    return {
        "code": entry.code,
        "known": True,
        "title": entry.title + (" (not the cause in this org now)" if ruled_out else ""),
        "cause": cause,
        "cause_holds": not ruled_out,
        "fix": "\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1)),
        "fix_steps": steps,
        "org_facts": facts,
        "source": entry.source,
        "cases": list(entry.cases),
        "org_reached": True,
    }


def _explain_offline(entry: ErrorEntry | None, seen: str | None, unreachable: str) -> dict:
    facts = unreachable_facts(unreachable or "no org was given")
    if entry is None:
        code = seen or "(none)"
        steps = [
            "Check the error text for a code (error=... in the URL) and run sixsense_troubleshoot again.",
            "Once the org can be reached, run sixsense_diagnose for the org's state.",
        ]
        return {
            "code": code,
            "known": False,
            "title": f"unknown error code {code}",
            "cause": f"unknown error code {code}: it is not in the {VENDOR.label} error catalogue "
            f"({CATALOGUE_PATH.name}). " + " ".join(facts),
            "fix": "\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1)),
            "fix_steps": steps,
            "org_facts": facts,
            "source": "",
            "cases": [],
            "org_reached": False,
        }
    steps = list(entry.fix)
    return {
        "code": entry.code,
        "known": True,
        "title": entry.title,
        "cause": entry.cause + " " + " ".join(facts),
        "fix": "\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1)),
        "fix_steps": steps,
        "org_facts": facts,
        "source": entry.source,
        "cases": list(entry.cases),
        "org_reached": False,
    }


class Troubleshoot(Diagnose):
    task_docs = f"""
Explains an error met while installing or authorizing the {VENDOR.label} connected app, using the live org state.

``error`` takes an error code (``OAUTH_APPROVAL_ERROR_GENERIC``), the URL from the browser's address bar
(``.../RemoteAccessErrorPage.apexp?error=invalid_client&error_description=app+must+be+installed+into+org``;
the ``error``, ``error_description`` and ``error_code`` parameters are read), or pasted text with a known code
or message. The catalogue is ``tasks/error_codes.yml``.

Runs the read-only diagnosis (sixsense_diagnose), picks the catalogue entry, then tailors the cause and the
fix to the org: for OAUTH_APPROVAL_ERROR_GENERIC whether the app is installed and whether the setup user holds
Approve Uninstalled Connected Apps; for OAUTH_APP_BLOCKED whether the app is on the blocked list, installed,
and whether the integration user has access; and so on. An unknown code is reported as
"unknown error code X" and the diagnosis is still shown. Never writes to the org.

Return values: ``code``, ``known`` (bool), ``title``, ``cause``, ``fix`` (numbered lines), ``fix_steps``,
``org_facts``, ``source``, ``cases``, ``input`` {{error, description, url}}, ``diagnosis`` (as sixsense_diagnose).
    """
    task_options = {
        "error": {
            "description": "The error code, the browser URL of the error page, or the pasted error text.",
            "required": True,
        },
        **{k: v for k, v in Diagnose.task_options.items() if k != "html_path"},
        "json_path": {
            "description": "Where to write the JSON report. Default: .sixsense/troubleshoot.json",
            "type": "path",
        },
        "markdown_path": {
            "description": "Where to write the Markdown report. Default: .sixsense/troubleshoot.md",
            "type": "path",
        },
    }

    default_json_path = ".sixsense/troubleshoot.json"
    default_markdown_path = ".sixsense/troubleshoot.md"

    def _validate_options(self):
        super()._validate_options()
        if not str(self.options.get("error") or "").strip():
            raise SixsenseInputError(
                "error is required: pass the error code, the browser URL or the error text, e.g. "
                "-o error OAUTH_APPROVAL_ERROR_GENERIC"
            )

    # -- an org that cannot be reached --------------------------------------------------------------------
    # The error being explained may be the one that keeps cci out of the org (CLIENT_APP_NOT_ALLOWLISTED,
    # CLIENT_APP_BLOCKED):
    # then cci's token refresh at the task's start, or the diagnosis's first read, fails. Either is
    # recorded and the catalogue's explanation is given without the org's state; nothing is retried.

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._unreachable = ""
        if (
            self.org_config is None
        ):  # cci task run without --org and no default org: explain offline
            self.salesforce_task = False
            self._unreachable = "no org was given (--org) and there is no default org"

    def _update_credentials(self):
        if self._unreachable:
            return
        try:
            super()._update_credentials()
        except Exception as error:  # noqa: BLE001 - any failure to reach the org is reported, not raised
            self._unreachable = _one_line(error)

    def _init_task(self):
        if self._unreachable:
            return
        super()._init_task()

    def _diagnose_if_reachable(self) -> dict | None:
        if self._unreachable:
            return None
        try:
            # One read first: the diagnosis reports each unreadable section as a warning, so an org that
            # refuses every call would otherwise look reached.
            self._org_kind()
            return self.diagnose()
        except SixsenseOrgError as error:
            self._unreachable = _one_line(error)
            return None

    def _run_task(self):
        parsed = parse_error_input(str(self.options["error"]))
        entry = match(parsed)
        diagnosis = self._diagnose_if_reachable()
        result = explain(entry, parsed.error or parsed.raw, diagnosis, self._unreachable)
        result["input"] = {
            "error": parsed.error,
            "description": parsed.description,
            "url": parsed.url,
        }
        result["diagnosis"] = diagnosis
        if diagnosis is None:
            self.logger.warning(f"Org not reached: {self._unreachable}")
        else:
            self._log_report(diagnosis)
        if result["known"]:
            self.logger.info(f"{result['code']}: {result['title']}")
        else:
            self.logger.warning(result["title"])
        self.logger.info(f"Cause: {result['cause']}")
        self.logger.info("Fix:")
        for line in result["fix"].splitlines():
            self.logger.info(f"  {line}")
        if result["source"]:
            self.logger.info(f"Source: {result['source']}")
        json_path = self._path("json_path")
        md_path = self._path("markdown_path")
        json_path.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
        md_path.write_text(self._troubleshoot_markdown(result), encoding="utf-8")
        result["json_path"] = str(json_path)
        result["markdown_path"] = str(md_path)
        self.return_values = result

    def _troubleshoot_markdown(self, result: dict) -> str:
        head = [
            f"# {VENDOR.label} troubleshooting: {result['code']}",
            "",
            f"**{result['title']}**",
            "",
            f"**Cause:** {result['cause']}",
            "",
            "**Fix:**",
            "",
            result["fix"],
            "",
        ]
        if result["source"]:
            head += [f"Source: {result['source']}", ""]
        if result["diagnosis"] is None:
            return "\n".join(head) + "\nThe org could not be reached: no diagnosis.\n"
        return "\n".join(head) + "\n" + render.markdown(result["diagnosis"])


def _one_line(error: BaseException) -> str:
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:1000]


def known_codes() -> list[str]:
    """Every code of the catalogue (entry codes first), for help texts."""
    out = []
    for entry in catalogue():
        for code in (entry.code, *entry.codes):
            if code not in out:
                out.append(code)
    return out
