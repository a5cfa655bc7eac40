"""Customer validation without a database: what is accepted, how it is
normalised, and that every refusal names its field."""
import pytest

from crm_core.errors import ValidationError
from crm_core.phones import normalize, try_normalize
from crm_core.validation import clean_customer


def refused(data, **kw) -> dict:
    with pytest.raises(ValidationError) as caught:
        clean_customer(data, **kw)
    return caught.value.errors


@pytest.mark.parametrize("raw, region, e164", [
    ("+44 20 7946 0958", "US", "+442079460958"),
    ("0044 20 7946 0958", "US", "+442079460958"),
    ("(415) 555-2671", "US", "+14155552671"),
    ("415.555.2671", "US", "+14155552671"),
    ("020 7946 0958", "GB", "+442079460958"),
    ("030 901820", "DE", "+4930901820"),
    ("+86 138 0013 8000", "US", "+8613800138000"),
    ("138 0013 8000", "CN", "+8613800138000"),
    ("+49 (0)30 901820", "US", "+4930901820"),
])
def test_phones_in_foreign_formats_become_e164(raw, region, e164):
    cleaned = clean_customer({"name": "A", "phones": [raw]}, region=region)
    assert cleaned["phones"] == [{"e164": e164, "label": "", "raw": raw}]


@pytest.mark.parametrize("raw", ["555-CALL-NOW", "1-800-FLOWERS", "电话 12345", "+1 555 12",
                                 "12#34", "+1 415 555 2671 ext. 4", "1" * 41, "\x00123456789",
                                 "+1\n4155552671", "", "   ", None, 4155552671])
def test_bad_phones_are_refused_by_position(raw):
    errors = refused({"name": "A", "phones": ["+1 415 555 2671", raw]})
    assert list(errors) == ["phones[1]"]


def test_letters_are_named_in_the_reason():
    assert "letters" in refused({"name": "A", "phones": ["555-CALL-NOW"]})["phones[0]"]


def test_try_normalize_never_raises():
    assert try_normalize("anonymous") is None
    assert try_normalize(None) is None
    assert try_normalize("415 555 2671", "XX") is None
    assert normalize("+1 415 555 2671") == "+14155552671"


def test_the_same_number_twice_is_kept_once():
    cleaned = clean_customer({"name": "A", "phones": ["+1 415 555 2671", "(415) 555-2671"]})
    assert [p["e164"] for p in cleaned["phones"]] == ["+14155552671"]


@pytest.mark.parametrize("name", ["王小明", "Иван Петров", "Jürgen Müller", "김민수", "محمد علي",
                                  "O'Brien-Smith", "Zoë 🙂"])
def test_names_in_any_script_are_kept_as_written(name):
    assert clean_customer({"name": f"  {name} "})["name"] == name


@pytest.mark.parametrize("data, field", [
    ({"name": "x" * 201}, "name"),
    ({"name": "Bob\x07"}, "name"),
    ({"name": "Bob\nSmith"}, "name"),
    ({"name": "Bob\u200e"}, "name"),
    ({"name": ""}, "name"),
    ({}, "name"),
    ({"name": 42}, "name"),
    ({"name": "A", "city": "c" * 101}, "city"),
    ({"name": "A", "address": "line\x1b[31m"}, "address"),
    ({"name": "A", "emails": ["not-an-email"]}, "emails[0]"),
    ({"name": "A", "emails": ["a@b.c", "x@y"]}, "emails[1]"),
    ({"name": "A", "tags": ["ok", "no/slash"]}, "tags[1]"),
    ({"name": "A", "tags": ["t" * 41]}, "tags[0]"),
    ({"name": "A", "code": "has space"}, "code"),
    ({"name": "A", "kind": "robot"}, "kind"),
    ({"name": "A", "language": "English"}, "language"),
    ({"name": "A", "timezone": "Mars/Olympus"}, "timezone"),
    ({"name": "A", "country": "de"}, "country"),
    ({"name": "A", "company_id": "12a"}, "company_id"),
    ({"name": "A", "owner_id": True}, "owner_id"),
    ({"name": "A", "custom_fields": {"x": [1]}}, "custom_fields"),
    ({"name": "A", "custom_fields": {"x": "y" * 5000}}, "custom_fields"),
    ({"name": "A", "phones": "+14155552671"}, "phones"),
    ({"name": "A", "shoe_size": 42}, "shoe_size"),
])
def test_a_bad_field_is_refused_by_name(data, field):
    assert field in refused(data)


def test_every_problem_is_reported_at_once():
    errors = refused({"name": "", "phones": ["abc"], "emails": ["@"], "country": "Germany"})
    assert set(errors) == {"name", "phones[0]", "emails[0]", "country"}


def test_emails_are_lower_cased_and_deduplicated():
    cleaned = clean_customer({"name": "A", "emails": ["Ann@Example.COM", "ann@example.com",
                                                     {"address": "b@x.org", "label": "work"}]})
    assert cleaned["emails"] == [{"address": "ann@example.com", "label": ""},
                                 {"address": "b@x.org", "label": "work"}]


def test_a_partial_update_checks_only_what_is_given():
    assert clean_customer({"city": "Paris"}, partial=True) == {"city": "Paris"}
    assert "name" in refused({"name": " "}, partial=True)
    assert clean_customer({"code": ""}, partial=True) == {"code": None}
    assert clean_customer({"phones": []}, partial=True) == {"phones": []}


def test_the_body_must_be_an_object():
    assert refused(["name"]) == {"body": "must be an object"}


def test_email_labels_and_language_tags_fit_their_columns():
    import pytest
    from crm_core.errors import ValidationError
    from crm_core.validation import clean_customer
    with pytest.raises(ValidationError) as err:
        clean_customer({"name": "x", "emails": [{"address": "a@b.org", "label": "l" * 21}],
                        "language": "zh-Hans-CN-x1234567"})
    assert set(err.value.errors) == {"emails[0].label", "language"}
    ok = clean_customer({"name": "x", "emails": [{"address": "a@b.org", "label": "work"}],
                         "language": "pt-BR"})
    assert ok["emails"] == [{"address": "a@b.org", "label": "work"}] and ok["language"] == "pt-BR"
