"""The reports as one self-contained HTML page each: diagnosis, verification, a flow run's audit (pure).

Each function takes the dict its task already writes as JSON and returns a whole page (``str``): inline CSS, no
script, no font, no image, no external address (a Content-Security-Policy meta tag forbids loading anything),
so the file opens from disk with no network. Every value goes through :func:`html.escape`; a link is made
only to an ``https://`` address the report itself holds (the org's own pages). Like the JSON, the pages hold
no token value: they show only what the dict holds.

The procedure diagram is drawn from the procedure table (``tasks/procedure.py``): one box per step, in
order, each with ``data-step`` (the step's key) and ``data-state`` (``done`` | ``current`` | ``todo`` |
``not-run``); the org's position is the box with ``data-current="true"`` (also ``aria-current="step"``).
Sections carry an ``id`` and table rows a ``data-key`` (their first cell), for people's links and for the
browser test (``tests/tasks/test_html_report_browser.py``).
"""

from __future__ import annotations

import re
from html import escape

from . import procedure
from .vendor import VENDOR

#: No network: nothing may be fetched (styles are inline; there is nothing else).
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #1b1f24;
  margin: 0; background: #f4f6f9; }
header { background: #032d60; color: #fff; padding: 18px 28px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 2px 0; opacity: .9; }
header a { color: #cfe5ff; }
main { padding: 8px 28px 28px; }
section { background: #fff; border: 1px solid #d8dde6; border-radius: 6px; margin: 16px 0; padding: 12px 16px; }
h2 { font-size: 16px; margin: 2px 0 10px; color: #032d60; }
.next { border-left: 6px solid #0176d3; }
.next p { margin: 4px 0; }
code { background: #eef1f6; padding: 1px 4px; border-radius: 3px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid #e5e9f0; }
th { background: #f3f5f8; font-weight: 600; }
ol.procedure { list-style: none; display: flex; flex-wrap: wrap; gap: 10px 26px; padding: 0; margin: 4px 0; }
ol.procedure li { position: relative; width: 150px; min-height: 74px; padding: 8px 10px; border-radius: 6px;
  border: 2px solid #c9d1dc; background: #fafbfc; color: #5c6670; font-size: 12px; }
ol.procedure li:not(:last-child)::after { content: "\\2192"; position: absolute; right: -22px; top: 26px;
  font-size: 18px; color: #8a96a3; }
ol.procedure .num { display: block; font-weight: 700; font-size: 11px; text-transform: uppercase; }
ol.procedure .state { display: block; margin-top: 4px; font-weight: 600; }
ol.procedure li.done { border-color: #2e844a; background: #ebf7ee; color: #194e31; }
ol.procedure li.current { border-color: #0176d3; background: #e5f1fd; color: #032d60; border-width: 3px;
  box-shadow: 0 0 0 3px #a9d3fb; }
ol.procedure li.todo { border-style: dashed; }
.result { font-weight: 700; }
.result-PASS { color: #2e844a; } .result-FAIL { color: #ba0517; }
.result-UNREADABLE { color: #a96404; } .result-SKIPPED { color: #5c6670; }
.status-ok { color: #2e844a; font-weight: 600; } .status-bad { color: #ba0517; font-weight: 600; }
ul.warnings li { color: #8c4b02; }
.muted { color: #5c6670; }
footer { color: #5c6670; font-size: 12px; padding: 0 28px 20px; }
"""


# -- building blocks ---------------------------------------------------------------------------------------


def text(value) -> str:
    """``value`` as escaped HTML text: None -> "", lists joined with ", ", dicts as ``key: value; ...``."""
    return escape(inline(value), quote=True)


def inline(value) -> str:
    """A value of the reports as one line of plain text (not escaped)."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return "; ".join(f"{k}: {inline(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(inline(v) for v in value)
    return str(value)


def link(url, label=None) -> str:
    """An anchor to ``url`` when it is an ``https://`` address (the org's own pages), else its text only."""
    shown = text(label if label is not None else url)
    if isinstance(url, str) and url.startswith("https://"):
        return f'<a href="{escape(url, quote=True)}">{shown}</a>'
    return shown


def slug(title: str) -> str:
    """A section id from its title: ``"Tokens of a@b.com"`` -> ``"tokens-of-a-b-com"``."""
    return re.sub(r"[^a-z0-9]+", "-", str(title).lower()).strip("-") or "section"


def table(rows: list[list], cell_class=None) -> str:
    """An HTML table of ``rows`` (header first). Each body row has ``data-key`` = its first cell.
    ``cell_class(header, value)`` may return a class for a cell (e.g. the result column)."""
    if not rows:
        return ""
    head = "".join(f"<th>{text(h)}</th>" for h in rows[0])
    body = []
    for row in rows[1:]:
        cells = []
        for header, value in zip(rows[0], row, strict=False):
            css = cell_class(header, value) if cell_class else None
            attrs = (
                f' class="{escape(css, quote=True)}" data-{slug(header)}="{text(value)}"'
                if css
                else ""
            )
            cells.append(f"<td{attrs}>{text(value)}</td>")
        key = text(row[0]) if row else ""
        body.append(f'<tr data-key="{key}">' + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def section(title: str, body: str, section_id: str | None = None, css: str = "") -> str:
    """A titled ``<section id=...>`` (id from the title unless given)."""
    cls = f' class="{escape(css, quote=True)}"' if css else ""
    return (
        f'<section id="{escape(section_id or slug(title), quote=True)}"{cls}>'
        f"<h2>{text(title)}</h2>{body}</section>"
    )


def page(title: str, subtitle_lines: list[str], body: str) -> str:
    """The whole document. ``subtitle_lines`` are HTML already (escape their values first)."""
    subtitle = "".join(f"<p>{line}</p>" for line in subtitle_lines)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{escape(CSP, quote=True)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{text(title)}</title><style>{CSS}</style></head>"
        f"<body><header><h1>{text(title)}</h1>{subtitle}</header><main>{body}</main>"
        f"<footer>Written by the {text(VENDOR.label)} setup tasks; no token values. "
        "Self-contained: opens without a network.</footer></body></html>\n"
    )


def procedure_diagram(
    steps, states: dict[str, str], current: str | None, notes: dict[str, str] | None = None
) -> str:
    """One box per step of ``steps`` (``procedure.Step``s, in order): its number, name and state.

    ``states`` maps a step key to ``done`` | ``current`` | ``todo`` | ``not-run`` (missing: ``todo``);
    ``current`` is the key of the org's position (marked ``data-current="true"``), or None; ``notes`` an
    extra line per key (e.g. a run's status)."""
    notes = notes or {}
    labels = {"done": "done", "current": "next", "todo": "to do", "not-run": "not in this run"}
    items = []
    for step in steps:
        state = states.get(step.key, "todo")
        number = f"article step {step.article_step}" if step.article_step else "prerequisite"
        marker = ' data-current="true" aria-current="step"' if step.key == current else ""
        note = notes.get(step.key)
        items.append(
            f'<li class="{escape(state, quote=True)}" data-step="{text(step.key)}" '
            f'data-state="{escape(state, quote=True)}"{marker} title="{text(step.task)}">'
            f'<span class="num">{text(number)}</span><span class="name">{text(step.name)}</span>'
            f'<span class="state">{text(note or labels.get(state, state))}</span></li>'
        )
    return f'<ol class="procedure">{"".join(items)}</ol>'


# -- diagnosis ---------------------------------------------------------------------------------------------


def diagnosis_position(d: dict) -> tuple[dict[str, str], str | None]:
    """(state per connected-app step key, the key of the next step or None) from ``d["next_step"]``: steps
    before the next one are done, it is current, those after are to do; when the next step is outside the
    procedure (a blocked app, a name to pin, an unknown user), nothing is current and nothing done."""
    nxt = d.get("next_step") or {}
    entry = procedure.step_for_task(nxt.get("task") or "")
    keys = [s.key for s in procedure.CONNECTED_APP_STEPS]
    if entry is None or entry.key not in keys:
        return {k: "todo" for k in keys}, None
    at = keys.index(entry.key)
    states = {k: ("done" if i < at else "todo") for i, k in enumerate(keys)}
    states[entry.key] = "done" if nxt.get("done") else "current"
    return states, entry.key


def diagnosis_page(d: dict, sections: list[tuple[str, list[list]]]) -> str:
    """The diagnosis page: next step and recommendation, the procedure diagram with the org's position,
    ``sections`` (``tasks/diagnose/render.sections(d)``: org, users, app candidates, policies, tokens), the
    access to the app and the warnings. ``d``: the diagnosis dict (``tasks/diagnose/task.py``)."""
    org = d.get("org") or {}
    nxt = d.get("next_step") or {}
    rec = d.get("recommendation") or {}
    states, current = diagnosis_position(d)
    off = (
        ""
        if current
        else f'<p class="muted" data-off-procedure="true">The next step is outside the procedure: '
        f"{text(nxt.get('step'))}.</p>"
    )
    body = [
        section(
            "Next step",
            f"<p><strong>{text(nxt.get('text'))}</strong></p><p>Why: {text(nxt.get('why'))}</p>"
            + (
                f"<p>Command: <code>{text(nxt.get('command'))}</code></p>"
                if nxt.get("command")
                else ""
            )
            + f"<p>Model: {text(rec.get('model'))}; recommended flow: <code>"
            f"{text(rec.get('command'))}</code> "
            f"({text(rec.get('why'))})</p>",
            "next-step",
            "next",
        ),
        section(
            f"The procedure ({VENDOR.label} connected app)",
            procedure_diagram(procedure.CONNECTED_APP_STEPS, states, current) + off,
            "procedure",
        ),
    ]
    ids = {"Users": "users", "Org": "org", "API Access Control": "api-access-control"}
    for title, rows in sections:
        sid = ids.get(title)
        if sid is None and title.startswith(f"{VENDOR.label} app (state"):
            sid = "app-candidates"
        elif sid is None and title.startswith(f"{VENDOR.label} app policies"):
            sid = "policies"
        elif sid is None and title.startswith("Tokens of"):
            sid = "tokens"
        body.append(section(title, table(rows), sid))
    body.append(section(f"Access to the {VENDOR.label} app", _access(d), "access"))
    warnings = d.get("warnings") or []
    if warnings:
        items = "".join(f"<li>{text(w)}</li>" for w in warnings)
        body.append(section("Warnings", f'<ul class="warnings">{items}</ul>', "warnings"))
    return page(
        f"{VENDOR.label} connected app: diagnosis",
        [
            f"{text(org.get('name'))} ({text(org.get('kind'))}) — {link(org.get('instance_url'))}",
            f"Generated {text(d.get('generated_at'))}. Read-only; no token values.",
        ],
        "".join(body),
    )


def _access(d: dict) -> str:
    """Who has access to the app (SetupEntityAccess rows) and whether the integration user does."""
    app = d.get("app") or {}
    rows = [["type", "name", "app"]]
    names = {c.get("connected_application_id"): c.get("name") for c in app.get("candidates") or []}
    rows += [
        [a.get("type"), a.get("name"), names.get(a.get("app_id"), "")]
        for a in app.get("access") or []
    ]
    out = (
        table(rows)
        if len(rows) > 1
        else '<p class="muted">No permission set or profile has access.</p>'
    )
    integration = (d.get("users") or {}).get("integration") or {}
    if integration.get("found"):
        has = integration.get("has_app_access")
        via = ", ".join(integration.get("app_access_via") or []) or "nothing"
        out += (
            f"<p>{text(integration.get('username'))}: "
            + ("has access through " + text(via) if has else "<strong>no access</strong>")
            + "</p>"
        )
    return out


# -- verification ------------------------------------------------------------------------------------------


def _result_class(header, value):
    return f"result result-{value}" if header == "result" else None


def verification_page(report: dict, title: str) -> str:
    """The verification page: the verdict and each check (expected, actual, the fix) with its result
    (PASS | FAIL | UNREADABLE | SKIPPED), then the checks that did not run and why. ``report``: the JSON
    report of ``check_report.CheckReport``."""
    passed = report.get("passed")
    checks = report.get("checks") or []
    rows = [["check", "expected", "actual (evidence)", "result", "fix"]] + [
        [c.get("check"), c.get("expected"), c.get("actual"), c.get("result"), c.get("fix")]
        for c in checks
    ]
    counts = {}
    for c in checks:
        counts[c.get("result")] = counts.get(c.get("result"), 0) + 1
    verdict = (
        '<p class="status-ok" data-passed="true">Passed.</p>'
        if passed
        else '<p class="status-bad" data-passed="false">Not passed.</p>'
    ) + f"<p>{text(', '.join(f'{n} {r}' for r, n in counts.items()))}</p>"
    body = [
        section("Verdict", verdict, "verdict", "next"),
        section("Checks", table(rows, _result_class), "checks"),
    ]
    not_checked = report.get("not_checked") or []
    if not_checked:
        nrows = [["check", "result", "reason", "matters", "note"]] + [
            [
                n.get("check"),
                n.get("result"),
                n.get("reason"),
                "yes" if n.get("matters") else "no",
                n.get("note"),
            ]
            for n in not_checked
        ]
        body.append(section("Not checked", table(nrows, _result_class), "not-checked"))
    fields = {
        k: v
        for k, v in report.items()
        if k not in ("checks", "not_checked", "passed", "generated_at", "instance_url")
    }
    body.append(
        section("Run", table([["field", "value"]] + [[k, v] for k, v in fields.items()]), "run")
    )
    return page(
        title,
        [
            link(report.get("instance_url")),
            f"Generated {text(report.get('generated_at'))}. Read-only; no token values.",
        ],
        "".join(body),
    )


# -- audit -------------------------------------------------------------------------------------------------


def audit_position(data: dict) -> tuple[tuple, dict[str, str], str | None, dict[str, str]]:
    """(the route's steps, state per key, current key, note per key) of a run: the route whose tasks the run
    ran (the External Client App route when it ran only those); a step that ended ``ok`` is done, the first
    step that did not is current (its status as the note), steps not run are ``not-run``."""
    entries = {}
    for s in data.get("steps") or []:
        entries[s.get("task")] = s  # the last entry of a task wins
    ran_eca = any(s.task in entries for s in procedure.ECA_STEPS)
    ran_ca = any(s.task in entries for s in procedure.CONNECTED_APP_STEPS[2:])
    steps = procedure.ECA_STEPS if ran_eca and not ran_ca else procedure.CONNECTED_APP_STEPS
    states, notes, current = {}, {}, None
    for step in steps:
        entry = entries.get(step.task)
        if entry is None:
            states[step.key] = "not-run"
        elif entry.get("status") == "ok":
            states[step.key] = "done"
        else:
            states[step.key] = "current" if current is None else "todo"
            notes[step.key] = str(entry.get("status"))
            current = current or step.key
    return steps, states, current, notes


def audit_page(data: dict) -> str:
    """The audit page of a flow run: its steps on the procedure diagram, each step's status, the changes
    made (with their evidence, e.g. the SetupAuditTrail entry of a manual step), who loses sessions
    (``sessions_affected``), what was skipped (with the evidence of a step found already done), consent,
    plan. ``data``: ``audit.AuditRun.data``."""
    org = data.get("org") or {}
    steps = data.get("steps") or []
    route, states, current, notes = audit_position(data)
    body = [
        section(
            "The procedure in this run",
            procedure_diagram(route, states, current, notes),
            "procedure",
        )
    ]
    rows = [["step", "task", "status", "duration (s)", "started", "error"]] + [
        [
            s.get("step"),
            s.get("task"),
            s.get("status"),
            s.get("duration_seconds"),
            s.get("started_at"),
            (s.get("error") or "").split("\n")[0],
        ]
        for s in steps
    ]
    body.append(section("Steps", table(rows), "steps"))
    changes = [["step", "task", "changed", "evidence"]]
    for s in steps:
        for c in s.get("changed") or []:
            if isinstance(c, dict):
                rest = {k: v for k, v in c.items() if k != "evidence"}
                changes.append([s.get("step"), s.get("task"), rest, c.get("evidence") or "-"])
            else:
                changes.append([s.get("step"), s.get("task"), c, "-"])
    body.append(
        section(
            "Changes made" + (" (plan: none, see below)" if data.get("plan") else ""),
            table(changes)
            if len(changes) > 1
            else '<p class="muted">Nothing changed in the org.</p>',
            "changes",
        )
    )
    sessions = [["step", "task", "user", "app", "tokens", "effect"]]
    for s in steps:
        for a in s.get("sessions_affected") or []:
            a = a if isinstance(a, dict) else {"effect": a}
            sessions.append(
                [
                    s.get("step"),
                    s.get("task"),
                    a.get("user"),
                    a.get("app"),
                    a.get("tokens"),
                    a.get("effect"),
                ]
            )
    body.append(
        section(
            "Who loses sessions",
            table(sessions) if len(sessions) > 1 else '<p class="muted">No session affected.</p>',
            "sessions",
        )
    )
    skipped = [["step", "task", "skipped", "evidence"]] + [
        [s.get("step"), s.get("task"), c, s.get("evidence") or "-"]
        for s in steps
        for c in s.get("skipped") or []
    ]
    if len(skipped) > 1:
        body.append(section("Skipped", table(skipped), "skipped"))
    if data.get("plan"):
        plan = [["task", "would"]] + [
            [s.get("task"), p] for s in steps for p in s.get("plan") or []
        ]
        plan += [
            [s.get("task"), f"manual step remains: {m}"]
            for s in steps
            for m in s.get("manual_steps_remaining") or []
        ]
        body.append(section("Plan (nothing was written)", table(plan), "plan"))
    consent = data.get("consent") or []
    if consent:
        crows = [["what", "step", "at", "OS user"]] + [
            [c.get("what"), c.get("step"), c.get("at"), c.get("os_user")] for c in consent
        ]
        body.append(section("Consent given at the terminal", table(crows), "consent"))
    status = data.get("status")
    css = "status-ok" if status == "ok" else "status-bad"
    return page(
        f"{VENDOR.label} audit: {data.get('flow')}" + (" (plan)" if data.get("plan") else ""),
        [
            f'run {text(data.get("run_id"))}, status <span class="{css}" data-status="{text(status)}">'
            f"{text(status)}</span>",
            f"{link(org.get('instance_url'))} ({text(org.get('org_id'))}) as {text(org.get('username'))}",
            f"started {text(data.get('started_at'))}, last update {text(data.get('finished_at') or '-')}",
        ],
        "".join(body),
    )
