"""Option parsing (tasks/options.py) as the operator meets it: what each ``-o name value`` becomes, which
value is refused with which fix, and what a missing value defaults to. Written against the survivors of
``make mutate`` (tests/mutation-equivalent.txt lists the ones that change nothing observable).
"""

from __future__ import annotations

import io
import os

import pytest

from tests.tasks.conftest import INTEGRATION


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def options(tasks_module):
    return tasks_module("options")


def parse(options, specs, **given):
    return options.parse_options(dict(given), specs)


# -- bool ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given, expected",
    [("True", True), ("true", True), (" 1 ", True), ("False", False), ("no", False), (True, True)],
)
def test_a_bool_option_takes_the_spellings_cci_takes(options, given, expected):
    assert parse(options, {"plan": {"type": "bool"}}, plan=given) == {"plan": expected}


@pytest.mark.parametrize("missing", [None, "", "  ", "auto"])
def test_a_missing_bool_option_is_false_unless_the_task_says_otherwise(options, missing):
    assert parse(options, {"plan": {"type": "bool"}}, plan=missing) == {"plan": False}
    assert parse(options, {"plan": {"type": "bool", "default": True}}, plan=missing) == {
        "plan": True
    }
    assert parse(options, {"plan": {"type": "bool"}}) == {"plan": False}


def test_a_bad_bool_names_the_option_and_the_fix(options, errors):
    with pytest.raises(errors.SixsenseInputError) as err:
        parse(options, {"confirm_production": {"type": "bool"}}, confirm_production="maybe")
    assert str(err.value) == (
        "Option confirm_production must be True or False, got 'maybe'. "
        "Pass -o confirm_production True (or False)."
    )


def test_a_bad_bool_stops_the_task_before_it_reads_the_org(make_task, org, errors):
    with pytest.raises(errors.SixsenseInputError, match="Option plan must be True or False"):
        make_task("sixsense_verify", integration_username=INTEGRATION, plan="sometimes")
    assert org.soql == [] and org.writes() == []


# -- interactive: its default follows the terminal and CI -----------------------------------------------


def test_interactive_defaults_to_true_at_a_terminal_without_ci(options, monkeypatch):
    monkeypatch.setattr("sys.stdin", Terminal(""))
    monkeypatch.delenv("CI", raising=False)
    assert options.stdin_is_tty() is True
    assert options.default_interactive() is True
    assert parse(options, options.COMMON_OPTIONS, interactive="auto")["interactive"] is True


def test_interactive_defaults_to_false_in_ci_or_without_a_terminal(options, monkeypatch):
    monkeypatch.setattr("sys.stdin", Terminal(""))
    monkeypatch.setenv("CI", "true")
    assert options.default_interactive() is False
    assert parse(options, options.COMMON_OPTIONS)["interactive"] is False
    monkeypatch.delenv("CI")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert options.stdin_is_tty() is False
    assert options.default_interactive() is False
    monkeypatch.setattr("sys.stdin", None)
    assert options.stdin_is_tty() is False
    assert parse(options, options.COMMON_OPTIONS)["interactive"] is False


# -- seconds -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("given, expected", [("900", 900), (" 60 ", 60), ("2.5", 2.5), (30, 30)])
def test_seconds_are_a_number_whole_when_whole(options, given, expected):
    value = parse(options, {"wait_timeout": {"type": "seconds"}}, wait_timeout=given)
    assert value == {"wait_timeout": expected}
    assert type(value["wait_timeout"]) is type(expected)


@pytest.mark.parametrize("given", ["0", "-5", "abc", "nan", "inf", [1]])
def test_seconds_that_are_not_a_positive_number_name_the_option_and_the_fix(options, errors, given):
    with pytest.raises(errors.SixsenseInputError) as err:
        parse(options, {"poll_interval": {"type": "seconds"}}, poll_interval=given)
    assert str(err.value) == (
        f"Option poll_interval must be a positive number of seconds, got {given!r}. "
        "Pass e.g. -o poll_interval 900."
    )


