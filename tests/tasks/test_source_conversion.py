"""tasks/source_conversion.py: the deploy's SFDX -> Metadata API conversion, once per digest of what the CLI
reads and of the CLI, of a snapshot of the files, kept in CumulusCI's project cache, startable in the
background."""

from __future__ import annotations

import base64
import contextlib
import importlib
import io
import logging
import os
import shutil
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import pytest

from tests.tasks.conftest import ROOT

LOG = logging.getLogger("test")
PROJECT_FILES = (".forceignore", "sfdx-project.json")
SETUP_FILE = "main/default/permissionsets/Sixsense_Setup_Access.permissionset-meta.xml"


def unzip(package: str) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(package))) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


class Fake:
    """CumulusCI's ``convert_sfdx_source`` replaced: writes a Metadata API folder (package.xml +
    permissionsets/ copied from the source given) and records the source folder of each call. ``gate``
    holds a conversion once it has started (``started`` set); ``fail`` makes it raise like a failing CLI."""

    def __init__(self):
        self.calls: list[Path] = []
        self.project_files: list[dict[str, str]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.started = threading.Event()
        self.fail = False

    @contextlib.contextmanager
    def __call__(self, path, name, logger):
        if (Path(path) / "package.xml").exists():  # like CumulusCI: Metadata API format as it is
            yield path
            return
        self.calls.append(Path(path))
        root = Path(path).parent  # the snapshot's project root, as the CLI finds it
        self.project_files.append(
            {n: (root / n).read_text() for n in PROJECT_FILES if (root / n).exists()}
        )
        self.started.set()
        self.gate.wait(10)
        if self.fail:
            raise RuntimeError("sf project convert source failed: boom")
        with tempfile.TemporaryDirectory() as out:
            (Path(out) / "package.xml").write_text("<Package/>")
            (Path(out) / "permissionsets").mkdir()
            for file in Path(path).rglob("*.permissionset-meta.xml"):
                target = Path(out) / "permissionsets" / file.name.replace("-meta.xml", "")
                shutil.copy(file, target)
            yield out


@pytest.fixture
def conversion(runtime, monkeypatch, tmp_path):
    """``(module, fake, source, cache)``: a project under ``tmp_path/project`` (a copy of force-app and
    sfdx-project.json, the current folder), its cache folder, and the fake conversion."""
    module = importlib.import_module("tasks.source_conversion")
    fake = Fake()
    monkeypatch.setattr(
        importlib.import_module("cumulusci.tasks.salesforce.Deploy"), "convert_sfdx_source", fake
    )
    project = tmp_path / "project"
    shutil.copytree(ROOT / "force-app", project / "force-app")
    shutil.copy(ROOT / "sfdx-project.json", project)
    monkeypatch.chdir(project)
    return module, fake, Path("force-app"), project / ".cci"


def entries(module, cache: Path) -> list[Path]:
    folder = cache / module.CACHE_FOLDER
    return sorted(folder.iterdir()) if folder.is_dir() else []


def label_in(entry: Path) -> str:
    return (entry / "permissionsets" / "Sixsense_Setup_Access.permissionset").read_text()


def test_a_second_conversion_of_the_same_files_uses_the_cache(conversion):
    module, fake, source, cache = conversion
    first = module.converted_source(cache, source, LOG)
    second = module.converted_source(cache, source, LOG)
    assert first == second and len(fake.calls) == 1
    # The CLI converted a snapshot, not the working files.
    assert fake.calls[0] != source.resolve() and fake.calls[0].name == "force-app"
    assert sorted(p.name for p in (first / "permissionsets").iterdir()) == [
        "Sixsense_Integration_Access.permissionset",
        "Sixsense_Setup_Access.permissionset",
    ]
    assert first.name == module.source_digest(source)
    assert entries(module, cache) == [first]  # nothing half-written left next to it


def test_a_changed_file_is_converted_again(conversion):
    module, fake, source, cache = conversion
    first = module.converted_source(cache, source, LOG)
    file = source / SETUP_FILE
    file.write_text(file.read_text().replace("6sense Setup Access", "6sense Setup Access v2"))
    second = module.converted_source(cache, source, LOG)
    assert first != second and len(fake.calls) == 2
    assert "v2" in label_in(second) and "v2" not in label_in(first)


@pytest.mark.parametrize(
    "change",
    ["sfdx-project.json", ".forceignore", "sf touched", "another node"],
)
def test_what_else_the_cli_reads_or_is_changes_the_digest(
    conversion, tmp_path, monkeypatch, change
):
    module, _, source, _ = conversion
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("sf", "node"):
        (bin_dir / name).write_text("#!/bin/sh\n")
        (bin_dir / name).chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    before = module.source_digest(source)
    if change == "sfdx-project.json":
        project = Path("sfdx-project.json")
        project.write_text(project.read_text().replace("65.0", "60.0"))
    elif change == ".forceignore":
        Path(".forceignore").write_text(f"force-app/{SETUP_FILE}\n")
    elif change == "sf touched":  # same path, another build of the CLI
        os.utime(bin_dir / "sf", ns=(1, 1))
    else:
        other = tmp_path / "other"
        other.mkdir()
        (other / "node").write_text("#!/bin/sh\n# another node\n")
        (other / "node").chmod(0o755)
        monkeypatch.setenv("PATH", f"{other}{os.pathsep}{bin_dir}")
    assert module.source_digest(source) != before


def test_the_snapshot_holds_the_project_files_the_cli_reads(conversion):
    module, fake, source, cache = conversion
    Path(".forceignore").write_text("**/jsconfig.json\n")
    module.converted_source(cache, source, LOG)
    assert fake.project_files == [
        {
            ".forceignore": "**/jsconfig.json\n",
            "sfdx-project.json": Path("sfdx-project.json").read_text(),
        }
    ]


def test_a_file_edited_while_the_cli_runs_cannot_poison_the_cache(conversion):
    """Edited after the snapshot, then restored: the entry for the original files holds the original."""
    module, fake, source, cache = conversion
    original = (source / SETUP_FILE).read_text()
    fake.gate.clear()
    assert module.start_conversion(cache, source, LOG) is True
    assert fake.started.wait(10)
    (source / SETUP_FILE).write_text(original.replace("6sense Setup Access", "EDITED"))
    fake.gate.set()
    edited = module.converted_source(
        cache, source, LOG
    )  # the files as they are now: converted again
    assert "EDITED" in label_in(edited)
    (source / SETUP_FILE).write_text(original)
    restored = module.converted_source(cache, source, LOG)
    assert "EDITED" not in label_in(restored) and restored.name == module.source_digest(source)
    assert len(fake.calls) == 2


def test_a_background_conversion_is_waited_for_not_repeated(conversion):
    module, fake, source, cache = conversion
    fake.gate.clear()  # the background conversion is still running when the deploy asks for it
    assert module.start_conversion(cache, source, LOG) is True
    assert module.start_conversion(cache, source, LOG) is False  # underway: not twice
    (thread,) = [t for t in threading.enumerate() if t.name == "sf-convert"]
    assert thread.daemon  # a run that ends meanwhile does not wait for Node
    threading.Timer(0.2, fake.gate.set).start()
    converted = module.converted_source(cache, source, LOG)
    assert (converted / "package.xml").exists() and len(fake.calls) == 1
    assert module.start_conversion(cache, source, LOG) is False  # cached now: nothing to start


def test_a_failed_background_conversion_is_run_again_with_its_error(conversion):
    module, fake, source, cache = conversion
    fake.fail = True
    module.start_conversion(cache, source, LOG)
    with pytest.raises(RuntimeError, match="sf project convert source failed"):
        module.converted_source(cache, source, LOG)
    assert len(fake.calls) == 2
    assert entries(module, cache) == []  # no entry, no leftover
    fake.fail = False
    assert (module.converted_source(cache, source, LOG) / "package.xml").exists()


def test_leftovers_and_old_entries_are_tidied(conversion, monkeypatch):
    module, fake, source, cache = conversion
    folder = cache / module.CACHE_FOLDER
    folder.mkdir(parents=True)
    stale, fresh = folder / ".partial-stale", folder / ".partial-fresh"
    stale.mkdir()
    fresh.mkdir()  # another conversion still running
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    for i in range(module.KEEP_ENTRIES + 2):
        (folder / f"old{i}").mkdir()
        os.utime(folder / f"old{i}", (1000 + i, 1000 + i))
    converted = module.converted_source(cache, source, LOG)
    left = {p.name for p in folder.iterdir()}
    assert ".partial-stale" not in left and ".partial-fresh" in left
    assert converted.name in left
    olds = sorted(n for n in left if n.startswith("old"))
    # The newest entries are kept: KEEP_ENTRIES in all, the new one among them.
    assert olds == [f"old{i}" for i in range(3, module.KEEP_ENTRIES + 2)]


def test_metadata_api_source_is_not_converted(conversion):
    module, fake, _, cache = conversion
    mdapi = ROOT / "unpackaged" / "api_access_control"
    assert module.is_sfdx_source(mdapi) is False
    assert module.start_conversion(cache, mdapi, LOG) is False
    assert fake.calls == []


def test_the_deploy_task_builds_its_package_from_the_cache(
    conversion, make_task, org, runtime, tmp_path, monkeypatch
):
    """A second deploy of unchanged force-app converts nothing: the package is built from the cache."""
    module, fake, _, _ = conversion
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(runtime.project_config, "_cache_dir", tmp_path / "cache")
    first = make_task("sixsense_deploy_access")._get_package_zip("force-app")
    second = make_task("sixsense_deploy_access")._get_package_zip("force-app")
    assert unzip(first) == unzip(second) and len(fake.calls) == 1
    assert "permissionsets/Sixsense_Setup_Access.permissionset" in unzip(first)
    assert entries(module, tmp_path / "cache")


def test_a_project_cache_that_cannot_be_written_falls_back_to_ccis_conversion(
    conversion, make_task, org, runtime, tmp_path, monkeypatch, caplog
):
    module, fake, _, _ = conversion
    monkeypatch.chdir(ROOT)
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder should be")
    monkeypatch.setattr(runtime.project_config, "_cache_dir", blocked)
    package = make_task("sixsense_deploy_access")._get_package_zip("force-app")
    assert "permissionsets/Sixsense_Setup_Access.permissionset" in unzip(package)
    assert "cannot be written" in caplog.text
    assert fake.calls == [Path("force-app")]  # CumulusCI's own conversion of the working files


def test_setup_converts_once_into_the_project_cache(conversion, tmp_path, monkeypatch, capsys):
    """``python -m tasks.source_conversion`` (scripts/setup): the first flow run then finds it converted."""
    module, fake, source, cache = conversion
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sf").write_text("#!/bin/sh\n")
    (bin_dir / "sf").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    assert module.main(["force-app"]) == 0
    assert module.main(["force-app"]) == 0
    out = capsys.readouterr().out
    assert "force-app converted" in out and "force-app already converted" in out
    assert len(fake.calls) == 1
    (entry,) = entries(module, cache)
    assert entry.name == module.source_digest(source) and (entry / "package.xml").exists()
    # A failing CLI: exit status 1 and the reason; the deploy step converts later.
    (source / "extra.permissionset-meta.xml").write_text("<PermissionSet/>")
    fake.fail = True
    assert module.main(["force-app"]) == 1
    assert "sf project convert source failed" in capsys.readouterr().err
