"""Customer CSV import and export against SQLite and PostgreSQL."""
import csv

import pytest
from sqlalchemy import delete, func, select, text

from crm_core import csv_io
from crm_core.csv_io import RowError, export_customers, import_customers
from crm_core.models import AuditEntry, Customer, CustomerTag, Email, Phone

HEADER = ["code", "name", "kind", "company_code", "country", "phones", "emails", "tags"]


def write_csv(path, rows, header=HEADER, encoding="utf-8"):
    with open(path, "w", encoding=encoding, newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def count(sessions, model=Customer) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def customer(sessions, code) -> Customer:
    with sessions() as session:
        c = session.scalar(select(Customer).where(Customer.code == code))
        assert c is not None, code
        _ = c.phones, c.emails, c.tags  # load before the session closes
        return c


def snapshot(sessions) -> list[tuple]:
    """Every customer as comparable values (no ids, no times)."""
    with sessions() as session:
        codes = {cid: code for cid, code in session.execute(select(Customer.id, Customer.code))}
        out = []
        for c in session.scalars(select(Customer)):
            out.append((c.code, c.name, c.kind, codes.get(c.company_id), c.level, c.segment,
                        c.language, c.timezone, c.address, c.postcode, c.city, c.country,
                        c.custom_fields, sorted((p.e164, p.label) for p in c.phones),
                        sorted((e.address, e.label) for e in c.emails),
                        sorted(t.tag for t in c.tags)))
        return sorted(out, key=repr)


GOOD = [
    ["ACME", "Acme Ltd", "company", "", "GB", "work:+44 20 7946 0958", "info@acme.example", "b2b"],
    ["C1", "张伟", "person", "ACME", "CN", "mobile:+86 138 0013 8000;0044 20 7946 0959",
     "Zhang.Wei@Example.com", "vip; b2c"],
    ["C2", "Zoë O'Brien", "", "", "", "(415) 555-0100", "home:zoe@example.com", ""],
    ["", "王芳", "person", "ACME", "", "+49 30 1234567", "", ""],
]


def test_good_rows_are_imported_with_e164_numbers_tags_and_company_links(sessions, tmp_path):
    path = write_csv(tmp_path / "customers.csv", GOOD)
    report = import_customers(sessions, path, actor_id=None)
    assert report.file_errors == [] and report.errors == []
    assert (report.rows, report.imported, report.skipped, report.written) == (4, 4, 0, True)
    acme, zhang, zoe = customer(sessions, "ACME"), customer(sessions, "C1"), customer(sessions, "C2")
    assert acme.kind == "company" and [(p.e164, p.label) for p in acme.phones] == [
        ("+442079460958", "work")]
    assert zhang.name == "张伟" and zhang.company_id == acme.id and zhang.country == "CN"
    assert sorted(p.e164 for p in zhang.phones) == ["+442079460959", "+8613800138000"]
    assert [e.address for e in zhang.emails] == ["zhang.wei@example.com"]
    assert sorted(t.tag for t in zhang.tags) == ["b2c", "vip"]
    assert zoe.kind == "person" and zoe.level == "standard" and zoe.language == "en"
    assert [(p.e164, p.raw) for p in zoe.phones] == [("+14155550100", "(415) 555-0100")]
    assert [(e.address, e.label) for e in zoe.emails] == [("zoe@example.com", "home")]
    with sessions() as session:
        wang = session.scalar(select(Customer).where(Customer.name == "王芳"))
        assert wang.code is None and wang.company_id == acme.id
        assert wang.created_at.tzinfo is not None
        entries = session.scalars(select(AuditEntry)).all()
    assert len(entries) == 1
    assert (entries[0].entity, entries[0].entity_id, entries[0].action) == (
        "customer", "import:customers.csv", "create")
    assert entries[0].changes["customers"] == 4 and entries[0].changes["phones"] == 5


def test_custom_fields_and_region_for_national_numbers(sessions, tmp_path):
    path = write_csv(tmp_path / "de.csv", [["K1", "Jürgen", "030 1234567", "Messe", ""]],
                     header=["code", "NAME", "Phones", "cf_source", "cf_Loyalty"])
    report = import_customers(sessions, path, region="DE")
    assert report.written, report.errors
    k1 = customer(sessions, "K1")
    assert [p.e164 for p in k1.phones] == ["+49301234567"]
    assert k1.custom_fields == {"source": "Messe"}  # an empty cell is no value


def test_company_from_the_database_and_refused_company_links(sessions, tmp_path):
    import_customers(sessions, write_csv(tmp_path / "a.csv", [GOOD[0], GOOD[2]]))
    path = write_csv(tmp_path / "b.csv", [
        ["P1", "Ann", "person", "ACME", "", "", "", ""],  # company in the database
        ["P2", "Bob", "person", "C2", "", "", "", ""],  # C2 is a person
        ["P3", "Cy", "person", "LATER", "", "", "", ""],  # not earlier in the file
        ["LATER", "Later Inc", "company", "", "", "", "", ""],
    ])
    report = import_customers(sessions, path, skip_bad=True)
    assert [(e.row, e.column) for e in report.errors] == [(3, "company_code"), (4, "company_code")]
    assert "not a company" in report.errors[0].reason
    assert "earlier row" in report.errors[1].reason
    assert customer(sessions, "P1").company_id == customer(sessions, "ACME").id


def test_one_bad_row_writes_nothing_and_says_where(sessions, tmp_path):
    rows = GOOD[:2] + [["C9", "Bad Number", "", "", "", "12", "", ""]] + GOOD[2:]
    report = import_customers(sessions, write_csv(tmp_path / "bad.csv", rows))
    assert report.errors == [RowError(4, "phones", "'12' has the wrong length for its country")]
    assert (report.rows, report.imported, report.skipped, report.written) == (5, 0, 1, False)
    assert count(sessions) == 0 and count(sessions, Phone) == 0 and count(sessions, AuditEntry) == 0


def test_a_bad_row_late_in_a_big_file_writes_nothing(sessions, tmp_path, monkeypatch):
    monkeypatch.setattr(csv_io, "CHUNK", 3)  # earlier chunks are inserted before the bad row
    rows = [[f"N{i}", f"Name {i}", "", "", "", f"+1 212 555 {i:04d}", "", ""] for i in range(10)]
    rows.append(["BAD", "", "", "", "", "", "", ""])
    report = import_customers(sessions, write_csv(tmp_path / "late.csv", rows))
    assert report.errors == [RowError(12, "name", "is required")] and not report.written
    assert count(sessions) == 0 and count(sessions, Phone) == 0


def test_skip_bad_writes_the_good_rows(sessions, tmp_path):
    rows = GOOD[:2] + [["C9", "Bad", "alien", "", "usa", "", "x@", ""]] + GOOD[2:]
    report = import_customers(sessions, write_csv(tmp_path / "bad.csv", rows), skip_bad=True)
    assert {(e.row, e.column) for e in report.errors} == {(4, "kind"), (4, "country"), (4, "emails")}
    assert (report.imported, report.skipped, report.written) == (4, 1, True)
    assert count(sessions) == 4
    with sessions() as session:
        assert session.scalar(select(AuditEntry.changes))["refused"] == 1


def test_dry_run_checks_everything_and_writes_nothing(sessions, tmp_path):
    report = import_customers(sessions, write_csv(tmp_path / "c.csv", GOOD), dry_run=True)
    assert (report.imported, report.errors, report.dry_run, report.written) == (4, [], True, False)
    assert count(sessions) == 0 and count(sessions, AuditEntry) == 0


def test_gb18030_file_read_as_utf8_is_a_file_error_and_imports_with_its_encoding(sessions, tmp_path):
    path = write_csv(tmp_path / "gb.csv", [["G1", "李娜", "", "", "CN", "+86 138 0013 8001", "", ""]],
                     encoding="gb18030")
    report = import_customers(sessions, path)
    assert len(report.file_errors) == 1
    assert "line 2" in report.file_errors[0] and "--encoding" in report.file_errors[0]
    assert not report.written and count(sessions) == 0
    report = import_customers(sessions, path, encoding="gb18030")
    assert report.written and customer(sessions, "G1").name == "李娜"


def test_utf8_with_bom_and_latin1(sessions, tmp_path):
    bom = write_csv(tmp_path / "bom.csv", [["B1", "Zoë", "", "", "", "", "", ""]], encoding="utf-8-sig")
    latin = write_csv(tmp_path / "latin.csv", [["L1", "José", "", "", "", "", "", ""]],
                      encoding="latin-1")
    assert import_customers(sessions, bom, encoding="utf-8").written
    assert import_customers(sessions, latin, encoding="latin-1").written
    assert customer(sessions, "B1").name == "Zoë" and customer(sessions, "L1").name == "José"


@pytest.mark.parametrize("header, message", [
    (["code", "name", "fax", "Mobile"], "unknown column(s): fax, Mobile"),
    (["code", "phones"], "the required column 'name' is missing"),
])
def test_unknown_or_missing_columns_are_file_errors(sessions, tmp_path, header, message):
    path = write_csv(tmp_path / "cols.csv", [["X1", "a", "b", "c"][:len(header)]], header=header)
    report = import_customers(sessions, path)
    assert report.file_errors and message in report.file_errors[0]
    assert report.rows == 0 and count(sessions) == 0


def test_duplicates_against_the_database_and_within_the_file(sessions, tmp_path):
    import_customers(sessions, write_csv(tmp_path / "first.csv", [GOOD[2]]))  # C2, +14155550100
    path = write_csv(tmp_path / "dups.csv", [
        ["D1", "Dup Phone", "", "", "", "415-555-0100", "", ""],
        ["D2", "Dup Mail", "", "", "", "", "ZOE@example.com", ""],
        ["C2", "Dup Code", "", "", "", "", "", ""],
        ["D4", "First", "", "", "", "+1 212 555 0199", "same@example.com", ""],
        ["D4", "Same Code", "", "", "", "(212) 555-0199", "same@example.com", ""],
    ])
    report = import_customers(sessions, path)
    c2 = customer(sessions, "C2").id
    assert report.errors == [
        RowError(2, "phones", f"+14155550100 belongs to customer {c2}"),
        RowError(3, "emails", f"zoe@example.com belongs to customer {c2}"),
        RowError(4, "code", f"'C2' already used by customer {c2}"),
        RowError(6, "code", "'D4' already used on row 5"),
        RowError(6, "phones", "+12125550199 is also on row 5"),
        RowError(6, "emails", "same@example.com is also on row 5"),
    ]
    assert count(sessions) == 1


def test_allow_duplicates_accepts_shared_numbers_and_emails(sessions, tmp_path):
    import_customers(sessions, write_csv(tmp_path / "first.csv", [GOOD[2]]))
    path = write_csv(tmp_path / "shared.csv", [
        ["S1", "Partner", "", "", "", "415-555-0100", "zoe@example.com", ""],
        ["S2", "Partner 2", "", "", "", "415-555-0100", "zoe@example.com", ""],
    ])
    report = import_customers(sessions, path, allow_duplicates=True)
    assert report.written and report.errors == []
    with sessions() as session:
        assert session.scalar(select(func.count()).where(Phone.e164 == "+14155550100")) == 3


def test_over_long_fields_are_row_errors(sessions, tmp_path):
    path = write_csv(tmp_path / "long.csv", [
        ["X" * 33, "n" * 201, "", "", "", "l" * 21 + ":+1 212 555 0100", "l" * 21 + ":a@b.example",
         "t" * 41],
    ], header=HEADER)
    lang = write_csv(tmp_path / "lang.csv", [["L", "Lang", "zh-Hant-TW-abcdefgh"]],
                     header=["code", "name", "language"])  # a well-formed tag, too long to store
    report = import_customers(sessions, path)
    assert {e.column for e in report.errors} == {"code", "name", "phones", "emails", "tags"}
    assert RowError(2, "name", "longer than 200 characters") in report.errors
    report = import_customers(sessions, lang)
    assert report.errors == [RowError(2, "language", "a language tag like en, zh or pt-BR")]
    assert count(sessions) == 0


def test_export_then_import_into_an_empty_database_gives_the_same_customers(sessions, tmp_path):
    path = write_csv(tmp_path / "in.csv", [row + ["Messe", "gold"] for row in GOOD],
                     header=HEADER + ["cf_source", "level"])
    assert import_customers(sessions, path).written
    before = snapshot(sessions)
    out = tmp_path / "out.csv"
    with sessions() as session:
        assert export_customers(session, out) == 4
    with sessions.begin() as session:  # empty the database; phones etc. go by cascade
        session.execute(delete(Customer))
    assert count(sessions) == 0 and count(sessions, Phone) == 0
    report = import_customers(sessions, out, region="JP")  # E.164 out: the region cannot matter
    assert report.written, report.errors
    assert snapshot(sessions) == before


def test_export_puts_companies_before_the_people_who_point_at_them(sessions, tmp_path):
    import_customers(sessions, write_csv(tmp_path / "p.csv", [GOOD[2]]))  # C2 first, no company
    import_customers(sessions, write_csv(tmp_path / "c.csv", [GOOD[0]]))
    with sessions.begin() as session:
        c2 = session.scalar(select(Customer).where(Customer.code == "C2"))
        c2.company_id = session.scalar(select(Customer.id).where(Customer.code == "ACME"))
    out = tmp_path / "out.csv"
    with sessions() as session:
        export_customers(session, out)
    rows = list(csv.DictReader(open(out, encoding="utf-8")))
    assert [(r["code"], r["company_code"]) for r in rows] == [("ACME", ""), ("C2", "ACME")]


def test_a_database_failure_in_the_middle_of_writing_leaves_nothing(sessions, tmp_path, monkeypatch):
    # A constraint validation cannot know about: the import only finds out
    # when the database refuses a phone, after earlier chunks were inserted.
    with sessions.begin() as session:
        session.execute(text("CREATE UNIQUE INDEX test_only_one_e164 ON phones (e164)"))
    monkeypatch.setattr(csv_io, "CHUNK", 2)
    rows = [[f"M{i}", f"Name {i}", "", "", "", f"+1 212 555 {i:04d}", f"m{i}@example.com", "t"]
            for i in range(7)]
    rows.append(["M99", "Shares M0's number", "", "", "", "+1 212 555 0000", "", ""])
    report = import_customers(sessions, write_csv(tmp_path / "boom.csv", rows),
                              allow_duplicates=True)
    assert not report.written and report.imported == 0
    assert len(report.file_errors) == 1 and "nothing was written" in report.file_errors[0]
    for model in (Customer, Phone, Email, CustomerTag, AuditEntry):
        assert count(sessions, model) == 0, model


def test_progress_is_reported(sessions, tmp_path):
    calls = []
    import_customers(sessions, write_csv(tmp_path / "c.csv", GOOD),
                     progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, 4) and calls[-1] == (4, 4)
