"""Client helpers for the simulator tests: drive it the way clients do.

``sim_get(sim, path)`` / ``sim_post(sim, path, body)``: the ``/_sim/`` control surface with the admin token.
``sf_for(sim, username=None)``: a ``simple_salesforce.Salesforce`` acting as the connected user (or another
user, via a fresh session). ``soap(sim, body_xml)``: a raw Metadata API envelope. ``deploy`` / ``retrieve``:
the full async round trips.
"""

from __future__ import annotations

import base64
import io
import zipfile

import requests
from simple_salesforce import Salesforce

API = "62.0"
MD_NS = "http://soap.sforce.com/2006/04/metadata"


def token_for(sim, username: str | None = None) -> str:
    if username is None:
        return sim.session["access_token"]
    with sim.org.lock:
        user = sim.org.user_by_username(username)
        return sim.org.issue_session(user["Id"])["access_token"]


def sf_for(sim, username: str | None = None, version: str = API) -> Salesforce:
    session = requests.Session()
    session.verify = sim.cert_file
    return Salesforce(
        instance_url=sim.url, session_id=token_for(sim, username), session=session, version=version
    )


def get(sim, path: str, token: str | None = None, **kw) -> requests.Response:
    headers = {"Authorization": f"Bearer {token or sim.session['access_token']}"}
    return requests.get(sim.url + path, headers=headers, verify=sim.cert_file, timeout=30, **kw)


def soap(sim, body_xml: str, token: str | None = None, action: str = "") -> requests.Response:
    envelope = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
        f'<soap:Header><SessionHeader xmlns="{MD_NS}"><sessionId>{token or sim.session["access_token"]}'
        f"</sessionId></SessionHeader></soap:Header><soap:Body>{body_xml}</soap:Body></soap:Envelope>"
    )
    return requests.post(
        f"{sim.url}/services/Soap/m/{API}/{sim.org.org_id}",
        data=envelope.encode(),
        headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": action},
        verify=sim.cert_file,
        timeout=30,
    )


def mdapi_zip(files: dict[str, str]) -> str:
    """Base64 zip with package.xml plus ``files`` (path -> XML text), MDAPI layout at the root."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(
            "package.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><Package xmlns="{MD_NS}"><version>{API}</version></Package>',
        )
        for name, text in files.items():
            zf.writestr(name, text)
    return base64.b64encode(buf.getvalue()).decode()


def permission_set_xml(
    label: str | None = "6sense Setup Access", permissions=("ApiEnabled",)
) -> str:
    perms = "".join(
        f"<userPermissions><enabled>true</enabled><name>{p}</name></userPermissions>"
        for p in permissions
    )
    lab = f"<label>{label}</label>" if label is not None else ""
    return f'<?xml version="1.0" encoding="UTF-8"?><PermissionSet xmlns="{MD_NS}">{lab}{perms}</PermissionSet>'


def deploy(sim, files: dict[str, str], check_only: bool = False, token: str | None = None):
    """Deploy and return the parsed checkDeployStatus result (lxml element of ``result``)."""
    from lxml import etree

    resp = soap(
        sim,
        f"<deploy xmlns='{MD_NS}'><ZipFile>{mdapi_zip(files)}</ZipFile><DeployOptions>"
        f"<checkOnly>{'true' if check_only else 'false'}</checkOnly><rollbackOnError>true</rollbackOnError>"
        "<singlePackage>true</singlePackage></DeployOptions></deploy>",
        token=token,
        action="deploy",
    )
    assert resp.status_code == 200, resp.text
    async_id = etree.fromstring(resp.content).findtext(f".//{{{MD_NS}}}id")
    status = soap(
        sim,
        f"<checkDeployStatus xmlns='{MD_NS}'><asyncProcessId>{async_id}</asyncProcessId>"
        "<includeDetails>true</includeDetails></checkDeployStatus>",
        token=token,
        action="checkDeployStatus",
    )
    assert status.status_code == 200, status.text
    return etree.fromstring(status.content).find(f".//{{{MD_NS}}}result")


def retrieve(sim, types: dict[str, list[str]]) -> tuple[dict[str, bytes], list[str]]:
    """Retrieve ``{type: [members]}``; returns (zip entries -> bytes, messages' problems)."""
    from lxml import etree

    body = "".join(
        "<types>"
        + "".join(f"<members>{m}</members>" for m in members)
        + f"<name>{t}</name></types>"
        for t, members in types.items()
    )
    resp = soap(
        sim,
        f"<retrieve xmlns='{MD_NS}'><retrieveRequest><apiVersion>{API}</apiVersion><unpackaged>{body}"
        f"<version>{API}</version></unpackaged></retrieveRequest></retrieve>",
        action="retrieve",
    )
    async_id = etree.fromstring(resp.content).findtext(f".//{{{MD_NS}}}id")
    check = soap(
        sim,
        f"<checkStatus xmlns='{MD_NS}'><asyncProcessId>{async_id}</asyncProcessId></checkStatus>",
    )
    assert etree.fromstring(check.content).findtext(f".//{{{MD_NS}}}done") == "true"
    result = soap(
        sim,
        f"<checkRetrieveStatus xmlns='{MD_NS}'><asyncProcessId>{async_id}</asyncProcessId></checkRetrieveStatus>",
    )
    root = etree.fromstring(result.content)
    data = base64.b64decode(root.findtext(f".//{{{MD_NS}}}zipFile"))
    zf = zipfile.ZipFile(io.BytesIO(data))
    problems = [p.text for p in root.iter(f"{{{MD_NS}}}problem")]
    return {n: zf.read(n) for n in zf.namelist()}, problems


def sim_get(sim, path: str, **kw) -> requests.Response:
    """``GET /_sim/...`` with the simulator's admin token (``sim.admin_headers()``)."""
    return requests.get(
        sim.url + path, headers=sim.admin_headers(), verify=sim.cert_file, timeout=30, **kw
    )


def sim_post(sim, path: str, body: dict) -> requests.Response:
    """``POST /_sim/...`` with a JSON body and the simulator's admin token."""
    return requests.post(
        sim.url + path, json=body, headers=sim.admin_headers(), verify=sim.cert_file, timeout=30
    )


#: Every ``/_sim/`` endpoint as ``(method, path)``.
ADMIN_PATHS = (
    ("POST", "/_sim/actions/authorize"),
    ("POST", "/_sim/actions/install"),
    ("GET", "/_sim/requests"),
    ("GET", "/_sim/state"),
    ("POST", "/_sim/faults"),
)
