"""Synthetic CRM data for the benchmarks: a million customers in a minute or two.

The data set is a pure function of (customers, phones, seed), so a benchmark can
draw numbers that exist (and know how many customers share them) or that do
not, without reading the database back.

Layout:
  * customers: every 50th id (1, 51, 101 ...) is a company; a person belongs to
    the company of its block of 50 when its id hashes that way (the first two
    persons of a block always do). Country follows the customer's first number.
  * phones: ``phones - shared rows`` unique numbers, number g going to customer
    ``g % customers + 1`` (so each customer gets one before anyone gets two);
    then one office line per company, shared by the company and one or two of
    its persons (2-3 customers: "many" matches). Numbers are E.164, 70% +1
    (NANP), 10% each +44 (mobile), +49 (mobile) and +86 (mobile), spread by an
    affine bijection so they look random yet never collide; numbers past the
    used range are guaranteed unknown.

Loading: PostgreSQL through psycopg COPY, SQLite through executemany of plain
tuples in one transaction with ``PRAGMA synchronous=OFF``. The secondary
indexes of the loaded tables (and, on PostgreSQL, their foreign keys) are
dropped before and rebuilt after the load, from their definitions read from the
catalog, so the schema afterwards is exactly what Alembic made. PostgreSQL is
ANALYZEd after a load as autovacuum would; SQLite is not (the platform never
runs ANALYZE there).

Caching: SQLite files live in ~/.cache/callcenter/bench/, named by size, seed,
schema revision and generator version, built under a temporary name and
renamed when complete. PostgreSQL: the schema ``bench_crm`` is reused when its
COMMENT carries the same key (written only after a complete load, so a
half-done load is never reused); otherwise it is dropped and rebuilt. The
background history and the card customer of customer_card.py are added to
the same database or schema when missing, and kept.
"""
from __future__ import annotations

import os
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, func, insert, select, text  # noqa: E402

from crm_core import db, migrate  # noqa: E402
from crm_core.models import (Callback, Customer, CustomerTag, Disposition, DoNotCall,  # noqa: E402
                             Email, Interaction, Phone, Ticket, User)

