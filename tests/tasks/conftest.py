"""Fixtures for unit tests of the sixsense_* task classes with ``responses``.

Tasks are loaded the way cci loads them (``project_config.get_task(name).get_class()``) from a CliRuntime
built for this repository, so the synthetic ``tasks`` package of CumulusCI resolves ``tasks.<module>``.
``FakeOrg`` answers REST queries by matching the SOQL text, describes, inserts and Metadata API (SOAP) calls,
and records every request so tests can assert "no write". It does not evaluate ``WHERE``: a test that a check
says FAIL when the org holds the wrong rows (another user's, another app's) runs against the simulator
(``sim_task``, whose SOQL honours ``WHERE``; tests/tasks/test_checks_fail.py).
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import re
import zipfile
from pathlib import Path
from unittest import mock
from urllib.parse import parse_qs, urlparse

import pytest
import responses

ROOT = Path(__file__).resolve().parents[2]
INSTANCE = "https://acme.my.salesforce.com"
API = f"{INSTANCE}/services/data/v65.0"
ORG_ID = "00D000000000001EAA"
SOAP = f"{INSTANCE}/services/Soap/m/65.0/{ORG_ID}"
ADMIN = "admin@example.com"
INTEGRATION = "sixsense.integration@example.com"
APP = "sfdc_6sense_oauth_app"


@pytest.fixture(scope="session")
def runtime(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    (home / ".cumulusci").mkdir()
    (home / ".cumulusci" / "cumulus_timestamp").write_text("99999999999")
    saved = {k: os.environ.get(k) for k in ("HOME", "CUMULUSCI_KEY", "CUMULUSCI_KEYCHAIN_CLASS")}
    os.environ.update(HOME=str(home), CUMULUSCI_KEY="0123456789abcdef")
    os.environ.pop("CUMULUSCI_KEYCHAIN_CLASS", None)
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        from cumulusci.cli.runtime import CliRuntime

        rt = CliRuntime(load_keychain=True)
    finally:
        os.chdir(cwd)
    yield rt
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def org_config():
    from cumulusci.core.config import OrgConfig

    org = OrgConfig(
        {
            "instance_url": INSTANCE,
            "access_token": "00D000000000001!SESSION",
            "id": f"{INSTANCE}/id/{ORG_ID}/005000000000001AAA",
            "username": ADMIN,
            "org_id": ORG_ID,
        },
        "test",
    )
    org.refresh_oauth_token = mock.Mock()
    return org


@pytest.fixture
def make_task(runtime, org_config, tmp_path):
    """``make_task("sixsense_verify", integration_username=...)`` -> a task instance (not yet run). The
    setup-user tasks get the integration user by default, as the flows give it (they require it, to refuse
    it as the setup user: issue 17 kind 6); ``integration_username=""`` leaves it out."""
    from cumulusci.core.config import TaskConfig

    def _make(name, org=org_config, **options):
        if name in ("sixsense_assign_setup_access", "sixsense_authorize_setup_user"):
            options.setdefault("integration_username", INTEGRATION)
        base = runtime.project_config.get_task(name)
        config = {**base.config, "options": {**(base.config.get("options") or {}), **options}}
        return base.get_class()(runtime.project_config, TaskConfig(config), org_config=org)

    return _make


@pytest.fixture(autouse=True)
def no_sleep():
    with mock.patch("time.sleep") as sleep:
        yield sleep


@pytest.fixture(autouse=True)
def reports_in_tmp(runtime, monkeypatch, tmp_path):
    """The default report paths (audit runs, diagnosis, troubleshooting) point into the test's tmp dir,
    so the suite leaves nothing in the checkout's .sixsense/."""
    import importlib

    from tests.conftest import audit_reports_into

    audit_reports_into(monkeypatch, tmp_path / "audit")
    for module, cls, stem in (
        ("tasks.diagnose.task", "Diagnose", "diagnosis"),
        ("tasks.troubleshoot", "Troubleshoot", "troubleshoot"),
    ):
        klass = getattr(importlib.import_module(module), cls)
        monkeypatch.setattr(klass, "default_json_path", str(tmp_path / f"{stem}.json"))
        monkeypatch.setattr(klass, "default_markdown_path", str(tmp_path / f"{stem}.md"))


