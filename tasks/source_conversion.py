"""The deploy's SFDX -> Metadata API conversion, kept in CumulusCI's project cache and started early.

CumulusCI's ``deploy`` converts SFDX source with ``sf project convert source`` (``convert_sfdx_source``) on
every run: a Node process of about 2-3 s whose output depends only on what the CLI reads (the source
folder, the project's ``sfdx-project.json`` and ``.forceignore``) and on the CLI itself. An onboarding
engineer runs the flows in many orgs from one checkout, so the output is kept under the project cache
(``.cci/sfdx-mdapi/<digest>/``, CumulusCI's ``project_config.cache_dir``).

The digest is SHA-256 over those files (relative names and bytes) and the CLI's identity: the ``sf`` and
``node`` executables on PATH (resolved path, size, modification time), the CLI's package version and the
user plugin manifest (``~/.local/share/sf/package.json``). A changed file, another CLI or another plugin
set gives another digest, so another conversion.

A conversion converts a snapshot: the files are copied (and hashed as copied) into a folder of their own,
the CLI converts the copy, and the output is stored under the copy's digest; a file edited while the CLI
runs cannot end up under the wrong digest. Entries appear whole (renamed into place); the 5 most recent
are kept; leftovers of an interrupted conversion are removed by the next one.

``start_conversion`` runs a missing conversion in a background (daemon) thread, a local process with no
request to the org, so that a run that must convert overlaps it with the reads before the deploy;
``converted_source`` waits for it, or converts itself. ``python -m tasks.source_conversion`` (run by
scripts/setup) converts now.
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
import time
from pathlib import Path

#: Folder under CumulusCI's project cache (``.cci/``) holding one converted copy per digest.
CACHE_FOLDER = "sfdx-mdapi"
#: How many converted copies are kept (the most recent).
KEEP_ENTRIES = 5
#: A leftover ``.partial-*`` folder older than this (seconds) belongs to an interrupted conversion.
STALE_PARTIAL_SECONDS = 600
PINNED_SF_CLI = Path("tools", "sf-cli", "node_modules", ".bin")
#: Project files the CLI reads besides the source folder.
PROJECT_FILES = ("sfdx-project.json", ".forceignore")
#: Where the sf CLI records user-installed plugins (``sf plugins install``).
SF_PLUGIN_MANIFEST = Path("~/.local/share/sf/package.json")

_lock = threading.Lock()
_pending: dict[tuple[str, str], concurrent.futures.Future] = {}


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


def _cli_identity() -> bytes:
    """What identifies the converting CLI: ``sf`` and ``node`` on PATH (resolved path, size, mtime),
    the CLI package's ``package.json`` bytes (its version) and the user plugin manifest."""
    parts = []
    for name in ("sf", "node"):
        found = shutil.which(name)
        if not found:
            parts.append(f"{name}\0none")
            continue
        real = Path(found).resolve()
        stat = real.stat()
        parts.append(f"{name}\0{real}\0{stat.st_size}\0{stat.st_mtime_ns}")
        if name == "sf":  # <cli>/bin/run.js -> <cli>/package.json
            package = real.parent.parent / "package.json"
            if package.is_file():
                parts.append(hashlib.sha256(package.read_bytes()).hexdigest())
    manifest = SF_PLUGIN_MANIFEST.expanduser()
    if manifest.is_file():
        parts.append(hashlib.sha256(manifest.read_bytes()).hexdigest())
    return "\0".join(parts).encode()


def _relative(path: Path, project_root: Path) -> Path:
    try:
        return path.resolve().relative_to(project_root.resolve())
    except ValueError:
        return Path(path.name)


def _walk(path: Path, project_root: Path, copy_to: Path | None = None) -> str:
    """Digest of the files the conversion reads (see the module docstring); with ``copy_to``, each file
    is copied there (the source folder at its path relative to ``project_root``) and the bytes hashed
    are the bytes copied."""
    digest = hashlib.sha256()
    rel = _relative(path, project_root)
    files = [(rel / f.relative_to(path), f) for f in sorted(path.rglob("*")) if f.is_file()]
    files += [(Path(name), project_root / name) for name in PROJECT_FILES]
    for name, file in files:
        try:
            data = file.read_bytes()
        except FileNotFoundError:  # a project file the project does not have
            digest.update(name.as_posix().encode() + b"\0absent\0")
            continue
        digest.update(name.as_posix().encode() + b"\0" + data + b"\0")
        if copy_to is not None:
            (copy_to / name).parent.mkdir(parents=True, exist_ok=True)
            (copy_to / name).write_bytes(data)
    digest.update(_cli_identity())
    return digest.hexdigest()


def source_digest(path: Path, project_root: Path | None = None) -> str:
    """SHA-256 hex digest of what converting ``path`` depends on (module docstring). ``project_root``:
    where ``sfdx-project.json`` and ``.forceignore`` are (default: the current folder)."""
    return _walk(path, project_root or Path.cwd())


def _tidy(folder: Path) -> None:
    """Remove leftovers of interrupted conversions, and entries beyond the ``KEEP_ENTRIES`` newest."""
    now = time.time()
    entries = []
    for child in folder.iterdir() if folder.is_dir() else []:
        if child.name.startswith(".partial-"):
            if now - child.stat().st_mtime > STALE_PARTIAL_SECONDS:
                shutil.rmtree(child, ignore_errors=True)
        elif child.is_dir():
            entries.append(child)
    entries.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for old in entries[KEEP_ENTRIES:]:
        shutil.rmtree(old, ignore_errors=True)


