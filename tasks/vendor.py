"""The vendor's specifics as data: ``datasets/vendors/<name>.yml`` (default ``6sense``).

The sixsense_* tasks hold no vendor literal: app names, the ECA package, desired policies, permission set
names and the operator's instructions in the vendor's application come from this file.
With several files, ``SIXSENSE_VENDOR=<name>`` picks one. A missing or malformed file stops at import with
``SixsenseInputError`` naming the file and the key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import SixsenseInputError

VENDORS_DIR = Path(__file__).resolve().parent.parent / "datasets" / "vendors"


@dataclass(frozen=True)
class Vendor:
    """One vendor file. ``instructions[step]``: template lines (``str.format`` placeholders)."""

    path: Path
    label: str
    connected_app_names: list[str]
    setup_permission_set: str
    integration_permission_set: str
    eca_package_version: str
    eca_package_name: str
    eca_names: list[str]
    eca_policies: dict[str, str]
    environments: dict[str, dict[str, str]]
    instructions: dict[str, list[str]]

    def instruction_lines(self, step: str, environment: str = "production", **values) -> list[str]:
        """The lines of ``instructions[step]`` filled with ``values`` and the ``environment``'s entries
        (``production`` | ``sandbox``). ``KeyError`` for an unknown step or placeholder."""
        fields = dict(self.environments.get(environment) or self.environments["production"])
        fields.update(values)
        return [line.format(**fields) for line in self.instructions[step]]


def load_vendor(name: str | None = None) -> Vendor:
    """Read and check ``datasets/vendors/<name>.yml``. ``name`` default: ``$SIXSENSE_VENDOR``, else the one
    file of ``datasets/vendors/`` (with several files and no choice: ``SixsenseInputError``)."""
    name = name or os.environ.get("SIXSENSE_VENDOR")
    if not name:
        files = sorted(VENDORS_DIR.glob("*.yml"))
        if len(files) != 1:
            raise SixsenseInputError(
                f"{len(files)} vendor files in {VENDORS_DIR}: set SIXSENSE_VENDOR to one of "
                f"{', '.join(f.stem for f in files) or '(none)'}."
            )
        name = files[0].stem
    path = VENDORS_DIR / f"{name}.yml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise SixsenseInputError(f"Vendor file {path} cannot be read: {error}") from None

    def need(*keys):
        value = data
        for key in keys:
            if not isinstance(value, dict) or key not in value:
                raise SixsenseInputError(f"Vendor file {path}: missing {'.'.join(keys)}.")
            value = value[key]
        return value

    eca = ("external_client_app",)
    return Vendor(
        path=path,
        label=str(need("label")),
        connected_app_names=[str(n) for n in need("connected_app_names")],
        setup_permission_set=str(need("permission_sets", "setup")),
        integration_permission_set=str(need("permission_sets", "integration")),
        eca_package_version=str(need(*eca, "package_version")),
        eca_package_name=str(need(*eca, "package_name")),
        eca_names=[str(n) for n in need(*eca, "names")],
        eca_policies={
            str(k): "" if v is None else str(v) for k, v in need(*eca, "policies").items()
        },
        environments=need("environments"),
        instructions={str(k): [str(line) for line in v] for k, v in need("instructions").items()},
    )


#: The vendor of this run (read once at import: the file is part of the repository).
VENDOR = load_vendor()