@pytest.fixture
def errors(
    runtime,
):  # runtime: cci's project config puts the repository's tasks/ on the import path
    """The `tasks.errors` module as cci loads it."""
    import importlib

    return importlib.import_module("tasks.errors")


@pytest.fixture
def tasks_module(runtime):
    """``tasks_module("queries")``: a module of tasks/ as cci loads it."""
    import importlib

    return lambda name: importlib.import_module(f"tasks.{name}")


@pytest.fixture
def sim_task(start_sim, runtime, monkeypatch):
    """``sim_task(scenario)`` -> (sim, make(name, **options)) with an OrgConfig for the simulator."""
    from cumulusci.core.config import OrgConfig, TaskConfig

    def _factory(scenario, **kwargs):
        sim = start_sim(scenario, **kwargs)
        env = sim.env()
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", env["REQUESTS_CA_BUNDLE"])
        org = OrgConfig(json.loads(env["CUMULUSCI_ORG_sim"]), "sim")
        org.refresh_oauth_token = lambda keychain: None

        def make(name, **options):
            base = runtime.project_config.get_task(name)
            config = {**base.config, "options": {**(base.config.get("options") or {}), **options}}
            return base.get_class()(runtime.project_config, TaskConfig(config), org_config=org)

        return sim, make

    return _factory


def _zip(files: dict[str, str]) -> str:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in files.items():
            zf.writestr(f"unpackaged/{name}", text)
    return base64.b64encode(buf.getvalue()).decode()


def _soap(body: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns="http://soap.sforce.com/2006/04/metadata"><soapenv:Body>'
        f"{body}</soapenv:Body></soapenv:Envelope>"
    )


