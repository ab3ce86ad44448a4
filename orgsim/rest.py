"""REST and Tooling API: parse requests and render Salesforce-shaped JSON. Rules live in ``platform``.

Routes (any ``vNN.N`` from 20.0 to :data:`LATEST_VERSION`; other versions answer 404 ``NOT_FOUND``):

==========================================================  =============================================
``GET /services/data``                                      versions, oldest first (cci takes the last)
``GET /services/data/vX``                                   resource map
``GET .../sobjects``, ``.../sobjects/{T}/describe``         describe global / sObject (feature-gated fields)
``POST .../sobjects/{T}``                                   create: 201 ``{"id","success":true,"errors":[]}``
``GET|PATCH|DELETE .../sobjects/{T}/{id}``                  read (``?fields=``) / update 204 / delete 204
``GET .../query?q=``, ``.../queryAll?q=``                   ``{"totalSize","done","records"[,"nextRecordsUrl"]}``
``GET .../query?q=...&columns=true``                        the column metadata (``soql.columns``)
``GET .../query/{01g locator}-{offset}``                    the next batch
``GET .../limits``                                          ``{"DailyApiRequests": {"Max", "Remaining"}}``
``POST|PATCH|DELETE .../composite/sobjects``                list of ``{"id","success","errors"}``
``.../tooling/query``, ``.../tooling/sobjects...``          Tooling API (``schema`` tooling objects)
``GET .../tooling/executeAnonymous``                        ``compiled: false``: the simulator has no Apex
==========================================================  =============================================

Errors are ``[{"message", "errorCode"[, "fields"]}]`` with the platform's status (401 ``INVALID_SESSION_ID``,
400 ``JSON_PARSER_ERROR``/``MALFORMED_QUERY``/..., 404 ``NOT_FOUND``); composite entries use
``{"statusCode", "message", "fields"}`` (REST API Developer Guide, sObject Collections).
"""

from __future__ import annotations

import json
import re
import secrets
import string
from typing import Any

from flask import Flask, Response, current_app, g, request

from orgsim import schema, soql
from orgsim.errors import SalesforceError
from orgsim.observe import soql_object

LATEST_VERSION = 66
OLDEST_VERSION = 20
_VERSION_RE = re.compile(r"^(\d{2})\.0$")
_ALNUM = string.ascii_letters + string.digits
MAX_CURSORS = 200


def versions() -> list[dict[str, str]]:
    """``GET /services/data``: ``[{"label": "Spring '26", "url": "/services/data/v66.0", "version": "66.0"}, ...]``
    oldest first; v66.0 = Spring '26, v65.0 = Winter '26, v64.0 = Summer '25 (facts §9)."""
    out = []
    for n in range(OLDEST_VERSION, LATEST_VERSION + 1):
        k = LATEST_VERSION - n
        cycle, pos = divmod(k, 3)
        season, year = [("Spring", 26), ("Winter", 26), ("Summer", 25)][pos]
        out.append(
            {
                "label": f"{season} '{(year - cycle) % 100:02d}",
                "url": f"/services/data/v{n}.0",
                "version": f"{n}.0",
            }
        )
    return out


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def error_response(exc: SalesforceError) -> Response:
    body: dict[str, Any] = {"message": exc.message, "errorCode": exc.error_code}
    if exc.fields:
        body["fields"] = exc.fields
    return json_response([body], exc.status)


def _composite_error(exc: SalesforceError) -> dict[str, Any]:
    return {"statusCode": exc.error_code, "message": exc.message, "fields": exc.fields}


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    for prefix in ("Bearer ", "OAuth "):
        if header.startswith(prefix):
            return header[len(prefix) :].strip()
    return None


def _json_body() -> Any:
    raw = request.get_data(as_text=True)
    try:
        return json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError as exc:
        raise SalesforceError(
            "JSON_PARSER_ERROR", f"Unexpected character at [line:{exc.lineno}, column:{exc.colno}]"
        ) from None


def _count(org) -> None:
    """Count a REST or Tooling request against the daily allowance (``Identity.count_api_request``) and
    keep ``(used, allowance)`` for the ``Sforce-Limit-Info`` header, which every REST response carries
    after authentication, the versions URI excepted ("Limit Info Header"). A Composite subrequest is not
    counted on its own: the composite is one request. Raises 403 ``REQUEST_LIMIT_EXCEEDED`` past it."""
    if SUBREQUEST_ENVIRON in request.environ:
        return
    try:
        g.api_usage = org.count_api_request()
    except SalesforceError:
        g.api_usage = org.api_usage()
        raise


