"""Tasks for scratch-org CI runs (the ``ci_sixsense`` flow): a throwaway integration user, and the new-customer
flow run non-interactively, where stopping at its first manual step is the expected, checked result.

A scratch org has no 6sense tenant behind it: nobody can authorize the 6sense app in it, so the procedure can
go only as far as its first manual step (article step 1, the one-time authorization). These tasks make that limit
explicit instead of hiding it behind ``ignore_failure``.
"""

from __future__ import annotations

from pathlib import Path

from cumulusci.core.exceptions import CumulusCIFailure, TaskOptionsError
from cumulusci.core.flowrunner import FlowCoordinator
from cumulusci.tasks.bulkdata.generate_and_load_data_from_yaml import (
    GenerateAndLoadDataFromYaml,
)
from cumulusci.tasks.salesforce import BaseSalesforceApiTask

from .audit import resolve_audit_dir
from .base import SixsenseOrgMixin
from .errors import ManualStepPending, SixsenseInputError
from .options import (
    COMMON_OPTIONS,
    PRODUCTION_OPTION,
    USERNAME_RE,
    bool_option,
    is_deferred,
    parse_options,
)
from .queries import soql_quote
from .vendor import VENDOR

INTEGRATION_PROFILE = "Minimum Access - API Only Integrations"
DEFAULT_RECIPE = "datasets/integration_user.recipe.yml"


def ci_integration_username(org_id: str, domain: str = "example.com") -> str:
    """``sixsense.integration.<org id>@<domain>``: unique across Salesforce (usernames are global, org ids are
    never reused) and the same on every run against one org, so a re-run finds the user it created."""
    return f"sixsense.integration.{org_id.lower()}@{domain}"


def _recipe(name: str, value: str) -> str:
    """``check`` of ``generator_yaml`` (option ``name``): a Snowfakery recipe file that exists (relative to
    the working directory, the project folder for cci), else ``SixsenseInputError`` before the task reads or
    writes anything."""
    if not Path(value).expanduser().is_file():
        raise SixsenseInputError(
            f"{name} {value} is not a file; pass the Snowfakery recipe, e.g. -o {name} "
            f"{DEFAULT_RECIPE}, or leave it out for that default."
        )
    return value


class CreateIntegrationUser(SixsenseOrgMixin, GenerateAndLoadDataFromYaml):
    task_docs = f"""
Creates the {VENDOR.label} integration user in a scratch org from a Snowfakery recipe
(``{DEFAULT_RECIPE}``: profile "{INTEGRATION_PROFILE}", looked up by name with ``SalesforceQuery``),
through CumulusCI's ``generate_and_load_from_yaml``. For scratch orgs and CI only: in a customer's org the
integration user already exists and is named with ``integration_username``.

The username defaults to ``sixsense.integration.<org id>@example.com`` (unique: Salesforce usernames are
global). When a user with that username exists the task loads nothing (a second run writes nothing).
It refuses any org but a scratch org, before reading or writing anything else, unless
``allow_non_scratch True`` says a test user is wanted there. On a production org it then also needs ``confirm_production True`` or a confirmation at a terminal before anything,
even when the user exists: the ``ci_sixsense`` flow assigns it a permission set next (CumulusCI's
``assign_permission_sets``, which has no production guard of its own).

Return values: ``username``, ``alias``, ``user_id``, ``created`` (bool).
    """
    connected_user_needs = ("view_setup", "manage_users")
    task_options = {
        **GenerateAndLoadDataFromYaml.task_options,
        "generator_yaml": {
            "description": f"The Snowfakery recipe. Default: {DEFAULT_RECIPE}",
            "required": False,
            "type": "text",
            "default": DEFAULT_RECIPE,
            "check": _recipe,
        },
        "username": {
            "description": "Username of the integration user. Default: sixsense.integration.<org id>@example.com"
        },
        "alias": {
            "description": "User.Alias (at most 8 characters). Default: sixint",
            "type": "text",
            "default": "sixint",
        },
        "allow_non_scratch": bool_option(
            "True: create the test integration user in an org that is not a scratch org (a sandbox, or "
            "production with confirm_production). Default: False (scratch orgs only)."
        ),
        "confirm_production": PRODUCTION_OPTION,
    }

    def _init_options(self, kwargs):
        # Parses options only (MetaDeploy and `cci flow info` build the task without an org).
        super()._init_options(kwargs)
        if len(self.options["alias"]) > 8:
            raise TaskOptionsError(
                f"alias {self.options['alias']!r} is longer than 8 characters (User.Alias); pass at most "
                "8, e.g. -o alias sixint."
            )
        username = self.options.get("username")
        if username and not USERNAME_RE.match(username):
            raise TaskOptionsError(
                f"username {username!r} is not a Salesforce username (they look like name@example.com); "
                "pass one, e.g. -o username sixsense.integration@example.com, or leave it out."
            )

    def _find_user(self, username: str) -> dict | None:
        records = self.sf.query(
            f"SELECT Id, Username, Alias, Profile.Name FROM User WHERE Username = {soql_quote(username)}"
        )["records"]
        return records[0] if records else None

    def _run_task(self):
        username = self.options.get("username") or ci_integration_username(self.org_config.org_id)
        kind, name = self._org_kind()
        if kind != "scratch" and not self.options["allow_non_scratch"]:
            raise SixsenseInputError(
                f"Not written: {name or 'this org'} is a {kind} org, and ci_sixsense and "
                "sixsense_ci_integration_user are for scratch orgs (they create a test user). Use a scratch "
                "org (cci org scratch ci <name>), or pass -o sixsense_ci_integration_user__allow_non_scratch "
                "True to create it here anyway."
            )
        self._before_first_write(f"create the integration user {username} and assign it access")
        user = self._find_user(username)
        created = False
        if user:
            self.logger.info(f"Integration user {username} exists; nothing to load.")
        else:
            self.logger.info(f"Creating the integration user {username} ({INTEGRATION_PROFILE}).")
            # Recipe options; GenerateDataFromYaml parses `vars` when the data is generated.
            self.options["vars"] = {
                "integration_username": username,
                "integration_alias": self.options["alias"],
            }
            super()._run_task()
            user = self._find_user(username)
            if not user:
                raise CumulusCIFailure(
                    f"The recipe ran but no user {username} exists afterwards; see the load results above."
                )
            created = True
        self.return_values = {
            "username": user["Username"],
            "alias": user.get("Alias") or self.options["alias"],
            "user_id": user["Id"],
            "created": created,
        }