class FakeOrg:
    """Answers the REST and Metadata calls the tasks make; rules are matched on the SOQL text."""

    def __init__(self, rsps: responses.RequestsMock):
        self.rsps = rsps
        self.rules: list[tuple[tuple[str, ...], list]] = []
        self.refusals: list[tuple[tuple[str, ...], str, str]] = []
        self.permission_fields = {"ApiEnabled", "CanApproveUninstalledApps"}
        self.retrieve_files: dict[str, str] = {}
        self.list_metadata: list[str] = []
        self.deploy_status = "Succeeded"
        #: (errorStatusCode, errorMessage) of a retrieve that fails (its checkStatus result), or None.
        self.retrieve_error: tuple[str, str] | None = None
        self.soql: list[str] = []
        self.inserted: list[tuple[str, dict]] = []
        self.on_insert = None  # callback(sobject, body) to change state after a write
        rsps.add_callback(
            responses.GET, re.compile(rf"{re.escape(API)}/query(All)?/?.*"), self._query
        )
        rsps.add_callback(
            responses.GET,
            re.compile(rf"{re.escape(API)}/sobjects/(\w+)/describe/?"),
            self._describe,
        )
        rsps.add_callback(
            responses.POST, re.compile(rf"{re.escape(API)}/sobjects/(\w+)/?$"), self._insert
        )
        rsps.add_callback(responses.POST, f"{API}/composite/sobjects", self._composite)
        rsps.add_callback(responses.POST, SOAP, self._soap)

    # -- configuration -----------------------------------------------------------------------------------

    def on(self, *needles: str, records: list):
        """Answer queries containing every needle with ``records`` (later rules win)."""
        self.rules.insert(0, (needles, records))

    def refuse(self, *needles: str, code="INSUFFICIENT_ACCESS", message="refused by the fake org"):
        """Refuse queries containing every needle as Salesforce's REST API does: HTTP 400 with
        ``[{"errorCode", "message"}]`` (before any ``on`` rule)."""
        self.refusals.append((needles, code, message))

    # -- observation -------------------------------------------------------------------------------------

    def writes(self) -> list[str]:
        """Requests that change the org: REST POST/PATCH/DELETE, and Metadata ``deploy``."""
        out = []
        for call in self.rsps.calls:
            req = call.request
            if req.url.startswith(SOAP):
                if req.headers.get("SOAPAction") == "deploy":
                    out.append("SOAP deploy")
            elif req.method in ("POST", "PATCH", "DELETE", "PUT"):
                out.append(f"{req.method} {urlparse(req.url).path}")
        return out

    def soap_actions(self) -> list[str]:
        return [
            c.request.headers.get("SOAPAction")
            for c in self.rsps.calls
            if c.request.url.startswith(SOAP)
        ]

    # -- callbacks ---------------------------------------------------------------------------------------

    def _query(self, request):
        soql = parse_qs(urlparse(request.url).query)["q"][0]
        for needles, code, message in self.refusals:
            if all(n in soql for n in needles):
                self.soql.append(soql)
                return 400, {}, json.dumps([{"errorCode": code, "message": message}])
        return 200, {}, json.dumps(self._answer(soql))

    def _answer(self, soql: str) -> dict:
        self.soql.append(soql)
        for needles, records in self.rules:
            if all(n in soql for n in needles):
                recs = records() if callable(records) else records
                return {"totalSize": len(recs), "done": True, "records": recs}
        return {"totalSize": 0, "done": True, "records": []}

    def _describe(self, request):
        sobject = re.search(r"/sobjects/(\w+)/describe", request.url).group(1)
        fields = [{"name": n} for n in ("Id", "Name", "Label")]
        if sobject in ("PermissionSet", "Profile"):
            fields += [{"name": f"Permissions{p}"} for p in sorted(self.permission_fields)]
        return 200, {}, json.dumps({"name": sobject, "fields": fields})

    def _insert(self, request):
        sobject = re.search(r"/sobjects/(\w+)/?$", request.url).group(1)
        body = json.loads(request.body)
        if "SetupEntityType" in body:
            return (
                400,
                {},
                json.dumps(
                    [
                        {
                            "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE",
                            "message": "Field is not writeable",
                        }
                    ]
                ),
            )
        self.inserted.append((sobject, body))
        if self.on_insert:
            self.on_insert(sobject, body)
        return (
            201,
            {},
            json.dumps({"id": f"0J5{len(self.inserted):015d}", "success": True, "errors": []}),
        )

    def _composite(self, request):
        body = json.loads(request.body)
        out = []
        for rec in body["records"]:
            sobject = rec["attributes"]["type"]
            self.inserted.append((sobject, rec))
            if self.on_insert:
                self.on_insert(sobject, rec)
            out.append({"id": f"0Pa{len(self.inserted):015d}", "success": True, "errors": []})
        return 200, {}, json.dumps(out)

    def _soap(self, request):
        action = request.headers.get("SOAPAction")
        if action == "retrieve":
            return (
                200,
                {},
                _soap(
                    "<retrieveResponse><result><id>09S000000000001</id></result></retrieveResponse>"
                ),
            )
        if action == "checkStatus" and self.retrieve_error:
            code, message = self.retrieve_error
            return (
                200,
                {},
                _soap(
                    "<checkStatusResponse><result><done>true</done>"
                    f"<errorMessage>{message}</errorMessage><errorStatusCode>{code}</errorStatusCode>"
                    "<state>Error</state></result></checkStatusResponse>"
                ),
            )
        if action == "checkStatus":
            return (
                200,
                {},
                _soap(
                    "<checkStatusResponse><result><done>true</done></result></checkStatusResponse>"
                ),
            )
        if action == "checkRetrieveStatus" and self.retrieve_error:
            code, message = self.retrieve_error  # RetrieveResult of a failed retrieve: no zip
            return (
                200,
                {},
                _soap(
                    "<checkRetrieveStatusResponse><result><done>true</done>"
                    f"<errorMessage>{message}</errorMessage><errorStatusCode>{code}</errorStatusCode>"
                    "<status>Failed</status><success>false</success></result>"
                    "</checkRetrieveStatusResponse>"
                ),
            )
        if action == "checkRetrieveStatus":
            return (
                200,
                {},
                _soap(
                    "<checkRetrieveStatusResponse><result><done>true</done><status>Succeeded</status>"
                    "<success>true</success>"
                    f"<zipFile>{_zip(self.retrieve_files)}</zipFile></result></checkRetrieveStatusResponse>"
                ),
            )
        if action == "listMetadata":
            results = "".join(
                f"<result><fullName>{n}</fullName><type>ConnectedApp</type></result>"
                for n in self.list_metadata
            )
            return 200, {}, _soap(f"<listMetadataResponse>{results}</listMetadataResponse>")
        if action == "deploy":
            self.deployed_zip = re.search(
                rb"<ZipFile>(.*?)</ZipFile>",
                request.body if isinstance(request.body, bytes) else request.body.encode(),
                re.S,
            )
            if self.on_insert:
                self.on_insert("deploy", {})
            return (
                200,
                {},
                _soap("<deployResponse><result><id>0Af000000000001</id></result></deployResponse>"),
            )
        if action == "checkDeployStatus":
            return (
                200,
                {},
                _soap(
                    "<checkDeployStatusResponse><result><done>true</done>"
                    f"<status>{self.deploy_status}</status><success>true</success>"
                    "</result></checkDeployStatusResponse>"
                ),
            )
        return (
            500,
            {},
            _soap(
                f"<soapenv:Fault><faultcode>sf:UNKNOWN</faultcode><faultstring>{action}</faultstring></soapenv:Fault>"
            ),
        )


