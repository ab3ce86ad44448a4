"""A fleet run's rows and reports: ``<out>/<run>.json`` (an ``orgs`` list), ``.md`` and ``.html``.

One row per org (all values JSON; README: Fleet, "An org's row")::

    name, flow, cci_org        the fleet file's entry
    state                      "done" | "waiting" | "failed" | "could not connect"
    step                       waiting: "N. title" of the step the org waits at; else None
    state_text                 e.g. "waiting at step 3: Install the app"
    reason                     why (failed / could not connect / waiting), scrubbed; None when done
    instructions               setup, waiting: what the person must do (the flow's own instructions)
    model                      "connected app" | "ECA" | "both" | "neither" | None (not diagnosed)
    blockers                   list of text: what stops the procedure (app choice, blocked app, user, unreadable)
    token_risks                list of text: tokens that may stop syncing or be logged out
    policy_drift               list of text: app policies that differ from the desired ones (or are unreadable)
    org_id, org_kind           from the diagnosis (None when not read)
    refreshed                  True: the org id differs from the previous fleet run's; False: same; None: unknown
    refreshed_why              text
    attempts, seconds, exit_code, report (the per-org report's path)

Pure functions but :func:`write`, which writes the three files (no secret: rows hold scrubbed text only).
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from pathlib import Path

STATES = ("done", "waiting", "failed", "could not connect")
MODELS = {
    "connected_app": "connected app",
    "external_client_app": "ECA",
    "both": "both",
    "neither": "neither",
}
_POLICY_RE = re.compile(r"polic|IP relaxation|IP restrictions", re.IGNORECASE)
_TOKEN_RE = re.compile(
    r"refresh|log(?:ged|s)? (?:it )?out|token cap|\bcap\b|revok|expire", re.IGNORECASE
)


def _row(base: dict, **fields) -> dict:
    row = {
        **base,
        "state": None,
        "step": None,
        "state_text": None,
        "reason": None,
        "instructions": None,
        "model": None,
        "blockers": [],
        "token_risks": [],
        "policy_drift": [],
        "org_id": None,
        "org_kind": None,
        "refreshed": None,
        "refreshed_why": None,
        "attempts": 1,
        "report": None,
    }
    row.update(fields)
    return row


def row_failed(base: dict, reason: str, state: str = "failed") -> dict:
    """A row for an org whose process failed, timed out or could not reach the org."""
    return _row(base, state=state, state_text=f"{state}: {reason}", reason=reason)


def _blockers(d: dict) -> list[str]:
    out = []
    app = d.get("app") or {}
    if app.get("choice_required"):
        choice = app["choice_required"]
        out.append(
            f"app choice required: {choice.get('why') if isinstance(choice, dict) else choice}"
        )
    if app.get("blocked"):
        out.append(f"the app {app.get('primary') or ''} is blocked in this org".replace("  ", " "))
    # sixsense_diagnose's users.problems: whatever stops the users authorizing (missing, inactive, frozen,
    # locked out, no API access, one person in two roles), each with its fix.
    users = d.get("users") or {}
    out.extend(users.get("problems") or [])
    for section in d.get("unreadable") or []:
        out.append(f"could not read: {section}")
    return out


#: Salesforce keeps at most this many OAuth tokens per user per app; a new authorization beyond it revokes the
#: oldest (facts §10.1 "Per-user token cap"; ``tasks/queries.py`` TOKENS_PER_USER_PER_APP, not importable here).
TOKENS_PER_USER_PER_APP = 5
#: Warnings that repeat a structured drift line (connected app policies): left out when that line is there.
_REPEATS = {"refresh": "refresh-token policy breaks the sync", "ip": "IP relaxation is stricter"}


def _policy_drift(d: dict) -> list[str]:
    out = []
    repeated = []
    for label, pol in (
        ("connected app", (d.get("app") or {}).get("policies") or {}),
        ("ECA", d.get("eca") or {}),
    ):
        for key in ("refresh", "ip"):
            if pol.get(f"{key}_ok") is False:
                what = "refresh-token policy" if key == "refresh" else "IP relaxation"
                out.append(f"{label} {what}: {pol.get(f'{key}_why')}")
                repeated.append(_REPEATS[key])
    for w in d.get("warnings") or []:
        if _POLICY_RE.search(w) and not any(r in w for r in repeated):
            out.append(w)
    return out


def _token_risks(d: dict) -> list[str]:
    out = []
    for label, pol in (
        ("connected app", (d.get("app") or {}).get("policies") or {}),
        ("ECA", d.get("eca") or {}),
    ):
        if pol.get("refresh_ok") is False:
            out.append(
                f"the {label}'s refresh-token policy revokes 6sense's tokens: {pol.get('refresh_why')}"
            )
    count = (((d.get("tokens") or {}).get("integration_user") or {}).get("app") or {}).get(
        "count"
    ) or 0
    if count >= TOKENS_PER_USER_PER_APP:
        out.append(
            f"the integration user holds {count} tokens of the app, Salesforce's cap per user per app "
            f"({TOKENS_PER_USER_PER_APP}): a new authorization revokes the oldest"
        )
    others = ((d.get("tokens") or {}).get("integration_user") or {}).get("other_apps") or []
    for other in others:
        out.append(
            f"the integration user holds {other.get('count')} token(s) of {other.get('app')}: "
            "reauthorizing may log it out"
        )
    out += _switch_risks(d.get("switch_revokes"))
    for w in d.get("warnings") or []:
        # Policy warnings are drift (their token effect is the structured line above); the other-apps
        # warning is the structured line of each other app.
        if _TOKEN_RE.search(w) and not _POLICY_RE.search(w) and not w.startswith("Reauthorizing"):
            out.append(w)
    return out


def _switch_risks(revokes) -> list[str]:
    """The grants the Permitted Users switch, still ahead, will revoke (the diagnosis's ``switch_revokes``:
    ``token_loss.loss`` rows, or "could not read: why"), as one line; the recently used ones by name, since
    one of them may be the live sync (issue 17 kind 1)."""
    if isinstance(revokes, str):
        return [
            f"the Permitted Users switch ahead may revoke grants this run could not list ({revokes})"
        ]
    if not revokes:
        return []
    users = len({x.get("user") for x in revokes})
    line = f"the Permitted Users switch ahead revokes {len(revokes)} grant(s) of {users} user(s)"
    recent = [x for x in revokes if x.get("recently_used")]
    if recent:
        named = ", ".join(
            f"{x.get('user')} ({x.get('app')}, last used {x.get('last_used')})" for x in recent
        )
        line += f"; used recently, and may be the live sync: {named}"
    return [line]


def row_from_diagnosis(base: dict, d: dict, path: str | None) -> dict:
    """The row of a diagnosed org: state from ``next_step`` (done, or waiting at its step)."""
    nxt = d.get("next_step") or {}
    if nxt.get("done"):
        state, step, text = "done", None, "done"
    else:
        title, number = nxt.get("title") or nxt.get("step"), nxt.get("number")
        if isinstance(number, int):
            step, text = f"{number}. {title}", f"waiting at step {number}: {title}"
        else:  # a prerequisite or a choice, before the numbered steps
            step, text = str(title), f"waiting at: {title}"
        state = "waiting"
    drift = _policy_drift(d)
    org = d.get("org") or {}
    model = (d.get("recommendation") or {}).get("model")
    return _row(
        base,
        state=state,
        step=step,
        state_text=text,
        reason=None if state == "done" else nxt.get("why"),
        instructions=None if state == "done" else nxt.get("text"),
        model=MODELS.get(model, model),
        blockers=_blockers(d),
        token_risks=_token_risks(d),
        policy_drift=drift,
        org_id=org.get("id"),
        org_kind=org.get("kind"),
        report=path,
    )


#: What a fleet adds to the verification's own words (which page, which app, which policies keep the sync)
#: when the only open check of the connected-app verification is the refresh-token policy the org cannot
#: show by API (sixsense_verify: "refresh token policy" SKIPPED and mattering).
REFRESH_POLICY_IN_THE_FLEET = (
    "In the fleet: once checked, add refresh_token_policy_checked: true to this org's options in the fleet "
    "file and run fleet setup again."
)


def _only_the_refresh_policy_open(step: dict | None) -> bool:
    """The stopped step is the connected-app verification with nothing failed and only the refresh-token
    policy not checked (its return values, kept in the audit report)."""
    values = (step or {}).get("return_values") or {}
    return (
        (step or {}).get("task") == "sixsense_verify"
        and values.get("failed") == []
        and values.get("not_checked") == ["refresh token policy"]
    )


_PENDING_RE = re.compile(r"Manual step pending: (.+?)\.\s*\n(.*?)(?:\nTo resume:|\Z)", re.DOTALL)


def row_from_setup(base: dict, code: int, audit: dict | None, output: str) -> dict:
    """The row of an org after its flow: done (exit 0), waiting (a manual step or a consent), or failed."""
    steps = (audit or {}).get("steps") or []
    path = (audit or {}).get("_path")
    stopped = next((s for s in reversed(steps) if s.get("status") not in ("ok", "running")), None)
    changed = sum(len(s.get("changed") or []) for s in steps)
    extra = {
        "report": path,
        "changed": changed,
        "org_id": ((audit or {}).get("org") or {}).get("id")
        if isinstance((audit or {}).get("org"), dict)
        else None,
    }
    diagnosis = _diagnosis_beside(path)
    if (
        diagnosis
    ):  # the flow's step 2 diagnosed the org before any write: the same facts as diagnose
        facts = row_from_diagnosis(base, diagnosis, None)
        for key in ("model", "blockers", "token_risks", "policy_drift", "org_id", "org_kind"):
            extra[key] = facts[key]
    if code == 0:
        return _row(base, state="done", state_text="done", **extra)
    status = (stopped or {}).get("status")
    if status in ("manual step pending", "confirmation required"):
        step = f"{stopped.get('step')}. {stopped.get('task')}"
        match = _PENDING_RE.search(output)
        title = match.group(1) if match else status
        instructions = _strip_log_prefix(match.group(2)) if match else _error(stopped, output)
        return _row(
            base,
            state="waiting",
            step=step,
            state_text=f"waiting at step {stopped.get('step')}: {title}",
            reason=status,
            instructions=instructions,
            **extra,
        )
    if _only_the_refresh_policy_open(stopped):
        return _row(
            base,
            state="waiting",
            step=f"{stopped.get('step')}. {stopped.get('task')}",
            state_text=f"waiting at step {stopped.get('step')}: check the app's Refresh Token Policy",
            reason="the operator's check of a policy the org cannot show by API",
            instructions=f"{_verification_words(stopped)}\n{REFRESH_POLICY_IN_THE_FLEET}",
            **extra,
        )
    from .runner import CONNECT_RE, error_line  # late: runner imports this module

    reason = _error(stopped, output) or error_line(output) or f"cci exited with status {code}"
    state = "could not connect" if not steps and CONNECT_RE.search(output) else "failed"
    return _row(base, state=state, state_text=f"{state}: {reason}", reason=reason, **extra)


def _diagnosis_beside(audit_path: str | None) -> dict | None:
    if not audit_path:
        return None
    path = Path(audit_path).with_name(Path(audit_path).stem + "-diagnosis.json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _verification_words(step: dict) -> str:
    """The verification's own message (the audit's ``error``, without the exception's class name): it names
    the page, the app and the policies that keep the sync."""
    return re.sub(r"^\w+: ", "", str(step.get("error") or "")).strip()


def _error(step: dict | None, output: str) -> str | None:
    if step and step.get("error"):
        return str(step["error"])[:500]
    return None


def _strip_log_prefix(text: str) -> str:
    lines = [re.sub(r"^\[[^\]]*\]\s?", "", line) for line in text.splitlines()]
    return "\n".join(line for line in lines if line.strip()).strip()


def mark_refreshed(rows: list[dict], previous: dict | None) -> None:
    """Set ``refreshed`` on each row against the previous fleet run's JSON (matched by org name)."""
    before = {r.get("name"): r for r in (previous or {}).get("orgs") or []}
    for row in rows:
        old = before.get(row["name"])
        if not previous:
            row["refreshed"], row["refreshed_why"] = None, "no previous fleet run"
        elif not old or not old.get("org_id"):
            row["refreshed"], row["refreshed_why"] = None, "org id not known from the previous run"
        elif not row.get("org_id"):
            row["refreshed"], row["refreshed_why"] = None, "org id not read in this run"
        elif old["org_id"] != row["org_id"]:
            row["refreshed"] = True
            row["refreshed_why"] = (
                f"org id changed from {old['org_id']} to {row['org_id']} since run "
                f"{previous.get('run_id')}: refreshed or recreated (a refreshed sandbox loses the setup)"
            )
        else:
            row["refreshed"], row["refreshed_why"] = (
                False,
                f"same org id as run {previous.get('run_id')}",
            )


