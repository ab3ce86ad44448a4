"""Issue 17, kind 8, "unreadable is not absent", as a sweep: every read that sixsense_verify,
sixsense_verify_eca and sixsense_diagnose make on a configured org fails in turn, every time, in each of
three ways (:data:`KINDS`): 503 (the wrapper's retries run out), a refusal for the connected user's access
(``refused``: SOQL ``INVALID_TYPE``, Metadata API ``sf:INSUFFICIENT_ACCESS``, REST 403, as
docs/salesforce-permissions.md gives them), and a 401 that a renewed session does not cure. No task may
then conclude from what it could not read. verify never passes; diagnose either stops with one line or
names what it could not read in its ``unreadable`` list, sends the operator to read it (never to a
procedure step chosen as if it were absent) and never says a user does not exist. The reads are taken
from a clean run's request log, so a read added later is swept too. The suite runs a deterministic sample
(every read fails once, the three kinds in turn); ``make sweep`` runs every kind at every read."""

from __future__ import annotations

import json

import pytest

from tests.conftest import INTEGRATION_USER

SCENARIO = (
    "configured"  # sixsense_verify and sixsense_diagnose; the ECA verify uses a complete ECA org
)
#: Reads whose refusal leaves a verification that passes honestly, each with why no PASS rests on them (none
#: now: the setup user's permission, which the installed app no longer needs, is SKIPPED without a read).
VERIFY_NOT_NEEDED: dict[str, str] = {}


def _match(entry: dict) -> str:
    """A fault ``match`` text for one logged read: the query's object, the SOAP operation, or the path."""
    if "/query" in entry["path"]:
        return f"FROM+{entry['action']}"
    if "/Soap/" in entry["path"]:
        return entry["action"]
    return entry["path"].split("?")[0]


def _reads(sim, since: int) -> list[str]:
    out = []
    for entry in sim.requests(since=since):
        if entry["kind"] == "read":
            match = _match(entry)
            if match not in out:
                out.append(match)
    return out


def _run(make, name, tmp_path, **options):
    task = make(name, integration_username=INTEGRATION_USER, **options)
    try:
        return task(), None
    except Exception as error:  # noqa: BLE001 - the sweep asserts on what the task raised
        return getattr(task, "return_values", None), error


def _points(sim_task, name, options):
    sim, make = sim_task(SCENARIO)
    from tests.conftest import last_seq

    mark = last_seq(sim)
    _, error = _run(make, name, None, **options)
    assert error is None, error
    return _reads(sim, mark)


#: Each sweep runs in SHARDS tests (every SHARDS-th read point), so the suite's workers share it.
SHARDS = 3
#: How each read fails (orgsim/observe.py fault kinds): transient, refused for access, session refused.
KINDS = ("503", "refused", "INVALID_SESSION_ID")
#: ``kind`` of each sweep: ``None`` is the suite's deterministic sample (every read fails once, the kinds in
#: turn: :func:`_cases`); each kind at every read is the exhaustive sweep, run by ``make sweep``.
SWEEP_KINDS = [
    pytest.param(None, id="sample"),
    *(pytest.param(k, marks=pytest.mark.sweep) for k in KINDS),
]


def _cases(points: list[str], kind: str | None, shard: int = 0, shards: int = 1):
    """``(i, match, kind)`` for this shard's read points: with ``kind`` None each point gets the next of
    :data:`KINDS` in turn, counted within the shard from the shard's own start (so a shard of three points
    meets every kind, and short shards start on different kinds)."""
    mine = list(enumerate(points))[shard::shards]
    return [
        (i, match, kind or KINDS[(n + shard) % len(KINDS)]) for n, (i, match) in enumerate(mine)
    ]


@pytest.mark.parametrize("count", [4, 8, 9, 20])
def test_the_sample_fails_every_read_once_and_uses_every_kind(count):
    points = [f"p{i}" for i in range(count)]
    cases = [c for shard in range(SHARDS) for c in _cases(points, None, shard, SHARDS)]
    assert sorted(i for i, _, _ in cases) == list(range(count))
    assert {k for _, _, k in cases} == set(KINDS)
    for shard in range(SHARDS):
        mine = _cases(points, None, shard, SHARDS)
        if len(mine) >= len(KINDS):
            assert {k for _, _, k in mine} == set(KINDS)
    assert {k for _, _, k in _cases(points, "503", 1, SHARDS)} == {"503"}
    assert [k for _, _, k in _cases(points, None)] == [KINDS[n % 3] for n in range(count)]