def test_missing_seconds_take_the_documented_defaults(options):
    parsed = parse(options, options.COMMON_OPTIONS)
    assert (parsed["wait_timeout"], parsed["poll_interval"]) == (900, 10)


# -- list and text -------------------------------------------------------------------------------------


def test_a_list_drops_empty_entries_and_a_missing_one_is_a_fresh_copy_of_the_default(options):
    specs = {"names": {"type": "list", "default": ("a", "b")}}
    assert parse(options, specs, names="x, ,y,") == {"names": ["x", "y"]}
    first = parse(options, specs)["names"]
    assert first == ["a", "b"] and isinstance(first, list)
    first.append("changed")
    assert parse(options, specs, names=" ")["names"] == ["a", "b"]
    assert parse(options, {"names": {"type": "list"}}) == {"names": None}


def test_the_default_connected_app_names_are_the_vendors(options, tasks_module):
    vendor = tasks_module("vendor").VENDOR
    assert parse(options, options.COMMON_OPTIONS)["connected_app_names"] == list(
        vendor.connected_app_names
    )


def test_text_is_stripped_and_blank_text_is_missing(options):
    specs = {
        "setup_username": {"type": "text"},
        "package_version": {"type": "text", "default": "04t"},
    }
    assert parse(options, specs, setup_username="  admin@example.com ") == {
        "setup_username": "admin@example.com",
        "package_version": "04t",
    }
    assert parse(options, specs, setup_username="   ", package_version=" ") == {
        "setup_username": None,
        "package_version": "04t",
    }
    # a value that is not text (a YAML number) is passed on as given, not turned into text
    assert parse(options, specs, package_version=7)["package_version"] == 7


def test_an_entry_without_a_type_is_left_as_given(options):
    assert parse(options, {"free": {"description": "x"}}, free="  kept  ") == {"free": "  kept  "}


def test_a_checked_option_passes_its_name_and_parsed_value_to_the_check(options, errors):
    def check(name, value):
        if value == "bad":
            raise errors.SixsenseInputError(f"bad {name}")
        return value.upper()

    specs = {"thing": {"type": "text", "check": check}}
    assert parse(options, specs, thing=" ok ") == {"thing": "OK"}
    with pytest.raises(errors.SixsenseInputError, match="bad thing"):
        parse(options, specs, thing=" bad ")


@pytest.mark.parametrize("kind", ["bool", "seconds", "list", "text", "path"])
def test_a_return_value_reference_is_left_for_flowrunner(options, kind):
    """MetaDeploy and ``cci flow info`` build steps whose options still read ``^^step.value``."""
    assert options.is_deferred("^^sixsense_validate_inputs.plan") is True
    assert options.is_deferred("plan ^^x") is False
    assert options.is_deferred(None) is False
    parsed = parse(options, {"x": {"type": kind}}, x=" ^^sixsense_validate_inputs.x ")
    assert parsed == {"x": "^^sixsense_validate_inputs.x"}


# -- report paths --------------------------------------------------------------------------------------


def test_a_report_path_in_a_missing_directory_is_accepted_and_nothing_is_created(options, tmp_path):
    target = tmp_path / "new" / "deeper" / "report.json"
    assert parse(options, {"report_path": {"type": "path"}}, report_path=str(target)) == {
        "report_path": str(target)
    }
    assert not (tmp_path / "new").exists()


def test_a_relative_report_path_is_checked_from_the_working_directory(
    options, errors, tmp_path, monkeypatch
):
    (tmp_path / "reports").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(errors.SixsenseInputError) as err:
        parse(options, {"report_path": {"type": "path"}}, report_path="reports")
    assert str(err.value) == (
        "report_path reports is a directory; pass a file path, e.g. reports/report.json."
    )
    assert parse(options, {"report_path": {"type": "path"}}, report_path="reports/r.json") == {
        "report_path": "reports/r.json"
    }