def _convert(path: Path, cache_dir: Path, project_root: Path, logger: logging.Logger) -> Path:
    """Convert a snapshot of ``path`` through CumulusCI's ``convert_sfdx_source`` and store the output
    under the snapshot's digest; returns the entry. The entry appears whole (renamed from a sibling
    folder) or not at all."""
    # Looked up on the deploy module at call time: the same function CumulusCI's deploy would call.
    convert_sfdx_source = importlib.import_module(
        "cumulusci.tasks.salesforce.Deploy"
    ).convert_sfdx_source
    folder = cache_dir / CACHE_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(dir=folder, prefix=".partial-"))
    try:
        snapshot = partial / "source"
        digest = _walk(path, project_root, copy_to=snapshot)
        target = folder / digest
        if (target / "package.xml").exists():  # another process converted the same files meanwhile
            return target
        with convert_sfdx_source(
            str(snapshot / _relative(path, project_root)), None, logger
        ) as mdapi:
            shutil.copytree(mdapi, partial / "mdapi")
        try:
            os.replace(partial / "mdapi", target)
        except OSError:
            if not (target / "package.xml").exists():  # not another process finishing first
                raise
        return target
    finally:
        shutil.rmtree(partial, ignore_errors=True)
        _tidy(folder)


def _key(cache_dir: Path, path: Path) -> tuple[str, str]:
    return (str(cache_dir.resolve()), str(path.resolve()))


def start_conversion(
    cache_dir: Path, path: Path, logger: logging.Logger, project_root: Path | None = None
) -> bool:
    """Start converting SFDX source ``path`` in a background daemon thread unless it is cached or
    underway (a run that ends meanwhile does not wait for it). Returns whether a conversion started.
    Never raises: a conversion that fails here is run again, with its error, by ``converted_source``."""
    root = project_root or Path.cwd()
    try:
        if not is_sfdx_source(path):
            return False
        cached = (cache_dir / CACHE_FOLDER / source_digest(path, root) / "package.xml").exists()
    except OSError:
        return False
    key = _key(cache_dir, path)
    with _lock:
        if cached or key in _pending:
            return False
        logger.info(
            f"Converting {path.name} to Metadata API format in the background (sf project convert source, "
            "no request to the org) for the deploy step."
        )
        future: concurrent.futures.Future = concurrent.futures.Future()
        _pending[key] = future

    def work():
        try:
            future.set_result(_convert(path, cache_dir, root, logging.getLogger(__name__)))
        except BaseException as error:  # handed to converted_source
            future.set_exception(error)

    threading.Thread(target=work, name="sf-convert", daemon=True).start()
    return True


def converted_source(
    cache_dir: Path, path: Path, logger: logging.Logger, project_root: Path | None = None
) -> Path:
    """The Metadata API format folder of SFDX source ``path`` as it is now: the cached copy for its
    digest, after waiting for a conversion ``start_conversion`` began, or converted now. Raises what
    CumulusCI's ``convert_sfdx_source`` raises when the CLI fails, ``OSError`` when the cache cannot be
    written."""
    root = project_root or Path.cwd()
    with _lock:
        future = _pending.pop(_key(cache_dir, path), None)
    if future is not None:
        if not future.done():
            logger.info("Waiting for the background conversion of the source to finish.")
        try:
            future.result()
        except Exception as error:  # converted again below, which raises with the CLI's message
            logger.info(f"The background conversion failed ({error}); converting again.")
    target = cache_dir / CACHE_FOLDER / source_digest(path, root)
    if (target / "package.xml").exists():
        os.utime(target)  # recently used: kept by _tidy
        logger.info(
            f"Using {path.name} as converted to Metadata API format "
            f"({Path(CACHE_FOLDER, target.name[:12]).as_posix()}...: same files, same sf CLI)."
        )
        return target
    return _convert(path, cache_dir, root, logger)


def main(argv: list[str] | None = None) -> int:
    """``python -m tasks.source_conversion [PATH]`` (run by scripts/setup): convert SFDX source ``PATH``
    (default ``force-app``) into the project cache (``.cci/`` under the current folder, the repository root)
    now, so that the first flow run finds it converted. Exit status 0, or 1 with the reason on stderr."""
    import sys

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logger = logging.getLogger("setup")
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0] if args else "force-app")
    cache_dir = Path.cwd() / ".cci"
    try:
        ensure_sf_cli(Path.cwd(), logger)
        if not is_sfdx_source(path):
            print(f"setup: {path} is not SFDX source; nothing to convert")
            return 0
        target = cache_dir / CACHE_FOLDER / source_digest(path)
        if (target / "package.xml").exists():
            print(f"setup: {path} already converted ({CACHE_FOLDER}/{target.name[:12]}...)")
            return 0
        target = converted_source(cache_dir, path, logger)
    except Exception as error:  # the deploy step converts then, and reports the CLI's message
        print(
            f"setup: could not convert {path} now ({error}); the deploy step will", file=sys.stderr
        )
        return 1
    print(f"setup: {path} converted to Metadata API format ({CACHE_FOLDER}/{target.name[:12]}...)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
