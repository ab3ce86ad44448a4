"""tasks/source_conversion.py: the deploy's SFDX -> Metadata API conversion, once per digest of the source
files and CLI, kept in CumulusCI's project cache, and startable in the background."""

from __future__ import annotations

import base64
import contextlib
import importlib
import io
import logging
import shutil
import tempfile
import threading
import zipfile
from pathlib import Path

import pytest

from tests.tasks.conftest import ROOT

LOG = logging.getLogger("test")


def unzip(package: str) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(package))) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


@pytest.fixture
def conversion(runtime, monkeypatch, tmp_path):
    """``(module, calls, source)``: CumulusCI's ``convert_sfdx_source`` replaced by a fake that writes a
    Metadata API folder (package.xml + permissionsets/) and records each call; ``source`` is a copy of
    force-app under ``tmp_path``."""
    module = importlib.import_module("tasks.source_conversion")
    calls = []
    gate = threading.Event()
    gate.set()

    @contextlib.contextmanager
    def fake_convert(path, name, logger):
        if (
            Path(path) / "package.xml"
        ).exists():  # like CumulusCI: Metadata API format is not converted
            yield path
            return
        gate.wait(10)
        calls.append(Path(path))
        if getattr(fake_convert, "fail", False):
            raise RuntimeError("sf project convert source failed: boom")
        with tempfile.TemporaryDirectory() as out:
            (Path(out) / "package.xml").write_text("<Package/>")
            (Path(out) / "permissionsets").mkdir()
            for file in Path(path).rglob("*.permissionset-meta.xml"):
                name = file.name.replace("-meta.xml", "")
                shutil.copy(file, Path(out) / "permissionsets" / name)
            yield out

    deploy = importlib.import_module("cumulusci.tasks.salesforce.Deploy")
    monkeypatch.setattr(deploy, "convert_sfdx_source", fake_convert)
    source = tmp_path / "force-app"
    shutil.copytree(ROOT / "force-app", source)
    fake_convert.gate = gate
    return module, calls, source, fake_convert


def test_a_second_conversion_of_the_same_files_uses_the_cache(conversion, tmp_path):
    module, calls, source, _ = conversion
    first = module.converted_source(tmp_path / "cache", source, LOG)
    second = module.converted_source(tmp_path / "cache", source, LOG)
    assert first == second and calls == [source]
    assert (first / "package.xml").exists()
    assert sorted(p.name for p in (first / "permissionsets").iterdir()) == [
        "Sixsense_Integration_Access.permissionset",
        "Sixsense_Setup_Access.permissionset",
    ]
    assert first.parent == tmp_path / "cache" / module.CACHE_FOLDER
    # Nothing half-written is left next to the entry.
    assert [p.name for p in first.parent.iterdir()] == [first.name]


def test_a_changed_file_is_converted_again(conversion, tmp_path):
    module, calls, source, _ = conversion
    first = module.converted_source(tmp_path / "cache", source, LOG)
    file = next(source.rglob("Sixsense_Setup_Access.permissionset-meta.xml"))
    file.write_text(file.read_text().replace("6sense Setup Access", "6sense Setup Access v2"))
    second = module.converted_source(tmp_path / "cache", source, LOG)
    assert first != second and calls == [source, source]
    assert "v2" in (second / "permissionsets" / "Sixsense_Setup_Access.permissionset").read_text()


def test_another_sf_cli_gives_another_digest(conversion, tmp_path, monkeypatch):
    module, _, source, _ = conversion
    bin_a, bin_b = tmp_path / "a", tmp_path / "b"
    for folder in (bin_a, bin_b):
        folder.mkdir()
        (folder / "sf").write_text("#!/bin/sh\n")
        (folder / "sf").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_a))
    digest_a = module.source_digest(source)
    monkeypatch.setenv("PATH", str(bin_b))
    assert module.source_digest(source) != digest_a


