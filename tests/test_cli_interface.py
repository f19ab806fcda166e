"""The command line's interface, run in process: errors, help, defaults, store, reports, logs."""

from __future__ import annotations

import json
import time

import pytest
from sweep_helpers import HTTP_ANSWER, not_a_scheduler

from jamming import cli


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch):
    """No tracebacks, and neither the store nor the scale chosen by the environment."""
    for name in ("JAMMING_DEBUG", "JAMMING_STORE", "JAMMING_SCALE"):
        monkeypatch.delenv(name, raising=False)


def error_line(capsys) -> str:
    """The one line on stderr (asserting there is exactly one)."""
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("args, ending", [
    (["frobnicate"], "invalid choice: 'frobnicate' (choose from "),
    ([], "the following arguments are required: COMMAND (see jamming --help)"),
    (["validate", "--scale", "huge"], "(see jamming validate --help)"),
    (["sweep"], "the following arguments are required: name (see jamming sweep --help)"),
    (["phic", "--scale", "paper"],
     "unrecognized arguments: --scale paper (see jamming phic --help)"),
])
def test_usage_errors_point_to_the_help(args, ending, capsys):
    assert cli.main(args) == 2
    line = error_line(capsys)
    assert line.startswith("jamming: error: ") and ending in line
    assert line.endswith(" --help)")


@pytest.mark.parametrize("command", [[], ["list"], ["validate"], ["figures"], ["paper"],
                                     ["sweep"], ["phic"]])
def test_help_is_plain_text(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main([*command, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: jamming") and "`" not in text


def test_every_command_defaults_to_the_same_scale(monkeypatch, capsys):
    seen = {}
    for name in ("sweep", "validate", "figures", "paper"):
        monkeypatch.setitem(cli.COMMANDS, name,
                            lambda args: seen.__setitem__(args.command, args.scale) or 0)
    commands = [["sweep", "cover-separability"], ["validate"], ["figures"], ["paper"]]
    for command in commands:
        assert cli.main(command) == 0
    assert seen == dict.fromkeys(("sweep", "validate", "figures", "paper"), "quick")
    monkeypatch.setenv("JAMMING_SCALE", "paper")
    for command in commands:
        assert cli.main(command) == 0
    assert set(seen.values()) == {"paper"}
    assert cli.main(["sweep", "cover-separability", "--scale", "full"]) == 0
    assert seen["sweep"] == "full"
    monkeypatch.setenv("JAMMING_SCALE", "huge")
    assert cli.main(["validate"]) == 2
    assert error_line(capsys) == ("jamming: error: $JAMMING_SCALE must be one of quick, paper, "
                                  "full; got 'huge'")


def test_list_refuses_a_missing_store_and_creates_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["list"]) == 2
    missing = tmp_path.resolve() / "results" / "jamming.sqlite"
    assert error_line(capsys) == (f"jamming: error: no results store at {missing} (run "
                                  "`jamming validate` or `jamming sweep` first, or pass --store)")
    assert list(tmp_path.iterdir()) == []


def test_list_names_the_store_by_its_absolute_path(store_copy, monkeypatch, capsys):
    monkeypatch.chdir(store_copy.parent.parent)
    assert cli.main(["--store", f"results/{store_copy.name}", "list"]) == 0
    assert f"store: {store_copy.resolve()}\n" in capsys.readouterr().out


def test_a_store_that_cannot_be_created_is_named_in_the_error(tmp_path, capsys):
    blocker = tmp_path.resolve() / "a-file"
    blocker.write_text("")
    assert cli.main(["--store", str(blocker / "s.sqlite"), "sweep", "cover-separability"]) == 2
    line = error_line(capsys)
    assert line.startswith(f"jamming: error: results store at {blocker / 's.sqlite'}: ")
    assert line.endswith(f"cannot create its folder: {blocker} is a file")


def test_a_report_dir_that_cannot_be_created_is_refused_before_any_claim(
        store_copy, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert cli.main(["--store", str(store_copy), "validate", "--report-dir", str(blocker),
                     "--only", "S1"]) == 2
    captured = capsys.readouterr()
    assert captured.err == (f"jamming: error: --report-dir {blocker}: cannot create the folder "
                            "(a file is in the way)\n")
    assert "claim S1" not in captured.err  # refused before checking anything


def test_validate_writes_its_reports_where_asked_and_says_what_they_cover(
        store_copy, paper_copy, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("JAMMING_PAPER_DIR", str(paper_copy))
    reports = tmp_path / "reports"
    assert cli.main(["--store", str(store_copy), "validate", "--only", "S1.cover-finite-size",
                     "--report-dir", str(reports)]) == 0
    assert sorted(p.name for p in reports.iterdir()) == ["report.json", "report.md"]
    assert not list(store_copy.parent.glob("report.*"))  # only where asked
    assert not (paper_copy / "generated").exists()  # validation never writes into the paper
    data = json.loads((reports / "report.json").read_text())
    assert data["scale"] == "quick" and data["selection"] == "--only S1.cover-finite-size"
    assert data["claims"] == ["S1.cover-finite-size"]
    assert [r["id"] for r in data["results"]] == ["S1.cover-finite-size"]
    markdown = (reports / "report.md").read_text()
    assert "- selection: --only S1.cover-finite-size" in markdown
    assert "- claims (1): `S1.cover-finite-size`" in markdown
    assert str(reports / "report.json") in capsys.readouterr().out


def test_validate_off_a_terminal_logs_each_sweep_and_claim(store_copy, paper_copy, monkeypatch,
                                                           capsys):
    monkeypatch.setenv("JAMMING_PAPER_DIR", str(paper_copy))
    assert cli.main(["--store", str(store_copy), "validate", "--only", "S1.cover*"]) == 0
    log = capsys.readouterr().err.splitlines()  # captured stderr is not a terminal
    assert any(line.startswith("sweep cover-separability quick: 24 points (24 cached, "
                               "0 computed, 0 failed) ") for line in log), log
    assert any(line.startswith("claim S1.cover-finite-size: pass (") for line in log), log


def test_a_port_that_is_not_a_scheduler_is_one_line_and_exit_2(store_copy, paper_copy,
                                                               monkeypatch, capsys):
    monkeypatch.setenv("JAMMING_PAPER_DIR", str(paper_copy))
    with not_a_scheduler(HTTP_ANSWER) as address:
        start = time.monotonic()
        status = cli.main(["--store", str(store_copy), "validate", "--only",
                           "S1.cover-finite-size", "--scheduler", address])
        assert time.monotonic() - start < 10
    assert status == 2
    assert error_line(capsys) == (f"jamming: error: no Dask scheduler at {address}: the answer "
                                  "is not a Dask message")
