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
"""

from __future__ import annotations

import dataclasses
import json
import socket
import time
from typing import Any
from urllib.parse import unquote_plus

from flask import Flask, Response, g, request

from orgsim import eca, oauth, rest, setup_pages, soap
from orgsim.autopilot import Autopilot, run_action
from orgsim.observe import Observer
from orgsim.platform import ActionError, Org

UNLOGGED = ("/_sim/requests", "/_sim/state")


@dataclasses.dataclass
class SimContext:
    """What the routes share: the org, the observer, the optional autopilot, query cursors, async results."""

    observer: Observer
    org: Org | None = None
    autopilot: Autopilot | None = None
    cursors: dict = dataclasses.field(default_factory=dict)
    async_results: dict = dataclasses.field(default_factory=dict)


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def state(org: Org) -> dict[str, Any]:
    """``GET /_sim/state``: every row of every sObject plus the app lifecycle."""
    with org.lock:
        return {
            "scenario": org.store.meta("scenario_name"),
            "features": {
                "api_access_control": org.store.meta("acc"),
                "connected_app_metadata_retrievable": org.connected_app_metadata_retrievable,
                "eca_policy_metadata_deployable": eca.policy_metadata_deployable(org),
            },
            "apps": org.apps(),
            "eca": eca.state(org),
            "objects": org.store.dump(),
        }


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


def create_app(ctx: SimContext) -> Flask:
    app = Flask("orgsim")
    app.url_map.strict_slashes = False

    @app.before_request
    def _before():
        g.started = time.perf_counter()
        g.kind = "sim" if request.path.startswith(("/_sim/", "/lightning/", "/setup/")) else "read"
        g.action = None
        g.fault = None
        if g.kind == "sim" or request.headers.get(rest.SUBREQUEST):
            return None
        ctx.observer.delay()
        target = request.full_path + " " + (request.headers.get("SOAPAction") or "")
        fault = ctx.observer.next_fault(target)
        if fault is None:
            return None
        g.fault = fault.kind
        if fault.kind == "reset":
            request.environ["orgsim.reset"] = True
            return Response(status=204)
        return _fault_response(fault.kind, request.path)

    @app.after_request
    def _after(response: Response):
        if request.path in UNLOGGED or request.headers.get(rest.SUBREQUEST):
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
            duration_ms=(time.perf_counter() - g.get("started", time.perf_counter())) * 1000,
            kind=g.get("kind", "read"),
        )
        if ctx.autopilot and g.get("kind") == "read" and not g.get("fault"):
            # One request, one poll: a composite's queries are seen together (rest.composite).
            reads = g.get("sub_reads") or [(g.get("action"), request.full_path)]
            ctx.autopilot.on_reads([_same_query_key(path) for _, path in reads])
        return response

    @app.post("/_sim/actions/<name>")
    def sim_action(name):
        g.action = name
        try:
            params = request.get_json(force=True, silent=True) or {}
            result = run_action(ctx.org, name, params if isinstance(params, dict) else {})
        except ActionError as exc:
            return _json({"error": exc.error, "error_description": exc.error_description}, 400)
        return _json({"ok": True, **{k: v for k, v in result.items() if k != "ok"}})

    @app.get("/_sim/requests")
    def sim_requests():
        since = request.args.get("since", "0")
        return _json(ctx.observer.requests(int(since) if since.isdigit() else 0))

    @app.get("/_sim/state")
    def sim_state():
        return _json(state(ctx.org))

    @app.post("/_sim/faults")
    def sim_faults():
        g.action = "faults"
        body = request.get_json(force=True, silent=True) or {}
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
