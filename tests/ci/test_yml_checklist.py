"""cumulusci.yml reads as a checklist (issue 14.4): the common options are handed off once, in the anchored
option sets, and still reach every step; `cci flow info` lists each flow's steps in order, each with its
task's one-line description; a subflow takes runtime options; MetaDeploy still freezes both plans."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.ci.test_static import _cci
from tests.conftest import ROOT

CONFIG_TEXT = (ROOT / "cumulusci.yml").read_text()
CONFIG = yaml.safe_load(CONFIG_TEXT)  # merge keys (<<) resolved, as CumulusCI loads it
INPUTS = ("integration_username", "setup_username", "connected_app_names", "plan")
GUIDED = ("wait_timeout", "poll_interval", "interactive")
COMMON = (*INPUTS, *GUIDED, "confirm_production")
#: ^^sixsense_validate_inputs hand-offs outside the anchors: confirm_reauthorization (both reauthorize
#: steps) and audit_dir (the CI check's nested flow).
OTHER_HANDOFFS = 3


def ref(option: str) -> str:
    return f"^^sixsense_validate_inputs.{option}"


def steps_of(spec: dict) -> list[tuple[str, dict]]:
    """(task, options) of every task step of a flow or plan, subflows expanded in place, in step order."""
    out = []
    for number in sorted(spec["steps"], key=lambda n: float(n)):
        step = spec["steps"][number]
        if "flow" in step:
            out += steps_of(CONFIG["flows"][step["flow"]])
        else:
            out.append((step["task"], step.get("options") or {}))
    return out


@pytest.fixture(scope="module")
def project_config():
    from cumulusci.cli.runtime import CliRuntime

    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        yield CliRuntime(load_keychain=False).project_config


def test_each_common_option_is_handed_off_once_in_an_anchor():
    refs = re.findall(r"\^\^sixsense_validate_inputs\.(\w+)", CONFIG_TEXT)
    for option in COMMON:
        assert refs.count(option) == 1, (
            f"{option}: {refs.count(option)} hand-offs, want 1 (the anchor)"
        )
    assert len(refs) <= len(COMMON) + OTHER_HANDOFFS, refs
    for anchor in ("inputs", "inputs_write", "asks", "asks_write", "guided", "guided_write"):
        assert len(re.findall(rf"&{anchor}\b", CONFIG_TEXT)) == 1, anchor
    # The anchors sit in flow steps: an extra top-level key (an anchor block) draws a schema warning.
    assert set(CONFIG) == {
        "minimum_cumulusci_version",
        "project",
        "tasks",
        "flows",
        "orgs",
        "plans",
    }


def test_the_count_fails_on_a_pasted_block():
    """The bound can fail: one step's block pasted back in is caught."""
    pasted = CONFIG_TEXT + "".join(f"    {o}: {ref(o)}\n" for o in INPUTS)
    refs = re.findall(r"\^\^sixsense_validate_inputs\.(\w+)", pasted)
    assert [o for o in COMMON if refs.count(o) != 1] == list(INPUTS)


def _specs():
    flows = [(f"flow {name}", spec) for name, spec in sorted(CONFIG["flows"].items())]
    return flows + [(f"plan {name}", spec) for name, spec in sorted(CONFIG["plans"].items())]