GEN_VERSION = 1  # bump when the generated data changes: invalidates caches
PG_URL = os.environ.get("CALLCENTER_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_SCHEMA = "bench_crm"
CACHE_DIR = Path.home() / ".cache" / "callcenter" / "bench"

COMPANY_BLOCK = 50
BATCH = 50_000
T_START = datetime(2021, 1, 1, tzinfo=timezone.utc)
T_END = datetime(2025, 11, 1, tzinfo=timezone.utc)

# -- numbers -------------------------------------------------------------------

_PATTERN = ("US",) * 7 + ("GB", "DE", "CN")  # country of global number g by g % 10
_PER10 = {c: _PATTERN.count(c) for c in set(_PATTERN)}
_RANK = tuple(_PATTERN[:r].count(_PATTERN[r]) for r in range(10))
_SPACE = {"US": 800 * 800 * 10_000,  # NPA 200-999, NXX 200-999, line 0000-9999
          "GB": 9 * 10**8,           # +44 7[1-9]xx xxxxxx
          "DE": 30 * 10**8,          # +49 1[5-7]x xxxxxxxx
          "CN": 70 * 10**8}          # +86 1[3-9]x xxxx xxxx
_MULT = 2_654_435_761  # prime, coprime with every space above: a*m+b mod space is a bijection
CC = {"US": "1", "GB": "44", "DE": "49", "CN": "86"}

FIRST = ("Ada Alan Anna Ben Carla Chen David Elena Emma Fatima Felix Grace Hannah Hiro Ivan "
         "Jack Jana Jonas Julia Karl Lara Lei Lena Liam Lucas Maria Mark Mia Noah Olga Omar "
         "Paul Priya Rosa Sam Sara Sofia Tom Wei Yuki Zoe").split()
LAST = ("Adams Bauer Brown Clark Davis Evans Fischer Garcia Green Hall Hoffmann Huang Jones "
        "Khan Kim King Lee Lewis Li Liu Lopez Martin Meyer Miller Moore Muller Nguyen Patel "
        "Roberts Schmidt Schulz Scott Smith Taylor Wagner Wang Weber White Wilson Wright Young "
        "Zhang Zhou").split()
CITY = {"US": ("New York", "Chicago", "Austin", "Denver", "Boston"),
        "GB": ("London", "Leeds", "Bristol"), "DE": ("Berlin", "Hamburg", "Munich"),
        "CN": ("Beijing", "Shanghai", "Shenzhen")}
LANG = {"US": "en", "GB": "en", "DE": "de", "CN": "zh"}
TZ = {"US": "America/New_York", "GB": "Europe/London", "DE": "Europe/Berlin",
      "CN": "Asia/Shanghai"}


def _h(x: int) -> int:
    return (x * _MULT) >> 7


@dataclass
class Dataset:
    """Which customers and numbers exist, computed, never read back."""
    customers: int
    phones: int
    seed: int = 1
    offsets: dict = field(init=False)
    shared: list = field(init=False)  # shared[s] = customer ids holding office line s
    unique: int = field(init=False)  # numbers g < unique belong to one customer

    def __post_init__(self) -> None:
        rng = random.Random(f"crm-bench-{self.seed}")
        self.offsets = {c: rng.randrange(space) for c, space in _SPACE.items()}
        self.shared = []
        for company in range(1, self.customers + 1, COMPANY_BLOCK):
            members = [company, company + 1] + ([company + 2] if (company // COMPANY_BLOCK) % 2 else [])
            members = [m for m in members if m <= self.customers]
            if len(members) >= 2:
                self.shared.append(members)
        shared_rows = sum(map(len, self.shared))
        self.unique = self.phones - shared_rows
        if self.unique < 0:
            raise ValueError(f"{self.phones} phones cannot hold the {shared_rows} office-line rows "
                             f"of {self.customers} customers")

    @property
    def numbers(self) -> int:
        """Distinct numbers stored: g in [0, numbers) exists."""
        return self.unique + len(self.shared)

    @property
    def key(self) -> str:
        return f"c{self.customers}_p{self.phones}_s{self.seed}_r{schema_revision()}_g{GEN_VERSION}"

    # numbers
    def country(self, g: int) -> str:
        return _PATTERN[g % 10]

    def e164(self, g: int) -> str:
        q, r = divmod(g, 10)
        c = _PATTERN[r]
        x = (_MULT * (q * _PER10[c] + _RANK[r]) + self.offsets[c]) % _SPACE[c]
        if c == "US":
            npa, rest = divmod(x, 8_000_000)
            nxx, line = divmod(rest, 10_000)
            return f"+1{npa + 200}{nxx + 200}{line:04d}"
        head, tail = divmod(x, 10**8)
        if c == "GB":
            return f"+447{head + 1}{tail:08d}"
        if c == "DE":
            return f"+49{head + 150}{tail:08d}"
        return f"+86{head + 130}{tail:08d}"

    def holders(self, g: int) -> int:
        """How many customers hold number g (0 for an unknown number)."""
        if g < self.unique:
            return 1
        if g < self.numbers:
            return len(self.shared[g - self.unique])
        return 0

    # customers
    def company_of(self, cid: int) -> int | None:
        off = (cid - 1) % COMPANY_BLOCK
        if off == 0:
            return None
        if off <= 2 or _h(cid) & 1:
            return cid - off
        return None


def raw_form(e164: str) -> str:
    """How a number is typically written (the phones.raw column)."""
    if e164.startswith("+1"):
        return f"({e164[2:5]}) {e164[5:8]}-{e164[8:]}"
    return f"{e164[:3]} {e164[3:7]} {e164[7:]}"


def input_variants(e164: str) -> list[str]:
    """Ways a caller ID or an agent may write the number (all must normalise back)."""
    if e164.startswith("+1"):
        a, b, c = e164[2:5], e164[5:8], e164[8:]
        return [f"+1 {a} {b} {c}", f"({a}) {b}-{c}", f"{a}.{b}.{c}", f"1-{a}-{b}-{c}",
                e164, f"{a}{b}{c}", f"001 {a} {b} {c}", f"+1 ({a}) {b}-{c}"]
    cc, nsn = e164[1:3], e164[3:]
    return [f"+{cc} {nsn[:4]} {nsn[4:]}", f"00{cc} {nsn}", f"011 {cc} {nsn[:3]} {nsn[3:]}",
            e164, f"+{cc}-{nsn[:3]}-{nsn[3:]}", f"00{cc}{nsn}"]


# -- schema revision, engines, cache ---------------------------------------------

_REVISION: str | None = None


def schema_revision() -> str:
    global _REVISION
    if _REVISION is None:
        from alembic.config import Config
        from alembic.script import ScriptDirectory
        cfg = Config()
        cfg.set_main_option("script_location", str(migrate.MIGRATIONS))
        _REVISION = ScriptDirectory.from_config(cfg).get_current_head()
    return _REVISION


def pg_reachable(url: str = PG_URL) -> str | None:
    """None if PostgreSQL answers, else why not."""
    try:
        engine = db.make_engine(url, connect_args={"connect_timeout": 5})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "measure SQLite only"
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0]}"


def sqlite_engine(ds: Dataset, *, rebuild: bool = False, log=print) -> Engine:
    """The cached SQLite database of this data set, built if missing."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    path = CACHE_DIR / f"crm_{ds.key}.db"
    if path.exists() and not rebuild:
        log(f"sqlite: reusing cached database {path} ({path.stat().st_size / 2**20:.0f} MiB)")
        return db.make_engine(db.sqlite_url(path))
    for stale in CACHE_DIR.glob(f"{path.stem}.building-*"):  # left by an interrupted build
        pid = stale.name.split("building-")[1].split("-")[0]
        if not (pid.isdigit() and Path(f"/proc/{pid}").exists()):
            stale.unlink(missing_ok=True)
    tmp = path.with_suffix(f".building-{os.getpid()}")
    engine = db.make_engine(db.sqlite_url(tmp))
    migrate.upgrade(engine)
    log(f"sqlite: building {path.name} (not cached yet)")
    populate(engine, ds.customers, ds.phones, ds.seed, log=log)
    engine.dispose()  # last connection closed: WAL checkpointed and removed
    os.replace(tmp, path)
    return db.make_engine(db.sqlite_url(path))


def pg_engine(ds: Dataset, *, rebuild: bool = False, log=print) -> Engine:
    """An engine on schema bench_crm holding this data set (rebuilt unless its key matches)."""
    admin = db.make_engine(PG_URL)
    with admin.connect() as conn:
        comment = conn.execute(text(
            "select obj_description(oid, 'pg_namespace') from pg_namespace where nspname = :s"),
            {"s": PG_SCHEMA}).scalar()
    engine = db.make_engine(PG_URL, connect_args={"options": f"-csearch_path={PG_SCHEMA}"})
    if comment == ds.key and not rebuild:
        log(f"postgresql: reusing schema {PG_SCHEMA} (key {ds.key})")
        admin.dispose()
        return engine
    log(f"postgresql: (re)creating schema {PG_SCHEMA} (had key {comment!r}, want {ds.key})")
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {PG_SCHEMA}"))
    admin.dispose()
    migrate.upgrade(engine)
    populate(engine, ds.customers, ds.phones, ds.seed, log=log)
    with engine.begin() as conn:
        conn.execute(text(f"COMMENT ON SCHEMA {PG_SCHEMA} IS '{ds.key}'"))
    return engine


def open_engine(backend: str, ds: Dataset, **kw) -> Engine:
    return sqlite_engine(ds, **kw) if backend == "sqlite" else pg_engine(ds, **kw)


def index_on(engine: Engine, table: str, column: str) -> str | None:
    """The name of an index whose first column is ``column``, read from the catalog."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            for name, in conn.exec_driver_sql(
                    "select name from sqlite_master where type='index' and tbl_name=?", (table,)):
                cols = [r[2] for r in conn.exec_driver_sql(f"pragma index_info('{name}')")]
                if cols[:1] == [column]:
                    return name
            return None
        row = conn.execute(text(
            "select i.relname from pg_index x join pg_class i on i.oid = x.indexrelid "
            "join pg_class t on t.oid = x.indrelid join pg_attribute a "
            "on a.attrelid = t.oid and a.attnum = x.indkey[0] "
            "where t.relname = :t and t.relnamespace = current_schema()::regnamespace "
            "and a.attname = :c"), {"t": table, "c": column}).first()
        return row[0] if row else None


