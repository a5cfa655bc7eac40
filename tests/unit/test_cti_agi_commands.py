"""AGI answer parsing and command-line validation (no sockets)."""
import asyncio

import pytest

from cti.agi_call import AgiCall
from cti.agi_errors import AgiCommandError, AgiHangup, AgiProtocolError
from cti.agi_result import parse_result


@pytest.mark.parametrize("line,code,result,data,extra", [
    ("200 result=1", 200, "1", None, {}),
    ("200 result=0 endpos=12345", 200, "0", None, {"endpos": "12345"}),
    ("200 result=1 (some value (nested)) endpos=7", 200, "1", "some value (nested)", {"endpos": "7"}),
    ("200 result= (timeout)", 200, "", "timeout", {}),
    ("200 result=0123 (timeout)", 200, "0123", "timeout", {}),
    ("200 result=-1", 200, "-1", None, {}),
    ("200 result=1 ()", 200, "1", "", {}),
])
def test_result_lines(line, code, result, data, extra):
    r = parse_result(line)
    assert (r.code, r.result, r.data, r.extra) == (code, result, data, extra)


def test_result_int():
    assert parse_result("200 result=49").result_int == 49
    assert parse_result("200 result= (timeout)").result_int is None


@pytest.mark.parametrize("line,code", [
    ("510 Invalid or unknown command", 510),
    ("511 Command Not Permitted on a dead channel or intercepted channel", 511),
    ("520 Invalid command syntax.  Proper usage not available.", 520),
])
def test_error_codes(line, code):
    with pytest.raises(AgiCommandError) as err:
        parse_result(line)
    assert err.value.code == code and err.value.text in line


@pytest.mark.parametrize("line", ["", "hello", "20 result=1", "200 noresult", "abc result=1"])
def test_garbage_answers(line):
    with pytest.raises(AgiProtocolError):
        parse_result(line)


class Writer:
    """Records what would go to Asterisk; answers come from `Reader`."""

    def __init__(self):
        self.sent = []

    def write(self, data):
        self.sent.append(data.decode())

    async def drain(self):
        pass


class Reader:
    def __init__(self, *lines):
        self.lines = [(line + "\n").encode() for line in lines]

    async def readline(self):
        return self.lines.pop(0) if self.lines else b""


def call_with(*answers):
    return AgiCall({"channel": "PJSIP/a-1"}, {}, "ivr", Reader(*answers), Writer())


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 5))


@pytest.mark.parametrize("attempt", [
    lambda c: c.command("ANSWER\nHANGUP"),
    lambda c: c.command("NOOP\r"),
    lambda c: c.set_variable("X", "a\nEXEC System rm"),
    lambda c: c.set_variable("X\nY", "1"),
    lambda c: c.set_variable("1X", "1"),
    lambda c: c.set_variable("X Y", "1"),
    lambda c: c.get_variable("A;B"),
    lambda c: c.get_full_variable("${X}\n"),
    lambda c: c.stream_file("hello world"),
    lambda c: c.stream_file("../../etc/passwd"),
    lambda c: c.stream_file("beep", "12\n"),
    lambda c: c.stream_file("beep", "1a"),
    lambda c: c.get_data("menu\"x", 1000, 1),
    lambda c: c.get_data("menu", -5, 1),
    lambda c: c.get_data("menu", 1000, 0),
    lambda c: c.say_digits("12a"),
    lambda c: c.exec("Dial;x", "PJSIP/1"),
    lambda c: c.exec("Dial", "PJSIP/1\r\nHANGUP"),
    lambda c: c.verbose("hi\0there"),
])
def test_bad_arguments_are_refused_before_anything_is_sent(attempt):
    call = call_with("200 result=1")
    with pytest.raises(ValueError):
        run(attempt(call))
    assert call._writer.sent == []


def test_quoting_of_values():
    call = call_with("200 result=1", "200 result=1", "200 result=1")
    run(call.set_variable("CUSTOMER_NOTE", 'say "hi" \\ bye'))
    run(call.exec("Dial", "PJSIP/1001", "30"))
    run(call.verbose("hello world", 2))
    assert call._writer.sent == ['SET VARIABLE CUSTOMER_NOTE "say \\"hi\\" \\\\ bye"\n',
                                 'EXEC Dial "PJSIP/1001,30"\n', 'VERBOSE "hello world" 2\n']


def test_convenience_results():
    call = call_with("200 result=49 endpos=100", "200 result=0 endpos=100", "200 result=042 (timeout)",
                     "200 result= (timeout)", "200 result=1 (hello)", "200 result=0", "200 result=35")
    assert run(call.stream_file("menu", "123")) == "1"
    assert run(call.stream_file("menu")) == ""
    assert run(call.get_data("menu", 3000, 3)) == "042"
    assert run(call.get_data("menu", 3000, 3)) == ""
    assert run(call.get_variable("X")) == "hello"
    assert run(call.get_variable("Y")) is None
    assert run(call.wait_for_digit(1000)) == "#"
    assert call._writer.sent[:2] == ['STREAM FILE menu "123"\n', 'STREAM FILE menu ""\n']


def test_trying_then_answer_and_multiline_usage():
    call = call_with("100 result=0 Trying...", "200 result=0",
                     "520-Invalid command syntax.  Proper usage follows:", "Usage: GET DATA <file>",
                     " [timeout] [maxdigits]", "520 End of proper usage.", "200 result=1")
    assert run(call.command("EXEC Wait 1")).result == "0"
    with pytest.raises(AgiCommandError) as err:
        run(call.command("GET DATA"))
    assert err.value.code == 520 and "Usage: GET DATA" in err.value.text
    assert run(call.command("NOOP")).result == "1"  # still in step after the usage block


def test_hangup_notice_before_the_answer():
    call = call_with("HANGUP", "511 Command Not Permitted on a dead channel or intercepted channel",
                     "200 result=1 (x)", "511 Command Not Permitted on a dead channel")
    with pytest.raises(AgiHangup):
        run(call.stream_file("menu"))
    assert call.hung_up
    assert run(call.get_variable("X")) == "x"  # cleanup on the dead channel still works
    with pytest.raises(AgiHangup):
        run(call.answer())


def test_minus_one_and_eof_are_hangups():
    call = call_with("200 result=-1")
    with pytest.raises(AgiHangup):
        run(call.answer())
    with pytest.raises(AgiHangup):
        run(call.answer())  # EOF


def test_exec_unknown_application():
    with pytest.raises(AgiCommandError, match="not found"):
        run(call_with("200 result=-2").exec("NoSuchApp"))


def test_linkedid_is_fetched_once():
    call = call_with("200 result=1 (1700000000.42)")
    assert run(call.linkedid()) == "1700000000.42"
    assert run(call.linkedid()) == "1700000000.42"
    assert call._writer.sent == ['GET FULL VARIABLE "${CHANNEL(linkedid)}"\n']