def previous_run(out_dir: Path, run_id: str) -> dict | None:
    """The newest earlier fleet JSON in ``out_dir`` (any mode), or None."""
    runs = sorted(p for p in out_dir.glob("*.json") if p.stem < run_id)
    for path in reversed(runs):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("orgs"), list):
            return data
    return None


def summary(rows: list[dict]) -> dict:
    """Count of orgs per state (every state listed, zeros included)."""
    counts = {state: 0 for state in STATES}
    for row in rows:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    return counts


def summary_line(counts: dict) -> str:
    total = sum(counts.values())
    return f"{total} orgs: " + ", ".join(f"{n} {state}" for state, n in counts.items())


def _cell(values) -> str:
    if isinstance(values, list):
        return "; ".join(values) if values else "-"
    return "-" if values in (None, "") else str(values)


def _refreshed(row: dict) -> str:
    return {True: "yes", False: "no"}.get(row.get("refreshed"), "unknown")


COLUMNS = [
    ("org", lambda r: r["name"]),
    ("state", lambda r: r["state_text"]),
    ("model", lambda r: _cell(r.get("model"))),
    ("blockers", lambda r: _cell(r.get("blockers"))),
    ("token risks", lambda r: _cell(r.get("token_risks"))),
    ("policy drift", lambda r: _cell(r.get("policy_drift"))),
    ("refreshed", _refreshed),
]


