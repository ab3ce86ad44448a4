"""Conformance: the simulator's responses have the keys, value types and error shapes of real recorded
Salesforce responses (the VCR cassettes shipped in the cumulusci wheel).

Comparison rule: the simulator returns exactly the recording's keys (none missing, none invented), each
with a value of the same JSON type where both values are not null. Clients read keys the simulator has no
rule for (cci's ``load_dataset`` reads ``defaultValue``), so a missing key is a failure.
"""

from __future__ import annotations

import json
from pathlib import Path

import cumulusci
import pytest
import requests
import yaml

from tests.orgsim.simclient import get, sf_for, token_for

CCI = Path(cumulusci.__file__).parent
SHARED = CCI / "tests" / "shared_cassettes"


def _interactions(path: Path) -> list[dict]:
    data = yaml.safe_load(path.read_text())
    if isinstance(data, dict) and "interactions" in data:
        return data["interactions"]
    return [data] if isinstance(data, dict) else data  # shared cassettes hold one interaction


def _recorded(path: Path, *, method: str, uri_part: str) -> tuple[int, object]:
    for it in _interactions(path):
        if "request" not in it:  # cassettes may include shared fragments (include_file)
            continue
        if it["request"]["method"] == method and uri_part in it["request"]["uri"]:
            return it["response"]["status"]["code"], json.loads(it["response"]["body"]["string"])
    raise AssertionError(f"no {method} {uri_part} in {path.name}")


def _type(value) -> str:
    for name, kinds in (
        ("bool", bool),
        ("number", (int, float)),
        ("string", str),
        ("object", dict),
        ("array", list),
    ):
        if isinstance(value, kinds):
            return name
    return type(value).__name__


def assert_conforms(ours: dict, real: dict, where: str = "") -> None:
    missing = set(real) - set(ours)
    assert not missing, f"{where}: missing keys {sorted(missing)}"
    invented = set(ours) - set(real)
    assert not invented, f"{where}: keys not in the recording: {sorted(invented)}"
    for key, value in ours.items():
        if real[key] is not None and value is not None:
            assert _type(value) == _type(real[key]), (
                f"{where}.{key}: {_type(value)} vs recorded {_type(real[key])}"
            )


def test_organization_matches_the_recording(sim):
    _, real = _recorded(
        SHARED / "GET_sobjects_Organization.yaml", method="GET", uri_part="/sobjects/Organization/"
    )
    ours = sf_for(sim, version="66.0").Organization.get(sim.org.org_id)
    assert len(real) == 57
    assert_conforms(ours, real, "Organization")
    assert set(ours["attributes"]) == set(real["attributes"])
    assert_conforms(ours["Address"], real["Address"], "Organization.Address")


def test_global_describe_matches_the_recording(sim):
    _, real = _recorded(
        SHARED / "GET_sobjects_Global_describe.yaml", method="GET", uri_part="/sobjects"
    )
    ours = sf_for(sim).describe()
    assert_conforms(ours, real, "describeGlobal")
    real_entry = real["sobjects"][0]
    for entry in ours["sobjects"]:
        assert_conforms(entry, real_entry, entry["name"])


@pytest.mark.parametrize(
    "sobject", ["PermissionSet", "User", "UserLogin", "SetupEntityAccess", "Organization"]
)
def test_sobject_describe_matches_the_recording(sim, sobject):
    _, real = _recorded(
        SHARED / "GET_sobjects_Account_describe.yaml", method="GET", uri_part="/describe"
    )
    ours = getattr(sf_for(sim), sobject).describe()
    assert (len(real), len(real["fields"][0]), len(real["childRelationships"][0])) == (42, 57, 8)
    assert_conforms(ours, real, sobject)
    real_field = next(f for f in real["fields"] if f["type"] == "string")
    for f in ours["fields"]:
        assert_conforms(f, real_field, f"{sobject}.{f['name']}")
    for rel in ours["childRelationships"]:
        assert_conforms(rel, real["childRelationships"][0], f"{sobject} child relationship")


def test_query_result_matches_the_recording(sim):
    path = CCI / "tasks/bulkdata/tests/cassettes/TestSelect.test_select_standard_strategy.yaml"
    _, real = _recorded(path, method="GET", uri_part="/query/")
    ours = sf_for(sim).query("SELECT Id, Name FROM User")
    assert_conforms(dict(ours), real, "query")
    record = dict(ours["records"][0])
    assert set(record["attributes"]) == set(real["records"][0]["attributes"]) == {"type", "url"}


def test_composite_count_and_error_shapes_match_the_recording(sim):
    path = (
        CCI / "utils/salesforce/tests/cassettes/TestCountSObjects.test_count_sobjects__errors.yaml"
    )
    status, real = _recorded(path, method="POST", uri_part="/composite")
    request = next(it["request"] for it in _interactions(path) if it["request"]["method"] == "POST")
    # The simulated org has no Account object; count Users instead (same shape).
    body = json.loads(
        request["body"].replace("vxx.0", "v62.0").replace("from Account", "from User")
    )
    resp = requests.post(
        f"{sim.url}/services/data/v62.0/composite",
        json=body,
        headers={"Authorization": f"Bearer {token_for(sim)}"},
        verify=sim.cert_file,
    )
    assert resp.status_code == status
    ours = resp.json()
    assert set(ours) == set(real)
    for mine, theirs in zip(ours["compositeResponse"], real["compositeResponse"], strict=True):
        assert set(mine) == set(theirs)
        assert mine["httpStatusCode"] == theirs["httpStatusCode"]
        assert mine["referenceId"] == theirs["referenceId"]
        assert _type(mine["body"]) == _type(theirs["body"])
    error_ours, error_real = (
        ours["compositeResponse"][1]["body"][0],
        real["compositeResponse"][1]["body"][0],
    )
    assert set(error_ours) == set(error_real) == {"message", "errorCode"}
    assert error_ours["errorCode"] == error_real["errorCode"] == "INVALID_TYPE"
    assert error_ours["message"] == error_real["message"]


def test_not_found_error_shape_matches_the_recording(sim):
    path = CCI / "utils/http/tests/cassettes/TestCompositeParallelSalesforce.test_errors.yaml"
    _, real = _recorded(path, method="POST", uri_part="/composite")
    real_sub = real["compositeResponse"][0]
    ours = get(sim, "/services/data/v62.0/sobjects/NoSuchObject/describe")
    assert ours.status_code == real_sub["httpStatusCode"] == 404
    assert ours.json() == real_sub["body"]
