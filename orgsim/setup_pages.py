"""Plain server-rendered Setup pages at Salesforce's paths, so the deep links the tasks print work here too, and
a person can click through the procedure's manual steps in a browser (README, "Click through the simulated
org").

- ``GET /`` (also ``/login``): a login page like Salesforce's (username, password; ``startURL`` kept). ``POST
  /login`` checks the scenario user's password (``users[].password``, default ``scenario.DEMO_PASSWORD``), that
  the user is active and not frozen or locked (``Org.login_refusal``), and opens a browser session: a random id
  in an ``HttpOnly``, ``Secure``, ``SameSite=Lax`` cookie, never an access token and never in a URL. A wrong
  username or password gets Salesforce's own words ("Please check your username and password...").
- ``GET /lightning/setup/ConnectedAppsUsage/home``: Connected Apps OAuth Usage (facts §7.1): each visible app
  with its user count, an Install link (to a confirmation page, as Salesforce asks before installing), Block /
  Unblock, and "Manage App Policies" once installed.
- ``GET /lightning/setup/ConnectedAppsUsage/page?address=/app/mgmt/forceconnectedapps/forceAppDetail.apexp?applicationId=<0H4 id>``
  (also ``/lightning/setup/ConnectedApps/page?...``): the app's policies, Edit Policies with the Permitted Users
  choice. Switching to admin-approved first shows Salesforce's warning (users who are not pre-authorized lose
  access) with the number of users holding tokens, and needs OK.
- ``GET /lightning/setup/ManageExternalClientApplication/home``: External Client App Manager with the vendor's
  ECA (facts §10.2) and its Edit Policies page (Start Page, Permitted Users, refresh-token policy, IP
  relaxation), the same confirmation for admin-approved.
- ``GET|POST /vendor/connect``: stands in for the vendor's application, where a person connects Salesforce
  (article steps 1 and 5, the ECA's authorization): a Salesforce username and password (as at the login page),
  then the ``authorize`` action for that user and the app chosen. Not a Salesforce page.
- ``POST /lightning/setup/ConnectedAppsUsage/action``: the forms' target (``op`` = install | block | unblock |
  policy | eca_policy); runs the same ``autopilot.run_action`` as ``/_sim/actions/*`` and redirects back with
  a message. A cross-site form post (an ``Origin`` other than this server's) is refused.

Viewing the pages needs View Setup and Configuration and Manage Users (facts §4.1); without a session a page
redirects to the login page, as a real org does.
"""

from __future__ import annotations

import functools
import hmac
import html
import secrets
import urllib.parse

from flask import Flask, Response, g, redirect, request

from orgsim import eca
from orgsim.autopilot import run_action
from orgsim.errors import ActionError
from orgsim.scenario import DEMO_PASSWORD

HOME = "/lightning/setup/ConnectedAppsUsage/home"
DETAIL = "/app/mgmt/forceconnectedapps/forceAppDetail.apexp?applicationId="
INSTALL = "/lightning/setup/ConnectedAppsUsage/install"
ACTION = "/lightning/setup/ConnectedAppsUsage/action"
ECA_HOME = "/lightning/setup/ManageExternalClientApplication/home"
ECA_POLICIES = "/lightning/setup/ManageExternalClientApplication/policies"
#: The vendor's side of an authorization (not a Salesforce page): log in as a Salesforce user and allow.
VENDOR_CONNECT = "/vendor/connect"
#: Salesforce's login page answer to a wrong username or password (and here to any refused login).
LOGIN_FAILED = (
    "Please check your username and password. If you still can't log in, contact your Salesforce "
    "administrator."
)
ADMIN_APPROVED_WARNING = (
    "Changing Permitted Users to 'Admin approved users are pre-authorized' revokes access for every user "
    "of this app whose profile or permission set is not assigned to it: they are logged out and cannot "
    "authorize again."
)


def policy_url(connected_application_id: str) -> str:
    """Deep link to an installed app's policy page."""
    return "/lightning/setup/ConnectedAppsUsage/page?address=" + urllib.parse.quote(
        DETAIL + connected_application_id
    )