@pytest.fixture
def org():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeOrg(rsps)


# -- record builders -----------------------------------------------------------------------------------


def user(username, uid, profile="System Administrator", active=True, api=True, approve=True):
    return {
        "Id": uid,
        "Username": username,
        "Name": username.split("@")[0],
        "IsActive": active,
        "ProfileId": "00e" + uid[3:],
        "Profile": {
            "Name": profile,
            "UserLicense": {"Name": "Salesforce"},
            "PermissionsApiEnabled": api,
            "PermissionsCanApproveUninstalledApps": approve,
        },
    }


ADMIN_USER = user(ADMIN, "005000000000001AAA")
INTEGRATION_USER = user(
    INTEGRATION,
    "005000000000002AAA",
    profile="Minimum Access - API Only Integrations",
    approve=False,
)
APP_ROW = {
    "Id": "0H4000000000001AAA",
    "Name": APP,
    "CreatedDate": "2025-10-01T10:00:00.000+0000",
    "LastModifiedDate": "2025-10-02T10:00:00.000+0000",
    "OptionsAllowAdminApprovedUsersOnly": True,
}
SETUP_PS = {
    "Id": "0PS000000000001AAA",
    "Name": "Sixsense_Setup_Access",
    "Label": "6sense Setup Access",
}
INTEGRATION_PS = {
    "Id": "0PS000000000002AAA",
    "Name": "Sixsense_Integration_Access",
    "Label": "6sense Integration Access",
}


def token(username, uid, app=APP, created="2025-10-03T10:00:00.000+0000"):
    return {
        "AppName": app,
        "UserId": uid,
        "User": {"Username": username},
        "CreatedDate": created,
        "LastUsedDate": created,
        "UseCount": 3,
        "AppMenuItemId": None,
    }


# -- a terminal: the operator's scripted answers (tests/tasks/test_terminal_confirmations.py) --------------


class Terminal(io.StringIO):
    """Standard input at a terminal, holding what the operator will type."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal(monkeypatch, capsys):
    """``terminal("y", "")`` -> standard input is a terminal that answers "y", then Enter; ``CI`` is unset.
    ``terminal.questions()`` -> the questions asked so far (click prints them to standard output)."""

    def _answer(*answers: str):
        monkeypatch.delenv("CI", raising=False)
        monkeypatch.setattr("sys.stdin", Terminal("".join(f"{a}\n" for a in answers)))

    def questions() -> list[str]:
        out = capsys.readouterr().out
        return [line for line in out.replace("]: ", "]:\n").splitlines() if "[y/N]" in line]

    _answer.questions = questions
    return _answer


@pytest.fixture
def log_lines(caplog):
    caplog.set_level(logging.INFO)
    return lambda: [r.getMessage() for r in caplog.records]
