"""Metadata API package files as the simulator reads and answers them: a deploy zip's components
(``read_package``), a retrieve's result, and the deploy result body (Metadata API Developer Guide, "deploy()"
and "DeployResult")."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from orgsim import registry

#: folder -> (metadata type, file suffix), for the types the simulator reads from a deploy zip.
FOLDERS = {
    "permissionsets": ("PermissionSet", ".permissionset"),
    "settings": ("Settings", ".settings"),
    "connectedApps": ("ConnectedApp", ".connectedApp"),
    "blacklistedConsumers": ("BlacklistedConsumer", ".blacklistedConsumer"),
}


def _folder(folder: str) -> tuple[str, str]:
    """``(metadata type, file suffix)`` of a deploy zip folder (registered types included)."""
    if folder in FOLDERS:
        return FOLDERS[folder]
    for t in registry.METADATA_TYPES.values():
        if t.folder == folder:
            return t.name, t.suffix
    return folder, ""


@dataclass
class RetrieveResult:
    zip_bytes: bytes
    file_properties: list[dict[str, str]]
    messages: list[dict[str, str]]


@dataclass
class Component:
    md_type: str
    full_name: str
    file_name: str
    body: bytes = field(repr=False)

    def describe(self) -> dict[str, str]:
        return {
            "componentType": self.md_type,
            "fullName": self.full_name,
            "fileName": self.file_name,
        }

    def parse(self):
        try:
            return etree.fromstring(self.body)
        except etree.XMLSyntaxError as exc:
            raise ComponentProblem(f"Error parsing file: {exc}") from None


class ComponentProblem(Exception):
    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem


def read_package(zip_bytes: bytes) -> list[Component]:
    """The components of an MDAPI deploy zip (``package.xml`` at the root or in one top folder)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(zip_bytes))
        names = [n for n in zf.namelist() if not n.endswith("/")]
    except (zipfile.BadZipFile, ValueError):
        raise ValueError("The deploy package is not a valid zip file") from None
    manifests = [n for n in names if n.rsplit("/", 1)[-1] == "package.xml"]
    if not manifests:
        raise ValueError("No package.xml found")
    prefix = min(manifests, key=len)[: -len("package.xml")]
    components = []
    for name in names:
        if not name.startswith(prefix):
            continue
        rel = name[len(prefix) :]
        if rel in (
            "package.xml",
            "destructiveChanges.xml",
            "destructiveChangesPre.xml",
            "destructiveChangesPost.xml",
        ):
            continue
        folder, _, file_name = rel.partition("/")
        md_type, suffix = _folder(folder)
        full_name = (
            file_name[: -len(suffix)]
            if suffix and file_name.endswith(suffix)
            else file_name.rsplit(".", 1)[0]
        )
        if rel.endswith("-meta.xml"):
            continue
        components.append(Component(md_type, full_name, rel, zf.read(name)))
    return components


def deploy_result(check_only, successes, failures, *, total=None, error=None) -> dict[str, Any]:
    ok = not failures and error is None
    return {
        "status": "Succeeded" if ok else "Failed",
        "success": ok,
        "checkOnly": check_only,
        "numberComponentsTotal": total if total is not None else len(successes) + len(failures),
        "numberComponentsDeployed": len(successes),
        "numberComponentErrors": len(failures),
        "componentSuccesses": successes,
        "componentFailures": failures,
        "errorMessage": error,
        "errorStatusCode": "UNKNOWN_EXCEPTION" if error else None,
    }
