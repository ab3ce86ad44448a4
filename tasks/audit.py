"""The audit report of a flow run: JSON, Markdown and HTML (``tasks/html_report.py``), updated as each sixsense step ends (also on failure).

One report per run of a flow, identified by the ``FlowCoordinator`` cci passes to each task (``task.flow``):
the first sixsense step of the run creates it (``sixsense_validate_inputs``, which takes ``audit_dir``), every
later step appends its entry and rewrites the files, so a run that stops at a pending manual step or fails
still leaves a complete record of what happened up to there.

Each step entry: task, step number, start/end timestamps, duration, status (ok | failed | manual step pending
| confirmation required | input error), state before and after, what was changed, what was skipped, what was
waited for and for how long, the org's evidence of a manual Setup step (its SetupAuditTrail entry, also for a
step found already done), and in plan mode what would change and which manual steps remain.

No secrets: the tasks never read token values, and everything written is scrubbed of the org's access and
refresh tokens as a last line of defence.

Truthful on disk: each run has a unique id (time, flow and a random suffix), so concurrent runs never share a
report; files are written atomically (a private temporary file, mode 0600, renamed over the report, so a
symlink planted at the report's path is replaced, never followed); the report records the process that
writes it, and the next run in the same folder marks a report left "running" by a process that no longer
exists as ``interrupted``. Consent given at a terminal is recorded with its time and the OS user.
``sixsense_history`` lists the runs of a folder.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets as random_tokens
import socket
import subprocess
import tempfile
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from . import html_report
from .errors import SixsenseInputError
from .vendor import VENDOR

DEFAULT_AUDIT_DIR = ".sixsense/audit"
REDACTED = "[redacted]"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def cumulusci_version() -> str:
    try:
        from cumulusci import __version__

        return str(__version__)
    except Exception:  # pragma: no cover - cumulusci always has it
        return "unknown"


def project_version(project_config) -> str:
    """``project: package: version`` of cumulusci.yml if set, else ``git describe --tags --always --dirty``
    of the repository, else ``unknown``."""
    try:
        version = project_config.project__package__version
    except Exception:
        version = None
    if version:
        return str(version)
    root = getattr(project_config, "repo_root", None) or "."
    try:
        result = subprocess.run(
            ["git", "describe", "--tags", "--always", "--dirty"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else "unknown"


def _secrets_of(org_config) -> set[str]:
    """Token-like values of the org config (access/refresh token and any *token*/*secret* key)."""
    secrets = set()
    if org_config is None:
        return secrets
    for name in ("access_token", "refresh_token"):
        value = getattr(org_config, name, None)
        if isinstance(value, str) and len(value) >= 8:
            secrets.add(value)
    config = getattr(org_config, "config", None) or {}
    for key, value in config.items():
        if isinstance(value, str) and len(value) >= 8 and ("token" in key or "secret" in key):
            secrets.add(value)
    return secrets


def scrub(text: str, secrets) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def status_of(error: BaseException | None) -> str:
    if error is None:
        return "ok"
    name = type(error).__name__
    return {
        "ManualStepPending": "manual step pending",
        "ConfirmationRequired": "confirmation required",
        "SixsenseInputError": "input error",
        "TaskOptionsError": "input error",
        "VerificationFailed": "verification failed",
    }.get(name, "failed")


def resolve_audit_dir(project_config, value: str | None) -> Path:
    """``audit_dir`` as an absolute path: ``~`` expanded, a relative path taken from the project folder
    (``project_config.repo_root``, where cumulusci.yml is; the current folder without a project), default
    :data:`DEFAULT_AUDIT_DIR`. It must be, or be creatable as, a writable directory (checked without creating
    anything): else ``SixsenseInputError`` in one line naming the path and the reason."""
    text = value.strip() if isinstance(value, str) and value.strip() else DEFAULT_AUDIT_DIR
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = Path(getattr(project_config, "repo_root", None) or Path.cwd()) / path
    if path.exists() and not path.is_dir():
        raise SixsenseInputError(f"audit_dir {path} is a file; pass a directory.")
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise SixsenseInputError(
            f"audit_dir {path} cannot be created: {probe} is not a writable directory; pass a "
            "writable directory, e.g. -o audit_dir .sixsense/audit."
        )
    return path


def os_user() -> str:
    """The operating-system user running this process (``getpass.getuser``), or ``unknown``."""
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers): say so rather than guess
        return "unknown"


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically with mode 0600: a new temporary file in the same folder, then
    ``os.replace`` (a symlink at ``path`` is replaced, never followed). ``OSError`` as raised."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _process_alive(pid) -> bool:
    """Whether process ``pid`` exists on this host (signal 0; a process of another user counts as alive)."""
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, TypeError, OverflowError):
        return True
    return True


def mark_interrupted(audit_dir: Path, by_run: str) -> list[str]:
    """Reports in ``audit_dir`` still ``running`` whose writer process (same host) no longer exists: mark
    them ``interrupted`` (with the step that was running), noting ``by_run``. Returns their run ids."""
    host = socket.gethostname()
    found = []
    for path in sorted(audit_dir.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        writer = data.get("writer") or {}
        if data.get("status") != "running" or writer.get("host") != host:
            continue
        if _process_alive(writer.get("pid")):
            continue
        data["status"] = "interrupted"
        data["interrupted"] = {"noted_at": now_iso(), "noted_by_run": by_run}
        for step in data.get("steps") or []:
            if step.get("status") == "running":
                step["status"] = "interrupted"
        write_private(path, json.dumps(data, indent=2, default=str) + "\n")
        found.append(data.get("run_id") or path.stem)
    return found


def list_runs(audit_dir: Path) -> list[dict]:
    """Every report in ``audit_dir``, oldest first: ``{run_id, flow, status, started_at, finished_at, org,
    changed (count), consent (count), path}``; unreadable files are listed with status ``unreadable``."""
    runs = []
    for path in sorted(audit_dir.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            steps = data.get("steps") or []
            runs.append(
                {
                    "run_id": data.get("run_id") or path.stem,
                    "flow": data.get("flow"),
                    "status": data.get("status"),
                    "started_at": data.get("started_at"),
                    "finished_at": data.get("finished_at"),
                    "org": (data.get("org") or {}).get("instance_url"),
                    "changed": sum(len(s.get("changed") or []) for s in steps),
                    "consent": len(data.get("consent") or []),
                    "path": str(path),
                }
            )
        except (OSError, ValueError, AttributeError) as error:
            runs.append(
                {
                    "run_id": path.stem,
                    "status": "unreadable",
                    "path": str(path),
                    "error": str(error),
                }
            )
    return sorted(runs, key=lambda r: r.get("started_at") or "")


class AuditRun:
    """The audit report of one flow run. Obtain it with ``run_for(task)``."""

    def __init__(self, flow, audit_dir: Path, project_config, org_config):
        started = datetime.now(UTC)
        flow_name = getattr(flow, "name", None) or "flow"
        stamp = started.strftime("%Y%m%dT%H%M%SZ")
        try:
            audit_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            raise SixsenseInputError(
                f"audit_dir {audit_dir} cannot be created: {error.strerror or error}."
            ) from None
        base = f"{stamp}-{flow_name}-{random_tokens.token_hex(4)}"
        self.run_id = base
        self.json_path = audit_dir / f"{base}.json"
        self.md_path = audit_dir / f"{base}.md"
        self.html_path = audit_dir / f"{base}.html"
        self.secrets = _secrets_of(org_config)
        self.data = {
            "run_id": base,
            "flow": flow_name,
            "plan": False,
            "status": "running",
            "started_at": started.isoformat(timespec="milliseconds"),
            "finished_at": None,
            "cumulusci_version": cumulusci_version(),
            "project": {
                "name": _safe_attr(project_config, "project__name"),
                "version": project_version(project_config),
            },
            "org": {
                "instance_url": getattr(org_config, "instance_url", None),
                "org_id": getattr(org_config, "org_id", None),
                "username": getattr(org_config, "username", None),
            },
            "writer": {"pid": os.getpid(), "host": socket.gethostname(), "os_user": os_user()},
            "interrupted_runs_found": mark_interrupted(audit_dir, base),
            "consent": [],
            "steps": [],
        }

    # -- steps -----------------------------------------------------------------------------------------

    def begin(self, task) -> dict:
        entry = {
            "step": str(getattr(task, "stepnum", "") or ""),
            "task": getattr(task, "name", None) or type(task).__name__,
            "class": f"{type(task).__module__}.{type(task).__name__}",
            "status": "running",
            "started_at": now_iso(),
            "finished_at": None,
            "duration_seconds": None,
            "before": None,
            "after": None,
            "changed": [],
            "skipped": [],
            "waits": [],
            "plan": [],
            "manual_steps_remaining": [],
            "sessions_affected": [],
            "evidence": None,
            "return_values": {},
            "error": None,
        }
        self.data["steps"].append(entry)
        self.write()
        return entry

    def end(self, task, entry: dict, error: BaseException | None = None):
        entry["finished_at"] = now_iso()
        started = datetime.fromisoformat(entry["started_at"])
        entry["duration_seconds"] = round((datetime.now(UTC) - started).total_seconds(), 3)
        entry["status"] = status_of(error)
        if error is not None:
            entry["error"] = f"{type(error).__name__}: {error}"
        notes = getattr(task, "audit_notes", None) or {}
        for key, value in notes.items():
            if isinstance(entry.get(key), list):
                entry[key] = list(value)
            else:
                entry[key] = value
        try:
            entry["return_values"] = task._audit_return_values()
        except Exception:
            entry["return_values"] = {}
        if notes.get("plan_mode"):
            self.data["plan"] = True
        entry.pop("plan_mode", None)
        failed = [s for s in self.data["steps"] if s["status"] not in ("ok", "running")]
        self.data["status"] = failed[-1]["status"] if failed else "ok"
        self.data["finished_at"] = entry["finished_at"]
        self.write()

    def init_failed(self, task, error: BaseException):
        """A step whose options were refused (raised while cci constructed it)."""
        entry = self.begin(task)
        self.end(task, entry, error)

    # -- summaries -------------------------------------------------------------------------------------

    def would_change(self) -> list[str]:
        return [f"{s['task']}: {line}" for s in self.data["steps"] for line in s["plan"]]

    def manual_remaining(self) -> list[str]:
        out = []
        for s in self.data["steps"]:
            for line in s["manual_steps_remaining"]:
                if line not in out:
                    out.append(line)
        return out

    def note_api_usage(self, usage) -> None:
        """Record the org's API usage read from a response's ``Sforce-Limit-Info`` (simple-salesforce's
        ``api_usage["api-usage"]``: ``Usage(used, total)``): the first and the latest reading of the run."""
        if usage is None:
            return
        reading = {"used": int(usage.used), "total": int(usage.total), "at": now_iso()}
        readings = self.data.setdefault("api_usage", {})
        readings.setdefault("first", reading)
        readings["last"] = reading

    def summary_lines(self) -> list[str]:
        """The end-of-run summary: what changed in the org, which manual steps were done (verified by
        query), what is left, the org's API usage over the run, and where the report is."""
        steps = self.data["steps"]
        changed = [f"{s['task']}: {_inline(c)}" for s in steps for c in s["changed"]]
        done = [
            f"{s['task']}: {w.get('outcome')}"
            for s in steps
            for w in s["waits"]
            if str(w.get("outcome", "")).startswith("done")
        ]
        left = [
            f"{s['task']}: {s['status']}" for s in steps if s["status"] not in ("ok", "running")
        ]
        lines = ["Run summary:", "  Changed in the org:"]
        lines += [f"    - {c}" for c in changed] or ["    - nothing"]
        lines.append("  Manual steps done while waiting (verified by query):")
        lines += [f"    - {d}" for d in done] or ["    - none"]
        lines.append("  Left:")
        lines += [f"    - {x}" for x in left] or ["    - nothing: every step finished"]
        usage = self.data.get("api_usage")
        if usage:
            first, last = usage["first"], usage["last"]
            lines.append(
                f"  API requests counted by the org during the run: {last['used'] - first['used']} "
                f"(daily allowance used {last['used']} of {last['total']}; Sforce-Limit-Info)"
            )
        else:
            lines.append("  API requests: the org reported no Sforce-Limit-Info usage")
        lines.append(f"  Audit report: {self.json_path}")
        return lines

    def plan_summary_lines(self) -> list[str]:
        lines = ["Plan (nothing was written):", "  Would change:"]
        lines += [f"    - {c}" for c in self.would_change()] or ["    - nothing"]
        lines.append("  Manual steps remaining:")
        lines += [f"    - {m}" for m in self.manual_remaining()] or ["    - none"]
        return lines

    # -- files -----------------------------------------------------------------------------------------

    def record_consent(self, task, what: str) -> dict:
        """Record a consent given at the terminal: ``{what, step, at, os_user}``, in the run's ``consent``."""
        entry = {
            "what": what,
            "step": getattr(task, "name", None) or type(task).__name__,
            "at": now_iso(),
            "os_user": os_user(),
        }
        self.data["consent"].append(entry)
        self.write()
        return entry

    def write(self):
        text = json.dumps(self.data, indent=2, default=str) + "\n"
        write_private(self.json_path, scrub(text, self.secrets))
        write_private(self.md_path, scrub(self.markdown(), self.secrets))
        write_private(self.html_path, scrub(html_report.audit_page(self.data), self.secrets))

    def markdown(self) -> str:
        d = self.data
        out = [
            f"# {VENDOR.label} audit: {d['flow']}{' (plan)' if d['plan'] else ''}",
            "",
            f"- run: `{d['run_id']}`, status **{d['status']}**",
            f"- started {d['started_at']}, last update {d['finished_at'] or '-'}",
            f"- org: {d['org']['instance_url']} ({d['org']['org_id']}) as {d['org']['username']}",
            f"- CumulusCI {d['cumulusci_version']}, project {d['project']['name']} "
            f"{d['project']['version']}",
            f"- written by {d['writer']['os_user']} (process {d['writer']['pid']} on {d['writer']['host']})",
        ]
        out += [
            f"- consent at the terminal: {c['what']} ({c['step']}, {c['at']}, by {c['os_user']})"
            for c in d["consent"]
        ]
        out += [f"- found interrupted and marked: {r}" for r in d["interrupted_runs_found"]]
        out += [
            "",
            "| step | task | status | duration (s) | changed | skipped | waited |",
            "|---|---|---|---|---|---|---|",
        ]
        for s in d["steps"]:
            waited = sum(w.get("seconds") or 0 for w in s["waits"])
            out.append(
                f"| {s['step']} | {s['task']} | {s['status']} | {s['duration_seconds']} | "
                f"{len(s['changed'])} | {len(s['skipped'])} | {waited if s['waits'] else '-'} |"
            )
        out.append("")
        for s in d["steps"]:
            out += [f"## {s['step']}. {s['task']}: {s['status']}", ""]
            out.append(f"- {s['started_at']} -> {s['finished_at'] or '(running)'}")
            if s["before"] is not None:
                out.append(f"- before: {_inline(s['before'])}")
            if s["after"] is not None:
                out.append(f"- after: {_inline(s['after'])}")
            for c in s["changed"]:
                out.append(f"- changed: {_inline(c)}")
            for c in s["skipped"]:
                out.append(f"- skipped: {_inline(c)}")
            if s.get("evidence") and not s["changed"]:  # a change carries its own evidence
                out.append(f"- evidence: {s['evidence']}")
            for w in s["waits"]:
                out.append(
                    f"- waited for {w.get('what')}: {w.get('seconds')} s, {w.get('checks')} checks, "
                    f"{w.get('outcome')} ({w.get('started_at')} -> {w.get('finished_at')})"
                )
            for c in s["sessions_affected"]:
                out.append(f"- sessions affected: {_inline(c)}")
            for c in s["plan"]:
                out.append(f"- would: {c}")
            for c in s["manual_steps_remaining"]:
                out.append(f"- manual step remains: {c}")
            if s["error"]:
                out.append(f"- error: {s['error'].splitlines()[0]}")
            out.append("")
        if d["plan"]:
            out += ["## Plan summary", ""] + [line.strip() for line in self.plan_summary_lines()]
            out.append("")
        return "\n".join(out)


def _inline(value) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_inline(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_inline(v) for v in value) or "none"
    return str(value)


def _safe_attr(obj, name):
    try:
        return getattr(obj, name)
    except Exception:
        return None


@dataclass
class FlowRun:
    """What the sixsense steps of one flow run share, and nothing else: its audit report (``audit``),
    whether someone confirmed writing to production at a terminal (``production_confirmed``, asked once
    per run by ``SixsenseOrgMixin._confirm_production``), and the keys of the connected user's rights
    already checked in this run (``rights_checked``: ``connected_user.REQUIREMENTS`` keys, all of them once
    ``sixsense_validate_inputs`` passed). Obtain it with :func:`flow_run`."""

    audit: AuditRun | None = None
    production_confirmed: bool = False
    rights_checked: set[str] = field(default_factory=set)


#: The one home of the shared state of flow runs: ``{id(flow): (reference to the flow, FlowRun)}``, keyed by
#: the identity of the ``FlowCoordinator`` cci passes to each step (``task.flow``). Nothing is stored on
#: cci's objects. An entry goes when its flow is garbage-collected (``weakref.finalize``).
_FLOW_RUNS: dict[int, tuple[object, FlowRun]] = {}


def flow_run(flow) -> FlowRun:
    """The shared state of the flow run ``flow`` (a cci ``FlowCoordinator``), created on first use."""
    entry = _FLOW_RUNS.get(id(flow))
    if entry is not None and entry[0]() is flow:
        return entry[1]
    try:
        ref = weakref.ref(flow)
        weakref.finalize(flow, _FLOW_RUNS.pop, id(flow), None)
    except (
        TypeError
    ):  # an object without weak references (a test's stand-in): kept while the process runs
        ref = lambda: flow  # noqa: E731
    state = FlowRun()
    _FLOW_RUNS[id(flow)] = (ref, state)
    return state


def run_for(task, create: bool = True) -> AuditRun | None:
    """The audit run of ``task``'s flow (created by the first sixsense step), or None outside a flow."""
    flow = getattr(task, "flow", None)
    if flow is None:
        return None
    state = flow_run(flow)
    run = state.audit
    if run is None and create:
        options = getattr(task, "options", None) or {}
        audit_dir = options.get("audit_dir")
        if not isinstance(audit_dir, str) or audit_dir.startswith("^^"):
            audit_dir = None
        path = resolve_audit_dir(task.project_config, audit_dir)
        run = AuditRun(flow, path, task.project_config, getattr(task, "org_config", None))
        state.audit = run
    return run
