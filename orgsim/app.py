"""The Flask app: the routing table, request logging, latency and fault injection, and ``/_sim/`` endpoints.

Routes by module: ``rest`` (``/services/data/...``), ``soap`` (``/services/Soap/m/...``), ``oauth``
(``/services/oauth2/...``, ``/id/...``), ``setup_pages`` (``/lightning/setup/...``), and here:

======================================  =======================================================================
``POST /_sim/actions/{name}``           ``authorize`` ``{"username","app"?}``, ``install`` ``{"app"?}``, ``policy``
                                        ``{"app"?,"permitted_users"}``, ``block`` / ``unblock`` ``{"app"?}``:
                                        200 ``{"ok": true, ...}`` or 400 ``{"error", "error_description"}``
``GET /_sim/requests?since=N``          the request log (``observe``)
``GET /_sim/state``                     ``{"scenario", "features", "apps", "objects": {sObject: [rows]}}``
``POST /_sim/faults {"spec"}``          replace the fault spec (grammar in ``observe``); 400 for a bad spec
======================================  =======================================================================

The ``/_sim/`` control surface is the simulator's own, not Salesforce's, and is closed (docs/architecture.md
§1.3):

- every ``/_sim/`` request needs the admin token the simulator generated at start (``SimContext.admin_token``,
  printed by ``python -m orgsim serve`` as ``ORGSIM_ADMIN_TOKEN``) in ``Authorization: Bearer <token>``:
  401 ``{"error": "unauthorized"}`` without it, 403 ``{"error": "forbidden"}`` with another value;
- a ``POST`` must be ``Content-Type: application/json`` (415 otherwise), so an HTML form on any web page cannot
  trigger an action (a browser sends neither that type nor the header cross-origin without a CORS preflight,
  which the simulator never grants);
- no Salesforce API reaches it: REST Composite subrequests are limited to ``/services/data/`` (``rest``);
- ``GET /_sim/state`` never returns a token or secret value (:func:`state` redacts them).

Request log: every request is logged (``observe``), the reads of the log and state themselves excepted; a
REST Composite's subrequests are logged as their own entries with ``"parent"`` = the composite's ``seq``,
right after it. Subrequests are marked by the WSGI environ key :data:`SUBREQUEST_ENVIRON`, which only
``rest.composite`` sets (an HTTP header can never set a non-``HTTP_`` environ key): they are not delayed,
counted or faulted on their own (the composite, one HTTP request, is).
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import re
import socket
import time
from typing import Any
from urllib.parse import unquote_plus

from flask import Flask, Response, g, request

from orgsim import eca, oauth, rest, setup_pages, soap
from orgsim.autopilot import Autopilot, run_action
from orgsim.errors import ActionError
from orgsim.observe import Observer, soql_object
from orgsim.permissions import METADATA_MESSAGE, MetadataAccessError
from orgsim.platform import Org
from orgsim.soql_scope import unsupported_object_message

#: The admin's reads of the log and the state, kept out of the log they read (each read would add to it);
#: a refused call to them (no or the wrong admin token) is logged.
UNLOGGED = ("/_sim/requests", "/_sim/state")
#: WSGI environ key of a REST Composite subrequest (set by ``rest.composite`` only): the list the subrequest's
#: log entry goes into, recorded after the composite's own entry with its ``seq`` as ``parent``.
SUBREQUEST_ENVIRON = rest.SUBREQUEST_ENVIRON
#: Field names whose values ``GET /_sim/state`` never returns (OauthToken AccessToken, DeleteToken,
#: RequestToken; any session id, secret, password or refresh token of any object or app).
_SECRET_FIELD = re.compile(r"(token|secret|password|session_?id)$", re.IGNORECASE)
REDACTED = "[redacted]"


@dataclasses.dataclass
class SimContext:
    """What the routes share: the org, the observer, the optional autopilot, query cursors, async results."""

    observer: Observer
    #: the bearer token every ``/_sim/`` request must carry (``secrets.token_urlsafe`` at start)
    admin_token: str = ""
    org: Org | None = None
    autopilot: Autopilot | None = None
    cursors: dict = dataclasses.field(default_factory=dict)
    async_results: dict = dataclasses.field(default_factory=dict)


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _redact(row: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (REDACTED if v is not None and _SECRET_FIELD.search(k) else v) for k, v in row.items()
    }


def state(org: Org, *, redact: bool = True) -> dict[str, Any]:
    """``GET /_sim/state``: every row of every sObject plus the app lifecycle. With ``redact`` (always over
    HTTP), every non-null value of a field named like a token or secret (OauthToken ``AccessToken``,
    ``DeleteToken``, ``RequestToken``...) is :data:`REDACTED`."""
    with org.lock:
        objects = org.store.dump()
        apps = org.apps()
        out = {
            "scenario": org.store.meta("scenario_name"),
            "features": {
                "api_access_control": org.store.meta("acc"),
                "connected_app_metadata_retrievable": org.connected_app_metadata_retrievable,
                "eca_policy_metadata_deployable": eca.policy_metadata_deployable(org),
                "admin_approval_revokes": org.scenario["features"].get(
                    "admin_approval_revokes", "not_pre_authorized"
                ),
            },
            "apps": apps,
            "eca": eca.state(org),
            "objects": objects,
        }
    if redact:
        out["apps"] = [_redact(a) for a in apps]
        out["objects"] = {name: [_redact(r) for r in rows] for name, rows in objects.items()}
    return out


def _refuse_sim_request(ctx: SimContext) -> Response | None:
    """401/403 without the admin token, 415 for a POST that is not JSON; ``None`` when allowed."""
    header = request.headers.get("Authorization", "")
    given = header[len("Bearer ") :].strip() if header.startswith("Bearer ") else ""
    if not given:
        return _json(
            {
                "error": "unauthorized",
                "error_description": "/_sim/ needs the simulator's admin token: "
                "Authorization: Bearer $ORGSIM_ADMIN_TOKEN",
            },
            401,
        )
    if not ctx.admin_token or not hmac.compare_digest(given.encode(), ctx.admin_token.encode()):
        return _json(
            {"error": "forbidden", "error_description": "not this simulator's admin token"}, 403
        )
    if request.method != "GET" and request.mimetype != "application/json":
        return _json(
            {
                "error": "unsupported_media_type",
                "error_description": "/_sim/ accepts Content-Type: application/json only",
            },
            415,
        )
    return None


def _fault_response(kind: str, path: str) -> Response:
    """Render an injected fault in the shape of the API being called (REST JSON, SOAP fault, OAuth)."""
    is_soap = path.startswith("/services/Soap/")
    is_oauth = path.startswith("/services/oauth2/")
    if kind == "503":
        return Response("Service Unavailable", status=503, mimetype="text/plain")
    if kind == "UNABLE_TO_LOCK_ROW":
        message = "unable to obtain exclusive access to this record or 1 records"
        if is_soap:
            return soap.fault("sf:UNABLE_TO_LOCK_ROW", f"UNABLE_TO_LOCK_ROW: {message}")
        return _json([{"message": message, "errorCode": "UNABLE_TO_LOCK_ROW", "fields": []}], 400)
    if (
        kind == "refused"
    ):  # the user's access refuses the call (docs/salesforce-permissions.md R1, R2)
        if is_soap:
            return soap.fault(MetadataAccessError.faultcode, METADATA_MESSAGE)
        sobject = soql_object(request.args.get("q", "")) if "/query" in path else None
        if sobject:
            message = unsupported_object_message(sobject)
            return _json([{"message": message, "errorCode": "INVALID_TYPE"}], 400)
        message = "insufficient access rights on object id"
        return _json([{"message": message, "errorCode": "INSUFFICIENT_ACCESS"}], 403)
    # INVALID_SESSION_ID
    if is_soap:
        return soap.fault(
            "sf:INVALID_SESSION_ID",
            "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session",
        )
    if is_oauth:
        return _json(
            {"error": "invalid_grant", "error_description": "expired access/refresh token"}, 400
        )
    return _json(
        [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}], 401
    )


def _same_query_key(path: str) -> str:
    """One key for one query however its URL is written (``query/?q=`` or ``query?q=``, ``%20`` or ``+``)."""
    return unquote_plus(path).replace("/query/?", "/query?").rstrip("?")


class _LostWrite(Exception):
    def __init__(self, response):
        self.response = response


class _SimFlask(Flask):
    """Flask with the ``lost_write`` fault: the view runs and its answer is sent, but what it wrote is
    rolled back (``Store.savepoint``), as if the write were acknowledged and then lost."""

    sim_ctx: SimContext

    def dispatch_request(self):
        if not request.environ.get("orgsim.lost_write"):
            return super().dispatch_request()
        try:
            with self.sim_ctx.org.store.savepoint():
                raise _LostWrite(self.make_response(super().dispatch_request()))
        except _LostWrite as lost:
            return lost.response


def create_app(ctx: SimContext) -> Flask:
    app = _SimFlask("orgsim")
    app.sim_ctx = ctx
    app.url_map.strict_slashes = False

    @app.before_request
    def _before():
        request.environ["orgsim.started"] = time.perf_counter()
        g.kind = "sim" if request.path.startswith(("/_sim/", "/lightning/", "/setup/")) else "read"
        g.action = None
        if request.path.startswith("/_sim/"):
            return _refuse_sim_request(ctx)
        if g.kind == "sim" or SUBREQUEST_ENVIRON in request.environ:
            return None
        g.fault = None
        ctx.observer.delay()
        target = request.full_path + " " + (request.headers.get("SOAPAction") or "")
        is_rest_write = request.method != "GET" and request.path.startswith("/services/data/")
        fault = ctx.observer.next_fault(target, write=is_rest_write)
        if fault is None:
            return None
        g.fault = fault.kind
        if fault.kind == "reset":
            request.environ["orgsim.reset"] = True
            return Response(status=204)
        if fault.kind == "reset_after":  # processed, then the connection drops (ResetMiddleware)
            request.environ["orgsim.reset"] = True
            return None
        if fault.kind == "lost_write":  # processed, answered, then rolled back (dispatch_request)
            request.environ["orgsim.lost_write"] = True
            return None
        return _fault_response(fault.kind, request.path)

    @app.after_request
    def _after(response: Response):
        if request.path in UNLOGGED and response.status_code < 400:
            return response  # the log's own reads; a refused call to them is logged like any other
        started = request.environ.get("orgsim.started", time.perf_counter())
        sublog = request.environ.get(SUBREQUEST_ENVIRON)
        if sublog is not None:  # a composite subrequest: logged with its parent (below)
            sublog.append(
                {
                    "method": request.method,
                    "path": request.path,
                    "action": g.get("action"),
                    "status": response.status_code,
                    "duration_ms": (time.perf_counter() - started) * 1000,
                    "kind": g.get("kind", "read"),
                }
            )
            return response
        if (
            request.path.startswith("/services/Soap/")
            and g.get("kind") == "read"
            and g.get("action") == "deploy"
        ):
            g.kind = "write"
        status = 0 if request.environ.get("orgsim.reset") else response.status_code
        action = g.get("action")
        if g.get("fault"):
            action = f"{action or ''} [fault {g.fault}]".strip()
        ctx.observer.record(
            method=request.method,
            path=request.path,
            action=action,
            status=status,
            duration_ms=(time.perf_counter() - started) * 1000,
            kind=g.get("kind", "read"),
            subrequests=request.environ.get("orgsim.subrequests"),
        )
        if ctx.autopilot and g.get("kind") == "read" and not g.get("fault"):
            # One request, one poll: a composite's queries are seen together (rest.composite).
            reads = g.get("sub_reads") or [(g.get("action"), request.full_path)]
            ctx.autopilot.on_reads([_same_query_key(path) for _, path in reads])
        return response

    @app.post("/_sim/actions/<name>")
    def sim_action(name):
        g.action = name
        params = request.get_json(silent=True)
        if params is None:
            params = {}
        if not isinstance(params, dict):
            return _json(
                {"error": "invalid_request", "error_description": "the body must be a JSON object"},
                400,
            )
        try:
            result = run_action(ctx.org, name, params)
        except ActionError as exc:
            return _json({"error": exc.error, "error_description": exc.error_description}, 400)
        return _json({"ok": True, **{k: v for k, v in result.items() if k != "ok"}})

    @app.get("/_sim/requests")
    def sim_requests():
        since = request.args.get("since", "0")
        return _json(ctx.observer.requests(int(since) if since.isdigit() else 0))

    @app.get("/_sim/state")
    def sim_state():
        return _json(state(ctx.org, redact=True))

    @app.post("/_sim/faults")
    def sim_faults():
        g.action = "faults"
        body = request.get_json(silent=True) or {}
        try:
            ctx.observer.set_faults(body.get("spec") if isinstance(body, dict) else None)
        except ValueError as exc:
            return _json({"error": "invalid_fault_spec", "error_description": str(exc)}, 400)
        return _json({"ok": True, "faults": [dataclasses.asdict(f) for f in ctx.observer.faults]})

    @app.errorhandler(404)
    @app.errorhandler(405)
    def _not_found(exc):
        """Unknown Salesforce API paths answer like Salesforce (JSON ``NOT_FOUND``), not with Flask's HTML."""
        if request.path.startswith("/services/Soap/"):
            return soap.fault("soapenv:Client", "No such operation or endpoint")
        if request.path.startswith("/services/"):
            return _json(
                [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}],
                404,
            )
        return exc

    rest.register(app, ctx)
    soap.register(app, ctx)
    oauth.register(app, ctx)
    setup_pages.register(app, ctx)
    return app


class ResetMiddleware:
    """WSGI wrapper that turns a ``reset`` fault into a dropped connection (no response bytes at all)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        result = self.app(environ, start_response) if not environ.get("orgsim.reset.pre") else []
        if environ.get("orgsim.reset"):
            if hasattr(result, "close"):
                result.close()
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            raise ConnectionResetError("orgsim: injected connection reset")
        return result