@pytest.mark.parametrize("where, spec", _specs(), ids=[w for w, _ in _specs()])
def test_every_step_after_the_validation_gets_the_validated_options_it_takes(
    where, spec, project_config
):
    """What the anchors must deliver: every sixsense step after sixsense_validate_inputs gets the four input
    options; a step that can write gets confirm_production; a guided step gets the wait options; a step
    that asks at a terminal (its own ``interactive`` option) gets ``interactive``."""
    import importlib

    from cumulusci.core.config import TaskConfig

    guided_step = importlib.import_module("tasks.guided").GuidedStep
    validated = False
    checked = 0
    for task, options in steps_of(spec):
        if task == "sixsense_validate_inputs":
            validated = True
            continue
        if (
            not validated
            or not task.startswith("sixsense_")
            or task == "sixsense_ci_integration_user"
        ):
            continue
        cls = TaskConfig(project_config.tasks[task]).get_class()
        wanted = list(INPUTS)
        if "confirm_production" in cls.task_options:
            wanted.append("confirm_production")
        if issubclass(cls, guided_step):
            wanted += GUIDED
        elif "interactive" in cls.task_options and getattr(cls, "interactive_option_is_ours", True):
            wanted.append(
                "interactive"
            )  # it asks at a terminal: the run's "no terminal" must reach it
        for option in wanted:
            assert options.get(option) == ref(option), f"{where}: {task} lacks {option}"
        if getattr(cls, "interactive_option_is_ours", True) is False:
            assert "interactive" not in options, f"{task}: `interactive` means its own prompt"
        checked += 1
    assert checked >= 3, where


@pytest.mark.parametrize("flow", sorted(CONFIG["flows"]))
def test_cci_flow_info_lists_the_steps_as_a_checklist(flow, tmp_path, project_config):
    """`cci flow info` lists every task in step order (a subflow's tasks nested under it); each task has a
    one-line description, so step N of the checklist reads "N. <task>: <description>"."""
    result = _cci(["flow", "info", flow], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    listed = re.findall(r"^\s*\d+\) task: (\w+)", result.stdout, re.M)
    assert listed == [task for task, _ in steps_of(CONFIG["flows"][flow])]
    for number, step in CONFIG["flows"][flow]["steps"].items():
        if "flow" in step:
            assert re.search(rf"^{number}\) flow: {step['flow']}\b", result.stdout, re.M)
    checklist = []
    for n, task in enumerate(listed, start=1):
        description = project_config.tasks[task].get("description") or ""
        assert description and "\n" not in description and len(description) <= 160, (
            task,
            description,
        )
        checklist.append(f"{n}. {task}: {description}")
    assert len(checklist) == len(listed) >= 2


def test_runtime_options_reach_the_validation_inside_the_subflow(project_config):
    """`-o sixsense_validate_inputs__integration_username X` (runtime options by task name) reaches the
    sixsense_eca subflow's first step, and the migration's own step reads it with ^^ (cci resolves
    ^^sixsense_validate_inputs by the end of the step path, sixsense_eca.sixsense_validate_inputs)."""
    from cumulusci.core.flowrunner import FlowCoordinator

    coordinator = FlowCoordinator(
        project_config,
        project_config.get_flow("sixsense_migrate_to_eca"),
        name="sixsense_migrate_to_eca",
        options={"sixsense_validate_inputs": {"integration_username": "int@acme.com"}},
    )
    steps = {step.path: step for step in coordinator.steps}
    validate = steps["sixsense_eca.sixsense_validate_inputs"]
    assert validate.task_config["options"]["integration_username"] == "int@acme.com"
    remove = steps["sixsense_remove_connected_app_access"]
    assert remove.task_config["options"]["integration_username"] == ref("integration_username")
    assert [s.path for s in coordinator.steps][-1] == "sixsense_remove_connected_app_access"


@pytest.mark.parametrize("plan", sorted(CONFIG["plans"]))
def test_metadeploy_freezes_every_plan_step_with_its_handoffs(plan, project_config):
    """MetaDeploy's publish freezes each step without an org; the anchored ^^ hand-offs stay references."""
    from cumulusci.core.metadeploy.plans import get_frozen_steps

    frozen = get_frozen_steps(project_config, CONFIG["plans"][plan])
    names = [step["path"] for step in frozen]
    assert names == [task for task, _ in steps_of(CONFIG["plans"][plan])]
    for step in frozen[1:]:
        options = step["task_config"]["options"]
        if step["path"].startswith("sixsense_") and "integration_username" in options:
            assert options["integration_username"] == ref("integration_username"), step
    assert sum("integration_username" in s["task_config"]["options"] for s in frozen) >= 3
