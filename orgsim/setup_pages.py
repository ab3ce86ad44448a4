"""Plain server-rendered Setup pages at Salesforce's paths, so the deep links the tasks print work here too.

- ``GET /lightning/setup/ConnectedAppsUsage/home``: Connected Apps OAuth Usage (facts §7.1): each visible
  app with its user count and Install / Block / Unblock buttons, and a "Manage App Policies" link once
  installed.
- ``GET /lightning/setup/ConnectedAppsUsage/page?address=/app/mgmt/forceconnectedapps/forceAppDetail.apexp?applicationId=<0H4 id>``
  (the app's policy page; also ``/lightning/setup/ConnectedApps/page?...``): Permitted Users select.
- ``POST /lightning/setup/ConnectedAppsUsage/action``: form target (``op`` = install | block | unblock |
  policy, ``app``, ``permitted_users``); runs the same ``platform`` action as ``/_sim/actions/*`` and redirects
  back with a message.

Session: the access token from ``?sid=`` (kept in a ``sid`` cookie) or a ``sid`` cookie; viewing the page
needs View Setup and Configuration and Manage Users (facts §4.1). Without a valid session the page says so
(a real org would show its login page).
"""

from __future__ import annotations

import html
import urllib.parse

from flask import Flask, Response, g, redirect, request

from orgsim.autopilot import run_action
from orgsim.errors import ActionError, SalesforceError

HOME = "/lightning/setup/ConnectedAppsUsage/home"
DETAIL = "/app/mgmt/forceconnectedapps/forceAppDetail.apexp?applicationId="


def policy_url(connected_application_id: str) -> str:
    """Deep link to an installed app's policy page."""
    return "/lightning/setup/ConnectedAppsUsage/page?address=" + urllib.parse.quote(
        DETAIL + connected_application_id
    )


def _page(title: str, body: str, status: int = 200, sid: str | None = None) -> Response:
    doc = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)} | Salesforce</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px}.msg{background:#eef;padding:6px}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    resp = Response(doc, status=status, mimetype="text/html")
    if sid:
        resp.set_cookie("sid", sid, httponly=True, secure=True, samesite="Lax")
    return resp


def register(app: Flask, ctx) -> None:
    def _session():
        sid = request.args.get("sid") or request.form.get("sid") or request.cookies.get("sid")
        try:
            user = ctx.org.session_user(sid)
        except SalesforceError:
            return None, sid
        if not (
            ctx.org.has_permission(user["Id"], "ViewSetup")
            and ctx.org.has_permission(user["Id"], "ManageUsers")
        ):
            return None, sid
        return user, sid

    def _denied():
        return _page(
            "Insufficient Privileges",
            "<p>Log in first: open this page with <code>?sid=ACCESS_TOKEN</code> as a user with View Setup and "
            "Configuration and Manage Users.</p>",
            status=403,
        )

    @app.get(HOME)
    def oauth_usage():
        g.action = "ConnectedAppsUsage"
        with ctx.org.lock:
            user, sid = _session()
            if not user:
                return _denied()
            rows = []
            for a in ctx.org.apps():
                if not a["visible"]:
                    continue
                buttons = []
                if not a["installed"]:
                    buttons.append(_button("install", a["name"], "Install"))
                else:
                    buttons.append(
                        f"<a href='{policy_url(a['connected_application_id'])}'>Manage App Policies</a>"
                    )
                buttons.append(
                    _button(
                        "unblock" if a["blocked"] else "block",
                        a["name"],
                        "Unblock" if a["blocked"] else "Block",
                    )
                )
                rows.append(
                    f"<tr><td>{html.escape(a['label'])}</td><td>{'Installed' if a['installed'] else 'Not installed'}"
                    f"{' (blocked)' if a['blocked'] else ''}</td><td>{a['user_count']}</td><td>{' '.join(buttons)}</td></tr>"
                )
            msg = request.args.get("msg")
            body = (f"<p class='msg'>{html.escape(msg)}</p>" if msg else "") + (
                "<table><tr><th>Connected App</th><th>Status</th><th>User Count</th><th>Action</th></tr>"
                + "".join(rows)
                + "</table>"
                if rows
                else "<p>No connected apps have been used in this org.</p>"
            )
            return _page("Connected Apps OAuth Usage", body, sid=sid)

    @app.get("/lightning/setup/ConnectedAppsUsage/page")
    @app.get("/lightning/setup/ConnectedApps/page")
    def app_policies():
        g.action = "ConnectedAppPolicies"
        with ctx.org.lock:
            user, sid = _session()
            if not user:
                return _denied()
            address = request.args.get("address", "")
            app_id = (
                address.split("applicationId=", 1)[-1][:18] if "applicationId=" in address else ""
            )
            state = next(
                (a for a in ctx.org.apps() if a["connected_application_id"] == app_id), None
            )
            if state is None:
                return _page(
                    "Connected App",
                    "<p>Data Not Available: the app is not installed.</p>",
                    404,
                    sid,
                )
            selected = "admin_approved" if state["admin_approved"] else "all_users"
            options = "".join(
                f"<option value='{v}'{' selected' if v == selected else ''}>{t}</option>"
                for v, t in (
                    ("all_users", "All users may self-authorize"),
                    ("admin_approved", "Admin approved users are pre-authorized"),
                )
            )
            body = (
                f"<p>Connected App: <b>{html.escape(state['label'])}</b></p>"
                f"<form method='post' action='/lightning/setup/ConnectedAppsUsage/action'>"
                f"<input type='hidden' name='op' value='policy'><input type='hidden' name='app' value='{html.escape(state['name'])}'>"
                f"<label>Permitted Users <select name='permitted_users'>{options}</select></label> "
                "<button type='submit'>Save</button></form>"
                "<p>Switching to admin-approved revokes the tokens of users whose profile or permission set is not "
                "assigned to the app.</p>"
            )
            return _page(f"{state['label']}: OAuth Policies", body, sid=sid)

    @app.post("/lightning/setup/ConnectedAppsUsage/action")
    def setup_action():
        op = request.form.get("op", "")
        g.action = f"setup:{op}"
        with ctx.org.lock:
            user, _ = _session()
            if not user:
                return _denied()
            params = {
                "app": request.form.get("app"),
                "permitted_users": request.form.get("permitted_users"),
            }
            try:
                run_action(ctx.org, op, params)
                msg = f"{op}: done"
            except ActionError as exc:
                msg = f"{op}: {exc.error}: {exc.error_description}"
        return redirect(HOME + "?" + urllib.parse.urlencode({"msg": msg}), code=303)


def _button(op: str, app: str, label: str) -> str:
    return (
        "<form method='post' action='/lightning/setup/ConnectedAppsUsage/action' style='display:inline'>"
        f"<input type='hidden' name='op' value='{op}'><input type='hidden' name='app' value='{html.escape(app)}'>"
        f"<button type='submit'>{label}</button></form>"
    )
