"""The procedure table (datasets/procedure.yml) is the one order of the steps: the flows follow it, and every
place that names a step by placeholder names one the table has (issue 14)."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.procedure_table import ROOT, step_name, step_ref, steps

CCI = yaml.safe_load((ROOT / "cumulusci.yml").read_text(encoding="utf-8"))


def flow_tasks(flow: str) -> list[str]:
    """The tasks a flow runs, in order, subflows expanded."""
    out = []
    spec = CCI["flows"][flow]["steps"]
    for number in sorted(spec, key=lambda n: [float(p) for p in str(n).split("/")]):
        step = spec[number]
        out += flow_tasks(step["flow"]) if "flow" in step else [step["task"]]
    return out


def is_in_order(tasks: list[str], table: list[str]) -> bool:
    """``tasks`` is ``table`` with some entries left out, never reordered."""
    positions = [table.index(t) for t in tasks]
    return positions == sorted(positions)


CA = [r["task"] for r in steps("connected_app")]
ECA = [r["task"] for r in steps("external_client_app")]


def test_every_table_task_is_a_cci_task():
    assert set(CA + ECA) <= set(CCI["tasks"])


def test_new_customer_flow_is_the_whole_connected_app_route_in_order():
    assert flow_tasks("sixsense_new_customer") == CA


def test_existing_customer_flow_leaves_out_only_the_setup_users_steps():
    tasks = flow_tasks("sixsense_existing_customer")
    assert is_in_order(tasks, CA)
    assert set(CA) - set(tasks) == {"sixsense_assign_setup_access", "sixsense_authorize_setup_user"}


@pytest.mark.parametrize(
    "flow, expected_eca",
    [
        ("sixsense_eca", ECA[:-1]),
        ("sixsense_migrate_to_eca", ECA),
    ],
)
def test_eca_flows_follow_the_eca_route(flow, expected_eca):
    tasks = flow_tasks(flow)
    assert tasks[:2] == ["sixsense_validate_inputs", "sixsense_diagnose"]
    assert tasks[2:] == expected_eca


def test_the_order_check_can_fail():
    assert not is_in_order(["sixsense_install_connected_app", "sixsense_authorize_setup_user"], CA)


def test_every_step_placeholder_names_a_step_of_the_table():
    keys = {r["key"] for route in ("connected_app", "external_client_app") for r in steps(route)}
    used = set(re.findall(r"\{step:([a-z_]+)\}", (ROOT / "tasks" / "error_codes.yml").read_text()))
    assert used, "the error catalogue names no step: the check would pass on nothing"
    assert used <= keys


def test_names_carry_the_article_number_only_where_the_article_has_one():
    assert step_name("install") == "Install the app (article step 2)"
    assert step_ref("install") == "sixsense_install_connected_app (Install the app, article step 2)"
    assert step_name("eca_policies").endswith("External Client App policies")
    numbers = [r.get("article_step") for r in steps("connected_app") if r.get("article_step")]
    # The vendor article's numbers, in the table's order: access (4) before Permitted Users (3), so the
    # switch to admin approved does not revoke the integration user's token (facts §10.1, issue 17 kind 2).
    assert numbers == [1, 2, 4, 3, 5, 6]


def test_access_is_granted_before_permitted_users_in_both_connected_app_flows():
    for flow in ("sixsense_new_customer", "sixsense_existing_customer"):
        tasks = flow_tasks(flow)
        assert tasks.index("sixsense_grant_app_access") < tasks.index(
            "sixsense_set_permitted_users"
        ), flow
