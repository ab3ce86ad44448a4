"""OAuth 2.0 endpoints and identity (cumulusci-notes §3.1, §3.3, §3.4). Sessions are minted by ``platform``.

- ``POST /services/oauth2/token`` (form): ``grant_type`` = ``refresh_token`` | ``authorization_code`` |
  ``urn:ietf:params:oauth:grant-type:jwt-bearer``. 200 ``{"access_token", "instance_url", "id",
  "token_type": "Bearer", "issued_at", "signature", "scope"}`` (+ ``refresh_token`` for an authorization
  code). Errors: 400 ``{"error": "invalid_grant" | "unsupported_grant_type" | "invalid_request",
  "error_description"}``. The JWT assertion's signature is NOT verified (the simulator has no registry of
  consumer certificates); its ``sub`` names the user.
- ``GET /services/oauth2/authorize``: no login page; redirects at once to ``redirect_uri?code=...&state=...``
  for the user named by ``login_hint`` (or ``username``), else the connected user. This is what lets
  ``cci org connect --login-url`` run with a ``BROWSER`` script.
- ``GET /services/oauth2/userinfo`` (Bearer): OpenID userinfo; 403 ``Bad_OAuth_Token`` for a bad token.
- ``POST /services/oauth2/revoke``: forgets a session token; 200.
- ``GET /id/{orgId}/{userId}`` (Bearer): the identity URL's document.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.parse

from flask import Flask, Response, g, redirect, request

from orgsim.errors import SalesforceError

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def _json(body, status=200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _error(error: str, description: str, status: int = 400) -> Response:
    return _json({"error": error, "error_description": description}, status)


def base_url() -> str:
    return request.host_url.rstrip("/")


def identity_url(org, user_id: str) -> str:
    return f"{base_url()}/id/{org.org_id}/{user_id}"


def userinfo(org, user: dict) -> dict:
    """OpenID Connect userinfo in Salesforce's shape (the fields cci stores in ``config["userinfo"]``)."""
    base = base_url()
    ident = identity_url(org, user["Id"])
    return {
        "sub": ident,
        "user_id": user["Id"],
        "organization_id": org.org_id,
        "preferred_username": user["Username"],
        "nickname": user.get("Alias"),
        "name": user.get("Name"),
        "email": user.get("Email"),
        "email_verified": True,
        "given_name": user.get("FirstName"),
        "family_name": user.get("LastName"),
        "zoneinfo": "America/Los_Angeles",
        "photos": {
            "picture": f"{base}/img/userprofile/default_profile_200_v2.png",
            "thumbnail": f"{base}/img/userprofile/default_profile_45_v2.png",
        },
        "profile": f"{base}/{user['Id']}",
        "picture": f"{base}/img/userprofile/default_profile_200_v2.png",
        "address": {"country": "US"},
        "is_salesforce_integration_user": False,
        "urls": {
            "enterprise": f"{base}/services/Soap/c/{{version}}/{org.org_id[:15]}",
            "metadata": f"{base}/services/Soap/m/{{version}}/{org.org_id[:15]}",
            "partner": f"{base}/services/Soap/u/{{version}}/{org.org_id[:15]}",
            "rest": f"{base}/services/data/v{{version}}/",
            "sobjects": f"{base}/services/data/v{{version}}/sobjects/",
            "query": f"{base}/services/data/v{{version}}/query/",
            "tooling_rest": f"{base}/services/data/v{{version}}/tooling/",
            "profile": f"{base}/{user['Id']}",
            "custom_domain": base,
        },
        "active": bool(user.get("IsActive", 1)),
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": -28800000,
        "updated_at": user.get("LastModifiedDate"),
        "is_app_installed": True,
    }


def token_response(org, user: dict, session: dict[str, str]) -> dict:
    issued_at = str(int(time.time() * 1000))
    ident = identity_url(org, user["Id"])
    signature = base64.b64encode(
        hmac.new(org.org_id.encode(), (ident + issued_at).encode(), hashlib.sha256).digest()
    ).decode()
    body = {
        "access_token": session["access_token"],
        "instance_url": base_url(),
        "id": ident,
        "token_type": "Bearer",
        "issued_at": issued_at,
        "signature": signature,
        "scope": "web api refresh_token full",
    }
    if "refresh_token" in session:
        body["refresh_token"] = session["refresh_token"]
    return body


