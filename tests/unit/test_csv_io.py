"""The CSV import's file handling and row cleaning, without a database."""
import pytest

from crm_core import csv_io
from crm_core.csv_io import FileProblem, RowError


def test_header_names_are_case_insensitive_and_a_bom_is_not_part_of_them():
    keys = csv_io.parse_header(["\ufeffCode", " NAME ", "Phones", "cf_Loyalty", ""])
    assert keys == ["code", "name", "phones", "cf_Loyalty", None]


@pytest.mark.parametrize("header, words", [
    (["name", "fax", "Mobile"], "unknown column(s): fax, Mobile"),
    (["code", "phones"], "the required column 'name' is missing"),
    (["name", "Name"], "column 'Name' appears twice"),
    (["name", "cf_"], "a custom field name is 1-40 characters"),
    ([], "the file is empty"),
    (None, "the file is empty"),
])
def test_bad_headers_are_file_problems(header, words):
    with pytest.raises(FileProblem, match=words.replace("(", r"\(").replace(")", r"\)")):
        csv_io.parse_header(header)


def test_undecodable_bytes_name_the_line_and_suggest_an_encoding(tmp_path):
    path = tmp_path / "gb.csv"
    path.write_bytes("name\nAda\n李娜\n".encode("gb18030"))
    with pytest.raises(FileProblem) as caught:
        csv_io.read_text(path, "utf-8-sig")
    assert str(caught.value).startswith("line 3: ") and "--encoding" in str(caught.value)
    assert csv_io.read_text(path, "gb18030") == "name\nAda\n李娜\n"


def test_unknown_encoding_and_missing_file(tmp_path):
    (tmp_path / "a.csv").write_text("name\n")
    with pytest.raises(FileProblem, match="unknown encoding 'klingon'"):
        csv_io.read_text(tmp_path / "a.csv", "klingon")
    with pytest.raises(FileProblem, match="cannot read"):
        csv_io.read_text(tmp_path / "missing.csv", "utf-8")


def test_rows_are_numbered_like_a_spreadsheet_and_blank_lines_are_skipped():
    text = 'name,tags\r\nAda,a\r\n\r\n"Multi\r\nline",b\r\nAlan,c\r\n'
    assert [n for n, _ in csv_io._records(text)] == [1, 2, 4, 5]
    assert csv_io.count_records(text) == 3


def test_row_values_become_clean_customer_input():
    keys = ["name", "phones", "emails", "tags", "company_code", "cf_source", "level"]
    data, company, errors = csv_io.row_data(
        2, keys, [" Ada ", "work:+44 20 7946 0958; 212-555-0100;", "home:a@b.example;c@d.example",
               "vip; b2b ;", "ACME", "fair", ""])
    assert data == {"name": "Ada",
                    "phones": [{"number": "+44 20 7946 0958", "label": "work"},
                               {"number": "212-555-0100", "label": ""}],
                    "emails": [{"address": "a@b.example", "label": "home"},
                               {"address": "c@d.example", "label": ""}],
                    "tags": ["vip", "b2b"], "custom_fields": {"source": "fair"}}
    assert (company, errors) == ("ACME", [])


def test_a_value_without_a_column_is_a_row_error_but_empty_extra_cells_are_not():
    assert csv_io.row_data(2, ["name"], ["Ada", "", " "])[2] == []
    errors = csv_io.row_data(5, ["name", None], ["Ada", "surprise"])[2]
    assert errors == [RowError(5, "", "a value ('surprise') in a column without a name")]


def test_clean_row_reports_every_problem_under_its_column():
    keys = ["code", "name", "phones", "emails", "company_code"]
    row = csv_io.clean_row(7, keys, ["ok-1", "", "+1 212 555 0100;12", "x:bad", "no way"], "US")
    assert row.customer is None and row.code == "ok-1" and row.company_code is None
    assert sorted((e.column, e.reason) for e in row.errors) == [
        ("company_code", "1-32 letters, digits, '.', '_' or '-'"),
        ("emails", "'bad' is not an e-mail address"),
        ("name", "is required"),
        ("phones", "'12' has the wrong length for its country"),
    ]
    assert {e.row for e in row.errors} == {7}


def test_label_and_tag_errors_say_which_value():
    keys = ["name", "phones", "tags"]
    row = csv_io.clean_row(3, keys, ["Ada", "ok:+1 212 555 0100;bad/label:+1 212 555 0101",
                                     "fine;no#hash"], "US")
    assert sorted((e.column, e.reason.split(":")[0]) for e in row.errors) == [
        ("phones", "label 'bad/label'"), ("tags", "'no#hash'")]


def test_clean_row_fills_the_defaults_an_empty_cell_leaves():
    row = csv_io.clean_row(2, ["name", "level", "phones"], ["Ada", "", "(212) 555-0100"], "US")
    assert row.errors == []
    assert row.customer["level"] == "standard" and row.customer["kind"] == "person"
    assert row.phones == [{"e164": "+12125550100", "label": "", "raw": "(212) 555-0100"}]


def test_row_error_is_plain_data():
    assert RowError(7, "phones", "x") == RowError(7, "phones", "x")
