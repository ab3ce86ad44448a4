"""tasks/metadata_read.py: a Metadata API retrieve is ``retrieve`` + ``checkRetrieveStatus`` (includeZip
true) polled until done (Metadata API Developer Guide, "checkRetrieveStatus()" and "RetrieveResult")."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
import responses
from cumulusci.salesforce_api.exceptions import MetadataApiError

from tests.tasks.conftest import ROOT, SOAP, _soap, _zip

ASYNC_ID = "09S000000000001AAA"
SETTINGS_FILE = "settings/ConnectedApp.settings"
SETTINGS = '<ConnectedAppSettings xmlns="http://soap.sforce.com/2006/04/metadata"/>'
PACKAGE = """<?xml version="1.0" encoding="UTF-8"?>
<Package xmlns="http://soap.sforce.com/2006/04/metadata">
    <types>
        <members>ConnectedApp</members>
        <name>Settings</name>
    </types>
    <version>65.0</version>
</Package>
"""


def result(done: bool, status: str, extra: str = "") -> str:
    return _soap(
        f"<checkRetrieveStatusResponse><result><done>{str(done).lower()}</done><id>{ASYNC_ID}</id>"
        f"{extra}<status>{status}</status><success>{str(status == 'Succeeded').lower()}</success>"
        "</result></checkRetrieveStatusResponse>"
    )


DONE = result(True, "Succeeded", f"<zipFile>{_zip({SETTINGS_FILE: SETTINGS})}</zipFile>")


def fault(code: str) -> tuple[int, dict, str]:
    body = _soap(
        f"<soapenv:Fault><faultcode>sf:{code}</faultcode><faultstring>{code}: from the test"
        "</faultstring></soapenv:Fault>"
    )
    return 500, {}, body


class Mdapi:
    """The Metadata API endpoint: ``retrieve`` answers an AsyncResult id; ``checkRetrieveStatus`` answers
    ``answers`` in turn (the last one again once used up). Records (SOAPAction, body) per request."""

    def __init__(self, rsps: responses.RequestsMock):
        self.calls: list[tuple[str, str]] = []
        self.answers: list = [DONE]
        rsps.add_callback(responses.POST, SOAP, self._answer)

    def actions(self) -> list[str]:
        return [action for action, _ in self.calls]

    def _answer(self, request):
        action = request.headers.get("SOAPAction")
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        self.calls.append((action, body))
        if action == "retrieve":
            return (
                200,
                {},
                _soap(
                    f"<retrieveResponse><result><done>false</done><id>{ASYNC_ID}</id>"
                    "<state>Queued</state></result></retrieveResponse>"
                ),
            )
        assert action == "checkRetrieveStatus", action
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return answer if isinstance(answer, tuple) else (200, {}, answer)


@pytest.fixture
def mdapi():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield Mdapi(rsps)


@pytest.fixture
def metadata_read(runtime):
    return importlib.import_module("tasks.metadata_read")


@pytest.fixture
def task(make_task):
    return make_task("sixsense_detect_api_access_control")


def test_done_at_the_first_check_is_two_requests_and_returns_the_zip(
    task, mdapi, metadata_read, no_sleep
):
    zip_file = metadata_read.ApiRetrieve(task, PACKAGE, "65.0")()
    assert mdapi.actions() == ["retrieve", "checkRetrieveStatus"]
    check = mdapi.calls[1][1]
    assert re.search(
        rf"<checkRetrieveStatus [^>]*>\s*<asyncProcessId>{ASYNC_ID}</asyncProcessId>\s*"
        r"<includeZip>true</includeZip>\s*</checkRetrieveStatus>",
        check,
    ), check
    assert zip_file.namelist() == [SETTINGS_FILE]
    assert zip_file.read(SETTINGS_FILE).decode() == SETTINGS
    # No wait once the answer is final (cci's loop would sleep check_interval once more).
    assert [c.args[0] for c in no_sleep.call_args_list] == [0]


def test_pending_and_in_progress_answers_are_polled_again_with_ccis_backoff(
    task, mdapi, metadata_read, no_sleep
):
    mdapi.answers = [result(False, "Pending"), result(False, "InProgress"), DONE]
    zip_file = metadata_read.ApiRetrieve(task, PACKAGE, "65.0")()
    assert mdapi.actions() == ["retrieve"] + ["checkRetrieveStatus"] * 3
    assert {
        body.count(f"<asyncProcessId>{ASYNC_ID}</asyncProcessId>") for _, body in mdapi.calls[1:]
    } == {1}
    assert zip_file.namelist() == [SETTINGS_FILE]
    # cci's interval between checks: check_interval, times (checks made // 3) + 1; none after the last.
    assert [c.args[0] for c in no_sleep.call_args_list] == [1, 1, 0]


def test_failed_status_raises_salesforces_code_and_message(task, mdapi, metadata_read):
    mdapi.answers = [
        result(
            True,
            "Failed",
            "<errorMessage>An unexpected error occurred. ErrorId: 1234-5678</errorMessage>"
            "<errorStatusCode>UNKNOWN_EXCEPTION</errorStatusCode>",
        )
    ]
    with pytest.raises(MetadataApiError) as raised:
        metadata_read.ApiRetrieve(task, PACKAGE, "65.0")()
    assert (
        str(raised.value) == "UNKNOWN_EXCEPTION: An unexpected error occurred. ErrorId: 1234-5678"
    )
    assert mdapi.actions() == ["retrieve", "checkRetrieveStatus"]


def test_failed_status_without_a_message_still_raises(task, mdapi, metadata_read):
    mdapi.answers = [result(True, "Failed")]
    with pytest.raises(MetadataApiError, match="the retrieve failed"):
        metadata_read.ApiRetrieve(task, PACKAGE, "65.0")()


def test_soap_fault_is_ccis_metadata_api_error(task, mdapi, metadata_read):
    mdapi.answers = [fault("INVALID_ID_FIELD")]
    with pytest.raises(
        MetadataApiError, match="^sf:INVALID_ID_FIELD: INVALID_ID_FIELD: from the test$"
    ):
        metadata_read.ApiRetrieve(task, PACKAGE, "65.0")()


def test_expired_session_is_refreshed_once_and_the_check_repeated(task, mdapi, metadata_read):
    task.org_config.config["refresh_token"] = "refresh"
    mdapi.answers = [fault("INVALID_SESSION_ID"), DONE]
    zip_file = metadata_read.ApiRetrieve(task, PACKAGE, "65.0")()
    assert zip_file.namelist() == [SETTINGS_FILE]
    assert task.org_config.refresh_oauth_token.call_count == 1
    assert mdapi.actions() == ["retrieve", "checkRetrieveStatus", "checkRetrieveStatus"]


def test_a_transient_fault_is_retried_by_the_tasks_read(task, mdapi, metadata_read):
    """``_read`` calls the same object again after UNABLE_TO_LOCK_ROW: it starts over and polls."""
    mdapi.answers = [fault("UNABLE_TO_LOCK_ROW"), DONE]
    zip_file = task._read("Metadata retrieve", metadata_read.ApiRetrieve(task, PACKAGE, "65.0"))
    assert zip_file.namelist() == [SETTINGS_FILE]
    assert mdapi.actions() == ["retrieve", "checkRetrieveStatus"] * 2


def test_a_transient_fault_of_list_metadata_is_retried_by_the_tasks_read(task, rsps_soap):
    """cci's ApiListMetadata after UNABLE_TO_LOCK_ROW: the second attempt's listing is returned, parsed."""
    from cumulusci.salesforce_api.metadata import ApiListMetadata

    listing = _soap(
        "<listMetadataResponse><result><fullName>Sixsense</fullName><type>ConnectedApp</type>"
        "<fileName>connectedApps/Sixsense.connectedApp</fileName><id>0H4000000000001</id>"
        "</result></listMetadataResponse>"
    )
    rsps_soap([fault("UNABLE_TO_LOCK_ROW"), (200, {}, listing)])
    result = task._read("listMetadata", ApiListMetadata(task, "ConnectedApp", None, "65.0"))
    assert [r["fullName"] for r in result["ConnectedApp"]] == ["Sixsense"]


@pytest.fixture
def rsps_soap():
    """``rsps_soap([answer, ...])``: the Metadata API endpoint answers these in turn."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:

        def install(answers):
            rsps.add_callback(responses.POST, SOAP, lambda request: answers.pop(0))

        yield install


@pytest.mark.parametrize("module", ["api_access_control", "diagnose", "verify", "eca"])
def test_the_tasks_retrieve_with_api_retrieve(module):
    source = (Path(ROOT) / "tasks" / f"{module}.py").read_text()
    assert "ApiRetrieve(" in source
    assert "ApiRetrieveUnpackaged(" not in source


def test_the_manifest_of_one_type(metadata_read, task, mdapi):
    """``package_xml``: the manifest above, and cci's line-wise cleaning leaves the types in the envelope."""
    assert metadata_read.package_xml("Settings", ["ConnectedApp"], "65.0") == PACKAGE
    two = metadata_read.package_xml("BlacklistedConsumer", ["A", "B"], "65.0")
    metadata_read.ApiRetrieve(task, two, "65.0")()
    retrieve = mdapi.calls[0][1]
    assert (
        "<types><members>A</members><members>B</members><name>BlacklistedConsumer</name></types>"
        in (retrieve)
    )
    assert "<version>65.0</version>" in retrieve and "<Package" not in retrieve