# -- row generators ------------------------------------------------------------------

def _ts(dt: datetime) -> str:
    """SQLAlchemy's SQLite form of a UTC time ('2021-01-01 00:00:00.000000'); PG adds +00."""
    return dt.replace(tzinfo=None).isoformat(" ", "microseconds")


CUSTOMER_COLS = ("id", "kind", "code", "name", "company_id", "level", "segment", "owner_id",
                 "language", "timezone", "address", "postcode", "city", "country",
                 "custom_fields", "created_at", "updated_at", "version")
PHONE_COLS = ("id", "customer_id", "e164", "label", "raw")


def customer_rows(ds: Dataset, start: int, stop: int):
    """Tuples for customer ids in [start, stop)."""
    span = (T_END - T_START).total_seconds()
    step = span / max(ds.customers, 1)
    nf, nl = len(FIRST), len(LAST)
    rows = []
    for cid in range(start, stop):
        country = _PATTERN[(cid - 1) % 10]
        h = _h(cid)
        created = _ts(T_START + timedelta(seconds=int(cid * step)))
        if (cid - 1) % COMPANY_BLOCK == 0:
            suffix = ("Ltd", "GmbH", "Inc", "Co")[h % 4]
            kind, name = "company", f"{LAST[h % nl]} & {LAST[(h >> 8) % nl]} {suffix}"
            company = None
        else:
            kind, name = "person", f"{FIRST[h % nf]} {LAST[(h >> 8) % nl]}"
            company = ds.company_of(cid)
        level = "gold" if h % 17 == 0 else ("platinum" if h % 101 == 0 else "standard")
        rows.append((cid, kind, f"C{cid:08d}", name, company, level, "", None,
                     LANG[country], TZ[country], f"{h % 999 + 1} Main Street",
                     f"{h % 90000 + 10000}", CITY[country][h % len(CITY[country])],
                     country, "{}" if h % 7 else '{"vip": true}', created, created, 1))
    return rows