def register(app: Flask, ctx) -> None:
    """Add the REST and Tooling routes to ``app``; ``ctx.org`` is the ``platform.Org``."""

    def api(rule: str, methods=("GET",)):
        def wrap(fn):
            def view(version: str, **kw):
                g.kind = "read" if request.method == "GET" else "write"
                try:
                    match = _VERSION_RE.match(version)
                    if not match or not OLDEST_VERSION <= int(match.group(1)) <= LATEST_VERSION:
                        raise SalesforceError(
                            "NOT_FOUND", "The requested resource does not exist", status=404
                        )
                    with ctx.org.lock:
                        user = ctx.org.session_user(_bearer())
                        _count(ctx.org)
                        response = fn(user, version, **kw)
                except SalesforceError as exc:
                    response = error_response(exc)
                except soql.SoqlError as exc:
                    response = error_response(SalesforceError(exc.error_code, exc.message))
                if g.get("api_usage"):
                    response.headers["Sforce-Limit-Info"] = "api-usage={}/{}".format(*g.api_usage)
                return response

            for suffix in (rule, rule + "/") if rule else ("", "/"):
                app.add_url_rule(
                    "/services/data/v<version>" + suffix,
                    endpoint=f"{fn.__name__}:{suffix}",
                    view_func=view,
                    methods=list(methods),
                )
            return fn

        return wrap

    @app.get("/services/data")
    @app.get("/services/data/")
    def data_versions():
        g.kind = "read"
        return json_response(versions())

    @api("/limits")
    def limits(user, version):
        """``GET .../limits``: ``{"DailyApiRequests": {"Max", "Remaining"}}`` (REST API Developer Guide
        "Limits": "Max is the limit total for the org. Remaining is the total number of calls or events
        left for the org"). Only the daily API allowance is modelled; the other limits of a real org are
        absent rather than invented."""
        used, allowance = ctx.org.api_usage()
        return json_response(
            {"DailyApiRequests": {"Max": allowance, "Remaining": max(allowance - used, 0)}}
        )

    @api("")
    def resources(user, version):
        base = f"/services/data/v{version}"
        names = ("sobjects", "query", "queryAll", "tooling", "composite", "limits")
        return json_response({n: f"{base}/{n}" for n in names})

    # -- describe ---------------------------------------------------------------------------------------

    @api("/sobjects")
    def global_describe(user, version):
        return json_response(
            schema.describe_global(ctx.org.features(), base_url=f"/services/data/v{version}")
        )

    @api("/tooling/sobjects")
    def tooling_global_describe(user, version):
        return json_response(
            schema.describe_global(
                ctx.org.features(), tooling=True, base_url=f"/services/data/v{version}/tooling"
            )
        )

    def _describe(sobject, version, tooling=False):
        obj = schema.get_object(sobject)
        if obj is None or not (obj.tooling if tooling else obj.standard_api):
            raise SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)
        g.action = obj.name
        base = f"/services/data/v{version}" + ("/tooling" if tooling else "")
        return schema.describe_sobject(obj.name, ctx.org.features(), base_url=base)

    @api("/sobjects/<sobject>/describe")
    def sobject_describe(user, version, sobject):
        return json_response(_describe(sobject, version))

    @api("/tooling/sobjects/<sobject>", methods=("POST",))
    def tooling_sobject_create(user, version, sobject):
        """Tooling API create (``PackageInstallRequest``: what ``install_managed`` posts for a 04t id)."""
        g.action = sobject
        new_id = ctx.org.create(user, sobject, _json_body(), tooling=True)
        return json_response({"id": new_id, "success": True, "errors": []}, 201)

    @api("/tooling/sobjects/<sobject>/describe")
    def tooling_sobject_describe(user, version, sobject):
        return json_response(_describe(sobject, version, tooling=True))

    @api("/sobjects/<sobject>", methods=("GET", "POST"))
    def sobject_root(user, version, sobject):
        if request.method == "GET":
            described = _describe(sobject, version)
            (
                described.pop("fields"),
                described.pop("childRelationships"),
                described.pop("recordTypeInfos"),
            )
            return json_response({"objectDescribe": described, "recentItems": []})
        g.action = sobject
        body = _json_body()
        new_id = ctx.org.create(user, sobject, body)
        return json_response({"id": new_id, "success": True, "errors": []}, 201)

    @api("/sobjects/<sobject>/<record_id>", methods=("GET", "PATCH", "DELETE"))
    def sobject_record(user, version, sobject, record_id):
        g.action = sobject
        if request.method == "GET":
            fields = [
                f.strip() for f in request.args.get("fields", "").split(",") if f.strip()
            ] or None
            return json_response(
                ctx.org.retrieve(user, sobject, record_id, fields, api_version=version)
            )
        if request.method == "PATCH":
            ctx.org.update(user, sobject, record_id, _json_body())
        else:
            ctx.org.delete(user, sobject, record_id)
        return Response(status=204)

    # -- query --------------------------------------------------------------------------------------------

    def _run_query(user, version, tooling):
        text = request.args.get("q")
        if not text:
            raise SalesforceError("MALFORMED_QUERY", "A query string has to be specified")
        g.action = soql_object(text)
        records, total, batch = ctx.org.query(user, text, api_version=version, tooling=tooling)
        if request.args.get("columns", "").lower() == "true":
            # The query's column metadata instead of its records (what ``sf data query`` asks for;
            # soql.columns). The query is run first, so it fails as the query itself would.
            return json_response(soql.columns(text, features=ctx.org.features()))
        return json_response(_page(version, tooling, records, total, batch, 0))

    def _page(version, tooling, records, total, batch, offset):
        chunk = records[offset : offset + batch]
        body: dict[str, Any] = {
            "totalSize": total,
            "done": offset + batch >= len(records),
            "records": chunk,
        }
        if not body["done"]:
            locator = "01g" + "".join(secrets.choice(_ALNUM) for _ in range(15))
            ctx.cursors[locator] = (records, total, batch, tooling)
            while len(ctx.cursors) > MAX_CURSORS:
                ctx.cursors.pop(next(iter(ctx.cursors)))
            api = "tooling/" if tooling else ""
            body["nextRecordsUrl"] = (
                f"/services/data/v{version}/{api}query/{locator}-{offset + batch}"
            )
        return body

    def _next_page(version, locator_offset, tooling):
        locator, _, offset = locator_offset.rpartition("-")
        entry = ctx.cursors.pop(locator, None)
        if entry is None or not offset.isdigit():
            raise SalesforceError("INVALID_QUERY_LOCATOR", "invalid query locator")
        records, total, batch, _ = entry
        g.action = records[0]["attributes"]["type"] if records else None
        return json_response(_page(version, tooling, records, total, batch, int(offset)))

    @api("/query")
    def query(user, version):
        return _run_query(user, version, False)

    @api("/queryAll")
    def query_all(user, version):
        return _run_query(user, version, False)

    @api("/tooling/query")
    def tooling_query(user, version):
        return _run_query(user, version, True)

    @api("/query/<locator>")
    def query_more(user, version, locator):
        return _next_page(version, locator, False)

    @api("/queryAll/<locator>")
    def query_all_more(user, version, locator):
        return _next_page(version, locator, False)

    @api("/tooling/query/<locator>")
    def tooling_query_more(user, version, locator):
        return _next_page(version, locator, True)

    @api("/tooling/executeAnonymous")
    def execute_anonymous(user, version):
        return json_response(
            {
                "line": -1,
                "column": -1,
                "compiled": False,
                "success": False,
                "compileProblem": "The org simulator does not run Apex",
                "exceptionStackTrace": None,
                "exceptionMessage": None,
            }
        )

    # -- sObject collections --------------------------------------------------------------------------------

    @api("/composite/sobjects", methods=("POST", "PATCH", "DELETE"))
    def composite_sobjects(user, version):
        """sObject Collections create / update / delete with ``allOrNone`` (failed batch: every record reports
        an error; the ones that would have succeeded get ``ALL_OR_NONE_OPERATION_ROLLED_BACK``)."""
        if request.method == "DELETE":
            ids = [i for i in request.args.get("ids", "").split(",") if i]
            all_or_none = request.args.get("allOrNone", "false").lower() == "true"
            ops = [("delete", None, i) for i in ids]
        else:
            body = _json_body()
            if not isinstance(body, dict) or not isinstance(body.get("records"), list):
                raise SalesforceError(
                    "JSON_PARSER_ERROR", "Expected an object with a 'records' list"
                )
            all_or_none = bool(body.get("allOrNone", False))
            ops = []
            for rec in body["records"]:
                if not isinstance(rec, dict):
                    raise SalesforceError("JSON_PARSER_ERROR", "Each record must be a JSON object")
                rtype = (rec.get("attributes") or {}).get("type")
                values = {k: v for k, v in rec.items() if k not in ("attributes", "id", "Id")}
                rid = rec.get("id") or rec.get("Id")
                ops.append(
                    ("create" if request.method == "POST" else "update", rtype, (values, rid))
                )
        if len(ops) > 200:
            raise SalesforceError(
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
            )
        g.action = ",".join(sorted({o[1] for o in ops if o[1]})) or None
        results = []
        failed = False
        try:
            with ctx.org.store.savepoint():
                for op, rtype, payload in ops:
                    try:
                        if op == "create":
                            if not rtype:
                                raise SalesforceError(
                                    "INVALID_TYPE", "No SObject Type defined in request"
                                )
                            values, rid = payload
                            results.append(
                                {
                                    "id": ctx.org.create(user, rtype, values),
                                    "success": True,
                                    "errors": [],
                                }
                            )
                        elif op == "update":
                            values, rid = payload
                            if not rtype:
                                raise SalesforceError(
                                    "INVALID_TYPE", "No SObject Type defined in request"
                                )
                            if not rid:
                                raise SalesforceError(
                                    "MISSING_ARGUMENT", "Id not specified in an update call", ["id"]
                                )
                            ctx.org.update(user, rtype, rid, values)
                            results.append({"id": rid, "success": True, "errors": []})
                        else:
                            kind = ctx.org.store.object_of(payload) or "Unknown"
                            ctx.org.delete(user, kind, payload)
                            results.append({"id": payload, "success": True, "errors": []})
                    except SalesforceError as exc:
                        failed = True
                        if exc.error_code == "NOT_FOUND" and op != "create":
                            exc = SalesforceError(
                                "ENTITY_IS_DELETED"
                                if op == "delete"
                                else "INVALID_CROSS_REFERENCE_KEY",
                                "entity is deleted"
                                if op == "delete"
                                else "invalid cross reference id",
                            )
                        results.append(
                            {
                                "id": None
                                if op == "create"
                                else (payload if op == "delete" else payload[1]),
                                "success": False,
                                "errors": [_composite_error(exc)],
                            }
                        )
                if all_or_none and failed:
                    raise _RollBack()
        except _RollBack:
            rolled = {
                "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
                "fields": [],
            }
            results = [
                r if not r["success"] else {"id": None, "success": False, "errors": [rolled]}
                for r in results
            ]
        return json_response(results)

    @api("/composite", methods=("POST",))
    def composite(user, version):
        """Composite: ``{"allOrNone", "compositeRequest": [{"method", "url", "referenceId", "body"}]}`` ->
        ``{"compositeResponse": [{"body", "httpHeaders", "httpStatusCode", "referenceId"}]}``. Subrequests run
        in order through this app (as the same session, ``@{ref.field}`` substituted); with ``allOrNone`` a
        failure rolls everything back and the others report ``PROCESSING_HALTED``."""
        body = _json_body()
        subrequests = body.get("compositeRequest") if isinstance(body, dict) else None
        if not isinstance(subrequests, list):
            raise SalesforceError(
                "JSON_PARSER_ERROR", "Expected an object with a 'compositeRequest' list"
            )
        if len(subrequests) > 25:
            raise SalesforceError(
                "LIMIT_EXCEEDED", "Composite requests can have at most 25 subrequests"
            )
        # "Up to 5 of these subrequests can be sObject Collections or query operations, including Query and
        # QueryAll requests" (REST API Developer Guide, Composite). What Salesforce answers past 5 is not
        # documented (UNCERTAIN): the conservative model refuses the whole request, code and text guessed.
        queries = [
            sub
            for sub in subrequests
            if isinstance(sub, dict)
            and re.search(r"/(query|queryAll|composite/sobjects)(/|\?|$)", str(sub.get("url", "")))
        ]
        if len(queries) > 5:
            raise SalesforceError(
                "LIMIT_EXCEEDED",
                "Composite requests can have at most 5 query or sObject Collections subrequests",
            )
        all_or_none = bool(body.get("allOrNone", False))
        g.action = "composite"
        client = current_app.test_client()
        headers = {"Authorization": request.headers.get("Authorization", "")}
        # Each subrequest's log entry goes into this list (app._after), logged after the composite's own.
        sublog: list[dict[str, Any]] = request.environ.setdefault("orgsim.subrequests", [])
        results: list[dict[str, Any]] = []
        bodies: dict[str, Any] = {}
        try:
            with ctx.org.store.savepoint():
                for sub in subrequests:
                    url = _substitute(str(sub.get("url", "")), bodies)
                    payload = sub.get("body")
                    if payload is not None:
                        payload = json.loads(_substitute(json.dumps(payload), bodies))
                    if not is_subrequest_url(url):
                        sublog.append(_refused_entry(sub, url))
                        bodies[str(sub.get("referenceId"))] = NOT_FOUND_BODY
                        results.append(
                            {
                                "body": NOT_FOUND_BODY,
                                "httpHeaders": {},
                                "httpStatusCode": 404,
                                "referenceId": sub.get("referenceId"),
                            }
                        )
                        continue
                    resp = client.open(
                        url,
                        method=str(sub.get("method", "GET")).upper(),
                        json=payload,
                        headers=headers,
                        environ_base={SUBREQUEST_ENVIRON: sublog},
                    )
                    parsed = resp.get_json(silent=True) if resp.data else None
                    if str(sub.get("method", "GET")).upper() == "GET" and resp.status_code < 400:
                        # What the autopilot sees of the batch: each query, as if sent on its own.
                        g.sub_reads = [*g.get("sub_reads", []), (g.get("action"), url)]
                    bodies[str(sub.get("referenceId"))] = parsed
                    results.append(
                        {
                            "body": parsed,
                            "httpHeaders": {},
                            "httpStatusCode": resp.status_code,
                            "referenceId": sub.get("referenceId"),
                        }
                    )
                if all_or_none and any(r["httpStatusCode"] >= 400 for r in results):
                    raise _RollBack()
        except _RollBack:
            halted = [
                {
                    "errorCode": "PROCESSING_HALTED",
                    "message": "The transaction was rolled back since another operation in the same transaction failed.",
                }
            ]
            results = [
                r if r["httpStatusCode"] >= 400 else {**r, "body": halted, "httpStatusCode": 400}
                for r in results
            ]
        # Subrequests share this app context's ``g``. The request log calls a composite of GETs only (queries
        # read in one round trip) a read; any other subrequest makes it a write.
        reads_only = all(str(sub.get("method", "GET")).upper() == "GET" for sub in subrequests)
        g.kind, g.action = ("read" if reads_only else "write"), "composite"
        return json_response({"compositeResponse": results})


