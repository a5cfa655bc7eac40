"""`callcenter customers-import` / `customers-export` handlers on a SQLite file."""
import argparse
import csv

import pytest
from sqlalchemy import func, select

from callcenter import crm_cli
from callcenter.platform import open_database
from callcenter.settings import Database, Settings
from crm_core import db
from crm_core.models import Customer

HEADER = ["code", "name", "phones", "emails"]


@pytest.fixture
def settings(tmp_path):
    return Settings(data_dir=str(tmp_path / "var"),
                    database=Database(url=db.sqlite_url(tmp_path / "crm.db")))


@pytest.fixture
def run(settings, capsys):
    parser = argparse.ArgumentParser(prog="callcenter")
    handlers = crm_cli.add_commands(parser.add_subparsers(dest="command", required=True))

    def run(*argv):
        args = parser.parse_args([str(a) for a in argv])
        code = handlers[args.command](settings, args)
        captured = capsys.readouterr()
        return code, captured.out + captured.err
    return run


def write_csv(path, rows, encoding="utf-8"):
    with open(path, "w", encoding=encoding, newline="") as out:
        csv.writer(out).writerows([HEADER] + rows)
    return path


def customers(settings) -> int:
    with open_database(settings)() as session:
        return session.scalar(select(func.count()).select_from(Customer))


def test_the_commands_are_offered():
    parser = argparse.ArgumentParser()
    handlers = crm_cli.add_commands(parser.add_subparsers(dest="command"))
    assert set(handlers) == {"customers-import", "customers-export"}


def test_good_file_is_imported_exit_0(run, settings, tmp_path):
    path = write_csv(tmp_path / "in.csv", [["A1", "Ada", "+44 20 7946 0958", "ada@example.com"],
                                           ["A2", "陈静", "(212) 555-0100", ""]])
    code, out = run("customers-import", path)
    assert code == 0 and out.splitlines() == [f"{path}: 2 rows, 2 imported"]
    assert customers(settings) == 2


def test_refused_rows_exit_1_and_are_listed_then_skip_bad_writes_the_rest(run, settings, tmp_path):
    path = write_csv(tmp_path / "in.csv", [["A1", "Ada", "", ""], ["A2", "Bad", "12", ""],
                                           ["A3", "", "", "nope"]])
    code, out = run("customers-import", path)
    assert code == 1 and customers(settings) == 0
    assert out.splitlines() == [
        f"{path}: 3 rows, 2 refused; nothing was written (--skip-bad writes the good ones)",
        "row 3, phones: '12' has the wrong length for its country",
        "row 4, name: is required",
        "row 4, emails: 'nope' is not an e-mail address",
    ]
    code, out = run("customers-import", path, "--skip-bad")
    assert code == 0 and out.splitlines()[0] == f"{path}: 3 rows, 1 imported, 2 refused"
    assert customers(settings) == 1


def test_only_the_first_20_errors_are_printed_and_errors_csv_has_all(run, tmp_path):
    path = write_csv(tmp_path / "in.csv", [[f"B{i}", "", "", ""] for i in range(25)])
    report = tmp_path / "errors.csv"
    code, out = run("customers-import", path, "--errors-csv", report)
    lines = out.splitlines()
    assert code == 1 and len([line for line in lines if line.startswith("row ")]) == 20
    assert "... and 5 more error(s)" in out
    rows = list(csv.reader(open(report, encoding="utf-8")))
    assert rows[0] == ["row", "column", "reason"] and len(rows) == 26
    assert rows[1] == ["2", "name", "is required"]


def test_dry_run_exit_0_writes_nothing(run, settings, tmp_path):
    path = write_csv(tmp_path / "in.csv", [["A1", "Ada", "", ""]])
    code, out = run("customers-import", path, "--dry-run")
    assert code == 0 and "dry run, 1 rows, 1 would be imported; nothing was written" in out
    assert customers(settings) == 0


def test_file_errors_exit_2(run, settings, tmp_path):
    gb = write_csv(tmp_path / "gb.csv", [["G1", "李娜", "", ""]], encoding="gb18030")
    code, out = run("customers-import", gb)
    assert code == 2 and "line 2" in out and "--encoding" in out
    code, out = run("customers-import", gb, "--encoding", "gb18030", "--region", "CN")
    assert code == 0 and customers(settings) == 1
    code, out = run("customers-import", tmp_path / "missing.csv")
    assert code == 2 and "cannot read" in out
    code, out = run("customers-import", gb, "--region", "XX")
    assert code == 2 and "'XX' is not a region code" in out


def test_export_writes_the_file_and_counts(run, tmp_path):
    path = write_csv(tmp_path / "in.csv", [["A1", "Ada", "mobile:+44 7700 900123", "ada@example.com"]])
    run("customers-import", path)
    out_path = tmp_path / "out.csv"
    code, out = run("customers-export", out_path)
    assert code == 0 and out.strip() == f"{out_path}: 1 customers exported"
    row = next(csv.DictReader(open(out_path, encoding="utf-8")))
    assert (row["code"], row["name"], row["phones"]) == ("A1", "Ada", "mobile:+447700900123")


def test_export_in_an_encoding_that_cannot_hold_the_names_exit_2(run, tmp_path):
    run("customers-import", write_csv(tmp_path / "in.csv", [["C1", "陈静", "", ""]]))
    code, out = run("customers-export", tmp_path / "out.csv", "--encoding", "latin-1")
    assert code == 2 and "use UTF-8" in out