def _jwt_subject(assertion: str) -> str | None:
    try:
        payload = assertion.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        return json.loads(base64.urlsafe_b64decode(payload)).get("sub")
    except (IndexError, ValueError, AttributeError):
        return None


def register(app: Flask, ctx) -> None:
    @app.post("/services/oauth2/token")
    def token():
        g.kind = "auth"
        grant = request.form.get("grant_type", "")
        g.action = grant.rsplit(":", 1)[-1] or None
        org = ctx.org
        with org.lock:
            if grant == "refresh_token":
                user = org.redeem(request.form.get("refresh_token", ""), "refresh")
                if not user:
                    return _error("invalid_grant", "expired access/refresh token")
                refresh = False
            elif grant == "authorization_code":
                user = org.redeem(request.form.get("code", ""), "code")
                if not user:
                    return _error("invalid_grant", "invalid authorization code")
                refresh = True
            elif grant == JWT_BEARER:
                username = _jwt_subject(request.form.get("assertion", ""))
                if not username:
                    return _error("invalid_grant", "invalid assertion")
                user = org.user_by_username(username)
                if not user:
                    return _error("invalid_grant", "user hasn't approved this consumer")
                refresh = False
            else:
                return _error("unsupported_grant_type", "grant type not supported")
            if not user.get("IsActive", 1):
                return _error("invalid_grant", "inactive user")
            session = org.issue_session(user["Id"], refresh=refresh)
            return _json(token_response(org, user, session))

    @app.get("/services/oauth2/authorize")
    def authorize():
        g.kind = "auth"
        g.action = "authorize"
        redirect_uri = request.args.get("redirect_uri")
        if not redirect_uri:
            return _error("redirect_uri_missing", "redirect_uri must match configuration")
        org = ctx.org
        with org.lock:
            username = request.args.get("login_hint") or request.args.get("username")
            user = org.user_by_username(username) if username else org.connected_user()
            params = {}
            if not user or not user.get("IsActive", 1):
                params = {
                    "error": "access_denied",
                    "error_description": "end-user denied authorization",
                }
            else:
                params = {"code": org.issue_code(user["Id"])}
        if request.args.get("state") is not None:
            params["state"] = request.args["state"]
        sep = "&" if "?" in redirect_uri else "?"
        return redirect(redirect_uri + sep + urllib.parse.urlencode(params), code=302)

    def _session_user():
        header = request.headers.get("Authorization", "")
        token = (
            header.split(" ", 1)[1].strip() if " " in header else request.args.get("oauth_token")
        )
        return ctx.org.session_user(token)

    @app.get("/services/oauth2/userinfo")
    @app.post("/services/oauth2/userinfo")
    def user_info():
        g.kind = "auth"
        g.action = "userinfo"
        with ctx.org.lock:
            try:
                user = _session_user()
            except SalesforceError:
                return Response("Bad_OAuth_Token", status=403, mimetype="text/plain")
            return _json(userinfo(ctx.org, user))

    @app.post("/services/oauth2/revoke")
    def revoke():
        g.kind = "auth"
        g.action = "revoke"
        token = request.form.get("token") or request.args.get("token") or ""
        with ctx.org.lock:
            ctx.org.store.sim_delete("session", token=token)
        return Response(status=200)

    @app.get("/id/<org_id>/<user_id>")
    def identity(org_id, user_id):
        g.kind = "auth"
        g.action = "identity"
        with ctx.org.lock:
            try:
                _session_user()
            except SalesforceError:
                return Response("Bad_OAuth_Token", status=403, mimetype="text/plain")
            user = ctx.org.user(user_id)
            if org_id != ctx.org.org_id or not user:
                return Response("Bad_Id", status=404, mimetype="text/plain")
            info = userinfo(ctx.org, user)
            info["id"] = identity_url(ctx.org, user_id)
            return _json(info)
