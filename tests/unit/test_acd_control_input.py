"""What agents and supervisors ask of their calls, checked before it reaches the
router, the CRM or Asterisk (acd/control_input.py): no I/O."""
import pytest

from acd.control_input import (MODES, caller_id, channel_id, customer_id, dial_number,
                               spy_mode, transfer_kind)
from acd.model import AcdError


@pytest.mark.parametrize("kind", ["agent", "queue", "number"])
def test_transfer_kinds(kind):
    assert transfer_kind(kind) == kind


@pytest.mark.parametrize("kind", ["Agent", "fax", "", None, 3, "queue\n"])
def test_unknown_transfer_kinds_are_refused(kind):
    with pytest.raises(AcdError, match="unknown transfer kind"):
        transfer_kind(kind)


def test_listening_modes_map_to_chanspy_options_and_keys():
    assert {name: (m.flag, m.key) for name, m in MODES.items()} == \
        {"listen": ("", "4"), "whisper": ("w", "5"), "barge": ("B", "6")}
    assert spy_mode("barge").flag == "B"


@pytest.mark.parametrize("mode", ["Listen", "spy", "", None, ["listen"], "w"])
def test_unknown_modes_are_refused(mode):
    with pytest.raises(AcdError, match="unknown listening mode"):
        spy_mode(mode)


@pytest.mark.parametrize("raw, region, e164", [
    ("+1 (555) 600-0001", "US", "+15556000001"),
    ("(555) 600-0001", "US", "+15556000001"),
    ("0044 20 7946 0958", "US", "+442079460958"),
    ("030 1234567", "DE", "+49301234567"),
    (" +15556000001\r\n", "US", "+15556000001"),  # surrounding blanks go; nothing else passes
])
def test_numbers_are_dialled_in_e164(raw, region, e164):
    assert dial_number(raw, region) == e164


@pytest.mark.parametrize("raw", ["", "   ", "12", "call me", "+1555;600", "+1555\r\n6000001",
                                 "5556000001,Hangup", None, 5556000001, "1" * 41])
def test_numbers_that_cannot_be_dialled(raw):
    with pytest.raises(AcdError, match="cannot dial"):
        dial_number(raw, "US")


@pytest.mark.parametrize("value, expected", [("", ""), (None, ""), ("+18005550300", "+18005550300"),
                                             ("8005550300", "8005550300")])
def test_outbound_caller_ids(value, expected):
    assert caller_id(value) == expected


@pytest.mark.parametrize("value", ["Support", "+1 800 555", "8005550300\n", "<8005550300>",
                                   "1", 8005550300])
def test_outbound_caller_ids_must_be_plain_numbers(value):
    with pytest.raises(ValueError, match="outbound caller ID"):
        caller_id(value)


@pytest.mark.parametrize("value, expected", [(None, None), (1, 1), (2**62, 2**62)])
def test_customer_ids(value, expected):
    assert customer_id(value) == expected


@pytest.mark.parametrize("value", [0, -3, True, "7", 7.0, 2**63])
def test_bad_customer_ids(value):
    with pytest.raises(AcdError, match="bad customer id"):
        customer_id(value)


@pytest.mark.parametrize("value", ["t1-pbx-1796487008.0", "out-0123456789abcdef", "1712345678.12"])
def test_channel_ids(value):
    assert channel_id(value) == value


@pytest.mark.parametrize("value", ["", "PJSIP/1001-0000001", "a,b", "x)", "id\n", None, "a" * 65])
def test_channel_ids_that_would_break_a_dialplan_argument(value):
    with pytest.raises(AcdError, match="channel id"):
        channel_id(value)
