"""``InstalledPackage`` metadata (retrieve only): what CumulusCI's ``get_installed_packages`` retrieves, one
member per installed managed package of the simulated catalogue (``eca.PACKAGE``, ``eca.VERSIONS``).

Registers the type in ``registry`` on import (``platform.RULE_MODULES``); reads the org's
``InstalledSubscriberPackage`` rows, which the ECA package install writes (``orgsim/eca.py``).
"""

from __future__ import annotations

from orgsim import mdxml, registry
from orgsim.eca import PACKAGE, VERSIONS


def _installed_version(org) -> str | None:
    """The installed package's ``versionNumber`` (``major.minor``), or ``None`` when it is not installed."""
    isp = org.store.find_one("InstalledSubscriberPackage", SubscriberPackageId=PACKAGE["Id"])
    if not isp:
        return None
    return next(
        (n for n, v in VERSIONS.items() if v["Id"] == isp["SubscriberPackageVersionId"]), None
    )


def list_installed_packages(org) -> list[tuple[str, str]]:
    """``InstalledPackage`` members: one per installed managed package, named by its namespace (Metadata API
    Developer Guide "InstalledPackage": file ``installedPackages/<namespace>.installedPackage``)."""
    if _installed_version(org) is None:
        return []
    namespace = PACKAGE["NamespacePrefix"]
    return [(namespace, f"installedPackages/{namespace}.installedPackage")]


def render_installed_package(org, member: str) -> bytes | None:
    """The retrieved file: ``<InstalledPackage><versionNumber>`` (the field cci's
    ``ApiRetrieveInstalledPackages`` reads; "InstalledPackage": ``versionNumber``, the installed version)."""
    version = _installed_version(org)
    if version is None or member != PACKAGE["NamespacePrefix"]:
        return None
    root = mdxml.md("InstalledPackage")
    mdxml.sub(root, "versionNumber", version)
    return mdxml.xml(root)


def refuse_installed_package_deploy(org, component, problem):
    """Deploying an ``InstalledPackage`` installs or upgrades a package; the simulator installs packages
    only through the Tooling API's PackageInstallRequest, so such a deploy is refused (when in doubt, the
    simulator refuses)."""
    raise problem("The org simulator does not model installing packages through the Metadata API")


registry.metadata_type(
    registry.MetadataType(
        "InstalledPackage",
        "installedPackages",
        ".installedPackage",
        list_installed_packages,
        render_installed_package,
        refuse_installed_package_deploy,
    )
)