def phone_rows(ds: Dataset, start: int, stop: int):
    """Tuples for phone row ids in [start, stop) (1-based)."""
    rows = []
    n = ds.customers
    labels = ("mobile", "home", "work")
    e164 = ds.e164
    for pid in range(start, min(stop, ds.unique + 1)):
        g = pid - 1
        num = e164(g)
        rows.append((pid, g % n + 1, num, labels[min(g // n, 2)], raw_form(num)))
    pid = max(start, ds.unique + 1)
    if pid < stop:  # office lines: find the shared number holding row pid
        s, k, row = 0, 0, ds.unique + 1
        while row + len(ds.shared[s]) <= pid:
            row += len(ds.shared[s])
            s += 1
        k = pid - row
        while pid < stop and s < len(ds.shared):
            members = ds.shared[s]
            num = e164(ds.unique + s)
            rows.append((pid, members[k], num, "work", raw_form(num)))
            pid += 1
            k += 1
            if k == len(members):
                s, k = s + 1, 0
    return rows


# -- loading ------------------------------------------------------------------------

def _pg_copy(cur, table: str, cols, chunks) -> None:
    """COPY in PostgreSQL's text format (the generated values hold no tab, newline or
    backslash); timestamps (columns *_at) get their +00."""
    utc = [i for i, c in enumerate(cols) if c.endswith("_at")]
    with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
        for rows in chunks:
            out = []
            for r in rows:
                if utc:
                    r = list(r)
                    for i in utc:
                        if r[i] is not None:
                            r[i] += "+00"
                out.append("\t".join("\\N" if v is None else str(v) for v in r))
            out.append("")
            copy.write("\n".join(out).encode())


def _chunks(gen, total: int, batch: int = BATCH):
    for start in range(1, total + 1, batch):
        yield gen(start, min(start + batch, total + 1))


def _pg_secondary(cur, tables) -> tuple[list[str], list[str]]:
    """Drop the plain indexes and FKs of ``tables``; return the statements that restore them."""
    cur.execute("""select i.relname, pg_get_indexdef(x.indexrelid) from pg_index x
                   join pg_class i on i.oid = x.indexrelid join pg_class t on t.oid = x.indrelid
                   where t.relnamespace = current_schema()::regnamespace and t.relname = any(%s)
                   and not exists (select 1 from pg_constraint c where c.conindid = x.indexrelid)""",
                (list(tables),))
    indexes = cur.fetchall()
    cur.execute("""select c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
                   from pg_constraint c join pg_class t on t.oid = c.conrelid
                   where c.contype = 'f' and t.relnamespace = current_schema()::regnamespace
                   and t.relname = any(%s)""", (list(tables),))
    fks = cur.fetchall()
    for tbl, name, _ in fks:
        cur.execute(f'ALTER TABLE {tbl} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        cur.execute(f'DROP INDEX "{name}"')
    return ([d for _, d in indexes],
            [f'ALTER TABLE {tbl} ADD CONSTRAINT "{name}" {d}' for tbl, name, d in fks])


def _sqlite_secondary(cur, tables) -> list[str]:
    marks = ",".join("?" * len(tables))
    rows = cur.execute(f"select name, sql from sqlite_master where type='index' and sql is not null "
                       f"and tbl_name in ({marks})", tuple(tables)).fetchall()
    for name, _ in rows:
        cur.execute(f'DROP INDEX "{name}"')
    return [sql for _, sql in rows]


def _bulk_load(engine: Engine, tables: list[tuple[str, tuple, object, int]], log,
               what: str, drop_indexes: bool = True) -> float:
    """Load (table, cols, row_gen(start, stop), count) lists; returns seconds."""
    t0 = time.perf_counter()
    raw = engine.raw_connection()
    try:
        dbapi = raw.driver_connection
        names = [t[0] for t in tables]
        if engine.dialect.name == "postgresql":
            with dbapi.cursor() as cur:
                cur.execute("SET maintenance_work_mem = '1GB'")
                cur.execute("SET max_parallel_maintenance_workers = 2")
                cur.execute("SET synchronous_commit = off")
                idx, fks = _pg_secondary(cur, names) if drop_indexes else ([], [])
                for table, cols, gen, count in tables:
                    t1 = time.perf_counter()
                    _pg_copy(cur, table, cols, _chunks(gen, count))
                    log(f"  {table}: {count:,} rows copied in {time.perf_counter() - t1:.1f} s")
                t1 = time.perf_counter()
                for stmt in idx + fks:
                    cur.execute(stmt)
                for table, cols, _, _ in tables:
                    if "id" not in cols:
                        continue
                    cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)")
                log(f"  {len(idx)} indexes and {len(fks)} foreign keys rebuilt in "
                    f"{time.perf_counter() - t1:.1f} s")
            dbapi.commit()
            t1 = time.perf_counter()
            dbapi.autocommit = True
            with dbapi.cursor() as cur:
                for table in names:
                    cur.execute(f"VACUUM ANALYZE {table}")
            dbapi.autocommit = False
            log(f"  VACUUM ANALYZE in {time.perf_counter() - t1:.1f} s")
        else:
            cur = dbapi.cursor()
            cur.execute("PRAGMA synchronous=OFF")
            cur.execute("PRAGMA cache_size=-1000000")  # 1 GB while loading
            cur.execute("PRAGMA temp_store=MEMORY")
            cur.execute("BEGIN")
            idx = _sqlite_secondary(cur, names) if drop_indexes else []
            for table, cols, gen, count in tables:
                t1 = time.perf_counter()
                sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
                for rows in _chunks(gen, count):
                    cur.executemany(sql, rows)
                log(f"  {table}: {count:,} rows inserted in {time.perf_counter() - t1:.1f} s")
            t1 = time.perf_counter()
            for stmt in idx:
                cur.execute(stmt)
            log(f"  {len(idx)} indexes rebuilt in {time.perf_counter() - t1:.1f} s")
            cur.execute("COMMIT")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA cache_size=-2000")
            cur.close()
    finally:
        raw.close()
    secs = time.perf_counter() - t0
    log(f"{engine.dialect.name}: {what} loaded in {secs:.1f} s")
    return secs


def populate(engine: Engine, customers: int = 1_000_000, phones: int = 2_000_000, seed: int = 1,
             *, log=print, drop_indexes: bool = True) -> Dataset:
    """Fill customers and phones (empty tables, schema made by migrate.upgrade)."""
    ds = Dataset(customers, phones, seed)
    _bulk_load(engine, [
        ("customers", CUSTOMER_COLS, lambda a, b: customer_rows(ds, a, b), customers),
        ("phones", PHONE_COLS, lambda a, b: phone_rows(ds, a, b), phones),
    ], log, f"{customers:,} customers and {phones:,} phones", drop_indexes)
    return ds


# -- the timeline around everyone (so the card's queries run against big tables) ----------

AGENTS = 20
DISPOSITIONS = [("answered", "Answered", True, False, False, False, True),
                ("sale", "Sale", True, True, False, False, True),
                ("callback", "Call back", True, False, True, False, False),
                ("no_answer", "No answer", False, False, True, False, False),
                ("dnc", "Do not call", True, False, False, True, True)]
INTERACTION_COLS = ("id", "channel", "direction", "linkedid", "customer_id", "agent_id",
                    "caller_number", "caller_name", "dialled_number", "keys_pressed",
                    "started_at", "answered_at", "ended_at", "hangup_cause",
                    "hangup_cause_text", "status", "disposition_code", "subject", "notes")
TICKET_COLS = ("id", "customer_id", "subject", "description", "status", "priority", "category",
               "sla_due_at", "assignee_id", "escalation_level", "escalated_at", "created_at",
               "updated_at", "closed_at", "version")
CALLBACK_COLS = ("id", "customer_id", "phone_e164", "due_at", "timezone", "agent_id", "queue",
                 "state", "note", "interaction_id", "attempts", "created_at")
DNC_COLS = ("e164", "reason", "added_by", "added_at")
CHANNEL_MIX = ("call",) * 14 + ("voicemail", "email", "note", "web", "fax", "visit")


def history_sizes(customers: int) -> dict:
    return {"interactions": customers, "tickets": customers // 10,
            "callbacks": customers // 20, "dnc": customers // 50}


def _ensure_agents(engine: Engine) -> list[int]:
    with engine.begin() as conn:
        have = conn.execute(select(func.count()).select_from(Disposition)).scalar()
        if not have:
            conn.execute(insert(Disposition), [dict(zip(
                ("code", "label", "contact_made", "sale", "callback", "do_not_call", "final"), d))
                for d in DISPOSITIONS])
        ids = list(conn.scalars(select(User.id).where(User.username.like("bench-agent-%"))
                                .order_by(User.id)))
        if not ids:
            conn.execute(insert(User), [
                {"username": f"bench-agent-{i:02d}", "display_name": f"Agent {i}",
                 "password_hash": "scrypt:bench:not-a-real-hash", "role": "agent"}
                for i in range(1, AGENTS + 1)])
            ids = list(conn.scalars(select(User.id).where(User.username.like("bench-agent-%"))
                                    .order_by(User.id)))
    return ids


def history_present(engine: Engine, customers: int) -> bool:
    n = history_sizes(customers)["interactions"]
    with engine.connect() as conn:
        return conn.execute(select(Interaction.id).where(
            Interaction.linkedid == f"bg.{n - 1}")).first() is not None


def populate_history(engine: Engine, customers: int = 1_000_000, seed: int = 1, *,
                     log=print) -> dict:
    """Background history: ~1 interaction per customer over 5 years, tickets, callbacks, DNC
    entries, so the card's queries meet realistically large tables. Idempotent."""
    sizes = history_sizes(customers)
    if history_present(engine, customers):
        log(f"{engine.dialect.name}: background history already present ({sizes})")
        return sizes
    agents = _ensure_agents(engine)
    with engine.connect() as conn:  # empty tables expected: ids start after what is there
        base = {t: conn.execute(text(f"select coalesce(max(id), 0) from {t}")).scalar()
                for t in ("interactions", "tickets", "callbacks")}
    span = (T_END - T_START).total_seconds()
    n_int = sizes["interactions"]

    def interactions(a, b):
        rows = []
        for i in range(a, b):
            h = _h(i + 7 * seed)
            cid = h % customers + 1
            t = T_START + timedelta(seconds=span * (i - 1) / n_int)
            channel = CHANNEL_MIX[h % len(CHANNEL_MIX)]
            answered = h % 5 != 0
            number = f"+1{200 + h % 800}{200 + (h >> 10) % 800}{(h >> 20) % 10000:04d}"
            rows.append((base["interactions"] + i, channel, ("inbound", "outbound")[h & 1],
                         f"bg.{i - 1}", cid, agents[h % len(agents)] if answered else None,
                         number, "", "8005550100", "1" if h % 3 == 0 else "", _ts(t),
                         _ts(t + timedelta(seconds=8)) if answered else None,
                         _ts(t + timedelta(seconds=20 + h % 600)), 16, "Normal Clearing",
                         "completed", DISPOSITIONS[h % len(DISPOSITIONS)][0] if answered else None,
                         f"{channel} {i}", ""))
        return rows

    def tickets(a, b):
        rows = []
        statuses = ("new", "open", "pending", "resolved", "closed", "closed", "closed")
        for i in range(a, b):
            h = _h(i * 3 + seed)
            t = T_START + timedelta(seconds=span * (i - 1) / sizes["tickets"])
            st = statuses[h % len(statuses)]
            rows.append((base["tickets"] + i, h % customers + 1, f"Ticket {i}", "", st,
                         ("low", "normal", "high", "urgent")[h % 4], "billing",
                         _ts(t + timedelta(days=2)), agents[h % len(agents)], 0, None,
                         _ts(t), _ts(t), _ts(t + timedelta(days=1)) if st == "closed" else None, 1))
        return rows

    def callbacks(a, b):
        rows = []
        for i in range(a, b):
            h = _h(i * 5 + seed)
            t = T_START + timedelta(seconds=span * (i - 1) / sizes["callbacks"])
            rows.append((base["callbacks"] + i, h % customers + 1,
                         f"+1{200 + h % 800}{200 + (h >> 10) % 800}{(h >> 20) % 10000:04d}",
                         _ts(t + timedelta(days=1)), "UTC", agents[h % len(agents)], "sales",
                         ("pending", "done", "done", "cancelled")[h % 4], "", None, h % 3, _ts(t)))
        return rows

    def dnc(a, b):  # distinct numbers: NPA-NXX from i, line from the hash
        rows = []
        for i in range(a, b):
            h = _h(i * 11 + seed)
            rows.append((f"+1{200 + i % 800}{200 + (i // 800) % 800}{h % 10000:04d}", "asked",
                         None, _ts(T_START + timedelta(hours=i))))
        return rows
    _bulk_load(engine, [
        ("interactions", INTERACTION_COLS, interactions, n_int),
        ("tickets", TICKET_COLS, tickets, sizes["tickets"]),
        ("callbacks", CALLBACK_COLS, callbacks, sizes["callbacks"]),
        ("do_not_call", DNC_COLS, dnc, sizes["dnc"]),
    ], log, f"background history {sizes}")
    return sizes


# -- the card customer ---------------------------------------------------------------------

def card_code(interactions: int, tickets: int, callbacks: int) -> str:
    return f"BENCH-CARD-{interactions}-{tickets}-{callbacks}"


def populate_card_customer(engine: Engine, interactions: int = 1000, tickets: int = 10,
                           callbacks: int = 5, *, log=print) -> int:
    """One customer with a long history; returns its id (reused if already there).

    A person in company 1 (whose other contacts exist in the big data set), with two
    numbers (one on the do-not-call list), an e-mail, two tags, ``interactions``
    interactions over three years (newest yesterday), ``tickets`` tickets of which
    40% open, ``callbacks`` callbacks of which 60% pending.
    """
    code = card_code(interactions, tickets, callbacks)
    with engine.connect() as conn:
        cid = conn.scalar(select(Customer.id).where(Customer.code == code))
        company = conn.scalar(select(Customer.id).where(Customer.kind == "company")
                              .order_by(Customer.id).limit(1))
    if cid is not None:
        log(f"{engine.dialect.name}: card customer {code} already present (id {cid})")
        return cid
    t0 = time.perf_counter()
    agents = _ensure_agents(engine)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    mobile, office = "+12025550143", "+12025550199"  # 555-01xx: fictional, outside the generator's use
    with engine.begin() as conn:
        cid = conn.execute(insert(Customer).values(
            kind="person", code=code, name="Card Benchmark", company_id=company, level="gold",
            segment="enterprise", language="en", timezone="America/New_York",
            address="1 Bench Street", postcode="20500", city="Washington", country="US",
            custom_fields={"vip": True}, created_at=now - timedelta(days=3 * 365),
            updated_at=now, version=1).returning(Customer.id)).scalar_one()
        conn.execute(insert(Phone), [
            {"customer_id": cid, "e164": mobile, "label": "mobile", "raw": raw_form(mobile)},
            {"customer_id": cid, "e164": office, "label": "work", "raw": raw_form(office)}])
        conn.execute(insert(Email).values(customer_id=cid, address="card@bench.example",
                                          label="work"))
        conn.execute(insert(CustomerTag), [{"customer_id": cid, "tag": "vip"},
                                           {"customer_id": cid, "tag": "bench"}])
        if conn.scalar(select(DoNotCall.e164).where(DoNotCall.e164 == office)) is None:
            conn.execute(insert(DoNotCall).values(e164=office, reason="asked at work",
                                                  added_by=agents[0], added_at=now))
        span = timedelta(days=3 * 365).total_seconds()
        rows = []
        for i in range(interactions):
            started = now - timedelta(days=1) - timedelta(
                seconds=span * (interactions - 1 - i) / max(interactions - 1, 1))
            channel = CHANNEL_MIX[i % len(CHANNEL_MIX)]
            rows.append({"channel": channel, "direction": ("inbound", "outbound")[i % 2],
                         "linkedid": f"card.{code}.{i}", "customer_id": cid,
                         "agent_id": agents[i % len(agents)], "caller_number": mobile,
                         "caller_name": "Card Benchmark", "dialled_number": "8005550100",
                         "keys_pressed": "1", "started_at": started,
                         "answered_at": started + timedelta(seconds=5),
                         "ended_at": started + timedelta(seconds=95), "hangup_cause": 16,
                         "hangup_cause_text": "Normal Clearing", "status": "completed",
                         "disposition_code": DISPOSITIONS[i % len(DISPOSITIONS)][0],
                         "subject": f"{channel} #{i}", "notes": "Customer asked about billing."})
        conn.execute(insert(Interaction), rows)
        statuses = ("new", "open", "pending", "open", "resolved", "closed", "closed", "closed",
                    "closed", "resolved")
        conn.execute(insert(Ticket), [
            {"customer_id": cid, "subject": f"Card ticket {i}", "description": "details",
             "status": statuses[i % len(statuses)], "priority": "normal", "category": "billing",
             "sla_due_at": now + timedelta(days=i), "assignee_id": agents[i % len(agents)],
             "escalation_level": 0, "created_at": now - timedelta(days=30 * i),
             "updated_at": now - timedelta(days=i), "version": 1} for i in range(tickets)])
        states = ("pending", "pending", "done", "pending", "cancelled")
        conn.execute(insert(Callback), [
            {"customer_id": cid, "phone_e164": mobile, "due_at": now + timedelta(hours=i + 1),
             "timezone": "America/New_York", "agent_id": agents[i % len(agents)],
             "queue": "sales", "state": states[i % len(states)], "note": "call back",
             "attempts": 0, "created_at": now - timedelta(days=i)} for i in range(callbacks)])
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("ANALYZE interactions, tickets, callbacks, phones, customers"))
    log(f"{engine.dialect.name}: card customer {code} created (id {cid}) in "
        f"{time.perf_counter() - t0:.1f} s")
    return cid


if __name__ == "__main__":  # a manual build: python bench/crm_data.py [customers phones]
    c = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    p = int(sys.argv[2]) if len(sys.argv) > 2 else 2 * c
    d = Dataset(c, p)
    sqlite_engine(d).dispose()
    if pg_reachable() is None:
        pg_engine(d).dispose()