def test_a_report_path_under_a_file_or_a_read_only_directory_cannot_be_written(
    options, errors, tmp_path
):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(errors.SixsenseInputError) as err:
        parse(options, {"report_path": {"type": "path"}}, report_path=f"{tmp_path}/afile/r.json")
    assert str(err.value) == (
        f"report_path {tmp_path}/afile/r.json cannot be written: {tmp_path}/afile is not a writable "
        "directory. Pass a path under a directory, e.g. -o report_path .sixsense/r.json."
    )
    if os.geteuid() != 0:  # root writes anywhere: the permission half needs an ordinary user
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(errors.SixsenseInputError, match="cannot be written"):
            parse(options, {"report_path": {"type": "path"}}, report_path=f"{locked}/r.json")


def test_a_relative_report_path_under_a_file_names_the_blocking_directory_in_full(
    options, errors, tmp_path, monkeypatch
):
    """The operator fixes the directory the message names: given in full, whatever the working directory."""
    (tmp_path / "afile").write_text("x")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(errors.SixsenseInputError) as err:
        parse(options, {"report_path": {"type": "path"}}, report_path="afile/r.json")
    assert f"cannot be written: {tmp_path}/afile is not a writable directory." in str(err.value)


def test_a_default_report_path_is_checked_too(options, errors, tmp_path):
    (tmp_path / "afile").write_text("x")
    specs = {"report_path": {"type": "path", "default": f"{tmp_path}/afile/r.json"}}
    with pytest.raises(errors.SixsenseInputError) as err:
        parse(options, specs)
    assert str(err.value).startswith(f"report_path {tmp_path}/afile/r.json cannot be written: ")
    fine = {"report_path": {"type": "path", "default": f"{tmp_path}/r.json"}}
    assert parse(options, fine) == {"report_path": f"{tmp_path}/r.json"}


def test_a_report_path_with_a_tilde_is_the_home_directorys(options, errors, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "out").mkdir()
    with pytest.raises(errors.SixsenseInputError, match="is a directory"):
        parse(options, {"report_path": {"type": "path"}}, report_path="~/out")


def test_bool_option_declares_a_bool_with_its_default(options):
    assert options.bool_option("Say yes.") == {
        "description": "Say yes.",
        "type": "bool",
        "default": False,
    }
    assert options.bool_option("Say yes.", default=True)["default"] is True


def test_the_api_names_check_names_the_option_and_each_invalid_name(options, errors):
    assert options.check_api_names("api_names", ["Good_Name", "Other1"]) == ["Good_Name", "Other1"]
    with pytest.raises(errors.SixsenseInputError) as raised:
        options.check_api_names("api_names", ["Good_Name", "1bad", "two__under"])
    assert str(raised.value) == (
        "api_names holds invalid permission set API name(s) 1bad, two__under: an API name begins with a "
        "letter and holds only letters, digits and single underscores (e.g. Sixsense_Setup_Access). "
        "Pass -o api_names Sixsense_Setup_Access."
    )


@pytest.mark.parametrize(
    "value, message",
    [
        (
            "a@example.com,b@example.com",
            "setup_username names more than one user (a@example.com,b@example.com); give exactly one "
            "username, e.g. -o setup_username name@example.com.",
        ),
        (
            "admin",
            "setup_username 'admin' is not a Salesforce username (they look like name@example.com); "
            "pass one, e.g. -o setup_username name@example.com.",
        ),
    ],
    ids=["two-users", "not-a-username"],
)
def test_the_username_check_names_the_option_and_the_fix(options, errors, value, message):
    assert options.check_username("setup_username", "admin@example.com") == "admin@example.com"
    with pytest.raises(errors.SixsenseInputError) as raised:
        options.check_username("setup_username", value)
    assert str(raised.value) == message


def test_a_seconds_option_without_a_minimum_takes_any_positive_number(options):
    assert parse(options, {"pause": {"type": "seconds"}}, pause="0.5") == {"pause": 0.5}


def test_a_seconds_option_under_its_minimum_without_a_reason_says_it_is_refused(options, errors):
    with pytest.raises(errors.SixsenseInputError) as raised:
        parse(options, {"pause": {"type": "seconds", "minimum": 5}}, pause="2")
    assert str(raised.value) == (
        "Option pause must be at least 5 seconds, got 2: a smaller value is refused. Pass e.g. -o pause 10."
    )
