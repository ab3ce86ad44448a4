"""The daily API allowance (REST API Developer Guide "Limit Info Header" and "Limits"): every REST and Tooling
response after authentication carries ``Sforce-Limit-Info: api-usage=used/allowance``; ``GET .../limits``
reports ``DailyApiRequests``; past the allowance a request answers 403 ``REQUEST_LIMIT_EXCEEDED``. Metadata API
(SOAP) calls count against the same allowance ("API Request Limits and Allocations": SOAP and REST "and any
other API built on those frameworks") and carry the SOAP ``LimitInfoHeader``; past it they answer the fault
``sf:REQUEST_LIMIT_EXCEEDED``. The scenario sets the allowance (``org.daily_api_requests``) and the usage it
starts from (``org.api_requests_used``)."""

from __future__ import annotations

import pytest
import requests
import yaml
from lxml import etree
from simple_salesforce.exceptions import SalesforceError

from orgsim import scenario
from tests.orgsim.simclient import MD_NS, get, sf_for, soap

LIST_PERMISSION_SETS = (
    f"<listMetadata xmlns='{MD_NS}'><queries><type>PermissionSet</type></queries>"
    "<asOfVersion>62.0</asOfVersion></listMetadata>"
)


def write(tmp_path, **org) -> str:
    data = {
        "org": org,
        "users": [{"username": "admin@example.com", "profile": "System Administrator"}],
    }
    path = tmp_path / "limits.yml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def usage(resp: requests.Response) -> tuple[int, int]:
    used, _, total = resp.headers["Sforce-Limit-Info"].removeprefix("api-usage=").partition("/")
    return int(used), int(total)


def test_every_rest_response_counts_one_request_against_the_allowance(make_sim, tmp_path):
    sim = make_sim(write(tmp_path, daily_api_requests=5000, api_requests_used=17))
    first = get(sim, "/services/data/v62.0/query", params={"q": "SELECT Id FROM User"})
    assert usage(first) == (18, 5000)
    refused = get(sim, "/services/data/v62.0/query", params={"q": "SELECT Nope FROM User"})
    assert refused.status_code == 400 and usage(refused) == (19, 5000)  # an error counts too
    tooling = get(sim, "/services/data/v62.0/tooling/query", params={"q": "SELECT Id FROM User"})
    assert "Sforce-Limit-Info" in tooling.headers
    # The versions URI does not count and carries no header ("Limit Info Header").
    versions = requests.get(sim.url + "/services/data", verify=sim.cert_file, timeout=30)
    assert "Sforce-Limit-Info" not in versions.headers
    assert usage(get(sim, "/services/data/v62.0/limits")) == (21, 5000)


def test_simple_salesforce_limits_and_api_usage(make_sim, tmp_path):
    sim = make_sim(write(tmp_path, daily_api_requests=1000, api_requests_used=100))
    sf = sf_for(sim)
    sf.query("SELECT Id FROM User")
    assert sf.api_usage["api-usage"].used == 101
    assert sf.api_usage["api-usage"].total == 1000
    limits = sf.limits()
    assert limits["DailyApiRequests"] == {"Max": 1000, "Remaining": 1000 - 102}


def test_past_the_allowance_requests_are_refused(make_sim, tmp_path):
    sim = make_sim(write(tmp_path, daily_api_requests=10, api_requests_used=9))
    sf = sf_for(sim)
    sf.query("SELECT Id FROM User")  # the 10th request: allowed
    with pytest.raises(SalesforceError) as exc:
        sf.query("SELECT Id FROM User")
    assert exc.value.status == 403
    assert exc.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    refused = get(sim, "/services/data/v62.0/limits")
    assert refused.status_code == 403 and usage(refused) == (10, 10)


def test_a_composite_counts_once(make_sim, tmp_path):
    sim = make_sim(write(tmp_path, daily_api_requests=100))
    sub = {"method": "GET", "url": "/services/data/v62.0/query?q=SELECT+Id+FROM+User"}
    resp = requests.post(
        sim.url + "/services/data/v62.0/composite",
        json={"compositeRequest": [{**sub, "referenceId": f"q{i}"} for i in range(3)]},
        headers={"Authorization": f"Bearer {sim.session['access_token']}"},
        verify=sim.cert_file,
        timeout=30,
    )
    assert resp.status_code == 200 and usage(resp) == (1, 100)


def limit_info(resp: requests.Response) -> tuple[int, int, str]:
    """``(current, limit, type)`` of the SOAP response's ``soapenv:Header/LimitInfoHeader``."""
    root = etree.fromstring(resp.content)
    [info] = root.findall(
        "{http://schemas.xmlsoap.org/soap/envelope/}Header"
        f"/{{{MD_NS}}}LimitInfoHeader/{{{MD_NS}}}limitInfo"
    )
    text = {etree.QName(c).localname: c.text for c in info}
    return int(text["current"]), int(text["limit"]), text["type"]


