"""Customer CSV import benchmark: how many rows per second `import_customers` takes in.

Generates a realistic customer file (1% companies, people linked to them,
names partly Chinese, 1-3 phones each in mixed national and international
formats, e-mails, tags, custom fields; every number and address unique) and
imports it with all checks on (validation, duplicates against the database
and the file, company codes) into:

  (a) a fresh SQLite file;
  (b) PostgreSQL at 127.0.0.1:5432, database `test`, in a throwaway schema,
      when it is reachable (otherwise reported as skipped).

Usage: .venv/bin/python bench/csv_import.py [--rows N] [--profile]
The last line is `csv_import: <int> rows/s` (SQLite).
"""
from __future__ import annotations

import argparse
import cProfile
import csv
import pstats
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select, text  # noqa: E402

from crm_core import db, migrate  # noqa: E402
from crm_core.csv_io import COLUMNS, import_customers  # noqa: E402
from crm_core.models import Customer, Phone  # noqa: E402

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
FIRST = ("Ada", "Alan", "Grace", "Linus", "Maria", "Jean", "Olu", "Priya", "Sven", "Lucía",
         "Chloé", "Mehmet", "Aiko", "Tomasz", "Fatima", "Noah")
LAST = ("Lovelace", "Turing", "Hopper", "Torvalds", "Curie", "Dupont", "Adeyemi", "Sharma",
        "Larsson", "García", "Müller", "Yılmaz", "Tanaka", "Kowalski", "Haddad", "O'Brien")
CHINESE = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄晓明", "周杰", "吴磊")
CITIES = (("US", "New York", "America/New_York", "en"), ("GB", "London", "Europe/London", "en"),
          ("DE", "Berlin", "Europe/Berlin", "de"), ("CN", "上海", "Asia/Shanghai", "zh"),
          ("FR", "Paris", "Europe/Paris", "fr"))
TAGS = ("vip", "b2b", "b2c", "newsletter", "churn-risk", "partner", "trial")
LABELS = ("", "", "mobile", "work", "home")


def phone(k: int, rng: random.Random) -> str:
    """A unique number for counter ``k`` in one of several written forms."""
    style = rng.randrange(7)
    if style == 0:
        return f"(212) 5{k // 10000:02d}-{k % 10000:04d}"
    if style == 1:
        return f"212.5{k // 10000:02d}.{k % 10000:04d}"
    if style == 2:
        return f"+1 646 5{k // 10000:02d} {k % 10000:04d}"
    if style == 3:
        return f"+44 20 7{k // 10000:03d} {k % 10000:04d}"
    if style == 4:
        return f"0044 161 4{k // 10000:02d} {k % 10000:04d}"
    if style == 5:
        return f"+86 138 {k // 10000:04d} {k % 10000:04d}"
    return f"+49 30 {k // 10000:04d}{k % 10000:04d}"


def generate(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    n_companies = max(rows // 100, 1)
    numbers = iter(range(rows * 3))
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(list(COLUMNS) + ["cf_source", "cf_loyalty"])
        for i in range(rows):
            company = i < n_companies
            country, city, zone, language = rng.choice(CITIES)
            if company:
                name = f"{rng.choice(LAST)} {rng.choice(('GmbH', 'Ltd', 'Inc', 'SA', '有限公司'))} {i}"
            elif rng.random() < 0.15:
                name = rng.choice(CHINESE)
            else:
                name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            phones = ";".join(
                (f"{label}:" if (label := rng.choice(LABELS)) else "") + phone(next(numbers), rng)
                for _ in range(rng.randint(1, 3)))
            email = f"c{i}.{rng.choice(FIRST).lower()}@example{i % 50}.com"
            writer.writerow([
                f"C{i:07d}", name, "company" if company else "person",
                "" if company or rng.random() < 0.5 else f"C{rng.randrange(n_companies):07d}",
                rng.choice(("standard", "gold", "platinum")), rng.choice(("retail", "smb", "")),
                language, zone, f"{rng.randint(1, 999)} Main Street", f"{rng.randint(10000, 99999)}",
                city, country, phones, email,
                ";".join(rng.sample(TAGS, rng.randint(0, 3))),
                rng.choice(("web", "fair", "referral")), str(rng.randint(0, 5000))])


def run_import(sessions, path: Path, rows: int, label: str, profile: cProfile.Profile | None) -> float:
    if profile:
        profile.enable()
    start = time.perf_counter()
    report = import_customers(sessions, path, region="US")
    elapsed = time.perf_counter() - start
    if profile:
        profile.disable()
    if not report.written or report.imported != rows:
        raise SystemExit(f"{label}: import failed: {report.file_errors or report.errors[:5]}")
    with sessions() as session:
        customers = session.scalar(select(func.count()).select_from(Customer))
        phones = session.scalar(select(func.count()).select_from(Phone))
    rate = rows / elapsed
    print(f"{label}: {rows} rows ({customers} customers, {phones} phones) in {elapsed:.2f} s: "
          f"{rate:,.0f} rows/s")
    return rate


def bench_sqlite(tmp: Path, path: Path, rows: int, profile) -> float:
    engine = db.make_engine(db.sqlite_url(tmp / "crm.db"))
    migrate.upgrade(engine)
    try:
        return run_import(db.session_factory(engine), path, rows, "(a) SQLite", profile)
    finally:
        engine.dispose()


def bench_postgresql(path: Path, rows: int) -> None:
    admin = db.make_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any failure to connect means: skip
        print(f"(b) PostgreSQL: skipped, not reachable at {PG_URL} ({type(exc).__name__})")
        admin.dispose()
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = db.make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        migrate.upgrade(engine)
        run_import(db.session_factory(engine), path, rows, "(b) PostgreSQL", None)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--profile", action="store_true", help="profile the SQLite import")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        path = tmp / "customers.csv"
        start = time.perf_counter()
        generate(path, args.rows)
        print(f"file: {args.rows} rows, {path.stat().st_size / 1e6:.1f} MB, "
              f"generated in {time.perf_counter() - start:.1f} s")
        profile = cProfile.Profile() if args.profile else None
        sqlite_rate = bench_sqlite(tmp, path, args.rows, profile)
        bench_postgresql(path, args.rows)
        if profile:
            pstats.Stats(profile).sort_stats("tottime").print_stats(20)
    print(f"csv_import: {int(sqlite_rate)} rows/s")


if __name__ == "__main__":
    main()