@pytest.mark.parametrize("kind", SWEEP_KINDS)
@pytest.mark.parametrize("shard", range(SHARDS))
def test_verify_never_passes_on_a_read_it_could_not_make(
    sim_task, tmp_path, errors, shard, kind, no_sleep
):
    # The operator's word for the refresh-token policy the org cannot show: without it verify never
    # passes on this org, and the sweep would prove nothing (tests/tasks/test_refresh_policy_by_hand.py).
    checked = {"refresh_token_policy_checked": "True"}
    points = _points(
        sim_task, "sixsense_verify", {"report_path": str(tmp_path / "clean.json"), **checked}
    )
    assert len(points) >= 5, points
    passed_anyway = []
    for i, match, fault in _cases(points, kind, shard, SHARDS):
        sim, make = sim_task(SCENARIO)
        sim.observer.set_faults(f"match={match}:kind={fault}")
        path = tmp_path / f"v{i}.json"
        _, error = _run(make, "sixsense_verify", tmp_path, report_path=str(path), **checked)
        report = json.loads(path.read_text()) if path.exists() else None
        if error is None and report and report["passed"]:
            if match in VERIFY_NOT_NEEDED:
                setup = [c for c in report["checks"] if c["check"] == "setup user access"]
                assert setup and setup[0]["result"] == "SKIPPED", setup
                continue
            passed_anyway.append(match)
    assert passed_anyway == []
    assert set(VERIFY_NOT_NEEDED) <= set(points), "an allowed read is no longer made: drop it"


@pytest.mark.parametrize("kind", SWEEP_KINDS)
@pytest.mark.parametrize("shard", range(SHARDS))
def test_diagnose_never_concludes_from_a_read_it_could_not_make(
    sim_task, tmp_path, shard, kind, no_sleep
):
    points = _points(sim_task, "sixsense_diagnose", {"json_path": str(tmp_path / "clean.json")})
    assert len(points) >= 5, points
    silent = []
    for i, match, fault in _cases(points, kind, shard, SHARDS):
        sim, make = sim_task(SCENARIO)
        sim.observer.set_faults(f"match={match}:kind={fault}")
        result, error = _run(
            make, "sixsense_diagnose", tmp_path, json_path=str(tmp_path / f"d{i}.json")
        )
        if error is not None:
            assert "Traceback" not in str(error) and len(str(error).splitlines()) <= 3, error
            continue
        step = result["next_step"]
        if not result.get("unreadable") or step["task"] or step["done"]:
            silent.append((match, step["text"][:80]))
        absent = [w for w in result["warnings"] if "does not exist" in w]
        assert absent == [], (match, absent)
    assert silent == []


@pytest.mark.parametrize("kind", SWEEP_KINDS)
def test_verify_eca_never_passes_on_a_read_it_could_not_make(sim_task, tmp_path, kind, no_sleep):
    """The same sweep over sixsense_verify_eca, on an org whose ECA route is complete."""
    from tests.conftest import last_seq
    from tests.tasks.test_checks_fail_eca import eca_complete, verify_eca

    for sub in ("clean", *(f"e{i}" for i in range(40))):
        (tmp_path / sub).mkdir()
    sim, make = eca_complete(sim_task, tmp_path / "clean")
    mark = last_seq(sim)
    report, error, _ = verify_eca(make, tmp_path / "clean")
    assert error is None and report["passed"], error
    points = _reads(sim, mark)
    assert len(points) >= 3, points
    passed_anyway = []
    for i, match, fault in _cases(points, kind):
        sim, make = eca_complete(sim_task, tmp_path / f"e{i}")
        sim.observer.set_faults(f"match={match}:kind={fault}")
        path = tmp_path / f"e{i}" / "v.json"
        _, error = _run(make, "sixsense_verify_eca", tmp_path, report_path=str(path))
        report = json.loads(path.read_text()) if path.exists() else None
        if error is None and report and report["passed"]:
            passed_anyway.append(match)
    assert passed_anyway == []