class _RollBack(Exception):
    pass


#: WSGI environ key marking a composite subrequest (set here only; an HTTP header becomes an ``HTTP_*`` key
#: and can never set it): its log entry goes into the list it holds, logged with the composite as parent;
#: it is not delayed, counted or faulted on its own (app._before).
SUBREQUEST_ENVIRON = "orgsim.subrequest_log"
NOT_FOUND_BODY = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
_SUBREQUEST_PATH = re.compile(r"^/services/data/v\d+\.\d+/[^?#]*$")


def is_subrequest_url(url: str) -> bool:
    """Whether a Composite subrequest may go to ``url``: a relative ``/services/data/vNN.N/...`` URL (REST API
    Developer Guide, Composite: "url: The resource to request", relative to the instance) with no ``.`` or
    ``..`` segment, in its raw and its percent-decoded form. Anything else (``/_sim/``, Setup pages, OAuth,
    an absolute URL, a nested Composite) is answered 404 ``NOT_FOUND`` like an unknown resource, never run."""
    from urllib.parse import unquote, urlsplit

    for text in (url, unquote(url)):
        parts = urlsplit(text)
        if parts.scheme or parts.netloc or "\\" in parts.path:
            return False
        if not _SUBREQUEST_PATH.match(parts.path):
            return False
        segments = parts.path.split("/")
        if any(seg in (".", "..") for seg in segments):
            return False
        if re.match(r"^/services/data/v[\d.]+/composite/?$", parts.path):
            return False
    return True


def _refused_entry(sub: dict, url: str) -> dict[str, Any]:
    """The log entry of a subrequest refused by :func:`is_subrequest_url` (it never reached a route)."""
    from urllib.parse import urlsplit

    return {
        "method": str(sub.get("method", "GET")).upper(),
        "path": urlsplit(url).path or url,
        "action": None,
        "status": 404,
        "duration_ms": 0.0,
        "kind": "read" if str(sub.get("method", "GET")).upper() == "GET" else "write",
    }


def _substitute(text: str, bodies: dict[str, Any]) -> str:
    def value(match):
        ref, _, path = match.group(1).partition(".")
        current: Any = bodies.get(ref)
        for part in path.split(".") if path else []:
            if isinstance(current, list):
                current = (
                    current[int(part)] if part.isdigit() and int(part) < len(current) else None
                )
            elif isinstance(current, dict):
                current = current.get(part)
        return "" if current is None else str(current)

    return re.sub(r"@\{([^}]+)\}", value, text)
