"""`callcenter customers-import` and `customers-export`: customers in and out as CSV.

``add_commands(subparsers)`` adds the commands to the `callcenter` parser and
returns their handlers, ``{name: handler(settings, args) -> exit code}``.
The import exits 0 when it wrote the rows (or a dry run found nothing wrong),
1 when rows were refused and nothing was written, 2 when the file as a whole
cannot be imported (unreadable, wrong encoding, bad header) or the database
refused the rows.
"""
from __future__ import annotations

import csv
import sys
from typing import Callable

from tqdm import tqdm

from crm_core import csv_io

SHOWN_ERRORS = 20


def add_commands(subparsers) -> dict[str, Callable]:
    imp = subparsers.add_parser("customers-import", help="import customers from a CSV file")
    imp.add_argument("file", help="CSV file with a header row (see crm_core/csv_io.py)")
    imp.add_argument("--dry-run", action="store_true", help="check everything, write nothing")
    imp.add_argument("--skip-bad", action="store_true",
                     help="write the good rows even if some are refused")
    imp.add_argument("--allow-duplicates", action="store_true",
                     help="accept phones and e-mails another customer already has")
    imp.add_argument("--encoding", default="utf-8-sig",
                     help="the file's encoding, e.g. gb18030 or latin-1 (default: UTF-8)")
    imp.add_argument("--region", default="US",
                     help="country of numbers written without +country code (default: US)")
    imp.add_argument("--errors-csv", metavar="PATH", help="write every error to this CSV file")
    exp = subparsers.add_parser("customers-export", help="export all customers to a CSV file")
    exp.add_argument("file", help="CSV file to write (the import's columns)")
    exp.add_argument("--encoding", default="utf-8", help="default: UTF-8")
    return {"customers-import": import_command, "customers-export": export_command}


def import_command(settings, args) -> int:
    from .platform import open_database
    sessions = open_database(settings)
    with tqdm(desc="customers", unit=" rows", file=sys.stderr, disable=None) as bar:
        report = csv_io.import_customers(
            sessions, args.file, encoding=args.encoding, region=args.region,
            dry_run=args.dry_run, skip_bad=args.skip_bad,
            allow_duplicates=args.allow_duplicates, progress=bar)
    print(summary(args.file, report))
    for problem in report.file_errors:
        print(f"{args.file}: {problem}")
    for error in report.errors[:SHOWN_ERRORS]:
        print(f"row {error.row}, {error.column or 'row'}: {error.reason}")
    if len(report.errors) > SHOWN_ERRORS:
        more = len(report.errors) - SHOWN_ERRORS
        hint = "" if args.errors_csv else " (--errors-csv PATH lists them all)"
        print(f"... and {more} more error(s){hint}")
    if args.errors_csv:
        write_errors(args.errors_csv, report)
        print(f"errors written to {args.errors_csv}")
    return exit_code(report)


def summary(path: str, report: csv_io.ImportReport) -> str:
    if report.file_errors:
        return f"{path}: not imported, nothing was written"
    refused = f", {report.skipped} refused" if report.skipped else ""
    if report.dry_run:
        return (f"{path}: dry run, {report.rows} rows, {report.imported} would be imported"
                f"{refused}; nothing was written")
    if report.written:
        return f"{path}: {report.rows} rows, {report.imported} imported{refused}"
    if report.skipped:
        fix = "" if report.imported else " (--skip-bad writes the good ones)"
        return f"{path}: {report.rows} rows{refused}; nothing was written{fix}"
    return f"{path}: {report.rows} rows; nothing to import"


def exit_code(report: csv_io.ImportReport) -> int:
    if report.file_errors:
        return 2
    return 0 if report.written or not report.skipped else 1


def write_errors(path: str, report: csv_io.ImportReport) -> None:
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["row", "column", "reason"])
        writer.writerows(["", "", problem] for problem in report.file_errors)
        writer.writerows([e.row, e.column, e.reason] for e in report.errors)


def export_command(settings, args) -> int:
    from .platform import open_database
    sessions = open_database(settings)
    try:
        with sessions() as session:
            count = csv_io.export_customers(session, args.file, encoding=args.encoding)
    except UnicodeEncodeError as exc:
        print(f"{args.file}: a customer's data cannot be written in {args.encoding} "
              f"({exc.object[exc.start:exc.end]!r}); use UTF-8", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{args.file}: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"{args.file}: {count} customers exported")
    return 0