def test_metadata_api_calls_count_against_the_same_allowance_and_carry_limit_info(
    make_sim, tmp_path
):
    sim = make_sim(write(tmp_path, daily_api_requests=5000, api_requests_used=17))
    listed = soap(sim, LIST_PERMISSION_SETS)
    assert listed.status_code == 200
    assert limit_info(listed) == (18, 5000, "API REQUESTS")
    assert etree.fromstring(listed.content).find(f".//{{{MD_NS}}}listMetadataResponse") is not None
    # A fault after authentication counts too and carries the header (here: an unknown operation).
    unknown = soap(sim, f"<nope xmlns='{MD_NS}'/>")
    assert unknown.status_code == 500 and limit_info(unknown) == (19, 5000, "API REQUESTS")
    # REST sees the SOAP calls: one count for the org.
    assert usage(get(sim, "/services/data/v62.0/limits")) == (20, 5000)
    # A call refused at authentication is not counted and carries no header.
    bad = soap(sim, LIST_PERMISSION_SETS, token="not-a-session")
    assert b"INVALID_SESSION_ID" in bad.content and b"LimitInfoHeader" not in bad.content
    assert limit_info(soap(sim, LIST_PERMISSION_SETS))[0] == 21


def test_past_the_allowance_a_metadata_call_is_a_request_limit_exceeded_fault(make_sim, tmp_path):
    sim = make_sim(write(tmp_path, daily_api_requests=10, api_requests_used=9))
    assert limit_info(soap(sim, LIST_PERMISSION_SETS))[:2] == (10, 10)  # the 10th call: allowed
    refused = soap(sim, LIST_PERMISSION_SETS)
    assert refused.status_code == 500
    root = etree.fromstring(refused.content)
    assert root.findtext(".//faultcode") == "sf:REQUEST_LIMIT_EXCEEDED"
    assert (
        root.findtext(".//faultstring") == "REQUEST_LIMIT_EXCEEDED: TotalRequests Limit exceeded."
    )
    assert limit_info(refused)[:2] == (10, 10)  # refused calls are not counted
    assert get(sim, "/services/data/v62.0/limits").status_code == 403


def test_cci_metadata_client_reads_answers_with_limit_info_and_reports_the_limit_fault(
    make_sim, tmp_path
):
    """CumulusCI's Metadata API client (``ApiListMetadata``) parses a response that carries the
    LimitInfoHeader, and turns the limit fault into its ``MetadataApiError`` naming REQUEST_LIMIT_EXCEEDED."""
    from cumulusci.salesforce_api.exceptions import MetadataApiError
    from cumulusci.salesforce_api.metadata import ApiListMetadata

    sim = make_sim(write(tmp_path, daily_api_requests=2, api_requests_used=0))

    class Task:  # what cci's BaseMetadataApiCall reads of its task
        import logging

        logger = logging.getLogger("test")
        org_config = type(
            "OrgConfig",
            (),
            {
                "instance_url": sim.url,
                "access_token": sim.session["access_token"],
                "org_id": sim.org.org_id,
                "refresh_oauth_token": lambda self, keychain: None,
            },
        )()
        project_config = type(
            "ProjectConfig", (), {"keychain": None, "project__package__api_version": "62.0"}
        )()

    listed = ApiListMetadata(Task(), "PermissionSet", as_of_version="62.0")()
    assert "PermissionSet" in listed
    get(sim, "/services/data/v62.0/limits")  # the second and last request of the day
    with pytest.raises(MetadataApiError, match="REQUEST_LIMIT_EXCEEDED"):
        ApiListMetadata(Task(), "PermissionSet", as_of_version="62.0")()


@pytest.mark.parametrize(
    ("org", "message"),
    [
        ({"daily_api_requests": 0}, "org.daily_api_requests: must be between 1 and"),
        (
            {"daily_api_requests": 10**12},
            "org.daily_api_requests: must be between 1 and 1,000,000,000",
        ),
        ({"api_requests_used": -1}, "org.api_requests_used: must be between 0 and 100,000"),
        (
            {"daily_api_requests": 10, "api_requests_used": 11},
            "org.api_requests_used: must be between 0 and 10, got 11",
        ),
    ],
)
def test_allowance_fields_are_validated(tmp_path, org, message):
    with pytest.raises(scenario.ScenarioError, match=message):
        scenario.load(write(tmp_path, **org))
