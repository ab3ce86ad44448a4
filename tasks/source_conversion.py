"""The deploy's SFDX -> Metadata API conversion, kept in CumulusCI's project cache and started early.

CumulusCI's ``deploy`` converts SFDX source with ``sf project convert source`` (``convert_sfdx_source``) on
every run: a Node process of about 2.5-3 s whose output depends only on the files and on the CLI. An
onboarding engineer runs the flows in many orgs from one checkout, so the output is kept under the project
cache (``.cci/sfdx-mdapi/<digest>/``, CumulusCI's ``project_config.cache_dir``), keyed by a SHA-256 digest of
the source files (relative names and bytes) and of the ``sf`` executable used (resolved path, size,
modification time). A changed file or another CLI gives another digest, so another conversion.

``start_conversion`` runs a missing conversion in a background thread (a local process, no request to the
org), so the first run of a checkout overlaps it with the reads of the steps before the deploy;
``converted_source`` waits for it, or converts itself. The deploy compares the org with the source again
after deploying (``sixsense_deploy_access``), so a cache entry that does not match its source cannot go
unnoticed.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import importlib
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path

#: Folder under CumulusCI's project cache (``.cci/``) holding one converted copy per digest.
CACHE_FOLDER = "sfdx-mdapi"
PINNED_SF_CLI = Path("tools", "sf-cli", "node_modules", ".bin")

_lock = threading.Lock()
_pending: dict[Path, concurrent.futures.Future] = {}
_executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="sf-convert")


class SalesforceCliMissing(RuntimeError):
    """Neither ``sf`` on PATH nor the project's pinned CLI (tools/sf-cli, installed by scripts/setup)."""


def ensure_sf_cli(repo_root: Path, logger: logging.Logger) -> None:
    """Put the project's pinned CLI (tools/sf-cli) on PATH when ``sf`` is not there already.
    Raises ``SalesforceCliMissing`` when there is neither."""
    if shutil.which("sf"):
        return
    pinned = repo_root / PINNED_SF_CLI
    if not (pinned / "sf").exists():
        raise SalesforceCliMissing(
            "Deploying force-app needs the Salesforce CLI (sf) to convert the source: run scripts/setup "
            "or put sf on PATH."
        )
    os.environ["PATH"] = f"{pinned}{os.pathsep}{os.environ.get('PATH', '')}"
    os.environ.setdefault("SF_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("SF_DISABLE_AUTOUPDATE", "true")
    logger.info(f"Using the pinned Salesforce CLI in {PINNED_SF_CLI.as_posix()}.")


def is_sfdx_source(path: Path) -> bool:
    """CumulusCI's own test: a non-empty folder without package.xml is SFDX source."""
    from cumulusci.core.sfdx import SourceFormat, get_source_format_for_path

    return (
        path.is_dir()
        and any(path.iterdir())
        and get_source_format_for_path(path) is SourceFormat.SFDX
    )


def source_digest(path: Path) -> str:
    """SHA-256 hex digest of the files under ``path`` (relative POSIX names and bytes) and of the ``sf``
    executable on PATH (resolved path, size, modification time in ns; "none" when absent)."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(
            file.relative_to(path).as_posix().encode() + b"\0" + file.read_bytes() + b"\0"
        )
    sf = shutil.which("sf")
    if sf:
        real = Path(sf).resolve()
        stat = real.stat()
        digest.update(f"sf\0{real}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    else:
        digest.update(b"sf\0none")
    return digest.hexdigest()


def _convert(path: Path, target: Path, logger: logging.Logger) -> None:
    """Convert ``path`` into ``target`` through CumulusCI's ``convert_sfdx_source``; the folder appears
    whole (renamed from a sibling temporary folder) or not at all."""
    # Looked up on the deploy module at call time: the same function CumulusCI's deploy would call.
    convert_sfdx_source = importlib.import_module(
        "cumulusci.tasks.salesforce.Deploy"
    ).convert_sfdx_source
    target.parent.mkdir(parents=True, exist_ok=True)
    with convert_sfdx_source(str(path), None, logger) as mdapi:
        partial = Path(tempfile.mkdtemp(dir=target.parent, prefix=".partial-"))
        try:
            shutil.copytree(mdapi, partial, dirs_exist_ok=True)
            os.replace(partial, target)
        except OSError:
            if not (target / "package.xml").exists():  # not another process finishing first
                raise
        finally:
            shutil.rmtree(partial, ignore_errors=True)


def _target(cache_dir: Path, path: Path) -> Path:
    return cache_dir / CACHE_FOLDER / source_digest(path)


def start_conversion(cache_dir: Path, path: Path, logger: logging.Logger) -> bool:
    """Start converting SFDX source ``path`` in a background thread unless it is cached or underway.
    Returns whether a conversion started. Never raises: a conversion that fails here is run again, with
    its error, by ``converted_source``."""
    try:
        if not is_sfdx_source(path):
            return False
        target = _target(cache_dir, path)
    except OSError:
        return False
    with _lock:
        if (target / "package.xml").exists() or target in _pending:
            return False
        logger.info(
            f"Converting {path.name} to Metadata API format in the background (sf project convert source, "
            "no request to the org) for the deploy step."
        )
        _pending[target] = _executor.submit(_convert, path, target, logging.getLogger(__name__))
    return True


def converted_source(cache_dir: Path, path: Path, logger: logging.Logger) -> Path:
    """The Metadata API format folder of SFDX source ``path``: the cached copy for its digest, after
    waiting for a conversion ``start_conversion`` began, or converted now. Raises what CumulusCI's
    ``convert_sfdx_source`` raises when the CLI fails."""
    target = _target(cache_dir, path)
    with _lock:
        future = _pending.pop(target, None)
    if future is not None:
        if not future.done():
            logger.info("Waiting for the background conversion of the source to finish.")
        try:
            future.result()
        except Exception as error:  # converted again below, which raises with the CLI's message
            logger.info(f"The background conversion failed ({error}); converting again.")
    if (target / "package.xml").exists():
        logger.info(
            f"Using {path.name} as converted to Metadata API format "
            f"({Path(CACHE_FOLDER, target.name[:12]).as_posix()}...: same files, same sf CLI)."
        )
        return target
    _convert(path, target, logger)
    return target


def main(argv: list[str] | None = None) -> int:
    """``python -m tasks.source_conversion [PATH]`` (run by scripts/setup): convert SFDX source ``PATH``
    (default ``force-app``) into the project cache (``.cci/`` under the current folder, the repository root)
    now, so that the first flow run finds it converted. Exit status 0, or 1 with the reason on stderr."""
    import sys

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logger = logging.getLogger("setup")
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0] if args else "force-app")
    try:
        ensure_sf_cli(Path.cwd(), logger)
        if not is_sfdx_source(path):
            print(f"setup: {path} is not SFDX source; nothing to convert")
            return 0
        target = _target(Path.cwd() / ".cci", path)
        if (target / "package.xml").exists():
            print(f"setup: {path} already converted ({CACHE_FOLDER}/{target.name[:12]}...)")
            return 0
        converted_source(Path.cwd() / ".cci", path, logger)
    except Exception as error:  # the deploy step converts then, and reports the CLI's message
        print(
            f"setup: could not convert {path} now ({error}); the deploy step will", file=sys.stderr
        )
        return 1
    print(f"setup: {path} converted to Metadata API format ({CACHE_FOLDER}/{target.name[:12]}...)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
