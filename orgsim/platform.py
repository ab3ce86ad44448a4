"""One simulated org: the Salesforce platform rules the simulator enforces, put together.

Protocol modules (``rest``, ``soap``, ``oauth``, ``setup_pages``) parse requests and render responses; every
decision is made in the rule modules, so a rule changes in one place and REST, SOAP, Setup pages and actions
all obey it (moto's layout: rules in one place, protocol in another):

- ``identity``: the org's identity and features, users, permissions, sessions;
- ``dml``: SOQL queries and create / update / delete with the generic rules; per-object rules come from
  ``registry`` (``object_rules``, ``eca``);
- ``connected_app``: the connected-app lifecycle (authorize / install / policy / block);
- ``metadata``: the Metadata API (list, retrieve, deploy);
- ``eca``: the 6sense External Client App (registers its rules, never imports this module);
- ``installed_package``: ``InstalledPackage`` metadata of the installed packages (retrieve only);
- ``seed``: writing a scenario into an empty org.

Each rule's docstring cites ``../shared/docs/salesforce-facts.md`` ("facts §N"); where Salesforce's exact
error code or wording is not documented the docstring says UNCERTAIN. Errors: ``errors.SalesforceError``,
``errors.ActionError`` (re-exported here).
"""

from __future__ import annotations

from typing import Any

from orgsim import eca, installed_package, object_rules, seed
from orgsim.connected_app import ConnectedApps
from orgsim.dml import Dml
from orgsim.errors import ActionError, SalesforceError
from orgsim.identity import Identity
from orgsim.metadata import Metadata
from orgsim.store import Store

#: The rule modules that register in ``registry`` on import (kept imported here so every Org has them).
RULE_MODULES = (object_rules, eca, installed_package)

__all__ = ["ActionError", "Org", "SalesforceError"]


class Org(Identity, Dml, ConnectedApps, Metadata):
    """One simulated org: its store plus the rules. All methods take ``self.lock`` (the store's lock)."""

    @classmethod
    def seed(cls, store: Store, scenario_name: str, data: dict[str, Any]) -> Org:
        """Write a validated scenario (``scenario.load(...).data``) into an empty store; the seeded org."""
        org = cls(store)
        with store.savepoint():  # one transaction: fast in a state file, and all or nothing
            seed.seed(org, scenario_name, data)
        return org