def markdown(data: dict) -> str:
    out = [
        f"# Fleet {data['mode']}: {data['run_id']}",
        "",
        f"- fleet file: `{data['fleet_file']}`; concurrency {data['concurrency']}; "
        f"{data['started_at']} to {data['finished_at']}",
        f"- summary: {summary_line(data['summary'])}",
        "",
        "| " + " | ".join(c for c, _ in COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for row in data["orgs"]:
        cells = [str(f(row)).replace("|", "\\|").replace("\n", " ") for _, f in COLUMNS]
        out.append("| " + " | ".join(cells) + " |")
    waiting = [r for r in data["orgs"] if r["state"] == "waiting" and r.get("instructions")]
    if waiting:
        out += ["", "## Waiting orgs: what to do", ""]
        for row in waiting:
            out += [f"### {row['name']}: {row['state_text']}", "", row["instructions"], ""]
    return "\n".join(out) + "\n"


def html_page(data: dict) -> str:
    """One self-contained page (no script, no network)."""
    e = html.escape
    head = "".join(f"<th>{e(c)}</th>" for c, _ in COLUMNS)
    body = "".join(
        f'<tr class="{e(r["state"].replace(" ", "-"))}">'
        + "".join(f"<td>{e(str(f(r)))}</td>" for _, f in COLUMNS)
        + "</tr>"
        for r in data["orgs"]
    )
    waiting = "".join(
        f"<h3>{e(r['name'])}: {e(r['state_text'])}</h3><pre>{e(r['instructions'])}</pre>"
        for r in data["orgs"]
        if r["state"] == "waiting" and r.get("instructions")
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Fleet {e(data['mode'])} {e(data['run_id'])}</title><style>"
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}"
        "tr.done td:nth-child(2){color:#060}tr.waiting td:nth-child(2){color:#a60}"
        "tr.failed td:nth-child(2),tr.could-not-connect td:nth-child(2){color:#b00}"
        "</style></head><body>"
        f"<h1>Fleet {e(data['mode'])}: {e(data['run_id'])}</h1>"
        f"<p>Fleet file <code>{e(data['fleet_file'])}</code>, concurrency {data['concurrency']}. "
        f"Summary: {e(summary_line(data['summary']))}</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        + (f"<h2>Waiting orgs: what to do</h2>{waiting}" if waiting else "")
        + "</body></html>\n"
    )


def write(out_dir: Path, data: dict) -> dict[str, str]:
    """Write ``<run>.json``, ``.md``, ``.html`` in ``out_dir``; returns their paths by kind."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {k: out_dir / f"{data['run_id']}.{k}" for k in ("json", "md", "html")}
    data["paths"] = {k: str(v) for k, v in paths.items()}
    paths["json"].write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    paths["md"].write_text(markdown(data), encoding="utf-8")
    paths["html"].write_text(html_page(data), encoding="utf-8")
    return {k: str(v) for k, v in paths.items()}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