def test_a_background_conversion_is_waited_for_not_repeated(conversion, tmp_path):
    module, calls, source, fake = conversion
    fake.gate.clear()  # the background conversion is still running when the deploy asks for it
    assert module.start_conversion(tmp_path / "cache", source, LOG) is True
    assert module.start_conversion(tmp_path / "cache", source, LOG) is False  # underway: not twice
    threading.Timer(0.2, fake.gate.set).start()
    converted = module.converted_source(tmp_path / "cache", source, LOG)
    assert (converted / "package.xml").exists() and calls == [source]
    # Cached now: nothing to start.
    assert module.start_conversion(tmp_path / "cache", source, LOG) is False


def test_a_failed_background_conversion_is_run_again_with_its_error(conversion, tmp_path):
    module, calls, source, fake = conversion
    fake.fail = True
    module.start_conversion(tmp_path / "cache", source, LOG)
    with pytest.raises(RuntimeError, match="sf project convert source failed"):
        module.converted_source(tmp_path / "cache", source, LOG)
    assert calls == [source, source]
    fake.fail = False
    assert (module.converted_source(tmp_path / "cache", source, LOG) / "package.xml").exists()
    assert not (tmp_path / "cache" / module.CACHE_FOLDER / ".partial").exists()
    assert all(
        not p.name.startswith(".partial")
        for p in (tmp_path / "cache" / module.CACHE_FOLDER).iterdir()
    )


def test_metadata_api_source_is_not_converted(conversion, tmp_path):
    module, calls, _, _ = conversion
    mdapi = ROOT / "unpackaged" / "api_access_control"
    assert module.is_sfdx_source(mdapi) is False
    assert module.start_conversion(tmp_path / "cache", mdapi, LOG) is False
    assert calls == []


def test_the_deploy_task_builds_its_package_from_the_cache(
    conversion, make_task, org, runtime, tmp_path, monkeypatch
):
    """A second deploy of unchanged force-app converts nothing: the package is built from the cache."""
    module, calls, _, _ = conversion
    monkeypatch.setattr(runtime.project_config, "_cache_dir", tmp_path / "cache")
    task = make_task("sixsense_deploy_access")
    first = task._get_package_zip("force-app")
    second = make_task("sixsense_deploy_access")._get_package_zip("force-app")
    assert unzip(first) == unzip(second) and calls == [Path("force-app")]
    assert "permissionsets/Sixsense_Setup_Access.permissionset" in unzip(first)
    assert list((tmp_path / "cache" / module.CACHE_FOLDER).iterdir())


def test_setup_converts_once_into_the_project_cache(conversion, tmp_path, monkeypatch, capsys):
    """``python -m tasks.source_conversion`` (scripts/setup): the first flow run then finds it converted."""
    module, calls, source, fake = conversion
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sf").write_text("#!/bin/sh\n")
    (bin_dir / "sf").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.chdir(tmp_path)
    assert module.main(["force-app"]) == 0
    assert module.main(["force-app"]) == 0
    out = capsys.readouterr().out
    assert "force-app converted" in out and "force-app already converted" in out
    assert calls == [Path("force-app")]
    (entry,) = (tmp_path / ".cci" / module.CACHE_FOLDER).iterdir()
    assert entry.name == module.source_digest(source) and (entry / "package.xml").exists()
    # A failing CLI: exit status 1 and the reason; the deploy step converts later.
    (source / "extra.permissionset-meta.xml").write_text("<PermissionSet/>")
    fake.fail = True
    assert module.main(["force-app"]) == 1
    assert "sf project convert source failed" in capsys.readouterr().err


def test_a_project_cache_that_cannot_be_written_falls_back_to_ccis_conversion(
    conversion, make_task, org, runtime, tmp_path, monkeypatch, caplog
):
    module, calls, _, _ = conversion
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder should be")
    monkeypatch.setattr(runtime.project_config, "_cache_dir", blocked)
    package = make_task("sixsense_deploy_access")._get_package_zip("force-app")
    assert "permissionsets/Sixsense_Setup_Access.permissionset" in unzip(package)
    assert "cannot be written" in caplog.text
    assert calls == [Path("force-app")]  # CumulusCI's own conversion, into a temporary folder
