"""Metadata API (SOAP): parse envelopes by local tag name (lxml), render responses and faults.
The rules (what deploys, what a retrieve returns) are ``platform.Org.deploy`` / ``retrieve_metadata`` /
``list_metadata``.

Endpoint: ``POST /services/Soap/m/{version}[/{orgId}]`` with ``<SessionHeader><sessionId>``. Operations
(the body's first element; the ``SOAPAction`` header is only logged): ``deploy`` -> ``<id>0Af…</id>``;
``checkDeployStatus`` -> ``DeployResult`` (``done`` true, ``status``, ``success``, ``numberComponents*``,
``details/componentSuccesses|componentFailures`` with ``created``/``deleted``/``problem``/``problemType``,
as cci's ``ApiDeploy`` reads them, cumulusci-notes §3.6); ``retrieve`` -> ``<id>09S…</id>``;
``checkStatus`` -> ``done`` true (documented up to API 30.0; cci still sends it);
``checkRetrieveStatus`` -> RetrieveResult ``done`` true, ``fileProperties``, ``id``, ``messages``,
``status`` Succeeded, ``success``, and ``zipFile`` (entries under ``unpackaged/``) unless
``includeZip`` is false; ``listMetadata``; ``readMetadata`` (PermissionSet, ConnectedApp, the registered types);
``describeMetadata``.

Every call after authentication counts one against the org's daily API allowance, the same count as REST's
(``org.daily_api_requests``), and its response carries ``soapenv:Header/LimitInfoHeader`` (``current``,
``limit``, ``type`` API REQUESTS; :func:`with_limit_info`); past the allowance the call answers the fault
``sf:REQUEST_LIMIT_EXCEEDED`` "REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded." and is not counted.

Faults (HTTP 500, ``soapenv:Fault`` with ``faultcode``/``faultstring``): ``sf:INVALID_SESSION_ID`` for a
bad session (cci then refreshes its token once and retries), ``soapenv:Client`` for an envelope that does
not parse, ``sf:INVALID_ID_FIELD`` for an unknown async id, ``sf:INVALID_TYPE`` for a metadata type the
org does not know (``listMetadata``, ``readMetadata``), ``sf:UNABLE_TO_LOCK_ROW`` when injected.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import string
from xml.sax.saxutils import escape

from flask import Flask, Response, g, request
from lxml import etree

from orgsim import permissions, schema
from orgsim.errors import SalesforceError
from orgsim.mdxml import MD_NS

_ALNUM = string.ascii_letters + string.digits

#: describeMetadata: the types the simulator models (xmlName, directoryName, suffix).
METADATA_TYPES = [
    ("BlacklistedConsumer", "blacklistedConsumers", "blacklistedConsumer"),
    ("ConnectedApp", "connectedApps", "connectedApp"),
    ("PermissionSet", "permissionsets", "permissionset"),
    ("Profile", "profiles", "profile"),
    ("Settings", "settings", "settings"),
]


def envelope(body_xml: str) -> Response:
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns="{MD_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<soapenv:Body>{body_xml}</soapenv:Body></soapenv:Envelope>"
    )
    return Response(xml, status=200, mimetype="text/xml")


def fault(code: str, message: str) -> Response:
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="http://soap.sforce.com/2006/04/metadata">'
        f"<soapenv:Body><soapenv:Fault><faultcode>{escape(code)}</faultcode>"
        f"<faultstring>{escape(message)}</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Response(xml, status=500, mimetype="text/xml")


def with_limit_info(response: Response, usage: tuple[int, int]) -> Response:
    """Add the ``LimitInfoHeader`` to a SOAP response (or fault): ``<LimitInfoHeader><limitInfo><current>used
    </current><limit>allowance</limit><type>API REQUESTS</type></limitInfo></LimitInfoHeader>`` in the
    envelope's ``soapenv:Header`` (SOAP API Developer Guide "LimitInfoHeader",
    https://developer.salesforce.com/docs/platform/api/guide/sforce-api-header-limitinfo.html: returned on
    all calls except ``login()``; ``usage`` as ``Identity.count_api_request`` returns it). UNCERTAIN: the
    Metadata WSDL declares no such header; as in the guide's sample the header is in the envelope's default
    namespace (here the metadata one). Clients that do not know the header ignore it (cci parses by tag,
    zeep reads only the headers its WSDL declares: tests/orgsim/test_limits.py, test_conformance_clients)."""
    current, limit = usage
    header = (
        f'<soapenv:Header><LimitInfoHeader xmlns="{MD_NS}"><limitInfo><current>{current}</current>'
        f"<limit>{limit}</limit><type>API REQUESTS</type></limitInfo></LimitInfoHeader></soapenv:Header>"
    )
    body = response.get_data(as_text=True)
    response.set_data(body.replace("<soapenv:Body>", header + "<soapenv:Body>", 1))
    return response


def _el(tag: str, value) -> str:
    if value is None:
        return f'<{tag} xsi:nil="true"/>'
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{tag}>{escape(str(value))}</{tag}>"


def _struct(tag: str, fields: dict) -> str:
    return f"<{tag}>" + "".join(_el(k, v) for k, v in fields.items() if v is not None) + f"</{tag}>"


def _local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _find_all(root, name: str) -> list:
    return [el for el in root.iter() if _local(el) == name]


def _text(root, name: str) -> str | None:
    found = _find_all(root, name)
    return (found[0].text or "").strip() if found else None


def _new_id(prefix: str) -> str:
    return schema.to_18(prefix + "5i" + "".join(secrets.choice(_ALNUM) for _ in range(10)))


def register(app: Flask, ctx) -> None:
    def handle(version: str, org_id: str | None = None):
        g.kind = "read"
        g.action = (request.headers.get("SOAPAction") or "").strip('"') or None
        try:
            root = etree.fromstring(
                request.get_data(), parser=etree.XMLParser(resolve_entities=False)
            )
        except etree.XMLSyntaxError as exc:
            return fault("soapenv:Client", f"Unable to parse the SOAP request: {exc}")
        bodies = _find_all(root, "Body")
        ops = [c for c in (bodies[0] if bodies else []) if isinstance(c.tag, str)]
        if not ops:
            return fault("soapenv:Client", "The SOAP request has no Body operation")
        op = ops[0]
        name = _local(op)
        g.action = name
        if name == "deploy":
            g.kind = "write"
        with ctx.org.lock:
            try:
                user = ctx.org.session_user(_text(root, "sessionId"))
            except SalesforceError:
                return fault(
                    "sf:INVALID_SESSION_ID",
                    "INVALID_SESSION_ID: Invalid Session ID found in SessionHeader: Illegal Session",
                )
            # Every Metadata API call after authentication counts against the org's daily API allowance
            # ("API Request Limits and Allocations", Limits Quick Reference: the limits apply to SOAP and
            # REST "and any other API built on those frameworks"), the same count as REST's
            # (``Identity.count_api_request``); past it, the fault ``sf:REQUEST_LIMIT_EXCEEDED`` (the REST
            # error's code and message, as a SOAP fault; the fault's wording is UNCERTAIN), not counted.
            try:
                g.api_usage = ctx.org.count_api_request()
            except SalesforceError as exc:
                g.api_usage = ctx.org.api_usage()
                return with_limit_info(
                    fault(f"sf:{exc.error_code}", f"{exc.error_code}: {exc.message}"), g.api_usage
                )
            return with_limit_info(_dispatch(ctx, user, op, name), g.api_usage)

    def _dispatch(ctx, user, op, name: str) -> Response:
        handler = HANDLERS.get(name)
        if handler is None:
            return fault("soapenv:Client", f"No operation available for request {{{MD_NS}}}{name}")
        try:  # every Metadata API call needs Modify All Data or Modify Metadata (permissions.py)
            permissions.metadata_api(ctx.org, user)
        except permissions.MetadataAccessError as exc:
            return fault(exc.faultcode, exc.faultstring)
        return handler(ctx, user, op)

    app.add_url_rule("/services/Soap/m/<version>", "soap_m", handle, methods=["POST"])
    app.add_url_rule("/services/Soap/m/<version>/<org_id>", "soap_m_org", handle, methods=["POST"])


def _deploy(ctx, user, op) -> Response:
    try:
        data = base64.b64decode(_text(op, "ZipFile") or "", validate=False)
    except (binascii.Error, ValueError):
        data = b""
    check_only = (_text(op, "checkOnly") or "false").lower() == "true"
    result = ctx.org.deploy(user, data, check_only=check_only)
    async_id = _new_id("0Af")
    now = ctx.org.store.now()
    result.update(id=async_id, createdDate=now, completedDate=now, rollbackOnError=True)
    ctx.async_results[async_id] = ("deploy", result)
    return envelope(
        f"<deployResponse><result><done>false</done><id>{async_id}</id><state>Queued</state></result></deployResponse>"
    )


def _component(tag: str, comp: dict) -> str:
    fields = {
        "changed": comp.get("changed", False),
        "componentType": comp["componentType"],
        "created": comp["created"],
        "createdDate": None,
        "deleted": comp["deleted"],
        "fileName": comp["fileName"],
        "fullName": comp["fullName"],
        "problem": comp.get("problem"),
        "problemType": comp.get("problemType"),
        "success": comp["success"],
    }
    return _struct(tag, fields)


def _check_deploy_status(ctx, user, op) -> Response:
    async_id = _text(op, "asyncProcessId") or ""
    entry = ctx.async_results.get(async_id)
    if not entry or entry[0] != "deploy":
        return fault(
            "sf:INVALID_ID_FIELD", f"INVALID_ID_FIELD: Invalid async process id: {async_id}"
        )
    r = entry[1]
    include = (_text(op, "includeDetails") or "false").lower() == "true"
    details = ""
    if include:
        details = (
            "<details>"
            + "".join(_component("componentSuccesses", c) for c in r["componentSuccesses"])
            + "".join(_component("componentFailures", c) for c in r["componentFailures"])
            + "<runTestResult><numFailures>0</numFailures><numTestsRun>0</numTestsRun><totalTime>0.0</totalTime></runTestResult>"
            + "</details>"
        )
    head = {
        "checkOnly": r["checkOnly"],
        "completedDate": r["completedDate"],
        "createdBy": user["Id"],
        "createdByName": user.get("Name"),
        "createdDate": r["createdDate"],
    }
    tail = {
        "done": True,
        "errorMessage": r.get("errorMessage"),
        "errorStatusCode": r.get("errorStatusCode"),
        "id": r["id"],
        "ignoreWarnings": True,
        "lastModifiedDate": r["completedDate"],
        "numberComponentErrors": r["numberComponentErrors"],
        "numberComponentsDeployed": r["numberComponentsDeployed"],
        "numberComponentsTotal": r["numberComponentsTotal"],
        "numberTestErrors": 0,
        "numberTestsCompleted": 0,
        "numberTestsTotal": 0,
        "rollbackOnError": True,
        "runTestsEnabled": False,
        "startDate": r["createdDate"],
        "status": r["status"],
        "success": r["success"],
    }
    body = (
        "".join(_el(k, v) for k, v in head.items())
        + details
        + "".join(_el(k, v) for k, v in tail.items() if v is not None)
    )
    return envelope(
        f"<checkDeployStatusResponse><result>{body}</result></checkDeployStatusResponse>"
    )


def _retrieve(ctx, user, op) -> Response:
    types: dict[str, list[str]] = {}
    for t in _find_all(op, "types"):
        name = _text(t, "name")
        if name:
            types.setdefault(name, []).extend(
                (m.text or "").strip() for m in t if _local(m) == "members"
            )
    result = ctx.org.retrieve_metadata(types)
    for pkg in _find_all(op, "packageNames"):
        result.messages.append(
            {"fileName": pkg.text or "", "problem": f"No package named '{pkg.text}' found"}
        )
    async_id = _new_id("09S")
    ctx.async_results[async_id] = ("retrieve", result)
    return envelope(
        f"<retrieveResponse><result><done>false</done><id>{async_id}</id><state>Queued</state></result></retrieveResponse>"
    )


def _check_status(ctx, user, op) -> Response:
    async_id = _text(op, "asyncProcessId") or _text(op, "asyncProcessIds") or ""
    if async_id not in ctx.async_results:
        return fault(
            "sf:INVALID_ID_FIELD", f"INVALID_ID_FIELD: Invalid async process id: {async_id}"
        )
    return envelope(
        f"<checkStatusResponse><result><done>true</done><id>{async_id}</id><state>Completed</state></result></checkStatusResponse>"
    )


def _check_retrieve_status(ctx, user, op) -> Response:
    """RetrieveResult of a finished retrieve (the simulator retrieves at once, so ``done`` is true at the
    first check). Metadata API Developer Guide, "checkRetrieveStatus()": from API 31.0 it is polled
    instead of ``checkStatus()`` until ``done``; ``checkRetrieveStatus(ID id, boolean includeZip)`` (API
    34.0 and later) returns the zip "by default", so ``includeZip`` omitted (cci's envelope) or true gives
    ``zipFile`` and false leaves it out. Fields: "RetrieveResult" (``done``, ``id``, ``status``
    Pending/InProgress/Succeeded/Failed, ``success``, ``zipFile``)."""
    async_id = _text(op, "asyncProcessId") or ""
    include_zip = (_text(op, "includeZip") or "true").lower() not in ("false", "0")
    entry = ctx.async_results.get(async_id)
    if not entry or entry[0] != "retrieve":
        return fault(
            "sf:INVALID_ID_FIELD", f"INVALID_ID_FIELD: Invalid async process id: {async_id}"
        )
    r = entry[1]
    props = "".join(
        _struct(
            "fileProperties",
            {
                k: p[k]
                for k in (
                    "createdById",
                    "createdByName",
                    "createdDate",
                    "fileName",
                    "fullName",
                    "id",
                    "lastModifiedById",
                    "lastModifiedByName",
                    "lastModifiedDate",
                    "manageableState",
                    "type",
                )
            },
        )
        for p in r.file_properties
    )
    messages = "".join(_struct("messages", m) for m in r.messages)
    zipped = f"<zipFile>{base64.b64encode(r.zip_bytes).decode()}</zipFile>" if include_zip else ""
    return envelope(
        "<checkRetrieveStatusResponse><result><done>true</done>"
        f"{props}<id>{async_id}</id>{messages}<status>Succeeded</status><success>true</success>"
        f"{zipped}</result></checkRetrieveStatusResponse>"
    )


def _list_metadata(ctx, user, op) -> Response:
    """``listMetadata``: every query's ``FileProperties``; a type the org does not know faults the whole
    call ``sf:INVALID_TYPE`` "INVALID_TYPE: Unknown type:X" (``Metadata.check_metadata_type``)."""
    results = []
    try:
        for query in _find_all(op, "queries"):
            md_type = _text(query, "type")
            for props in ctx.org.list_metadata(md_type or ""):
                results.append(_struct("result", props))
    except SalesforceError as exc:
        return fault(f"sf:{exc.error_code}", f"{exc.error_code}: {exc.message}")
    return envelope(f"<listMetadataResponse>{''.join(results)}</listMetadataResponse>")


def _read_metadata(ctx, user, op) -> Response:
    """``readMetadata(type, fullNames[])`` -> ``ReadResult`` with one ``records`` per name, typed
    ``xsi:type="<type>"``: ``fullName`` then the component's fields as a retrieve gives them; an empty
    record for a name the org does not have (UNCERTAIN). Faults ``sf:INVALID_TYPE`` for a type it cannot
    read (``Metadata.read_metadata``)."""
    md_type = _text(op, "type") or ""
    names = [(el.text or "").strip() for el in _find_all(op, "fullNames")]
    try:
        found = ctx.org.read_metadata(md_type, names)
    except SalesforceError as exc:
        return fault(f"sf:{exc.error_code}", f"{exc.error_code}: {exc.message}")
    records = []
    for entry in found:
        if entry is None:
            records.append(f'<records xsi:type="{escape(md_type)}"/>')
            continue
        full_name, root = entry
        body = "".join(
            etree.tostring(child, encoding="unicode")
            for child in root
            if isinstance(child.tag, str)
        )
        records.append(
            f'<records xsi:type="{escape(md_type)}">{_el("fullName", full_name)}{body}</records>'
        )
    return envelope(
        f"<readMetadataResponse><result>{''.join(records)}</result></readMetadataResponse>"
    )


def _describe_metadata(ctx, user, op) -> Response:
    objects = "".join(
        f"<metadataObjects><directoryName>{d}</directoryName><inFolder>false</inFolder><metaFile>false</metaFile>"
        f"<suffix>{s}</suffix><xmlName>{x}</xmlName></metadataObjects>"
        for x, d, s in METADATA_TYPES
    )
    return envelope(
        f"<describeMetadataResponse><result>{objects}<organizationNamespace></organizationNamespace>"
        "<partialSaveAllowed>true</partialSaveAllowed><testRequired>false</testRequired></result>"
        "</describeMetadataResponse>"
    )


HANDLERS = {
    "deploy": _deploy,
    "checkDeployStatus": _check_deploy_status,
    "retrieve": _retrieve,
    "checkStatus": _check_status,
    "checkRetrieveStatus": _check_retrieve_status,
    "listMetadata": _list_metadata,
    "readMetadata": _read_metadata,
    "describeMetadata": _describe_metadata,
}