def _flow_tasks(flows: dict, flow: str) -> set[str]:
    """The task names of ``flow``'s steps in the project's ``flows`` config, its sub-flows' included."""
    names = set()
    for step in (flows.get(flow) or {}).get("steps", {}).values():
        if step.get("task"):
            names.add(step["task"])
        elif step.get("flow"):
            names |= _flow_tasks(flows, step["flow"])
    return names


class ExpectFirstManualStep(BaseSalesforceApiTask):
    task_docs = f"""
Runs a {VENDOR.label} flow non-interactively and checks that it stops exactly at the expected manual step (default:
``sixsense_new_customer`` stopping at ``sixsense_authorize_setup_user``, article step 1). In a scratch org no one
can authorize the {VENDOR.label} app, so that stop, with its printed instructions, is the expected result; every
earlier step must have succeeded.

Fails when the flow fails anywhere else (for example the deploy, or an input error), stops at a different
step, or completes (which would mean the org is not what this check assumes). Succeeding here is not
``ignore_failure``: only the one expected pending step passes.

Return values: ``flow``, ``stopped_at`` (task name), ``step`` (step number), ``instructions`` (text).
    """
    task_options = {
        "flow": {"description": "The flow to run. Default: sixsense_new_customer"},
        "expected_step": {
            "description": "Task name of the manual step the flow must stop at. Default: sixsense_authorize_setup_user"
        },
        "integration_username": {
            **COMMON_OPTIONS["integration_username"],
            "description": "Passed to the flow's sixsense_validate_inputs.",
            "required": True,
        },
        "setup_username": {
            **COMMON_OPTIONS["setup_username"],
            "description": "Passed to the flow's sixsense_validate_inputs. Default: the connected user.",
        },
        "audit_dir": {
            "description": "Passed to the flow's sixsense_validate_inputs: where its run's audit report "
            "goes. Default: that task's default (.sixsense/audit)."
        },
    }

    def _init_options(self, kwargs):
        super()._init_options(kwargs)
        parse_options(self.options, self.task_options)  # the two usernames: one each
        audit_dir = self.options.get("audit_dir")
        if audit_dir and not is_deferred(audit_dir):
            resolve_audit_dir(self.project_config, audit_dir)  # before the flow's first step runs
        self.options["flow"] = self.options.get("flow") or "sixsense_new_customer"
        self.options["expected_step"] = (
            self.options.get("expected_step") or "sixsense_authorize_setup_user"
        )
        flows = self.project_config.flows or {}
        flow = self.options["flow"]
        if flow not in flows:
            raise TaskOptionsError(
                f"flow {flow!r} is not a flow of this project; pass one, e.g. -o flow sixsense_new_customer."
            )
        steps = _flow_tasks(flows, flow)
        if self.options["expected_step"] not in steps:
            raise TaskOptionsError(
                f"expected_step {self.options['expected_step']!r} is not a step of {flow}; pass one of its "
                f"manual steps, e.g. -o expected_step sixsense_authorize_setup_user."
            )

    def _run_task(self):
        flow = self.options["flow"]
        expected = self.options["expected_step"]
        inputs = {
            "integration_username": self.options["integration_username"],
            "interactive": "False",
        }
        for name in ("setup_username", "audit_dir"):
            if self.options.get(name):
                inputs[name] = self.options[name]
        coordinator = FlowCoordinator(
            self.project_config,
            self.project_config.get_flow(flow),
            name=flow,
            options={"sixsense_validate_inputs": inputs},
        )
        try:
            coordinator.run(self.org_config)
        except ManualStepPending as pending:
            failed = coordinator.results[-1]
            if failed.task_name != expected:
                raise CumulusCIFailure(
                    f"{flow} stopped at the manual step {failed.task_name} (step {failed.step_num}); "
                    f"expected it to stop at {expected}."
                ) from pending
            self.logger.info(
                f"As expected, {flow} stopped at its first manual step, {expected} "
                f"(step {failed.step_num}); a scratch org has no {VENDOR.label} tenant to authorize the app."
            )
            self.return_values = {
                "flow": flow,
                "stopped_at": failed.task_name,
                "step": str(failed.step_num),
                "instructions": str(pending),
            }
            return
        except Exception as error:
            where = coordinator.results[-1].task_name if coordinator.results else "before any step"
            raise CumulusCIFailure(
                f"{flow} failed at {where} before reaching the manual step {expected}: {error}"
            ) from error
        raise CumulusCIFailure(
            f"{flow} completed without stopping at {expected}. In a scratch org the {VENDOR.label} app cannot have "
            "been authorized, so this org is not what the CI run assumes."
        )
