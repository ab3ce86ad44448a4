"""OAuth 2.0 endpoints and identity (cumulusci-notes §3.1, §3.3, §3.4). Sessions are minted by ``platform``.

- ``POST /services/oauth2/token`` (form): ``grant_type`` = ``refresh_token`` | ``authorization_code`` |
  ``urn:ietf:params:oauth:grant-type:jwt-bearer``. 200 ``{"access_token", "instance_url", "id",
  "token_type": "Bearer", "issued_at", "signature", "scope"}`` (+ ``refresh_token`` for an authorization
  code). Errors: 400 ``{"error": "invalid_client_id" | "invalid_client" | "invalid_grant" |
  "redirect_uri_mismatch" | "unsupported_grant_type", "error_description"}``. Only the clients the org
  knows are accepted: its connected apps and the tool's own clients (``identity.TOOL_CLIENTS``); rules in
  ``docs/salesforce-oauth-metadata.md``.
- ``GET /services/oauth2/authorize``: no login page; for a known client and one of its callback URLs,
  redirects at once to ``redirect_uri?code=...&state=...`` for the user named by ``login_hint`` (or
  ``username``), else the connected user. This is what lets ``cci org connect --login-url`` run with a
  ``BROWSER`` script.
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

from orgsim.errors import ActionError, SalesforceError

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


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _jwt_claims(org, assertion: str) -> tuple[dict, dict]:
    """``(client, claims)`` of a JWT bearer assertion, or :class:`ActionError`. The ``iss`` names the
    client (an unknown one: ``invalid_client_id`` "client identifier invalid"); the signature must be RS256
    by the private key of the certificate uploaded to that client ("Salesforce verifies the JWT signature
    using the certificate uploaded to the app", help "OAuth 2.0 JWT Bearer Flow for Server-to-Server
    Integration"); an unsigned, malformed or wrongly signed assertion, or a client with no certificate, is
    ``invalid_grant`` "invalid assertion" (the error code per vendor troubleshooting guides, e.g. Striim's
    "Salesforce troubleshooting"; the description UNCERTAIN); an ``exp`` in the past is ``invalid_grant``
    "expired assertion" (UNCERTAIN wording); a client whose app is blocked on OAuth Usage is ``app_blocked``
    (``Identity.refuse_blocked_client``)."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    try:
        head_b64, body_b64, sig_b64 = assertion.split(".")
        header = json.loads(_b64url(head_b64))
        claims = json.loads(_b64url(body_b64))
        signature = _b64url(sig_b64)
    except (ValueError, AttributeError):
        raise ActionError("invalid_grant", "invalid assertion") from None
    if not isinstance(claims, dict) or not isinstance(header, dict):
        raise ActionError("invalid_grant", "invalid assertion")
    client = org.oauth_client(claims.get("iss"))
    if client is None:
        raise ActionError("invalid_client_id", "client identifier invalid")
    org.refuse_blocked_client(client)
    if header.get("alg") != "RS256" or not client.get("certificate"):
        raise ActionError("invalid_grant", "invalid assertion")
    try:
        cert = x509.load_pem_x509_certificate(client["certificate"].encode())
        cert.public_key().verify(
            signature,
            f"{head_b64}.{body_b64}".encode(),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except (InvalidSignature, ValueError, TypeError):
        raise ActionError("invalid_grant", "invalid assertion") from None
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or exp < time.time():
        raise ActionError("invalid_grant", "expired assertion")
    return client, claims


def _client_credentials() -> tuple[str | None, str | None]:
    """``client_id`` and ``client_secret`` from the form, or from HTTP Basic authentication."""
    client_id = request.form.get("client_id")
    secret = request.form.get("client_secret")
    if request.authorization and request.authorization.type == "basic":
        client_id = client_id or request.authorization.username
        secret = secret or request.authorization.password
    return client_id, secret


def _grant(org, grant: str) -> tuple[dict, bool, str, bool, str | None]:
    """``(user, refresh, client_key, authorization, delete_token)`` for a token request, or
    :class:`ActionError` with Salesforce's OAuth error (see ``Identity.check_client``,
    ``redeem_refresh_token``, ``redeem_code`` and :func:`_jwt_claims`)."""
    client_id, secret = _client_credentials()
    if grant == "refresh_token":
        client = org.check_client(client_id, secret, secret_required=False)
        user, delete_token = org.redeem_refresh_token(request.form.get("refresh_token", ""), client)
        return user, False, client["consumer_key"], False, delete_token
    if grant == "authorization_code":
        client = org.check_client(client_id, secret, secret_required=True)
        user = org.redeem_code(
            request.form.get("code", ""), client, request.form.get("redirect_uri")
        )
        return user, True, client["consumer_key"], True, None
    if grant == JWT_BEARER:
        client, claims = _jwt_claims(org, request.form.get("assertion", ""))
        user = org.user_by_username(claims.get("sub") or "")
        # "this flow does require prior approval of the client app" (help, JWT bearer flow): the user is
        # pre-authorized through the installed app's admin-approved policy.
        if not user or not org.is_pre_authorized(user["Id"], client["name"]):
            raise ActionError("invalid_grant", "user hasn't approved this consumer")
        return user, False, client["consumer_key"], True, None
    raise ActionError("unsupported_grant_type", "grant type not supported")


def register(app: Flask, ctx) -> None:
    @app.post("/services/oauth2/token")
    def token():
        """The token endpoint: a known client only (``invalid_client_id``), its secret
        (``invalid_client``), not blocked on OAuth Usage (``app_blocked``), a refresh token of that client, a
        single-use code for that client and redirect URI, or a JWT signed for that client's certificate
        (``invalid_grant``, ``redirect_uri_mismatch``). A code or JWT grant is a new authorization: it creates
        an OauthToken row (``Identity.issue_session``). Errors are 400 ``{"error", "error_description"}``."""
        g.kind = "auth"
        grant = request.form.get("grant_type", "")
        g.action = grant.rsplit(":", 1)[-1] or None
        org = ctx.org
        with org.lock:
            try:
                user, refresh, client_key, authorization, delete_token = _grant(org, grant)
            except ActionError as exc:
                return _error(exc.error, exc.error_description)
            login = org.login_refusal(user)
            if login:
                return _error(*login)
            session = org.issue_session(
                user["Id"],
                refresh=refresh,
                client_key=client_key,
                authorization=authorization,
                delete_token=delete_token,
            )
            return _json(token_response(org, user, session))

    @app.get("/services/oauth2/authorize")
    def authorize():
        """No login page: redirects at once with a code for the user named by ``login_hint`` (or
        ``username``), else the connected user. An unknown ``client_id`` is answered 400
        ``invalid_client_id`` and a ``redirect_uri`` that is not one of the client's callback URLs 400
        ``redirect_uri_mismatch`` "redirect_uri must match configuration", without a redirect (Salesforce
        shows these on its own page, as the callback cannot be trusted; sfdx-mass-action-scheduler#29).
        The app's own refusals (blocked, uninstalled under API Access Control or without Approve Uninstalled
        Connected Apps, not pre-authorized: ``ConnectedApps.authorization_refusal``, facts §7.3) go to the
        callback as ``error`` / ``error_description``; the uninstalled-app refusal is
        ``error=invalid_client&error_description=app must be installed into org`` (facts §7.3)."""
        g.kind = "auth"
        g.action = "authorize"
        redirect_uri = request.args.get("redirect_uri")
        org = ctx.org
        with org.lock:
            client = org.oauth_client(request.args.get("client_id"))
            if client is None:
                return _error("invalid_client_id", "client identifier invalid")
            if not redirect_uri or redirect_uri not in client["callback_urls"]:
                return _error("redirect_uri_mismatch", "redirect_uri must match configuration")
            username = request.args.get("login_hint") or request.args.get("username")
            user = org.user_by_username(username) if username else org.connected_user()
            params = {}
            refusal = None
            can_log_in = bool(user) and org.login_refusal(user) is None  # inactive, frozen, locked
            if can_log_in:
                refusal = org.authorization_refusal(org.app_state(client["name"]), user)
            if not can_log_in:
                params = {
                    "error": "access_denied",
                    "error_description": "end-user denied authorization",
                }
            elif refusal:
                error, description = refusal
                if error == "OAUTH_APPROVAL_ERROR_GENERIC":  # the callback URL's error (facts §7.3)
                    error = "invalid_client"
                params = {"error": error, "error_description": description}
            else:
                params = {"code": org.issue_code(user["Id"], client["consumer_key"], redirect_uri)}
        if request.args.get("state") is not None:
            params["state"] = request.args["state"]
        sep = "&" if "?" in redirect_uri else "?"
        return redirect(redirect_uri + sep + urllib.parse.urlencode(params), code=302)

    def _session_user():
        header = request.headers.get("Authorization", "")
        token = (
            header.split(" ", 1)[1].strip() if " " in header else request.args.get("oauth_token")
        )
        return ctx.org.session_user(token, api=False)

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
