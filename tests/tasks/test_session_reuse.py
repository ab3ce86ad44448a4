"""Session reuse within a flow run (``tasks.common.reuse_flow_session``): cci refreshes the token at the
flow's start and at every task start; the sixsense steps refresh only when the last refresh is older than
``SESSION_REUSE_SECONDS`` or when run alone."""

from types import SimpleNamespace


def _task(org, stepnum="3", first="1", flow=True):
    steps = [SimpleNamespace(step_num=first), SimpleNamespace(step_num="9")]
    return SimpleNamespace(
        org_config=org, stepnum=stepnum, flow=SimpleNamespace(steps=steps) if flow else None
    )


def test_first_step_of_a_flow_reuses_the_refresh_cci_just_made(common):
    org = SimpleNamespace(access_token="00Dx!token")
    assert common.reuse_flow_session(_task(org, stepnum="1")) is True
    assert common.reuse_flow_session(_task(org, stepnum="2")) is True  # within the window


def test_a_task_run_alone_or_a_later_first_step_refreshes(common):
    org = SimpleNamespace(access_token="00Dx!token")
    assert common.reuse_flow_session(_task(org, flow=False)) is False
    assert common.reuse_flow_session(_task(org, stepnum="2")) is False  # step 1 was not ours
    assert (
        common.reuse_flow_session(_task(SimpleNamespace(access_token=None), stepnum="1")) is False
    )


def test_an_old_refresh_is_not_reused(common, monkeypatch):
    org = SimpleNamespace(access_token="00Dx!token")
    now = [1000.0]
    monkeypatch.setattr(common.time, "monotonic", lambda: now[0])
    common.mark_session_refreshed(org)
    now[0] += common.SESSION_REUSE_SECONDS - 1
    assert common.reuse_flow_session(_task(org)) is True
    now[0] += 2
    assert common.reuse_flow_session(_task(org)) is False