def _page(title: str, body: str, status: int = 200) -> Response:
    doc = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)} | Salesforce</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px}.msg{background:#eef;padding:6px}"
        ".warn{background:#fff3cd;padding:6px}.error{color:#b00}label{display:block;margin:6px 0}</style>"
        f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return Response(doc, status=status, mimetype="text/html")


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _form(fields: dict, button: str, inline: bool = False) -> str:
    hidden = "".join(
        f"<input type='hidden' name='{_e(k)}' value='{_e(v)}'>" for k, v in fields.items()
    )
    style = " style='display:inline'" if inline else ""
    return f"<form method='post' action='{ACTION}'{style}>{hidden}<button type='submit'>{_e(button)}</button></form>"


def _select(name: str, options: list[tuple[str, str]], selected) -> str:
    items = "".join(
        f"<option value='{_e(v)}'{' selected' if v == selected else ''}>{_e(t)}</option>"
        for v, t in options
    )
    return f"<select name='{_e(name)}'>{items}</select>"


def _cross_site() -> bool:
    """A form post from another site (an ``Origin`` other than this server's)."""
    origin = request.headers.get("Origin")
    return bool(origin) and origin.rstrip("/") != request.host_url.rstrip("/")


def _local(url: str | None, default: str) -> str:
    """A redirect target on this server only (a path, never another host)."""
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return default


def register(app: Flask, ctx) -> None:
    sessions: dict[str, str] = {}  # browser session id -> User Id

    def _password(username: str) -> str:
        for user in ctx.org.scenario.get("users") or []:
            if user.get("username", "").lower() == username.lower():
                return user.get("password") or DEMO_PASSWORD
        return DEMO_PASSWORD

    def _credentials(username: str, given: str) -> dict | None:
        """The user these credentials log in as: known, active, not frozen or locked, the right password."""
        user = ctx.org.user_by_username(username) if username else None
        if (
            user is not None
            and user.get("IsActive", 1)
            and ctx.org.login_refusal(user) is None
            and hmac.compare_digest(given.encode(), _password(username).encode())
        ):
            return user
        return None

    def _session():
        user_id = sessions.get(request.cookies.get("sid") or "")
        user = ctx.org.user(user_id) if user_id else None
        if not user or not user.get("IsActive", 1) or ctx.org.login_refusal(user):
            return None
        return user

    def _guard():
        """None when the page may be shown, else the response: the login page, or 403."""
        if request.method == "POST" and _cross_site():
            return _page("Insufficient Privileges", "<p>Cross-site request refused.</p>", 403)
        user = _session()
        if user is None:
            query = request.query_string.decode()
            target = (
                request.path + (f"?{query}" if query else "") if request.method == "GET" else HOME
            )
            return redirect("/?" + urllib.parse.urlencode({"startURL": target}), code=302)
        if not (
            ctx.org.has_permission(user["Id"], "ViewSetup")
            and ctx.org.has_permission(user["Id"], "ManageUsers")
        ):
            return _page(
                "Insufficient Privileges",
                "<p>You need View Setup and Configuration and Manage Users to open this page.</p>",
                403,
            )
        return None

    def setup_page(action):
        """A Setup page view: logged as ``action`` (a name, or a function giving it), run under the org's
        lock, and only for a session that may see Setup (:func:`_guard`)."""

        def wrap(view):
            @functools.wraps(view)
            def guarded(*args, **kwargs):
                g.action = action() if callable(action) else action
                with ctx.org.lock:
                    return _guard() or view(*args, **kwargs)

            return guarded

        return wrap

    def _login_form(message: str = "", status: int = 200) -> Response:
        start = _local(request.values.get("startURL"), HOME)
        body = (
            (f"<p class='error'>{_e(message)}</p>" if message else "")
            + "<form method='post' action='/login'>"
            f"<input type='hidden' name='startURL' value='{_e(start)}'>"
            "<label>Username <input name='username' autocomplete='username'></label>"
            "<label>Password <input name='pw' type='password' autocomplete='current-password'></label>"
            "<button type='submit'>Log In</button></form>"
        )
        return _page("Login", body, status)

    @app.get("/")
    @app.get("/login")
    def login_page():
        g.action = "login"
        return _login_form()

    @app.post("/login")
    def login():
        g.action = "login"
        username = (request.form.get("username") or "").strip()
        given = request.form.get("pw") or ""
        with ctx.org.lock:
            user = _credentials(username, given)
            if user is None:
                return _login_form(LOGIN_FAILED, 200)
            sid = secrets.token_urlsafe(32)
            sessions[sid] = user["Id"]
        resp = redirect(_local(request.form.get("startURL"), HOME), code=302)
        resp.set_cookie("sid", sid, httponly=True, secure=True, samesite="Lax")
        return resp

    @app.get(VENDOR_CONNECT)
    def vendor_connect_page():
        g.action = "vendor:connect"
        return _vendor_form()

    @app.post(VENDOR_CONNECT)
    def vendor_connect():
        """The vendor's "connect Salesforce": an OAuth login as a Salesforce user and that user's consent,
        which is what the setup user (article step 1) and the integration user (step 5, the ECA) do in the
        vendor's application. Runs the same ``authorize`` action as ``/_sim/actions/authorize``."""
        g.action = "vendor:connect"
        if _cross_site():
            return _page("Refused", "<p>Cross-site request refused.</p>", 403)
        username = (request.form.get("username") or "").strip()
        given = request.form.get("pw") or ""
        with ctx.org.lock:
            user = _credentials(username, given)
            if user is None:
                return _vendor_form(LOGIN_FAILED)
            try:
                run_action(
                    ctx.org,
                    "authorize",
                    {"username": user["Username"], "app": request.form.get("app") or None},
                )
                msg = f"Connected: {user['Username']} authorized the app."
            except ActionError as exc:
                msg = f"Salesforce refused the authorization: {exc.error}: {exc.error_description}"
        return _vendor_form(msg)

    def _vendor_form(message: str = "") -> Response:
        options = [(ctx.org.app_name, ctx.org.app_name), (eca.ECA_LABEL, eca.ECA_LABEL)]
        body = (
            (f"<p class='msg'>{_e(message)}</p>" if message else "")
            + "<p>This page stands in for the vendor's application, where a person connects Salesforce: a "
            "Salesforce login and its consent screen, then Allow.</p>"
            f"<form method='post' action='{VENDOR_CONNECT}'>"
            f"<label>App {_select('app', options, '')}</label>"
            "<label>Salesforce username <input name='username' autocomplete='username'></label>"
            "<label>Password <input name='pw' type='password' autocomplete='current-password'></label>"
            "<button type='submit'>Allow</button></form>"
        )
        return _page("Connect Salesforce (the vendor's app, simulated)", body)

    @app.get(HOME)
    @setup_page("ConnectedAppsUsage")
    def oauth_usage():
        rows = []
        for a in ctx.org.apps():
            if not a["visible"]:
                continue
            if not a["installed"]:
                action = (
                    f"<a href='{INSTALL}?{urllib.parse.urlencode({'app': a['name']})}'>Install</a>"
                )
            else:
                action = (
                    f"<a href='{policy_url(a['connected_application_id'])}'>Manage App Policies</a>"
                )
            block = "unblock" if a["blocked"] else "block"
            action += " " + _form({"op": block, "app": a["name"]}, block.title(), inline=True)
            rows.append(
                f"<tr><td>{_e(a['label'])}</td><td>{'Installed' if a['installed'] else 'Not installed'}"
                f"{' (blocked)' if a['blocked'] else ''}</td><td>{a['user_count']}</td><td>{action}</td></tr>"
            )
        msg = request.args.get("msg")
        body = (f"<p class='msg'>{_e(msg)}</p>" if msg else "") + (
            "<table><tr><th>Connected App</th><th>Status</th><th>User Count</th><th>Action</th></tr>"
            + "".join(rows)
            + "</table>"
            if rows
            else "<p>No connected apps have been used in this org.</p>"
        )
        return _page("Connected Apps OAuth Usage", body)

    @app.get(INSTALL)
    @setup_page("ConnectedAppInstall")
    def install_confirm():
        name = request.args.get("app", "")
        state = next((a for a in ctx.org.apps() if a["name"] == name and a["visible"]), None)
        if state is None or state["installed"]:
            return redirect(HOME, code=302)
        body = (
            f"<p>Install <b>{_e(state['label'])}</b>? Once installed, you manage who may use it and its "
            "OAuth policies here, and users of the org can authorize it as its policies allow.</p>"
            + _form({"op": "install", "app": name}, "Install")
            + f"<p><a href='{HOME}'>Cancel</a></p>"
        )
        return _page(f"Install {state['label']}", body)

    @app.get("/lightning/setup/ConnectedAppsUsage/page")
    @app.get("/lightning/setup/ConnectedApps/page")
    @setup_page("ConnectedAppPolicies")
    def app_policies():
        address = request.args.get("address", "")
        app_id = address.split("applicationId=", 1)[-1][:18] if "applicationId=" in address else ""
        state = next((a for a in ctx.org.apps() if a["connected_application_id"] == app_id), None)
        if state is None:
            return _page(
                "Connected App", "<p>Data Not Available: the app is not installed.</p>", 404
            )
        selected = "admin_approved" if state["admin_approved"] else "all_users"
        options = [
            ("all_users", "All users may self-authorize"),
            ("admin_approved", "Admin approved users are pre-authorized"),
        ]
        body = (
            f"<p>Connected App: <b>{_e(state['label'])}</b></p>"
            f"<form method='post' action='{ACTION}'><input type='hidden' name='op' value='policy'>"
            f"<input type='hidden' name='app' value='{_e(state['name'])}'>"
            f"<label>Permitted Users {_select('permitted_users', options, selected)}</label>"
            "<button type='submit'>Save</button></form>"
            f"<p class='warn'>{_e(ADMIN_APPROVED_WARNING)}</p>"
        )
        return _page(f"{state['label']}: Edit Policies", body)

    @app.get(ECA_HOME)
    @setup_page("ExternalClientAppManager")
    def eca_manager():
        state = eca.state(ctx.org)
        msg = request.args.get("msg")
        body = f"<p class='msg'>{_e(msg)}</p>" if msg else ""
        if not state["installed"]:
            body += "<p>No external client apps are installed in this org.</p>"
        else:
            body += (
                "<table><tr><th>External Client App</th><th>Type</th><th>Permitted Users</th>"
                "<th>Action</th></tr>"
                f"<tr><td>{_e(state['label'])}</td><td>Packaged</td>"
                f"<td>{_e(state['policies'].get('permitted_users'))}</td>"
                f"<td><a href='{ECA_POLICIES}'>Edit Policies</a></td></tr></table>"
            )
        return _page("External Client App Manager", body)

    @app.get(ECA_POLICIES)
    @setup_page("ExternalClientAppPolicies")
    def eca_policies():
        state = eca.state(ctx.org)
        if not state["installed"]:
            return redirect(ECA_HOME, code=302)
        p = state["policies"]
        body = (
            f"<p>External Client App: <b>{_e(state['label'])}</b></p>"
            f"<form method='post' action='{ACTION}'><input type='hidden' name='op' value='eca_policy'>"
            "<h2>App Policies</h2>"
            f"<label>Start Page {_select('start_url', [('', 'None')], p.get('start_url') or '')}</label>"
            "<h2>OAuth Policies</h2>"
            "<label>Permitted Users "
            + _select(
                "permitted_users",
                [
                    ("AllSelfAuthorized", "All users can self-authorize"),
                    ("AdminApprovedPreAuthorized", "Admin approved users are pre-authorized"),
                ],
                p.get("permitted_users"),
            )
            + "</label><label>Refresh Token Policy "
            + _select(
                "refresh_token_policy",
                [
                    ("Infinite", "Refresh token is valid until revoked"),
                    (
                        "SpecificInactivity",
                        "Expire refresh token if not used for specific time",
                    ),
                    ("SpecificLifetime", "Expire refresh token after specific time"),
                    ("Zero", "Immediately expire refresh token"),
                ],
                p.get("refresh_token_policy"),
            )
            + f"</label><label>Period <input name='refresh_token_validity_period' "
            f"value='{_e(p.get('refresh_token_validity_period') or '')}'></label><label>Unit "
            + _select(
                "refresh_token_validity_unit",
                [("", "-"), *[(u, u) for u in eca.VALIDITY_UNITS]],
                p.get("refresh_token_validity_unit") or "",
            )
            + "</label><label>IP Relaxation "
            + _select(
                "ip_relaxation",
                [
                    ("Enforce", "Enforce IP restrictions"),
                    (
                        "Enforce_RelaxRefresh",
                        "Enforce IP restrictions, but relax for refresh tokens",
                    ),
                    ("Bypass_2factor", "Relax IP restrictions with second factor"),
                    ("Bypass", "Relax IP restrictions"),
                ],
                p.get("ip_relaxation"),
            )
            + "</label><button type='submit'>Save</button></form>"
            f"<p class='warn'>{_e(ADMIN_APPROVED_WARNING)}</p>"
        )
        return _page(f"{state['label']}: Edit Policies", body)

    @app.post(ACTION)
    @setup_page(lambda: f"setup:{request.form.get('op', '')}")
    def setup_action():
        op = request.form.get("op", "")
        back = ECA_HOME if op == "eca_policy" else HOME
        params = {k: v for k, v in request.form.items() if k not in ("op", "confirmed")}
        if op == "eca_policy":
            params = _eca_changes(params)
        if _needs_confirmation(ctx.org, op, params) and request.form.get("confirmed") != "1":
            return _confirm_page(ctx.org, op, request.form)
        try:
            run_action(ctx.org, op, params)
            msg = f"{op}: done"
        except ActionError as exc:
            msg = f"{op}: {exc.error}: {exc.error_description}"
        return redirect(back + "?" + urllib.parse.urlencode({"msg": msg}), code=303)


def _eca_changes(form: dict) -> dict:
    """The ECA form's fields as ``eca_policy`` changes: empty means unset; the period is a number."""
    out = {}
    for key in (
        "permitted_users",
        "refresh_token_policy",
        "refresh_token_validity_period",
        "refresh_token_validity_unit",
        "ip_relaxation",
        "start_url",
    ):
        if key not in form:
            continue
        value = form[key].strip() or None
        if key == "refresh_token_validity_period" and value is not None:
            value = int(value) if value.isdigit() else value
        out[key] = value
    return out


def _needs_confirmation(org, op: str, params: dict) -> bool:
    """Switching Permitted Users to admin-approved, as Salesforce, asks first."""
    if op == "policy":
        state = org.app_state(params.get("app") or None)
        return params.get("permitted_users") == "admin_approved" and not state["admin_approved"]
    if op == "eca_policy":
        current = eca.state(org)["policies"].get("permitted_users")
        wanted = params.get("permitted_users")
        return wanted == "AdminApprovedPreAuthorized" and current != wanted
    return False


def _confirm_page(org, op: str, form) -> Response:
    if op == "policy":
        state = org.app_state(form.get("app") or None)
        users = state.get("user_count", 0)
        label = state["label"]
    else:
        label = eca.ECA_LABEL
        users = len({t["UserId"] for t in org.store.find("OauthToken", AppName=eca.ECA_LABEL)})
    fields = {k: v for k, v in form.items() if k != "confirmed"}
    body = (
        f"<p class='warn'>{_e(ADMIN_APPROVED_WARNING)}</p>"
        f"<p>{users} user(s) hold tokens for {_e(label)} now.</p>"
        + _form({**fields, "confirmed": "1"}, "OK")
        + f"<p><a href='{ECA_HOME if op == 'eca_policy' else HOME}'>Cancel</a></p>"
    )
    return _page("Change Permitted Users?", body)
