"""Metadata API retrieve in two round trips: ``retrieve``, then ``checkRetrieveStatus`` until done.

cci's ``ApiRetrieveUnpackaged`` polls ``checkStatus`` and then calls ``checkRetrieveStatus`` for the zip:
three requests for a retrieve that is done at the first check. The Metadata API Developer Guide,
"checkRetrieveStatus()", says that from API version 31.0 ``checkStatus()`` is no longer called after a
``retrieve()``: ``checkRetrieveStatus()`` is called until its RetrieveResult says ``done``, and that last
result holds the zip (``includeZip``, API 34.0 and later; true when omitted).
"""

from cumulusci.salesforce_api import soap_envelopes
from cumulusci.salesforce_api.exceptions import MetadataApiError
from cumulusci.salesforce_api.metadata import ApiRetrieveUnpackaged
from defusedxml.minidom import parseString

#: cci's ``checkRetrieveStatus`` envelope (``asyncProcessId`` only) with ``includeZip`` true, the second
#: argument of ``checkRetrieveStatus(ID id, boolean includeZip)`` (API 34.0 and later).
CHECK_RETRIEVE_STATUS_WITH_ZIP = soap_envelopes.CHECK_RETRIEVE_STATUS.replace(
    "</asyncProcessId>", "</asyncProcessId>\n      <includeZip>true</includeZip>", 1
)
if "<includeZip>" not in CHECK_RETRIEVE_STATUS_WITH_ZIP:  # a cci upgrade changed its envelope
    raise ImportError("cci's CHECK_RETRIEVE_STATUS envelope has no </asyncProcessId> to extend")


def package_xml(md_type: str, members, api_version: str) -> str:
    """A package.xml (manifest) of one metadata type: ``members`` (names, or ``["*"]``), API version
    ``api_version`` ("65.0"). One element per line: cci's ``ApiRetrieveUnpackaged`` strips
    ``<Package ...>`` line by line."""
    lines = "".join(f"        <members>{m}</members>\n" for m in members)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Package xmlns="http://soap.sforce.com/2006/04/metadata">\n'
        f"    <types>\n{lines}        <name>{md_type}</name>\n    </types>\n"
        f"    <version>{api_version}</version>\n</Package>\n"
    )


class ApiRetrieve(ApiRetrieveUnpackaged):
    """Retrieve the unpackaged components of ``package_xml``: ``ApiRetrieve(task, package_xml,
    api_version)()`` returns a ``zipfile.ZipFile`` whose entries are the files under ``unpackaged/`` (the
    same as cci's ``ApiRetrieveUnpackaged``, which this only changes in how the result is polled).

    Requests: ``retrieve`` (AsyncResult ``id``), then ``checkRetrieveStatus(id, includeZip=true)`` until
    the RetrieveResult's ``done`` is true; the final RetrieveResult's ``zipFile`` is the result. Done at the
    first check: 2 requests (cci's class: 3, with ``checkStatus`` in between). The wait between checks is
    cci's (``check_interval``, growing every three checks), but none after the final answer (cci's own
    class sleeps once more).

    Errors (``cumulusci.salesforce_api.exceptions``):
      * a SOAP fault on either request -> ``MetadataApiError("<faultcode>: <faultstring>")`` (cci's
        handling; ``sf:INVALID_SESSION_ID`` first refreshes the org's token once and repeats the request);
      * a RetrieveResult ``done`` with ``status`` Failed -> ``MetadataApiError("<errorStatusCode>:
        <errorMessage>")``, Salesforce's code and message (RetrieveResult, API 31.0 and later);
      * HTTP 500 without a fault, or a result without ``done`` -> ``MetadataApiError`` (cci's handling);
      * a done result without a readable ``zipFile`` -> ``MetadataParseError`` (cci's handling).

    Salesforce document followed: Metadata API Developer Guide, "checkRetrieveStatus()" (from API 31.0
    checkRetrieveStatus is polled instead of checkStatus; ``includeZip`` from API 34.0) and
    "RetrieveResult" (``done``, ``status`` Pending/InProgress/Succeeded/Failed, ``errorStatusCode``,
    ``errorMessage``, ``zipFile``). Needs ``api_version`` 34.0 or later.
    """

    soap_envelope_status = CHECK_RETRIEVE_STATUS_WITH_ZIP
    soap_action_status = "checkRetrieveStatus"
    # The last status answer already holds the zip: no third request.
    soap_envelope_result = None
    soap_action_result = None

    def _get_response(self):
        # A fresh start when the same call is made again (``resilience.retry_read`` after a transient
        # fault): cci's loop skips polling when the previous attempt left the status at "Failed".
        self.status = None
        self.check_num = 1
        return super()._get_response()

    def _get_check_interval(self):
        # cci's loop sleeps after every check, the final one too: once the answer is final, no wait.
        if self.status in ("Done", "Failed"):
            return 0
        return super()._get_check_interval()

    def _process_response_status(self, response):
        response = super()._process_response_status(response)
        dom = parseString(response.content)
        if self._get_element_value(dom, "done") != "true":
            return response
        if self.status != "Failed" and self._get_element_value(dom, "status") != "Failed":
            return response
        code = self._get_element_value(dom, "errorStatusCode")
        message = self._get_element_value(dom, "errorMessage") or "the retrieve failed"
        if self.status != "Failed":  # cci logs its own [Failed] when errorMessage is present
            self._set_status("Failed", message, response=response)
        raise MetadataApiError(f"{code}: {message}" if code else message, response)
