"""Diagnose's report: the sections of tables shared by the log and the Markdown report (pure)."""

from __future__ import annotations

from .. import token_loss
from ..vendor import VENDOR


def sections(d: dict) -> list[tuple[str, list[list]]]:
    """Sections of (title, table rows with a header first) shared by the log and the Markdown."""
    org, acc, app = d["org"], d["api_access_control"], d["app"]
    sections = [
        (
            "Org",
            [
                ["fact", "value"],
                ["name", org.get("name")],
                ["id", org.get("id")],
                ["kind", org.get("kind")],
                ["edition", org.get("edition")],
                ["My Domain", org.get("my_domain") or "not a My Domain URL"],
                ["instance URL", org.get("instance_url")],
                ["API version", org.get("api_version")],
            ],
        ),
        (
            "API Access Control",
            [["signal", "says"]]
            + [[k, v] for k, v in acc["signals"].items()]
            + [["result", f"provisioned={acc['provisioned']}, enforcing={acc['enforcing']}"]],
        ),
    ]
    user_rows = [
        [
            "role",
            "username",
            "active",
            "profile",
            "licence",
            "API enabled",
            "Approve Uninstalled Apps",
        ]
    ]
    for role in ("setup", "integration"):
        u = d["users"].get(role) or {}
        if not u.get("provided"):
            user_rows.append([role, "(not given)", "", "", "", "", ""])
        elif u.get("found") is None:
            user_rows.append([role, u.get("username"), "COULD NOT READ", "", "", "", ""])
        elif not u.get("found"):
            user_rows.append([role, u.get("username"), "NOT FOUND", "", "", "", ""])
        else:
            approve = u.get("approve_uninstalled_sources")
            user_rows.append(
                [
                    role,
                    u["username"],
                    "yes" if u["active"] else "NO",
                    u.get("profile"),
                    u.get("licence"),
                    _yes_no(u.get("api_enabled")),
                    "not checkable" if approve is None else (", ".join(approve) or "no"),
                ]
            )
    sections.append(("Users", user_rows))
    cand_rows = [
        ["candidate", "state", "seen in", "installed", "admin approved", "tokens", "access"]
    ]
    for c in app["candidates"]:
        cand_rows.append(
            [
                c["name"],
                c["state"],
                ", ".join(c["sources"]) or "-",
                _yes_no(c["installed"]),
                _yes_no(c["admin_approved"]) if c["installed"] else "-",
                c["token_count"],
                ", ".join(f"{a['type']} {a['name']}" for a in c.get("access") or []) or "-",
            ]
        )
    sections.append((f"{VENDOR.label} app (state: {app['state']})", cand_rows))
    if app.get("not_matched"):
        sections.append(
            (
                "Not matched: look-alike apps (not one of the configured names, never configured)",
                [["app", "seen in"]]
                + [[e["name"], ", ".join(e["seen_in"])] for e in app["not_matched"]],
            )
        )
    pol = app.get("policies") or {}
    if pol.get("read") and pol["read"] != "app not installed":
        sections.append(
            (
                f"{VENDOR.label} app policies (read from: {pol['read']})",
                [
                    ["policy", "value", "keeps the sync"],
                    [
                        "refresh token",
                        pol.get("refresh_why") or "could not read",
                        _yes_no(pol.get("refresh_ok")),
                    ],
                    [
                        "IP relaxation",
                        pol.get("ip_why") or "could not read",
                        _yes_no(pol.get("ip_ok")),
                    ],
                    [
                        "ConnectedApplication validity fields",
                        pol.get("connected_application") or "could not read",
                        _yes_no(pol.get("validity_ok")),
                    ],
                ]
                + [
                    [
                        "session policy (information)",
                        pol.get("session_policy") or "could not read",
                        "",
                    ]
                ]
                + (
                    [["effective policy", pol["effective_note"], ""]]
                    if pol.get("effective_note")
                    else []
                ),
            )
        )
    iu = (d.get("tokens") or {}).get("integration_user")
    if iu:
        a = iu["app"]
        token_rows = [
            ["app", "tokens", "first created", "last used"],
            [f"{VENDOR.label} app", a["count"], _day(a["first_created"]), _day(a["last_used"])],
        ] + [[o["app"], o["count"], "", _day(o["last_used"])] for o in iu["other_apps"]]
        sections.append((f"Tokens of {d['users']['integration']['username']}", token_rows))
    revokes = d.get("switch_revokes")
    title = "Grants the Permitted Users switch will revoke (still ahead)"
    if isinstance(revokes, str):
        sections.append((title, [["grants"], [revokes]]))
    elif revokes:
        sections.append((title, token_loss.table(revokes)))
    return sections


def markdown(d: dict) -> str:
    out = [
        f"# {VENDOR.label} connected app: diagnosis",
        "",
        f"Generated {d['generated_at']} for {d['org'].get('instance_url')}. Read-only; no token values.",
        "",
        f"**Next step:** {d['next_step']['text']}",
        "",
        f"**Model:** {d['recommendation']['model']}; **recommended flow:** "
        f"`{d['recommendation']['command']}` ({d['recommendation']['why']})",
        "",
        f"Why: {d['next_step']['why']}",
        "",
    ]
    for title, rows in sections(d):
        out += [f"## {title}", ""]
        out.append("| " + " | ".join(str(c) for c in rows[0]) + " |")
        out.append("|" + "---|" * len(rows[0]))
        for row in rows[1:]:
            out.append(
                "| "
                + " | ".join("" if c is None else str(c).replace("|", "\\|") for c in row)
                + " |"
            )
        out.append("")
    if d["warnings"]:
        out += ["## Warnings", ""] + [f"- {w}" for w in d["warnings"]] + [""]
    return "\n".join(out)


def _day(value: str | None) -> str:
    """``2025-10-03T10:00:00.000+0000`` -> ``2025-10-03`` for narrow tables (reports keep the full value)."""
    return value[:10] if value else "-"


def _yes_no(value) -> str:
    if value is None:
        return "?"
    return "yes" if value else "no"
